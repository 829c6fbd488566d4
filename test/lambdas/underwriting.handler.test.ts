/** The underwriting function as deployed: its bundle entry, against dynalite and the local PutEvents server. */
import { LoanApplicationSubmitted } from '../../catalog/loans';
import { submittedData } from '../sdk/factories';
import { eventBridgeEvent, sqsEvent, sqsRecord, useConsumerFunction } from './support';

const fn = useConsumerFunction('underwriting', () => import('../../lambdas/underwriting'));
const invoke = fn.invoke;

beforeEach(() => {
  fn.aws.eventBridge.accepted.length = 0;
  fn.aws.eventBridge.failEntry = undefined;
});

const submitted = (id: string, data = submittedData()) =>
  eventBridgeEvent(LoanApplicationSubmitted, { metadata: { correlationId: `corr-${id}`, schemaVersion: '1' }, data }, id);
const published = () =>
  fn.aws.eventBridge.accepted.map((e) => ({
    detailType: e.DetailType,
    source: e.Source,
    bus: e.EventBusName,
    ...JSON.parse(e.Detail ?? '{}'),
  }));

test('approves a sound application and publishes LoanApplicationApproved with the correlation and cause', async () => {
  const { result } = await invoke(sqsEvent(sqsRecord(submitted('evt-u1', submittedData({ applicationId: 'app-u1' })))));
  expect(result).toEqual({ batchItemFailures: [] });
  expect(published()).toEqual([
    {
      detailType: 'LoanApplicationApproved',
      source: 'com.example.loans.underwriting',
      bus: 'loans',
      metadata: { correlationId: 'corr-evt-u1', causationId: 'evt-u1', schemaVersion: '1' },
      data: expect.objectContaining({
        applicationId: 'app-u1',
        applicantId: 'applicant-1',
        amount: 200_000,
        currency: 'EUR',
        termMonths: 240,
        annualRatePercent: 6,
        monthlyPayment: 1432.86,
      }),
    },
  ]);
});

test('rejects an application with reason codes', async () => {
  const data = submittedData({ applicationId: 'app-u2', applicant: { ...submittedData().applicant, creditScore: 550 } });
  const { result } = await invoke(sqsEvent(sqsRecord(submitted('evt-u2', data))));
  expect(result).toEqual({ batchItemFailures: [] });
  expect(published()).toEqual([
    expect.objectContaining({
      detailType: 'LoanApplicationRejected',
      data: expect.objectContaining({ applicationId: 'app-u2', reasons: ['CREDIT_SCORE_TOO_LOW'] }),
    }),
  ]);
});

test('fails the record when its decision cannot be published, and publishes it once on the retry', async () => {
  fn.aws.eventBridge.failEntry = (entry) => (entry.Detail?.includes('app-u3') ? 'AccessDeniedException' : undefined);
  const record = sqsRecord(submitted('evt-u3', submittedData({ applicationId: 'app-u3' })));
  const first = await invoke(sqsEvent(record, sqsRecord(submitted('evt-u4', submittedData({ applicationId: 'app-u4' })))));
  expect(first.result).toEqual({ batchItemFailures: [{ itemIdentifier: record.messageId }] });
  expect(first.lines.find((l) => l.message === 'Event processing failed; it will be retried')).toMatchObject({
    correlationId: 'corr-evt-u3',
    error: { name: 'PublishFailedError' },
  });
  fn.aws.eventBridge.failEntry = undefined;
  const retry = await invoke(sqsEvent(record));
  expect(retry.result).toEqual({ batchItemFailures: [] });
  expect(
    published()
      .map((e) => e.data.applicationId)
      .sort(),
  ).toEqual(['app-u3', 'app-u4']);
});

test('publishes one decision for a duplicate delivery', async () => {
  const event = submitted('evt-u5', submittedData({ applicationId: 'app-u5' }));
  await invoke(sqsEvent(sqsRecord(event)));
  await invoke(sqsEvent(sqsRecord(event)));
  expect(published()).toHaveLength(1);
});
