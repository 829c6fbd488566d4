/** Manual-review consumer: large LoanApplicationSubmitted events in, a review case record out. */
import { processPartialResponse } from '@aws-lambda-powertools/batch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LoanApplicationSubmitted, loanCatalog, manualReview } from '../../catalog/loans';
import { createConsumer, route } from '../../sdk/consumer';
import { StateTable } from '../../sdk/consumer/state';
import { openReviewCase } from './review-case';

const dynamodb = new DynamoDBClient({});
const consumer = createConsumer({
  name: manualReview.name,
  catalog: loanCatalog,
  routes: [route(LoanApplicationSubmitted, openReviewCase({ state: new StateTable({ client: dynamodb }) }))],
  idempotency: { client: dynamodb },
});
const { recordHandler, processor } = consumer;

export const handler = consumer.instrument(async (event, context) => processPartialResponse(event, recordHandler, processor, { context }));
