/**
 * The runtime's CloudWatch wiring (`runtime/metrics.ts`) on the in-memory brokers and a virtual
 * clock: which runtime events become which AWS metrics, with AWS's dimensions; the queue gauges
 * sampled each minute; EMF lines; the stack's metric filter on the trail's log group driving its
 * alarm; and the bounds on the metric store.
 */
import { ensureSynth } from '../../../assembly';
import { buildCloudTrailRecord } from '../../../runtime/cloudtrail/record';
import { LogStore } from '../../../runtime/cloudwatch/log-store';
import { MetricStore, statistic, type Dimension } from '../../../runtime/cloudwatch/metric-store';
import { LocalCloudWatch, SAMPLE_INTERVAL_MS, loadCloudWatchResources } from '../../../runtime/metrics';
import { ACCOUNT, REGION, inMemory } from '../helpers';

type Env = ReturnType<typeof inMemory> & { cw: LocalCloudWatch };

function setUp(): Env {
  const env = inMemory();
  const cw = new LocalCloudWatch({ clock: env.clock, stream: env.stream, sqs: env.sqs, region: REGION, accountId: ACCOUNT });
  return { ...env, cw };
}

let env: Env;
afterEach(() => {
  env.cw.close();
  env.close();
});

/** The sum of a metric over everything stored. */
function sum(metrics: MetricStore, namespace: string, name: string, dims: Record<string, string> = {}): number {
  const dimensions: Dimension[] = Object.entries(dims).map(([Name, Value]) => ({ Name, Value }));
  return metrics.aggregate(metrics.get(namespace, name, dimensions), 0, Number.MAX_SAFE_INTEGER, 86_400).reduce((a, p) => a + p.sum, 0);
}

const entry = (bus: string) => ({ EventBusName: bus, Source: 'test.source', DetailType: 'Thing', Detail: '{"a":1}' });

test('a target whose dead-letter queue is missing counts Invocations, FailedInvocations and InvocationsFailedToBeSentToDlq for its rule', () => {
  // GIVEN
  env = setUp();
  const bus = env.events.createBus('orders');
  const rule = env.events.putRule(bus, { name: 'to-nowhere', pattern: '{"source":["test.source"]}' });
  env.events.putTargets(rule, [
    { id: 't', arn: `arn:aws:sqs:${REGION}:${ACCOUNT}:missing`, deadLetterArn: `arn:aws:sqs:${REGION}:${ACCOUNT}:missing-dlq` },
  ]);
  // WHEN
  env.events.putEvents([entry('orders')]);
  // THEN
  const dims = { EventBusName: 'orders', RuleName: 'to-nowhere' };
  const m = env.cw.metrics;
  expect(sum(m, 'AWS/Events', 'MatchedEvents', dims)).toBe(1);
  expect(sum(m, 'AWS/Events', 'Invocations', dims)).toBe(1);
  expect(sum(m, 'AWS/Events', 'FailedInvocations', dims)).toBe(1);
  expect(sum(m, 'AWS/Events', 'InvocationsFailedToBeSentToDlq', dims)).toBe(1);
  expect(sum(m, 'AWS/Events', 'InvocationsSentToDlq', dims)).toBe(0);
  // Custom-bus rules carry EventBusName and RuleName; RuleName alone is the default bus's.
  expect(m.get('AWS/Events', 'Invocations', [{ Name: 'RuleName', Value: 'to-nowhere' }])).toBeUndefined();
});

test('a failed delivery moved to the dead-letter queue counts InvocationsSentToDlq, and a default-bus rule is dimensioned by RuleName alone', () => {
  env = setUp();
  const dlq = env.sqs.create('dlq');
  const bus = env.events.createBus('default');
  const rule = env.events.putRule(bus, { name: 'r', pattern: '{"source":["test.source"]}' });
  env.events.putTargets(rule, [{ id: 't', arn: `arn:aws:sqs:${REGION}:${ACCOUNT}:missing`, deadLetterArn: dlq.arn }]);
  env.events.putEvents([entry('default')]);
  const m = env.cw.metrics;
  expect(sum(m, 'AWS/Events', 'InvocationsSentToDlq', { RuleName: 'r' })).toBe(1);
  expect(sum(m, 'AWS/Events', 'FailedInvocations', { RuleName: 'r' })).toBe(1);
  expect(
    m.get('AWS/Events', 'Invocations', [
      { Name: 'EventBusName', Value: 'default' },
      { Name: 'RuleName', Value: 'r' },
    ]),
  ).toBeUndefined();
  // EventBridge's send to the DLQ is a SendMessage: SQS counts it.
  expect(sum(m, 'AWS/SQS', 'NumberOfMessagesSent', { QueueName: 'dlq' })).toBe(1);
});

test('PutEvents metrics count requests, entries and failed entries for the account, with no dimension', () => {
  env = setUp();
  env.events.createBus('orders');
  env.events.putEvents([entry('orders'), { ...entry('orders'), Detail: 'not json' }, entry('orders')]);
  env.events.putEvents([entry('orders')]);
  const m = env.cw.metrics;
  expect(sum(m, 'AWS/Events', 'PutEventsApproximateCallCount')).toBe(2);
  expect(sum(m, 'AWS/Events', 'PutEventsEntriesCount')).toBe(4);
  expect(sum(m, 'AWS/Events', 'PutEventsFailedEntriesCount')).toBe(1);
  // Nothing matched: no rule metric.
  expect(sum(m, 'AWS/Events', 'MatchedEvents', { EventBusName: 'orders' })).toBe(0);
});

test("the queue gauges and empty receives are sampled at each minute boundary of the runtime's clock", async () => {
  env = setUp();
  env.cw.start();
  const q = env.sqs.create('work', { DelaySeconds: '0' });
  const sentAt = env.clock.now();
  q.send({ body: 'a' });
  q.send({ body: 'b' });
  const [taken] = await q.receive({ max: 1, visibilityTimeout: 600 });
  expect(taken).toBeDefined();
  const other = env.sqs.create('idle');
  await other.receive({ max: 1, waitSeconds: 0 });
  await other.receive({ max: 1, waitSeconds: 0 });
  const m = env.cw.metrics;
  const series = (name: string, queue: string) => m.get('AWS/SQS', name, [{ Name: 'QueueName', Value: queue }]);
  expect(series('ApproximateNumberOfMessagesVisible', 'work')).toBeUndefined();
  // WHEN the clock crosses the next minute boundary
  env.clock.advance(SAMPLE_INTERVAL_MS - (env.clock.now() % SAMPLE_INTERVAL_MS));
  // THEN
  const last = (name: string, queue: string) => {
    const pts = m.aggregate(series(name, queue), 0, Number.MAX_SAFE_INTEGER, 60);
    return pts.length ? statistic(pts[pts.length - 1]!, 'Maximum') : undefined;
  };
  expect(last('ApproximateNumberOfMessagesVisible', 'work')).toBe(1);
  expect(last('ApproximateNumberOfMessagesNotVisible', 'work')).toBe(1);
  expect(last('ApproximateAgeOfOldestMessage', 'work')).toBe(Math.floor((env.clock.now() - sentAt) / 1000));
  expect(sum(m, 'AWS/SQS', 'NumberOfEmptyReceives', { QueueName: 'idle' })).toBe(2);
  expect(sum(m, 'AWS/SQS', 'NumberOfEmptyReceives', { QueueName: 'work' })).toBe(0);
  // Another minute: the age grows by 60 s, the empty receives are not counted twice.
  env.clock.advance(SAMPLE_INTERVAL_MS);
  expect(last('ApproximateAgeOfOldestMessage', 'work')).toBe(Math.floor((env.clock.now() - sentAt) / 1000));
  expect(sum(m, 'AWS/SQS', 'NumberOfEmptyReceives', { QueueName: 'idle' })).toBe(2);
});

test('EMF lines of a function become datapoints; a line that breaks the specification is reported once per function', () => {
  env = setUp();
  const warnings: string[] = [];
  env.stream.subscribe('runtime.warning', (e) => warnings.push(e.properties.message));
  const emf = (value: number, at = env.clock.now()) =>
    JSON.stringify({
      _aws: {
        Timestamp: at,
        CloudWatchMetrics: [{ Namespace: 'Shop', Dimensions: [['service']], Metrics: [{ Name: 'Orders', Unit: 'Count' }] }],
      },
      service: 'checkout',
      Orders: value,
    });
  const out = (line: string) =>
    env.stream.publish('function.output', {
      functionName: 'checkout',
      functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:checkout',
      line,
    });
  out(emf(2));
  out(emf(3));
  // Outside the two-weeks-back, two-hours-ahead window: dropped.
  out(emf(100, env.clock.now() - 15 * 86_400_000));
  out(emf(100, env.clock.now() + 3 * 3_600_000));
  out('{"level":"INFO","message":"not a metric"}');
  const broken = '{"_aws":{"CloudWatchMetrics":"no"}}';
  out(broken);
  out(broken);
  expect(sum(env.cw.metrics, 'Shop', 'Orders', { service: 'checkout' })).toBe(5);
  expect(warnings).toEqual([
    expect.stringContaining('checkout wrote an EMF line CloudWatch would drop: _aws.CloudWatchMetrics must be an array'),
  ]);
});

test("the stack's denied-calls metric filter on the trail's log group raises its alarm, from the synthesized templates", async () => {
  // GIVEN the app's alarms and metric filters, and a log store the runtime's CloudTrail writes to
  env = setUp();
  const resources = loadCloudWatchResources(await ensureSynth(), { region: REGION, accountId: ACCOUNT, endpoint: 'http://127.0.0.1:1' });
  expect(resources.warnings).toEqual([]);
  // The filter on denied calls: the one whose pattern reads the record's error code.
  const filter = resources.metricFilters.find((f) => f.filterPattern.includes('$.errorCode'));
  expect(filter).toBeDefined();
  const t = filter!.transformations[0]!;
  const alarm = resources.alarms.find((a) => a.Namespace === t.metricNamespace && a.MetricName === t.metricName);
  expect(alarm).toBeDefined();
  const logs = new LogStore({ now: () => env.clock.now(), region: REGION, accountId: ACCOUNT });
  env.cw.attachLogStore(logs);
  env.cw.start(resources);
  // WHEN a denied PutEvents lands in the trail's log group
  const record = buildCloudTrailRecord({
    service: 'events',
    operation: 'PutEvents',
    error: { code: 'AccessDeniedException', message: 'not authorized' },
    requestId: 'r1',
    time: env.clock.now(),
    region: REGION,
    recipientAccountId: ACCOUNT,
  });
  logs.write(filter!.logGroupName, `${ACCOUNT}_CloudTrail_${REGION}`, JSON.stringify(record));
  // and an allowed one, which the filter counts as its default value
  logs.write(filter!.logGroupName, `${ACCOUNT}_CloudTrail_${REGION}`, JSON.stringify({ ...record, errorCode: undefined }));
  env.clock.advance(alarm!.Period * 1000 + 1000);
  // THEN
  expect(sum(env.cw.metrics, t.metricNamespace, t.metricName)).toBe(1);
  const state = env.cw.alarms.get(alarm!.AlarmName)!.status;
  expect([state.value, state.reason]).toEqual(['ALARM', expect.stringMatching(/^Threshold Crossed: 1 datapoint \[1\.0 /)]);
});

test('the metric store keeps one aggregate per series and minute however many datapoints arrive, and evicts the least recently written series past its cap', () => {
  let now = Date.UTC(2026, 10, 29, 12, 0, 0);
  const store = new MetricStore({ now: () => now, maxSeries: 3 });
  const d = (name: string, value: number) => ({ namespace: 'N', metricName: name, dimensions: [], timestamp: now, value });
  for (let i = 0; i < 10_000; i++) {
    store.put(d('busy', i % 100));
    now += 5; // 50 s in all: one minute
  }
  expect(store.pointCount).toBe(1);
  const [p] = store.aggregate(store.get('N', 'busy', []), 0, Number.MAX_SAFE_INTEGER, 60);
  expect([p!.sampleCount, p!.min, p!.max, p!.sum]).toEqual([10_000, 0, 99, 100 * 4950]);
  // The percentile comes from a bounded sample, so it is an estimate of the true p50 (49.5).
  expect(Math.abs(statistic(p!, 'p50')! - 49.5)).toBeLessThan(15);
  for (const name of ['a', 'b', 'busy', 'c']) {
    now += 1000;
    store.put(d(name, 1));
  }
  expect(store.size).toBe(3);
  expect(store.get('N', 'a', [])).toBeUndefined();
  expect(store.get('N', 'busy', [])).toBeDefined();
});
