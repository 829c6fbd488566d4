/** Route handler: decide a submitted application and publish the decision. */
import type { DataOf } from '../../sdk/catalog';
import { LoanApplicationApproved, LoanApplicationRejected, type LoanApplicationSubmitted } from '../../catalog/loans';
import type { EventPublisher } from '../../sdk';
import type { ConsumedEvent } from '../../sdk/consumer';
import { decide } from './decision';

export interface UnderwritingDeps {
  readonly publisher: Pick<EventPublisher, 'publishEvent'>;
  readonly now?: () => Date;
}

export function underwrite(deps: UnderwritingDeps) {
  const now = deps.now ?? (() => new Date());
  return async (event: ConsumedEvent<typeof LoanApplicationSubmitted>): Promise<void> => {
    const application = event.data;
    const decision = decide(application);
    const common = {
      applicationId: application.applicationId,
      applicantId: application.applicant.applicantId,
      email: application.applicant.email,
      amount: application.amount,
      currency: application.currency,
      decidedAt: now().toISOString(),
    };
    // The publisher takes correlationId and causationId from the event being handled.
    if (decision.outcome === 'approved') {
      const data: DataOf<typeof LoanApplicationApproved> = {
        ...common,
        termMonths: application.termMonths,
        annualRatePercent: decision.annualRatePercent,
        monthlyPayment: decision.monthlyPayment,
      };
      const eventId = await deps.publisher.publishEvent(LoanApplicationApproved, data);
      event.logger.info('Application approved', {
        applicationId: application.applicationId,
        annualRatePercent: decision.annualRatePercent,
        publishedEventId: eventId,
      });
    } else {
      const eventId = await deps.publisher.publishEvent(LoanApplicationRejected, { ...common, reasons: decision.reasons });
      event.logger.info('Application rejected', {
        applicationId: application.applicationId,
        reasons: decision.reasons,
        publishedEventId: eventId,
      });
    }
  };
}
