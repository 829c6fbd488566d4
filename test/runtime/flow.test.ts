/**
 * The runtime running a hand-written app (fixtures/app): routing, the function worker pool
 * and event source mapping, partial batch failures, timeouts, target DLQs, input
 * transformers, archive and replay, with SDK v3 clients and the AWS CLI. Visibility timeouts
 * pass on a virtual clock, and function timeouts on a second one that only the timeout test
 * advances; the handlers run in real worker threads.
 */
import {
  DescribeArchiveCommand,
  DescribeReplayCommand,
  DescribeRuleCommand,
  ListTargetsByRuleCommand,
  PutEventsCommand,
  PutEventsRequestEntry,
  StartReplayCommand,
} from '@aws-sdk/client-eventbridge';
import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  StartMessageMoveTaskCommand,
} from '@aws-sdk/client-sqs';
import { VirtualClock } from '../../runtime/clock';
import type { RuntimeEventType, RuntimeEvents } from '../../runtime/stream';
import { FIXTURE_APP, Harness, aws, drain, startHarness, waitFor } from './helpers';

interface Seen {
  id: string;
  messageId: string;
  kind: string;
  receiveCount: number;
  invocations: number;
  functionName: string;
  custom: string;
  remainingMs: number;
  eventSourceARN: string;
  requestId: string;
  startedAt: number;
  endedAt: number;
}

let h: Harness;
const clock = new VirtualClock();
/** What the functions' Timeouts are measured on: still unless a test moves it, so no other test's invocation times out. */
const timeouts = new VirtualClock();
const seen: Seen[] = [];
const stopCollecting = new AbortController();
let collector: Promise<void>;
let run = 0;
const uid = (label: string) => `${label}-${++run}-${Math.random().toString(36).slice(2, 8)}`;
/** fixture-work's VisibilityTimeout in the template. */
const VISIBILITY_MS = 4000;
/** fixture-consumer's Timeout in the template. */
const FUNCTION_TIMEOUT_MS = 2000;

beforeAll(async () => {
  h = await startHarness(FIXTURE_APP, { clock, functionTimeoutClock: timeouts, deliveryRetry: { baseDelayMs: 10, maxDelayMs: 50 } });
  const url = h.queueUrl('fixture-seen');
  // The handler reports what it saw to a queue; collect it. A long poll answers as soon as a report
  // arrives (its 20 s are on the virtual clock, which only the tests move); closing aborts it.
  collector = (async () => {
    while (!stopCollecting.signal.aborted) {
      const r = await h.sqs
        .send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 20 }), {
          abortSignal: stopCollecting.signal,
        })
        .catch((e: unknown) => {
          if (stopCollecting.signal.aborted) return undefined;
          throw e;
        });
      const msgs = r?.Messages ?? [];
      if (msgs.length === 0) continue;
      for (const m of msgs) seen.push(JSON.parse(m.Body!));
      await h.sqs.send(
        new DeleteMessageBatchCommand({ QueueUrl: url, Entries: msgs.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })) }),
      );
    }
  })();
});

afterAll(async () => {
  stopCollecting.abort();
  await collector;
  await h.close();
});

/** Position in the recorded stream, to look at what happened after it. */
const mark = () => h.recorded.all.length;
function since<T extends RuntimeEventType>(
  from: number,
  type: T,
  where: (p: RuntimeEvents[T]) => boolean = () => true,
): RuntimeEvents[T][] {
  return h.recorded.all
    .slice(from)
    .filter((e) => e.type === type)
    .map((e) => e.properties as RuntimeEvents[T])
    .filter(where);
}

/**
 * Lets a record fail `times` times on fixture-work: after each failed invocation, the
 * visibility timeout passes on the virtual clock and the record is received again.
 */
async function failRepeatedly(times: number, failures: () => number): Promise<void> {
  for (let i = 1; i <= times; i++) {
    await waitFor(`failed invocation ${i} of ${times}`, () => (failures() >= i ? true : undefined), 30000);
    await clock.advanceAsync(VISIBILITY_MS);
  }
}

const entry = (id: string, kind: string, detailType = 'Work', extra: object = {}): PutEventsRequestEntry => ({
  EventBusName: 'fixture-bus',
  Source: 'fixture',
  DetailType: detailType,
  Detail: JSON.stringify({ id, kind, ...extra }),
});

async function attributes(queue: string) {
  const r = await h.sqs.send(new GetQueueAttributesCommand({ QueueUrl: h.queueUrl(queue), AttributeNames: ['All'] }));
  return r.Attributes!;
}

const seenOf = (id: string) => seen.filter((s) => s.id === id);

describe('topology from the template', () => {
  test('lists the topology once and names the resource types it does not emulate', () => {
    const text = h.lines.join('\n');
    expect(h.lines[0]).toMatch(/^Local runtime ready on http:\/\/127\.0\.0\.1:\d+ in \d+ ms/);
    expect(text).toContain('rule fixture-work [ENABLED]');
    expect(text).toContain('queue fixture-work (visibility 4s, dlq fixture-work-dlq after 3 receives)');
    expect(text).toContain(
      'function fixture-consumer (index.handler, timeout 2s) <- fixture-work batch 10, window 0s, concurrency 2, partial failures',
    );
    expect(text).toContain('policies only (read and enforced, no resource of their own): AWS::IAM::Role x1');
    expect(text).toContain('not emulated: AWS::SNS::Topic x1');
  });

  test('rules and targets resolve their intrinsics to local names and ARNs', async () => {
    const rule = await h.events.send(new DescribeRuleCommand({ Name: 'fixture-broken', EventBusName: 'fixture-bus' }));
    expect(rule.Arn).toBe('arn:aws:events:us-east-1:000000000000:rule/fixture-bus/fixture-broken');
    const targets = await h.events.send(new ListTargetsByRuleCommand({ Rule: 'fixture-broken', EventBusName: 'fixture-bus' }));
    expect(targets.Targets).toEqual([
      expect.objectContaining({
        Id: 'Gone',
        Arn: 'arn:aws:sqs:us-east-1:000000000000:fixture-missing-queue',
        RetryPolicy: { MaximumRetryAttempts: 3 },
        DeadLetterConfig: { Arn: 'arn:aws:sqs:us-east-1:000000000000:fixture-delivery-dlq' },
      }),
    ]);
  });
});

describe('publish to handler', () => {
  test('every event reaches the handler once, in a warm worker with its own environment', async () => {
    // GIVEN
    const ids = Array.from({ length: 6 }, () => uid('ok'));
    // WHEN
    const r = await h.events.send(new PutEventsCommand({ Entries: ids.map((id) => entry(id, 'ok')) }));
    // THEN
    expect(r.FailedEntryCount).toBe(0);
    await waitFor('all events handled', () => (ids.every((id) => seenOf(id).length >= 1) ? true : undefined));
    await waitFor('the queue to empty', async () =>
      (await attributes('fixture-work')).ApproximateNumberOfMessagesNotVisible === '0' ? true : undefined,
    );
    for (const id of ids) expect(seenOf(id)).toHaveLength(1);
    const s = seenOf(ids[0]!)[0]!;
    expect(s).toMatchObject({
      functionName: 'fixture-consumer',
      custom: 'configured',
      receiveCount: 1,
      eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:fixture-work',
    });
    expect(s.remainingMs).toBeGreaterThan(0);
    expect(s.remainingMs).toBeLessThanOrEqual(2000);
    // A second publish lands in a worker whose module state survived.
    const later = uid('ok');
    await h.events.send(new PutEventsCommand({ Entries: [entry(later, 'ok')] }));
    const again = await waitFor('the second event', () => seenOf(later)[0]);
    expect(again.invocations).toBeGreaterThan(1);
    // The handler's Powertools record, folded to time, function, level and message.
    expect(h.lines.some((l) => /^\d\d:\d\d:\d\d\.\d{3} \[fixture-consumer\] INFO {2}batch done( |$)/.test(l))).toBe(true);
  });

  test('a poison record reaches the DLQ after exactly maxReceiveCount receives while the rest of its batch succeeds', async () => {
    // GIVEN a batch of four good events and one the handler reports as failed
    const good = Array.from({ length: 4 }, () => uid('good'));
    const poison = uid('poison');
    const from = mark();
    const itemFailures = () => since(from, 'batch.item-failed', (p) => p.queueName === 'fixture-work').length;
    // WHEN
    await h.events.send(
      new PutEventsCommand({
        Entries: [...good.slice(0, 2).map((id) => entry(id, 'ok')), entry(poison, 'poison'), ...good.slice(2).map((id) => entry(id, 'ok'))],
      }),
    );
    await failRepeatedly(3, itemFailures);
    // THEN the receive after the third moves it to the DLQ
    const [dead] = await waitFor('the poison record in the DLQ', () => {
      const d = since(from, 'message.dead-lettered', (p) => p.queueName === 'fixture-work');
      return d.length > 0 ? d : undefined;
    });
    expect(dead).toMatchObject({ deadLetterQueueName: 'fixture-work-dlq', receiveCount: 3 });
    await waitFor('the handler reports of all three receives', () => (seenOf(poison).length >= 3 ? true : undefined));
    expect(seenOf(poison).map((s) => s.receiveCount)).toEqual([1, 2, 3]);
    expect(seenOf(poison).every((s) => s.messageId === dead!.messageId)).toBe(true);
    for (const id of good) expect(seenOf(id)).toHaveLength(1);
    const work = await attributes('fixture-work');
    expect([work.ApproximateNumberOfMessages, work.ApproximateNumberOfMessagesNotVisible]).toEqual(['0', '0']);
    expect(h.lines.some((l) => / dlq +queue=fixture-work to=fixture-work-dlq /.test(l) && l.includes('receives=3'))).toBe(true);
    // WHEN the DLQ is redriven, the record comes back to the handler with a fresh receive count
    const redriven = mark();
    await h.sqs.send(new StartMessageMoveTaskCommand({ SourceArn: 'arn:aws:sqs:us-east-1:000000000000:fixture-work-dlq' }));
    await failRepeatedly(3, () => since(redriven, 'batch.item-failed', (p) => p.queueName === 'fixture-work').length);
    // still poison: it returns to the DLQ after three more receives, and nothing else does
    const again = await drain(h.sqs, h.queueUrl('fixture-work-dlq'), 1, 30000);
    expect(JSON.parse(again[0]!.body).detail.id).toBe(poison);
    await waitFor('the handler reports of all six receives', () => (seenOf(poison).length >= 6 ? true : undefined));
    expect(seenOf(poison).map((s) => s.receiveCount)).toEqual([1, 2, 3, 1, 2, 3]);
    expect(since(redriven, 'message.moved')).toEqual([
      expect.objectContaining({ messageId: dead!.messageId, destinationName: 'fixture-work' }),
    ]);
  });

  test('batches run concurrently up to MaximumConcurrency and no further', async () => {
    const publishSlow = async (n: number) => {
      const ids = Array.from({ length: n }, () => uid('slow'));
      for (let i = 0; i < ids.length; i += 10)
        await h.events.send(new PutEventsCommand({ Entries: ids.slice(i, i + 10).map((id) => entry(id, 'slow')) }));
      await waitFor('all slow events', () => (ids.every((id) => seenOf(id).length >= 1) ? true : undefined), 30000);
      return ids;
    };
    // Both execution environments are started first, so cold starts do not serialise the measured round.
    await publishSlow(20);
    const ids = await publishSlow(40);
    const runs = new Map<string, { startedAt: number; endedAt: number }>();
    for (const id of ids) for (const s of seenOf(id)) runs.set(s.requestId, { startedAt: s.startedAt, endedAt: s.endedAt });
    const intervals = [...runs.values()];
    const overlap = Math.max(
      ...intervals.map((a) => intervals.filter((b) => b.startedAt <= a.startedAt && a.startedAt < b.endedAt).length),
    );
    expect(overlap).toBe(2);
    for (const id of ids) expect(seenOf(id)).toHaveLength(1);
  });

  test('a handler that exits its worker fails the invocation, and the record is retried', async () => {
    const id = uid('crash');
    const from = mark();
    const failures = () => since(from, 'function.failed', (p) => p.functionName === 'fixture-consumer');
    await h.events.send(new PutEventsCommand({ Entries: [entry(id, 'crash')] }));
    await failRepeatedly(3, () => failures().length);
    expect(failures()[0]).toMatchObject({
      errorType: 'Runtime.ExitError',
      errorMessage: expect.stringContaining('exit status 3'),
      records: 1,
    });
    const dead = await drain(h.sqs, h.queueUrl('fixture-work-dlq'), 1, 30000);
    expect(JSON.parse(dead[0]!.body).detail.id).toBe(id);
    await waitFor('the handler reports of all three receives', () => (seenOf(id).length >= 3 ? true : undefined));
    expect(seenOf(id).map((s) => s.receiveCount)).toEqual([1, 2, 3]);
  });

  test('an invocation past the function timeout is killed, and its record is never deleted', async () => {
    const id = uid('sleep');
    const from = mark();
    const failures = () => since(from, 'function.failed', (p) => p.functionName === 'fixture-consumer');
    await h.events.send(new PutEventsCommand({ Entries: [entry(id, 'sleep')] }));
    // Every attempt outlasts the Timeout (the handler really runs, and sleeps a minute of real time
    // after reporting), so after maxReceiveCount receives the record is in the DLQ.
    for (let i = 1; i <= 3; i++) {
      await waitFor(`receive ${i} of 3 running`, () => (seenOf(id).length >= i ? true : undefined), 30000);
      await timeouts.advanceAsync(FUNCTION_TIMEOUT_MS - 1);
      expect(failures()).toHaveLength(i - 1);
      await timeouts.advanceAsync(1);
      await waitFor(`timeout ${i} of 3`, () => (failures().length >= i ? true : undefined), 30000);
      await clock.advanceAsync(VISIBILITY_MS);
    }
    const dead = await drain(h.sqs, h.queueUrl('fixture-work-dlq'), 1, 30000);
    expect(JSON.parse(dead[0]!.body).detail.id).toBe(id);
    await waitFor('the handler reports of all three receives', () => (seenOf(id).length >= 3 ? true : undefined));
    expect(failures().map((f) => f.errorType)).toEqual(['Sandbox.Timedout', 'Sandbox.Timedout', 'Sandbox.Timedout']);
    expect(failures()[0]!.errorMessage).toContain('Task timed out after 2.00 seconds');
    expect(since(from, 'message.deleted', (p) => p.queueName === 'fixture-work')).toEqual([]);
    const attempts = seenOf(id);
    expect(new Set(attempts.map((a) => a.requestId)).size).toBe(attempts.length);
    expect(attempts.map((a) => a.receiveCount)).toEqual([1, 2, 3]);
  });
});

describe('targets', () => {
  test('an input transformer shapes what the target receives, and the numeric filter selects', async () => {
    const big = uid('order');
    const small = uid('order');
    await h.events.send(
      new PutEventsCommand({ Entries: [entry(small, 'x', 'Transform', { amount: 50 }), entry(big, 'x', 'Transform', { amount: 150 })] }),
    );
    const [m] = await drain(h.sqs, h.queueUrl('Fixture-TransformedQueue'), 1);
    expect(JSON.parse(m!.body)).toEqual({ order: big, amount: 150, rule: 'Fixture-TransformRule' });
    const rest = await h.sqs.send(new ReceiveMessageCommand({ QueueUrl: h.queueUrl('Fixture-TransformedQueue') }));
    expect(rest.Messages ?? []).toHaveLength(0);
  });

  test('a rule with a Lambda target invokes the function asynchronously with the event', async () => {
    const id = uid('direct');
    const r = await h.events.send(new PutEventsCommand({ Entries: [entry(id, 'ok', 'Direct')] }));
    const s = await waitFor('the direct invocation', () => seenOf(id)[0]);
    expect(s).toMatchObject({ messageId: r.Entries![0]!.EventId, eventSourceARN: 'events', functionName: 'fixture-consumer' });
  });

  test('a delivery to a missing queue goes to the target DLQ with the attributes EventBridge adds', async () => {
    const id = uid('broken');
    const r = await h.events.send(new PutEventsCommand({ Entries: [entry(id, 'x', 'Broken')] }));
    const [m] = await drain(h.sqs, h.queueUrl('fixture-delivery-dlq'), 1);
    const event = JSON.parse(m!.body);
    expect(event).toMatchObject({
      id: r.Entries![0]!.EventId,
      source: 'fixture',
      'detail-type': 'Broken',
      account: '000000000000',
      region: 'us-east-1',
      detail: { id },
    });
    const attr = Object.fromEntries(Object.entries(m!.messageAttributes).map(([k, v]) => [k, v.StringValue]));
    expect(attr).toMatchObject({
      RULE_ARN: 'arn:aws:events:us-east-1:000000000000:rule/fixture-bus/fixture-broken',
      TARGET_ARN: 'arn:aws:sqs:us-east-1:000000000000:fixture-missing-queue',
      ERROR_CODE: 'SQS.NonExistentQueue',
      RETRY_ATTEMPTS: '0',
    });
  });
});

describe('archive and replay', () => {
  test('events archived on the bus are replayed to the rules named in the filter', async () => {
    // GIVEN events published and archived
    await clock.advanceAsync(5000); // events of earlier tests are out of the replayed window
    const start = new Date(clock.now() - 1000);
    const ids = [uid('replay'), uid('replay')];
    const put = await h.events.send(new PutEventsCommand({ Entries: ids.map((id) => entry(id, 'ok')) }));
    await waitFor('first delivery', () => (ids.every((id) => seenOf(id).length === 1) ? true : undefined));
    const archive = await h.events.send(new DescribeArchiveCommand({ ArchiveName: 'fixture-archive' }));
    expect(archive.EventCount).toBeGreaterThanOrEqual(2);
    // WHEN
    const name = uid('replay');
    await clock.advanceAsync(1100); // EventEndTime is in whole seconds and must not be in the future.
    const started = await h.events.send(
      new StartReplayCommand({
        ReplayName: name,
        EventSourceArn: archive.ArchiveArn,
        EventStartTime: start,
        EventEndTime: new Date(clock.now()),
        Destination: { Arn: archive.EventSourceArn, FilterArns: ['arn:aws:events:us-east-1:000000000000:rule/fixture-bus/fixture-work'] },
      }),
    );
    expect(started.State).toBe('STARTING');
    // THEN each archived event is handled a second time
    await waitFor('replayed deliveries', () => (ids.every((id) => seenOf(id).length === 2) ? true : undefined));
    const d = await h.events.send(new DescribeReplayCommand({ ReplayName: name }));
    expect(d.State).toBe('COMPLETED');
    expect(d.EventSourceArn).toBe(archive.ArchiveArn);
    expect(h.recorded.of('replay.started', (p) => p.replayName === name)).toEqual([
      { replayName: name, replayArn: started.ReplayArn, archiveName: 'fixture-archive', events: expect.any(Number) },
    ]);
    // The replayed events are the archived ones: same ids, marked with the replay's name.
    expect(
      h.recorded
        .of('event.published', (p) => p.replayName === name)
        .map((p) => p.eventId)
        .sort(),
    ).toEqual(put.Entries!.map((e) => e.EventId).sort());
  });
});

describe('the AWS CLI against EventBridge', () => {
  test('put-events, list-rules and test-event-pattern work unchanged', async () => {
    const id = uid('cli');
    const put = await aws(h.endpoint, 'events', 'put-events', '--entries', JSON.stringify([entry(id, 'ok')]));
    expect(put.code).toBe(0);
    expect(put.json.FailedEntryCount).toBe(0);
    await waitFor('the CLI event to be handled', () => seenOf(id)[0]);
    const rules = await aws(h.endpoint, 'events', 'list-rules', '--event-bus-name', 'fixture-bus');
    expect(rules.json.Rules.map((r: { Name: string }) => r.Name).sort()).toEqual([
      'Fixture-TransformRule',
      'fixture-broken',
      'fixture-direct',
      'fixture-work',
    ]);
    const ev = {
      id: '1',
      account: '000000000000',
      source: 'fixture',
      time: '2026-01-01T00:00:00Z',
      region: 'us-east-1',
      resources: [],
      'detail-type': 'Work',
      detail: { amount: 5 },
    };
    const t = await aws(
      h.endpoint,
      'events',
      'test-event-pattern',
      '--event-pattern',
      '{"detail":{"amount":[{"numeric":[">",3]}]}}',
      '--event',
      JSON.stringify(ev),
    );
    expect(t.json.Result).toBe(true);
  });
});
