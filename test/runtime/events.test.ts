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
  PutEventsCommand,
  PutRuleCommand,
  PutTargetsCommand,
  RemoveTargetsCommand,
  TestEventPatternCommand,
} from '@aws-sdk/client-eventbridge';
import { ACCOUNT, EMPTY_APP, Harness, drain, startHarness } from './helpers';

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
  expect(JSON.parse(m.body)).toEqual({
    version: '0',
    id: r.Entries![0].EventId,
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
  expect(r.Entries![1].ErrorMessage).toBe('Parameter DetailType is not valid. Reason: DetailType is a required argument.');
  expect(r.Entries![4].ErrorMessage).toContain('no-such-bus');
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
  await h.events.send(new PutEventsCommand({ Entries: [{ Source: 'temp', DetailType: 'x', Detail: '{}' }] }));
  const r = await h.sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 1 }));
  expect(r.Messages ?? []).toHaveLength(0);
});
