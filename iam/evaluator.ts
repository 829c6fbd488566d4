/**
 * The evaluator the runtime and the CLI use: it asks a policy store for the policies that apply
 * to a request (compiled once, by whoever owns the store) and runs the decision flow.
 *
 * ```ts
 * const evaluator = new PolicyEvaluator({
 *   identityPolicies: (p) => rolePolicies.get(p.roleArn ?? p.arn) ?? [],
 *   resourcePolicy: (arn) => resourcePolicies.get(arn),
 *   keyPolicy: (arn) => keyPolicies.get(arn),
 * });
 * const result = evaluator.evaluate({ principal, action: 'events:PutEvents', resource: busArn, context });
 * if (result.decision !== 'Allow') throw new AccessDenied(denialMessage(request, result));
 * ```
 */
import { AccessRequest, ApplicablePolicies, Decision, evaluationInput, decide, isKmsKey, KIND_LABEL, PolicyKind } from './evaluate';
import { CompiledPolicy } from './policy';
import { principalOf, RequestPrincipal } from './principal';

/** Where the evaluator finds policies. Every function is optional: a missing one finds none. */
export interface PolicyStore {
  /** Identity-based policies of the principal (for a role session: of its role). */
  identityPolicies?(principal: RequestPrincipal): readonly CompiledPolicy[];
  /** The resource-based policy that governs `resource` (for a rule: its bus's policy). */
  resourcePolicy?(resource: string): CompiledPolicy | undefined;
  /** The permissions boundary of the principal, if it has one. */
  boundary?(principal: RequestPrincipal): CompiledPolicy | undefined;
  /** Session policies passed when the session was created. */
  sessionPolicies?(principal: RequestPrincipal): readonly CompiledPolicy[];
  /** Service control policies that apply to the principal's account, one per level. */
  serviceControlPolicies?(principal: RequestPrincipal): readonly CompiledPolicy[];
  /** The key policy of a KMS key. Without this function, `resourcePolicy` is asked. */
  keyPolicy?(keyArn: string): CompiledPolicy | undefined;
}

export class PolicyEvaluator {
  constructor(private readonly store: PolicyStore) {}

  /** The policies that apply to `request`. */
  policiesFor(request: AccessRequest): ApplicablePolicies {
    const s = this.store;
    const principal = typeof request.principal === 'string' ? principalOf(request.principal) : request.principal;
    const service = principal.type === 'service' || principal.type === 'anonymous';
    const key = isKmsKey(request.resource);
    return {
      identity: service ? [] : (s.identityPolicies?.(principal) ?? []),
      resource: key ? undefined : s.resourcePolicy?.(request.resource),
      key: key ? (s.keyPolicy ? s.keyPolicy(request.resource) : s.resourcePolicy?.(request.resource)) : undefined,
      boundary: service ? undefined : s.boundary?.(principal),
      session: service ? [] : (s.sessionPolicies?.(principal) ?? []),
      scp: service ? [] : (s.serviceControlPolicies?.(principal) ?? []),
    };
  }

  evaluate(request: AccessRequest): Decision {
    const principal = typeof request.principal === 'string' ? principalOf(request.principal) : request.principal;
    const withPrincipal = { ...request, principal };
    return decide(evaluationInput(withPrincipal, this.policiesFor(withPrincipal)));
  }
}

/** How AWS names each kind of policy in an access-denied message (a key policy is a resource-based policy). */
const MESSAGE_LABEL: Record<PolicyKind, string> = { ...KIND_LABEL, key: 'resource-based policy' };

/**
 * AWS's access-denied message for a denied request, e.g. `User: arn:aws:sts::111111111111:assumed-role/Publisher/s
 * is not authorized to perform: events:PutEvents on resource: arn:aws:events:us-east-1:111111111111:event-bus/loan-events
 * with an explicit deny in a resource-based policy`.
 * @see https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html
 */
export function denialMessage(request: AccessRequest, result: Decision): string {
  if (result.decision === 'Allow') throw new Error('denialMessage: the request was allowed');
  const principal = typeof request.principal === 'string' ? principalOf(request.principal) : request.principal;
  const head = `User: ${principal.arn} is not authorized to perform: ${request.action} on resource: ${request.resource}`;
  if (result.decision === 'ExplicitDeny') {
    const kind = result.decidedBy?.policyKind ?? 'identity';
    return `${head} with an explicit deny in a ${MESSAGE_LABEL[kind]}`;
  }
  return `${head} because no ${MESSAGE_LABEL[result.missing ?? 'identity']} allows the ${request.action} action`;
}
