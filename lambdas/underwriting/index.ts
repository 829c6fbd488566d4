/** Underwriting consumer: LoanApplicationSubmitted in, LoanApplicationApproved or LoanApplicationRejected out. */
import { processPartialResponse } from '@aws-lambda-powertools/batch';
import { LoanApplicationSubmitted, loanCatalog, underwriting } from '../../catalog/loans';
import { EventPublisher } from '../../sdk';
import { createConsumer, route } from '../../sdk/consumer';
import { handlerPublisherOptions } from '../../sdk/consumer/env';
import { underwrite } from './underwrite';

const publisher = new EventPublisher(handlerPublisherOptions(loanCatalog));
const consumer = createConsumer({
  name: underwriting.name,
  catalog: loanCatalog,
  routes: [route(LoanApplicationSubmitted, underwrite({ publisher }))],
});
const { recordHandler, processor } = consumer;

export const handler = consumer.instrument(async (event, context) => processPartialResponse(event, recordHandler, processor, { context }));
