/**
 * The application's topology, from the cloud assembly model (`assembly/`): bus, archive, rules with
 * their targets and delivery DLQs, queues with their redrive DLQs, functions with their event
 * sources, tables and publish permissions. References are followed by resolved ARN, so a rule in
 * one stack that targets a queue of another stack by a deterministic ARN is linked like one in the
 * same stack. `diagram`, `cost` and `pattern rules` read it; nothing here knows the loan example.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  asArray,
  asNumber,
  CloudAssembly,
  checkTemplate,
  cloudNaming,
  isRecord,
  NamingPolicy,
  own,
  readTemplate,
  setOwn,
  StackInput,
  StackArtifact,
  StackResolver,
  TemplateError,
} from '../assembly';
import { UsageError } from './errors';

export interface QueueNode {
  readonly id: string;
  /** Physical name when the template sets one, else the logical id. */
  readonly name: string;
  readonly kmsDataKeyReuseSeconds?: number;
  readonly kms: boolean;
  /** The queue's redrive policy: where messages go after maxReceiveCount receives. */
  readonly redrive?: { readonly deadLetterQueueId: string; readonly maxReceiveCount: number };
}

export interface RuleTarget {
  readonly queueId?: string;
  readonly deadLetterQueueId?: string;
  readonly retryAttempts?: number;
  readonly maxEventAgeSeconds?: number;
}

export interface RuleNode {
  readonly id: string;
  readonly name: string;
  readonly pattern: unknown;
  readonly targets: readonly RuleTarget[];
}

export interface EventSource {
  readonly queueId: string;
  readonly batchSize: number;
  readonly batchingWindowSeconds: number;
  readonly maxConcurrency?: number;
}

export interface FunctionNode {
  readonly id: string;
  readonly name: string;
  readonly architecture: string;
  readonly memoryMB: number;
  readonly timeoutSeconds: number;
  readonly sources: readonly EventSource[];
  /** Tables the function's role may use. */
  readonly tableIds: readonly string[];
  /** The function's role may PutEvents to the bus. */
  readonly publishes: boolean;
}

export interface Topology {
  readonly busId?: string;
  readonly busName: string;
  readonly busDeadLetterQueueId?: string;
  readonly busKms: boolean;
  readonly archive?: { readonly id: string; readonly retentionDays?: number };
  readonly queues: ReadonlyMap<string, QueueNode>;
  readonly rules: readonly RuleNode[];
  readonly functions: readonly FunctionNode[];
  readonly tables: ReadonlyMap<string, { readonly id: string; readonly label: string }>;
  /** How many resources of each CloudFormation type the templates have. */
  readonly counts: Readonly<Record<string, number>>;
}

/** A readable label for a logical id: CDK's 8-character hash suffix removed. */
export function labelOf(logicalId: string): string {
  return logicalId.replace(/[0-9A-F]{8}$/, '');
}

/**
 * The CLI's naming policy: resources without a name are labelled by their logical id (hash removed);
 * attributes without a rule resolve to a stand-in instead of failing, since only links matter here.
 */
const labelNaming: NamingPolicy = {
  ...cloudNaming,
  name: 'label',
  generatedName: (ctx) => labelOf(ctx.logicalId),
  fallback: (_ctx, name, attribute) => (attribute === undefined ? name : `${name}.${attribute}`),
};

/** The fixed environment the CLI resolves environment-agnostic stacks in; only links between resources depend on it. */
const CLI_ENV = { account: '123456789012', region: 'us-east-1' };

/** Builds the topology from a parsed CloudFormation template. */
export function parseTemplate(template: unknown, stackName = 'template'): Topology {
  if (!isRecord(template) || !isRecord(template.Resources)) {
    throw new UsageError('the template has no Resources section; is it a CloudFormation template?');
  }
  return parseStacks([{ stackName, template: checkTemplate(stackName, template) }]);
}

interface Found {
  readonly r: StackResolver;
  readonly logicalId: string;
  /** Unique across the stacks read: the logical id, prefixed by the stack when two stacks share one. */
  readonly id: string;
  readonly props: Record<string, unknown>;
}

/** Builds one topology from several stacks (the router stack and its consumer stacks). */
export function parseStacks(stacks: readonly StackInput[]): Topology {
  const resolvers = stacks.map((s) => new StackResolver(s, { naming: labelNaming, defaults: CLI_ENV, imports: 'error' }));
  const seen = new Map<string, number>();
  for (const r of resolvers) for (const id of Object.keys(r.template.Resources)) seen.set(id, (seen.get(id) ?? 0) + 1);
  const uid = (r: StackResolver, id: string) => ((seen.get(id) ?? 0) > 1 ? `${r.stackName.replace(/[^A-Za-z0-9]/g, '')}_${id}` : id);
  const ofType = (type: string): Found[] =>
    resolvers.flatMap((r) =>
      r
        .ofType(type)
        .filter((id) => r.isEnabled(id))
        .map((logicalId) => ({ r, logicalId, id: uid(r, logicalId), props: r.properties(logicalId) })),
    );
  const counts: Record<string, number> = {};
  for (const r of resolvers)
    for (const res of Object.values(r.template.Resources)) setOwn(counts, res.Type, Number(own(counts, res.Type) ?? 0) + 1);
  const name = (f: Found) => f.r.physicalName(f.logicalId);

  const queueFound = ofType('AWS::SQS::Queue');
  const queueByArn = new Map(queueFound.map((q) => [q.r.arnOf(q.logicalId), q.id]));
  const queueOf = (arn: unknown) => (typeof arn === 'string' ? queueByArn.get(arn) : undefined);
  const queues = new Map<string, QueueNode>();
  for (const q of queueFound) {
    const p = q.props;
    const redrive = isRecord(p.RedrivePolicy)
      ? p.RedrivePolicy
      : typeof p.RedrivePolicy === 'string'
        ? parseJson(p.RedrivePolicy)
        : undefined;
    const dlq = redrive ? queueOf(redrive.deadLetterTargetArn) : undefined;
    queues.set(q.id, {
      id: q.id,
      name: name(q),
      kms: p.KmsMasterKeyId !== undefined,
      kmsDataKeyReuseSeconds: asNumber(p.KmsDataKeyReusePeriodSeconds),
      ...(dlq ? { redrive: { deadLetterQueueId: dlq, maxReceiveCount: asNumber(redrive?.maxReceiveCount) ?? 0 } } : {}),
    });
  }

  const [bus] = ofType('AWS::Events::EventBus');
  const rules: RuleNode[] = ofType('AWS::Events::Rule')
    .filter((f) => f.props.EventPattern !== undefined)
    .map((f) => ({
      id: f.id,
      name: name(f),
      pattern: typeof f.props.EventPattern === 'string' ? parseJson(f.props.EventPattern) : f.props.EventPattern,
      targets: asArray(f.props.Targets)
        .filter(isRecord)
        .map((t) => {
          const queueId = queueOf(t.Arn);
          const dlq = isRecord(t.DeadLetterConfig) ? queueOf(t.DeadLetterConfig.Arn) : undefined;
          const retry = isRecord(t.RetryPolicy) ? t.RetryPolicy : {};
          return {
            ...(queueId ? { queueId } : {}),
            ...(dlq ? { deadLetterQueueId: dlq } : {}),
            retryAttempts: asNumber(retry.MaximumRetryAttempts),
            maxEventAgeSeconds: asNumber(retry.MaximumEventAgeInSeconds),
          };
        }),
    }));

  const tableFound = ofType('AWS::DynamoDB::Table');
  const tables = new Map(tableFound.map((t) => [t.id, { id: t.id, label: name(t) }]));
  const tableArns = tableFound.map((t) => [t.r.arnOf(t.logicalId), t.id] as const);
  const tablesIn = (resources: unknown): string[] =>
    asArray(resources)
      .filter((x): x is string => typeof x === 'string')
      .flatMap((res) => tableArns.filter(([arn]) => res === arn || res.startsWith(`${arn}/`)).map(([, id]) => id));

  // Role -> what its policies allow: tables it touches, and whether it may publish.
  const roleFound = ofType('AWS::IAM::Role');
  const roleByName = new Map(roleFound.map((f) => [`${f.r.stackName}/${name(f)}`, f.id]));
  const roleByArn = new Map(roleFound.map((f) => [f.r.arnOf(f.logicalId), f.id]));
  const roleTables = new Map<string, Set<string>>();
  const rolePublishes = new Set<string>();
  for (const f of ofType('AWS::IAM::Policy')) {
    const roles = asArray(f.props.Roles)
      .map((n) => roleByName.get(`${f.r.stackName}/${String(n)}`))
      .filter((r): r is string => r !== undefined);
    const statements = isRecord(f.props.PolicyDocument) ? asArray(f.props.PolicyDocument.Statement).filter(isRecord) : [];
    for (const s of statements) {
      if (s.Effect !== 'Allow') continue;
      const actions = asArray(s.Action).map(String);
      const touched = tablesIn(s.Resource);
      for (const role of roles) {
        if (actions.some((a) => a === 'events:PutEvents' || a === 'events:*')) rolePublishes.add(role);
        if (actions.some((a) => a.startsWith('dynamodb:'))) {
          const set = roleTables.get(role) ?? new Set<string>();
          touched.forEach((t) => set.add(t));
          roleTables.set(role, set);
        }
      }
    }
  }

  const mappings = ofType('AWS::Lambda::EventSourceMapping');
  const functions: FunctionNode[] = ofType('AWS::Lambda::Function')
    .map((f) => {
      const p = f.props;
      const fnName = name(f);
      const fnArn = f.r.arnOf(f.logicalId);
      const role = typeof p.Role === 'string' ? roleByArn.get(p.Role) : undefined;
      const sources = mappings
        .filter((m) => m.props.FunctionName === fnName || m.props.FunctionName === fnArn)
        .map((m) => ({ queueId: queueOf(m.props.EventSourceArn), m: m.props }))
        .filter((s): s is { queueId: string; m: Record<string, unknown> } => s.queueId !== undefined)
        .map(({ queueId, m }) => ({
          queueId,
          batchSize: asNumber(m.BatchSize) ?? 10,
          batchingWindowSeconds: asNumber(m.MaximumBatchingWindowInSeconds) ?? 0,
          maxConcurrency: isRecord(m.ScalingConfig) ? asNumber(m.ScalingConfig.MaximumConcurrency) : undefined,
        }));
      return {
        id: f.id,
        name: fnName,
        architecture: asArray(p.Architectures).map(String)[0] ?? 'x86_64',
        memoryMB: asNumber(p.MemorySize) ?? 128,
        timeoutSeconds: asNumber(p.Timeout) ?? 3,
        sources,
        tableIds: role ? [...(roleTables.get(role) ?? [])].sort() : [],
        publishes: role ? rolePublishes.has(role) : false,
      };
    })
    .filter((f) => f.sources.length > 0);

  const [archive] = ofType('AWS::Events::Archive');
  const busProps = bus?.props;
  return {
    busId: bus?.id,
    busName: bus && typeof busProps?.Name === 'string' ? busProps.Name : 'default',
    busDeadLetterQueueId: isRecord(busProps?.DeadLetterConfig) ? queueOf(busProps.DeadLetterConfig.Arn) : undefined,
    busKms: busProps?.KmsKeyIdentifier !== undefined,
    ...(archive ? { archive: { id: archive.id, retentionDays: asNumber(archive.props.RetentionDays) } } : {}),
    queues,
    rules,
    functions,
    tables,
    counts,
  };
}

function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    const v = JSON.parse(text) as unknown;
    return isRecord(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

export interface TopologyOptions {
  /** A template file to read instead of the assembly. */
  readonly template?: string;
  /** @default 'cdk.out' */
  readonly assembly?: string;
  /** A stack name, or the prefix the app's stacks share (`LoanEvents` for `LoanEvents-Router`, ...). */
  readonly stack: string;
  readonly cwd: string;
}

/** Where the synthesized template of a stack is: `--template`, the manifest's file, or `<assembly>/<stack>.template.json`. */
export function templatePath(options: TopologyOptions): string {
  if (options.template) return resolve(options.cwd, options.template);
  const dir = resolve(options.cwd, options.assembly ?? 'cdk.out');
  if (existsSync(join(dir, 'manifest.json'))) {
    const found = CloudAssembly.load(dir).stacks.find((s) => s.id === options.stack || s.stackName === options.stack);
    if (found) return found.templateFile;
  }
  return join(dir, `${options.stack}.template.json`);
}

/** The stacks of the assembly that `loadTopology` reads: the one named exactly, else those whose name starts with `stack`. */
function chosenStacks(dir: string, stack: string): StackArtifact[] {
  if (!existsSync(join(dir, 'manifest.json'))) return [];
  const assembly = CloudAssembly.load(dir);
  const exact = assembly.stacks.filter((s) => s.id === stack || s.stackName === stack);
  return exact.length > 0 ? exact : assembly.stacks.filter((s) => s.stackName.startsWith(stack));
}

/** True when `loadTopology` has something to read (a template file, or stacks in the assembly). */
export function hasTopology(options: TopologyOptions): boolean {
  try {
    return existsSync(templatePath(options)) || chosenStacks(resolve(options.cwd, options.assembly ?? 'cdk.out'), options.stack).length > 0;
  } catch {
    return true; // loadTopology reports what is wrong with the assembly.
  }
}

/**
 * Reads the topology: of `--template`, of the named stack, or of every stack of the assembly whose
 * name starts with `stack` (an app split into a router stack and consumer stacks). A missing
 * template is a usage error that says how to make one.
 */
export function loadTopology(options: TopologyOptions): Topology {
  try {
    const dir = resolve(options.cwd, options.assembly ?? 'cdk.out');
    if (!options.template) {
      const chosen = chosenStacks(dir, options.stack);
      if (chosen.length > 0)
        return parseStacks(chosen.map((s) => ({ stackName: s.stackName, template: s.template, environment: s.environment })));
    }
    const path = templatePath(options);
    if (!existsSync(path)) throw new UsageError(`no template at ${path}: run 'npx cdk synth' first, or pass --template <file>`);
    return parseStacks([{ stackName: options.stack, template: readTemplate(options.stack, path) }]);
  } catch (e) {
    if (e instanceof TemplateError) throw new UsageError(e.message);
    throw e;
  }
}
