/**
 * Collects every IAM policy of a synthesized template, with intrinsics resolved: identity
 * policies by role ARN, resource policies (bus, queues, keys) by resource ARN.
 */
import {
  collectPolicies as collectAssemblyPolicies,
  type PolicyDocument,
  type PolicyModel,
  type SourcedPolicy,
  type Statement,
} from '../../../assembly';
import { governingResource } from '../../../iam';
import { CfnTemplate, Environment, Resolver, TEST_ENV } from './intrinsics';

export type { PolicyDocument, PolicyModel, SourcedPolicy, Statement };

/** The key in `model.resource` of the policy that governs `resourceArn` (for a rule: its bus's), if any. */
export function resourcePolicyOwner(model: PolicyModel, resourceArn: string): string | undefined {
  return governingResource(resourceArn, (arn) => Object.hasOwn(model.resource, arn));
}

/** The resource policy that governs a request on `resourceArn`. */
export function resourcePolicyFor(model: PolicyModel, resourceArn: string): SourcedPolicy | undefined {
  const owner = resourcePolicyOwner(model, resourceArn);
  return owner === undefined ? undefined : model.resource[owner];
}

/** Reads the policies of `template`, resolved for `env`. */
export function collectPolicies(template: CfnTemplate, env: Environment = TEST_ENV): PolicyModel {
  const model = collectAssemblyPolicies([new Resolver(template, env)]);
  // Trust policies of roles that principals of an account may assume (publisher roles): the
  // resource policy of sts:AssumeRole on the role. Service-assumed roles are not modelled.
  for (const [roleArn, trust] of Object.entries(model.trust)) {
    if (trust.document.Statement.some((st) => JSON.stringify(st.Principal ?? {}).includes('"AWS"'))) model.resource[roleArn] = trust;
  }
  return model;
}

/** Where one statement lives in a model, for mutation and for messages. */
export interface StatementRef {
  readonly kind: 'identity' | 'resource' | 'boundary';
  /** Role ARN (identity) or resource ARN (resource). */
  readonly owner: string;
  readonly policyIndex: number;
  readonly statementIndex: number;
  /** `<source> <Sid or #index>`. */
  readonly label: string;
}

/** Every statement of every policy in the model. */
export function statements(model: PolicyModel): StatementRef[] {
  const out: StatementRef[] = [];
  const label = (p: SourcedPolicy, s: Statement, i: number) => `${p.source} ${s.Sid ? `'${s.Sid}'` : `statement #${i}`}`;
  for (const [owner, policies] of Object.entries(model.identity)) {
    policies.forEach((p, pi) =>
      p.document.Statement.forEach((s, si) => {
        out.push({ kind: 'identity', owner, policyIndex: pi, statementIndex: si, label: label(p, s, si) });
      }),
    );
  }
  for (const [owner, p] of Object.entries(model.resource)) {
    p.document.Statement.forEach((s, si) => {
      out.push({ kind: 'resource', owner, policyIndex: 0, statementIndex: si, label: label(p, s, si) });
    });
  }
  for (const [owner, p] of Object.entries(model.boundaries)) {
    p.document.Statement.forEach((s, si) => {
      out.push({ kind: 'boundary', owner, policyIndex: 0, statementIndex: si, label: `${label(p, s, si)} (boundary of ${owner})` });
    });
  }
  return out;
}

export function statementAt(model: PolicyModel, ref: StatementRef): Statement {
  const statement = policyAt(model, ref).document.Statement[ref.statementIndex];
  if (!statement) throw new Error(`No statement ${ref.statementIndex} in the ${ref.kind} policy for ${ref.label}`);
  return statement;
}

/**
 * `model` with the statement at `ref` replaced (or removed, when `next` is undefined). Only the
 * changed policy and the containers above it are copied; every other policy document is shared
 * with `model`, so caches keyed on a document (compiled or aliased policies) still hit. Neither
 * model may be mutated afterwards.
 */
export function withStatement(model: PolicyModel, ref: StatementRef, next: Statement | undefined): PolicyModel {
  const policy = policyAt(model, ref);
  if (!policy.document.Statement[ref.statementIndex])
    throw new Error(`No statement ${ref.statementIndex} in the ${ref.kind} policy for ${ref.label}`);
  const Statement = [...policy.document.Statement];
  if (next === undefined) Statement.splice(ref.statementIndex, 1);
  else Statement[ref.statementIndex] = next;
  const changed: SourcedPolicy = { ...policy, document: { ...policy.document, Statement } };
  if (ref.kind === 'identity') {
    const list = [...(model.identity[ref.owner] ?? [])];
    list[ref.policyIndex] = changed;
    return { ...model, identity: { ...model.identity, [ref.owner]: list } };
  }
  if (ref.kind === 'boundary') return { ...model, boundaries: { ...model.boundaries, [ref.owner]: changed } };
  return { ...model, resource: { ...model.resource, [ref.owner]: changed } };
}

function policyAt(model: PolicyModel, ref: StatementRef): SourcedPolicy {
  const policy =
    ref.kind === 'identity'
      ? model.identity[ref.owner]?.[ref.policyIndex]
      : ref.kind === 'boundary'
        ? model.boundaries[ref.owner]
        : model.resource[ref.owner];
  if (!policy) throw new Error(`No ${ref.kind} policy for ${ref.label}`);
  return policy;
}
