/**
 * Notifications: turn a decision into the message the applicant receives, record it in
 * the state table, and publish ApplicantNotified. The message text is a pure function of
 * the decision, so it is tested without AWS.
 */
import { randomUUID } from 'node:crypto';
import type { DataOf } from '../../sdk/catalog';
import { ApplicantNotified, type LoanApplicationApproved, type LoanApplicationRejected } from '../../catalog/loans';
import type { EventPublisher } from '../../sdk';
import type { ConsumedEvent } from '../../sdk/consumer';
import type { StateTable } from '../../sdk/consumer/state';

type Approved = DataOf<typeof LoanApplicationApproved>;
type Rejected = DataOf<typeof LoanApplicationRejected>;
export type Template = DataOf<typeof ApplicantNotified>['template'];

export interface Message {
  readonly template: Template;
  readonly subject: string;
  readonly body: string;
}

const REASON_TEXT: Readonly<Record<Rejected['reasons'][number], string>> = {
  CREDIT_SCORE_TOO_LOW: 'your credit score is below our minimum',
  DEBT_TO_INCOME_TOO_HIGH: 'the repayments would take too large a share of your income',
  AMOUNT_EXCEEDS_INCOME_MULTIPLE: 'the amount is too high relative to your income',
  TERM_OUT_OF_POLICY: 'the term is longer than we offer for this purpose',
};

const money = (amount: number, currency: string) =>
  new Intl.NumberFormat('en-GB', { style: 'currency', currency, minimumFractionDigits: 2 }).format(amount);

export function approvalMessage(data: Approved): Message {
  return {
    template: 'loan-approved',
    subject: `Your loan application ${data.applicationId} is approved`,
    body:
      `We are pleased to offer you ${money(data.amount, data.currency)} over ${data.termMonths} months ` +
      `at ${data.annualRatePercent}% a year, a monthly payment of ${money(data.monthlyPayment, data.currency)}.`,
  };
}

export function rejectionMessage(data: Rejected): Message {
  return {
    template: 'loan-rejected',
    subject: `Your loan application ${data.applicationId}`,
    body: `We cannot offer you a loan of ${money(data.amount, data.currency)} because ${data.reasons.map((r) => REASON_TEXT[r]).join('; ')}.`,
  };
}

/** The notification record: one per application and template, whatever how often the decision arrives. */
export interface NotificationRecord {
  readonly pk: string;
  readonly sk: string;
  readonly notificationId: string;
  readonly applicationId: string;
  readonly applicantId: string;
  readonly channel: 'email';
  readonly recipient: string;
  readonly template: Template;
  readonly subject: string;
  readonly body: string;
  readonly sentAt: string;
  readonly correlationId: string;
  /** Id of the decision event that caused the notification. */
  readonly causationId: string;
}

export interface NotificationDeps {
  readonly publisher: Pick<EventPublisher, 'publishEvent'>;
  readonly state: Pick<StateTable, 'putIfAbsent'>;
  readonly now?: () => Date;
}

export function notifyApplicant(deps: NotificationDeps) {
  const now = deps.now ?? (() => new Date());
  return async (event: ConsumedEvent<typeof LoanApplicationApproved> | ConsumedEvent<typeof LoanApplicationRejected>): Promise<void> => {
    const data = event.data;
    const message = 'reasons' in data ? rejectionMessage(data) : approvalMessage(data);
    // Create-if-absent: a retry after a failed publish reuses the first record, so the
    // applicant is recorded as told once and ApplicantNotified carries the same ids.
    const { item, created } = await deps.state.putIfAbsent<NotificationRecord>({
      pk: `APPLICATION#${data.applicationId}`,
      sk: `NOTIFICATION#${message.template}`,
      notificationId: randomUUID(),
      applicationId: data.applicationId,
      applicantId: data.applicantId,
      channel: 'email',
      recipient: data.email,
      ...message,
      sentAt: now().toISOString(),
      correlationId: event.metadata.correlationId,
      causationId: event.id,
    });
    const eventId = await deps.publisher.publishEvent(ApplicantNotified, {
      applicationId: item.applicationId,
      applicantId: item.applicantId,
      notificationId: item.notificationId,
      channel: item.channel,
      template: item.template,
      sentAt: item.sentAt,
    });
    event.logger.info('Applicant notified', {
      applicationId: data.applicationId,
      notificationId: item.notificationId,
      template: item.template,
      created,
      publishedEventId: eventId,
    });
  };
}
