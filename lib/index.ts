/** The CDK side of the project: the stacks and the constructs they are built from. */
export { AuditTrail, EVENT_BUS_DATA_RESOURCE_TYPE, type AuditTrailProps } from './audit-trail';
export {
  BufferedConsumer,
  CONSUMER_TUNING_DEFAULTS,
  IDEMPOTENCY_TABLE_ACTIONS,
  STATE_TABLE_ACTIONS,
  consumerNames,
  validateTuning,
  type BufferedConsumerProps,
  type ConsumerNames,
} from './buffered-consumer';
export {
  allowEventsCondition,
  bySource,
  publishStatements,
  renderBusPolicy,
  SUBSCRIBE_ACTIONS,
  type EventBusPolicyProps,
} from './bus-policy';
export { busReference, ruleArnOf, type BusReference } from './bus-reference';
export { ConsumerSubscription, type ConsumerSubscriptionProps } from './consumer-subscription';
export { CONTEXT_KEYS, propsFromContext } from './context';
export * from './defaults';
export { CONSUMER_TAG_KEY, EventRouter, eventEnvelopeSchema, grantPublishOn, type EventRouterProps } from './event-router';
export { InvalidCatalogFilterError, validateCatalogFilters } from './filters';
export {
  ConsumerObservability,
  RouterObservability,
  alarmTopic,
  type ConsumerObservabilityProps,
  type RouterObservabilityProps,
} from './observability';
export { publishBoundary, type PublishBoundaryProps } from './publish-boundary';
export {
  buildRouterStack,
  buildStacks,
  ConsumerStack,
  RouterStack,
  SubscriptionStack,
  type ConsumerStackProps,
  type EventRouterAppProps,
  type EventRouterStacks,
  type RouterStackProps,
  type SubscriptionStackProps,
} from './stacks';
