/**
 * The local runtime: runs a synthesized CDK app (cdk.out) on one machine, with no Docker
 * and no AWS account, behind one endpoint that speaks EventBridge, SQS and DynamoDB.
 * State is in memory and ends with the process, unless `stateDir` keeps it (runtime/state).
 * See docs/runtime.md.
 */
import type { AddressInfo } from 'node:net';
import { rmSync } from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { Clock, RealClock } from './clock';
import { build } from './build';
import { DEFAULT_MAPPING_CONCURRENCY, SqsEventSource } from './esm';
import { ArchiveLimits, DeliveryRetryOptions, EventBroker } from './events';
import { FunctionRegistry } from './lambda';
import { RuntimeLog } from './log';
import { LocalCloudWatch, loadCloudWatchResources } from './metrics';
import type { EdgeOptions } from './http/edge';
import { DEFAULT_IAM_MODE, type IamMode } from './iam-mode';
import { IdentityService, loadAppPolicies, type AppPolicies, type UserConfig } from './identity';
import { Observability, type ObservabilityLimits } from './observability';
import { deliveryAuthorizer, type DeliveryAuthorizer } from './delivery-authorization';
import { createHandler } from './server';
import { SqsBroker } from './sqs';
import { DYNAMODB_DIR, StateStore, type StateOptions } from './state';
import { openDynamoStore } from './dynamodb-store';
import { EventStream } from './stream';
import { PART_WAY, reloadAssembly, loadRunnableTopology, retainedResources, type Deployed, type ReloadReport } from './reload';
import { TemplateError, Topology, appEnvironment, runtimeAccount } from './template';

export { TemplateError } from './template';
export { RealClock, VirtualClock, driveWhenIdle, type Clock } from './clock';
export type { ReloadReport } from './reload';
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
   * VirtualClock and advance it. Function execution timeouts stay on real time unless
   * `functionTimeoutClock` says otherwise.
   * @default a RealClock
   */
  clock?: Clock;
  /**
   * What functions' Timeouts are measured on (handlers themselves always run on real time). A
   * test about what follows a timeout (the worker stopped, the record kept) passes its
   * VirtualClock and advances it past the Timeout instead of waiting for it. Not for an idle
   * driver (driveWhenIdle): it holds time still while a function runs, so a hung handler would
   * never time out.
   * @default - real time
   */
  functionTimeoutClock?: Clock;
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
  /**
   * Applies a changed cloud assembly (a re-synthesized `cdk.out`) to the running app, keeping its
   * state: what it adds is created, what it removes is removed, what it changes is updated in
   * place. A broken assembly changes nothing and rejects with an error naming the resource.
   * Reloads run one at a time. See docs/runtime.md, "Reloading a changed assembly".
   */
  reload(assemblyDir: string): Promise<ReloadReport>;
  /** The functions it runs, by ARN; watch mode (runtime/watch.ts) replaces their code. */
  functions: FunctionRegistry;
  close(): Promise<void>;
}

export async function startLocalRuntime(options: LocalRuntimeOptions = {}): Promise<LocalRuntime> {
  const started = performance.now();
  const assemblyDir = path.resolve(options.assemblyDir ?? 'cdk.out');
  const app = appEnvironment(assemblyDir);
  const region = options.region ?? app.region ?? 'us-east-1';
  // The caller's account (CreateQueue, ListQueues, names without an ARN) until requests carry identities.
  const accountId = options.accountId ?? runtimeAccount(assemblyDir);
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
  // The DynamoDB store opens first: its lock keeps a second runtime off a --state-dir in use
  // before this one reads the directory's journal or writes to it.
  const stateDir = options.stateDir === undefined ? undefined : StateStore.directory(options.stateDir);
  const dynamo = await openDynamoStore(stateDir && path.join(stateDir, DYNAMODB_DIR));
  let state: StateStore | undefined;
  try {
    state = stateDir
      ? StateStore.open(stateDir, (message) => stream.publish('runtime.warning', { message }), options.stateOptions)
      : undefined;
  } catch (e) {
    await dynamo.close();
    throw e;
  }

  // Listen first: queue URLs and the functions' AWS_ENDPOINT_URL need the port.
  const server = http.createServer();
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 4566, host, () => resolve());
  }).catch(async (e: unknown) => {
    await dynamo.close();
    throw e;
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
  // Deliveries ask the current policies: a reload swaps them in one assignment.
  let deliveryPolicies = policies && deliveryAuthorizer({ mode: iam, policies: policies.store });
  const delivery: DeliveryAuthorizer | undefined =
    iam === 'off' ? undefined : { mode: iam, checkQueue: (r) => deliveryPolicies?.checkQueue(r) };
  const events = new EventBroker({
    clock,
    stream,
    sqs,
    functions,
    region,
    accountId,
    deliveryRetry: options.deliveryRetry,
    archiveLimits: options.archiveLimits,
    deliveryAuthorizer: delivery,
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
      dynamodb: dynamo.handler,
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
  // The folders the template reader wrote inline function code into, at start and at each reload.
  const inlineCodeDirs: string[] = [];
  let deployed!: Deployed;
  let reloadContext!: Parameters<typeof reloadAssembly>[1];
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
      await dynamo.close();
      recording.unsubscribe();
      for (const dir of inlineCodeDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
      log.flush();
    })();
    return closing;
  };

  try {
    const topo = loadRunnableTopology(assemblyDir, { region, accountId, endpoint, inlineCodeDirs }, options.maxVisibilityTimeoutSeconds);
    if (policyError) {
      // Enforcing without the app's policies would refuse or allow at random: that mode needs them.
      if (identity.mode === 'enforce') throw new TemplateError(`--iam enforce: the app's policies cannot be read: ${policyError.message}`);
      if (identity.mode === 'warn') topo.warnings.push(`policies are not checked (calls and deliveries): ${policyError.message}`);
    }
    if (policies) identity.load(policies, { events, sqs, region, accountId });
    topo.warnings.push(...observability.load(topo));
    const built = {
      log,
      clock,
      functionTimeoutClock: options.functionTimeoutClock,
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
    };
    await build(topo, { ...built, keepTables: !!state });
    if (state) {
      state.restore(sqs, events);
      state.attach(sqs, events, stream);
    }
    const cloudwatchResources = loadCloudWatchResources(assemblyDir, { region, accountId, endpoint });
    cloudwatch.start(cloudwatchResources);
    deployed = {
      topo,
      cloudwatch: cloudwatchResources,
      policies,
      retained: retainedResources(assemblyDir, { region, accountId, endpoint }),
    };
    reloadContext = {
      ...built,
      iam,
      maxVisibilityTimeoutSeconds: options.maxVisibilityTimeoutSeconds,
      cloudwatch,
      prewarm: options.prewarm !== false,
      inlineCodeDirs,
      setDeliveryPolicies: (p) => (deliveryPolicies = deliveryAuthorizer({ mode: iam, policies: p.store })),
      persist: state && (() => state.tick()),
    };
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
  // One reload at a time, in the order asked; a failed one leaves the app as it was.
  let reloading: Promise<unknown> = Promise.resolve();
  const reload = (dir: string): Promise<ReloadReport> => {
    const run = async () => {
      if (closing) throw new Error('The local runtime is shutting down');
      const assembly = path.resolve(dir);
      try {
        const report = await reloadAssembly(assembly, reloadContext, deployed);
        stream.publish('runtime.reloaded', {
          assemblyDir: assembly,
          added: report.added,
          changed: report.changed,
          removed: report.removed,
          ms: report.ms,
          lines: [...report.lines],
        });
        log.always(report.summary);
        for (const line of report.lines) log.always(`  ${line}`);
        for (const w of report.warnings) log.always(`  WARNING: ${w}`);
        log.flush();
        return report;
      } catch (e) {
        stream.publish('runtime.reload-failed', { assemblyDir: assembly, message: (e as Error).message });
        const message = (e as Error).message;
        log.always(message.startsWith(PART_WAY) ? message : `reload refused, the running app is unchanged: ${message}`);
        log.flush();
        throw e;
      }
    };
    const next = reloading.then(run, run);
    reloading = next.catch(() => undefined);
    return next;
  };
  return { endpoint, stream, clock, observability, cloudwatch, functions, reload, close };
}

/** Types whose only local effect is their policy document, which assembly/policies.ts reads. */
const POLICY_ONLY_TYPES = new Set([
  'AWS::IAM::Role',
  'AWS::IAM::Policy',
  'AWS::IAM::ManagedPolicy',
  'AWS::SQS::QueuePolicy',
  'AWS::KMS::Key',
]);

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
  const list = (xs: [string, number][]) => xs.map(([k, v]) => `${k} x${v}`).join(', ');
  // Resources with no local counterpart whose policies the IAM layer still reads and enforces (assembly/policies.ts).
  const policies = skipped.filter(([k]) => POLICY_ONLY_TYPES.has(k));
  const others = skipped.filter(([k]) => !POLICY_ONLY_TYPES.has(k));
  if (policies.length > 0) lines.push(`  policies only (read and enforced, no resource of their own): ${list(policies)}`);
  if (others.length > 0) lines.push(`  not emulated: ${list(others)}`);
  for (const w of topo.warnings) lines.push(`  WARNING: ${w}`);
  return lines;
}
