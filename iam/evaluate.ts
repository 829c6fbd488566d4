/**
 * The IAM User Guide's decision flow, one pure function per step, each returning the statement
 * that decided:
 *
 * 1. An explicit Deny in any applicable policy (service control policies, the resource or key
 *    policy, identity policies, the permissions boundary, session policies) denies.
 * 2. With service control policies given, one of them must allow (every level of the hierarchy).
 * 3. Resource-based policy: in the same account, an Allow naming the principal (its ARN, its
 *    role, its service, or `*`) allows on its own; an Allow naming only the account delegates to
 *    the account's IAM policies. Across accounts both sides must allow.
 * 4. A permissions boundary (and a session policy) must allow what identity policies allow, and
 *    what a resource policy grants to a role ARN; a grant to a role session or a user ARN is not
 *    limited by them.
 * 5. An identity-based Allow allows.
 * 6. Otherwise: implicit deny.
 *
 * A KMS key is different: its key policy must allow, directly or by delegating to the account
 * (a statement naming the account root), in which case IAM policies then decide.
 * @see https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-denyallow.html
 * @see https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html
 * @see https://docs.aws.amazon.com/kms/latest/developerguide/determining-access.html
 */
import { CompiledPolicy, CompiledStatement, Effect } from './policy';
import { PrincipalMatch, principalOf, RequestPrincipal } from './principal';
import { Lookup } from './variables';

/** Which kind of policy a statement belongs to. */
export type PolicyKind = 'identity' | 'resource' | 'boundary' | 'session' | 'scp' | 'key';

export type ContextValue = string | readonly string[];

export interface AccessRequest {
  /** The caller: a parsed principal, or its ARN / service principal name. */
  readonly principal: RequestPrincipal | string;
  /** `service:Action`, e.g. `events:PutEvents`. */
  readonly action: string;
  /** The resource's ARN. */
  readonly resource: string;
  /**
   * The account that owns the resource.
   * @default - the account in the resource ARN, or else the principal's account
   */
  readonly resourceAccount?: string;
  /**
   * Request context keys (names are case-insensitive). The principal keys (`aws:PrincipalArn`,
   * `aws:PrincipalAccount`, `aws:PrincipalIsAWSService`, `aws:PrincipalServiceName`,
   * `aws:PrincipalTag/*`, `aws:username`) are derived from the principal unless given here.
   */
  readonly context?: Readonly<Record<string, ContextValue>>;
}

/** The policies that apply to one request. */
export interface ApplicablePolicies {
  readonly identity?: readonly CompiledPolicy[];
  /** The resource's policy (bus, queue, ...). Ignored for a KMS key: see `key`. */
  readonly resource?: CompiledPolicy;
  /** The key policy, when the resource is a KMS key. */
  readonly key?: CompiledPolicy;
  readonly boundary?: CompiledPolicy;
  readonly session?: readonly CompiledPolicy[];
  /** Service control policies, one per level of the organization that must allow. */
  readonly scp?: readonly CompiledPolicy[];
}

export interface DecidingStatement {
  readonly policyKind: PolicyKind;
  readonly policyId: string;
  readonly statementSid: string | undefined;
  readonly statementIndex: number;
}

export type DecisionKind = 'Allow' | 'ExplicitDeny' | 'ImplicitDeny';

export interface Decision {
  readonly decision: DecisionKind;
  /** The statement that decided; undefined for an implicit deny (no statement decided it). */
  readonly decidedBy: DecidingStatement | undefined;
  /** For an implicit deny: the kind of policy whose Allow was missing. */
  readonly missing?: PolicyKind;
  /** One line a human reads. */
  readonly explanation: string;
}

/** What the steps below look at: the request with its principal parsed and its context indexed. */
export interface EvaluationInput {
  readonly principal: RequestPrincipal;
  readonly action: string;
  readonly resource: string;
  readonly resourceAccount: string | undefined;
  readonly lookup: Lookup;
  readonly policies: ApplicablePolicies;
}

/** A statement that applies to the request, with how its Principal element named the caller. */
export interface Found {
  readonly kind: PolicyKind;
  readonly policy: CompiledPolicy;
  readonly statement: CompiledStatement;
  /** Undefined for policies without a Principal element (identity, boundary, session, SCP). */
  readonly via: PrincipalMatch | undefined;
}

const KEY_ARN = /^arn:[^:]+:kms:[^:]*:\d{12}:key\//;

/** Whether `resource` is a KMS key, whose key policy is evaluated as one. */
export const isKmsKey = (resource: string): boolean => KEY_ARN.test(resource);

export const KIND_LABEL: Record<PolicyKind, string> = {
  identity: 'identity-based policy',
  resource: 'resource-based policy',
  boundary: 'permissions boundary',
  session: 'session policy',
  scp: 'service control policy',
  key: 'key policy',
};

// ---- Matching one statement ----

/**
 * How `st` applies to the request: `'n/a'` for a statement without a principal element,
 * the principal match for one with it, or undefined when it does not apply.
 */
export function applies(st: CompiledStatement, input: EvaluationInput, withPrincipal: boolean): PrincipalMatch | 'n/a' | undefined {
  if (!st.matchesAction(input.action)) return undefined;
  if (!st.matchesResource(input.resource, input.lookup)) return undefined;
  let via: PrincipalMatch | 'n/a' = 'n/a';
  if (withPrincipal) {
    if (st.principal) {
      const m = st.principal.match(input.principal);
      if (m === undefined) return undefined;
      via = m;
    } else if (st.notPrincipal) {
      if (st.notPrincipal.match(input.principal) !== undefined) return undefined;
      via = 'any';
    } else {
      // A resource policy statement must name a principal; one that does not names nobody.
      return undefined;
    }
  }
  for (const c of st.conditions) if (!c.test(input.lookup)) return undefined;
  return via;
}

const RANK: Record<PrincipalMatch, number> = { direct: 3, any: 2, account: 1 };

/** The statements with `effect` in `policies` that apply, best principal match first. */
function find(kind: PolicyKind, policies: readonly CompiledPolicy[], effect: Effect, input: EvaluationInput): Found | undefined {
  const withPrincipal = kind === 'resource' || kind === 'key';
  let best: Found | undefined;
  for (const policy of policies) {
    for (const statement of policy.statements) {
      if (statement.effect !== effect) continue;
      const m = applies(statement, input, withPrincipal);
      if (m === undefined) continue;
      const via = m === 'n/a' ? undefined : m;
      if (!withPrincipal || via === 'direct') return { kind, policy, statement, via };
      if (!best || RANK[via as PrincipalMatch] > RANK[best.via as PrincipalMatch]) best = { kind, policy, statement, via };
    }
  }
  return best;
}

const list = <T>(v: T | undefined): T[] => (v === undefined ? [] : [v]);

// ---- The steps ----

/** Step 1: an explicit Deny in any applicable policy. */
export function explicitDeny(input: EvaluationInput): Found | undefined {
  const p = input.policies;
  const guarded = input.principal.type !== 'service';
  return (
    (guarded ? find('scp', p.scp ?? [], 'Deny', input) : undefined) ??
    (isKmsKey(input.resource) ? find('key', list(p.key), 'Deny', input) : find('resource', list(p.resource), 'Deny', input)) ??
    find('identity', p.identity ?? [], 'Deny', input) ??
    find('boundary', list(p.boundary), 'Deny', input) ??
    find('session', p.session ?? [], 'Deny', input)
  );
}

/** Step 2: every given SCP allows; returns the first one that does not, or undefined. */
export function scpWithoutAllow(input: EvaluationInput): CompiledPolicy | undefined {
  if (input.principal.type === 'service') return undefined;
  return (input.policies.scp ?? []).find((scp) => find('scp', [scp], 'Allow', input) === undefined);
}

/** Step 3: the resource policy's Allow that names the caller most directly. */
export function resourceAllow(input: EvaluationInput): Found | undefined {
  return find('resource', list(input.policies.resource), 'Allow', input);
}

/** Step 3 for a KMS key: the key policy's Allow that names the caller most directly. */
export function keyAllow(input: EvaluationInput): Found | undefined {
  return find('key', list(input.policies.key), 'Allow', input);
}

/** Step 4: whether the permissions boundary (if any) allows; `true` when there is none. */
export function boundaryAllow(input: EvaluationInput): Found | true | undefined {
  if (!input.policies.boundary) return true;
  return find('boundary', [input.policies.boundary], 'Allow', input);
}

/** Step 4: whether the session policies (if any) allow; `true` when there are none. */
export function sessionAllow(input: EvaluationInput): Found | true | undefined {
  const session = input.policies.session ?? [];
  if (session.length === 0) return true;
  return find('session', session, 'Allow', input);
}

/** Step 5: an identity-based Allow. */
export function identityAllow(input: EvaluationInput): Found | undefined {
  return find('identity', input.policies.identity ?? [], 'Allow', input);
}

// ---- Putting the steps together ----

const deciding = (f: Found): DecidingStatement => ({
  policyKind: f.kind,
  policyId: f.policy.id,
  statementSid: f.statement.sid,
  statementIndex: f.statement.index,
});

export const statementLabel = (d: DecidingStatement): string =>
  `${KIND_LABEL[d.policyKind]} ${d.policyId}, statement ${d.statementSid ?? `#${d.statementIndex}`}`;

function allow(f: Found, note = ''): Decision {
  const d = deciding(f);
  return { decision: 'Allow', decidedBy: d, explanation: `allowed by ${statementLabel(d)}${note}` };
}

function implicit(missing: PolicyKind, input: EvaluationInput, note = ''): Decision {
  return {
    decision: 'ImplicitDeny',
    decidedBy: undefined,
    missing,
    explanation: `implicit deny: no ${KIND_LABEL[missing]} allows ${input.action} on ${input.resource}${note}`,
  };
}

/** Boundary and session policies limit an identity grant and a resource grant to a role ARN. */
function limits(input: EvaluationInput): Decision | undefined {
  const b = boundaryAllow(input);
  if (b === undefined) return implicit('boundary', input);
  const s = sessionAllow(input);
  if (s === undefined) return implicit('session', input);
  return undefined;
}

/** Whether a resource-policy grant is exempt from boundaries and session policies. */
function unlimitedGrant(f: Found, p: RequestPrincipal): boolean {
  if (f.via !== 'direct') return false;
  if (p.type === 'user' || p.type === 'root') return true;
  // A grant naming the session itself, not its role.
  return p.type === 'assumed-role' && f.statement.principal?.listsArn(p.arn) === true;
}

function sameAccount(input: EvaluationInput): boolean {
  return input.resourceAccount === undefined || input.principal.account === undefined || input.resourceAccount === input.principal.account;
}

/** The decision for a request whose policies are already known. */
export function decide(input: EvaluationInput): Decision {
  const deny = explicitDeny(input);
  if (deny) {
    const d = deciding(deny);
    return { decision: 'ExplicitDeny', decidedBy: d, explanation: `explicit deny in ${statementLabel(d)}` };
  }
  const scp = scpWithoutAllow(input);
  if (scp) return implicit('scp', input, ` (${scp.id})`);
  const p = input.principal;
  return isKmsKey(input.resource) ? decideKey(input, p) : decideResource(input, p);
}

function decideResource(input: EvaluationInput, p: RequestPrincipal): Decision {
  const r = resourceAllow(input);
  if (p.type === 'service' || p.type === 'anonymous') return r ? allow(r) : implicit('resource', input);
  if (p.type === 'root' && sameAccount(input)) {
    return { decision: 'Allow', decidedBy: undefined, explanation: `allowed: ${p.arn} is the account's root user` };
  }
  if (sameAccount(input)) {
    let limitedGrant: Decision | undefined;
    if (r && r.via !== 'account') {
      if (unlimitedGrant(r, p)) return allow(r);
      limitedGrant = limits(input);
      if (!limitedGrant) return allow(r);
    }
    const i = identityAllow(input);
    if (!i) return limitedGrant ?? implicit('identity', input);
    return limits(input) ?? allow(i);
  }
  // Across accounts, the caller's account and the resource's owner must both allow. Another
  // account's root user has every permission of its own account: only the resource side remains.
  if (p.type === 'root') return r ? allow(r) : implicit('resource', input, ' (a cross-account request needs an Allow in both)');
  const i = identityAllow(input);
  if (!i) return implicit('identity', input);
  const limited = limits(input);
  if (limited) return limited;
  if (!r) return implicit('resource', input, ' (a cross-account request needs an Allow in both)');
  return allow(r, `, with ${statementLabel(deciding(i))}`);
}

function decideKey(input: EvaluationInput, p: RequestPrincipal): Decision {
  const k = keyAllow(input);
  if (!k) return implicit('key', input, ', directly or by delegating to the account');
  // A root user the key policy names (directly or as its account) has every IAM permission of its account.
  if (p.type === 'service' || p.type === 'anonymous' || p.type === 'root') return allow(k);
  if (k.via !== 'account' && sameAccount(input)) {
    if (unlimitedGrant(k, p)) return allow(k);
    return limits(input) ?? allow(k);
  }
  // The key policy delegates to the account (or grants another account): IAM policies decide.
  const i = identityAllow(input);
  if (!i)
    return implicit(
      'identity',
      input,
      k.via === 'account' ? ` (the key policy delegates to the account in ${statementLabel(deciding(k))})` : '',
    );
  return limits(input) ?? allow(i, `, as ${statementLabel(deciding(k))} delegates`);
}

// ---- Request context ----

/** The principal's own context keys, as AWS adds them to every request. */
export function principalContext(p: RequestPrincipal): Map<string, ContextValue> {
  const out = new Map<string, ContextValue>();
  if (p.type === 'service') {
    out.set('aws:principalisawsservice', 'true');
    out.set('aws:principalservicename', p.arn);
    return out;
  }
  if (p.type === 'anonymous') return out;
  out.set('aws:principalisawsservice', 'false');
  out.set('aws:principalarn', p.roleArn ?? p.arn);
  if (p.account !== undefined) out.set('aws:principalaccount', p.account);
  const type = { role: 'AssumedRole', 'assumed-role': 'AssumedRole', user: 'User', root: 'Account', federated: 'FederatedUser' }[p.type];
  out.set('aws:principaltype', type);
  if (p.type === 'user') out.set('aws:username', p.arn.slice(p.arn.lastIndexOf('/') + 1));
  for (const [k, v] of Object.entries(p.tags ?? {})) out.set(`aws:principaltag/${k.toLowerCase()}`, v);
  return out;
}

/** Principal context per principal object: the runtime keeps one principal per session. */
const principalContexts = new WeakMap<RequestPrincipal, ReadonlyMap<string, ContextValue>>();

/** The request context indexed by lower-case key: the request's own keys, then the principal's. */
export function contextLookup(p: RequestPrincipal, context: Readonly<Record<string, ContextValue>> | undefined): Lookup {
  let fromPrincipal = principalContexts.get(p);
  if (!fromPrincipal) {
    fromPrincipal = principalContext(p);
    principalContexts.set(p, fromPrincipal);
  }
  const own = new Map<string, ContextValue>();
  for (const k of Object.keys(context ?? {})) {
    const v = (context as Record<string, unknown>)[k];
    if (typeof v !== 'string' && !(Array.isArray(v) && v.every((x) => typeof x === 'string'))) {
      throw new TypeError(`Context key '${k}' must be a string or a list of strings, got ${JSON.stringify(v) ?? typeof v}`);
    }
    // A copy of a list, so that a caller changing it later cannot change this decision.
    own.set(k.toLowerCase(), typeof v === 'string' ? v : [...(v as string[])]);
  }
  const principalKeys = fromPrincipal;
  return (key) => own.get(key) ?? principalKeys.get(key);
}

/** The account in an ARN's fifth component, if it is one. */
export function accountOfArn(arn: string): string | undefined {
  let start = 0;
  for (let i = 0; i < 4; i++) {
    start = arn.indexOf(':', start) + 1;
    if (start === 0) return undefined;
  }
  const end = arn.indexOf(':', start);
  if (end - start !== 12) return undefined;
  const account = arn.slice(start, end);
  return /^\d{12}$/.test(account) ? account : undefined;
}

/** Builds the input of the steps from a request and its policies. */
export function evaluationInput(request: AccessRequest, policies: ApplicablePolicies): EvaluationInput {
  const principal = typeof request.principal === 'string' ? principalOf(request.principal) : request.principal;
  return {
    principal,
    action: request.action,
    resource: request.resource,
    resourceAccount: request.resourceAccount ?? accountOfArn(request.resource) ?? principal.account,
    lookup: contextLookup(principal, request.context),
    policies,
  };
}

/** Evaluates `request` against `policies`. */
export function evaluate(request: AccessRequest, policies: ApplicablePolicies): Decision {
  return decide(evaluationInput(request, policies));
}
