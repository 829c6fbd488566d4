/**
 * EventBridge API behaviour: validation of PutEvents, rule and target management (what the
 * CLI's `tail` uses), and bad requests, which get AWS-shaped errors while nothing is lost or
 * duplicated.
 */
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import {
  DeleteRuleCommand,
  ListEventBusesCommand,
  ListRulesCommand,
  ListTargetsByRuleCommand,
  PutEventsCommand,
  PutRuleCommand,
  PutTargetsCommand,
  RemoveTargetsCommand,
  TestEventPatternCommand,
} from '@aws-sdk/client-eventbridge';
import { MAX_RULES_PER_BUS } from '../../runtime/events';
import { ACCOUNT, EMPTY_APP, Harness, drain, inMemory, startHarness } from './helpers';

let h: Harness;
let queueUrl: string;

beforeAll(async () => {
  h = await startHarness(EMPTY_APP, { quiet: true });
  // GIVEN a rule on the default bus that sends every "test" event to a queue
  queueUrl = (await h.sqs.send(new CreateQueueCommand({ QueueName: 'events-sink' }))).QueueUrl!;
  await h.events.send(new PutRuleCommand({ Name: 'sink', EventPattern: JSON.stringify({ source: ['test'] }) }));
  const t = await h.events.send(
    new PutTargetsCommand({ Rule: 'sink', Targets: [{ Id: 'q', Arn: `arn:aws:sqs:us-east-1:${ACCOUNT}:events-sink` }] }),
  );
  expect(t.FailedEntryCount).toBe(0);
});
afterAll(async () => h.close());

async function queued(): Promise<number> {
  const a = await h.sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }));
  return Number(a.Attributes!.ApproximateNumberOfMessages);
}

const ok = (n: number) => ({ Source: 'test', DetailType: 'T', Detail: JSON.stringify({ n }) });

test('an accepted event is delivered once with the envelope EventBridge adds', async () => {
  const r = await h.events.send(
    new PutEventsCommand({ Entries: [{ ...ok(1), Resources: ['arn:aws:s3:::b'], Time: new Date('2026-01-02T03:04:05Z') }] }),
  );
  const [m] = await drain(h.sqs, queueUrl, 1);
  expect(JSON.parse(m!.body)).toEqual({
    version: '0',
    id: r.Entries![0]!.EventId,
    'detail-type': 'T',
    source: 'test',
    account: ACCOUNT,
    time: '2026-01-02T03:04:05Z',
    region: 'us-east-1',
    resources: ['arn:aws:s3:::b'],
    detail: { n: 1 },
  });
});

test('invalid entries fail one by one while the valid ones in the same request are delivered', async () => {
  const r = await h.events.send(
    new PutEventsCommand({
      Entries: [
        ok(1),
        { Source: 'test', Detail: '{}' },
        { ...ok(2), Detail: '{"broken": ' },
        { ...ok(3), Detail: '[1]' },
        { ...ok(4), EventBusName: 'no-such-bus' },
        ok(5),
      ],
    }),
  );
  expect(r.FailedEntryCount).toBe(4);
  expect(r.Entries!.map((e) => e.ErrorCode ?? 'ok')).toEqual([
    'ok',
    'InvalidArgument',
    'MalformedDetail',
    'MalformedDetail',
    'ResourceNotFoundException',
    'ok',
  ]);
  expect(r.Entries![1]!.ErrorMessage).toBe('Parameter DetailType is not valid. Reason: DetailType is a required argument.');
  expect(r.Entries![4]!.ErrorMessage).toContain('no-such-bus');
  const got = await drain(h.sqs, queueUrl, 2);
  expect(got.map((m) => JSON.parse(m.body).detail.n).sort()).toEqual([1, 5]);
  expect(await queued()).toBe(0);
});

test('more than ten entries are refused whole with a ValidationException, and nothing is delivered', async () => {
  await expect(h.events.send(new PutEventsCommand({ Entries: Array.from({ length: 11 }, (_, i) => ok(i)) }))).rejects.toMatchObject({
    name: 'ValidationException',
    message: expect.stringContaining('less than or equal to 10'),
  });
  expect(await queued()).toBe(0);
});

test('entries over 1 MiB in total are refused with a ValidationException, and nothing is delivered', async () => {
  const big = JSON.stringify({ pad: 'x'.repeat(600 * 1024) });
  await expect(
    h.events.send(
      new PutEventsCommand({
        Entries: [
          { ...ok(1), Detail: big },
          { ...ok(2), Detail: big },
        ],
      }),
    ),
  ).rejects.toMatchObject({ name: 'ValidationException', message: expect.stringContaining('over the limit') });
  expect(await queued()).toBe(0);
  // One entry under the limit is accepted and, with its envelope, still fits an SQS message.
  const r = await h.events.send(
    new PutEventsCommand({ Entries: [{ ...ok(1), Detail: JSON.stringify({ pad: 'x'.repeat(1024 * 1024 - 1000) }) }] }),
  );
  expect(r.FailedEntryCount).toBe(0);
  expect((await drain(h.sqs, queueUrl, 1)).length).toBe(1);
});

test('malformed JSON and unknown operations get AWS JSON 1.1 errors', async () => {
  const post = (target: string, body: string) =>
    fetch(h.endpoint, { method: 'POST', headers: { 'Content-Type': 'application/x-amz-json-1.1', 'X-Amz-Target': target }, body });
  const bad = await post('AWSEvents.PutEvents', '{"Entries": [');
  expect(bad.status).toBe(400);
  expect(await bad.json()).toMatchObject({ __type: 'SerializationException' });
  const unknown = await post('AWSEvents.LaunchRocket', '{}');
  expect(unknown.status).toBe(400);
  expect(await unknown.json()).toMatchObject({ __type: 'UnknownOperationException' });
  expect(await queued()).toBe(0);
});

test('an invalid pattern is refused by PutRule with InvalidEventPatternException', async () => {
  await expect(h.events.send(new PutRuleCommand({ Name: 'bad', EventPattern: '{"source": "not-an-array"}' }))).rejects.toMatchObject({
    name: 'InvalidEventPatternException',
    message: expect.stringContaining('Event pattern is not valid'),
  });
  const rules = await h.events.send(new ListRulesCommand({}));
  expect(rules.Rules!.map((r) => r.Name)).toEqual(['sink']);
});

test('an unknown bus is ResourceNotFoundException', async () => {
  await expect(h.events.send(new ListRulesCommand({ EventBusName: 'ghost' }))).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  const buses = await h.events.send(new ListEventBusesCommand({}));
  expect(buses.EventBuses!.map((b) => b.Name)).toEqual(['default']);
});

test('TestEventPattern answers like EventBridge', async () => {
  const event = JSON.stringify({
    id: '1',
    account: ACCOUNT,
    source: 'a',
    time: '2026-01-01T00:00:00Z',
    region: 'us-east-1',
    resources: [],
    'detail-type': 'x',
    detail: { n: 5 },
  });
  expect(
    (await h.events.send(new TestEventPatternCommand({ EventPattern: '{"detail":{"n":[{"numeric":["<",3]}]}}', Event: event }))).Result,
  ).toBe(false);
  expect((await h.events.send(new TestEventPatternCommand({ EventPattern: '{"source":["a"]}', Event: event }))).Result).toBe(true);
});

test('TestEventPattern rejects an event without the envelope fields, as the API does', async () => {
  await expect(
    h.events.send(new TestEventPatternCommand({ EventPattern: '{"source":["a"]}', Event: JSON.stringify({ source: 'a', detail: {} }) })),
  ).rejects.toMatchObject({ name: 'ValidationException', message: 'Parameter Event is not valid.' });
});

test('a rule cannot be deleted while it has targets; after RemoveTargets it can, and stops matching', async () => {
  await h.events.send(new PutRuleCommand({ Name: 'temp', EventPattern: JSON.stringify({ source: ['temp'] }) }));
  await h.events.send(new PutTargetsCommand({ Rule: 'temp', Targets: [{ Id: 't', Arn: `arn:aws:sqs:us-east-1:${ACCOUNT}:events-sink` }] }));
  await expect(h.events.send(new DeleteRuleCommand({ Name: 'temp' }))).rejects.toMatchObject({ name: 'ValidationException' });
  const removed = await h.events.send(new RemoveTargetsCommand({ Rule: 'temp', Ids: ['t'] }));
  expect(removed.FailedEntryCount).toBe(0);
  await h.events.send(new DeleteRuleCommand({ Name: 'temp' }));
  const put = await h.events.send(new PutEventsCommand({ Entries: [{ Source: 'temp', DetailType: 'x', Detail: '{}' }] }));
  // The bus has routed the event by the time PutEvents answers: it matched no rule, so nothing can arrive later.
  const eventId = put.Entries![0]!.EventId!;
  expect(h.recorded.of('event.unmatched', (p) => p.eventId === eventId)).toHaveLength(1);
  expect(h.recorded.of('rule.matched', (p) => p.eventId === eventId)).toEqual([]);
  const r = await h.sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 0 }));
  expect(r.Messages ?? []).toHaveLength(0);
});

async function putEventsRaw(entries: unknown[]): Promise<{ status: number; body: any }> {
  const r = await fetch(h.endpoint, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-amz-json-1.1', 'X-Amz-Target': 'AWSEvents.PutEvents' },
    body: JSON.stringify({ Entries: entries }),
  });
  return { status: r.status, body: await r.json() };
}

describe('PutEvents validates every entry before delivering any', () => {
  test('an entry whose Time no date can hold fails alone; the others are delivered once', async () => {
    // GIVEN a request with a good entry before and after a bad one (SDKs retry a 5xx, so a 5xx here would deliver twice)
    const before = await queued();
    // WHEN
    const r = await putEventsRaw([ok(10), { ...ok(11), Time: 1e20 }, ok(12)]);
    // THEN
    expect(r.status).toBe(200);
    expect(r.body.FailedEntryCount).toBe(1);
    expect(r.body.Entries[1]).toEqual({
      ErrorCode: 'InvalidArgument',
      ErrorMessage: 'Parameter Time is not valid. Reason: Time is not a valid timestamp.',
    });
    const got = await drain(h.sqs, queueUrl, 2);
    expect(got.map((m) => JSON.parse(m.body).detail.n).sort()).toEqual([10, 12]);
    expect(await queued()).toBe(before);
  });

  test('a Detail nested thousands of levels deep fails alone with MalformedDetail', async () => {
    const deep = `${'{"a":'.repeat(20000)}1${'}'.repeat(20000)}`;
    const r = await putEventsRaw([ok(20), { Source: 'test', DetailType: 'T', Detail: deep }]);
    expect(r.status).toBe(200);
    expect(r.body.Entries[1]).toMatchObject({ ErrorCode: 'MalformedDetail' });
    expect(r.body.Entries[1]!.ErrorMessage).toContain('1000 levels');
    const [m] = await drain(h.sqs, queueUrl, 1);
    expect(JSON.parse(m!.body).detail.n).toBe(20);
  });
});

describe('quotas', () => {
  test('a rule description over 512 characters is refused', async () => {
    await expect(
      h.events.send(new PutRuleCommand({ Name: 'long-description', EventPattern: '{"source":["x"]}', Description: 'd'.repeat(513) })),
    ).rejects.toMatchObject({ name: 'ValidationException', message: expect.stringContaining('512') });
    await h.events.send(new PutRuleCommand({ Name: 'long-description', EventPattern: '{"source":["x"]}', Description: 'd'.repeat(512) }));
    await h.events.send(new DeleteRuleCommand({ Name: 'long-description' }));
  });

  test('PutTargets that would pass five targets per rule changes nothing', async () => {
    // GIVEN a rule with four targets
    await h.events.send(new PutRuleCommand({ Name: 'five', EventPattern: '{"source":["five"]}' }));
    const target = (id: string) => ({ Id: id, Arn: `arn:aws:sqs:us-east-1:${ACCOUNT}:events-sink` });
    await h.events.send(new PutTargetsCommand({ Rule: 'five', Targets: ['a', 'b', 'c', 'd'].map(target) }));
    // WHEN two more are added in one request
    await expect(h.events.send(new PutTargetsCommand({ Rule: 'five', Targets: ['e', 'f'].map(target) }))).rejects.toMatchObject({
      name: 'LimitExceededException',
    });
    // THEN neither was added (not the first of them), and replacing an existing one still works
    const listed = await h.events.send(new ListTargetsByRuleCommand({ Rule: 'five' }));
    expect(listed.Targets!.map((t) => t.Id)).toEqual(['a', 'b', 'c', 'd']);
    const r = await h.events.send(new PutTargetsCommand({ Rule: 'five', Targets: ['a', 'e'].map(target) }));
    expect(r.FailedEntryCount).toBe(0);
    await h.events.send(new RemoveTargetsCommand({ Rule: 'five', Ids: ['a', 'b', 'c', 'd', 'e'] }));
    await h.events.send(new DeleteRuleCommand({ Name: 'five' }));
  });

  test('a FIFO queue target without a message group id fails in its own entry; the others apply', async () => {
    await h.events.send(new PutRuleCommand({ Name: 'fifo-targets', EventPattern: '{"source":["fifo"]}' }));
    const r = await h.events.send(
      new PutTargetsCommand({
        Rule: 'fifo-targets',
        Targets: [
          { Id: 'fifo', Arn: `arn:aws:sqs:us-east-1:${ACCOUNT}:orders.fifo` },
          { Id: 'plain', Arn: `arn:aws:sqs:us-east-1:${ACCOUNT}:events-sink` },
        ],
      }),
    );
    expect(r.FailedEntryCount).toBe(1);
    expect(r.FailedEntries).toEqual([
      { TargetId: 'fifo', ErrorCode: 'ValidationException', ErrorMessage: 'Parameter(s) SqsParameters must be specified for FIFO queues.' },
    ]);
    const listed = await h.events.send(new ListTargetsByRuleCommand({ Rule: 'fifo-targets' }));
    expect(listed.Targets!.map((t) => t.Id)).toEqual(['plain']);
    await h.events.send(new RemoveTargetsCommand({ Rule: 'fifo-targets', Ids: ['plain'] }));
    await h.events.send(new DeleteRuleCommand({ Name: 'fifo-targets' }));
  });

  test('a garbage NextToken in ListRules or ListTargetsByRule is refused instead of restarting the listing', async () => {
    // The last is a well-formed token of another listing (SQS's ListQueues).
    for (const token of ['!!!!', 'MA==', 'bHIxOnNxczoy']) {
      await expect(h.events.send(new ListRulesCommand({ NextToken: token }))).rejects.toMatchObject({ name: 'ValidationException' });
      await expect(h.events.send(new ListTargetsByRuleCommand({ Rule: 'sink', NextToken: `${token}x` }))).rejects.toMatchObject({
        name: 'ValidationException',
      });
    }
  });
});

describe('in memory, on the virtual clock', () => {
  let rt: ReturnType<typeof inMemory>;
  afterEach(() => rt?.close());

  test('a bus holds at most 300 rules', () => {
    rt = inMemory();
    const bus = rt.events.createBus('crowded');
    for (let i = 0; i < MAX_RULES_PER_BUS; i++) rt.events.putRule(bus, { name: `r${i}`, pattern: '{"source":["x"]}' });
    expect(() => rt.events.putRule(bus, { name: 'one-more', pattern: '{"source":["x"]}' })).toThrow(
      expect.objectContaining({ code: 'LimitExceededException' }),
    );
    // Updating an existing rule is not a new rule.
    rt.events.putRule(bus, { name: 'r0', pattern: '{"source":["y"]}' });
    expect(bus.rules.size).toBe(MAX_RULES_PER_BUS);
  });

  test('PutEvents is refused with a clear error once shutdown begins, and nothing is published', () => {
    rt = inMemory();
    rt.events.beginClose();
    expect(() => rt.events.putEvents([ok(1)])).toThrow(expect.objectContaining({ code: 'ServiceUnavailable', status: 503 }));
    expect(rt.recorded.of('event.published')).toHaveLength(0);
  });

  test('a failing target is retried with backoff on the clock until the attempts run out, then dead-lettered', () => {
    // GIVEN a Lambda target whose invocation throws inside the runtime (a retryable internal failure)
    let calls = 0;
    rt = inMemory({
      deliveryRetry: { baseDelayMs: 1000, maxDelayMs: 60_000, random: () => 0.5 },
      functions: {
        get: () => {
          calls++;
          throw new Error('worker pool unavailable');
        },
      },
    });
    const dlq = rt.sqs.create('delivery-dlq');
    const bus = rt.events.bus('default');
    const rule = rt.events.putRule(bus, { name: 'to-fn', pattern: '{"source":["test"]}' });
    rt.events.putTargets(rule, [
      {
        id: 'fn',
        arn: 'arn:aws:lambda:us-east-1:000000000000:function:f',
        retryPolicy: { maximumRetryAttempts: 3 },
        deadLetterArn: dlq.arn,
      },
    ]);
    // WHEN
    const r = rt.events.putEvents([ok(1)]);
    // THEN the delays double (1 s, 2 s, 4 s, times the jitter factor 0.75 of random() = 0.5)
    expect(calls).toBe(1);
    const delays = () => rt.recorded.of('target.retried').map((x) => x.delayMs);
    expect(delays()).toEqual([750]);
    rt.clock.advance(749);
    expect(calls).toBe(1);
    rt.clock.advance(1);
    expect(calls).toBe(2);
    rt.clock.advance(1500 + 3000);
    expect(calls).toBe(4);
    expect(delays()).toEqual([750, 1500, 3000]);
    expect(rt.recorded.of('target.failed').map((f) => f.attempt)).toEqual([1, 2, 3, 4]);
    const [dead] = rt.recorded.of('target.dead-lettered');
    expect(dead).toMatchObject({
      eventId: r.Entries[0]!.EventId,
      errorCode: 'InternalFailure',
      retryAttempts: 3,
      exhaustedRetryCondition: 'MaximumRetryAttempts',
      deadLetterQueueArn: dlq.arn,
    });
    expect(dlq.counts.ready).toBe(1);
    expect(rt.events.pendingRetries).toBe(0);
  });

  test('archived events older than RetentionDays are dropped on the clock', () => {
    rt = inMemory();
    const bus = rt.events.bus('default');
    const archive = rt.events.createArchive({ name: 'week', sourceArn: bus.arn, retentionDays: 1 });
    rt.events.putEvents([ok(1)]);
    rt.clock.advance(12 * 3_600_000);
    rt.events.putEvents([ok(2)]);
    expect(archive.events).toHaveLength(2);
    rt.clock.advance(13 * 3_600_000); // the first is now 25 h old; the hourly sweep drops it
    expect(archive.events.map((e) => e.event.detail.n)).toEqual([2]);
    expect(rt.recorded.of('archive.evicted')).toEqual([expect.objectContaining({ archiveName: 'week', events: 1, reason: 'retention' })]);
  });

  test('an archive over its memory cap drops its oldest events with one warning', () => {
    rt = inMemory({ archiveLimits: { maxEvents: 3 } });
    const bus = rt.events.bus('default');
    const archive = rt.events.createArchive({ name: 'capped', sourceArn: bus.arn });
    for (let i = 1; i <= 5; i++) rt.events.putEvents([ok(i)]);
    expect(archive.events.map((e) => e.event.detail.n)).toEqual([3, 4, 5]);
    expect(archive.sizeBytes).toBe(archive.events.reduce((n, e) => n + e.size, 0));
    expect(rt.recorded.of('archive.evicted').map((e) => e.reason)).toEqual(['cap', 'cap']);
    expect(rt.recorded.of('runtime.warning')).toEqual([
      { message: expect.stringContaining('archive capped is over its local memory cap') },
    ]);
  });
});
