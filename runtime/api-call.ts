/**
 * The `api.called` event: one per request the endpoint answered, successful or not (a refused
 * origin, a body over the limit, a validation error, an internal failure), published when the
 * answer is known, inside the request's context so that subscribers see its id, principal and
 * source address. CloudTrail records are built from it (observability.ts); nothing else in the
 * runtime needs to know what a served call looked like on the wire.
 */
import type { EventStream } from './stream';

/** What the edge knows about a call while serving it; completed as the request proceeds. */
export interface ApiCall {
  /** Endpoint prefix: `events`, `sqs`, `sts`, `logs`, `monitoring`, `cloudtrail`. */
  service: string;
  /** The operation's name (`PutEvents`, `SendMessage`); `unknown` when the request named none. */
  operation: string;
  /** The request's parameters in the API's shape (PascalCase for EventBridge and SQS, as sent). */
  input?: unknown;
  output?: unknown;
  error?: { code: string; message: string };
}

declare module './stream' {
  interface RuntimeEvents {
    'api.called': {
      service: string;
      operation: string;
      input?: unknown;
      output?: unknown;
      error?: { code: string; message: string };
      /** The HTTP status of the answer. */
      status: number;
      userAgent?: string;
      /** Wall-clock milliseconds spent serving the request. */
      durationMs: number;
    };
  }
}

/** Publishes the call once its answer is known. Call it inside the request's `withRequest` context. */
export function publishApiCall(stream: EventStream, call: ApiCall, status: number, userAgent: string | undefined, started: number): void {
  if (!stream.wants('api.called')) return;
  stream.publish('api.called', {
    service: call.service,
    operation: call.operation,
    ...(call.input !== undefined ? { input: call.input } : {}),
    ...(call.output !== undefined && !call.error ? { output: call.output } : {}),
    ...(call.error ? { error: call.error } : {}),
    status,
    ...(userAgent !== undefined ? { userAgent } : {}),
    durationMs: Math.max(0, Math.round(performance.now() - started)),
  });
}
