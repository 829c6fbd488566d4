/**
 * The SQS event source mapping on the virtual clock: batching window, partial batch
 * failures and the stream events of each invocation. The function is a plain object with
 * the invoke() contract of lambda.ts, so the mapping is tested without worker threads.
 */
import { SqsEventSource, type MappedFunction } from '../../runtime/esm';
import type { InvocationOutcome } from '../../runtime/events';
import { inMemory, waitFor } from './helpers';

let rt: ReturnType<typeof inMemory>;
let mapping: SqsEventSource | undefined;
afterEach(async () => {
  await mapping?.close();
  rt.close();
});

/** A function that records each batch's message bodies and answers with `answer`. */
function fakeFunction(answer: (records: { messageId: string; body: string }[]) => InvocationOutcome) {
  const batches: string[][] = [];
  const fn: MappedFunction = {
    name: 'consumer',
    arn: 'arn:aws:lambda:us-east-1:000000000000:function:consumer',
    invoke: async (payload) => {
      const records = (JSON.parse(payload) as { Records: { messageId: string; body: string }[] }).Records;
      batches.push(records.map((r) => r.body));
      return answer(records);
    },
  };
  return { fn, batches };
}

function start(fn: MappedFunction, queueArn: string, window: number, reportBatchItemFailures = false): SqsEventSource {
  const def = {
    uuid: 'm1',
    functionName: fn.name,
    eventSourceArn: queueArn,
    batchSize: 10,
    maximumBatchingWindowInSeconds: window,
    reportBatchItemFailures,
    enabled: true,
  };
  const m = new SqsEventSource({ def, sqs: rt.sqs, fn, clock: rt.clock, stream: rt.stream, region: 'us-east-1' });
  m.start();
  return m;
}

test('a batch waits for its batching window on the clock, then carries every message that arrived in it', async () => {
  // GIVEN a mapping with a 5-second batching window
  rt = inMemory();
  const q = rt.sqs.create('work');
  const { fn, batches } = fakeFunction(() => ({ ok: true, payload: 'null', durationMs: 1 }));
  mapping = start(fn, q.arn, 5);
  // WHEN one message arrives, then another 4 s later
  q.send({ body: 'a' });
  await rt.clock.advanceAsync(4_000);
  q.send({ body: 'b' });
  await rt.clock.advanceAsync(999);
  // THEN nothing is invoked before the window ends, and one batch of both after
  expect(batches).toEqual([]);
  await rt.clock.advanceAsync(1);
  await waitFor('the batch', () => (batches.length > 0 ? true : undefined));
  expect(batches).toEqual([['a', 'b']]);
  await waitFor('the deletes', () => (q.counts.inflight === 0 ? true : undefined));
  expect(rt.recorded.of('function.completed')).toEqual([expect.objectContaining({ functionName: 'consumer', ok: 2, failed: 0 })]);
  expect(rt.recorded.of('message.deleted')).toHaveLength(2);
});

test('records reported in batchItemFailures stay and come back after the visibility timeout; the rest are deleted', async () => {
  rt = inMemory();
  const q = rt.sqs.create('work', { VisibilityTimeout: '30' });
  const { fn, batches } = fakeFunction((records) => ({
    ok: true,
    payload: JSON.stringify({ batchItemFailures: records.filter((r) => r.body === 'bad').map((r) => ({ itemIdentifier: r.messageId })) }),
    durationMs: 1,
  }));
  mapping = start(fn, q.arn, 0, true);
  q.send({ body: 'good' });
  q.send({ body: 'bad' });
  await waitFor('the first batch', () => (rt.recorded.of('batch.item-failed').length > 0 ? true : undefined));
  const [failed] = rt.recorded.of('batch.item-failed');
  expect(failed).toMatchObject({ functionName: 'consumer', queueName: 'work', reason: 'reported in batchItemFailures' });
  expect(failed!.messageIds).toHaveLength(1);
  expect(q.counts).toMatchObject({ ready: 0, inflight: 1 });
  await rt.clock.advanceAsync(30_000);
  await waitFor('the retry', () => (batches.length > 1 ? true : undefined));
  expect(batches.slice(-1)).toEqual([['bad']]);
});
