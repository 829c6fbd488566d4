/**
 * A policy store over an assembly's policy model: every policy compiled once, looked up by the
 * principal's role and by resource ARN, as the runtime and the CLI's `access` command ask.
 */
import type { PolicyStore } from './evaluator';
import { compilePolicy, type CompiledPolicy } from './policy';
import type { RequestPrincipal } from './principal';

/** A policy and where it came from, for decisions that name their statement. */
export interface SourcedPolicy {
  readonly source: string;
  readonly document: unknown;
}

/** The policies of an app by ARN, as `policiesOf` in assembly/policies.ts reads them. */
export interface PolicySet {
  readonly identity: Readonly<Record<string, readonly SourcedPolicy[]>>;
  readonly trust: Readonly<Record<string, SourcedPolicy>>;
  readonly resource: Readonly<Record<string, SourcedPolicy>>;
  readonly boundaries: Readonly<Record<string, SourcedPolicy>>;
}

/**
 * Actions that create, change or remove subscriptions (rules and their targets) on a bus; the bus
 * policy governs them on `rule/<bus>/<name>` (see `governingResource`).
 * @see https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html
 */
export const SUBSCRIBE_ACTIONS = [
  'events:PutRule',
  'events:PutTargets',
  'events:RemoveTargets',
  'events:DeleteRule',
  'events:DisableRule',
  'events:EnableRule',
] as const;

/**
 * Every action on the bus's rules that a bus policy can govern and that changes something: the
 * subscribe actions plus tagging. EventBridge documents these rule actions for event-bus
 * resource policies (with the read-only `DescribeRule`, `ListTargetsByRule`, `ListTagsForResource`).
 * @see https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-bus-perms.html
 */
export const RULE_MANAGEMENT_ACTIONS = [...SUBSCRIBE_ACTIONS, 'events:TagResource', 'events:UntagResource'] as const;

/**
 * Management actions on the bus itself, its permissions, archives and replays. EventBridge does
 * not document them among the actions an event-bus resource policy governs, so the bus policy
 * cannot be relied on for them: `managementGuardPolicy` renders them as a service control policy.
 * @see https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoneventbridge.html
 */
export const BUS_MANAGEMENT_ACTIONS = [
  'events:UpdateEventBus',
  'events:DeleteEventBus',
  'events:PutPermission',
  'events:RemovePermission',
  'events:CreateArchive',
  'events:UpdateArchive',
  'events:DeleteArchive',
  'events:StartReplay',
  'events:CancelReplay',
] as const;

/**
 * The ARN whose resource policy governs `resourceArn`: its own, or for a rule on a custom bus, the
 * bus's. EventBridge authorizes PutRule, PutTargets, DeleteRule, RemoveTargets, EnableRule and
 * DisableRule on `rule/<bus>/<name>` against the bus policy.
 * @see https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-bus-perms.html
 */
export function governingResource(resourceArn: string, hasPolicy: (arn: string) => boolean): string | undefined {
  if (hasPolicy(resourceArn)) return resourceArn;
  const rule = /^arn:([^:]+):events:([^:]*):(\d{12}):rule\/([^/]+)\/[^/]+$/.exec(resourceArn);
  if (!rule) return undefined;
  const [, partition, region, account, bus] = rule;
  const busArn = `arn:${partition}:events:${region}:${account}:event-bus/${bus}`;
  return hasPolicy(busArn) ? busArn : undefined;
}

export interface CompiledPolicyStore extends PolicyStore {
  /** The trust policy of a role, compiled: STS AssumeRole evaluates it as a resource policy. */
  trustPolicy(roleArn: string): CompiledPolicy | undefined;
  /** Role ARNs of the model. */
  readonly roles: readonly string[];
}

/** Compiles every policy of `model` once; lookups never compile. */
export function compilePolicyStore(model: PolicySet): CompiledPolicyStore {
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
      const owner = governingResource(arn, (a) => resource.has(a));
      return owner === undefined ? undefined : resource.get(owner);
    },
    trustPolicy: (roleArn) => trust.get(roleArn),
  };
}
