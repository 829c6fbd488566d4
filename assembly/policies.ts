/**
 * Every IAM policy of a cloud assembly, with intrinsics resolved: identity policies by role ARN,
 * resource policies (bus, queues, keys) by resource ARN, permissions boundaries by role ARN.
 * The runtime enforces these, the CLI's `access` command reads them, and the IAM tests prove
 * them; each resolves the stacks under its own naming policy.
 */
import { arns, busNameOf } from './arn';
import { TemplateError } from './errors';
import type { Assembly } from './model';
import type { StackResolver } from './resolver';

/** One statement as a template writes it. iam/policy.ts has the same shape: both modules are leaves. */
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

/** A policy and where it came from in the assembly, for readable messages. */
export interface SourcedPolicy {
  /** e.g. `UnderwritingRoleDefaultPolicyD860FFBB` or `EventRouterBusF1D2CDC8.Policy`, prefixed by the stack when several. */
  source: string;
  document: PolicyDocument;
}

export interface PolicyModel {
  /** Identity policies of the assembly's roles, by role ARN. */
  identity: Record<string, SourcedPolicy[]>;
  /** Trust policies (AssumeRolePolicyDocument) of the assembly's roles, by role ARN. */
  trust: Record<string, SourcedPolicy>;
  /** Resource policies, by resource ARN: bus policies, queue policies, key policies. */
  resource: Record<string, SourcedPolicy>;
  /** Managed policies attached to roles that the assembly does not define, e.g. AWS managed ones. */
  externalManagedPolicies: { role: string; policyArn: string }[];
  /** Permissions boundaries, by role ARN. */
  boundaries: Record<string, SourcedPolicy>;
}

const asArray = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

function normalize(doc: unknown, where: string): PolicyDocument {
  const d = doc as PolicyDocument;
  if (!d || typeof d !== 'object' || !Array.isArray(d.Statement)) throw new TemplateError(`${where}: not a policy document`);
  return { Version: d.Version ?? '2012-10-17', Statement: d.Statement };
}

export function emptyPolicyModel(): PolicyModel {
  return {
    identity: Object.create(null),
    trust: Object.create(null),
    resource: Object.create(null),
    externalManagedPolicies: [],
    boundaries: Object.create(null),
  };
}

/**
 * Reads the policies of every stack, resolved by each stack's resolver, into one model. Managed
 * policies and boundaries are looked up across stacks, so a role in a consumer stack may attach a
 * boundary the router stack defines.
 */
export function collectPolicies(resolvers: readonly StackResolver[]): PolicyModel {
  const model = emptyPolicyModel();
  const label = (r: StackResolver, id: string) => (resolvers.length > 1 ? `${r.stackName}/${id}` : id);
  const roleArnByRef = new Map<string, string>();
  const managedByArn = new Map<string, SourcedPolicy>();
  for (const r of resolvers) {
    for (const id of r.ofType('AWS::IAM::Role')) {
      const roleArn = r.getAtt(id, 'Arn');
      roleArnByRef.set(r.str({ Ref: id }), roleArn);
      model.identity[roleArn] = [];
      const trust = r.resource(id).Properties?.AssumeRolePolicyDocument;
      if (trust !== undefined)
        model.trust[roleArn] = { source: `${label(r, id)}.AssumeRolePolicyDocument`, document: normalize(r.resolve(trust), id) };
    }
  }
  const attach = (r: StackResolver, roles: unknown, policy: SourcedPolicy) => {
    for (const ref of asArray(r.resolve(roles) as string | string[])) {
      const roleArn = roleArnByRef.get(ref);
      if (!roleArn) throw new TemplateError(`${policy.source} is attached to role '${ref}', which the assembly does not define`);
      model.identity[roleArn]?.push(policy);
    }
  };
  for (const r of resolvers) {
    for (const id of r.ofType('AWS::IAM::ManagedPolicy')) {
      const props = r.resource(id).Properties ?? {};
      const policy = { source: label(r, id), document: normalize(r.resolve(props.PolicyDocument), id) };
      managedByArn.set(r.str({ Ref: id }), policy);
      attach(r, props.Roles, policy);
    }
  }
  for (const r of resolvers) {
    for (const id of r.ofType('AWS::IAM::Policy')) {
      const props = r.resource(id).Properties ?? {};
      attach(r, props.Roles, { source: label(r, id), document: normalize(r.resolve(props.PolicyDocument), id) });
    }
    for (const id of r.ofType('AWS::IAM::Role')) {
      const props = r.resource(id).Properties ?? {};
      const roleArn = r.getAtt(id, 'Arn');
      for (const inline of asArray(props.Policies as { PolicyName: string; PolicyDocument: unknown }[])) {
        const source = `${label(r, id)}.Policies.${r.str(inline.PolicyName)}`;
        model.identity[roleArn]?.push({ source, document: normalize(r.resolve(inline.PolicyDocument), source) });
      }
      if (props.PermissionsBoundary !== undefined) {
        const boundaryArn = r.str(props.PermissionsBoundary);
        const boundary = managedByArn.get(boundaryArn);
        if (!boundary) throw new TemplateError(`${id} has the permissions boundary ${boundaryArn}, which the assembly does not define`);
        model.boundaries[roleArn] = structuredClone(boundary);
      }
      for (const arn of asArray(r.resolve(props.ManagedPolicyArns) as string | string[])) {
        // Managed policies defined in the assembly are attached through their own Roles property.
        if (!managedByArn.has(arn)) model.externalManagedPolicies.push({ role: roleArn, policyArn: arn });
      }
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

  for (const r of resolvers) {
    for (const id of r.ofType('AWS::Events::EventBus')) {
      const props = r.resource(id).Properties ?? {};
      if (props.Policy !== undefined) {
        setResourcePolicy(r.getAtt(id, 'Arn'), { source: `${label(r, id)}.Policy`, document: normalize(r.resolve(props.Policy), id) });
      }
    }
    for (const id of r.ofType('AWS::Events::EventBusPolicy')) {
      const props = r.resolve(r.resource(id).Properties ?? {}) as Record<string, unknown>;
      const busName = props.EventBusName === undefined ? 'default' : busNameOf(r.str(props.EventBusName));
      const busArn = arns.eventBus(r.env, busName);
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
          Principal: { AWS: principal === '*' ? '*' : arns.accountRoot({ partition: r.env.partition, account: principal }) },
          Action: props.Action as string,
          Resource: busArn,
          ...(cond ? { Condition: { [cond.Type]: { [cond.Key]: cond.Value } } } : {}),
        };
      }
      setResourcePolicy(busArn, { source: label(r, id), document: { Version: '2012-10-17', Statement: [statement] } });
    }
    for (const id of r.ofType('AWS::SQS::QueuePolicy')) {
      const props = r.resource(id).Properties ?? {};
      const document = normalize(r.resolve(props.PolicyDocument), id);
      for (const url of asArray(r.resolve(props.Queues) as string | string[])) {
        const [, , , account, name] = String(url).split('/');
        const queueArn = arns.queue({ ...r.env, account: account ?? '' }, name ?? '');
        if (model.resource[queueArn]) {
          throw new TemplateError(`Queue ${queueArn} has more than one AWS::SQS::QueuePolicy; CloudFormation keeps only one of them`);
        }
        model.resource[queueArn] = { source: label(r, id), document: structuredClone(document) };
      }
    }
    for (const id of r.ofType('AWS::KMS::Key')) {
      const props = r.resource(id).Properties ?? {};
      if (props.KeyPolicy === undefined) throw new TemplateError(`${id} has no KeyPolicy; the default key policy is not modelled`);
      model.resource[r.getAtt(id, 'Arn')] = { source: `${label(r, id)}.KeyPolicy`, document: normalize(r.resolve(props.KeyPolicy), id) };
    }
  }
  return model;
}

/** The policies of every stack of an assembly, each resolved under the assembly's naming policy. */
export function policiesOf(assembly: Assembly): PolicyModel {
  return collectPolicies(assembly.stacks.map((s) => s.resolver));
}
