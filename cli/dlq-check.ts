/**
 * Whether a dead-lettered message would fail the same way again: checked against the catalog
 * and the current schema of the consumer it came from, before `dlq redrive` moves it back.
 * The checks are the ones the consumer library makes before a route runs (sdk/consumer), so a
 * message that fails here fails there: it is not an EventBridge event, its event type is not
 * in the catalog or not one the consumer subscribes to, or its detail fails the schema.
 */
import type { ConsumerDefinition, EventCatalog } from '../sdk/catalog';
import { isRecord } from './input';

/**
 * The consumer whose queue or rule a DLQ serves, from the resource name (`<prefix>-<consumer>`,
 * lib/buffered-consumer.ts consumerNames); the longest matching name wins. Undefined for the
 * bus DLQ or names that follow no consumer.
 */
export function consumerOfResource(catalog: EventCatalog, resourceName: string): ConsumerDefinition | undefined {
  return [...catalog.consumers]
    .filter((c) => resourceName === c.name || resourceName.endsWith(`-${c.name}`))
    .sort((a, b) => b.name.length - a.name.length)[0];
}

/** Why the message would fail again, or undefined when it would reach a route. */
export function wouldFailAgain(catalog: EventCatalog, consumer: ConsumerDefinition | undefined, body: unknown): string | undefined {
  if (!isRecord(body) || typeof body.source !== 'string' || typeof body['detail-type'] !== 'string')
    return 'the body is not an EventBridge event (no source and detail-type)';
  const source = body.source;
  const detailType = body['detail-type'];
  // Required here, not with the module: the catalog's schema library is loaded by a redrive that
  // checks, not by every run that registers the dlq command (help).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { findEvent } = require('../sdk/catalog') as typeof import('../sdk/catalog');
  const definition = findEvent(catalog, source, detailType);
  if (!definition) return `event type ${source} / ${detailType} is not in the catalog`;
  if (consumer && !consumer.subscriptions.some((s) => s.event.source === source && s.event.detailType === detailType))
    return `consumer '${consumer.name}' does not subscribe to ${source} / ${detailType}`;
  const parsed = definition.detail.safeParse(body.detail);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return issue
      ? `${['detail', ...issue.path.map(String)].join('.')}: ${issue.message} (schema of ${detailType})`
      : `detail does not match the schema of ${detailType}`;
  }
  return undefined;
}
