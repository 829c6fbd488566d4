/**
 * Synthesis-time check of every catalog filter with the project's pattern engine (engine/), so a
 * pattern EventBridge would reject fails `cdk synth` with the consumer and subscription named,
 * instead of failing a deployment.
 */
import { validateEventPattern } from '../engine';
import { consumerPattern, EventCatalog, subscriptionPattern } from '../sdk/catalog';

export class InvalidCatalogFilterError extends Error {
  constructor(
    message: string,
    public readonly consumer: string,
    public readonly subscription: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'InvalidCatalogFilterError';
  }
}

export function validateCatalogFilters(catalog: EventCatalog): void {
  for (const consumer of catalog.consumers) {
    consumer.subscriptions.forEach((sub, i) => {
      const label = `subscription ${i} (${sub.event.detailType})`;
      try {
        validateEventPattern(subscriptionPattern(sub));
      } catch (err) {
        throw new InvalidCatalogFilterError(
          `Consumer '${consumer.name}', ${label}: invalid filter: ${err instanceof Error ? err.message : String(err)}`,
          consumer.name,
          label,
          { cause: err },
        );
      }
    });
    // The rule's pattern is the union of the subscriptions: its size and complexity are checked as a whole.
    try {
      validateEventPattern(consumerPattern(consumer));
    } catch (err) {
      throw new InvalidCatalogFilterError(
        `Consumer '${consumer.name}', all subscriptions: the rule's combined pattern is invalid: ${err instanceof Error ? err.message : String(err)}`,
        consumer.name,
        'all subscriptions',
        { cause: err },
      );
    }
  }
}
