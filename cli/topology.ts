/**
 * The application's topology read from the synthesized CloudFormation template: bus, archive,
 * rules with their targets and delivery DLQs, queues with their redrive DLQs, functions with
 * their event sources, tables and publish permissions. `diagram`, `cost` and `pattern rules`
 * read it; nothing here is hard-coded to the loan example.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UsageError } from './errors';
import { isRecord } from './input';

type Json = Record<string, unknown>;

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
  /** How many resources of each CloudFormation type the template has. */
  readonly counts: Readonly<Record<string, number>>;
}

/** The logical id an intrinsic refers to: `{Ref: id}` or `{Fn::GetAtt: [id, attr]}`. */
export function refId(value: unknown): string | undefined {
  if (!isRecord(value)) return undefined;
  if (typeof value.Ref === 'string') return value.Ref;
  const att = value['Fn::GetAtt'];
  if (Array.isArray(att) && typeof att[0] === 'string') return att[0];
  if (typeof att === 'string') return att.split('.')[0];
  return undefined;
}

/** Every logical id referenced anywhere inside a value. */
function refsIn(value: unknown, out: Set<string> = new Set()): Set<string> {
  const id = refId(value);
  if (id) out.add(id);
  if (Array.isArray(value)) value.forEach((v) => refsIn(v, out));
  else if (isRecord(value)) Object.values(value).forEach((v) => refsIn(v, out));
  return out;
}

const asArray = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === undefined ? [] : [v]);
const num = (v: unknown): number | undefined =>
  typeof v === 'number' ? v : typeof v === 'string' && v !== '' && !Number.isNaN(Number(v)) ? Number(v) : undefined;

/** A readable label for a logical id: CDK's 8-character hash suffix removed. */
export function labelOf(logicalId: string): string {
  return logicalId.replace(/[0-9A-F]{8}$/, '');
}

/** Builds the topology from a parsed CloudFormation template. */
export function parseTemplate(template: unknown): Topology {
  if (!isRecord(template) || !isRecord(template.Resources)) {
    throw new UsageError('the template has no Resources section; is it a CloudFormation template?');
  }
  const resources = Object.entries(template.Resources as Record<string, Json>);
  const ofType = (type: string) =>
    resources.filter(([, r]) => r?.Type === type).map(([id, r]) => [id, (r.Properties ?? {}) as Json] as const);
  const counts: Record<string, number> = {};
  for (const [, r] of resources) counts[String(r?.Type)] = (counts[String(r?.Type)] ?? 0) + 1;

  const queues = new Map<string, QueueNode>();
  for (const [id, p] of ofType('AWS::SQS::Queue')) {
    const redrive = isRecord(p.RedrivePolicy)
      ? p.RedrivePolicy
      : typeof p.RedrivePolicy === 'string'
        ? (JSON.parse(p.RedrivePolicy) as Json)
        : undefined;
    const dlq = redrive ? refId(redrive.deadLetterTargetArn) : undefined;
    queues.set(id, {
      id,
      name: typeof p.QueueName === 'string' ? p.QueueName : labelOf(id),
      kms: p.KmsMasterKeyId !== undefined,
      kmsDataKeyReuseSeconds: num(p.KmsDataKeyReusePeriodSeconds),
      ...(dlq ? { redrive: { deadLetterQueueId: dlq, maxReceiveCount: num(redrive?.maxReceiveCount) ?? 0 } } : {}),
    });
  }

  const [bus] = ofType('AWS::Events::EventBus');
  const rules: RuleNode[] = ofType('AWS::Events::Rule')
    .filter(([, p]) => p.EventPattern !== undefined)
    .map(([id, p]) => ({
      id,
      name: typeof p.Name === 'string' ? p.Name : labelOf(id),
      pattern: typeof p.EventPattern === 'string' ? JSON.parse(p.EventPattern) : p.EventPattern,
      targets: asArray(p.Targets)
        .filter(isRecord)
        .map((t) => {
          const queueId = refId(t.Arn);
          const dlq = isRecord(t.DeadLetterConfig) ? refId(t.DeadLetterConfig.Arn) : undefined;
          const retry = isRecord(t.RetryPolicy) ? t.RetryPolicy : {};
          return {
            ...(queueId && queues.has(queueId) ? { queueId } : {}),
            ...(dlq ? { deadLetterQueueId: dlq } : {}),
            retryAttempts: num(retry.MaximumRetryAttempts),
            maxEventAgeSeconds: num(retry.MaximumEventAgeInSeconds),
          };
        }),
    }));

  const tables = new Map<string, { id: string; label: string }>();
  for (const [id, p] of ofType('AWS::DynamoDB::Table')) {
    tables.set(id, { id, label: typeof p.TableName === 'string' ? p.TableName : labelOf(id) });
  }

  // Role -> what its policies allow: tables it touches, and whether it may publish.
  const roleTables = new Map<string, Set<string>>();
  const rolePublishes = new Set<string>();
  for (const [, p] of ofType('AWS::IAM::Policy')) {
    const roles = asArray(p.Roles)
      .map(refId)
      .filter((r): r is string => r !== undefined);
    const statements = isRecord(p.PolicyDocument) ? asArray(p.PolicyDocument.Statement).filter(isRecord) : [];
    for (const s of statements) {
      if (s.Effect !== 'Allow') continue;
      const actions = asArray(s.Action).map(String);
      const touched = [...refsIn(s.Resource)].filter((r) => tables.has(r));
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
    .map(([id, p]) => {
      const role = refId(p.Role);
      const sources = mappings
        .filter(([, m]) => refId(m.FunctionName) === id)
        .map(([, m]) => ({ queueId: refId(m.EventSourceArn) ?? '', m }))
        .filter((s) => queues.has(s.queueId))
        .map(({ queueId, m }) => ({
          queueId,
          batchSize: num(m.BatchSize) ?? 10,
          batchingWindowSeconds: num(m.MaximumBatchingWindowInSeconds) ?? 0,
          maxConcurrency: isRecord(m.ScalingConfig) ? num(m.ScalingConfig.MaximumConcurrency) : undefined,
        }));
      return {
        id,
        name: typeof p.FunctionName === 'string' ? p.FunctionName : labelOf(id),
        architecture: asArray(p.Architectures).map(String)[0] ?? 'x86_64',
        memoryMB: num(p.MemorySize) ?? 128,
        timeoutSeconds: num(p.Timeout) ?? 3,
        sources,
        tableIds: role ? [...(roleTables.get(role) ?? [])].sort() : [],
        publishes: role ? rolePublishes.has(role) : false,
      };
    })
    .filter((f) => f.sources.length > 0);

  const [archive] = ofType('AWS::Events::Archive');
  const busProps = bus?.[1];
  return {
    busId: bus?.[0],
    busName: typeof busProps?.Name === 'string' ? busProps.Name : 'default',
    busDeadLetterQueueId: isRecord(busProps?.DeadLetterConfig) ? refId(busProps.DeadLetterConfig.Arn) : undefined,
    busKms: busProps?.KmsKeyIdentifier !== undefined,
    ...(archive ? { archive: { id: archive[0], retentionDays: num(archive[1].RetentionDays) } } : {}),
    queues,
    rules,
    functions,
    tables,
    counts,
  };
}

/** Where the synthesized template of a stack is: `--template`, or `<assembly>/<stack>.template.json`. */
export function templatePath(options: { template?: string; assembly?: string; stack: string; cwd: string }): string {
  if (options.template) return resolve(options.cwd, options.template);
  const dir = resolve(options.cwd, options.assembly ?? 'cdk.out');
  const manifestPath = join(dir, 'manifest.json');
  if (existsSync(manifestPath)) {
    // The manifest names the template file, which differs from the stack name for nested ids.
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as {
      artifacts?: Record<string, { type?: string; properties?: { templateFile?: string }; displayName?: string }>;
    };
    const artifact = manifest.artifacts?.[options.stack];
    if (artifact?.properties?.templateFile) return join(dir, artifact.properties.templateFile);
  }
  return join(dir, `${options.stack}.template.json`);
}

/** Reads and parses the stack's template; a missing file is a usage error that says how to make one. */
export function loadTopology(options: { template?: string; assembly?: string; stack: string; cwd: string }): Topology {
  const path = templatePath(options);
  if (!existsSync(path)) {
    throw new UsageError(`no template at ${path}: run 'npx cdk synth' first, or pass --template <file>`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new UsageError(`${path} is not valid JSON (${(err as Error).message})`);
  }
  return parseTemplate(parsed);
}
