/** Notifications consumer: a decision in, a notification record and ApplicantNotified out. */
import { processPartialResponse } from '@aws-lambda-powertools/batch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LoanApplicationApproved, LoanApplicationRejected, loanCatalog, notifications } from '../../catalog/loans';
import { EventPublisher } from '../../sdk';
import { createConsumer, route } from '../../sdk/consumer';
import { handlerPublisherOptions } from '../../sdk/consumer/env';
import { StateTable } from '../../sdk/consumer/state';
import { notifyApplicant } from './notification';

const dynamodb = new DynamoDBClient({});
const notify = notifyApplicant({
  publisher: new EventPublisher(handlerPublisherOptions(loanCatalog)),
  state: new StateTable({ client: dynamodb }),
});
const consumer = createConsumer({
  name: notifications.name,
  catalog: loanCatalog,
  routes: [route(LoanApplicationApproved, notify), route(LoanApplicationRejected, notify)],
  idempotency: { client: dynamodb },
});
const { recordHandler, processor } = consumer;

export const handler = consumer.instrument(async (event, context) => processPartialResponse(event, recordHandler, processor, { context }));
