/**
 * Manual review: open a review case for a large application. The rule's numeric filter
 * (amount >= MANUAL_REVIEW_THRESHOLD, in the catalog) decides which applications arrive
 * here; this code does not filter again.
 */
import { randomUUID } from 'node:crypto';
import type { DataOf } from '../../sdk/catalog';
import type { LoanApplicationSubmitted } from '../../catalog/loans';
import type { ConsumedEvent } from '../../sdk/consumer';
import type { StateTable } from '../../sdk/consumer/state';

type Application = DataOf<typeof LoanApplicationSubmitted>;

/** Applications at or above this amount are reviewed first. */
export const HIGH_PRIORITY_AMOUNT = 1_000_000;
/** Hours a reviewer has to decide a case, by priority. */
export const REVIEW_SLA_HOURS = { HIGH: 24, NORMAL: 72 } as const;

export type Priority = keyof typeof REVIEW_SLA_HOURS;

export interface ReviewCase {
  readonly pk: string;
  readonly sk: 'REVIEW_CASE';
  readonly caseId: string;
  readonly status: 'OPEN';
  readonly priority: Priority;
  readonly applicationId: string;
  readonly applicantId: string;
  readonly amount: number;
  readonly currency: Application['currency'];
  readonly purpose: Application['purpose'];
  readonly openedAt: string;
  readonly dueBy: string;
  readonly correlationId: string;
  /** Id of the LoanApplicationSubmitted event that opened the case. */
  readonly causationId: string;
}

export function priorityOf(amount: number): Priority {
  return amount >= HIGH_PRIORITY_AMOUNT ? 'HIGH' : 'NORMAL';
}

/** The case to open for an application; pure apart from the ids and times given. */
export function reviewCaseFor(
  application: Application,
  ids: { caseId: string; correlationId: string; causationId: string },
  openedAt: Date,
): ReviewCase {
  const priority = priorityOf(application.amount);
  return {
    pk: `APPLICATION#${application.applicationId}`,
    sk: 'REVIEW_CASE',
    caseId: ids.caseId,
    status: 'OPEN',
    priority,
    applicationId: application.applicationId,
    applicantId: application.applicant.applicantId,
    amount: application.amount,
    currency: application.currency,
    purpose: application.purpose,
    openedAt: openedAt.toISOString(),
    dueBy: new Date(openedAt.getTime() + REVIEW_SLA_HOURS[priority] * 3600_000).toISOString(),
    correlationId: ids.correlationId,
    causationId: ids.causationId,
  };
}

export interface ReviewDeps {
  readonly state: Pick<StateTable, 'putIfAbsent'>;
  readonly now?: () => Date;
}

export function openReviewCase(deps: ReviewDeps) {
  const now = deps.now ?? (() => new Date());
  return async (event: ConsumedEvent<typeof LoanApplicationSubmitted>): Promise<void> => {
    const reviewCase = reviewCaseFor(
      event.data,
      { caseId: randomUUID(), correlationId: event.metadata.correlationId, causationId: event.id },
      now(),
    );
    // One case per application, even if the application is submitted twice.
    const { item, created } = await deps.state.putIfAbsent(reviewCase);
    event.logger.info(created ? 'Review case opened' : 'Review case already open', {
      applicationId: item.applicationId,
      caseId: item.caseId,
      priority: item.priority,
    });
  };
}
