/**
 * CloudTrail event history and the trail's delivery, locally:
 *
 * - `EventHistory` keeps management events for 90 days on the injected clock and serves
 *   `LookupEvents` (JSON 1.1, `X-Amz-Target: com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents`).
 *   As on AWS, event history holds management events only: data events (PutEvents,
 *   SendMessage, ...) are visible only where a trail delivers them.
 * - `CloudTrailRecorder` builds the record of each served call, adds management events to the
 *   history, and writes the records the trail's selectors select to the trail's CloudWatch Logs
 *   group, in the stream `<account>_CloudTrail_<region>`, as CloudTrail does.
 * @see https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_LookupEvents.html
 * @see https://docs.aws.amazon.com/awscloudtrail/latest/userguide/send-cloudtrail-events-to-cloudwatch-logs.html
 */
import { AwsError } from '../errors';
import { decodeToken, encodeToken, InputReader } from '../cloudwatch/input';
import { buildCloudTrailRecord, usernameOf, type CloudTrailRecord, type ServedCall } from './record';
import { isSelected, type TrailSelectors } from './selectors';

export const CLOUDTRAIL_TARGET_PREFIX = 'com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.';
/** Event history keeps 90 days. */
export const HISTORY_RETENTION_MS = 90 * 86_400_000;
/** LookupEvents serves at most 50 events per page. */
export const MAX_LOOKUP_RESULTS = 50;
export const LOOKUP_ATTRIBUTE_KEYS = [
  'EventId',
  'EventName',
  'ReadOnly',
  'Username',
  'ResourceType',
  'ResourceName',
  'EventSource',
  'AccessKeyId',
] as const;

interface Entry {
  readonly seq: number;
  readonly time: number;
  readonly record: CloudTrailRecord;
  readonly json: string;
}

export class EventHistory {
  private entries: Entry[] = [];
  private seq = 0;
  private bytes = 0;

  public constructor(
    private readonly options: {
      readonly now: () => number;
      /** @default 100,000 */
      readonly maxEvents?: number;
      /** Bound on the serialized records kept; the oldest go first. @default 64 MiB */
      readonly maxBytes?: number;
    },
  ) {}

  public add(record: CloudTrailRecord): void {
    if (record.eventCategory !== 'Management') return;
    const json = JSON.stringify(record);
    this.entries.push({ seq: ++this.seq, time: Date.parse(record.eventTime), record, json });
    this.bytes += json.length;
    const max = this.options.maxEvents ?? 100_000;
    const maxBytes = this.options.maxBytes ?? 64 * 1024 * 1024;
    let drop = Math.max(0, this.entries.length - max);
    let bytes = this.bytes;
    for (let i = 0; i < drop; i++) bytes -= this.entries[i]!.json.length;
    while (bytes > maxBytes && drop < this.entries.length - 1) bytes -= this.entries[drop++]!.json.length;
    if (drop > 0) {
      for (const e of this.entries.splice(0, drop)) this.bytes -= e.json.length;
    }
  }

  /** Records kept and their serialized size. */
  public get size(): { readonly events: number; readonly bytes: number } {
    return { events: this.entries.length, bytes: this.bytes };
  }

  /** Newest first, within retention. */
  public list(): readonly Entry[] {
    const cutoff = this.options.now() - HISTORY_RETENTION_MS;
    if (this.entries[0] && this.entries[0].time < cutoff) {
      this.entries = this.entries.filter((e) => e.time >= cutoff);
      this.bytes = this.entries.reduce((n, e) => n + e.json.length, 0);
    }
    return [...this.entries].sort((a, b) => b.time - a.time || b.seq - a.seq);
  }

  public now(): number {
    return this.options.now();
  }
}

function matchesAttribute(e: Entry, key: string, value: string): boolean {
  const r = e.record;
  switch (key) {
    case 'EventId':
      return r.eventID === value;
    case 'EventName':
      return r.eventName === value;
    case 'ReadOnly':
      return String(r.readOnly) === value;
    case 'Username':
      return usernameOf(r.userIdentity) === value;
    case 'ResourceType':
      return (r.resources ?? []).some((x) => x.type === value);
    case 'ResourceName':
      return (r.resources ?? []).some((x) => x.ARN === value || x.ARN.split(/[:/]/).pop() === value);
    case 'EventSource':
      return r.eventSource === value;
    case 'AccessKeyId':
      return r.userIdentity.accessKeyId === value;
  }
  return false;
}

/** Runs LookupEvents (the operation name may carry the full X-Amz-Target). */
export function handleCloudTrailRequest(history: EventHistory, operation: string, input: unknown): Record<string, unknown> {
  const op = operation.startsWith(CLOUDTRAIL_TARGET_PREFIX) ? operation.slice(CLOUDTRAIL_TARGET_PREFIX.length) : operation;
  if (op !== 'LookupEvents')
    throw new AwsError('UnknownOperationException', `Operation ${op.slice(0, 64)} is not supported by this endpoint.`);
  const r = InputReader.of(input, 'InvalidParameterException');
  const attrs = r.list('LookupAttributes', 50) ?? [];
  if (attrs.length > 1) throw new AwsError('InvalidLookupAttributesException', 'You cannot specify more than one lookup attribute.');
  const filters = attrs.map((a) => {
    const ar = InputReader.of(a, 'InvalidLookupAttributesException');
    const key = ar.string('AttributeKey', { required: true });
    const value = ar.string('AttributeValue', { required: true, min: 1, max: 2000 });
    if (!(LOOKUP_ATTRIBUTE_KEYS as readonly string[]).includes(key)) {
      throw new AwsError(
        'InvalidLookupAttributesException',
        `AttributeKey must be one of ${LOOKUP_ATTRIBUTE_KEYS.join(', ')} (given '${key.slice(0, 40)}').`,
      );
    }
    return { key, value };
  });
  const category = r.string('EventCategory');
  if (category !== undefined) {
    throw new AwsError(
      'InvalidEventCategoryException',
      `EventCategory '${category.slice(0, 20)}' is not supported locally (Insights events are not produced).`,
    );
  }
  const start = r.time('StartTime', 'seconds');
  const end = r.time('EndTime', 'seconds');
  if (start !== undefined && end !== undefined && start > end)
    throw new AwsError('InvalidTimeRangeException', 'Start time must be less than or equal to end time.');
  const maxRaw = r.raw('MaxResults');
  // Only a number or a numeric string: Number() of an object without a prototype would throw.
  const max =
    maxRaw === undefined || maxRaw === null
      ? MAX_LOOKUP_RESULTS
      : typeof maxRaw === 'number' || typeof maxRaw === 'string'
        ? Number(maxRaw)
        : Number.NaN;
  if (!Number.isInteger(max) || max < 1 || max > MAX_LOOKUP_RESULTS) {
    throw new AwsError('InvalidMaxResultsException', `MaxResults must be from 1 to ${MAX_LOOKUP_RESULTS}.`);
  }
  const token = r.string('NextToken', { max: 2048 });
  let after: number | undefined;
  if (token !== undefined) {
    const seq = decodeToken(token, () => new AwsError('InvalidNextTokenException', 'Invalid NextToken.')).s;
    if (typeof seq !== 'number') throw new AwsError('InvalidNextTokenException', 'Invalid NextToken.');
    after = seq;
  }
  const all = history
    .list()
    .filter(
      (e) =>
        (start === undefined || e.time >= start) &&
        (end === undefined || e.time <= end) &&
        filters.every((f) => matchesAttribute(e, f.key, f.value)),
    );
  const from = after === undefined ? 0 : all.findIndex((e) => e.seq === after) + 1;
  if (after !== undefined && from === 0) throw new AwsError('InvalidNextTokenException', 'Invalid NextToken.');
  const page = all.slice(from, from + max);
  return {
    Events: page.map((e) => {
      const u = e.record.userIdentity;
      const username = usernameOf(u);
      return {
        EventId: e.record.eventID,
        EventName: e.record.eventName,
        ReadOnly: String(e.record.readOnly),
        ...(typeof u.accessKeyId === 'string' ? { AccessKeyId: u.accessKeyId } : {}),
        EventTime: new Date(e.time),
        EventSource: e.record.eventSource,
        ...(username ? { Username: username } : {}),
        Resources: (e.record.resources ?? []).map((x) => ({ ResourceType: x.type, ResourceName: x.ARN })),
        CloudTrailEvent: e.json,
      };
    }),
    ...(from + max < all.length ? { NextToken: encodeToken({ s: page[page.length - 1]!.seq }) } : {}),
  };
}

/** Where and how a trail delivers: its CloudWatch Logs group and its selectors. */
export interface TrailDelivery {
  readonly logGroupName: string;
  readonly selectors: TrailSelectors;
}

export interface RecorderOptions {
  readonly history: EventHistory;
  readonly trails: readonly TrailDelivery[];
  /** Writes one line to a log group and stream (LogStore.write). */
  readonly writeLog: (group: string, stream: string, message: string, timestamp: number) => void;
  readonly newId?: () => string;
}

export class CloudTrailRecorder {
  public constructor(private readonly options: RecorderOptions) {}

  /** Records one served call; returns its record, or undefined when CloudTrail does not log it. */
  public record(call: ServedCall): CloudTrailRecord | undefined {
    const record = buildCloudTrailRecord(call, this.options.newId);
    if (!record) return undefined;
    this.options.history.add(record);
    const line = JSON.stringify(record);
    for (const t of this.options.trails) {
      if (isSelected(t.selectors, record))
        this.options.writeLog(t.logGroupName, `${call.recipientAccountId}_CloudTrail_${call.region}`, line, call.time);
    }
    return record;
  }
}
