/**
 * Builds the running app from a topology, one resource at a time: `build()` at start, and the
 * same steps for the resources a reload adds (runtime/reload.ts), so both create them alike.
 */
import type { CreateTableCommandInput, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Clock } from './clock';
import { DEFAULT_MAPPING_CONCURRENCY, SqsEventSource } from './esm';
import type { EventBroker, Rule } from './events';
import type { IdentityService } from './identity';
import { FunctionRegistry, LambdaFunction, type FunctionSettings } from './lambda';
import type { RuntimeLog } from './log';
import type { Observability } from './observability';
import { SqsBroker, deadLetterTargetOf, orderByDeadLetter, type Queue } from './sqs';
import type { EventStream } from './stream';
import { TemplateError, busNameOf, type FunctionDef, type MappingDef, type RuleDef, type TableDef, type Topology } from './template';
import { arns, parseArn, partitionOf } from '../assembly/arn';

export interface BuildContext {
  log: RuntimeLog;
  clock: Clock;
  /** What functions' Timeouts are measured on. @default - real time */
  functionTimeoutClock?: Clock;
  stream: EventStream;
  sqs: SqsBroker;
  events: EventBroker;
  functions: FunctionRegistry;
  mappings: SqsEventSource[];
  endpoint: string;
  region: string;
  accountId: string;
  observability: Observability;
  identity: IdentityService;
  /** Tables kept from an earlier run (--state-dir) are used as they are. */
  keepTables?: boolean;
}

/** The account and region of a resource: its stack's, else the runtime's. */
export function placeOf(
  r: { account?: string; region?: string },
  c: Pick<BuildContext, 'accountId' | 'region'>,
): { account: string; region: string } {
  return { account: r.account ?? c.accountId, region: r.region ?? c.region };
}

/** The template's queues, each dead-letter queue before the queues whose RedrivePolicy names it. */
export function queuesInOrder(queues: Topology['queues'], c: Pick<BuildContext, 'sqs' | 'accountId' | 'region'>): Topology['queues'] {
  try {
    return orderByDeadLetter(
      queues,
      (q) => q.arn ?? c.sqs.arnOf(q.name, placeOf(q, c)),
      (q) => deadLetterTargetOf(q.attributes.RedrivePolicy),
    );
  } catch (e) {
    throw new TemplateError((e as Error).message);
  }
}

export function createQueue(q: Topology['queues'][number], c: Pick<BuildContext, 'sqs' | 'accountId' | 'region'>): Queue {
  try {
    return c.sqs.create(q.name, q.attributes, placeOf(q, c));
  } catch (e) {
    throw new TemplateError(`Queue ${q.name}: ${(e as Error).message}`);
  }
}

export function createBus(b: Topology['buses'][number], c: Pick<BuildContext, 'events' | 'accountId' | 'region'>): void {
  const where = placeOf(b, c);
  const arn = c.events.busArn(b.name, where);
  if (c.events.busesByArn.has(arn) && b.name !== 'default') throw new TemplateError(`Event bus ${arn} is defined twice`);
  c.events.createBus(b.name, b.description, b.deadLetterArn, where);
}

export function createArchive(a: Topology['archives'][number], c: Pick<BuildContext, 'events'>): void {
  c.events.createArchive({
    name: a.name,
    sourceArn: a.sourceArn,
    pattern: a.pattern,
    description: a.description,
    retentionDays: a.retentionDays,
  });
}

/** PutRule on the rule's bus (an account's default bus is made on first use), then PutTargets. */
export function createRule(r: RuleDef, c: Pick<BuildContext, 'events' | 'accountId' | 'region'>): Rule {
  try {
    const rule = putRuleOf(r, c);
    c.events.putTargets(rule, r.targets);
    return rule;
  } catch (e) {
    throw new TemplateError(`Rule ${r.name}: ${(e as Error).message}`);
  }
}

/** PutRule alone: the rule's pattern, schedule, state and description; its targets stay as they are. */
export function putRuleOf(r: RuleDef, c: Pick<BuildContext, 'events' | 'accountId' | 'region'>): Rule {
  // A rule is on a bus of its own account and region; each account has its default bus.
  const where = placeOf(r, c);
  const busName = busNameOf(r.busName);
  const busArn = c.events.busArn(busName, where);
  if (busName === 'default' && !c.events.busesByArn.has(busArn)) c.events.createBus('default', undefined, undefined, where);
  const bus = c.events.bus(busArn);
  return c.events.putRule(bus, {
    name: r.name,
    pattern: r.pattern,
    scheduleExpression: r.scheduleExpression,
    state: r.state,
    description: r.description,
  });
}

/**
 * The function a mapping names, by ARN (a reference in its stack) or by name in the mapping's own
 * account and region. Unqualified, so a mapping of `function:name:alias` counts toward the
 * function's own pool.
 */
export function mappedFunctionArn(m: MappingDef, c: Pick<BuildContext, 'accountId' | 'region'>): string {
  const named = m.functionArn ? parseArn(m.functionArn) : undefined;
  if (named) return arns.function(named, m.functionName);
  const where = placeOf(m, c);
  return arns.function({ partition: partitionOf(where.region), ...where }, m.functionName);
}

/** Execution environments per function: the sum of its mappings' MaximumConcurrency. */
export function mappingConcurrency(mappings: readonly MappingDef[], c: Pick<BuildContext, 'accountId' | 'region'>): Map<string, number> {
  const concurrency = new Map<string, number>();
  for (const m of mappings) {
    const arn = mappedFunctionArn(m, c);
    concurrency.set(arn, (concurrency.get(arn) ?? 0) + (m.maximumConcurrency ?? DEFAULT_MAPPING_CONCURRENCY));
  }
  return concurrency;
}

/** What a function runs with besides its definition: its place, the endpoint, its logs and its role's session. */
export function functionSettings(
  f: FunctionDef,
  c: Pick<BuildContext, 'accountId' | 'region' | 'endpoint' | 'observability' | 'stream' | 'identity' | 'functionTimeoutClock'>,
): FunctionSettings {
  const where = placeOf(f, c);
  // Each function calls AWS as a session of its execution role, as Lambda gives it.
  const credentials = f.arn ? c.identity.functionCredentials(f.arn) : undefined;
  return {
    region: where.region,
    accountId: where.account,
    endpoint: c.endpoint,
    logs: c.observability.functionLogs,
    stream: c.stream,
    credentials,
    timeoutClock: c.functionTimeoutClock,
  };
}

export function createFunction(f: FunctionDef, concurrency: ReadonlyMap<string, number>, c: BuildContext): LambdaFunction {
  const fn = new LambdaFunction(f, functionSettings(f, c), c.log, 1);
  fn.maxWorkers = Math.max(1, concurrency.get(fn.arn) ?? DEFAULT_MAPPING_CONCURRENCY);
  if (c.functions.functions.has(fn.arn)) throw new TemplateError(`Function ${fn.arn} is defined twice`);
  c.functions.add(fn);
  return fn;
}

/** A poller for the mapping, not yet started; undefined (with a warning) when it cannot be polled locally. */
export function createMapping(m: MappingDef, c: BuildContext, warnings: string[]): SqsEventSource | undefined {
  const fn = c.functions.get(mappedFunctionArn(m, c));
  if (!fn) {
    // Its messages stay in the queue, visible to any other consumer; nothing is taken and lost.
    warnings.push(`event source mapping ${m.uuid} is not polled: function ${m.functionArn ?? m.functionName} is not run locally`);
    return undefined;
  }
  if (parseArn(m.eventSourceArn)?.service !== 'sqs') {
    warnings.push(`event source mapping ${m.uuid} is not polled: only SQS sources are emulated (${m.eventSourceArn})`);
    return undefined;
  }
  const mapping = new SqsEventSource({ def: m, sqs: c.sqs, fn, clock: c.clock, stream: c.stream, region: placeOf(m, c).region });
  c.mappings.push(mapping);
  return mapping;
}

export async function build(topo: Topology, c: BuildContext): Promise<void> {
  for (const q of queuesInOrder(topo.queues, c)) createQueue(q, c);
  for (const b of topo.buses) createBus(b, c);
  for (const a of topo.archives) createArchive(a, c);
  for (const r of topo.rules) createRule(r, c);
  await createTables(topo.tables, c.endpoint, c.region, c.keepTables ?? false);
  const concurrency = mappingConcurrency(topo.mappings, c);
  for (const f of topo.functions) createFunction(f, concurrency, c);
  for (const m of topo.mappings) createMapping(m, c, topo.warnings);
}

/** Keys of AWS::DynamoDB::Table that CreateTable accepts as they are. */
const TABLE_KEYS = ['AttributeDefinitions', 'KeySchema', 'BillingMode', 'ProvisionedThroughput', 'StreamSpecification'];
const INDEX_KEYS = ['IndexName', 'KeySchema', 'Projection', 'ProvisionedThroughput'];

/** dynalite has one table namespace: the same name in two accounts or regions would be one table. */
export function checkTableNames(tables: readonly TableDef[]): void {
  const seen = new Map<string, string>();
  for (const t of tables) {
    const where = `${t.account ?? '?'}/${t.region ?? '?'} (stack ${t.stack ?? '?'})`;
    const other = seen.get(t.name);
    if (other !== undefined && other !== where) {
      throw new TemplateError(
        `Table ${t.name} is defined in ${other} and in ${where}; the local DynamoDB has one table namespace for every account and region, so table names must be unique across the app's stacks`,
      );
    }
    seen.set(t.name, where);
  }
}

/**
 * The DynamoDB client module, required with an app's first table: the runtime uses no other AWS
 * SDK client, so an app without tables (most test fixtures) starts without loading the SDK
 * (about 0.4 CPU-s of a runtime process's start).
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const dynamodb = () => require('@aws-sdk/client-dynamodb') as typeof import('@aws-sdk/client-dynamodb');

function dynamoClient(endpoint: string, region: string): DynamoDBClient {
  return new (dynamodb().DynamoDBClient)({
    endpoint,
    region,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
}

/** CreateTable for each table; with `keep`, a table that exists already (an earlier run's, or the app's before a reload) is used as it is. */
export async function createTables(tables: readonly TableDef[], endpoint: string, region: string, keep: boolean): Promise<void> {
  if (tables.length === 0) return;
  checkTableNames(tables);
  const client = dynamoClient(endpoint, region);
  const pick = (o: Record<string, unknown>, keys: string[]) =>
    Object.fromEntries(keys.filter((k) => o[k] !== undefined).map((k) => [k, o[k]]));
  try {
    await Promise.all(
      tables.map(async (t) => {
        const d = t.definition;
        const input = { TableName: t.name, ...pick(d, TABLE_KEYS) } as Record<string, unknown>;
        for (const k of ['GlobalSecondaryIndexes', 'LocalSecondaryIndexes']) {
          if (Array.isArray(d[k])) input[k] = (d[k] as Record<string, unknown>[]).map((ix) => pick(ix, INDEX_KEYS));
        }
        if (input.BillingMode === undefined && input.ProvisionedThroughput === undefined) input.BillingMode = 'PAY_PER_REQUEST';
        try {
          await client.send(new (dynamodb().CreateTableCommand)(input as unknown as CreateTableCommandInput));
        } catch (e) {
          // A table of an earlier run keeps its items; a changed key schema is not migrated (docs/runtime.md).
          if (keep && (e as Error).name === 'ResourceInUseException') return;
          throw new TemplateError(`Table ${t.name}: ${(e as Error).message}`);
        }
      }),
    );
  } finally {
    client.destroy();
  }
}

/** DeleteTable for each name; a table already gone is not an error. */
export async function deleteTables(names: readonly string[], endpoint: string, region: string): Promise<void> {
  if (names.length === 0) return;
  const client = dynamoClient(endpoint, region);
  try {
    await Promise.all(
      names.map(async (TableName) => {
        try {
          await client.send(new (dynamodb().DeleteTableCommand)({ TableName }));
        } catch (e) {
          if ((e as Error).name !== 'ResourceNotFoundException')
            throw new Error(`Table ${TableName}: ${(e as Error).message}`, { cause: e });
        }
      }),
    );
  } finally {
    client.destroy();
  }
}
