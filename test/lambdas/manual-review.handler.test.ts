/** The manual-review function as deployed, against dynalite. */
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { LoanApplicationSubmitted, MANUAL_REVIEW_THRESHOLD } from '../../catalog/loans';
import { HIGH_PRIORITY_AMOUNT, priorityOf, reviewCaseFor } from '../../lambdas/manual-review/review-case';
import { submittedData } from '../sdk/factories';
import { eventBridgeEvent, sqsEvent, sqsRecord, useConsumerFunction } from './support';

const fn = useConsumerFunction('manual-review', () => import('../../lambdas/manual-review'));
const invoke = fn.invoke;

const cases = async () =>
  ((await fn.aws.dynamodb.send(new ScanCommand({ TableName: 'manual-review-state' }))).Items ?? []).map((i) => unmarshall(i));
const submitted = (applicationId: string, amount: number, id?: string) =>
  eventBridgeEvent(
    LoanApplicationSubmitted,
    { metadata: { correlationId: `corr-${applicationId}`, schemaVersion: '1' }, data: submittedData({ applicationId, amount }) },
    id,
  );

describe('review cases', () => {
  test('priority is HIGH from the high-priority amount up', () => {
    expect(priorityOf(HIGH_PRIORITY_AMOUNT - 1)).toBe('NORMAL');
    expect(priorityOf(HIGH_PRIORITY_AMOUNT)).toBe('HIGH');
  });

  test('a case is due 24 hours after opening when HIGH, 72 when NORMAL', () => {
    const ids = { caseId: 'case-1', correlationId: 'c', causationId: 'e' };
    const openedAt = new Date('2026-01-15T10:00:00Z');
    expect(reviewCaseFor(submittedData({ amount: 2_000_000 }), ids, openedAt).dueBy).toBe('2026-01-16T10:00:00.000Z');
    expect(reviewCaseFor(submittedData({ amount: MANUAL_REVIEW_THRESHOLD }), ids, openedAt).dueBy).toBe('2026-01-18T10:00:00.000Z');
  });
});

describe('handler', () => {
  test('opens one review case per application, whatever how often it arrives', async () => {
    const { result } = await invoke(
      sqsEvent(sqsRecord(submitted('app-m1', 300_000, 'evt-m1')), sqsRecord(submitted('app-m2', 1_500_000, 'evt-m2'))),
    );
    expect(result).toEqual({ batchItemFailures: [] });
    // The same application submitted again under a new event id.
    await invoke(sqsEvent(sqsRecord(submitted('app-m1', 300_000, 'evt-m1-again'))));
    const stored = await cases();
    expect(stored).toHaveLength(2);
    expect(stored.find((c) => c.applicationId === 'app-m1')).toMatchObject({
      pk: 'APPLICATION#app-m1',
      sk: 'REVIEW_CASE',
      status: 'OPEN',
      priority: 'NORMAL',
      amount: 300_000,
      correlationId: 'corr-app-m1',
      causationId: 'evt-m1',
    });
    expect(stored.find((c) => c.applicationId === 'app-m2')).toMatchObject({ priority: 'HIGH' });
  });
});
