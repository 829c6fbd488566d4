/**
 * The example application: the loan-application domain's catalog and the app definition the
 * stacks, handlers and tools are built from.
 */
import { defineApp } from '../sdk/catalog';
import { loanCatalog } from './loans';

export * from './loans';
export { loanCatalog as catalog } from './loans';

/** The example app: stacks `LoanEvents-Router` and `LoanEvents-<consumer>`, bus `loan-events`. */
export const app = defineApp({
  name: 'LoanEvents',
  eventBusName: 'loan-events',
  metricsNamespace: 'LoanEvents',
  catalog: loanCatalog,
  description: 'Encrypted EventBridge bus routing loan-application events to buffered SQS + Lambda consumers',
});
