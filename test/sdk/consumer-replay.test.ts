/**
 * Replay semantics of the consumer's idempotency: an event an archive replay sends again is
 * processed once more per replay, while duplicates within a replay are still skipped.
 */
import { processPartialResponse } from '@aws-lambda-powertools/batch';
import type { SQSEvent } from 'aws-lambda';
import { LoanApplicationSubmitted, loanCatalog } from '../../catalog/loans';
import { createConsumer, idempotencyKeyOf, route } from '../../sdk/consumer';
import { captureOutput, eventBridgeEvent, lambdaContext, sqsEvent, sqsRecord, startLocalAws, type LocalAws } from '../lambdas/support';
import { submittedData } from './factories';

let aws: LocalAws;
beforeAll(async () => {
  aws = await startLocalAws('replay-consumer');
});
afterAll(async () => {
  await aws.close();
});

function countingConsumer() {
  const seen: Array<{ id: string; replayName?: string }> = [];
  const consumer = createConsumer({
    catalog: loanCatalog,
    name: 'replay-consumer',
    routes: [
      route(LoanApplicationSubmitted, async (event) => {
        seen.push({ id: event.id, ...(event.replayName ? { replayName: event.replayName } : {}) });
      }),
    ],
  });
  const handler = consumer.instrument(async (event: SQSEvent, context) =>
    processPartialResponse(event, consumer.recordHandler, consumer.processor, { context }),
  );
  return { seen, invoke: (event: SQSEvent) => captureOutput(() => handler(event, lambdaContext())) };
}

const submitted = (applicationId: string, id: string, replayName?: string) => ({
  ...eventBridgeEvent(
    LoanApplicationSubmitted,
    { metadata: { correlationId: `c-${applicationId}`, schemaVersion: '1' }, data: submittedData({ applicationId }) },
    id,
  ),
  ...(replayName ? { 'replay-name': replayName } : {}),
});

describe('idempotencyKeyOf', () => {
  test('is the bare event id for a first delivery, and adds the replay name for a replayed event', () => {
    expect(idempotencyKeyOf({ id: 'e-1' })).toBe('e-1');
    expect(idempotencyKeyOf({ id: 'e-1', 'replay-name': 'fix-42' })).toBe('e-1#replay:fix-42');
    expect(idempotencyKeyOf({ id: 'e-1', 'replay-name': '' })).toBe('e-1');
  });
});

describe('consumer and archive replays (dynalite)', () => {
  test('processes a replayed event again once per replay, and skips duplicates within a replay', async () => {
    // Prepare
    const { seen, invoke } = countingConsumer();
    const id = 'evt-replayed-1';
    // Act: first delivery, a duplicate of it, a replay, a duplicate within that replay, a second replay
    await invoke(sqsEvent(sqsRecord(submitted('app-r1', id))));
    await invoke(sqsEvent(sqsRecord(submitted('app-r1', id))));
    const replayed = await invoke(sqsEvent(sqsRecord(submitted('app-r1', id, 'replay-a'))));
    const dupInReplay = await invoke(sqsEvent(sqsRecord(submitted('app-r1', id, 'replay-a'))));
    await invoke(sqsEvent(sqsRecord(submitted('app-r1', id, 'replay-b'))));
    // Assess
    expect(seen).toEqual([{ id }, { id, replayName: 'replay-a' }, { id, replayName: 'replay-b' }]);
    // The log lines carry the replay name, so an operator (and `replay`) can count per replay.
    expect(replayed.lines.find((l) => l.message === 'Event processed')).toMatchObject({ eventId: id, replayName: 'replay-a' });
    expect(dupInReplay.lines.find((l) => l.message === 'Event already processed; duplicate delivery skipped')).toMatchObject({
      eventId: id,
      replayName: 'replay-a',
    });
  });
});
