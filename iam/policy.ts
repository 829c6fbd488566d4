/**
 * Policy documents as CloudFormation synthesizes them, parsed and compiled once: actions into
 * a set of exact names plus wildcard patterns, resources into ARN matchers, principals and
 * conditions into small functions. Evaluating a request then only runs those functions.
 *
 * The parser reads only the elements it knows, from the document's own properties; it never
 * writes into an object it was given, and every error names the policy and the element.
 * @see https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements.html
 */
import { compileCondition, CompiledCondition } from './conditions';
import { PolicyParseError } from './errors';
import { compilePrincipal, CompiledPrincipal } from './principal';
import { Lookup, parseTemplate, resolvePieces } from './variables';
import { arnMatcher, Matcher, wildcard } from './wildcard';

export type Effect = 'Allow' | 'Deny';

/** One statement as written in a policy document. */
export interface StatementJson {
  Sid?: string;
  Effect: Effect;
  Principal?: unknown;
  NotPrincipal?: unknown;
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: string | string[];
  NotResource?: string | string[];
  Condition?: Record<string, Record<string, unknown>>;
}

/** A policy document as written: `Statement` may be one object or a list. */
export interface PolicyDocumentJson {
  Version?: string;
  Id?: string;
  Statement: StatementJson | StatementJson[];
}

export interface CompiledStatement {
  readonly sid: string | undefined;
  /** Position in the document's `Statement` list. */
  readonly index: number;
  readonly effect: Effect;
  /** Undefined when the statement has neither `Principal` nor `NotPrincipal` (identity policies). */
  readonly principal: CompiledPrincipal | undefined;
  readonly notPrincipal: CompiledPrincipal | undefined;
  readonly matchesAction: (action: string) => boolean;
  readonly matchesResource: (resource: string, lookup: Lookup) => boolean;
  readonly conditions: readonly CompiledCondition[];
}

export interface CompiledPolicy {
  /** A name a human recognises: `LoanEvents bus policy`, `UnderwritingRoleDefaultPolicy`. */
  readonly id: string;
  readonly version: string;
  readonly statements: readonly CompiledStatement[];
}

const VERSIONS = new Set(['2012-10-17', '2008-10-17']);
const STATEMENT_KEYS = new Set([
  'Sid',
  'Effect',
  'Principal',
  'NotPrincipal',
  'Action',
  'NotAction',
  'Resource',
  'NotResource',
  'Condition',
]);

const own = (o: object, key: string): unknown =>
  Object.prototype.hasOwnProperty.call(o, key) ? (o as Record<string, unknown>)[key] : undefined;
const isObject = (v: unknown): v is object => v !== null && typeof v === 'object' && !Array.isArray(v);

function strings(raw: unknown, where: string): string[] {
  const list = Array.isArray(raw) ? raw : [raw];
  if (list.length === 0) throw new PolicyParseError(`${where}: must not be empty`);
  for (const v of list) {
    if (typeof v !== 'string')
      throw new PolicyParseError(`${where}: must be a string or a list of strings, got ${JSON.stringify(v) ?? typeof v}`);
  }
  return list as string[];
}

/** Actions are matched case-insensitively; `*` and `?` are wildcards. */
function compileActions(raw: unknown, where: string): (action: string) => boolean {
  const patterns = strings(raw, where);
  const exact = new Set<string>();
  const wild: Matcher[] = [];
  for (const p of patterns) {
    if (p !== '*' && !/^[A-Za-z0-9*?-]+:[A-Za-z0-9*?]+$/.test(p)) {
      throw new PolicyParseError(`${where}: '${p}' is not an action (expected "service:Action" or "*")`);
    }
    if (p.includes('*') || p.includes('?')) wild.push(wildcard(p, true));
    else exact.add(p.toLowerCase());
  }
  if (wild.some((m) => m.pattern === '*')) return () => true;
  if (wild.length === 0) return (a) => exact.has(a.toLowerCase());
  return (a) => exact.has(a.toLowerCase()) || wild.some((m) => m.test(a));
}

/** Resources are ARN patterns, matched case-sensitively, and may hold policy variables. */
function compileResources(raw: unknown, variables: boolean, where: string): (resource: string, lookup: Lookup) => boolean {
  const tests = strings(raw, where).map((p): ((r: string, lookup: Lookup) => boolean) => {
    const t = parseTemplate(p, variables);
    if (!t.dynamic) {
      const m = arnMatcher(resolvePieces(t, undefined, true) ?? []);
      return (r) => m.test(r);
    }
    return (r, lookup) => {
      const pieces = resolvePieces(t, lookup, true);
      return pieces !== undefined && arnMatcher(pieces).test(r);
    };
  });
  if (tests.length === 1) return tests[0]!;
  return (r, lookup) => tests.some((t) => t(r, lookup));
}

function compileStatement(raw: unknown, index: number, variables: boolean, policyId: string): CompiledStatement {
  const where = `${policyId}: Statement[${index}]`;
  if (!isObject(raw)) throw new PolicyParseError(`${where}: must be an object`);
  for (const key of Object.keys(raw)) {
    if (!STATEMENT_KEYS.has(key)) throw new PolicyParseError(`${where}: unknown element '${key}'`);
  }
  const sid = own(raw, 'Sid');
  if (sid !== undefined && typeof sid !== 'string') throw new PolicyParseError(`${where}.Sid: must be a string`);
  const effect = own(raw, 'Effect');
  if (effect !== 'Allow' && effect !== 'Deny')
    throw new PolicyParseError(`${where}.Effect: must be "Allow" or "Deny", got ${JSON.stringify(effect)}`);

  const pair = (a: string, b: string, required: boolean) => {
    const va = own(raw, a);
    const vb = own(raw, b);
    if (va !== undefined && vb !== undefined) throw new PolicyParseError(`${where}: has both ${a} and ${b}`);
    if (required && va === undefined && vb === undefined) throw new PolicyParseError(`${where}: needs ${a} or ${b}`);
    return [va, vb] as const;
  };
  const [action, notAction] = pair('Action', 'NotAction', true);
  const [resource, notResource] = pair('Resource', 'NotResource', false);
  const [principal, notPrincipal] = pair('Principal', 'NotPrincipal', false);

  let matchesAction: (a: string) => boolean;
  if (action !== undefined) matchesAction = compileActions(action, `${where}.Action`);
  else {
    const not = compileActions(notAction, `${where}.NotAction`);
    matchesAction = (a) => !not(a);
  }
  let matchesResource: (r: string, lookup: Lookup) => boolean;
  if (resource !== undefined) matchesResource = compileResources(resource, variables, `${where}.Resource`);
  else if (notResource !== undefined) {
    const not = compileResources(notResource, variables, `${where}.NotResource`);
    matchesResource = (r, lookup) => !not(r, lookup);
  } else {
    // Trust policies and some resource policies name no resource: the statement covers the
    // resource it is attached to.
    matchesResource = () => true;
  }

  const conditions: CompiledCondition[] = [];
  const condition = own(raw, 'Condition');
  if (condition !== undefined) {
    if (!isObject(condition)) throw new PolicyParseError(`${where}.Condition: must be an object`);
    for (const [operator, keys] of Object.entries(condition)) {
      if (!isObject(keys)) throw new PolicyParseError(`${where}.Condition.${operator}: must be an object of context keys`);
      for (const [key, values] of Object.entries(keys)) {
        conditions.push(compileCondition(operator, key, values, variables, `${where}.Condition.${operator}`));
      }
    }
  }

  return {
    sid: sid as string | undefined,
    index,
    effect,
    principal: principal === undefined ? undefined : compilePrincipal(principal, `${where}.Principal`),
    notPrincipal: notPrincipal === undefined ? undefined : compilePrincipal(notPrincipal, `${where}.NotPrincipal`),
    matchesAction,
    matchesResource,
    conditions,
  };
}

/**
 * Parses and compiles a policy document (an object, or its JSON text). `id` names the policy
 * in decisions and errors.
 */
export function compilePolicy(document: unknown, id: string): CompiledPolicy {
  let doc = document;
  if (typeof doc === 'string') {
    try {
      doc = JSON.parse(doc) as unknown;
    } catch (e) {
      throw new PolicyParseError(`${id}: not valid JSON: ${(e as Error).message}`);
    }
  }
  if (!isObject(doc)) throw new PolicyParseError(`${id}: a policy document must be an object`);
  const version = own(doc, 'Version') ?? '2008-10-17';
  if (typeof version !== 'string' || !VERSIONS.has(version)) {
    throw new PolicyParseError(`${id}: Version must be "2012-10-17" or "2008-10-17", got ${JSON.stringify(version)}`);
  }
  const raw = own(doc, 'Statement');
  if (raw === undefined) throw new PolicyParseError(`${id}: has no Statement`);
  const list = Array.isArray(raw) ? raw : [raw];
  // Policy variables exist only in version 2012-10-17; before it `${...}` is literal text.
  const variables = version === '2012-10-17';
  return { id, version, statements: list.map((s, i) => compileStatement(s, i, variables, id)) };
}
