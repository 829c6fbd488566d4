/**
 * The CloudWatch Logs JSON API (`X-Amz-Target: Logs_20140328.<Operation>`, awsJson1_1) as one
 * function from operation and input to output, over a LogStore. The HTTP edge routes the target
 * here and serializes the result or the AwsError (`__type`) as it does for EventBridge.
 * @see https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_Operations.html
 */
import { AwsError } from '../errors';
import { parseFilterPattern } from './filter-pattern';
import { decodeToken, encodeToken, InputReader } from './input';
import type { LogGroup, LogStore, LogStream } from './log-store';

export const LOGS_TARGET_PREFIX = 'Logs_20140328.';

const CODE = 'InvalidParameterException';
const badToken = () => new AwsError(CODE, 'The specified nextToken is invalid.');

type Handler = (store: LogStore, input: InputReader) => Record<string, unknown>;

function groupName(store: LogStore, r: InputReader): LogGroup {
  const name = r.string('logGroupName', { max: 512 });
  const id = r.string('logGroupIdentifier', { max: 2048 });
  if (name !== undefined && id !== undefined) throw r.fail('logGroupName and logGroupIdentifier cannot be used together.');
  const n = name ?? (id?.startsWith('arn:') ? id.split(':log-group:')[1]?.replace(/:\*$/, '') : id);
  if (n === undefined)
    throw r.fail("1 validation error detected: Value null at 'logGroupName' failed to satisfy constraint: Member must not be null");
  return store.group(n);
}

const describeGroup = (store: LogStore, g: LogGroup) => ({
  logGroupName: g.name,
  creationTime: g.creationTime,
  ...(g.retentionInDays !== undefined ? { retentionInDays: g.retentionInDays } : {}),
  metricFilterCount: g.metricFilters.size,
  arn: `${store.arn(g.name)}:*`,
  logGroupArn: store.arn(g.name),
  storedBytes: g.storedBytes,
  logGroupClass: 'STANDARD',
});

const describeStream = (store: LogStore, g: LogGroup, s: LogStream) => {
  const first = s.events[0];
  const last = s.events[s.events.length - 1];
  return {
    logStreamName: s.name,
    creationTime: s.creationTime,
    ...(first ? { firstEventTimestamp: first.timestamp } : {}),
    ...(last ? { lastEventTimestamp: last.timestamp } : {}),
    ...(s.lastIngestionTime !== undefined ? { lastIngestionTime: s.lastIngestionTime } : {}),
    arn: `${store.arn(g.name)}:log-stream:${s.name}`,
    // AWS reports 0 here since 2019; kept for the shape.
    storedBytes: 0,
  };
};

/** Pages a sorted list by the name after which the previous page ended. */
function pageByName<T extends { name: string }>(items: readonly T[], limit: number, token: string | undefined, reverse = false) {
  let after: string | undefined;
  if (token !== undefined) {
    const a = decodeToken(token, badToken).after;
    if (typeof a !== 'string') throw badToken();
    after = a;
  }
  const list = reverse ? [...items].reverse() : items;
  const start = after === undefined ? 0 : list.findIndex((x) => (reverse ? x.name < after : x.name > after));
  const page = start < 0 ? [] : list.slice(start, start + limit);
  const more = start >= 0 && start + limit < list.length;
  return { page, nextToken: more ? encodeToken({ after: page[page.length - 1]!.name }) : undefined };
}

const HANDLERS: Record<string, Handler> = {
  CreateLogGroup(store, r) {
    store.createLogGroup(r.string('logGroupName', { required: true, min: 1, max: 512 }));
    return {};
  },

  DeleteLogGroup(store, r) {
    store.deleteLogGroup(r.string('logGroupName', { required: true, min: 1, max: 512 }));
    return {};
  },

  PutRetentionPolicy(store, r) {
    const days = r.int('retentionInDays', 1, 3653);
    if (days === undefined)
      throw r.fail("1 validation error detected: Value null at 'retentionInDays' failed to satisfy constraint: Member must not be null");
    store.putRetentionPolicy(r.string('logGroupName', { required: true, max: 512 }), days);
    return {};
  },

  DeleteRetentionPolicy(store, r) {
    store.putRetentionPolicy(r.string('logGroupName', { required: true, max: 512 }), undefined);
    return {};
  },

  CreateLogStream(store, r) {
    store.createLogStream(
      r.string('logGroupName', { required: true, max: 512 }),
      r.string('logStreamName', { required: true, min: 1, max: 512 }),
    );
    return {};
  },

  PutLogEvents(store, r) {
    const events = (r.list('logEvents', 10_000) ?? []).map((e, i) => {
      const er = InputReader.of(e, CODE);
      const timestamp = er.int('timestamp', 0, Number.MAX_SAFE_INTEGER);
      const message = er.string('message', { required: true, min: 1 });
      if (timestamp === undefined) throw r.fail(`logEvents[${i}].timestamp must not be null.`);
      return { timestamp, message };
    });
    const rejected = store.putLogEvents(
      r.string('logGroupName', { required: true, max: 512 }),
      r.string('logStreamName', { required: true, max: 512 }),
      events,
    );
    return {
      nextSequenceToken: String(Date.now()).padStart(56, '0'),
      ...(Object.keys(rejected).length ? { rejectedLogEventsInfo: rejected } : {}),
    };
  },

  PutMetricFilter(store, r) {
    const transformations = (r.list('metricTransformations', 1) ?? []).map((t) => {
      const tr = InputReader.of(t, CODE);
      const dims = tr.object('dimensions');
      const dimensions: Record<string, string> = {};
      for (const k of Object.keys((t as Record<string, unknown>).dimensions ?? {}))
        dimensions[k] = dims!.string(k, { required: true, max: 255 });
      const defaultValue = tr.number('defaultValue');
      const unit = tr.string('unit');
      return {
        metricNamespace: tr.string('metricNamespace', { required: true, min: 1, max: 255 }),
        metricName: tr.string('metricName', { required: true, min: 1, max: 255 }),
        metricValue: tr.string('metricValue', { required: true, min: 1, max: 100 }),
        ...(defaultValue !== undefined ? { defaultValue } : {}),
        ...(Object.keys(dimensions).length ? { dimensions } : {}),
        ...(unit ? { unit } : {}),
      };
    });
    store.putMetricFilter(
      r.string('logGroupName', { required: true, max: 512 }),
      r.string('filterName', { required: true, min: 1, max: 512 }),
      r.string('filterPattern', { required: true, max: 1024 }),
      transformations,
    );
    return {};
  },

  DescribeMetricFilters(store, r) {
    const name = r.string('logGroupName', { max: 512 });
    const prefix = r.string('filterNamePrefix', { max: 512 }) ?? '';
    const limit = r.int('limit', 1, 50) ?? 50;
    const groups = name !== undefined ? [store.group(name)] : store.listGroups();
    const all = groups.flatMap((g) =>
      [...g.metricFilters.values()]
        .filter((f) => f.filterName.startsWith(prefix))
        .map((f) => ({ name: `${g.name}\u0000${f.filterName}`, g, f })),
    );
    all.sort((a, b) => (a.name < b.name ? -1 : 1));
    const { page, nextToken } = pageByName(all, limit, r.string('nextToken'));
    return {
      metricFilters: page.map(({ g, f }) => ({
        filterName: f.filterName,
        filterPattern: f.filterPattern,
        metricTransformations: f.metricTransformations,
        creationTime: f.creationTime,
        logGroupName: g.name,
      })),
      ...(nextToken ? { nextToken } : {}),
    };
  },

  DescribeLogGroups(store, r) {
    const prefix = r.string('logGroupNamePrefix', { min: 1, max: 512 });
    const pattern = r.string('logGroupNamePattern', { max: 512 });
    if (prefix !== undefined && pattern !== undefined) throw r.fail('logGroupNamePrefix and logGroupNamePattern cannot be used together.');
    const limit = r.int('limit', 1, 50) ?? 50;
    const groups = store
      .listGroups()
      .filter(
        (g) =>
          (prefix === undefined || g.name.startsWith(prefix)) &&
          (pattern === undefined || g.name.toLowerCase().includes(pattern.toLowerCase())),
      );
    const { page, nextToken } = pageByName(groups, limit, r.string('nextToken'));
    return { logGroups: page.map((g) => describeGroup(store, g)), ...(nextToken ? { nextToken } : {}) };
  },

  DescribeLogStreams(store, r) {
    const g = groupName(store, r);
    const prefix = r.string('logStreamNamePrefix', { min: 1, max: 512 });
    const orderBy = r.string('orderBy') ?? 'LogStreamName';
    if (orderBy !== 'LogStreamName' && orderBy !== 'LastEventTime') throw r.fail("orderBy must be 'LogStreamName' or 'LastEventTime'.");
    if (prefix !== undefined && orderBy === 'LastEventTime') throw r.fail('Cannot order by LastEventTime with a logStreamNamePrefix.');
    const descending = r.boolean('descending') ?? false;
    const limit = r.int('limit', 1, 50) ?? 50;
    let streams = [...g.streams.values()].filter((s) => prefix === undefined || s.name.startsWith(prefix));
    const lastTime = (s: LogStream) => s.events[s.events.length - 1]?.timestamp ?? s.creationTime;
    // Paging by position in a stable order: the token carries the index of the next stream.
    streams.sort((a, b) =>
      orderBy === 'LastEventTime'
        ? lastTime(a) - lastTime(b) || (a.name < b.name ? -1 : 1)
        : a.name < b.name
          ? -1
          : a.name > b.name
            ? 1
            : 0,
    );
    if (descending) streams = streams.reverse();
    const token = r.string('nextToken');
    const start = token === undefined ? 0 : decodeToken(token, badToken).i;
    if (typeof start !== 'number' || !Number.isSafeInteger(start) || start < 0) throw badToken();
    const page = streams.slice(start, start + limit);
    const more = start + limit < streams.length;
    return { logStreams: page.map((s) => describeStream(store, g, s)), ...(more ? { nextToken: encodeToken({ i: start + limit }) } : {}) };
  },

  GetLogEvents(store, r) {
    const g = groupName(store, r);
    const name = r.string('logStreamName', { required: true, min: 1, max: 512 });
    const s = g.streams.get(name);
    if (!s) throw new AwsError('ResourceNotFoundException', 'The specified log stream does not exist.');
    const start = r.int('startTime', 0, Number.MAX_SAFE_INTEGER);
    const end = r.int('endTime', 0, Number.MAX_SAFE_INTEGER);
    const limit = r.int('limit', 1, 10_000) ?? 10_000;
    const fromHead = r.boolean('startFromHead') ?? false;
    const token = r.string('nextToken', { max: 128 });
    store.expire();
    const inRange = s.events.filter((e) => (start === undefined || e.timestamp >= start) && (end === undefined || e.timestamp < end));
    // Tokens are f/<seq> (events from seq on) and b/<seq> (events before seq), as AWS's f/ and b/ tokens.
    let page: typeof inRange;
    if (token !== undefined) {
      const m = /^([fb])\/(\d{1,20})$/.exec(token);
      if (!m) throw badToken();
      const at = Number(m[2]);
      if (m[1] === 'f')
        page = take(
          inRange.filter((e) => e.seq >= at),
          limit,
          1 << 20,
          false,
        );
      else
        page = take(
          inRange.filter((e) => e.seq < at),
          limit,
          1 << 20,
          true,
        );
    } else {
      page = take(inRange, limit, 1 << 20, !fromHead);
    }
    const first = page[0];
    const last = page[page.length - 1];
    // At either end AWS hands back the token it was given, which is how clients know to stop.
    const given = (kind: 'f' | 'b') => (token?.startsWith(`${kind}/`) ? token : undefined);
    return {
      events: page.map((e) => ({ timestamp: e.timestamp, message: e.message, ingestionTime: e.ingestionTime })),
      nextForwardToken: last ? `f/${pad(last.seq + 1)}` : (given('f') ?? `f/${pad((inRange[inRange.length - 1]?.seq ?? 0) + 1)}`),
      nextBackwardToken: first ? `b/${pad(first.seq)}` : (given('b') ?? `b/${pad(inRange[0]?.seq ?? 0)}`),
    };
  },

  FilterLogEvents(store, r) {
    const g = groupName(store, r);
    const names = r.stringList('logStreamNames', 100);
    const prefix = r.string('logStreamNamePrefix', { min: 1, max: 512 });
    if (names !== undefined && prefix !== undefined) throw r.fail('logStreamNames and logStreamNamePrefix cannot be used together.');
    const start = r.int('startTime', 0, Number.MAX_SAFE_INTEGER);
    const end = r.int('endTime', 0, Number.MAX_SAFE_INTEGER);
    const limit = r.int('limit', 1, 10_000) ?? 10_000;
    r.boolean('interleaved'); // Deprecated: results are always interleaved.
    r.boolean('unmask');
    const patternText = r.string('filterPattern', { max: 1024 });
    const pattern = patternText !== undefined ? parseFilterPattern(patternText) : undefined;
    let streams: LogStream[];
    if (names !== undefined) {
      streams = names.map((n) => {
        const s = g.streams.get(n);
        if (!s) throw new AwsError('ResourceNotFoundException', 'The specified log stream does not exist.');
        return s;
      });
    } else streams = [...g.streams.values()].filter((s) => prefix === undefined || s.name.startsWith(prefix));
    const token = r.string('nextToken', { max: 2048 });
    let after: { t: number; seq: number } | undefined;
    if (token !== undefined) {
      const d = decodeToken(token, badToken);
      if (typeof d.t !== 'number' || typeof d.seq !== 'number') throw badToken();
      after = { t: d.t, seq: d.seq };
    }
    const events: Record<string, unknown>[] = [];
    let bytes = 0;
    let last: { t: number; seq: number } | undefined;
    let more = false;
    for (const { stream, event } of store.scan(g, { streams, start, end, pattern, after })) {
      if (events.length >= limit || bytes + event.bytes > 1 << 20) {
        more = true;
        break;
      }
      events.push({
        logStreamName: stream.name,
        timestamp: event.timestamp,
        message: event.message,
        ingestionTime: event.ingestionTime,
        eventId: eventId(event.seq, event.timestamp),
      });
      bytes += event.bytes;
      last = { t: event.timestamp, seq: event.seq };
    }
    return {
      events,
      searchedLogStreams: streams.map((s) => ({ logStreamName: s.name, searchedCompletely: !more })),
      ...(more && last ? { nextToken: encodeToken(last) } : {}),
    };
  },
};

const pad = (n: number) => String(n).padStart(20, '0');
const eventId = (seq: number, t: number) => `${String(t).padStart(20, '0')}${String(seq).padStart(36, '0')}`;

/** Up to `limit` events and `maxBytes` bytes, from the head or (tail) from the end. */
function take<T extends { bytes: number }>(events: readonly T[], limit: number, maxBytes: number, tail: boolean): T[] {
  const out: T[] = [];
  let bytes = 0;
  for (let k = 0; k < events.length && out.length < limit; k++) {
    const e = events[tail ? events.length - 1 - k : k]!;
    if (bytes + e.bytes > maxBytes) break;
    bytes += e.bytes;
    out.push(e);
  }
  return tail ? out.reverse() : out;
}

/** The operations this handler serves. */
export const LOGS_OPERATIONS: readonly string[] = Object.keys(HANDLERS);

/**
 * Runs one CloudWatch Logs operation. `operation` is the name after `Logs_20140328.`; unknown
 * operations get AWS's `UnknownOperationException`.
 */
export function handleLogsRequest(store: LogStore, operation: string, input: unknown): Record<string, unknown> {
  const op = operation.startsWith(LOGS_TARGET_PREFIX) ? operation.slice(LOGS_TARGET_PREFIX.length) : operation;
  const handler = Object.hasOwn(HANDLERS, op) ? HANDLERS[op] : undefined;
  if (!handler) throw new AwsError('UnknownOperationException', `Operation ${op.slice(0, 64)} is not supported by this endpoint.`);
  return handler(store, InputReader.of(input, CODE));
}
