/**
 * What the surface asks the evaluator about: candidate principals, event types and request
 * contexts, all read from the synthesized app (its roles, the principals and accounts its
 * policies name, its rules' event patterns and its policies' conditions), never from the catalog.
 * Candidates only pose questions; every answer comes from the evaluator.
 */
import type { PolicyDocument, Statement } from '../../assembly';
import { principalOf, type ContextValue } from '../../iam';
import { roleName, type AccessApp } from './app';

export type PrincipalKind =
  /** A role the app defines: its own IAM policies and boundary are in the app. */
  | 'role'
  /** A role or user a policy names by ARN that the app does not define. */
  | 'named'
  /** Any role whose ARN matches a pattern a policy names (`aws:PrincipalArn` like `...:role/App-pub-*`). */
  | 'pattern'
  /** Any principal of another account a policy names. */
  | 'account'
  /** A principal of the app's account that no policy names. */
  | 'unlisted-principal'
  /** A principal of an account no policy names. */
  | 'unlisted-account'
  /** An AWS service a policy names (`events.amazonaws.com`). */
  | 'service'
  /** An unsigned request. */
  | 'anonymous';

export interface CandidatePrincipal {
  /** Unique: the ARN (or service name), followed by `?tag=value` for a principal asked with tags. */
  readonly id: string;
  /** The ARN (or service name) the evaluator is asked with; for patterns and accounts a sample that matches. */
  readonly arn: string;
  /** Principal tags (`aws:PrincipalTag/<key>`) it is asked with. */
  readonly tags?: Readonly<Record<string, string>>;
  readonly kind: PrincipalKind;
  /** What a reader sees. */
  readonly label: string;
  /** For `pattern`: the pattern the sample matches. */
  readonly pattern?: string;
  /**
   * True when the principal's own IAM policies are not in the app: the surface then asks as if
   * they allowed everything, so what it shows is the most the app's resource policies let through.
   */
  readonly assumesIdentityAllow: boolean;
}

/** Name of the sample role standing for a principal no policy names, or for any role of an account. */
export const SAMPLE_ROLE = 'access-surface-sample';
/** Account standing for "an account the app does not name" (the first of these not in use). */
const UNLISTED_ACCOUNTS = ['999999999999', '999999999998', '999999999997'];

const asList = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
const strings = (v: unknown): string[] => asList(v as string | string[]).filter((x): x is string => typeof x === 'string');

/** Every policy document of the model: identity, boundary, trust and resource policies. */
export function allDocuments(app: AccessApp): PolicyDocument[] {
  const m = app.model;
  return [
    ...Object.values(m.identity).flatMap((ps) => ps.map((p) => p.document)),
    ...Object.values(m.boundaries).map((p) => p.document),
    ...Object.values(m.trust).map((p) => p.document),
    ...Object.values(m.resource).map((p) => p.document),
  ];
}

/** `{ operator: { key: value } }` entries of a statement, keys as written. */
function conditionEntries(st: Statement): { operator: string; key: string; values: string[] }[] {
  const out: { operator: string; key: string; values: string[] }[] = [];
  for (const [operator, block] of Object.entries(st.Condition ?? {})) {
    if (block === null || typeof block !== 'object') continue;
    for (const [key, value] of Object.entries(block)) out.push({ operator, key, values: strings(value) });
  }
  return out;
}

const hasWildcard = (s: string) => s.includes('*') || s.includes('?');
const hasVariable = (s: string) => s.includes('${');

/** A principal ARN matching `pattern`, or undefined when no sample parses as a principal. */
function sampleOf(pattern: string): string | undefined {
  const fill = (s: string) => s.replace(/\*/g, SAMPLE_ROLE).replace(/\?/g, 'x');
  for (const candidate of [fill(pattern), pattern.replace(/:\*$/, `:role/${SAMPLE_ROLE}`)]) {
    try {
      principalOf(candidate);
      return candidate;
    } catch {
      // Not a principal ARN: try the next form.
    }
  }
  return undefined;
}

const accountOfIam = (arn: string) => /^arn:[^:]+:(?:iam|sts)::(\d{12}):/.exec(arn)?.[1];

/**
 * The principals to ask about: the app's roles, every principal, account and principal-ARN
 * pattern its policies name (in Principal elements and in `aws:PrincipalArn` /
 * `aws:PrincipalAccount` conditions), an unlisted principal of each of the app's accounts, an
 * unlisted account, the services the policies name, and an anonymous caller.
 */
export function candidatePrincipals(app: AccessApp, partition: string): CandidatePrincipal[] {
  const roles = new Set(Object.keys(app.model.identity));
  const found = new Map<string, CandidatePrincipal>();
  const add = (p: Omit<CandidatePrincipal, 'arn'>) => {
    if (!found.has(p.id)) found.set(p.id, { ...p, arn: p.id });
  };
  for (const arn of roles) add({ id: arn, kind: 'role', label: roleName(arn), assumesIdentityAllow: false });

  const accounts = new Set<string>();
  const named = (arn: string) => {
    if (hasVariable(arn)) return;
    if (/^\d{12}$/.test(arn)) return void accounts.add(arn);
    const root = /^arn:[^:]+:iam::(\d{12}):root$/.exec(arn);
    if (root?.[1]) return void accounts.add(root[1]);
    if (hasWildcard(arn)) {
      const sample = sampleOf(arn);
      if (sample && !roles.has(sample))
        add({
          id: sample,
          kind: 'pattern',
          label: `any ${arn.replace(/^arn:[^:]+:(iam|sts)::/, '')}`,
          pattern: arn,
          assumesIdentityAllow: true,
        });
      return;
    }
    if (roles.has(arn)) return;
    try {
      const p = principalOf(arn);
      if (p.type === 'service') add({ id: p.arn, kind: 'service', label: p.arn, assumesIdentityAllow: false });
      else if (p.type !== 'anonymous') add({ id: arn, kind: 'named', label: roleName(arn), assumesIdentityAllow: true });
    } catch {
      // Not a principal (a typo in a policy is the policy tests' business, not the surface's).
    }
  };
  for (const doc of allDocuments(app)) {
    for (const st of doc.Statement) {
      for (const element of [st.Principal, st.NotPrincipal]) {
        if (element === undefined || element === '*' || element === null || typeof element !== 'object') continue;
        const e = element as Record<string, unknown>;
        for (const v of strings(e.AWS)) if (v !== '*') named(v);
        for (const v of strings(e.Service)) if (v !== '*') named(v);
      }
      for (const c of conditionEntries(st)) {
        const key = c.key.toLowerCase();
        if (key === 'aws:principalarn') c.values.forEach(named);
        if (key === 'aws:principalaccount') c.values.filter((v) => /^\d{12}$/.test(v)).forEach((v) => accounts.add(v));
      }
    }
  }
  const own = new Set(app.accounts);
  for (const account of [...accounts].filter((a) => !own.has(a)).sort()) {
    add({
      id: `arn:${partition}:iam::${account}:role/${SAMPLE_ROLE}`,
      kind: 'account',
      label: `account ${account} (any principal)`,
      assumesIdentityAllow: true,
    });
  }
  for (const account of app.accounts) {
    add({
      id: `arn:${partition}:iam::${account}:role/${SAMPLE_ROLE}-unlisted`,
      kind: 'unlisted-principal',
      label: `unlisted principal of ${account}`,
      assumesIdentityAllow: true,
    });
  }
  const used = new Set([...accounts, ...own, ...[...found.keys()].map(accountOfIam).filter((a): a is string => a !== undefined)]);
  const stranger = UNLISTED_ACCOUNTS.find((a) => !used.has(a));
  if (stranger) {
    add({
      id: `arn:${partition}:iam::${stranger}:role/${SAMPLE_ROLE}`,
      kind: 'unlisted-account',
      label: `unlisted account ${stranger}`,
      assumesIdentityAllow: true,
    });
  }
  add({ id: 'anonymous', kind: 'anonymous', label: 'anonymous', assumesIdentityAllow: false });
  // A role pattern asked once more with each tag value the policies' resource names take from it.
  const tagged = principalTagValues(app);
  for (const p of [...found.values()].filter((x) => x.kind === 'pattern')) {
    for (const { key, values, principalPatterns } of tagged) {
      if (principalPatterns.length > 0 && !principalPatterns.includes(p.pattern ?? '')) continue;
      for (const value of values) {
        const id = `${p.arn}?${key}=${value}`;
        found.set(id, { ...p, id, label: `${p.label} tagged ${key}=${value}`, tags: { [key]: value } });
      }
    }
  }
  const order: PrincipalKind[] = ['role', 'named', 'pattern', 'account', 'unlisted-principal', 'unlisted-account', 'service', 'anonymous'];
  return [...found.values()].sort((a, b) => order.indexOf(a.kind) - order.indexOf(b.kind) || a.label.localeCompare(b.label));
}

/** A source and a detail-type the app does not name: a grant of them is a grant of any. */
export const OTHER_SOURCE = 'access.surface.unlisted-source';
export const OTHER_DETAIL_TYPE = 'AccessSurfaceUnlistedDetailType';

export interface EventTypes {
  readonly sources: readonly string[];
  readonly detailTypes: readonly string[];
}

/**
 * The sources and detail-types the app knows: those its rules' event patterns match exactly,
 * and those its policies' conditions on `events:source` and `events:detail-type` name.
 */
export function knownEventTypes(app: AccessApp): EventTypes {
  const sources = new Set<string>();
  const detailTypes = new Set<string>();
  const exact = (v: unknown) => asList(v as unknown[]).filter((x): x is string => typeof x === 'string');
  for (const rule of app.rules) {
    let pattern = rule.eventPattern;
    if (typeof pattern === 'string') {
      try {
        pattern = JSON.parse(pattern) as unknown;
      } catch {
        continue;
      }
    }
    if (pattern === null || typeof pattern !== 'object' || Array.isArray(pattern)) continue;
    const p = pattern as Record<string, unknown>;
    exact(p.source).forEach((s) => sources.add(s));
    exact(p['detail-type']).forEach((d) => detailTypes.add(d));
  }
  for (const doc of allDocuments(app)) {
    for (const st of doc.Statement) {
      for (const c of conditionEntries(st)) {
        // `Null` names whether a key is present, not a value of it.
        if (c.operator === 'Null') continue;
        const key = c.key.toLowerCase();
        const plain = c.values.filter((v) => !hasWildcard(v) && !hasVariable(v));
        if (key === 'events:source') plain.forEach((s) => sources.add(s));
        if (key === 'events:detail-type') plain.forEach((d) => detailTypes.add(d));
      }
    }
  }
  return { sources: [...sources].sort(), detailTypes: [...detailTypes].sort() };
}

/** Context keys a request gets from its caller, not from its content: the surface never guesses them. */
const PRINCIPAL_KEYS = /^aws:(principal|userid|username|securetransport|requestedregion|currenttime|epochtime)/i;
const NEGATED = /Not|^Null$/;
/** Most contexts one statement contributes (the product of its condition values). */
const MAX_CONTEXTS_PER_STATEMENT = 64;

/**
 * Request contexts that could satisfy the Allow statements of `documents`: for each statement,
 * every combination of the values its (positive) conditions name. The empty context comes first,
 * so an unconditional grant is found before a conditional one.
 */
export function candidateContexts(documents: readonly PolicyDocument[]): Record<string, ContextValue>[] {
  const out: Record<string, ContextValue>[] = [{}];
  const seen = new Set<string>(['{}']);
  for (const doc of documents) {
    for (const st of doc.Statement) {
      if (st.Effect !== 'Allow') continue;
      const byKey = new Map<string, string[]>();
      for (const c of conditionEntries(st)) {
        if (NEGATED.test(c.operator) || PRINCIPAL_KEYS.test(c.key)) continue;
        const values = c.values.filter((v) => !hasVariable(v));
        if (values.length === 0) continue;
        byKey.set(c.key, [...new Set([...(byKey.get(c.key) ?? []), ...values])]);
      }
      if (byKey.size === 0) continue;
      let combos: Record<string, string>[] = [{}];
      for (const [key, values] of byKey) {
        combos = combos.flatMap((c) => values.map((v) => ({ ...c, [key]: v }))).slice(0, MAX_CONTEXTS_PER_STATEMENT);
      }
      for (const c of combos) {
        const id = JSON.stringify(Object.entries(c).sort());
        if (seen.has(id)) continue;
        seen.add(id);
        out.push(c);
      }
    }
  }
  return out;
}

/** Most wildcards a resource template may have for the surface to read tag values from it. */
const MAX_TEMPLATE_WILDCARDS = 8;

const escapeRegExp = (s: string) => s.replace(/[.+^${}()|[\]\\]/g, '\\$&');

/**
 * Values of principal tags that policy variables put into resource names: for
 * `rule/orders/Orders-${aws:PrincipalTag/event-router:consumer}` and a rule `Orders-fulfilment` of
 * the app, `event-router:consumer` -> `fulfilment`, for the principals the statement's
 * `aws:PrincipalArn` condition names (every pattern when it names none). A principal carrying such
 * a tag reaches that resource, so the surface asks with each value.
 */
export function principalTagValues(app: AccessApp): { key: string; values: string[]; principalPatterns: string[] }[] {
  const resources = [...app.buses, ...app.rules, ...app.queues, ...app.keys].map((r) => r.arn);
  const out: { key: string; values: string[]; principalPatterns: string[] }[] = [];
  for (const doc of allDocuments(app)) {
    for (const st of doc.Statement) {
      const principalPatterns = conditionEntries(st)
        .filter((c) => c.key.toLowerCase() === 'aws:principalarn')
        .flatMap((c) => c.values);
      for (const template of [...strings(st.Resource), ...strings(st.NotResource)]) {
        const m = /\$\{aws:PrincipalTag\/([^}]+)\}/i.exec(template);
        if (!m?.[1] || template.indexOf('${') !== m.index || template.lastIndexOf('${') !== m.index) continue;
        // A pattern with many wildcards would make the match below backtrack for long.
        if ((template.match(/[*?]/g) ?? []).length > MAX_TEMPLATE_WILDCARDS) continue;
        const glob = (t: string) => escapeRegExp(t).replace(/\*/g, '.*').replace(/\?/g, '.');
        const re = new RegExp(`^${glob(template.slice(0, m.index))}(.+?)${glob(template.slice(m.index + m[0].length))}$`);
        const values = [
          ...new Set(resources.map((arn) => re.exec(arn)?.[1]).filter((v): v is string => v !== undefined && !/[/:]/.test(v))),
        ];
        if (values.length > 0) out.push({ key: m[1], values, principalPatterns });
      }
    }
  }
  return out;
}
