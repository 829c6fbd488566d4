/**
 * Consumer side of the event library, for a Lambda function reading its SQS buffer queue.
 *
 * Each record's body is the EventBridge event the rule delivered. It is parsed with the
 * Powertools EventBridge schema, its detail validated against the catalog and dispatched
 * to the route for its detail-type. Effects run at most once per EventBridge event id, and
 * once more per archive replay that carries it (Powertools idempotency on DynamoDB, keyed by
 * {@link idempotencyKeyOf}), failures are reported per record
 * (ReportBatchItemFailures), and every log line of a record carries its correlation id.
 *
 * Kept apart from `sdk/index.ts` so that publishers (the CLI, services) never load Powertools.
 */
import { BatchProcessor, EventType } from '@aws-lambda-powertools/batch';
import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { JSONStringified } from '@aws-lambda-powertools/parser/helpers';
import { EventBridgeSchema } from '@aws-lambda-powertools/parser/schemas/eventbridge';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { findEvent, type DataOf, type EventCatalog, type EventDefinition, type EventMetadata } from '../catalog';
import { runWithCorrelation } from '../correlation';
import { InvalidOptionError } from '../errors';

/** One event handed to a route: the envelope fields, the validated detail and a logger bound to it. */
export interface ConsumedEvent<E extends EventDefinition = EventDefinition> {
  /** EventBridge event id; with {@link replayName}, the idempotency key (see {@link idempotencyKeyOf}). */
  readonly id: string;
  /** Name of the archive replay that sent this event again (`replay-name` of the envelope); absent for a first delivery. */
  readonly replayName?: string;
  readonly source: string;
  readonly detailType: string;
  /** Event time as EventBridge reports it (ISO 8601). */
  readonly time: string;
  readonly account: string;
  readonly region: string;
  readonly resources: readonly string[];
  readonly metadata: EventMetadata;
  readonly data: DataOf<E>;
  /** SQS message id of the record that carried the event. */
  readonly messageId: string;
  /** How many times SQS has delivered this message, this delivery included. */
  readonly receiveCount: number;
  /** Logger whose every line carries correlationId, causationId, eventId, detailType and messageId. */
  readonly logger: Logger;
}

/** Handles one event type. Throw to fail the record; it is retried, then moved to the DLQ. */
export type RouteHandler<E extends EventDefinition> = (event: ConsumedEvent<E>) => Promise<void>;

export interface Route {
  readonly event: EventDefinition;
  readonly handler: RouteHandler<EventDefinition>;
}

/** Binds a handler to an event type, with the event's data typed from the catalog schema. */
export function route<E extends EventDefinition>(event: E, handler: RouteHandler<E>): Route {
  return { event, handler: handler as unknown as RouteHandler<EventDefinition> };
}

/** The record can never succeed: its body is not an EventBridge event, or its detail fails the catalog schema. */
export class InvalidEventError extends Error {
  public override readonly name = 'InvalidEventError';
  public constructor(
    public readonly messageId: string,
    /** Dotted path of the first invalid field, e.g. `body.detail.data.amount`. */
    public readonly field: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`Invalid event in SQS record ${messageId}: ${field}: ${reason}`, options);
  }
}

/** `path: message` of each schema issue, for a log line a person can read. */
function issuesOf(cause: unknown): string[] | undefined {
  const issues = (cause as { issues?: Array<{ path: PropertyKey[]; message: string }> } | undefined)?.issues;
  return issues?.map((i) => `${i.path.map(String).join('.')}: ${i.message}`);
}

/** The record's event type has no route in this consumer. */
export class UnknownEventTypeError extends Error {
  public override readonly name = 'UnknownEventTypeError';
  public constructor(
    public readonly messageId: string,
    public readonly source: string,
    public readonly detailType: string,
    consumer: string,
  ) {
    super(`SQS record ${messageId} holds event type ${source} / ${detailType}, which consumer '${consumer}' has no route for`);
  }
}

export interface IdempotencyOptions {
  /** DynamoDB table with partition key `id` and TTL attribute `expiration`. @default - the IDEMPOTENCY_TABLE_NAME environment variable */
  readonly tableName?: string;
  /**
   * How long an event id is remembered, in seconds. Must outlast every redelivery and
   * redrive of the same event. @default 1209600 (14 days, the DLQ retention)
   */
  readonly expiresAfterSeconds?: number;
  /** Client for the idempotency table. @default - a new DynamoDBClient (honours AWS_ENDPOINT_URL_DYNAMODB) */
  readonly client?: DynamoDBClient;
}

export interface ConsumerOptions {
  /** Consumer name; also the idempotency key prefix and the metrics service. @default - CONSUMER_NAME environment variable */
  readonly name?: string;
  /** One route per event type the consumer subscribes to. */
  readonly routes: readonly Route[];
  /** Catalog the consumer is checked against and events are validated with (an app definition's `catalog`). */
  readonly catalog: EventCatalog;
  /** Idempotency settings. It cannot be switched off: SQS delivers at least once. */
  readonly idempotency?: IdempotencyOptions;
  /** @default - a Logger for the consumer's service name, level from POWERTOOLS_LOG_LEVEL */
  readonly logger?: Logger;
  /** @default - Metrics in the POWERTOOLS_METRICS_NAMESPACE namespace (the stack sets the app's metricsNamespace) */
  readonly metrics?: Metrics;
}

export interface Consumer {
  /** Handles one SQS record; pass it to `processPartialResponse`. */
  readonly recordHandler: (record: SQSRecord) => Promise<void>;
  readonly processor: BatchProcessor;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /**
   * Wraps the Lambda handler: adds the Lambda context to logs, gives idempotency the
   * remaining time (so an in-progress record of a timed-out invocation expires), and
   * flushes the EMF metrics after every invocation.
   */
  instrument(
    handler: (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>,
  ): (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;
}

// As long as the dead-letter queues keep a message (14 days), so a redriven event is still recognised.
const DEFAULT_EXPIRES_AFTER_SECONDS = 14 * 24 * 3600;

const SqsBodySchema = JSONStringified(EventBridgeSchema);

/**
 * What a consumer runs at most once: the EventBridge event id, or for an event an archive
 * replay sent again (EventBridge sets `replay-name` on it), the id and the replay's name.
 *
 * A replay is an operator asking for the events to be processed again, so it must not be
 * skipped as a duplicate of the first delivery; a duplicate delivery or redrive within the
 * same replay still is. A first delivery's key is the bare id, so the records written before
 * replays were told apart stay valid.
 * @see https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-replay-archived-event.html
 */
export function idempotencyKeyOf(envelope: { readonly id: string; readonly 'replay-name'?: string }): string {
  const replay = envelope['replay-name'];
  return replay ? `${envelope.id}#replay:${replay}` : envelope.id;
}

function firstIssue(error: { issues: ReadonlyArray<{ path: PropertyKey[]; message: string }> }, prefix: string[]): [string, string] {
  const issue = error.issues[0];
  // A failed parse carries at least one issue; should one come without, the whole value is what failed.
  if (!issue) return [prefix.join('.'), 'does not match the schema'];
  return [[...prefix, ...issue.path.map(String)].join('.'), issue.message];
}

/** Checks that the routes are exactly the consumer's subscriptions in the catalog. */
function checkRoutes(name: string, routes: readonly Route[], catalog: EventCatalog): void {
  const key = (e: EventDefinition) => `${e.source} / ${e.detailType}`;
  const routed = new Set<string>();
  for (const r of routes) {
    if (routed.has(key(r.event))) throw new InvalidOptionError(`Consumer '${name}' has two routes for ${key(r.event)}`);
    routed.add(key(r.event));
  }
  const definition = catalog.consumers.find((c) => c.name === name);
  if (!definition) return;
  const subscribed = new Set(definition.subscriptions.map((s) => key(s.event)));
  for (const k of subscribed) {
    if (!routed.has(k)) throw new InvalidOptionError(`Consumer '${name}' subscribes to ${k} in the catalog but has no route for it`);
  }
  for (const k of routed) {
    if (!subscribed.has(k))
      throw new InvalidOptionError(`Consumer '${name}' has a route for ${k}, which it does not subscribe to in the catalog`);
  }
}

export function createConsumer(options: ConsumerOptions): Consumer {
  const name = options.name ?? process.env.CONSUMER_NAME;
  if (!name) throw new InvalidOptionError('Consumer name missing: pass `name` or set CONSUMER_NAME');
  const catalog = options.catalog;
  if (!catalog || !Array.isArray(catalog.consumers)) {
    throw new InvalidOptionError(`Consumer '${name}' needs its catalog: pass the app definition's catalog as 'catalog'`);
  }
  checkRoutes(name, options.routes, catalog);
  const routes = new Map(options.routes.map((r) => [`${r.event.source}|${r.event.detailType}`, r]));

  const tableName = options.idempotency?.tableName ?? process.env.IDEMPOTENCY_TABLE_NAME;
  if (!tableName) {
    throw new InvalidOptionError(`Consumer '${name}' needs an idempotency table: pass idempotency.tableName or set IDEMPOTENCY_TABLE_NAME`);
  }
  const expiresAfterSeconds = options.idempotency?.expiresAfterSeconds ?? DEFAULT_EXPIRES_AFTER_SECONDS;
  if (!Number.isInteger(expiresAfterSeconds) || expiresAfterSeconds < 60) {
    throw new InvalidOptionError(
      `Invalid idempotency.expiresAfterSeconds, please select an integer of at least 60 (given ${expiresAfterSeconds})`,
    );
  }

  const logger = options.logger ?? new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? name });
  const metrics =
    options.metrics ??
    new Metrics({
      serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? name,
      namespace: process.env.POWERTOOLS_METRICS_NAMESPACE,
    });
  const processor = new BatchProcessor(EventType.SQS);

  // Keyed on the EventBridge event id, not the SQS message id: a redriven or re-sent
  // message gets a new message id but keeps its event id. A replay adds its name (idempotencyKeyOf).
  const idempotencyConfig = new IdempotencyConfig({ eventKeyJmesPath: 'key', expiresAfterSeconds, throwOnNoIdempotencyKey: true });
  const persistenceStore = new DynamoDBPersistenceLayer({
    tableName,
    ...(options.idempotency?.client ? { awsSdkV3Client: options.idempotency.client } : {}),
  });
  // The second argument tells a first run from a replay of a stored result; only the
  // key (argument 0) is hashed. A failed run deletes its in-progress record, so
  // the retry runs again instead of being taken for a duplicate.
  const handleOnce = makeIdempotent(
    async (key: { key: string; eventId: string }, run: { ran: boolean; dispatch: () => Promise<void> }): Promise<{ eventId: string }> => {
      run.ran = true;
      await run.dispatch();
      return { eventId: key.eventId };
    },
    { persistenceStore, config: idempotencyConfig, keyPrefix: name, dataIndexArgument: 0 },
  );

  const recordHandler = async (record: SQSRecord): Promise<void> => {
    const receiveCount = Number(record.attributes?.ApproximateReceiveCount ?? '1');
    let log = logger.createChild({ persistentKeys: { messageId: record.messageId, receiveCount } });
    try {
      const body = SqsBodySchema.safeParse(record.body);
      if (!body.success) throw new InvalidEventError(record.messageId, ...firstIssue(body.error, ['body']), { cause: body.error });
      const envelope = body.data;
      const detailType = envelope['detail-type'];
      const replayName = envelope['replay-name'];
      const metadata = (envelope.detail as { metadata?: Partial<EventMetadata> } | null)?.metadata;
      log = logger.createChild({
        persistentKeys: {
          correlationId: metadata?.correlationId,
          causationId: metadata?.causationId,
          eventId: envelope.id,
          detailType,
          messageId: record.messageId,
          receiveCount,
          ...(replayName ? { replayName } : {}),
        },
      });
      const route = routes.get(`${envelope.source}|${detailType}`);
      const definition = findEvent(catalog, envelope.source, detailType);
      if (!route || !definition) throw new UnknownEventTypeError(record.messageId, envelope.source, detailType, name);
      const detail = definition.detail.safeParse(envelope.detail);
      if (!detail.success)
        throw new InvalidEventError(record.messageId, ...firstIssue(detail.error, ['body', 'detail']), { cause: detail.error });
      const event: ConsumedEvent = {
        id: envelope.id,
        ...(replayName ? { replayName } : {}),
        source: envelope.source,
        detailType,
        time: envelope.time,
        account: envelope.account,
        region: envelope.region,
        resources: envelope.resources,
        metadata: detail.data.metadata,
        data: detail.data.data,
        messageId: record.messageId,
        receiveCount,
        logger: log,
      };
      const run = {
        ran: false,
        dispatch: () =>
          runWithCorrelation({ correlationId: event.metadata.correlationId, causationId: event.id }, () => route.handler(event)),
      };
      await handleOnce({ key: idempotencyKeyOf(envelope), eventId: envelope.id }, run);
      if (run.ran) {
        metrics.addMetric('EventsProcessed', MetricUnit.Count, 1);
        log.info('Event processed');
      } else {
        metrics.addMetric('DuplicateEventsSkipped', MetricUnit.Count, 1);
        log.info('Event already processed; duplicate delivery skipped');
      }
    } catch (error) {
      const permanent = error instanceof InvalidEventError || error instanceof UnknownEventTypeError;
      metrics.addMetric(permanent ? 'InvalidEvents' : 'EventsFailed', MetricUnit.Count, 1);
      // Permanent failures still go back to the queue: after maxReceiveCount receives SQS
      // moves them to the DLQ, where they can be inspected and redriven once fixed.
      if (permanent) {
        // The reason, not the stack: an invalid event is a data problem, and a full ZodError
        // with its stack repeats the same kilobytes on every receive until the DLQ.
        const { name, message } = error as Error;
        log.error('Event can never be processed; it will reach the DLQ', {
          error: { name, message },
          ...(error instanceof InvalidEventError ? { field: error.field, issues: issuesOf(error.cause) } : {}),
        });
      } else {
        log.error('Event processing failed; it will be retried', { error: error as Error });
      }
      throw error;
    }
  };

  const instrument: Consumer['instrument'] = (handler) => async (event, context) => {
    logger.addContext(context);
    // A context without a clock (some local runners) would make every idempotent call throw.
    if (typeof context?.getRemainingTimeInMillis === 'function') idempotencyConfig.registerLambdaContext(context);
    metrics.captureColdStartMetric();
    try {
      return await handler(event, context);
    } finally {
      metrics.publishStoredMetrics();
    }
  };

  return { recordHandler, processor, logger, metrics, instrument };
}
