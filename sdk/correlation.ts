/**
 * The correlation context of the event being handled. The consumer runs each record's
 * handler inside it, so that anything the handler publishes keeps the incoming event's
 * correlation id and names the incoming event as its cause, without passing ids around.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

export interface CorrelationContext {
  /** Correlation id of the business request the incoming event belongs to. */
  readonly correlationId: string;
  /** EventBridge id of the incoming event; becomes `causationId` of events published in response. */
  readonly causationId?: string;
}

const storage = new AsyncLocalStorage<CorrelationContext>();

/** Runs `fn` with `context` as the correlation context of everything it publishes. */
export function runWithCorrelation<T>(context: CorrelationContext, fn: () => T): T {
  return storage.run(context, fn);
}

/** The correlation context set by the nearest enclosing `runWithCorrelation`, if any. */
export function currentCorrelation(): CorrelationContext | undefined {
  return storage.getStore();
}
