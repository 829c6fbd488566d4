/**
 * A policy store over an assembly's policy model: every policy compiled once, looked up by the
 * principal's role and by resource ARN, as the runtime and the CLI's `access` command ask.
 */
import { resourcePolicyOwner, type PolicyModel, type SourcedPolicy } from '../assembly/policies';
import type { PolicyStore } from './evaluator';
import { compilePolicy, type CompiledPolicy } from './policy';
import type { RequestPrincipal } from './principal';

export interface CompiledPolicyStore extends PolicyStore {
  /** The trust policy of a role, compiled: STS AssumeRole evaluates it as a resource policy. */
  trustPolicy(roleArn: string): CompiledPolicy | undefined;
  /** Role ARNs of the model. */
  readonly roles: readonly string[];
}

/** Compiles every policy of `model` once; lookups never compile. */
export function compilePolicyStore(model: PolicyModel): CompiledPolicyStore {
  const compile = (p: SourcedPolicy) => compilePolicy(p.document, p.source);
  const identity = new Map<string, CompiledPolicy[]>();
  for (const [role, policies] of Object.entries(model.identity)) identity.set(role, policies.map(compile));
  const resource = new Map<string, CompiledPolicy>();
  for (const [arn, policy] of Object.entries(model.resource)) resource.set(arn, compile(policy));
  const boundaries = new Map<string, CompiledPolicy>();
  for (const [role, policy] of Object.entries(model.boundaries)) boundaries.set(role, compile(policy));
  const trust = new Map<string, CompiledPolicy>();
  for (const [role, policy] of Object.entries(model.trust)) trust.set(role, compile(policy));
  const roleOf = (p: RequestPrincipal) => p.roleArn ?? p.arn;
  return {
    roles: [...identity.keys()],
    identityPolicies: (p) => identity.get(roleOf(p)) ?? [],
    boundary: (p) => boundaries.get(roleOf(p)),
    resourcePolicy: (arn) => {
      const owner = resourcePolicyOwner(model, arn);
      return owner === undefined ? undefined : resource.get(owner);
    },
    trustPolicy: (roleArn) => trust.get(roleArn),
  };
}
