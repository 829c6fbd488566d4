/**
 * `access check`: one request, decided by the same evaluator and policy store the runtime uses,
 * with every statement that applies and AWS's access-denied message.
 */
import {
  boundaryAllow,
  denialMessage,
  evaluationInput,
  explicitDeny,
  identityAllow,
  isKmsKey,
  keyAllow,
  PolicyEvaluator,
  principalOf,
  resourceAllow,
  statementLabel,
  type AccessRequest,
  type ContextValue,
  type Decision,
  type Found,
  type RequestPrincipal,
} from '../../iam';
import { UsageError } from '../errors';
import { roleName, type AccessApp } from './app';
import { ASSUMED_POLICY_ID, storeFor } from './surface';

/** Most `key=value` context arguments and principal tags one check takes. */
export const MAX_CONTEXT_ENTRIES = 64;
/** Longest context value, in characters. */
export const MAX_CONTEXT_VALUE = 4096;
const CONTEXT_KEY = /^[A-Za-z0-9_.:/-]{1,256}$/;
const ACTION = /^[a-z0-9-]{1,64}:[A-Za-z0-9*?]{1,128}$/;

export interface StatementRef {
  readonly effect: 'Allow' | 'Deny';
  readonly kind: string;
  readonly policy: string;
  readonly sid: string | null;
  readonly index: number;
  /** One line: `resource-based policy X, statement Y`. */
  readonly label: string;
}

export interface CheckResult {
  readonly principal: string;
  readonly action: string;
  readonly resource: string;
  readonly context: Readonly<Record<string, ContextValue>>;
  readonly principalTags: Readonly<Record<string, string>>;
  readonly decision: Decision['decision'];
  readonly decidedBy: StatementRef | null;
  /** Every statement that applies to the request: the deny, or the allows that together allowed. */
  readonly statements: readonly StatementRef[];
  readonly explanation: string;
  /** AWS's access-denied message; null when allowed. */
  readonly message: string | null;
  /** True when --assume-identity-allow stood in for the principal's own IAM policies. */
  readonly assumedIdentity: boolean;
}

/** Parses `key=value` arguments into a context; a key given twice becomes a list. */
export function parseContext(args: readonly string[], what = 'context'): Record<string, ContextValue> {
  if (args.length > MAX_CONTEXT_ENTRIES) throw new UsageError(`at most ${MAX_CONTEXT_ENTRIES} ${what} entries (given ${args.length})`);
  const out: Record<string, ContextValue> = Object.create(null) as Record<string, ContextValue>;
  for (const arg of args) {
    const eq = arg.indexOf('=');
    if (eq <= 0) throw new UsageError(`${what} entry '${arg.slice(0, 80)}' must be key=value`);
    const key = arg.slice(0, eq);
    const value = arg.slice(eq + 1);
    if (!CONTEXT_KEY.test(key)) throw new UsageError(`${what} key '${key.slice(0, 80)}' must be 1-256 letters, digits and _ . : / -`);
    if (value.length > MAX_CONTEXT_VALUE) throw new UsageError(`${what} value of '${key}' is over ${MAX_CONTEXT_VALUE} characters`);
    const existing = Object.hasOwn(out, key) ? out[key] : undefined;
    out[key] = existing === undefined ? value : [...(typeof existing === 'string' ? [existing] : existing), value];
  }
  return out;
}

/**
 * The principal an argument names: an IAM or STS ARN, a service principal, `anonymous`, an
 * account id (its root user), the name of a role of the app, or the name of a publisher or
 * consumer whose role the app names `<App>-pub-<name>` / `<App>-<name>-handler`.
 */
export function resolvePrincipal(app: AccessApp, arg: string, partition: string): string {
  if (/^\d{12}$/.test(arg)) return `arn:${partition}:iam::${arg}:root`;
  if (arg.startsWith('arn:') || arg === 'anonymous' || arg.includes('.amazonaws.com')) {
    try {
      return principalOf(arg).arn;
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
  }
  const roles = Object.keys(app.model.identity);
  const wanted = [arg, ...(app.prefix ? [`${app.prefix}-pub-${arg}`, `${app.prefix}-${arg}-handler`] : [])];
  const hits = roles.filter((r) => wanted.includes(roleName(r)));
  if (hits.length === 1) return hits[0] as string;
  if (hits.length > 1) throw new UsageError(`'${arg}' names several roles of the app: ${hits.join(', ')}; give the ARN`);
  throw new UsageError(
    `'${arg.slice(0, 120)}' is not an ARN, a service principal, an account id, or a role, publisher or consumer of the app; its roles are: ${roles.map(roleName).join(', ')}`,
  );
}

/**
 * The resource an argument names: an ARN, or the name of a bus, rule, queue or key of the app.
 * A name is looked up among the resources of the action's service (a queue and a rule may share one).
 */
export function resolveResource(app: AccessApp, arg: string, action: string): string {
  if (arg.startsWith('arn:')) {
    if (arg.length > 2048) throw new UsageError('resource ARN is over 2048 characters');
    return arg;
  }
  const service = action.split(':')[0];
  const candidates = [
    ...(service === 'events' ? app.buses.map((r) => ({ names: [r.name], arn: r.arn })) : []),
    ...(service === 'events' ? app.rules.map((r) => ({ names: [r.name], arn: r.arn })) : []),
    ...(service === 'sqs' ? app.queues.map((r) => ({ names: [r.name], arn: r.arn })) : []),
    ...(service === 'kms' ? app.keys.map((r) => ({ names: [r.name, r.keyId, r.path], arn: r.arn })) : []),
  ];
  const hits = [...new Set(candidates.filter((c) => c.names.includes(arg)).map((c) => c.arn))];
  if (hits.length === 1) return hits[0] as string;
  if (hits.length > 1) throw new UsageError(`'${arg}' names several resources of the app: ${hits.join(', ')}; give the ARN`);
  throw new UsageError(
    `'${arg.slice(0, 120)}' is not an ARN nor the name of a ${service === 'sqs' ? 'queue' : service === 'kms' ? 'key' : service === 'events' ? 'bus or rule' : 'bus, rule, queue or key'} of the app`,
  );
}

const ref = (f: Found): StatementRef => {
  const d = { policyKind: f.kind, policyId: f.policy.id, statementSid: f.statement.sid, statementIndex: f.statement.index };
  return {
    effect: f.statement.effect,
    kind: f.kind,
    policy: f.policy.id,
    sid: f.statement.sid ?? null,
    index: f.statement.index,
    label: statementLabel(d),
  };
};

export interface CheckOptions {
  readonly principal: string;
  readonly action: string;
  readonly resource: string;
  readonly context: Record<string, ContextValue>;
  readonly principalTags: Record<string, string>;
  /** Stand in an allow-everything identity policy for a principal the app does not define. */
  readonly assumeIdentityAllow: boolean;
}

/** Throws a usage error unless `action` looks like `service:Action`. */
export function checkAction(action: string): string {
  if (!ACTION.test(action)) throw new UsageError(`action '${action.slice(0, 80)}' must look like service:Action, e.g. events:PutEvents`);
  return action;
}

export function checkAccess(app: AccessApp, o: CheckOptions): CheckResult {
  checkAction(o.action);
  let principal: RequestPrincipal;
  try {
    principal = principalOf(o.principal, Object.keys(o.principalTags).length > 0 ? o.principalTags : undefined);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const known = new Set(Object.keys(app.model.identity));
  const assumed = o.assumeIdentityAllow && !known.has(principal.roleArn ?? principal.arn);
  const evaluator = new PolicyEvaluator(storeFor(app, () => assumed));
  const context: Record<string, ContextValue> = Object.assign(Object.create(null) as Record<string, ContextValue>, o.context);
  // A call through an SDK or the AWS CLI uses TLS, unless the caller says otherwise.
  if (!Object.keys(context).some((k) => k.toLowerCase() === 'aws:securetransport')) context['aws:SecureTransport'] = 'true';
  const request: AccessRequest = { principal, action: o.action, resource: o.resource, context };
  const decision = evaluator.evaluate(request);

  const input = evaluationInput(request, evaluator.policiesFor(request));
  const statements: StatementRef[] = [];
  const deny = explicitDeny(input);
  if (deny) statements.push(ref(deny));
  else {
    const r = isKmsKey(o.resource) ? keyAllow(input) : resourceAllow(input);
    if (r) statements.push(ref(r));
    const i = identityAllow(input);
    if (i) statements.push(ref(i));
    const b = boundaryAllow(input);
    if (b && b !== true) statements.push(ref(b));
  }
  const d = decision.decidedBy;
  return {
    principal: principal.arn,
    action: o.action,
    resource: o.resource,
    context: { ...context },
    principalTags: { ...o.principalTags },
    decision: decision.decision,
    decidedBy: d
      ? {
          effect: decision.decision === 'ExplicitDeny' ? 'Deny' : 'Allow',
          kind: d.policyKind,
          policy: d.policyId,
          sid: d.statementSid ?? null,
          index: d.statementIndex,
          label: statementLabel(d),
        }
      : null,
    statements,
    explanation: decision.explanation,
    message: decision.decision === 'Allow' ? null : denialMessage(request, decision),
    assumedIdentity: assumed && statements.some((s) => s.policy === ASSUMED_POLICY_ID),
  };
}
