/**
 * Collects every IAM policy of a synthesized template, with intrinsics resolved: identity
 * policies by role ARN, resource policies (bus, queues, keys) by resource ARN.
 */
import { arns } from '../../../assembly';
import { CfnTemplate, Environment, Resolver, TEST_ENV } from './intrinsics';

export interface Statement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Principal?: unknown;
  NotPrincipal?: unknown;
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: string | string[];
  NotResource?: string | string[];
  Condition?: Record<string, Record<string, unknown>>;
}

export interface PolicyDocument {
  Version?: string;
  Statement: Statement[];
}

/** A policy and where it came from in the template, for readable failure messages. */
export interface SourcedPolicy {
  /** e.g. `UnderwritingRoleDefaultPolicyD860FFBB` or `EventRouterBusF1D2CDC8.Policy`. */
  source: string;
  document: PolicyDocument;
}

export interface PolicyModel {
  /** Identity policies of the template's roles, by role ARN. */
  identity: Record<string, SourcedPolicy[]>;
  /** Resource policies, by resource ARN: bus policies, queue policies, key policies. */
  resource: Record<string, SourcedPolicy>;
  /** Managed policies attached to roles that the template does not define, e.g. AWS managed ones. */
  externalManagedPolicies: { role: string; policyArn: string }[];
  /** Permissions boundaries, by role ARN. */
  boundaries: Record<string, SourcedPolicy>;
}

const asArray = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

function normalize(doc: unknown, where: string): PolicyDocument {
  const d = doc as PolicyDocument;
  if (!d || !Array.isArray(d.Statement)) throw new Error(`${where}: not a policy document: ${JSON.stringify(doc)}`);
  return { Version: d.Version ?? '2012-10-17', Statement: d.Statement };
}

/** Reads the policies of `template`, resolved for `env`. */
export function collectPolicies(template: CfnTemplate, env: Environment = TEST_ENV): PolicyModel {
  const r = new Resolver(template, env);
  const model: PolicyModel = { identity: {}, resource: {}, externalManagedPolicies: [], boundaries: {} };
  const roleArnByRef = new Map<string, string>();
  for (const id of r.ofType('AWS::IAM::Role')) {
    const roleArn = r.getAtt(id, 'Arn');
    roleArnByRef.set(r.str({ Ref: id }), roleArn);
    model.identity[roleArn] = [];
  }
  const attach = (roles: unknown, policy: SourcedPolicy) => {
    for (const ref of asArray(r.resolve(roles) as string | string[])) {
      const roleArn = roleArnByRef.get(ref);
      if (!roleArn) throw new Error(`${policy.source} is attached to role '${ref}', which the template does not define`);
      model.identity[roleArn]!.push(policy);
    }
  };

  const managedByArn = new Map<string, SourcedPolicy>();
  for (const id of r.ofType('AWS::IAM::ManagedPolicy')) {
    const props = r.resource(id).Properties ?? {};
    const policy = { source: id, document: normalize(r.resolve(props.PolicyDocument), id) };
    managedByArn.set(r.str({ Ref: id }), policy);
    attach(props.Roles, policy);
  }
  for (const id of r.ofType('AWS::IAM::Policy')) {
    const props = r.resource(id).Properties ?? {};
    attach(props.Roles, { source: id, document: normalize(r.resolve(props.PolicyDocument), id) });
  }
  for (const id of r.ofType('AWS::IAM::Role')) {
    const props = r.resource(id).Properties ?? {};
    const roleArn = r.getAtt(id, 'Arn');
    for (const inline of asArray(props.Policies as { PolicyName: string; PolicyDocument: unknown }[])) {
      const source = `${id}.Policies.${r.str(inline.PolicyName)}`;
      model.identity[roleArn]!.push({ source, document: normalize(r.resolve(inline.PolicyDocument), source) });
    }
    if (props.PermissionsBoundary !== undefined) {
      const boundaryArn = r.str(props.PermissionsBoundary);
      const boundary = managedByArn.get(boundaryArn);
      if (!boundary) throw new Error(`${id} has the permissions boundary ${boundaryArn}, which the template does not define`);
      model.boundaries[roleArn] = structuredClone(boundary);
    }
    // Trust policies of roles that principals of an account may assume (publisher roles): the
    // resource policy of sts:AssumeRole on the role. Service-assumed roles are not modelled.
    const trust = normalize(r.resolve(props.AssumeRolePolicyDocument), `${id}.AssumeRolePolicyDocument`);
    if (trust.Statement.some((st) => JSON.stringify(st.Principal ?? {}).includes('"AWS"'))) {
      model.resource[roleArn] = { source: `${id}.AssumeRolePolicyDocument`, document: trust };
    }
    for (const arn of asArray(r.resolve(props.ManagedPolicyArns) as string | string[])) {
      // Managed policies defined in the template are attached through their own Roles property.
      if (!managedByArn.has(arn)) model.externalManagedPolicies.push({ role: roleArn, policyArn: arn });
    }
  }

  const setResourcePolicy = (resourceArn: string, policy: SourcedPolicy) => {
    const existing = model.resource[resourceArn];
    if (existing) {
      existing.document.Statement.push(...policy.document.Statement);
      existing.source = `${existing.source} + ${policy.source}`;
    } else {
      model.resource[resourceArn] = policy;
    }
  };

  for (const id of r.ofType('AWS::Events::EventBus')) {
    const props = r.resource(id).Properties ?? {};
    if (props.Policy !== undefined) {
      setResourcePolicy(r.getAtt(id, 'Arn'), { source: `${id}.Policy`, document: normalize(r.resolve(props.Policy), id) });
    }
  }
  for (const id of r.ofType('AWS::Events::EventBusPolicy')) {
    const props = r.resolve(r.resource(id).Properties ?? {}) as Record<string, unknown>;
    const busName = props.EventBusName === undefined ? 'default' : r.busName(props.EventBusName);
    const busArn = arns.eventBus(env, busName);
    let statement: Statement;
    if (props.Statement !== undefined) {
      statement = { ...(props.Statement as Statement), Sid: props.StatementId as string };
    } else {
      // The legacy form: one account (or '*') may PutEvents, optionally within an organization.
      const principal = props.Principal as string;
      const cond = props.Condition as { Type: string; Key: string; Value: string } | undefined;
      statement = {
        Sid: props.StatementId as string,
        Effect: 'Allow',
        Principal: { AWS: principal === '*' ? '*' : arns.accountRoot({ partition: env.partition, account: principal }) },
        Action: props.Action as string,
        Resource: busArn,
        ...(cond ? { Condition: { [cond.Type]: { [cond.Key]: cond.Value } } } : {}),
      };
    }
    setResourcePolicy(busArn, { source: id, document: { Version: '2012-10-17', Statement: [statement] } });
  }
  for (const id of r.ofType('AWS::SQS::QueuePolicy')) {
    const props = r.resource(id).Properties ?? {};
    const document = normalize(r.resolve(props.PolicyDocument), id);
    for (const url of asArray(r.resolve(props.Queues) as string | string[])) {
      const [, , , account, name] = url.split('/');
      const queueArn = arns.queue({ ...env, account: account ?? '' }, name ?? '');
      if (model.resource[queueArn]) {
        throw new Error(`Queue ${queueArn} has more than one AWS::SQS::QueuePolicy; CloudFormation keeps only one of them`);
      }
      model.resource[queueArn] = { source: id, document: structuredClone(document) };
    }
  }
  for (const id of r.ofType('AWS::KMS::Key')) {
    const props = r.resource(id).Properties ?? {};
    if (props.KeyPolicy === undefined) throw new Error(`${id} has no KeyPolicy; the default key policy is not modelled`);
    model.resource[r.getAtt(id, 'Arn')] = { source: `${id}.KeyPolicy`, document: normalize(r.resolve(props.KeyPolicy), id) };
  }
  return model;
}

/**
 * The resource policy that governs a request on `resourceArn`. Rules on a custom bus are
 * governed by that bus's policy: EventBridge authorizes PutRule, PutTargets, DeleteRule,
 * RemoveTargets, EnableRule and DisableRule on `rule/<bus>/<name>` against it.
 * @see https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-bus-perms.html
 */
export function resourcePolicyFor(model: PolicyModel, resourceArn: string): SourcedPolicy | undefined {
  const owner = resourcePolicyOwner(model, resourceArn);
  return owner === undefined ? undefined : model.resource[owner];
}

/** The key in `model.resource` of the policy that governs `resourceArn`, if any. */
export function resourcePolicyOwner(model: PolicyModel, resourceArn: string): string | undefined {
  if (model.resource[resourceArn]) return resourceArn;
  const rule = /^arn:([^:]+):events:([^:]*):(\d{12}):rule\/([^/]+)\/[^/]+$/.exec(resourceArn);
  if (rule) {
    const [, partition, region, account, bus] = rule;
    const busArn = `arn:${partition}:events:${region}:${account}:event-bus/${bus}`;
    if (model.resource[busArn]) return busArn;
  }
  return undefined;
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

/** A deep copy of `model` with the statement at `ref` replaced (or removed, when `next` is undefined). */
export function withStatement(model: PolicyModel, ref: StatementRef, next: Statement | undefined): PolicyModel {
  const copy = structuredClone(model);
  const policy = policyAt(copy, ref);
  if (next === undefined) policy.document.Statement.splice(ref.statementIndex, 1);
  else policy.document.Statement[ref.statementIndex] = next;
  return copy;
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
