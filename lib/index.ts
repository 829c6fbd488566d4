/** The CDK side of the project: the stack and the constructs it is built from. */
export { AuditTrail, EVENT_BUS_DATA_RESOURCE_TYPE, type AuditTrailProps } from './audit-trail';
export {
  BufferedConsumer,
  CONSUMER_TUNING_DEFAULTS,
  IDEMPOTENCY_TABLE_ACTIONS,
  STATE_TABLE_ACTIONS,
  validateTuning,
  type BufferedConsumerProps,
} from './buffered-consumer';
export { CONTEXT_KEYS, propsFromContext } from './context';
export * from './defaults';
export { EventRouter, SUBSCRIBE_ACTIONS, bySource, eventEnvelopeSchema, type EventRouterProps } from './event-router';
export { LoanEventsStack, type LoanEventsStackProps } from './loan-events-stack';
export { Observability, type ObservabilityProps } from './observability';
