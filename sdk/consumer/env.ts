/** Settings a consumer function takes from the environment the stack gives it. */
import type { EventCatalog } from '../catalog';
import type { EventPublisherOptions } from '../publisher';

/** The value of a required environment variable, or an error naming it. */
export function requireEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`Environment variable ${name} is not set; the stack sets it on every consumer function`);
  return value;
}

/**
 * Publisher options for use inside a consumer function: the bus from EVENT_BUS_NAME (read
 * on first publish), the app's catalog, and retries short enough to finish well inside the function timeout;
 * an event that still fails makes its record fail and come back from the queue.
 */
export function handlerPublisherOptions(catalog: EventCatalog): EventPublisherOptions {
  return { catalog, eventBusName: () => requireEnv('EVENT_BUS_NAME'), maxAttempts: 4, baseDelayMs: 100, maxDelayMs: 1000 };
}
