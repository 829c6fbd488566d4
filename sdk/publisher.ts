/**
 * EventPublisher: validates events against the catalog, packs them into PutEvents
 * requests by both service limits, sends them with a concurrency bound and retries only
 * the entries that failed with a retryable error code. Every input entry gets exactly one
 * outcome: an event id, or the error that stopped it.
 */
import { randomUUID } from 'node:crypto';
import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry, type PutEventsResultEntry } from '@aws-sdk/client-eventbridge';
import type { DataOf, EventCatalog, EventDefinition, EventMetadata } from './catalog';
import { currentCorrelation, type CorrelationContext } from './correlation';
import { EventTooLargeError, EventValidationError, InvalidOptionError, PublishFailedError } from './errors';
import { PUT_EVENTS_MAX_ENTRIES, PUT_EVENTS_MAX_REQUEST_BYTES, RETRYABLE_ENTRY_ERROR_CODES, entrySize, packBySize } from './limits';

/** One event to publish. */
export interface PublishEntry {
  /** EventBridge `source`; with `detailType` it selects the catalog definition. */
  readonly source: string;
  readonly detailType: string;
  /**
   * `{ metadata?, data }`. Missing metadata fields are filled in: `correlationId` from the
   * enclosing consumer's event or a new UUID, `causationId` from the enclosing consumer's
   * event, `schemaVersion` from the catalog.
   */
  readonly detail: unknown;
  /** ARNs the event is about. Each counts towards the entry size. */
  readonly resources?: string[];
  /** Event time. @default - the time EventBridge receives the event */
  readonly time?: Date;
}

/** The fate of one input entry, at the same position as the entry. */
export interface PublishOutcome {
  readonly index: number;
  /** Set when EventBridge accepted the entry. */
  readonly eventId?: string;
  /** Set when it did not: the per-entry ErrorCode, or the name of the error the whole request failed with. */
  readonly errorCode?: string;
  readonly errorMessage?: string;
}

export interface PublishResult {
  /** One outcome per input entry, in input order. */
  readonly outcomes: PublishOutcome[];
  readonly successCount: number;
  readonly failedCount: number;
}

export interface PublishOptions {
  /** Called each time entries reach their final outcome, with the number done so far and the total. */
  readonly onProgress?: (done: number, total: number) => void;
}

export interface EventPublisherOptions {
  /** Name or ARN of the event bus; a function is called once per `publish()`, so it may read the environment late. */
  readonly eventBusName: string | (() => string);
  /**
   * Client to send with. Reuse one per process (in Lambda, create it outside the handler).
   * @default - a new EventBridgeClient with the default credential chain, region and endpoint
   *   (including AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_EVENTBRIDGE)
   */
  readonly client?: EventBridgeClient;
  /** Catalog whose schemas events are validated against (an app definition's `catalog`). */
  readonly catalog: EventCatalog;
  /** PutEvents requests in flight at once. Valid Range: 1 to 100. @default 4 */
  readonly maxConcurrency?: number;
  /**
   * Attempts per entry, the first included, before a retryable failure is reported as
   * the entry's outcome. Valid Range: 1 to 20. @default 8
   */
  readonly maxAttempts?: number;
  /** Base of the exponential backoff between attempts, in ms (full jitter). @default 100 */
  readonly baseDelayMs?: number;
  /** Upper bound of one backoff delay, in ms. @default 5000 */
  readonly maxDelayMs?: number;
  /**
   * Total entry size allowed in one request, and so for one event. Lower it for a region
   * still on the old 256 KiB limit. Valid Range: 1 to PUT_EVENTS_MAX_REQUEST_BYTES.
   * @default PUT_EVENTS_MAX_REQUEST_BYTES
   */
  readonly maxRequestBytes?: number;
}

/** Explicit correlation for `publishEvent()`; each field defaults to the enclosing consumer's event. */
export interface CorrelationOptions {
  readonly correlationId?: string;
  readonly causationId?: string;
}

interface PreparedEntry {
  readonly entry: PutEventsRequestEntry;
  readonly size: number;
}

/** A prepared entry still awaiting its outcome, with its position in the input. */
interface PendingEntry extends PreparedEntry {
  readonly index: number;
}

interface AttemptResult {
  readonly eventId?: string;
  readonly errorCode?: string;
  readonly errorMessage?: string;
  readonly retryable: boolean;
}

/** Request-level errors worth another attempt: throttling, server faults and network failures. */
const RETRYABLE_REQUEST_ERRORS = new Set([
  'ThrottlingException',
  'TooManyRequestsException',
  'InternalFailure',
  'InternalException',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
]);
const RETRYABLE_NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'ENOTFOUND']);

function isRetryableRequestError(err: unknown): boolean {
  const e = err as { name?: string; code?: string; $retryable?: unknown; $metadata?: { httpStatusCode?: number } };
  const status = e?.$metadata?.httpStatusCode;
  return (
    Boolean(e?.$retryable) ||
    RETRYABLE_REQUEST_ERRORS.has(e?.name ?? '') ||
    RETRYABLE_NETWORK_CODES.has(e?.code ?? '') ||
    (status !== undefined && (status >= 500 || status === 429))
  );
}

function checkInteger(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new InvalidOptionError(`Invalid ${name}, please select an integer from ${min} to ${max} (given ${value})`);
  }
  return value;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class EventPublisher {
  private readonly eventBusName: string | (() => string);
  private readonly client: EventBridgeClient;
  private readonly maxConcurrency: number;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly maxRequestBytes: number;
  /** Catalog events by `source|detailType`, for a lookup per entry that does not scan the catalog. */
  private readonly definitions: ReadonlyMap<string, EventDefinition>;

  public constructor(options: EventPublisherOptions) {
    if (typeof options.eventBusName === 'string' && options.eventBusName.length === 0) {
      throw new InvalidOptionError('Invalid eventBusName, please give the name or ARN of an event bus');
    }
    this.eventBusName = options.eventBusName;
    this.client = options.client ?? new EventBridgeClient({});
    const catalog = options.catalog;
    if (!catalog || !Array.isArray(catalog.events)) {
      throw new InvalidOptionError(
        "Invalid catalog, please pass the catalog events are validated against (e.g. your app definition's catalog)",
      );
    }
    this.definitions = new Map(catalog.events.map((e) => [`${e.source}|${e.detailType}`, e]));
    this.maxConcurrency = checkInteger('maxConcurrency', options.maxConcurrency ?? 4, 1, 100);
    this.maxAttempts = checkInteger('maxAttempts', options.maxAttempts ?? 8, 1, 20);
    this.baseDelayMs = checkInteger('baseDelayMs', options.baseDelayMs ?? 100, 0, 60_000);
    this.maxDelayMs = checkInteger('maxDelayMs', options.maxDelayMs ?? 5000, 0, 300_000);
    this.maxRequestBytes = checkInteger(
      'maxRequestBytes',
      options.maxRequestBytes ?? PUT_EVENTS_MAX_REQUEST_BYTES,
      1,
      PUT_EVENTS_MAX_REQUEST_BYTES,
    );
  }

  /**
   * Publishes entries and reports each one's outcome in input order. Throws
   * EventValidationError or EventTooLargeError before sending anything when any entry is
   * invalid; after that it never throws for a send failure, which lands in the outcomes.
   */
  public async publish(entries: readonly PublishEntry[], options: PublishOptions = {}): Promise<PublishResult> {
    // One correlation context for the whole call: read it once, not per entry.
    const inherited = currentCorrelation();
    const eventBusName = typeof this.eventBusName === 'function' ? this.eventBusName() : this.eventBusName;
    let pending: PendingEntry[] = entries.map((entry, index) => ({ index, ...this.prepare(entry, index, inherited, eventBusName) }));
    const outcomes: PublishOutcome[] = new Array(entries.length);
    let done = 0;

    for (let attempt = 1; pending.length > 0; attempt++) {
      if (attempt > 1) await sleep(this.backoff(attempt - 1));
      const retry: PendingEntry[] = [];
      const requests = packBySize(pending, (p) => p.size, PUT_EVENTS_MAX_ENTRIES, this.maxRequestBytes);
      await this.forEachBounded(requests, async (request) => {
        const results = await this.send(eventBusName, request);
        results.forEach(({ item, result }) => {
          const index = item.index;
          if (result.eventId !== undefined) {
            outcomes[index] = { index, eventId: result.eventId };
          } else if (result.retryable && attempt < this.maxAttempts) {
            retry.push(item);
            return;
          } else {
            outcomes[index] = { index, errorCode: result.errorCode, errorMessage: result.errorMessage };
          }
          done++;
        });
        try {
          options.onProgress?.(done, entries.length);
        } catch {
          // Progress is advisory: a failing callback must not abandon entries mid-flight.
        }
      });
      // Retried entries keep their input order, so a request never reorders events.
      pending = retry.sort((a, b) => a.index - b.index);
    }

    const successCount = outcomes.filter((o) => o.eventId !== undefined).length;
    return { outcomes, successCount, failedCount: outcomes.length - successCount };
  }

  /**
   * Publishes one event of a catalog type with typed data and returns its event id.
   * Throws PublishFailedError when it could not be published, so a handler's record fails
   * and is retried instead of losing the event.
   */
  public async publishEvent<E extends EventDefinition>(
    definition: E,
    data: DataOf<E>,
    correlation: CorrelationOptions = {},
  ): Promise<string> {
    const metadata: Partial<EventMetadata> = {};
    if (correlation.correlationId !== undefined) metadata.correlationId = correlation.correlationId;
    if (correlation.causationId !== undefined) metadata.causationId = correlation.causationId;
    const result = await this.publish([{ source: definition.source, detailType: definition.detailType, detail: { metadata, data } }]);
    const outcome = result.outcomes[0];
    if (outcome?.eventId === undefined) {
      throw new PublishFailedError({
        detailType: definition.detailType,
        errorCode: outcome?.errorCode ?? 'Unknown',
        errorMessage: outcome?.errorMessage,
      });
    }
    return outcome.eventId;
  }

  /** Validates one entry, fills its metadata and turns it into a PutEvents entry with its size. */
  private prepare(input: PublishEntry, index: number, inherited: CorrelationContext | undefined, eventBusName: string): PreparedEntry {
    const { source, detailType } = input;
    const invalid = (field: string, reason: string, cause?: unknown) =>
      new EventValidationError({ index, source: String(source), detailType: String(detailType), field, reason, cause });
    const definition = this.definitions.get(`${source}|${detailType}`);
    if (!definition) throw invalid('detailType', `no event type with this source and detail-type is in the catalog`);
    if (!isRecord(input.detail)) throw invalid('detail', 'must be an object { metadata?, data }');
    const given = input.detail.metadata ?? {};
    if (!isRecord(given)) throw invalid('detail.metadata', 'must be an object');
    if (given.schemaVersion !== undefined && given.schemaVersion !== definition.version) {
      throw invalid(
        'detail.metadata.schemaVersion',
        `is '${String(given.schemaVersion)}' but the catalog defines version '${definition.version}'`,
      );
    }
    const causationId = given.causationId ?? inherited?.causationId;
    const metadata = {
      ...given,
      correlationId: given.correlationId ?? inherited?.correlationId ?? randomUUID(),
      ...(causationId !== undefined ? { causationId } : {}),
      schemaVersion: definition.version,
    };
    // Metadata first, so that the serialised detail reads { metadata, data }.
    const detail = { metadata, ...input.detail };
    detail.metadata = metadata;
    const parsed = definition.detail.safeParse(detail);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      // A failed parse carries at least one issue; should one come without, the whole detail is what failed.
      if (!issue) throw invalid('detail', 'does not match the schema', parsed.error);
      throw invalid(['detail', ...issue.path.map(String)].join('.'), issue.message, parsed.error);
    }
    if (input.time !== undefined && !(input.time instanceof Date && !Number.isNaN(input.time.getTime()))) {
      throw invalid('time', 'must be a valid Date');
    }
    if (input.resources !== undefined && !(Array.isArray(input.resources) && input.resources.every((r) => typeof r === 'string'))) {
      throw invalid('resources', 'must be an array of strings');
    }
    let json: string;
    try {
      json = JSON.stringify(detail);
    } catch (err) {
      throw invalid('detail', `cannot be serialised to JSON (${(err as Error).message})`, err);
    }
    const entry: PutEventsRequestEntry = {
      Source: source,
      DetailType: detailType,
      Detail: json,
      EventBusName: eventBusName,
      ...(input.resources !== undefined ? { Resources: input.resources } : {}),
      ...(input.time !== undefined ? { Time: input.time } : {}),
    };
    const size = entrySize(entry);
    if (size > this.maxRequestBytes) throw new EventTooLargeError({ index, detailType, size, limit: this.maxRequestBytes });
    return { entry, size };
  }

  /** Sends one request and pairs each of its entries with its result; never throws. */
  private async send<T extends PreparedEntry>(
    eventBusName: string,
    request: readonly T[],
  ): Promise<Array<{ item: T; result: AttemptResult }>> {
    const entries = request.map((item) => item.entry);
    try {
      const response = await this.client.send(new PutEventsCommand({ Entries: entries }));
      const results = response.Entries ?? [];
      const toResult = (result: PutEventsResultEntry | undefined): AttemptResult => {
        if (result?.ErrorCode) {
          return {
            errorCode: result.ErrorCode,
            errorMessage: result.ErrorMessage,
            retryable: RETRYABLE_ENTRY_ERROR_CODES.has(result.ErrorCode),
          };
        }
        if (result?.EventId) return { eventId: result.EventId, retryable: false };
        // Not retried: the entry may have been accepted, and a retry could publish it twice.
        return {
          errorCode: 'MissingEntryResult',
          errorMessage: `PutEvents to ${eventBusName} answered ${results.length} results for ${entries.length} entries; this entry's fate is unknown`,
          retryable: false,
        };
      };
      return request.map((item, k) => ({ item, result: toResult(results[k]) }));
    } catch (err) {
      const e = err as { name?: string; message?: string };
      const failure = { errorCode: e?.name ?? 'Error', errorMessage: e?.message ?? String(err), retryable: isRetryableRequestError(err) };
      return request.map((item) => ({ item, result: failure }));
    }
  }

  /** Exponential backoff with full jitter. @see https://aws.amazon.com/builders-library/timeouts-retries-and-backoff-with-jitter/ */
  private backoff(retry: number): number {
    const ceiling = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (retry - 1));
    return Math.floor(Math.random() * ceiling);
  }

  /** Runs `fn` over `items` with at most `maxConcurrency` calls in flight. */
  private async forEachBounded<T>(items: readonly T[], fn: (item: T) => Promise<void>): Promise<void> {
    // One iterator shared by the workers: each takes the next item when it is free.
    const queue = items.values();
    const worker = async () => {
      for (const item of queue) await fn(item);
    };
    await Promise.all(Array.from({ length: Math.min(this.maxConcurrency, items.length) }, worker));
  }
}
