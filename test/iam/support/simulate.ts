/**
 * Evaluates one request against a policy model with @cloud-copilot/iam-simulate, which applies
 * AWS's evaluation logic: an explicit Deny anywhere wins; in the same account an Allow in the
 * identity policy OR the resource policy suffices; across accounts both must allow; a KMS key
 * trusts IAM policies only as far as its key policy delegates to the account.
 *
 * iam-simulate is AGPL-licensed and a devDependency: only code under test/ may import it.
 */
import './collator';
import {
  createValidatedPolicy,
  type ValidatedPolicy,
  type ValidationError,
  validateIdentityPolicy,
  validateResourcePolicy,
  validateServiceControlPolicy,
} from '@cloud-copilot/iam-policy';
import { allowedContextKeysForRequest, runSimulation } from '@cloud-copilot/iam-simulate';
import { PolicyDocument, PolicyModel, resourcePolicyFor, Statement } from './policies';

export type Decision = 'Allowed' | 'ExplicitlyDenied' | 'ImplicitlyDenied';

export interface AccessRequest {
  /** An IAM role ARN, or a service principal such as `events.amazonaws.com`. */
  readonly principal: string;
  readonly action: string;
  readonly resource: string;
  /** Request context. Principal keys and `aws:SecureTransport: true` are filled in unless given. */
  readonly context?: Record<string, string | string[]>;
  /**
   * Identity policies of a principal the template does not define: an unlisted role, a role in
   * another account, the deployment role. Added to the template's policies for that principal.
   */
  readonly identityPolicies?: PolicyDocument[];
  /**
   * Evaluate the identity policies alone, as if the resource had no policy and the principal no
   * permissions boundary: proves that one layer holds by itself when another also guards the request.
   */
  readonly identityPoliciesOnly?: boolean;
  /**
   * Policy of a resource the template does not define, e.g. another key of the account with
   * the default key policy. Ignored when the template has a policy for the resource.
   */
  readonly outsidePolicy?: PolicyDocument;
  /**
   * Statements added to the resource's policy, as if someone widened it: proves that a Deny in
   * that policy holds by itself when an Allow in the same policy also guards the request.
   */
  readonly resourceStatements?: Statement[];
  /**
   * Evaluate the resource policy without its Deny statements: proves that its Allow statements
   * hold by themselves when a Deny in the same policy also guards the request.
   */
  readonly resourceAllowsOnly?: boolean;
  /**
   * Service control policies of the principal's account, besides AWS's default `FullAWSAccess`
   * (which AWS Organizations attaches unless someone removes it).
   */
  readonly serviceControlPolicies?: PolicyDocument[];
  /**
   * KMS keys that are disabled (or pending deletion). KMS refuses every cryptographic request on
   * such a key whatever its policy says (`DisabledException`, `KMSInvalidStateException`), so a
   * request on one of them is denied before any policy is read.
   */
  readonly disabledKeys?: readonly string[];
}

/** The SCP AWS Organizations attaches to every account by default. */
const FULL_AWS_ACCESS: PolicyDocument = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] };

/** Principal context keys AWS puts in every request, so that policies keyed on them see real values. */
function principalContext(principal: string): Record<string, string> {
  const iam = /^arn:[^:]+:(iam|sts)::(\d{12}):/.exec(principal);
  if (iam) {
    return {
      'aws:PrincipalArn': principal,
      'aws:PrincipalAccount': iam[2]!,
      'aws:PrincipalIsAWSService': 'false',
    };
  }
  if (/\.amazonaws\.com$/.test(principal)) {
    return { 'aws:PrincipalIsAWSService': 'true', 'aws:PrincipalServiceName': principal };
  }
  throw new Error(`Principal '${principal}' is neither an IAM ARN nor a service principal`);
}

const EC_PREFIX = /^kms:EncryptionContext:(.+)$/i;
const EC_ALIAS = 'aws:RequestTag/kms-encryption-context:';

/**
 * iam-simulate recognises keys with a variable part only when it follows a '/', as in
 * `aws:ResourceTag/<key>`, so it drops `kms:EncryptionContext:<key>` from the request (its key part
 * follows a ':'). Renaming the key consistently in policies and request to a string-typed
 * global key keeps the semantics (single-valued string, absent when not supplied) and lets the
 * simulator evaluate it.
 */
function aliasEncryptionContextKey(key: string): string {
  const m = EC_PREFIX.exec(key);
  return m && !/^kms:EncryptionContextKeys$/i.test(key) ? `${EC_ALIAS}${m[1]}` : key;
}

const aliased = new WeakMap<PolicyDocument, PolicyDocument>();
function aliasPolicy(doc: PolicyDocument): PolicyDocument {
  let out = aliased.get(doc);
  if (!out) {
    out = {
      ...doc,
      Statement: doc.Statement.map(
        (s): Statement =>
          s.Condition === undefined
            ? s
            : {
                ...s,
                Condition: Object.fromEntries(
                  Object.entries(s.Condition).map(([op, keys]) => [
                    op,
                    Object.fromEntries(Object.entries(keys).map(([k, v]) => [aliasEncryptionContextKey(k), v])),
                  ]),
                ),
              },
      ),
    };
    aliased.set(doc, out);
  }
  return out;
}

/**
 * A policy as the simulator takes it, validated once per document and kind and then reused:
 * `runSimulation` otherwise validates every policy of every request again (a third of a second
 * per hundred requests), and a suite asks about the same few dozen documents thousands of times.
 * The simulator still refuses a request whose policy has errors, from the errors kept here.
 * The kind is part of the key because each kind has its own rules (e.g. Principal).
 */
type ValidateFn = (policy: unknown) => ValidationError[];
const validatedByKind = new Map<ValidateFn, WeakMap<PolicyDocument, ValidatedPolicy>>();
function validated(doc: PolicyDocument, validate: ValidateFn): ValidatedPolicy {
  let byDoc = validatedByKind.get(validate);
  if (!byDoc) validatedByKind.set(validate, (byDoc = new WeakMap()));
  let out = byDoc.get(doc);
  if (!out) {
    out = createValidatedPolicy(aliasPolicy(doc), validate);
    byDoc.set(doc, out);
  }
  return out;
}

function accountOf(arn: string, fallback: string): string {
  const account = arn.split(':')[4];
  return account && /^\d{12}$/.test(account) ? account : fallback;
}

/** The decision AWS would reach for `request` under the policies in `model`. */
export async function decide(model: PolicyModel, request: AccessRequest, homeAccount = '111111111111'): Promise<Decision> {
  if (request.action.startsWith('kms:') && request.disabledKeys?.includes(request.resource)) return 'ImplicitlyDenied';
  const identity = [
    ...(model.identity[request.principal] ?? []).map((p) => ({ name: p.source, policy: p.document })),
    ...(request.identityPolicies ?? []).map((policy, i) => ({ name: `request-${i}`, policy })),
  ].filter((p) => p.policy.Statement.length > 0);
  const own = resourcePolicyFor(model, request.resource);
  const base = request.identityPoliciesOnly
    ? undefined
    : (own ?? (request.outsidePolicy && { source: 'outside', document: request.outsidePolicy }));
  // The model's own document when the request changes nothing, so the validated copy is reused.
  const changed = request.resourceAllowsOnly || request.resourceStatements;
  const resourcePolicy = base && {
    ...base,
    document: changed
      ? {
          ...base.document,
          Statement: [
            ...base.document.Statement.filter((st) => !(request.resourceAllowsOnly && st.Effect === 'Deny')),
            ...(request.resourceStatements ?? []),
          ],
        }
      : base.document,
  };
  const ecKeys = Object.keys(request.context ?? {}).filter((k) => aliasEncryptionContextKey(k) !== k);
  if (ecKeys.length > 0) {
    const [service, action] = request.action.split(':');
    const allowed = await allowedContextKeysForRequest(service!, action!, request.resource, false, undefined);
    if (!allowed.includes('kms:encryptioncontext:${encryptioncontextkey}')) {
      throw new Error(`Context keys ${ecKeys.join(', ')} do not apply to ${request.action}`);
    }
  }
  const context: Record<string, string | string[]> = {
    'aws:SecureTransport': 'true',
    ...principalContext(request.principal),
    ...request.context,
  };
  // "The identity policy alone" means without the permissions boundary too.
  const boundary = request.identityPoliciesOnly ? undefined : model.boundaries?.[request.principal];
  const result = await runSimulation(
    {
      request: {
        principal: request.principal,
        action: request.action,
        resource: { resource: request.resource, accountId: accountOf(request.resource, homeAccount) },
        contextVariables: Object.fromEntries(Object.entries(context).map(([k, v]) => [aliasEncryptionContextKey(k), v])),
      },
      identityPolicies: identity.map((p) => ({ name: p.name, policy: validated(p.policy, validateIdentityPolicy) })),
      serviceControlPolicies: request.serviceControlPolicies
        ? [
            {
              orgIdentifier: accountOf(request.principal, homeAccount),
              policies: [FULL_AWS_ACCESS, ...request.serviceControlPolicies].map((policy, i) => ({
                name: `scp-${i}`,
                policy: validated(policy, validateServiceControlPolicy),
              })),
            },
          ]
        : [],
      resourceControlPolicies: [],
      resourcePolicy:
        resourcePolicy && resourcePolicy.document.Statement.length > 0
          ? validated(resourcePolicy.document, validateResourcePolicy)
          : undefined,
      permissionBoundaryPolicies: boundary
        ? [{ name: boundary.source, policy: validated(boundary.document, validateIdentityPolicy) }]
        : undefined,
    },
    {},
  );
  if (result.resultType === 'error') {
    throw new Error(`The simulator rejected ${describeRequest(request)}: ${JSON.stringify(result.errors)}`);
  }
  if (result.resultType === 'single') {
    const ignored = result.result.ignoredContextKeys ?? [];
    if (ignored.length > 0) {
      // A key the action does not support would silently count as absent and decide the case.
      throw new Error(`Context keys ${ignored.join(', ')} do not apply to ${request.action} on ${request.resource}`);
    }
  }
  return result.overallResult;
}

export function describeRequest(request: AccessRequest): string {
  const ctx = Object.entries(request.context ?? {})
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(', ');
  return `${request.principal} ${request.action} ${request.resource}${ctx ? ` {${ctx}}` : ''}`;
}
