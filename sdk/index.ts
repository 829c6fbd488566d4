/**
 * Publisher side of the event library: validation against the catalog, PutEvents packing
 * by both service limits, retries of failed entries only, and correlation propagation.
 * The consumer side, which loads Powertools, lives behind `sdk/consumer` so that the CLI
 * and other publishers never load it.
 */
export {
  EventPublisher,
  type CorrelationOptions,
  type EventPublisherOptions,
  type PublishEntry,
  type PublishOptions,
  type PublishOutcome,
  type PublishResult,
} from './publisher';
export {
  DETAIL_TYPE_MAX_LENGTH,
  PUT_EVENTS_MAX_ENTRIES,
  PUT_EVENTS_MAX_REQUEST_BYTES,
  PUT_EVENTS_TIME_BYTES,
  RETRYABLE_ENTRY_ERROR_CODES,
  entrySize,
  packEntries,
  type SizedEntry,
} from './limits';
export { EventTooLargeError, EventValidationError, InvalidOptionError, PublishFailedError } from './errors';
export { currentCorrelation, runWithCorrelation, type CorrelationContext } from './correlation';
export * from './catalog';
