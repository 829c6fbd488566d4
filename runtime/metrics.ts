/**
 * CloudWatch metrics and alarms in the running runtime. One subscriber of the event stream turns
 * what happens (a rule matched, a message received, a function failed) into the metrics AWS
 * vends (`cloudwatch/vended.ts`); function output in Embedded Metric Format becomes the
 * handlers' own metrics; the stack's metric filters turn log lines into datapoints; SQS's gauges
 * are sampled once a minute on the runtime's clock; and every `AWS::CloudWatch::Alarm` of the
 * app is evaluated on that clock, as CloudWatch does, with its state changes and SNS
 * notifications published as `alarm.state-changed` and `alarm.notified`.
 *
 * The stores are exposed as a `CloudWatchBackend`, the shape `cloudwatch/cloudwatch-api.ts`
 * serves, so the HTTP edge only routes to it.
 */
import { Assembly, CloudAssembly, asNumber, isRecord, localNaming, type Resource } from '../assembly';
import type { Clock, ClockTimer } from './clock';
import { AlarmRegistry, AlarmScheduler, type AlarmDefinition } from './cloudwatch/alarms';
import { alarmDefinition, type CloudWatchBackend } from './cloudwatch/cloudwatch-api';
import type { MetricTransformation } from './cloudwatch/filter-pattern';
import type { LogStore } from './cloudwatch/log-store';
import { EmfError, MetricStore, parseEmf, type MetricStoreOptions } from './cloudwatch/metric-store';
import { vendedDatapoints, type VendedEvent } from './cloudwatch/vended';
import type { SqsBroker } from './sqs';
import type { EventStream, Subscription } from './stream';
import type { LocalContext } from './template';

/** SQS publishes its queue gauges once a minute. */
export const SAMPLE_INTERVAL_MS = 60_000;
/** EMF datapoints outside PutMetricData's window around the log event's time are dropped. */
export const EMF_PAST_MS = 14 * 86_400_000;
export const EMF_FUTURE_MS = 2 * 3_600_000;

/** A stack's `AWS::Logs::MetricFilter`, in PutMetricFilter's terms. */
export interface StackMetricFilter {
  readonly logGroupName: string;
  readonly filterName: string;
  readonly filterPattern: string;
  readonly transformations: readonly MetricTransformation[];
}

/** The app's alarms and metric filters, read from every stack of the assembly. */
export interface CloudWatchResources {
  readonly alarms: readonly AlarmDefinition[];
  readonly metricFilters: readonly StackMetricFilter[];
  /** Resources skipped, each with the reason (metric math alarms, say). */
  readonly warnings: readonly string[];
}

/** Reads every `AWS::CloudWatch::Alarm` and `AWS::Logs::MetricFilter` of the assembly, resolved as the runtime resolves the rest. */
export function loadCloudWatchResources(assemblyDir: string, ctx: LocalContext): CloudWatchResources {
  const assembly = new Assembly(CloudAssembly.load(assemblyDir), {
    naming: localNaming(ctx.endpoint),
    defaults: { account: ctx.accountId, region: ctx.region },
  });
  const alarms: AlarmDefinition[] = [];
  const metricFilters: StackMetricFilter[] = [];
  const warnings: string[] = [];
  const where = (r: Pick<Resource, 'logicalId' | 'stack'>) => `${r.logicalId} in stack ${r.stack.name}`;
  for (const stack of assembly.stacks) {
    for (const r of stack.ofType('AWS::CloudWatch::Alarm')) {
      try {
        // A template alarm is a PutMetricAlarm request with the name CloudFormation gives it.
        alarms.push(alarmDefinition({ ...(r.properties as Record<string, unknown>), AlarmName: r.name }));
      } catch (e) {
        warnings.push(`alarm ${where(r)} is not evaluated: ${(e as Error).message}`);
      }
    }
    for (const r of stack.ofType('AWS::Logs::MetricFilter')) {
      const p = r.properties as Record<string, unknown>;
      const list = Array.isArray(p.MetricTransformations) ? p.MetricTransformations : [];
      const transformations = list.filter(isRecord).map(
        (t): MetricTransformation => ({
          metricNamespace: String(t.MetricNamespace ?? ''),
          metricName: String(t.MetricName ?? ''),
          metricValue: String(t.MetricValue ?? ''),
          ...(asNumber(t.DefaultValue) !== undefined ? { defaultValue: asNumber(t.DefaultValue) } : {}),
          ...(isRecord(t.Dimensions) || Array.isArray(t.Dimensions) ? { dimensions: dimensionsOf(t.Dimensions) } : {}),
          ...(typeof t.Unit === 'string' ? { unit: t.Unit } : {}),
        }),
      );
      if (typeof p.LogGroupName !== 'string' || typeof p.FilterPattern !== 'string' || transformations.length === 0) {
        warnings.push(`metric filter ${where(r)} is not applied: it needs LogGroupName, FilterPattern and MetricTransformations`);
        continue;
      }
      metricFilters.push({
        logGroupName: p.LogGroupName,
        filterName: typeof p.FilterName === 'string' ? p.FilterName : r.name,
        filterPattern: p.FilterPattern,
        transformations,
      });
    }
  }
  return { alarms, metricFilters, warnings };
}

/** CloudFormation writes a filter's dimensions as `[{ Key, Value }]`; the API as a map. */
function dimensionsOf(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (Array.isArray(v)) {
    for (const d of v) if (isRecord(d) && typeof d.Key === 'string' && d.Key !== '__proto__') out[d.Key] = String(d.Value ?? '');
  } else if (isRecord(v)) {
    for (const [k, x] of Object.entries(v)) if (k !== '__proto__') out[k] = String(x);
  }
  return out;
}

export interface LocalCloudWatchOptions {
  readonly stream: EventStream;
  readonly clock: Clock;
  /** The queues whose gauges are sampled each minute. */
  readonly sqs: SqsBroker;
  readonly region: string;
  readonly accountId: string;
  /** Bounds on the metric store. @default DEFAULT_MAX_POINTS_PER_SERIES, DEFAULT_MAX_SERIES */
  readonly limits?: Pick<MetricStoreOptions, 'maxPointsPerSeries' | 'maxSeries'>;
}

/** The runtime's CloudWatch: its metric store and alarms, fed from the event stream. */
export class LocalCloudWatch implements CloudWatchBackend {
  public readonly metrics: MetricStore;
  public readonly alarms: AlarmRegistry;
  private readonly scheduler: AlarmScheduler;
  private readonly subscriptions: Subscription[] = [];
  private readonly detachLogs: (() => void)[] = [];
  private readonly logStores: LogStore[] = [];
  private resources: CloudWatchResources = { alarms: [], metricFilters: [], warnings: [] };
  private sampler: ClockTimer | undefined;
  private running = false;
  /** Invocations running, per function and in all. */
  private readonly concurrency = new Map<string, number>();
  private concurrent = 0;
  /** The event whose first matched rule was counted for its bus (rules of one event match in one synchronous run). */
  private lastMatchedEvent: string | undefined;
  /** Empty receives per queue ARN at the last sample. */
  private readonly emptyReceives = new Map<string, number>();
  /** Functions whose output broke the EMF specification (warned about once each). */
  private readonly badEmf = new Set<string>();

  public constructor(private readonly o: LocalCloudWatchOptions) {
    const now = () => o.clock.now();
    this.metrics = new MetricStore({ now, ...o.limits });
    this.alarms = new AlarmRegistry({
      now,
      metrics: this.metrics,
      region: o.region,
      accountId: o.accountId,
      onStateChange: (alarm, old) =>
        o.stream.publish('alarm.state-changed', {
          alarmName: alarm.definition.AlarmName,
          alarmArn: alarm.arn,
          oldState: old.value,
          newState: alarm.status.value,
          reason: alarm.status.reason,
        }),
      onNotification: (n, alarm) =>
        o.stream.publish('alarm.notified', {
          alarmName: alarm.definition.AlarmName,
          alarmArn: alarm.arn,
          topicArn: n.topicArn,
          subject: n.subject,
          newState: alarm.status.value,
        }),
    });
    this.scheduler = new AlarmScheduler(this.alarms, o.clock);
    this.subscribe();
  }

  /**
   * Loads the app's alarms and metric filters, then starts sampling the queues and evaluating the
   * alarms on the clock. Alarms that cannot be evaluated locally are skipped with a warning.
   */
  public start(resources?: CloudWatchResources): void {
    if (this.running) return;
    this.running = true;
    if (resources) {
      this.resources = resources;
      for (const w of resources.warnings) this.o.stream.publish('runtime.warning', { message: w });
      for (const a of resources.alarms) {
        try {
          this.alarms.put(a);
        } catch (e) {
          this.o.stream.publish('runtime.warning', { message: `alarm ${a.AlarmName} is not evaluated: ${(e as Error).message}` });
        }
      }
      for (const logs of this.logStores) this.applyFilters(logs);
    }
    this.scheduleSample();
    this.scheduler.start();
  }

  /**
   * The alarms and metric filters of a reloaded assembly: new and changed alarms are put (a
   * changed alarm keeps its state and history, as PutMetricAlarm does), alarms the template no
   * longer has are deleted; likewise the metric filters. Metrics stay. Returns the names of the
   * alarms added, changed and removed.
   */
  public reload(resources: CloudWatchResources): { added: string[]; changed: string[]; removed: string[] } {
    const before = new Map(this.resources.alarms.map((a) => [a.AlarmName, JSON.stringify(a)]));
    const after = new Set(resources.alarms.map((a) => a.AlarmName));
    const out = { added: [] as string[], changed: [] as string[], removed: [] as string[] };
    for (const w of resources.warnings) this.o.stream.publish('runtime.warning', { message: w });
    for (const a of resources.alarms) {
      const was = before.get(a.AlarmName);
      if (was === JSON.stringify(a)) continue;
      try {
        this.alarms.put(a);
        (was === undefined ? out.added : out.changed).push(a.AlarmName);
      } catch (e) {
        this.o.stream.publish('runtime.warning', { message: `alarm ${a.AlarmName} is not evaluated: ${(e as Error).message}` });
      }
    }
    for (const name of before.keys()) {
      if (after.has(name) || !this.alarms.get(name)) continue;
      this.alarms.delete([name]);
      out.removed.push(name);
    }
    const kept = new Set(resources.metricFilters.map((f) => `${f.logGroupName}\u0000${f.filterName}`));
    for (const logs of this.logStores) {
      for (const f of this.resources.metricFilters) {
        if (!kept.has(`${f.logGroupName}\u0000${f.filterName}`))
          logs
            .listGroups()
            .find((g) => g.name === f.logGroupName)
            ?.metricFilters.delete(f.filterName);
      }
    }
    this.resources = resources;
    for (const logs of this.logStores) this.applyFilters(logs);
    return out;
  }

  /**
   * Applies the app's metric filters to `logs` (creating their log groups when the log store does
   * not have them yet) and stores what they extract, and what any metric filter put through the
   * Logs API extracts.
   */
  public attachLogStore(logs: LogStore): void {
    this.logStores.push(logs);
    this.applyFilters(logs);
    this.detachLogs.push(
      logs.addMetricListener((dp, timestamp) =>
        this.metrics.put({
          namespace: dp.namespace,
          metricName: dp.metricName,
          dimensions: Object.entries(dp.dimensions).map(([Name, Value]) => ({ Name, Value })),
          timestamp,
          value: dp.value,
          ...(dp.unit ? { unit: dp.unit } : {}),
        }),
      ),
    );
  }

  private applyFilters(logs: LogStore): void {
    for (const f of this.resources.metricFilters) {
      try {
        logs.ensureLogGroup(f.logGroupName);
        logs.putMetricFilter(f.logGroupName, f.filterName, f.filterPattern, f.transformations);
      } catch (e) {
        this.o.stream.publish('runtime.warning', {
          message: `metric filter ${f.filterName} on ${f.logGroupName} is not applied: ${(e as Error).message}`,
        });
      }
    }
  }

  public close(): void {
    this.running = false;
    this.scheduler.stop();
    this.o.clock.clearTimeout(this.sampler);
    this.sampler = undefined;
    for (const s of this.subscriptions.splice(0)) s.unsubscribe();
    for (const d of this.detachLogs.splice(0)) d();
    this.logStores.length = 0;
  }

  private put(e: VendedEvent): void {
    for (const p of vendedDatapoints(e)) this.metrics.put(p);
  }

  private subscribe(): void {
    const { stream } = this.o;
    const on = this.subscriptions.push.bind(this.subscriptions);
    on(
      stream.subscribe('rule.matched', (e) => {
        const first = this.lastMatchedEvent !== e.properties.eventId;
        this.lastMatchedEvent = e.properties.eventId;
        this.put({
          type: 'rule.matched',
          time: e.at,
          busName: e.properties.busName,
          ruleName: e.properties.ruleName,
          firstForEvent: first,
        });
      }),
    );
    on(
      stream.subscribe('target.delivered', (e) =>
        this.put({
          type: 'target.delivered',
          time: e.at,
          busName: e.properties.busName,
          ruleName: e.properties.ruleName,
          outcome: 'delivered',
        }),
      ),
    );
    on(
      stream.subscribe('target.dead-lettered', (e) =>
        this.put({
          type: 'target.delivered',
          time: e.at,
          busName: e.properties.busName,
          ruleName: e.properties.ruleName,
          outcome: 'dead-lettered',
        }),
      ),
    );
    on(
      stream.subscribe('target.dropped', (e) =>
        this.put({
          type: 'target.delivered',
          time: e.at,
          busName: e.properties.busName,
          ruleName: e.properties.ruleName,
          outcome: e.properties.deadLetterQueueArn ? 'dead-letter-failed' : 'failed',
        }),
      ),
    );
    on(stream.subscribe('events.put', (e) => this.put({ type: 'put-events', time: e.at, ...e.properties })));
    on(
      stream.subscribe('message.sent', (e) => {
        // A FIFO duplicate is accepted but not stored; SQS does not count it as sent.
        if (!e.properties.duplicate)
          this.put({ type: 'message.sent', time: e.at, queueName: e.properties.queueName, bytes: e.properties.bytes });
      }),
    );
    on(
      stream.subscribe('message.received', (e) =>
        this.put({ type: 'message.received', time: e.at, queueName: e.properties.queueName, count: 1 }),
      ),
    );
    on(
      stream.subscribe('message.deleted', (e) =>
        this.put({ type: 'message.deleted', time: e.at, queueName: e.properties.queueName, count: 1 }),
      ),
    );
    on(
      stream.subscribe('function.invoked', (e) => {
        const name = e.properties.functionName;
        this.concurrency.set(name, (this.concurrency.get(name) ?? 0) + 1);
        this.concurrent++;
      }),
    );
    const ended = (name: string, time: number, outcome: 'ok' | 'error', durationMs: number) => {
      const running = this.concurrency.get(name) ?? 1;
      this.put({
        type: 'function.invoked',
        time,
        functionName: name,
        outcome,
        durationMs,
        concurrent: running,
        accountConcurrent: this.concurrent,
      });
      if (running <= 1) this.concurrency.delete(name);
      else this.concurrency.set(name, running - 1);
      this.concurrent = Math.max(0, this.concurrent - 1);
    };
    on(stream.subscribe('function.completed', (e) => ended(e.properties.functionName, e.at, 'ok', e.properties.durationMs)));
    on(stream.subscribe('function.failed', (e) => ended(e.properties.functionName, e.at, 'error', e.properties.durationMs)));
    on(
      stream.subscribe('function.output', (e) => {
        try {
          // The window PutMetricData accepts (two weeks back, two hours ahead), applied to EMF too: our choice, unconfirmed for EMF.
          for (const p of parseEmf(e.properties.line, e.at))
            if (p.timestamp >= e.at - EMF_PAST_MS && p.timestamp <= e.at + EMF_FUTURE_MS) this.metrics.put(p);
        } catch (err) {
          // CloudWatch drops such a line; say so once per function rather than on every line.
          if (!(err instanceof EmfError) || this.badEmf.has(e.properties.functionArn)) return;
          this.badEmf.add(e.properties.functionArn);
          stream.publish('runtime.warning', {
            message: `${e.properties.functionName} wrote an EMF line CloudWatch would drop: ${err.message} (further ones are dropped silently)`,
          });
        }
      }),
    );
  }

  /** At each minute boundary of the clock: the queues' gauges and empty receives, as SQS publishes them. */
  private scheduleSample(): void {
    if (!this.running) return;
    const now = this.o.clock.now();
    const wait = Math.floor(now / SAMPLE_INTERVAL_MS) * SAMPLE_INTERVAL_MS + SAMPLE_INTERVAL_MS - now;
    this.sampler = this.o.clock.setTimeout(() => {
      this.sample();
      this.scheduleSample();
    }, wait);
  }

  /** Samples every queue now. */
  public sample(): void {
    const time = this.o.clock.now();
    const seen = new Set<string>();
    for (const q of this.o.sqs.list()) {
      seen.add(q.arn);
      this.put({
        type: 'queue.sampled',
        time,
        queueName: q.name,
        visible: q.counts.ready,
        notVisible: q.counts.inflight,
        delayed: q.counts.delayed,
        oldestAgeSeconds: q.oldestAgeSeconds(),
      });
      const empty = q.emptyReceives - (this.emptyReceives.get(q.arn) ?? 0);
      this.emptyReceives.set(q.arn, q.emptyReceives);
      if (empty > 0) this.put({ type: 'message.empty-receive', time, queueName: q.name, count: empty });
    }
    for (const arn of this.emptyReceives.keys()) if (!seen.has(arn)) this.emptyReceives.delete(arn);
    this.metrics.expire();
  }
}
