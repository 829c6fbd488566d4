/** The notifications function as deployed, against dynalite and the local PutEvents server. */
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { LoanApplicationApproved, LoanApplicationRejected } from '../../catalog/loans';
import { approvalMessage, rejectionMessage } from '../../lambdas/notifications/notification';
import { eventBridgeEvent, sqsEvent, sqsRecord, useConsumerFunction } from './support';

const fn = useConsumerFunction('notifications', () => import('../../lambdas/notifications'));
const invoke = fn.invoke;

beforeEach(() => {
  fn.aws.eventBridge.accepted.length = 0;
  fn.aws.eventBridge.failEntry = undefined;
});

const approved = (applicationId: string) => ({
  applicationId,
  applicantId: 'applicant-1',
  email: 'ada@example.com',
  amount: 200_000,
  currency: 'EUR' as const,
  termMonths: 240,
  annualRatePercent: 6,
  monthlyPayment: 1432.86,
  decidedAt: '2026-01-15T10:00:01Z',
});
const rejected = (applicationId: string) => ({
  applicationId,
  applicantId: 'applicant-2',
  email: 'bob@example.com',
  amount: 50_000,
  currency: 'GBP' as const,
  reasons: ['CREDIT_SCORE_TOO_LOW' as const, 'TERM_OUT_OF_POLICY' as const],
  decidedAt: '2026-01-15T10:00:01Z',
});
const records = async (applicationId: string) =>
  ((await fn.aws.dynamodb.send(new ScanCommand({ TableName: 'notifications-state' }))).Items ?? [])
    .map((i) => unmarshall(i))
    .filter((i) => i.applicationId === applicationId);
const notified = () =>
  fn.aws.eventBridge.accepted.filter((e) => e.DetailType === 'ApplicantNotified').map((e) => JSON.parse(e.Detail ?? '{}'));

describe('messages', () => {
  test('an approval states amount, term, rate and payment', () => {
    expect(approvalMessage(approved('app-1'))).toEqual({
      template: 'loan-approved',
      subject: 'Your loan application app-1 is approved',
      body: 'We are pleased to offer you €200,000.00 over 240 months at 6% a year, a monthly payment of €1,432.86.',
    });
  });

  test('a rejection gives every reason in plain words', () => {
    expect(rejectionMessage(rejected('app-2')).body).toBe(
      'We cannot offer you a loan of £50,000.00 because your credit score is below our minimum; the term is longer than we offer for this purpose.',
    );
  });
});

describe('handler', () => {
  test('records the notification and publishes ApplicantNotified with the same ids', async () => {
    const event = eventBridgeEvent(
      LoanApplicationApproved,
      { metadata: { correlationId: 'corr-n1', causationId: 'evt-sub', schemaVersion: '1' }, data: approved('app-n1') },
      'evt-n1',
    );
    const { result } = await invoke(sqsEvent(sqsRecord(event)));
    expect(result).toEqual({ batchItemFailures: [] });
    const [record] = await records('app-n1');
    expect(record).toMatchObject({
      pk: 'APPLICATION#app-n1',
      sk: 'NOTIFICATION#loan-approved',
      channel: 'email',
      recipient: 'ada@example.com',
      correlationId: 'corr-n1',
      causationId: 'evt-n1',
      ...approvalMessage(approved('app-n1')),
    });
    expect(notified()).toEqual([
      {
        metadata: { correlationId: 'corr-n1', causationId: 'evt-n1', schemaVersion: '1' },
        data: {
          applicationId: 'app-n1',
          applicantId: 'applicant-1',
          notificationId: record!.notificationId,
          channel: 'email',
          template: 'loan-approved',
          sentAt: record!.sentAt,
        },
      },
    ]);
  });

  test('handles a rejection with the rejection template', async () => {
    const event = eventBridgeEvent(LoanApplicationRejected, {
      metadata: { correlationId: 'corr-n2', schemaVersion: '1' },
      data: rejected('app-n2'),
    });
    await invoke(sqsEvent(sqsRecord(event)));
    expect((await records('app-n2')).map((r) => r.template)).toEqual(['loan-rejected']);
    expect(notified().map((n) => n.data.template)).toEqual(['loan-rejected']);
  });

  test('reuses the first record when publishing failed, so the retry announces the same notification', async () => {
    fn.aws.eventBridge.failEntry = (entry) => (entry.Detail?.includes('app-n3') ? 'NotAuthorizedForSourceException' : undefined);
    const record = sqsRecord(
      eventBridgeEvent(
        LoanApplicationApproved,
        { metadata: { correlationId: 'corr-n3', schemaVersion: '1' }, data: approved('app-n3') },
        'evt-n3',
      ),
    );
    const other = sqsRecord(
      eventBridgeEvent(
        LoanApplicationApproved,
        { metadata: { correlationId: 'corr-n5', schemaVersion: '1' }, data: approved('app-n5') },
        'evt-n5',
      ),
    );
    const first = await invoke(sqsEvent(record, other));
    expect(first.result).toEqual({ batchItemFailures: [{ itemIdentifier: record.messageId }] });
    const [stored] = await records('app-n3');
    fn.aws.eventBridge.failEntry = undefined;
    const retry = await invoke(sqsEvent(record));
    expect(retry.result).toEqual({ batchItemFailures: [] });
    expect(await records('app-n3')).toEqual([stored]);
    expect(
      notified()
        .filter((n) => n.data.applicationId === 'app-n3')
        .map((n) => n.data.notificationId),
    ).toEqual([stored!.notificationId]);
  });

  test('a decision published twice (two event ids) still leaves one notification record', async () => {
    const detail = { metadata: { correlationId: 'corr-n4', schemaVersion: '1' }, data: approved('app-n4') };
    await invoke(sqsEvent(sqsRecord(eventBridgeEvent(LoanApplicationApproved, detail, 'evt-n4a'))));
    await invoke(sqsEvent(sqsRecord(eventBridgeEvent(LoanApplicationApproved, detail, 'evt-n4b'))));
    const stored = await records('app-n4');
    expect(stored).toHaveLength(1);
    expect(new Set(notified().map((n) => n.data.notificationId))).toEqual(new Set([stored[0]!.notificationId]));
  });
});
