/**
 * The real app, synthesized by ensureSynth() and run by the local runtime: applications
 * published with the project's publisher flow through underwriting, notifications and
 * manual review, which publish back to the bus and write DynamoDB (dynalite) through the
 * same endpoint.
 */
import { GetItemCommand, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { DescribeArchiveCommand, ListArchivesCommand } from '@aws-sdk/client-eventbridge';
import {
  ApplicantNotified,
  LoanApplicationApproved,
  LoanApplicationRejected,
  LoanApplicationSubmitted,
  MANUAL_REVIEW_THRESHOLD,
  loanCatalog,
} from '../../catalog/loans';
import type { DataOf } from '../../sdk/catalog';
import { EventPublisher } from '../../sdk';
import { ensureSynth } from '../../assembly';
import { Harness, startIdleDrivenHarness, waitFor } from './helpers';

jest.setTimeout(240_000);

let h: Harness;
let tables: string[] = [];

beforeAll(async () => {
  const dir = await ensureSynth();
  // Batching windows and visibility timeouts pass on a clock that jumps whenever the app is idle.
  h = await startIdleDrivenHarness(dir);
  tables = (await h.dynamodb.send(new ListTablesCommand({}))).TableNames ?? [];
});
afterAll(async () => {
  await h?.close();
});

function application(
  id: string,
  overrides: { creditScore?: number; amount?: number; annualIncome?: number } = {},
): DataOf<typeof LoanApplicationSubmitted> {
  return {
    applicationId: id,
    applicant: {
      applicantId: `applicant-${id}`,
      name: 'Ada Lovelace',
      email: 'ada@example.com',
      annualIncome: overrides.annualIncome ?? 150_000,
      creditScore: overrides.creditScore ?? 780,
    },
    amount: overrides.amount ?? 200_000,
    currency: 'USD',
    termMonths: 360,
    purpose: 'home',
    channel: 'web',
    submittedAt: new Date().toISOString(),
  };
}

const table = (fragment: string) => {
  const t = tables.find((n) => n.includes(fragment));
  if (!t) throw new Error(`No table named like ${fragment} in ${tables.join(', ')}`);
  return t;
};

async function item(tableFragment: string, pk: string, sk: string) {
  const r = await h.dynamodb.send(
    new GetItemCommand({ TableName: table(tableFragment), Key: { pk: { S: pk }, sk: { S: sk } }, ConsistentRead: true }),
  );
  return r.Item;
}

test('approved, rejected and large applications flow through every consumer', async () => {
  // GIVEN the project's publisher pointed at the local endpoint
  const publisher = new EventPublisher({ eventBusName: 'loan-events', catalog: loanCatalog, client: h.events });
  const suffix = Date.now().toString(36);
  const approved = `app-ok-${suffix}`;
  const rejected = `app-no-${suffix}`;
  const large = `app-big-${suffix}`;
  // WHEN
  await publisher.publishEvent(LoanApplicationSubmitted, application(approved));
  await publisher.publishEvent(LoanApplicationSubmitted, application(rejected, { creditScore: 500 }));
  await publisher.publishEvent(
    LoanApplicationSubmitted,
    application(large, { amount: MANUAL_REVIEW_THRESHOLD + 150_000, annualIncome: 200_000 }),
  );
  // THEN notifications recorded the decision for each applicant
  const approvedNote = await waitFor(
    'approval notification',
    () => item('notifications-state', `APPLICATION#${approved}`, 'NOTIFICATION#loan-approved'),
    60_000,
  );
  const rejectedNote = await waitFor(
    'rejection notification',
    () => item('notifications-state', `APPLICATION#${rejected}`, 'NOTIFICATION#loan-rejected'),
    60_000,
  );
  expect(approvedNote.pk?.S).toBe(`APPLICATION#${approved}`);
  expect(rejectedNote.pk?.S).toBe(`APPLICATION#${rejected}`);
  // the rule's numeric filter sent only the large application to manual review
  await waitFor('review case', () => item('manual-review-state', `APPLICATION#${large}`, 'REVIEW_CASE'), 60_000);
  expect(await item('manual-review-state', `APPLICATION#${approved}`, 'REVIEW_CASE')).toBeUndefined();
  // the handlers published back to the bus: decisions and notifications are in the archive and on the stream
  const published = (def: { source: string; detailType: string }) =>
    h.recorded.of('event.published', (p) => p.busName === 'loan-events' && p.source === def.source && p.detailType === def.detailType);
  await waitFor('ApplicantNotified events', () => (published(ApplicantNotified).length >= 3 ? true : undefined), 60_000);
  // one decision per application: the approved one approved, the low credit score rejected
  expect(published(LoanApplicationApproved).length).toBeGreaterThanOrEqual(1);
  expect(published(LoanApplicationRejected).length).toBeGreaterThanOrEqual(1);
  expect(published(LoanApplicationApproved).length + published(LoanApplicationRejected).length).toBe(3);
  expect(h.lines.join('\n')).toMatch(/^\d\d:\d\d:\d\d\.\d{3} \[LoanEvents-underwriting\] INFO {2}Application approved /m);
  expect(h.recorded.of('target.dropped')).toEqual([]);
  expect(h.recorded.of('function.failed')).toEqual([]);
  const [archive] = (await h.events.send(new ListArchivesCommand({}))).Archives ?? [];
  const described = await h.events.send(new DescribeArchiveCommand({ ArchiveName: archive!.ArchiveName }));
  // 3 submitted + 3 decisions + 3 ApplicantNotified (the large one is decided and notified too).
  expect(described.EventCount).toBe(9);
});
