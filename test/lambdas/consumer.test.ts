import { processPartialResponse, FullBatchFailureError } from '@aws-lambda-powertools/batch';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import type { SQSEvent } from 'aws-lambda';
import { LoanApplicationApproved, LoanApplicationSubmitted, loanCatalog } from '../../catalog/loans';
import { EventPublisher } from '../../sdk';
import { createConsumer, route, type ConsumedEvent } from '../../sdk/consumer';
import { submittedData, submittedEntry } from '../sdk/factories';
import { captureOutput, eventBridgeEvent, lambdaContext, sqsEvent, sqsRecord, startLocalAws, type LocalAws } from './support';

let aws: LocalAws;
beforeAll(async () => {
  aws = await startLocalAws('test-consumer');
});
afterAll(async () => {
  await aws.close();
});

/** A consumer whose route records each call, and fails for application ids listed in `failing`. */
function testConsumer() {
  const calls: ConsumedEvent<typeof LoanApplicationSubmitted>[] = [];
  const failing = new Map<string, number>();
  /** Application ids whose handling takes a while, to hold the idempotency record in progress. */
  const slow = new Set<string>();
  const consumer = createConsumer({
    catalog: loanCatalog,
    name: 'test-consumer',
    routes: [
      route(LoanApplicationSubmitted, async (event) => {
        calls.push(event);
        event.logger.info('handling');
        if (slow.has(event.data.applicationId)) await new Promise((r) => setTimeout(r, 300));
        const left = failing.get(event.data.applicationId) ?? 0;
        if (left > 0) {
          failing.set(event.data.applicationId, left - 1);
          throw new Error(`downstream unavailable for ${event.data.applicationId}`);
        }
      }),
    ],
  });
  const handler = consumer.instrument(async (event: SQSEvent, context) =>
    processPartialResponse(event, consumer.recordHandler, consumer.processor, { context }),
  );
  const invoke = (event: SQSEvent) => captureOutput(() => handler(event, lambdaContext()));
  return { calls, failing, slow, invoke };
}

const submitted = (applicationId: string, id?: string, correlationId = `corr-${applicationId}`) =>
  eventBridgeEvent(
    LoanApplicationSubmitted,
    { metadata: { correlationId, schemaVersion: '1' }, data: submittedData({ applicationId }) },
    id,
  );

describe('consumer', () => {
  test('dispatches each valid record to its route with the parsed event', async () => {
    // Prepare
    const { calls, invoke } = testConsumer();
    const records = [sqsRecord(submitted('app-a1')), sqsRecord(submitted('app-a2'))];
    // Act
    const { result } = await invoke(sqsEvent(...records));
    // Assess
    expect(result).toEqual({ batchItemFailures: [] });
    expect(calls.map((c) => c.data.applicationId).sort()).toEqual(['app-a1', 'app-a2']);
    const first = calls.find((c) => c.data.applicationId === 'app-a1');
    expect(first).toMatchObject({
      source: LoanApplicationSubmitted.source,
      detailType: 'LoanApplicationSubmitted',
      metadata: { correlationId: 'corr-app-a1', schemaVersion: '1' },
      messageId: records[0]!.messageId,
      receiveCount: 1,
    });
  });

  test('reports only the failed record when one of a batch fails', async () => {
    const { failing, invoke } = testConsumer();
    failing.set('app-b2', 1);
    const records = ['app-b1', 'app-b2', 'app-b3'].map((a) => sqsRecord(submitted(a)));
    const { result, lines } = await invoke(sqsEvent(...records));
    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: records[1]!.messageId }] });
    const failure = lines.find((l) => l.message === 'Event processing failed; it will be retried');
    expect(failure).toMatchObject({
      level: 'ERROR',
      correlationId: 'corr-app-b2',
      messageId: records[1]!.messageId,
      error: { message: 'downstream unavailable for app-b2' },
    });
  });

  test.each([
    ['a body that is not JSON', 'not json', 'body', /Invalid JSON/],
    [
      'an envelope without an id',
      (() => {
        const { id: _id, ...rest } = submitted('app-c1');
        return rest;
      })(),
      'body.id',
      /expected string/,
    ],
    [
      'a detail that fails the catalog schema',
      eventBridgeEvent(LoanApplicationSubmitted, {
        metadata: { correlationId: 'c', schemaVersion: '1' },
        data: submittedData({ amount: -5 }),
      }),
      'body.detail.data.amount',
      /expected number to be >0/,
    ],
    [
      'a detail without metadata',
      eventBridgeEvent(LoanApplicationSubmitted, { data: submittedData() }),
      'body.detail.metadata',
      /expected object/,
    ],
  ])('fails a record with %s, logging the field, without calling the route', async (_name, body, field, reason) => {
    const { calls, invoke } = testConsumer();
    const good = sqsRecord(submitted('app-c2'));
    const bad = sqsRecord(body);
    const { result, lines } = await invoke(sqsEvent(good, bad));
    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: bad.messageId }] });
    expect(calls.map((c) => c.data.applicationId)).toEqual(['app-c2']);
    const logged = lines.find((l) => l.message === 'Event can never be processed; it will reach the DLQ');
    expect(logged).toMatchObject({ messageId: bad.messageId, error: { name: 'InvalidEventError' } });
    expect((logged?.error as { message: string }).message).toContain(`Invalid event in SQS record ${bad.messageId}: ${field}: `);
    // The reason and each schema issue, not the stack: the line repeats on every receive.
    expect(logged).toMatchObject({ field });
    expect((logged?.error as { stack?: string }).stack).toBeUndefined();
    expect(Array.isArray(logged?.issues) || logged?.issues === undefined).toBe(true);
    expect((logged?.error as { message: string }).message).toMatch(reason);
  });

  test('fails a record of an event type it has no route for', async () => {
    const { calls, invoke } = testConsumer();
    const other = sqsRecord(eventBridgeEvent(LoanApplicationApproved, { metadata: { correlationId: 'c', schemaVersion: '1' }, data: {} }));
    const good = sqsRecord(submitted('app-d1'));
    const { result, lines } = await invoke(sqsEvent(other, good));
    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: other.messageId }] });
    expect(calls).toHaveLength(1);
    expect(lines.find((l) => l.message === 'Event can never be processed; it will reach the DLQ')).toMatchObject({
      error: {
        name: 'UnknownEventTypeError',
        message: `SQS record ${other.messageId} holds event type ${LoanApplicationApproved.source} / LoanApplicationApproved, which consumer 'test-consumer' has no route for`,
      },
    });
  });

  test('throws FullBatchFailureError when every record fails, so the whole batch is retried', async () => {
    const { invoke } = testConsumer();
    await expect(invoke(sqsEvent(sqsRecord('x'), sqsRecord('y')))).rejects.toThrow(FullBatchFailureError);
  });
});

describe('consumer idempotency (dynalite)', () => {
  test('processes a duplicate delivery of the same event once, even with a new SQS message id', async () => {
    // Prepare: the same EventBridge event in two SQS messages, as after a redrive or a duplicate delivery
    const { calls, invoke } = testConsumer();
    const event = submitted('app-e1', 'evt-dup-1');
    // Act
    const first = await invoke(sqsEvent(sqsRecord(event)));
    const second = await invoke(sqsEvent(sqsRecord(event, { attributes: { ...sqsRecord('').attributes, ApproximateReceiveCount: '2' } })));
    // Assess
    expect(first.result).toEqual({ batchItemFailures: [] });
    expect(second.result).toEqual({ batchItemFailures: [] });
    expect(calls).toHaveLength(1);
    expect(second.lines.find((l) => l.message === 'Event already processed; duplicate delivery skipped')).toMatchObject({
      eventId: 'evt-dup-1',
      correlationId: 'corr-app-e1',
    });
    // The idempotency record is keyed by consumer name and a hash of the event id, with a TTL.
    const metrics = second.lines.find((l) => l._aws !== undefined && 'DuplicateEventsSkipped' in l);
    expect(metrics).toMatchObject({ DuplicateEventsSkipped: 1, service: 'test-consumer' });
  });

  test('does not mark a failed event as done, so its retry runs again', async () => {
    const { calls, failing, invoke } = testConsumer();
    failing.set('app-f1', 1);
    const event = submitted('app-f1', 'evt-retry-1');
    const record = sqsRecord(event);
    const first = await invoke(sqsEvent(record, sqsRecord(submitted('app-f2'))));
    expect(first.result).toEqual({ batchItemFailures: [{ itemIdentifier: record.messageId }] });
    const retry = await invoke(sqsEvent(record));
    expect(retry.result).toEqual({ batchItemFailures: [] });
    expect(calls.filter((c) => c.id === 'evt-retry-1')).toHaveLength(2);
    const again = await invoke(sqsEvent(sqsRecord(event)));
    expect(again.result).toEqual({ batchItemFailures: [] });
    expect(calls.filter((c) => c.id === 'evt-retry-1')).toHaveLength(2);
  });

  test('runs one of two copies in the same batch and fails the other while the first is in progress', async () => {
    const { calls, slow, invoke } = testConsumer();
    slow.add('app-g1');
    const event = submitted('app-g1', 'evt-same-batch');
    const a = sqsRecord(event);
    const b = sqsRecord(event);
    const { result } = await invoke(sqsEvent(a, b, sqsRecord(submitted('app-g2'))));
    expect(calls.filter((c) => c.id === 'evt-same-batch')).toHaveLength(1);
    expect(result.batchItemFailures).toHaveLength(1);
    // The failed copy comes back from the queue later and is recognised as done.
    const failedCopy = result.batchItemFailures[0]!.itemIdentifier === a.messageId ? a : b;
    const redelivery = await invoke(sqsEvent(failedCopy));
    expect(redelivery.result).toEqual({ batchItemFailures: [] });
    expect(calls.filter((c) => c.id === 'evt-same-batch')).toHaveLength(1);
  });

  test('stores the idempotency record under the consumer name with an expiration', async () => {
    const { invoke } = testConsumer();
    await invoke(sqsEvent(sqsRecord(submitted('app-h1', 'evt-stored'))));
    const { createHash } = await import('node:crypto');
    const id = `test-consumer#${createHash('md5').update(JSON.stringify('evt-stored')).digest('base64')}`;
    const item = await aws.dynamodb.send(new GetItemCommand({ TableName: 'test-consumer-idempotency', Key: { id: { S: id } } }));
    expect(item.Item?.status?.S).toBe('COMPLETED');
    expect(Number(item.Item?.expiration?.N)).toBeGreaterThan(Date.now() / 1000 + 13 * 24 * 3600);
  });
});

describe('correlation', () => {
  test('logs the correlation id on every line of a record, and publishes responses with it and the event id as cause', async () => {
    const publisher = new EventPublisher({ eventBusName: 'loans', catalog: loanCatalog });
    const consumer = createConsumer({
      catalog: loanCatalog,
      name: 'test-consumer',
      routes: [
        route(LoanApplicationSubmitted, async (event) => {
          event.logger.info('publishing a follow-up');
          await publisher.publish([submittedEntry(99)]);
        }),
      ],
    });
    const before = aws.eventBridge.accepted.length;
    const { lines } = await captureOutput(() =>
      consumer.instrument(async (e: SQSEvent, context) =>
        processPartialResponse(e, consumer.recordHandler, consumer.processor, { context }),
      )(sqsEvent(sqsRecord(submitted('app-i1', 'evt-cause', 'corr-chain'))), lambdaContext()),
    );
    const [published] = aws.eventBridge.accepted.slice(before);
    expect(JSON.parse(published!.Detail ?? '').metadata).toEqual({
      correlationId: 'corr-chain',
      causationId: 'evt-cause',
      schemaVersion: '1',
    });
    const logLines = lines.filter((l) => typeof l.message === 'string');
    expect(logLines.map((l) => l.message)).toEqual(['publishing a follow-up', 'Event processed']);
    for (const line of logLines)
      expect(line).toMatchObject({ correlationId: 'corr-chain', eventId: 'evt-cause', detailType: 'LoanApplicationSubmitted' });
  });
});

describe('createConsumer', () => {
  test('refuses routes that differ from the consumer subscriptions in the catalog', () => {
    expect(() => createConsumer({ catalog: loanCatalog, name: 'underwriting', routes: [] })).toThrow(
      `Consumer 'underwriting' subscribes to ${LoanApplicationSubmitted.source} / LoanApplicationSubmitted in the catalog but has no route for it`,
    );
    expect(() =>
      createConsumer({
        catalog: loanCatalog,
        name: 'underwriting',
        routes: [route(LoanApplicationSubmitted, async () => undefined), route(LoanApplicationApproved, async () => undefined)],
      }),
    ).toThrow(
      `Consumer 'underwriting' has a route for ${LoanApplicationApproved.source} / LoanApplicationApproved, which it does not subscribe to in the catalog`,
    );
  });

  test('refuses to run without an idempotency table', () => {
    const saved = process.env.IDEMPOTENCY_TABLE_NAME;
    delete process.env.IDEMPOTENCY_TABLE_NAME;
    try {
      expect(() => createConsumer({ catalog: loanCatalog, name: 'test-consumer', routes: [] })).toThrow(
        "Consumer 'test-consumer' needs an idempotency table: pass idempotency.tableName or set IDEMPOTENCY_TABLE_NAME",
      );
    } finally {
      process.env.IDEMPOTENCY_TABLE_NAME = saved;
    }
  });
});
