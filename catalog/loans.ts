/**
 * The loan-application domain: the worked example this project ships with.
 *
 * Flow: intake publishes LoanApplicationSubmitted; underwriting decides and publishes
 * LoanApplicationApproved or LoanApplicationRejected; notifications tells the applicant
 * and publishes ApplicantNotified; manual review receives only applications at or above
 * MANUAL_REVIEW_THRESHOLD, selected by a numeric filter on the rule.
 *
 * To add an event type: define it here, list it in `events`, and name it in the
 * publisher or consumer that publishes it. To add a consumer: one `defineConsumer`
 * entry plus `lambdas/<name>/index.ts`.
 */
import { z } from 'zod';
import { defineCatalog, defineConsumer, defineEvent, definePublisher, on } from '../sdk/catalog';

export const SOURCES = {
  intake: 'com.example.loans.intake',
  underwriting: 'com.example.loans.underwriting',
  notifications: 'com.example.loans.notifications',
} as const;

/** Applications at or above this amount (in whole currency units) also go to manual review. */
export const MANUAL_REVIEW_THRESHOLD = 250_000;

const ApplicationId = z.string().regex(/^app-[A-Za-z0-9-]{1,64}$/, 'must look like app-<id>');
const ApplicantId = z.string().min(1).max(64);
const Currency = z.enum(['USD', 'EUR', 'GBP']);
const Timestamp = z.iso.datetime({ offset: true });

export const LoanApplicationSubmitted = defineEvent({
  source: SOURCES.intake,
  detailType: 'LoanApplicationSubmitted',
  version: '1',
  description: 'An applicant submitted a loan application through an intake channel.',
  data: z.object({
    applicationId: ApplicationId,
    applicant: z.object({
      applicantId: ApplicantId,
      name: z.string().min(1).max(200),
      email: z.email(),
      annualIncome: z.number().nonnegative(),
      creditScore: z.number().int().min(300).max(850),
    }),
    amount: z.number().positive().max(10_000_000),
    currency: Currency,
    termMonths: z.number().int().min(6).max(480),
    purpose: z.enum(['home', 'auto', 'education', 'business', 'personal']),
    channel: z.enum(['web', 'branch', 'broker', 'mobile']),
    submittedAt: Timestamp,
  }),
});

export const REJECTION_REASONS = [
  'CREDIT_SCORE_TOO_LOW',
  'DEBT_TO_INCOME_TOO_HIGH',
  'AMOUNT_EXCEEDS_INCOME_MULTIPLE',
  'TERM_OUT_OF_POLICY',
] as const;

export const LoanApplicationApproved = defineEvent({
  source: SOURCES.underwriting,
  detailType: 'LoanApplicationApproved',
  version: '1',
  description: 'Underwriting approved an application, with the offered rate and monthly payment.',
  data: z.object({
    applicationId: ApplicationId,
    applicantId: ApplicantId,
    email: z.email(),
    amount: z.number().positive(),
    currency: Currency,
    termMonths: z.number().int().positive(),
    annualRatePercent: z.number().nonnegative(),
    monthlyPayment: z.number().nonnegative(),
    decidedAt: Timestamp,
  }),
});

export const LoanApplicationRejected = defineEvent({
  source: SOURCES.underwriting,
  detailType: 'LoanApplicationRejected',
  version: '1',
  description: 'Underwriting rejected an application, with machine-readable reason codes.',
  data: z.object({
    applicationId: ApplicationId,
    applicantId: ApplicantId,
    email: z.email(),
    amount: z.number().positive(),
    currency: Currency,
    reasons: z.array(z.enum(REJECTION_REASONS)).min(1),
    decidedAt: Timestamp,
  }),
});

export const ApplicantNotified = defineEvent({
  source: SOURCES.notifications,
  detailType: 'ApplicantNotified',
  version: '1',
  description: 'The applicant was told the decision on their application.',
  data: z.object({
    applicationId: ApplicationId,
    applicantId: ApplicantId,
    notificationId: z.string().min(1),
    channel: z.enum(['email']),
    template: z.enum(['loan-approved', 'loan-rejected']),
    sentAt: Timestamp,
  }),
});

export const intakePublisher = definePublisher({
  name: 'loan-intake',
  description: 'Web, branch and broker channels that take applications.',
  publishes: [LoanApplicationSubmitted],
});

export const underwriting = defineConsumer({
  name: 'underwriting',
  description: 'Decides each application from income, amount, term and credit score.',
  subscriptions: [on(LoanApplicationSubmitted)],
  publishes: [LoanApplicationApproved, LoanApplicationRejected],
  tuning: { batchSize: 10, maxBatchingWindowSeconds: 1, maxConcurrency: 10, timeoutSeconds: 30, maxReceiveCount: 5 },
});

export const notifications = defineConsumer({
  name: 'notifications',
  description: 'Tells the applicant the decision and records the notification.',
  subscriptions: [on(LoanApplicationApproved), on(LoanApplicationRejected)],
  publishes: [ApplicantNotified],
  stateTable: true,
  tuning: { batchSize: 10, maxBatchingWindowSeconds: 1, maxConcurrency: 5, timeoutSeconds: 30, maxReceiveCount: 5 },
});

export const manualReview = defineConsumer({
  name: 'manual-review',
  description: 'Opens a review case for large applications; the rule, not the code, selects them.',
  subscriptions: [on(LoanApplicationSubmitted, { amount: [{ numeric: ['>=', MANUAL_REVIEW_THRESHOLD] }] })],
  publishes: [],
  stateTable: true,
  tuning: { batchSize: 5, maxBatchingWindowSeconds: 0, maxConcurrency: 2, timeoutSeconds: 30, maxReceiveCount: 3 },
});

export const loanCatalog = defineCatalog({
  events: [LoanApplicationSubmitted, LoanApplicationApproved, LoanApplicationRejected, ApplicantNotified],
  publishers: [intakePublisher],
  consumers: [underwriting, notifications, manualReview],
});
