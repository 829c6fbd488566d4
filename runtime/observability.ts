/**
 * CloudTrail and CloudWatch Logs of the local runtime, built from the synthesized app and fed by
 * the runtime's typed events:
 *
 * - the log groups the stacks create exist from the start, with their RetentionInDays;
 * - every `api.called` (one per request the endpoint answered) becomes a CloudTrail record
 *   (cloudtrail/record.ts), kept in event history for LookupEvents when it is a management event,
 *   and written to the log group of each trail whose selectors select it, in the stream
 *   `<account>_CloudTrail_<region>`, one record per log event as CloudTrail delivers to
 *   CloudWatch Logs;
 * - functions write their output through `functionLogs` (lambda.ts).
 *
 * Memory is bounded: the log store drops its oldest events past `maxLogBytes`, event history
 * keeps at most `maxTrailEvents` records and `maxTrailBytes` bytes.
 * @see https://docs.aws.amazon.com/awscloudtrail/latest/userguide/send-cloudtrail-events-to-cloudwatch-logs.html
 */
import { arns, parseArn, partitionOf } from '../assembly/arn';
import type { ApiCall } from './api-call';
import { CloudTrailRecorder, EventHistory } from './cloudtrail/lookup';
import type { CallerIdentity, ServedCall } from './cloudtrail/record';
import { selectorsFromTrailProperties } from './cloudtrail/selectors';
import { AlarmRegistry } from './cloudwatch/alarms';
import type { CloudWatchBackend } from './cloudwatch/cloudwatch-api';
import { LogStore, MAX_EVENT_BYTES, EVENT_OVERHEAD_BYTES } from './cloudwatch/log-store';
import { MetricStore } from './cloudwatch/metric-store';
import type { Clock } from './clock';
import type { FunctionLogSink } from './lambda';
import type { EventStream, Principal, RuntimeEvent, Subscription } from './stream';
import type { LogGroupDef, TrailDef } from './template';

/** Bounds on what the runtime keeps in memory for CloudWatch Logs and CloudTrail. */
export interface ObservabilityLimits {
  /** Every log group's events together; the oldest are dropped past it. @default 128 MiB */
  maxLogBytes?: number;
  /** Management events kept for LookupEvents. @default 50,000 */
  maxTrailEvents?: number;
  /** Their serialized size. @default 32 MiB */
  maxTrailBytes?: number;
}

export const DEFAULT_OBSERVABILITY_LIMITS: Required<ObservabilityLimits> = {
  maxLogBytes: 128 * 1024 * 1024,
  maxTrailEvents: 50_000,
  maxTrailBytes: 32 * 1024 * 1024,
};

export interface ObservabilityOptions {
  clock: Clock;
  accountId: string;
  region: string;
  limits?: ObservabilityLimits;
  /** The metrics and alarms CloudWatch serves. @default an empty store and no alarms */
  cloudwatch?: CloudWatchBackend;
}

export class Observability {
  readonly logs: LogStore;
  readonly history: EventHistory;
  readonly cloudwatch: CloudWatchBackend;
  private recorder: CloudTrailRecorder;
  private trails: readonly TrailDef[] = [];

  constructor(private readonly options: ObservabilityOptions) {
    const limits = { ...DEFAULT_OBSERVABILITY_LIMITS, ...options.limits };
    const now = () => options.clock.now();
    this.logs = new LogStore({ now, region: options.region, accountId: options.accountId, maxStoredBytes: limits.maxLogBytes });
    this.history = new EventHistory({ now, maxEvents: limits.maxTrailEvents, maxBytes: limits.maxTrailBytes });
    const metrics = new MetricStore({ now });
    this.cloudwatch = options.cloudwatch ?? {
      metrics,
      alarms: new AlarmRegistry({ now, metrics, region: options.region, accountId: options.accountId }),
    };
    this.recorder = this.newRecorder();
  }

  /**
   * Creates the stacks' log groups and starts delivering to the stacks' trails. A group CloudWatch
   * Logs would refuse (its name or retention) is skipped, and said so in the returned warnings:
   * the rest of the app still runs.
   */
  load(topology: { logGroups: readonly LogGroupDef[]; trails: readonly TrailDef[] }): string[] {
    const warnings: string[] = [];
    for (const g of topology.logGroups) {
      try {
        this.logs.createLogGroup(g.name, g.retentionInDays);
      } catch (e) {
        warnings.push(`log group ${g.name.slice(0, 100)} is not created: ${(e as Error).message}`);
      }
    }
    this.trails = topology.trails;
    this.recorder = this.newRecorder();
    return warnings;
  }

  /**
   * The log groups and trails of a reloaded assembly: groups it adds are created, a changed
   * retention applies; groups it no longer has are kept with their events (a CDK log group is
   * retained on removal by default); trails are replaced. Returns warnings and the groups created.
   */
  reload(topology: { logGroups: readonly LogGroupDef[]; trails: readonly TrailDef[] }): { warnings: string[]; created: string[] } {
    const warnings: string[] = [];
    const created: string[] = [];
    const have = new Map(this.logs.listGroups().map((g) => [g.name, g]));
    for (const g of topology.logGroups) {
      try {
        const existing = have.get(g.name);
        if (!existing) {
          this.logs.createLogGroup(g.name, g.retentionInDays);
          created.push(g.name);
        } else if (existing.retentionInDays !== g.retentionInDays) {
          this.logs.putRetentionPolicy(g.name, g.retentionInDays);
        }
      } catch (e) {
        warnings.push(`log group ${g.name.slice(0, 100)} is not created: ${(e as Error).message}`);
      }
    }
    this.trails = topology.trails;
    this.recorder = this.newRecorder();
    return { warnings, created };
  }

  private newRecorder(): CloudTrailRecorder {
    return new CloudTrailRecorder({
      history: this.history,
      trails: this.trails.map((t) => ({ logGroupName: t.logGroupName, selectors: selectorsFromTrailProperties(t.properties) })),
      writeLog: (group, stream, message, timestamp) => this.write(group, stream, message, timestamp),
    });
  }

  /** Records every call the endpoint answers. */
  attach(stream: EventStream): Subscription {
    return stream.subscribe('api.called', (e) => {
      this.recorder.record(servedCallOf(e));
    });
  }

  /** Where functions write their output (lambda.ts). */
  get functionLogs(): FunctionLogSink {
    return {
      now: () => this.options.clock.now(),
      write: (group, stream, message, timestamp) => this.write(group, stream, message, timestamp),
    };
  }

  /**
   * One line into a group and stream, created when missing, as Lambda and CloudTrail do. A line
   * over CloudWatch Logs' event size is cut to it; a line the store refuses (a group name it
   * does not accept) is dropped rather than fail the writer.
   */
  private write(group: string, stream: string, message: string, timestamp: number): void {
    const text = message.length === 0 ? ' ' : truncateUtf8(message, MAX_EVENT_BYTES - EVENT_OVERHEAD_BYTES);
    try {
      this.logs.write(group, stream, text, timestamp);
    } catch {
      // The writer is the runtime itself; it has no caller to answer.
    }
  }
}

/** Cuts a string to at most `maxBytes` of UTF-8 without splitting a character. */
function truncateUtf8(s: string, maxBytes: number): string {
  if (s.length * 3 <= maxBytes || Buffer.byteLength(s, 'utf8') <= maxBytes) return s;
  let cut = Buffer.from(s, 'utf8').subarray(0, maxBytes).toString('utf8');
  if (cut.endsWith('\uFFFD')) cut = cut.slice(0, -1);
  return cut;
}

/** The served call as CloudTrail's record builder reads it. */
export function servedCallOf(e: RuntimeEvent<'api.called'>): ServedCall {
  const p = e.properties;
  const principal = e.request?.principal;
  const identity = callerIdentityOf(principal, e.accountId);
  const account = principal?.accountId ?? e.accountId;
  const resources = resourcesOf(p, { partition: partitionOf(e.region), region: e.region, account });
  return {
    service: p.service,
    operation: p.operation,
    requestParameters: p.input,
    responseElements: p.output,
    ...(p.error ? { error: p.error } : {}),
    identity,
    sourceIPAddress: (e.request?.sourceIp ?? '127.0.0.1').replace(/^::ffff:/, ''),
    ...(p.userAgent !== undefined ? { userAgent: p.userAgent } : {}),
    requestId: e.request?.requestId ?? '',
    time: e.at,
    ...(resources.length > 0 ? { resources } : {}),
    region: e.region,
    recipientAccountId: account,
  };
}

/**
 * The record's userIdentity from the request's principal. It reads the principal's type and ARN,
 * so principals other than the root (assumed roles, IAM users) map as soon as requests carry them.
 */
export function callerIdentityOf(principal: Principal | undefined, accountId: string): CallerIdentity {
  if (!principal) return { type: 'Root', accountId };
  const extra = principal as unknown as { accessKeyId?: unknown; roleId?: unknown; sessionCreated?: unknown; principalId?: unknown };
  const accessKeyId = typeof extra.accessKeyId === 'string' ? { accessKeyId: extra.accessKeyId } : {};
  const resource = parseArn(principal.arn)?.resource ?? '';
  const type: string = principal.type;
  if (type === 'AssumedRole' && resource.startsWith('assumed-role/')) {
    const [, roleName = '', sessionName = ''] = resource.split('/');
    return {
      type: 'AssumedRole',
      accountId: principal.accountId,
      roleName,
      sessionName,
      ...accessKeyId,
      ...(typeof extra.roleId === 'string' ? { roleId: extra.roleId } : {}),
      ...(typeof extra.sessionCreated === 'number' ? { sessionCreated: extra.sessionCreated } : {}),
    };
  }
  if (type === 'IAMUser' && resource.startsWith('user/')) {
    return {
      type: 'IAMUser',
      accountId: principal.accountId,
      userName: resource.split('/').pop() ?? '',
      ...accessKeyId,
      ...(typeof extra.principalId === 'string' ? { principalId: extra.principalId } : {}),
    };
  }
  return { type: 'Root', accountId: principal.accountId, ...accessKeyId };
}

/**
 * The resources a record names, as the trail's selectors see them: the event buses a PutEvents
 * call wrote to (the stack selects PutEvents data events by `resources.type` and `resources.ARN`).
 * Whether AWS names the bus this way in a PutEvents data event only a deployed trail can show.
 */
function resourcesOf(
  call: Pick<ApiCall, 'service' | 'operation' | 'input'>,
  env: { partition: string; region: string; account: string },
): { type: string; arn: string }[] {
  if (call.service !== 'events' || call.operation !== 'PutEvents') return [];
  const input = call.input as { Entries?: unknown } | undefined;
  const entries = Array.isArray(input?.Entries) ? (input.Entries as unknown[]) : [];
  const buses = new Set<string>();
  for (const e of entries.slice(0, 10)) {
    const name = e !== null && typeof e === 'object' ? (e as { EventBusName?: unknown }).EventBusName : undefined;
    const bus = typeof name === 'string' && name !== '' ? name : 'default';
    buses.add(bus.startsWith('arn:') ? bus : arns.eventBus(env, bus));
  }
  return [...buses].map((arn) => ({ type: 'AWS::Events::EventBus', arn }));
}
