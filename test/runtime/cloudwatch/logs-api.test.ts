import {
  CloudWatchLogsClient,
  DescribeLogGroupsCommand,
  DescribeLogStreamsCommand,
  FilterLogEventsCommand,
  GetLogEventsCommand,
  paginateFilterLogEvents,
  PutMetricFilterCommand,
  ResourceNotFoundException,
} from '@aws-sdk/client-cloudwatch-logs';
import { handleLogsRequest, LOGS_OPERATIONS } from '../../../runtime/cloudwatch/logs-api';
import { LogStore } from '../../../runtime/cloudwatch/log-store';
import type { ExtractedDatapoint } from '../../../runtime/cloudwatch/filter-pattern';
import { LOCAL_CLIENT, serveJson, type Served } from './serve';

const T0 = Date.parse('2026-11-29T12:00:00Z');
const MIN = 60_000;

function fixture(opts: { maxStoredBytes?: number } = {}) {
  let now = T0;
  const metrics: { dp: ExtractedDatapoint; t: number }[] = [];
  const store = new LogStore({ now: () => now, accountId: '111122223333', ...opts, onMetric: (dp, t) => metrics.push({ dp, t }) });
  const call = (op: string, input: unknown) => handleLogsRequest(store, op, input);
  return { store, call, metrics, advance: (ms: number) => (now += ms), now: () => now };
}

const powertools = (level: string, message: string, correlationId: string) =>
  JSON.stringify({ level, message, service: 'underwriting', correlation_id: correlationId, timestamp: '2026-11-29T12:00:00.000Z' });

describe('log store and handler', () => {
  test('FilterLogEvents interleaves streams by time and filters by pattern, stream prefix and time range', () => {
    const f = fixture();
    f.store.write('/aws/lambda/underwriting', '2026/11/29/[$LATEST]a', powertools('INFO', 'start', 'c-1'), T0 - 3 * MIN);
    f.store.write('/aws/lambda/underwriting', '2026/11/29/[$LATEST]b', powertools('ERROR', 'failed', 'c-1'), T0 - 2 * MIN);
    f.store.write('/aws/lambda/underwriting', '2026/11/29/[$LATEST]a', powertools('INFO', 'done', 'c-2'), T0 - 1 * MIN);
    const all = f.call('FilterLogEvents', { logGroupName: '/aws/lambda/underwriting' }) as {
      events: { message: string; logStreamName: string }[];
    };
    expect(all.events.map((e) => JSON.parse(e.message).message)).toEqual(['start', 'failed', 'done']);
    const c1 = f.call('FilterLogEvents', {
      logGroupName: '/aws/lambda/underwriting',
      filterPattern: '{ $.correlation_id = "c-1" }',
    }) as typeof all;
    expect(c1.events).toHaveLength(2);
    const errors = f.call('FilterLogEvents', { logGroupName: '/aws/lambda/underwriting', filterPattern: 'ERROR' }) as typeof all;
    expect(errors.events.map((e) => e.logStreamName)).toEqual(['2026/11/29/[$LATEST]b']);
    const streamA = f.call('FilterLogEvents', {
      logGroupName: '/aws/lambda/underwriting',
      logStreamNamePrefix: '2026/11/29/[$LATEST]a',
    }) as typeof all;
    expect(streamA.events).toHaveLength(2);
    const window = f.call('FilterLogEvents', {
      logGroupName: '/aws/lambda/underwriting',
      startTime: T0 - 2 * MIN,
      endTime: T0 - MIN,
    }) as typeof all;
    expect(window.events.map((e) => JSON.parse(e.message).message)).toEqual(['failed']);
  });

  test('FilterLogEvents pages with nextToken and never repeats or skips an event', () => {
    const f = fixture();
    for (let i = 0; i < 25; i++) f.store.write('g', `s${i % 3}`, `line ${i}`, T0 - 60 * MIN + Math.floor(i / 2) * 1000);
    const seen: string[] = [];
    let token: string | undefined;
    do {
      const page = f.call('FilterLogEvents', { logGroupName: 'g', limit: 4, ...(token ? { nextToken: token } : {}) }) as {
        events: { message: string }[];
        nextToken?: string;
      };
      seen.push(...page.events.map((e) => e.message));
      token = page.nextToken;
    } while (token);
    expect(seen).toHaveLength(25);
    expect(new Set(seen).size).toBe(25);
  });

  test('GetLogEvents reads the tail by default, the head with startFromHead, and returns the given token at the end', () => {
    const f = fixture();
    for (let i = 0; i < 7; i++) f.store.write('g', 's', `m${i}`, T0 - 10 * MIN + i);
    type Page = { events: { message: string }[]; nextForwardToken: string; nextBackwardToken: string };
    const tail = f.call('GetLogEvents', { logGroupName: 'g', logStreamName: 's', limit: 3 }) as Page;
    expect(tail.events.map((e) => e.message)).toEqual(['m4', 'm5', 'm6']);
    const back = f.call('GetLogEvents', { logGroupName: 'g', logStreamName: 's', limit: 3, nextToken: tail.nextBackwardToken }) as Page;
    expect(back.events.map((e) => e.message)).toEqual(['m1', 'm2', 'm3']);
    const head = f.call('GetLogEvents', { logGroupName: 'g', logStreamName: 's', limit: 5, startFromHead: true }) as Page;
    expect(head.events.map((e) => e.message)).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
    const rest = f.call('GetLogEvents', { logGroupName: 'g', logStreamName: 's', limit: 5, nextToken: head.nextForwardToken }) as Page;
    expect(rest.events.map((e) => e.message)).toEqual(['m5', 'm6']);
    const end = f.call('GetLogEvents', { logGroupName: 'g', logStreamName: 's', nextToken: rest.nextForwardToken }) as Page;
    expect(end.events).toEqual([]);
    expect(end.nextForwardToken).toBe(rest.nextForwardToken);
  });

  test('retention drops events older than RetentionInDays as the clock advances', () => {
    const f = fixture();
    f.call('CreateLogGroup', { logGroupName: 'g' });
    f.call('PutRetentionPolicy', { logGroupName: 'g', retentionInDays: 1 });
    f.store.write('g', 's', 'old', f.now());
    f.advance(12 * 60 * MIN);
    f.store.write('g', 's', 'new', f.now());
    f.advance(13 * 60 * MIN);
    const r = f.call('FilterLogEvents', { logGroupName: 'g' }) as { events: { message: string }[] };
    expect(r.events.map((e) => e.message)).toEqual(['new']);
    expect(() => f.call('PutRetentionPolicy', { logGroupName: 'g', retentionInDays: 2 })).toThrow(/retentionInDays must be one of/);
  });

  test('the memory cap drops the oldest events first', () => {
    const f = fixture({ maxStoredBytes: 10 * (100 + 26) });
    for (let i = 0; i < 30; i++)
      f.store.write('g', `s${i % 2}`, `${String(i).padStart(3, '0')}${'x'.repeat(97)}`, T0 - 100 * MIN + i * MIN);
    expect(f.store.totalStoredBytes).toBeLessThanOrEqual(10 * 126);
    const r = f.call('FilterLogEvents', { logGroupName: 'g' }) as { events: { message: string }[] };
    const kept = r.events.map((e) => Number(e.message.slice(0, 3)));
    expect(kept[kept.length - 1]).toBe(29);
    expect(kept).toEqual([...kept].sort((a, b) => a - b));
    expect(Math.min(...kept)).toBeGreaterThan(15);
  });

  test("metric filters turn matching events into datapoints at the event's time", () => {
    const f = fixture();
    f.call('CreateLogGroup', { logGroupName: '/aws/cloudtrail/loan-events' });
    f.call('PutMetricFilter', {
      logGroupName: '/aws/cloudtrail/loan-events',
      filterName: 'DeniedEventBridgeCalls',
      filterPattern: '{ ($.eventSource = "events.amazonaws.com") && ($.errorCode = "AccessDenied*") }',
      metricTransformations: [{ metricNamespace: 'LoanEvents/Audit', metricName: 'DeniedEventBridgeCalls', metricValue: '1' }],
    });
    f.store.write(
      '/aws/cloudtrail/loan-events',
      'trail',
      JSON.stringify({ eventSource: 'events.amazonaws.com', errorCode: 'AccessDeniedException' }),
      T0 - MIN,
    );
    f.store.write('/aws/cloudtrail/loan-events', 'trail', JSON.stringify({ eventSource: 'events.amazonaws.com' }), T0);
    expect(f.metrics).toEqual([
      { dp: { namespace: 'LoanEvents/Audit', metricName: 'DeniedEventBridgeCalls', value: 1, dimensions: {} }, t: T0 - MIN },
    ]);
  });

  test.each([
    ['DescribeLogStreams', { logGroupName: 'nope' }, 'ResourceNotFoundException', /log group does not exist/],
    ['FilterLogEvents', { logGroupName: 'g', filterPattern: '{ $.a = ' }, 'InvalidParameterException', /expected a value/],
    ['FilterLogEvents', { logGroupName: 'g', limit: 10_001 }, 'InvalidParameterException', /limit must be an integer from 1 to 10000/],
    ['FilterLogEvents', { logGroupName: 'g', nextToken: 'garbage' }, 'InvalidParameterException', /nextToken is invalid/],
    [
      'FilterLogEvents',
      { logGroupName: 'g', logStreamNames: ['s'], logStreamNamePrefix: 's' },
      'InvalidParameterException',
      /cannot be used together/,
    ],
    ['GetLogEvents', { logGroupName: 'g', logStreamName: 's', nextToken: 'f/abc' }, 'InvalidParameterException', /nextToken is invalid/],
    [
      'DescribeLogStreams',
      { logGroupName: 'g', orderBy: 'LastEventTime', logStreamNamePrefix: 's' },
      'InvalidParameterException',
      /LastEventTime/,
    ],
    ['DescribeLogGroups', 'not an object', 'InvalidParameterException', /JSON object/],
    ['DescribeLogGroups', { limit: 0 }, 'InvalidParameterException', /limit/],
    ['CreateLogGroup', { logGroupName: 'bad name!' }, 'InvalidParameterException', /logGroupName/],
    [
      'PutLogEvents',
      { logGroupName: 'g', logStreamName: 's', logEvents: [{ timestamp: T0, message: 'x'.repeat(300_000) }] },
      'InvalidParameterException',
      /too large/,
    ],
    ['StartQuery', {}, 'UnknownOperationException', /StartQuery/],
    ['__proto__', {}, 'UnknownOperationException', /__proto__/],
  ])('%s %j fails with %s', (op, input, code, message) => {
    const f = fixture();
    f.store.write('g', 's', 'x', T0);
    expect(() => f.call(op, input)).toThrow(expect.objectContaining({ code, message: expect.stringMatching(message) }));
  });

  test('every documented read operation of the brief is served', () => {
    expect(LOGS_OPERATIONS).toEqual(expect.arrayContaining(['DescribeLogGroups', 'DescribeLogStreams', 'GetLogEvents', 'FilterLogEvents']));
  });
});

describe('through the SDK v3 client', () => {
  let served: Served;
  let client: CloudWatchLogsClient;
  const f = fixture();
  beforeAll(async () => {
    served = await serveJson((op, input) => handleLogsRequest(f.store, op, input));
    client = new CloudWatchLogsClient({ ...LOCAL_CLIENT, endpoint: served.endpoint });
    for (let i = 0; i < 30; i++)
      f.store.write(
        `/aws/lambda/fn${i % 3}`,
        `stream-${i % 4}`,
        powertools(i % 5 === 0 ? 'ERROR' : 'INFO', `m${i}`, `c-${i % 2}`),
        T0 - 30 * MIN + i * MIN,
      );
  });
  afterAll(async () => {
    client.destroy();
    await served.close();
  });

  test('DescribeLogGroups and DescribeLogStreams', async () => {
    const groups = await client.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: '/aws/lambda/', limit: 2 }));
    expect(groups.logGroups?.map((g) => g.logGroupName)).toEqual(['/aws/lambda/fn0', '/aws/lambda/fn1']);
    expect(groups.logGroups?.[0]?.logGroupArn).toBe('arn:aws:logs:us-east-1:111122223333:log-group:/aws/lambda/fn0');
    const next = await client.send(
      new DescribeLogGroupsCommand({ logGroupNamePrefix: '/aws/lambda/', limit: 2, nextToken: groups.nextToken }),
    );
    expect(next.logGroups?.map((g) => g.logGroupName)).toEqual(['/aws/lambda/fn2']);
    const streams = await client.send(
      new DescribeLogStreamsCommand({ logGroupName: '/aws/lambda/fn0', orderBy: 'LastEventTime', descending: true }),
    );
    expect(streams.logStreams?.[0]?.lastEventTimestamp).toBe(T0 - 30 * MIN + 27 * MIN);
  });

  test('FilterLogEvents with a JSON pattern, paginated by the SDK', async () => {
    const messages: string[] = [];
    for await (const page of paginateFilterLogEvents(
      { client, pageSize: 2 },
      { logGroupName: '/aws/lambda/fn0', filterPattern: '{ $.level = "ERROR" }' },
    )) {
      messages.push(...(page.events ?? []).map((e) => JSON.parse(e.message ?? '{}').message as string));
    }
    expect(messages).toEqual(['m0', 'm15']);
    const one = await client.send(
      new FilterLogEventsCommand({ logGroupName: '/aws/lambda/fn1', filterPattern: '?m1 ?m4', interleaved: true }),
    );
    expect(one.events?.map((e) => JSON.parse(e.message ?? '{}').message)).toEqual(['m1', 'm4', 'm10', 'm13', 'm16', 'm19']);
  });

  test('GetLogEvents and errors arrive as the SDK exceptions', async () => {
    const r = await client.send(
      new GetLogEventsCommand({ logGroupName: '/aws/lambda/fn2', logStreamName: 'stream-2', startFromHead: true }),
    );
    expect(r.events?.map((e) => e.timestamp)).toEqual([T0 - 28 * MIN, T0 - 16 * MIN, T0 - 4 * MIN]);
    await expect(client.send(new GetLogEventsCommand({ logGroupName: 'missing', logStreamName: 's' }))).rejects.toBeInstanceOf(
      ResourceNotFoundException,
    );
    await expect(
      client.send(
        new PutMetricFilterCommand({
          logGroupName: '/aws/lambda/fn0',
          filterName: 'x',
          filterPattern: '{ $.a > "b" }',
          metricTransformations: [{ metricNamespace: 'N', metricName: 'M', metricValue: '1' }],
        }),
      ),
    ).rejects.toThrow(/numeric value/);
  });
});
