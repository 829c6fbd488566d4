/**
 * Builds the matrix's app with the CDK and describes it (stack.ts's `loadTopology` calls this only
 * when the topology is not cached): the stacks' templates merged into one policy model, and the
 * concrete ARNs found through the stacks' public properties.
 */
import { rmSync } from 'node:fs';
import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import { CloudAssembly } from '../../../assembly';
import { AppDefinition, EventCatalog } from '../../../sdk/catalog';
import { buildStacks, EventRouterStacks } from '../../../lib/stacks';
import { TEST_APP } from '../../support/cdk';
import { CfnResource, CfnTemplate, Environment, Resolver, TEST_ENV } from './intrinsics';
import { collectPolicies, PolicyDocument } from './policies';
import { ConsumerResources, KEY_ADMIN, matrixApp, matrixCatalog, MatrixProps, OPERATOR, Topology } from './stack';

/** The app's stacks and their templates merged into one (logical ids prefixed by stack), for one policy model. */
export interface Synthesized {
  readonly stacks: EventRouterStacks;
  readonly definition: AppDefinition;
  readonly template: CfnTemplate;
  /** Stack of a construct -> the prefix its logical ids got in the merged template. */
  readonly prefixOf: (stack: Stack) => string;
  /** Each stack's own template, by stack name, as read from the cloud assembly. */
  readonly templates: Readonly<Record<string, CfnTemplate>>;
}

/**
 * Merges the templates of several stacks into one by prefixing every logical id with its stack's
 * name and rewriting Ref, Fn::GetAtt, Fn::Sub and DependsOn. The stacks share no reference (no
 * export, no import), so nothing crosses templates except deterministic names, which are strings.
 */
export function mergeTemplates(templates: { prefix: string; template: CfnTemplate }[]): CfnTemplate {
  const Resources: Record<string, CfnResource> = {};
  for (const { prefix, template } of templates) {
    const ids = new Set(Object.keys(template.Resources));
    for (const [id, res] of Object.entries(template.Resources)) Resources[`${prefix}${id}`] = rewriteIds(res, ids, prefix) as CfnResource;
  }
  return { Resources };
}

function rewriteIds(value: unknown, ids: Set<string>, prefix: string): unknown {
  if (Array.isArray(value)) return value.map((v) => rewriteIds(v, ids, prefix));
  if (value === null || typeof value !== 'object') return value;
  const o = value as Record<string, unknown>;
  if (typeof o.Ref === 'string' && ids.has(o.Ref)) return { Ref: `${prefix}${o.Ref}` };
  if (Array.isArray(o['Fn::GetAtt'])) {
    const [id, attr] = o['Fn::GetAtt'] as [string, string];
    return { 'Fn::GetAtt': [ids.has(id) ? `${prefix}${id}` : id, attr] };
  }
  if (o['Fn::Sub'] !== undefined) {
    const sub = (text: string) =>
      text.replace(/\$\{([^}!.]+)(\.[^}]+)?\}/g, (m, id: string, attr = '') => (ids.has(id) ? `\${${prefix}${id}${attr}}` : m));
    const arg = o['Fn::Sub'];
    return {
      'Fn::Sub':
        typeof arg === 'string' ? sub(arg) : [sub((arg as [string, unknown])[0]), rewriteIds((arg as [string, unknown])[1], ids, prefix)],
    };
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    out[k] = k === 'DependsOn' ? [v].flat().map((d) => (ids.has(d as string) ? `${prefix}${d as string}` : d)) : rewriteIds(v, ids, prefix);
  }
  return out;
}

export function synthesize(props: MatrixProps = {}): Synthesized {
  // Skipping bundling keeps synthesis offline and fast; asset contents do not affect policies.
  const app = new App({ ...TEST_APP, context: { 'aws:cdk:bundling-stacks': [] } });
  const { catalog, eventBusName, definition: given, ...rest } = props;
  const definition = given ?? matrixApp(catalog, eventBusName);
  const stacks = buildStacks(app, definition, { handlersDir: path.join(__dirname, '..', '..', '..', 'lambdas'), ...rest });
  const all: Stack[] = [stacks.router, ...Object.values(stacks.consumers), ...Object.values(stacks.subscriptions)];
  const prefixOf = (stack: Stack) => stack.stackName.replace(/[^A-Za-z0-9]/g, '');
  // Read back through the one template reader, as the runtime and the CLI read cdk.out.
  const { directory } = app.synth();
  try {
    const assembly = CloudAssembly.load(directory);
    const templates = Object.fromEntries(all.map((s) => [s.stackName, assembly.stack(s.stackName).template as CfnTemplate]));
    const template = mergeTemplates(all.map((s) => ({ prefix: prefixOf(s), template: templates[s.stackName]! })));
    return { stacks, definition, template, prefixOf, templates };
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

export function describeStack(
  synthesized: Synthesized,
  catalog: EventCatalog,
  ruleManagerArns: string[] = [],
  env: Environment = TEST_ENV,
  roles: { keyAdminArns?: string[]; operatorRoleArns?: string[] } = {},
): Topology {
  const { stacks, template, prefixOf, templates } = synthesized;
  const stack = stacks.router;
  const r = new Resolver(template, env);
  /** A token of `owner`'s stack, resolved in the merged template. */
  const arnIn = (owner: Stack, token: string) => {
    const own = templates[owner.stackName];
    if (!own) throw new Error(`No template for stack ${owner.stackName}`);
    return r.str(rewriteIds(owner.resolve(token), new Set(Object.keys(own.Resources)), prefixOf(owner)));
  };
  const arn = (token: string) => arnIn(stack, token);
  const logStream = (logGroupArn: string) => `${logGroupArn.replace(/:\*$/, '')}:log-stream:2026/01/01/[$LATEST]0123456789abcdef`;

  const consumers: Record<string, ConsumerResources> = {};
  for (const c of catalog.consumers) {
    const owner = stacks.consumers[c.name];
    if (!owner) throw new Error(`The app built no consumer stack for '${c.name}'`);
    const built = owner.consumer;
    const a = (token: string) => arnIn(owner, token);
    if (!built.rule || !built.deliveryDeadLetterQueue) throw new Error(`Consumer '${c.name}' has no local subscription`);
    consumers[c.name] = {
      name: c.name,
      role: a(built.role.roleArn),
      queue: a(built.queue.queueArn),
      deadLetterQueue: a(built.deadLetterQueue.queueArn),
      deliveryDeadLetterQueue: a(built.deliveryDeadLetterQueue.queueArn),
      rule: a(built.rule.ruleArn),
      key: a(built.encryptionKey.keyArn),
      logStream: logStream(a(built.logGroup.logGroupArn)),
      tables: [a(built.idempotencyTable.tableArn), ...(built.stateTable ? [a(built.stateTable.tableArn)] : [])],
      backupKey: a(owner.backup.encryptionKey.keyArn),
      backupRole: a(owner.backup.role.roleArn),
    };
  }
  const publisherRoles: Record<string, string> = {};
  for (const p of catalog.publishers.filter((p) => p.account === undefined)) {
    const role = stack.router.publisherRoles[p.name];
    if (!role) throw new Error(`The stack built no publisher role for '${p.name}'`);
    publisherRoles[p.name] = arn(role.roleArn);
  }
  for (const c of catalog.consumers.filter((c) => c.publishes.length > 0)) publisherRoles[c.name] = consumers[c.name]!.role;

  let trail: Topology['trail'];
  if (stack.audit) {
    // CloudTrail's log-delivery role is internal to the Trail construct: find it by its trust policy.
    const trailRoles = r
      .ofType('AWS::IAM::Role')
      .filter((id) => JSON.stringify(template.Resources[id]!.Properties?.AssumeRolePolicyDocument).includes('cloudtrail.amazonaws.com'));
    if (trailRoles.length !== 1) throw new Error(`Expected one role trusted by CloudTrail, found ${trailRoles.length}`);
    trail = {
      arn: arn(stack.audit.trailArn),
      logStream: logStream(arn(stack.audit.logGroup.logGroupArn)),
      role: r.getAtt(trailRoles[0]!, 'Arn'),
    };
  }

  const busDeadLetterQueue = arn(stack.router.deadLetterQueue.queueArn);
  return {
    env,
    app: synthesized.definition,
    catalog,
    template,
    policies: collectPolicies(template, env),
    busArn: arn(stack.router.eventBusArn),
    keyArn: arn(stack.router.encryptionKey.keyArn),
    deadLetterKey: arn(stack.router.deadLetterKey.keyArn),
    alarmKey: arn(stack.alarmKey.keyArn),
    auditKey: stack.auditKey ? arn(stack.auditKey.keyArn) : undefined,
    keyAdminArns: roles.keyAdminArns ?? [],
    operatorRoleArns: roles.operatorRoleArns ?? [],
    managementGuard: r.resolve(stack.resolve(stack.router.managementGuard.toJSON())) as PolicyDocument,
    busDeadLetterQueue,
    publisherRoles,
    consumers,
    deploymentRoleArns: stack.deploymentRoleArns.map(arn),
    ruleManagerArns,
    trail,
    alarmTopic: arn(stack.observability.alarmTopic.topicArn),
    queues: [busDeadLetterQueue, ...Object.values(consumers).flatMap((c) => [c.queue, c.deadLetterQueue, c.deliveryDeadLetterQueue])],
  };
}

/** Synthesizes the app (by default from the matrix catalog, with a key administrator and an operator role) and describes it. */
export function buildTopology(given: MatrixProps): Topology {
  const props: MatrixProps = { keyAdminArns: [KEY_ADMIN], operatorRoleArns: [OPERATOR], ...given };
  return describeStack(
    synthesize(props),
    props.definition?.catalog ?? props.catalog ?? matrixCatalog,
    props.ruleManagerArns ?? [],
    TEST_ENV,
    { keyAdminArns: props.keyAdminArns, operatorRoleArns: props.operatorRoleArns },
  );
}
