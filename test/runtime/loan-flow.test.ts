/**
 * The real app, synthesized by ensureSynth() and run by the local runtime: applications
 * published with the project's publisher flow through underwriting, notifications and
 * manual review, which publish back to the bus and write DynamoDB (dynalite) through the
 * same endpoint.
 */
import { GetItemCommand, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { DescribeArchiveCommand, ListArchivesCommand } from '@aws-sdk/client-eventbridge';
import { LoanApplicationSubmitted, loanCatalog } from '../../catalog/loans';
import type { DataOf } from '../../sdk/catalog';
import { EventPublisher } from '../../sdk';
import { ensureSynth } from '../../runtime/synth';
import { Harness, startHarness, waitFor } from './helpers';

jest.setTimeout(240_000);

let h: Harness;
let tables: string[] = [];

beforeAll(async () => {
  const dir = await ensureSynth();
  h = await startHarness(dir);
  tables = (await h.dynamodb.send(new ListTablesCommand({}))).TableNames ?? [];
});
afterAll(async () => h?.close());

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
  await publisher.publishEvent(LoanApplicationSubmitted, application(large, { amount: 400_000, annualIncome: 200_000 }));
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
  expect(approvedNote.pk.S).toBe(`APPLICATION#${approved}`);
  expect(rejectedNote.pk.S).toBe(`APPLICATION#${rejected}`);
  // the rule's numeric filter sent only the large application to manual review
  await waitFor('review case', () => item('manual-review-state', `APPLICATION#${large}`, 'REVIEW_CASE'), 60_000);
  expect(await item('manual-review-state', `APPLICATION#${approved}`, 'REVIEW_CASE')).toBeUndefined();
  // the handlers published back to the bus: decisions and notifications are in the archive and the log
  const text = () => h.lines.join('\n');
  await waitFor(
    'ApplicantNotified events',
    () =>
      (text().match(/publish +bus=loan-events id=\S+ source=com.example.loans.notifications detail-type=ApplicantNotified/g) ?? [])
        .length >= 2
        ? true
        : undefined,
    60_000,
  );
  expect(text()).toMatch(/publish +bus=loan-events id=\S+ source=com.example.loans.underwriting detail-type=LoanApplicationApproved/);
  expect(text()).toMatch(/publish +bus=loan-events id=\S+ source=com.example.loans.underwriting detail-type=LoanApplicationRejected/);
  expect(text()).toMatch(/^\[LoanEvents-underwriting\] \{.*"Application approved"/m);
  expect(text()).not.toMatch(/DROPPED|type=Runtime\./);
  const [archive] = (await h.events.send(new ListArchivesCommand({}))).Archives ?? [];
  const described = await h.events.send(new DescribeArchiveCommand({ ArchiveName: archive.ArchiveName }));
  // 3 submitted + 3 decisions + 3 ApplicantNotified (the large one is decided and notified too).
  expect(described.EventCount).toBeGreaterThanOrEqual(8);
});
