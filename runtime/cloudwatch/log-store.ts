/**
 * CloudWatch Logs in memory: log groups, streams and events, with retention by the group's
 * `RetentionInDays` on the injected clock, a memory cap, and the group's metric filters applied
 * as events arrive. The API handler (`logs-api.ts`) reads and writes only through this class.
 * @see https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CloudWatchLogsConcepts.html
 */
import { arns, partitionOf } from '../../assembly/arn';
import { AwsError } from '../errors';
import {
  applyMetricFilter,
  matchesFilterPattern,
  parseFilterPattern,
  validateMetricTransformation,
  type ExtractedDatapoint,
  type FilterPattern,
  type MetricTransformation,
} from './filter-pattern';

/** The values PutRetentionPolicy accepts. */
export const RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;
/** AWS counts each event's size as its UTF-8 message plus 26 bytes. */
export const EVENT_OVERHEAD_BYTES = 26;
/** PutLogEvents quotas: 10,000 events and 1,048,576 bytes per batch; 256 KB per event. */
export const MAX_BATCH_EVENTS = 10_000;
export const MAX_BATCH_BYTES = 1_048_576;
export const MAX_EVENT_BYTES = 262_144;
/** Our default memory cap for all stored events (oldest events are dropped beyond it). */
export const DEFAULT_MAX_STORED_BYTES = 256 * 1024 * 1024;

export interface StoredEvent {
  /** Unique and increasing in arrival order; paging tokens and FilterLogEvents' eventId use it. */
  readonly seq: number;
  readonly timestamp: number;
  readonly ingestionTime: number;
  readonly message: string;
  readonly bytes: number;
}

export interface LogStream {
  readonly name: string;
  readonly creationTime: number;
  /** Sorted by (timestamp, seq). */
  readonly events: StoredEvent[];
  storedBytes: number;
  lastIngestionTime?: number;
}

export interface MetricFilter {
  readonly filterName: string;
  readonly filterPattern: string;
  readonly parsed: FilterPattern;
  readonly metricTransformations: readonly MetricTransformation[];
  readonly creationTime: number;
}

export interface LogGroup {
  readonly name: string;
  readonly creationTime: number;
  retentionInDays?: number;
  readonly streams: Map<string, LogStream>;
  readonly metricFilters: Map<string, MetricFilter>;
  storedBytes: number;
}

export interface LogStoreOptions {
  /** Epoch milliseconds; the runtime's injected clock. */
  readonly now: () => number;
  readonly region?: string;
  readonly accountId?: string;
  /** @default DEFAULT_MAX_STORED_BYTES */
  readonly maxStoredBytes?: number;
  /** Receives what the groups' metric filters extract (the metric store's PutMetricData path). */
  readonly onMetric?: (datapoint: ExtractedDatapoint, timestamp: number) => void;
}

export interface InputLogEvent {
  readonly timestamp: number;
  readonly message: string;
}

const notFound = (what: string) => new AwsError('ResourceNotFoundException', `The specified ${what} does not exist.`);

export class LogStore {
  public readonly region: string;
  public readonly accountId: string;
  private readonly groups = new Map<string, LogGroup>();
  private readonly maxStoredBytes: number;
  private storedBytes = 0;
  private seq = 0;
  private readonly metricListeners = new Set<(datapoint: ExtractedDatapoint, timestamp: number) => void>();

  public constructor(private readonly options: LogStoreOptions) {
    this.region = options.region ?? 'us-east-1';
    this.accountId = options.accountId ?? '000000000000';
    this.maxStoredBytes = options.maxStoredBytes ?? DEFAULT_MAX_STORED_BYTES;
  }

  public now(): number {
    return this.options.now();
  }

  public arn(group: string): string {
    return arns.logGroup({ partition: partitionOf(this.region), region: this.region, account: this.accountId }, group, false);
  }

  public get totalStoredBytes(): number {
    return this.storedBytes;
  }

  public createLogGroup(name: string, retentionInDays?: number): LogGroup {
    if (this.groups.has(name)) throw new AwsError('ResourceAlreadyExistsException', 'The specified log group already exists');
    checkGroupName(name);
    if (retentionInDays !== undefined) checkRetention(retentionInDays);
    const g: LogGroup = {
      name,
      creationTime: this.now(),
      ...(retentionInDays !== undefined ? { retentionInDays } : {}),
      streams: new Map(),
      metricFilters: new Map(),
      storedBytes: 0,
    };
    this.groups.set(name, g);
    return g;
  }

  /** The group, created on first use: how Lambda and CloudTrail write when the stack made none. */
  public ensureLogGroup(name: string): LogGroup {
    return this.groups.get(name) ?? this.createLogGroup(name);
  }

  public deleteLogGroup(name: string): void {
    const g = this.group(name);
    this.storedBytes -= g.storedBytes;
    this.groups.delete(name);
  }

  public putRetentionPolicy(name: string, days: number | undefined): void {
    const g = this.group(name);
    if (days === undefined) delete g.retentionInDays;
    else {
      checkRetention(days);
      g.retentionInDays = days;
    }
    this.expire();
  }

  public group(name: string): LogGroup {
    const g = this.groups.get(name);
    if (!g) throw notFound('log group');
    return g;
  }

  public listGroups(): LogGroup[] {
    this.expire();
    return [...this.groups.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  public createLogStream(group: string, name: string): LogStream {
    const g = this.group(group);
    if (g.streams.has(name)) throw new AwsError('ResourceAlreadyExistsException', 'The specified log stream already exists');
    if (name.length < 1 || name.length > 512 || /[:*]/.test(name)) {
      throw new AwsError('InvalidParameterException', 'logStreamName must be 1 to 512 characters and contain no : or *.');
    }
    const s: LogStream = { name, creationTime: this.now(), events: [], storedBytes: 0 };
    g.streams.set(name, s);
    return s;
  }

  public stream(group: string, name: string): LogStream {
    const s = this.group(group).streams.get(name);
    if (!s) throw notFound('log stream');
    return s;
  }

  /**
   * PutLogEvents. Events outside the accepted window (older than the retention or 14 days,
   * more than 2 hours ahead) are rejected as AWS does: reported, not stored.
   */
  public putLogEvents(
    group: string,
    stream: string,
    events: readonly InputLogEvent[],
  ): { tooOldLogEventEndIndex?: number; tooNewLogEventStartIndex?: number; expiredLogEventEndIndex?: number } {
    const g = this.group(group);
    const s = g.streams.get(stream);
    if (!s) throw notFound('log stream');
    if (events.length < 1 || events.length > MAX_BATCH_EVENTS) {
      throw new AwsError('InvalidParameterException', `logEvents must hold 1 to ${MAX_BATCH_EVENTS} events (given ${events.length}).`);
    }
    let batchBytes = 0;
    for (const e of events) {
      const bytes = Buffer.byteLength(e.message, 'utf8') + EVENT_OVERHEAD_BYTES;
      if (bytes > MAX_EVENT_BYTES)
        throw new AwsError('InvalidParameterException', `Log event too large: ${bytes} bytes exceeds ${MAX_EVENT_BYTES}.`);
      batchBytes += bytes;
    }
    if (batchBytes > MAX_BATCH_BYTES) {
      throw new AwsError('InvalidParameterException', `Upload too large: ${batchBytes} bytes exceeds ${MAX_BATCH_BYTES} bytes.`);
    }
    const now = this.now();
    const oldest = Math.max(now - 14 * 86_400_000, g.retentionInDays !== undefined ? now - g.retentionInDays * 86_400_000 : -Infinity);
    const newest = now + 2 * 3_600_000;
    const result: { tooOldLogEventEndIndex?: number; tooNewLogEventStartIndex?: number; expiredLogEventEndIndex?: number } = {};
    const order = events.map((e, i) => ({ e, i })).sort((a, b) => a.e.timestamp - b.e.timestamp || a.i - b.i);
    for (const { e, i } of order) {
      if (e.timestamp < oldest) {
        result.tooOldLogEventEndIndex = Math.max(result.tooOldLogEventEndIndex ?? -1, i + 1);
        continue;
      }
      if (e.timestamp > newest) {
        result.tooNewLogEventStartIndex = Math.min(result.tooNewLogEventStartIndex ?? Infinity, i);
        continue;
      }
      this.append(g, s, {
        seq: ++this.seq,
        timestamp: e.timestamp,
        ingestionTime: now,
        message: e.message,
        bytes: Buffer.byteLength(e.message, 'utf8') + EVENT_OVERHEAD_BYTES,
      });
      for (const f of g.metricFilters.values()) {
        for (const t of f.metricTransformations) {
          const dp = applyMetricFilter(f.parsed, t, e.message);
          if (!dp) continue;
          this.options.onMetric?.(dp, e.timestamp);
          for (const l of this.metricListeners) l(dp, e.timestamp);
        }
      }
    }
    s.lastIngestionTime = now;
    this.expire();
    return result;
  }

  /** Appends one line the runtime produced (a function's output, a trail record), creating what is missing. */
  public write(group: string, stream: string, message: string, timestamp = this.now()): void {
    const g = this.ensureLogGroup(group);
    if (!g.streams.has(stream)) this.createLogStream(group, stream);
    this.putLogEvents(group, stream, [{ timestamp, message }]);
  }

  /**
   * Also sends what the groups' metric filters extract to `listener` (the runtime's metric store
   * subscribes here when the log store is built elsewhere). Returns a function that unsubscribes.
   */
  public addMetricListener(listener: (datapoint: ExtractedDatapoint, timestamp: number) => void): () => void {
    this.metricListeners.add(listener);
    return () => this.metricListeners.delete(listener);
  }

  public putMetricFilter(
    group: string,
    filterName: string,
    filterPattern: string,
    metricTransformations: readonly MetricTransformation[],
  ): void {
    const g = this.group(group);
    const parsed = parseFilterPattern(filterPattern);
    if (metricTransformations.length !== 1) {
      throw new AwsError('InvalidParameterException', 'metricTransformations must hold exactly one transformation.');
    }
    metricTransformations.forEach((t) => validateMetricTransformation(parsed, t));
    if (!g.metricFilters.has(filterName) && g.metricFilters.size >= 100) {
      throw new AwsError('LimitExceededException', 'A log group can have at most 100 metric filters.');
    }
    g.metricFilters.set(filterName, { filterName, filterPattern, parsed, metricTransformations, creationTime: this.now() });
  }

  /** Events of the given streams (all when undefined) in [start, end), matching the pattern, in (timestamp, seq) order after `after`. */
  public *scan(
    g: LogGroup,
    opts: { streams?: readonly LogStream[]; start?: number; end?: number; pattern?: FilterPattern; after?: { t: number; seq: number } },
  ): Generator<{ stream: LogStream; event: StoredEvent }> {
    this.expire();
    const streams = opts.streams ?? [...g.streams.values()];
    // A k-way merge over the sorted streams: memory stays O(streams) whatever the group holds.
    const cursors = streams.map((stream) => ({ stream, i: lowerBound(stream.events, opts.after, opts.start) }));
    for (;;) {
      let best: (typeof cursors)[number] | undefined;
      for (const c of cursors) {
        const e = c.stream.events[c.i];
        if (!e) continue;
        const b = best ? best.stream.events[best.i]! : undefined;
        if (!b || e.timestamp < b.timestamp || (e.timestamp === b.timestamp && e.seq < b.seq)) best = c;
      }
      if (!best) return;
      const event = best.stream.events[best.i++]!;
      if (opts.end !== undefined && event.timestamp >= opts.end) {
        best.i = best.stream.events.length;
        continue;
      }
      if (!opts.pattern || matchesFilterPattern(opts.pattern, event.message)) yield { stream: best.stream, event };
    }
  }

  private append(g: LogGroup, s: LogStream, e: StoredEvent): void {
    const events = s.events;
    const last = events[events.length - 1];
    if (!last || last.timestamp <= e.timestamp) events.push(e);
    else events.splice(upperBound(events, e.timestamp), 0, e);
    s.storedBytes += e.bytes;
    g.storedBytes += e.bytes;
    this.storedBytes += e.bytes;
  }

  /** Drops events past their group's retention, then the oldest events while over the memory cap. */
  public expire(): void {
    const now = this.now();
    for (const g of this.groups.values()) {
      if (g.retentionInDays === undefined) continue;
      const cutoff = now - g.retentionInDays * 86_400_000;
      for (const s of g.streams.values()) this.dropWhile(g, s, (e) => e.timestamp < cutoff);
    }
    while (this.storedBytes > this.maxStoredBytes) {
      let oldest: { g: LogGroup; s: LogStream; t: number } | undefined;
      for (const g of this.groups.values()) {
        for (const s of g.streams.values()) {
          const e = s.events[0];
          if (e && (!oldest || e.timestamp < oldest.t)) oldest = { g, s, t: e.timestamp };
        }
      }
      if (!oldest) break;
      // Drop a tenth of the stream (at least one event) per pass, so eviction is not quadratic.
      let n = Math.max(1, Math.floor(oldest.s.events.length / 10));
      this.dropWhile(oldest.g, oldest.s, () => n-- > 0);
    }
  }

  private dropWhile(g: LogGroup, s: LogStream, test: (e: StoredEvent) => boolean): void {
    let k = 0;
    let bytes = 0;
    while (k < s.events.length && test(s.events[k]!)) bytes += s.events[k++]!.bytes;
    if (k === 0) return;
    s.events.splice(0, k);
    s.storedBytes -= bytes;
    g.storedBytes -= bytes;
    this.storedBytes -= bytes;
  }
}

function lowerBound(events: readonly StoredEvent[], after: { t: number; seq: number } | undefined, start: number | undefined): number {
  let lo = 0;
  let hi = events.length;
  const t0 = Math.max(start ?? -Infinity, after?.t ?? -Infinity);
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (events[mid]!.timestamp < t0) lo = mid + 1;
    else hi = mid;
  }
  if (after) while (lo < events.length && events[lo]!.timestamp === after.t && events[lo]!.seq <= after.seq) lo++;
  return lo;
}

function upperBound(events: readonly StoredEvent[], t: number): number {
  let lo = 0;
  let hi = events.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (events[mid]!.timestamp <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function checkGroupName(name: string): void {
  if (name.length < 1 || name.length > 512 || !/^[\w\-/.#]+$/.test(name)) {
    throw new AwsError(
      'InvalidParameterException',
      `logGroupName '${name.slice(0, 64)}' must be 1 to 512 characters of a-z, A-Z, 0-9, '_', '-', '/', '.' and '#'.`,
    );
  }
}

function checkRetention(days: number): void {
  if (!(RETENTION_DAYS as readonly number[]).includes(days)) {
    throw new AwsError('InvalidParameterException', `retentionInDays must be one of ${RETENTION_DAYS.join(', ')} (given ${days}).`);
  }
}
