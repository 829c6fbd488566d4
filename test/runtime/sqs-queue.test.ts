/**
 * The SQS state machine on a virtual clock: visibility, redrive counts, receipt handles,
 * dead-letter cycles and shutdown, observed through the runtime's event stream.
 */
import { inMemory } from './helpers';

let rt: ReturnType<typeof inMemory>;
beforeEach(() => (rt = inMemory()));
afterEach(() => rt.close());

const redrive = (dlqArn: string, maxReceiveCount: number) => ({
  RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount }),
});

describe('visibility and redrive on the clock', () => {
  test('a message not deleted is visible again exactly when its visibility timeout ends', () => {
    // GIVEN
    const q = rt.sqs.create('work', { VisibilityTimeout: '30' });
    const { messageId } = q.send({ body: 'x' });
    // WHEN
    expect(q.take(1)).toHaveLength(1);
    rt.clock.advance(29_999);
    // THEN
    expect(q.take(1)).toHaveLength(0);
    rt.clock.advance(1);
    expect(rt.recorded.of('message.visible-again')).toEqual([{ queueName: 'work', queueArn: q.arn, messageId, receiveCount: 1 }]);
    expect(q.take(1).map((m) => m.receiveCount)).toEqual([2]);
  });

  test('a delayed message becomes visible after DelaySeconds', () => {
    const q = rt.sqs.create('later');
    q.send({ body: 'x', delaySeconds: 90 });
    expect(q.counts).toMatchObject({ delayed: 1, ready: 0 });
    rt.clock.advance(89_999);
    expect(q.take(1)).toHaveLength(0);
    rt.clock.advance(1);
    expect(q.take(1)).toHaveLength(1);
  });

  test('a message moves to the DLQ on the receive after maxReceiveCount, with its source recorded', () => {
    // GIVEN
    const dlq = rt.sqs.create('dlq');
    const q = rt.sqs.create('work', { VisibilityTimeout: '10', ...redrive(dlq.arn, 3) });
    const { messageId } = q.send({ body: 'poison' });
    // WHEN it is received three times and never deleted
    for (let i = 0; i < 3; i++) {
      expect(q.take(1)).toHaveLength(1);
      rt.clock.advance(10_000);
    }
    // THEN the fourth receive moves it instead of returning it
    expect(q.take(1)).toHaveLength(0);
    expect(rt.recorded.of('message.received').map((r) => r.receiveCount)).toEqual([1, 2, 3]);
    expect(rt.recorded.of('message.dead-lettered')).toEqual([
      { queueName: 'work', queueArn: q.arn, messageId, receiveCount: 3, deadLetterQueueName: 'dlq', deadLetterQueueArn: dlq.arn },
    ]);
    const [moved] = dlq.take(1);
    expect(moved).toMatchObject({ messageId, body: 'poison', deadLetterSourceArn: q.arn });
  });

  test('long polling waits on the clock and returns as soon as a message arrives', async () => {
    const q = rt.sqs.create('poll');
    const empty = q.receive({ waitSeconds: 20 });
    await rt.clock.advanceAsync(20_000);
    expect(await empty).toEqual([]);
    const waiting = q.receive({ waitSeconds: 20 });
    await rt.clock.advanceAsync(5_000);
    q.send({ body: 'late' });
    expect((await waiting).map((m) => m.body)).toEqual(['late']);
  });

  test('messages past the retention period expire instead of being received', () => {
    const q = rt.sqs.create('short', { MessageRetentionPeriod: '60' });
    const { messageId } = q.send({ body: 'x' });
    rt.clock.advance(60_001);
    expect(q.take(1)).toHaveLength(0);
    expect(rt.recorded.of('message.expired')).toEqual([{ queueName: 'short', queueArn: q.arn, messageId, ageSeconds: 60 }]);
  });
});

describe('receipt handles', () => {
  test('the latest receipt handle deletes the message after its visibility timeout passed', () => {
    // GIVEN a message received and left to become visible again
    const q = rt.sqs.create('work', { VisibilityTimeout: '5' });
    const { messageId } = q.send({ body: 'x' });
    const [m] = q.take(1);
    rt.clock.advance(5_000);
    expect(q.counts.ready).toBe(1);
    // WHEN the last receive's handle deletes it
    expect(q.delete(m!.receiptHandle!)).toBe(true);
    // THEN it is gone, as in SQS
    expect(q.counts).toEqual({ ready: 0, inflight: 0, delayed: 0 });
    expect(q.take(1)).toHaveLength(0);
    expect(rt.recorded.of('message.deleted')).toEqual([{ queueName: 'work', queueArn: q.arn, messageId, receiveCount: 1 }]);
  });

  test('an older receipt handle succeeds without deleting once the message was received again', () => {
    const q = rt.sqs.create('work', { VisibilityTimeout: '5' });
    q.send({ body: 'x' });
    const [first] = q.take(1);
    const oldHandle = first!.receiptHandle!;
    rt.clock.advance(5_000);
    const [second] = q.take(1);
    expect(second!.receiptHandle).not.toBe(oldHandle);
    expect(q.delete(oldHandle)).toBe(false);
    expect(q.counts.inflight).toBe(1);
    expect(q.delete(second!.receiptHandle!)).toBe(true);
    expect(q.counts.inflight).toBe(0);
  });

  test('a message dead-lettered is no longer deleted by its source handle', () => {
    const dlq = rt.sqs.create('dlq');
    const q = rt.sqs.create('work', { VisibilityTimeout: '5', ...redrive(dlq.arn, 1) });
    q.send({ body: 'x' });
    const handle = q.take(1)[0]!.receiptHandle!;
    rt.clock.advance(5_000);
    expect(q.take(1)).toHaveLength(0); // moved
    expect(q.delete(handle)).toBe(false);
    expect(dlq.counts.ready).toBe(1);
  });
});

describe('dead-letter cycles', () => {
  test('a queue cannot name itself as its dead-letter queue', () => {
    const q = rt.sqs.create('self');
    expect(() => rt.sqs.setAttributes(q, redrive(q.arn, 1))).toThrow('Dead letter target can not be the queue itself');
    expect(q.settings.RedrivePolicy).toBeUndefined();
  });

  test('the dead-letter queue of a standard queue must be a standard queue', () => {
    const fifo = rt.sqs.create('dlq.fifo', { FifoQueue: 'true' });
    expect(() => rt.sqs.create('work', redrive(fifo.arn, 1))).toThrow('must also be a standard queue');
  });

  test('in a cycle A -> B -> A a message moves one hop per maxReceiveCount receives, never spins and is never duplicated', async () => {
    // GIVEN two queues that are each other's dead-letter queue
    const a = rt.sqs.create('a', { VisibilityTimeout: '1' });
    const b = rt.sqs.create('b', { VisibilityTimeout: '1', ...redrive(a.arn, 1) });
    rt.sqs.setAttributes(a, redrive(b.arn, 1));
    const { messageId } = a.send({ body: 'x' });
    // WHEN consumers long-poll both queues and never delete
    const polls = [a, b].map(async (q) => {
      for (let i = 0; i < 6; i++) await q.receive({ waitSeconds: 20 });
    });
    for (let i = 0; i < 12; i++) await rt.clock.advanceAsync(1_000);
    // THEN each receive moved it at most one hop, and there is always exactly one copy
    const moves = rt.recorded.of('message.dead-lettered');
    expect(moves.length).toBeGreaterThanOrEqual(2);
    expect(moves.length).toBeLessThanOrEqual(rt.recorded.of('message.received').length);
    expect(moves.every((m) => m.messageId === messageId)).toBe(true);
    const total = (q: typeof a) => q.counts.ready + q.counts.inflight + q.counts.delayed;
    expect(total(a) + total(b)).toBe(1);
    rt.close();
    await Promise.all(polls);
  });
});

describe('shutdown', () => {
  test('close() releases long polls and stops timers whatever the queues hold', async () => {
    // GIVEN queues with delayed, in-flight, visible and redriving messages, and waiting long polls
    const dlq = rt.sqs.create('dlq');
    const q = rt.sqs.create('busy', { VisibilityTimeout: '600', ...redrive(dlq.arn, 1) });
    q.send({ body: 'delayed', delaySeconds: 900 });
    q.send({ body: 'inflight' });
    q.take(1);
    q.send({ body: 'visible' });
    const empty = rt.sqs.create('empty');
    const polls = [empty.receive({ waitSeconds: 20 }), dlq.receive({ waitSeconds: 20 })];
    rt.sqs.startMoveTask(dlq.arn);
    // WHEN
    rt.sqs.close();
    // THEN every poll returns without the clock moving, and no timer is left
    await expect(Promise.all(polls)).resolves.toEqual([[], []]);
    expect(rt.clock.pending).toBe(0);
  });
});

describe('move tasks', () => {
  test('a move task returns DLQ messages to their source with a fresh receive count', async () => {
    const dlq = rt.sqs.create('dlq');
    const q = rt.sqs.create('work', { VisibilityTimeout: '1', ...redrive(dlq.arn, 1) });
    const { messageId } = q.send({ body: 'x' });
    q.take(1);
    rt.clock.advance(1_000);
    q.take(1);
    const task = rt.sqs.startMoveTask(dlq.arn);
    await rt.clock.advanceAsync(0);
    expect(task).toMatchObject({ status: 'COMPLETED', moved: 1, toMove: 1 });
    expect(rt.recorded.of('message.moved')).toEqual([
      { queueName: 'dlq', queueArn: dlq.arn, messageId, destinationName: 'work', destinationArn: q.arn, taskHandle: task.taskHandle },
    ]);
    expect(q.take(1).map((m) => m.receiveCount)).toEqual([1]);
  });

  test('a paced move task moves MaxNumberOfMessagesPerSecond per second of the clock', async () => {
    const dlq = rt.sqs.create('dlq');
    rt.sqs.create('work', redrive(dlq.arn, 1));
    for (let i = 0; i < 5; i++) dlq.send({ body: `m${i}` });
    const task = rt.sqs.startMoveTask(dlq.arn, undefined, 2);
    await rt.clock.advanceAsync(0);
    expect(task.moved).toBe(2);
    await rt.clock.advanceAsync(1_000);
    expect(task.moved).toBe(4);
    await rt.clock.advanceAsync(1_000);
    expect(task).toMatchObject({ moved: 5, status: 'COMPLETED' });
  });
});
