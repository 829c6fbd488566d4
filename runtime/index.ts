/**
 * The local runtime: runs a synthesized CDK app (cdk.out) on one machine, with no Docker
 * and no AWS account, behind one endpoint that speaks EventBridge, SQS and DynamoDB.
 * State is in memory and ends with the process, unless `stateDir` keeps it (runtime/state).
 * See docs/runtime.md.
 */
import type { AddressInfo } from 'node:net';
import * as http from 'node:http';
import * as path from 'node:path';
import { CreateTableCommand, DynamoDBClient, type CreateTableCommandInput } from '@aws-sdk/client-dynamodb';
import { Clock, RealClock } from './clock';
import { DEFAULT_MAPPING_CONCURRENCY, SqsEventSource } from './esm';
import { ArchiveLimits, DeliveryRetryOptions, EventBroker } from './events';
import { FunctionRegistry, LambdaFunction } from './lambda';
import { RuntimeLog } from './log';
import { LocalCloudWatch, loadCloudWatchResources } from './metrics';
import type { EdgeOptions } from './http/edge';
import { DEFAULT_IAM_MODE, type IamMode } from './iam-mode';
import { IdentityService, loadAppPolicies, type AppPolicies, type UserConfig } from './identity';
import { Observability, type ObservabilityLimits } from './observability';
import { deliveryAuthorizer } from './delivery-authorization';
import { createHandler } from './server';
import { SqsBroker, deadLetterTargetOf, orderByDeadLetter } from './sqs';
import { StateStore, type StateOptions } from './state';
import { EventStream } from './stream';
import { arns, parseArn, partitionOf } from '../assembly/arn';
import { TemplateError, Topology, appEnvironment, busNameOf, homeAccount, loadTopology } from './template';

export { TemplateError } from './template';
export { RealClock, VirtualClock, driveWhenIdle, type Clock } from './clock';
export { EventStream, type AnyRuntimeEvent, type RuntimeEvent, type RuntimeEvents, type RuntimeEventType } from './stream';

export interface LocalRuntimeOptions {
  /** Cloud assembly to run. @default 'cdk.out' */
  assemblyDir?: string;
  /** @default 4566; 0 picks any free port */
  port?: number;
  /** @default '127.0.0.1' */
  host?: string;
  /** Where lines go. @default one line per write to stdout */
  log?: (line: string) => void;
  /**
   * Drop the routine lines: per-event lines (publish, match, delivery, invocation) and the
   * functions' output; keep the ready line, topology, warnings, `DROPPED`, failures, dead letters,
   * alarms, IAM lines and functions' ERROR records. @default false
   */
  quiet?: boolean;
  /** Print the functions' log records in full (the JSON as written) instead of folded to level, message and fields. @default false */
  verbose?: boolean;
  /** @default the region every stack of the app names, else 'us-east-1' */
  region?: string;
  /**
   * The account API callers act in (CreateQueue, ListQueues, a queue URL or bus named without an
   * account) until requests carry identities; resources keep their own stacks' accounts.
   * @default the account every stack of the app names; when they differ, the first stack's (the router's); else '000000000000'
   */
  accountId?: string;
  /** Backoff between EventBridge target delivery retries. @default 1 s doubling up to 60 s */
  deliveryRetry?: DeliveryRetryOptions;
  /**
   * Caps the VisibilityTimeout of the template's queues, so that failed records come back in
   * seconds instead of minutes while developing. Off by default: the template's values apply.
   * Keep it above the functions' run time, or records still being handled become visible again.
   */
  maxVisibilityTimeoutSeconds?: number;
  /** Start one worker per function right after ready, so the first event does not pay the cold start. @default true */
  prewarm?: boolean;
  /** Origins and host names browsers may use (see docs/runtime.md, threat model). @default - the runtime's own origin only */
  edge?: EdgeOptions;
  /**
   * What every wait of the runtime asks for the time: visibility timeouts, delays, long polls,
   * delivery retries, schedules, batching windows, archive retention. Tests pass a
   * VirtualClock and advance it. Function execution timeouts stay on real time.
   * @default a RealClock
   */
  clock?: Clock;
  /** Memory cap of each archive; the oldest events are dropped past it. @default 100,000 events or 64 MiB */
  archiveLimits?: ArchiveLimits;
  /** What a call or delivery the app's policies deny does (see iam-mode.ts). @default 'warn' */
  iam?: IamMode;
  /**
   * Access keys of IAM users (or of role sessions the app does not define, e.g. a deployment
   * role), with their secrets and optional identity policies. Any other key acts as the account's
   * root user. See docs/runtime.md, Identities.
   * @default - none
   */
  users?: readonly UserConfig[];
  /** Check each request's SigV4 signature with the key's secret (issued sessions and `users` only). @default false */
  verifySignatures?: boolean;
  /** Memory caps of CloudWatch Logs and CloudTrail event history. @default 128 MiB of log events; 50,000 trail events or 32 MiB */
  observabilityLimits?: ObservabilityLimits;
  /**
   * Keep queues, messages, rules and targets, buses, archives and DynamoDB tables in this
   * directory across restarts (see runtime/state and docs/runtime.md, "State across restarts").
   * @default - state is in memory and ends with the process
   */
  stateDir?: string;
  /** Journal fsync interval and compaction size of `stateDir`. */
  stateOptions?: StateOptions;
}

export interface LocalRuntime {
  endpoint: string;
  /** What happens inside the runtime, as typed events (the log is one subscriber). */
  stream: EventStream;
  clock: Clock;
  /** CloudWatch Logs, CloudTrail event history, CloudWatch metrics and alarms. */
  observability: Observability;
  /** CloudWatch metrics and alarms: the metric store, the app's alarms and their history. */
  cloudwatch: LocalCloudWatch;
  /** The functions it runs, by ARN; watch mode (runtime/watch.ts) replaces their code. */
  functions: FunctionRegistry;
  close(): Promise<void>;
}

interface DynaliteStore {
  db: { close(cb: (err?: Error) => void): void };
}

interface DynaliteServer extends http.Server {
  listeners(event: 'request'): http.RequestListener[];
}

export async function startLocalRuntime(options: LocalRuntimeOptions = {}): Promise<LocalRuntime> {
  const started = performance.now();
  const assemblyDir = path.resolve(options.assemblyDir ?? 'cdk.out');
  const app = appEnvironment(assemblyDir);
  const region = options.region ?? app.region ?? 'us-east-1';
  // The caller's account (CreateQueue, ListQueues, names without an ARN) until requests carry identities.
  const accountId = options.accountId ?? app.account ?? homeAccount(assemblyDir) ?? '000000000000';
  const host = options.host ?? '127.0.0.1';
  const stdout = (text: string) => process.stdout.write(text);
  const clock = options.clock ?? new RealClock();
  const stream = new EventStream(clock, accountId, region);
  const log = new RuntimeLog(
    options.log ?? ((line: string) => stdout(`${line}\n`)),
    options.quiet ?? false,
    options.log ? undefined : stdout,
    options.verbose ?? false,
  );
  log.attach(stream);
  const state = options.stateDir
    ? StateStore.open(options.stateDir, (message) => stream.publish('runtime.warning', { message }), options.stateOptions)
    : undefined;

  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const dynalite = require('dynalite') as (o: object) => DynaliteServer;
  // dynalite's own close() closes its database only after closing an HTTP server it listens on, and
  // the runtime serves dynalite's handler on its own server: keep the store to close its database
  // (its LevelDB lock would otherwise outlive close(), and a restart on the same --state-dir fail).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const dynaliteDb = require('dynalite/db') as { create: (o: object) => DynaliteStore };
  const createStore = dynaliteDb.create;
  let dynamoStore: DynaliteStore | undefined;
  dynaliteDb.create = (o) => (dynamoStore = createStore(o));
  let dynamo: DynaliteServer;
  try {
    dynamo = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0, ...(state ? { path: state.dynamodbPath } : {}) });
  } finally {
    dynaliteDb.create = createStore;
  }
  const dynamoHandler = dynamo.listeners('request')[0];
  if (!dynamoHandler) throw new Error('dynalite has no request handler');

  // Listen first: queue URLs and the functions' AWS_ENDPOINT_URL need the port.
  const server = http.createServer();
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 4566, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  const sqs = new SqsBroker({ clock, stream, region, accountId, endpoint });
  const functions = new FunctionRegistry(log, { account: accountId, region });
  // The app's policies, compiled once under the same naming as the topology, so their ARNs match:
  // API calls, STS and deliveries are checked against this one store.
  const iam = options.iam ?? DEFAULT_IAM_MODE;
  let policies: AppPolicies | undefined;
  let policyError: Error | undefined;
  try {
    policies = loadAppPolicies(assemblyDir, { region, accountId, endpoint });
  } catch (e) {
    // loadTopology reports a broken assembly; what a policy the model cannot read means depends on the mode (below).
    policyError = e as Error;
  }
  const events = new EventBroker({
    clock,
    stream,
    sqs,
    functions,
    region,
    accountId,
    deliveryRetry: options.deliveryRetry,
    archiveLimits: options.archiveLimits,
    deliveryAuthorizer: policies && deliveryAuthorizer({ mode: iam, policies: policies.store }),
  });
  const mappings: SqsEventSource[] = [];
  const cloudwatch = new LocalCloudWatch({ clock, stream, sqs, region, accountId });
  const observability = new Observability({ clock, accountId, region, limits: options.observabilityLimits, cloudwatch });
  const recording = observability.attach(stream);
  const identity = new IdentityService({
    mode: iam,
    clock,
    stream,
    region,
    accountId,
    users: options.users,
    verifySignatures: options.verifySignatures,
  });

  let markReady!: () => void;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  server.on(
    'request',
    createHandler({
      log,
      sqs,
      events,
      dynamodb: dynamoHandler,
      accountId,
      ready,
      host,
      edge: options.edge,
      stream,
      observability,
      identity,
      functions,
    }),
  );

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      // PutEvents is refused from the first moment of shutdown, never accepted and then lost.
      events.beginClose();
      cloudwatch.close();
      await Promise.all(mappings.map((m) => m.close()).concat(functions.close()));
      const pendingRetries = events.close();
      stream.publish('runtime.closing', { pendingRetries });
      state?.close();
      sqs.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await new Promise<void>((resolve) => dynamo.close(() => resolve()));
      recording.unsubscribe();
      if (state && dynamoStore) await new Promise<void>((resolve) => dynamoStore!.db.close(() => resolve()));
      log.flush();
    })();
    return closing;
  };

  try {
    const topo = loadTopology(assemblyDir, { region, accountId, endpoint });
    const cap = options.maxVisibilityTimeoutSeconds;
    if (cap !== undefined) {
      if (!Number.isInteger(cap) || cap < 0 || cap > 43200)
        throw new RangeError(`maxVisibilityTimeoutSeconds must be an integer from 0 to 43200 (given ${cap})`);
      for (const q of topo.queues) q.attributes.VisibilityTimeout = String(Math.min(cap, Number(q.attributes.VisibilityTimeout ?? 30)));
    }
    if (policyError) {
      // Enforcing without the app's policies would refuse or allow at random: that mode needs them.
      if (identity.mode === 'enforce') throw new TemplateError(`--iam enforce: the app's policies cannot be read: ${policyError.message}`);
      if (identity.mode === 'warn') topo.warnings.push(`policies are not checked (calls and deliveries): ${policyError.message}`);
    }
    if (policies) identity.load(policies, { events, sqs, region, accountId });
    topo.warnings.push(...observability.load(topo));
    await build(topo, {
      log,
      clock,
      stream,
      sqs,
      events,
      functions,
      mappings,
      endpoint,
      region,
      accountId,
      observability,
      identity,
      keepTables: !!state,
    });
    if (state) {
      state.restore(sqs, events);
      state.attach(sqs, events, stream);
    }
    cloudwatch.start(loadCloudWatchResources(assemblyDir, { region, accountId, endpoint }));
    cloudwatch.attachLogStore(observability.logs);
    const ms = Math.round(performance.now() - started);
    stream.publish('runtime.ready', { endpoint, stacks: topo.stacks, startupMs: ms });
    const kept = state
      ? `state in ${state.dir}: ${state.summary.messages} messages in ${state.summary.queues} queues restored`
      : 'state is in memory';
    log.always(`Local runtime ready on ${endpoint} in ${ms} ms (stacks: ${topo.stacks.join(', ')}; ${kept})`);
    for (const line of describe(topo, sqs, events, functions)) log.always(line);
    log.flush();
    markReady();
    for (const m of mappings) m.start();
    if (options.prewarm !== false) for (const f of functions.functions.values()) f.prewarm();
  } catch (err) {
    await close();
    throw err;
  }
  return { endpoint, stream, clock, observability, cloudwatch, functions, close };
}

interface BuildContext {
  log: RuntimeLog;
  clock: Clock;
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
function placeOf(
  r: { account?: string; region?: string },
  c: Pick<BuildContext, 'accountId' | 'region'>,
): { account: string; region: string } {
  return { account: r.account ?? c.accountId, region: r.region ?? c.region };
}

async function build(topo: Topology, c: BuildContext): Promise<void> {
  // Queues: each dead-letter queue before the queues whose RedrivePolicy names it.
  let ordered: Topology['queues'];
  try {
    ordered = orderByDeadLetter(
      topo.queues,
      (q) => q.arn ?? c.sqs.arnOf(q.name, placeOf(q, c)),
      (q) => deadLetterTargetOf(q.attributes.RedrivePolicy),
    );
  } catch (e) {
    throw new TemplateError((e as Error).message);
  }
  for (const q of ordered) {
    try {
      c.sqs.create(q.name, q.attributes, placeOf(q, c));
    } catch (e) {
      throw new TemplateError(`Queue ${q.name}: ${(e as Error).message}`);
    }
  }
  for (const b of topo.buses) {
    const where = placeOf(b, c);
    const arn = c.events.busArn(b.name, where);
    if (c.events.busesByArn.has(arn) && b.name !== 'default') throw new TemplateError(`Event bus ${arn} is defined twice`);
    c.events.createBus(b.name, b.description, b.deadLetterArn, where);
  }
  for (const a of topo.archives) {
    c.events.createArchive({
      name: a.name,
      sourceArn: a.sourceArn,
      pattern: a.pattern,
      description: a.description,
      retentionDays: a.retentionDays,
    });
  }
  for (const r of topo.rules) {
    try {
      // A rule is on a bus of its own account and region; each account has its default bus.
      const where = placeOf(r, c);
      const busName = busNameOf(r.busName);
      const busArn = c.events.busArn(busName, where);
      if (busName === 'default' && !c.events.busesByArn.has(busArn)) c.events.createBus('default', undefined, undefined, where);
      const bus = c.events.bus(busArn);
      const rule = c.events.putRule(bus, {
        name: r.name,
        pattern: r.pattern,
        scheduleExpression: r.scheduleExpression,
        state: r.state,
        description: r.description,
      });
      c.events.putTargets(rule, r.targets);
    } catch (e) {
      throw new TemplateError(`Rule ${r.name}: ${(e as Error).message}`);
    }
  }
  await createTables(topo, c.endpoint, c.region, c.keepTables ?? false);
  // A mapping names its function by ARN (a reference in its stack) or by name in the mapping's own account and region.
  // Unqualified, so a mapping of `function:name:alias` counts toward the function's own pool.
  const mapped = (m: Topology['mappings'][number]) => {
    const named = m.functionArn ? parseArn(m.functionArn) : undefined;
    if (named) return arns.function(named, m.functionName);
    const where = placeOf(m, c);
    return arns.function({ partition: partitionOf(where.region), ...where }, m.functionName);
  };
  const concurrency = new Map<string, number>();
  for (const m of topo.mappings)
    concurrency.set(mapped(m), (concurrency.get(mapped(m)) ?? 0) + (m.maximumConcurrency ?? DEFAULT_MAPPING_CONCURRENCY));
  for (const f of topo.functions) {
    const where = placeOf(f, c);
    // Each function calls AWS as a session of its execution role, as Lambda gives it.
    const credentials = f.arn ? c.identity.functionCredentials(f.arn) : undefined;
    const fn = new LambdaFunction(
      f,
      {
        region: where.region,
        accountId: where.account,
        endpoint: c.endpoint,
        logs: c.observability.functionLogs,
        stream: c.stream,
        credentials,
      },
      c.log,
      1,
    );
    fn.maxWorkers = Math.max(1, concurrency.get(fn.arn) ?? DEFAULT_MAPPING_CONCURRENCY);
    if (c.functions.functions.has(fn.arn)) throw new TemplateError(`Function ${fn.arn} is defined twice`);
    c.functions.add(fn);
  }
  for (const m of topo.mappings) {
    const fn = c.functions.get(mapped(m));
    if (!fn) {
      // Its messages stay in the queue, visible to any other consumer; nothing is taken and lost.
      topo.warnings.push(`event source mapping ${m.uuid} is not polled: function ${m.functionArn ?? m.functionName} is not run locally`);
      continue;
    }
    if (parseArn(m.eventSourceArn)?.service !== 'sqs') {
      topo.warnings.push(`event source mapping ${m.uuid} is not polled: only SQS sources are emulated (${m.eventSourceArn})`);
      continue;
    }
    c.mappings.push(new SqsEventSource({ def: m, sqs: c.sqs, fn, clock: c.clock, stream: c.stream, region: placeOf(m, c).region }));
  }
}

/** Keys of AWS::DynamoDB::Table that CreateTable accepts as they are. */
const TABLE_KEYS = ['AttributeDefinitions', 'KeySchema', 'BillingMode', 'ProvisionedThroughput', 'StreamSpecification'];
const INDEX_KEYS = ['IndexName', 'KeySchema', 'Projection', 'ProvisionedThroughput'];

async function createTables(topo: Topology, endpoint: string, region: string, keep: boolean): Promise<void> {
  if (topo.tables.length === 0) return;
  // dynalite has one table namespace: the same name in two accounts or regions would be one table.
  const seen = new Map<string, string>();
  for (const t of topo.tables) {
    const where = `${t.account ?? '?'}/${t.region ?? '?'} (stack ${t.stack ?? '?'})`;
    const other = seen.get(t.name);
    if (other !== undefined && other !== where) {
      throw new TemplateError(
        `Table ${t.name} is defined in ${other} and in ${where}; the local DynamoDB has one table namespace for every account and region, so table names must be unique across the app's stacks`,
      );
    }
    seen.set(t.name, where);
  }
  const client = new DynamoDBClient({ endpoint, region, credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });
  const pick = (o: Record<string, unknown>, keys: string[]) =>
    Object.fromEntries(keys.filter((k) => o[k] !== undefined).map((k) => [k, o[k]]));
  try {
    await Promise.all(
      topo.tables.map(async (t) => {
        const d = t.definition;
        const input = { TableName: t.name, ...pick(d, TABLE_KEYS) } as Record<string, unknown>;
        for (const k of ['GlobalSecondaryIndexes', 'LocalSecondaryIndexes']) {
          if (Array.isArray(d[k])) input[k] = (d[k] as Record<string, unknown>[]).map((ix) => pick(ix, INDEX_KEYS));
        }
        if (input.BillingMode === undefined && input.ProvisionedThroughput === undefined) input.BillingMode = 'PAY_PER_REQUEST';
        try {
          await client.send(new CreateTableCommand(input as unknown as CreateTableCommandInput));
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

/** The topology as a person reads it: buses, rules and targets, queues and DLQs, functions. */
function describe(topo: Topology, sqs: SqsBroker, events: EventBroker, functions: FunctionRegistry): string[] {
  const lines: string[] = [];
  const short = (arn: string) => arn.split(/[:/]/).pop() ?? arn;
  // Name the account on each line only when the app spans accounts.
  const several =
    new Set([
      ...[...events.busesByArn.values()].filter((b) => b.rules.size > 0 || b.name !== 'default').map((b) => b.account),
      ...sqs.list().map((q) => q.account),
    ]).size > 1;
  for (const bus of events.busesByArn.values()) {
    if (bus.name === 'default' && bus.rules.size === 0) continue;
    lines.push(
      `  bus ${bus.name}${several ? ` (account ${bus.account})` : ''}${bus.deadLetterArn ? ` (dlq ${short(bus.deadLetterArn)})` : ''}`,
    );
    for (const rule of bus.rules.values()) {
      lines.push(`    rule ${rule.name} [${rule.state}] ${rule.pattern ?? rule.scheduleExpression ?? ''}`);
      for (const t of rule.targets.values()) {
        const extras = [
          t.inputTransformer ? 'input transformer' : t.inputPath ? `input path ${t.inputPath}` : t.input ? 'constant input' : '',
          t.retryPolicy ? `retries ${t.retryPolicy.maximumRetryAttempts ?? 185}/${t.retryPolicy.maximumEventAgeInSeconds ?? 86400}s` : '',
          t.deadLetterArn ? `dlq ${short(t.deadLetterArn)}` : 'no dlq',
        ].filter(Boolean);
        lines.push(`      -> ${short(t.arn)} (${extras.join(', ')})`);
      }
    }
  }
  for (const a of events.archives.values()) lines.push(`  archive ${a.name} of ${short(a.sourceArn)}`);
  for (const q of sqs.list()) {
    const r = q.settings.RedrivePolicy;
    lines.push(
      `  queue ${q.name}${several ? ` (account ${q.account})` : ''} (visibility ${q.settings.VisibilityTimeout}s${r ? `, dlq ${short(r.deadLetterTargetArn)} after ${r.maxReceiveCount} receives` : ''})`,
    );
  }
  for (const f of functions.functions.values()) {
    const m = topo.mappings.filter((x) => (x.functionArn ? x.functionArn === f.arn : x.functionName === f.name));
    const src = m.map(
      (x) =>
        `${short(x.eventSourceArn)} batch ${x.batchSize}, window ${x.maximumBatchingWindowInSeconds}s, concurrency ${x.maximumConcurrency ?? DEFAULT_MAPPING_CONCURRENCY}${x.reportBatchItemFailures ? ', partial failures' : ''}`,
    );
    lines.push(`  function ${f.name} (${f.def.handler}, timeout ${f.def.timeoutSeconds}s)${src.length ? ` <- ${src.join('; ')}` : ''}`);
  }
  for (const t of topo.tables) lines.push(`  table ${t.name}`);
  for (const t of topo.trails) lines.push(`  trail ${t.name} -> log group ${t.logGroupName}`);
  const skipped = Object.entries(topo.unsupported);
  if (skipped.length > 0) lines.push(`  not emulated: ${skipped.map(([k, v]) => `${k} x${v}`).join(', ')}`);
  for (const w of topo.warnings) lines.push(`  WARNING: ${w}`);
  return lines;
}
