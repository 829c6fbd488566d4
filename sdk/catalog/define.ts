/**
 * Building blocks of an event catalog. An application's catalog (the example's is
 * catalog/loans.ts) is written with these helpers; the CDK stacks, the Lambda handlers,
 * the publisher's validation, the local runtime's docs and the CLI all read the result.
 */
import { z } from 'zod';

/** Metadata every published event carries in `detail.metadata`. */
export const EventMetadataSchema = z.object({
  /** Ties together every event caused by one business request. */
  correlationId: z.string().min(1).max(128),
  /** Id of the event that caused this one, when a handler publishes in response. */
  causationId: z.string().min(1).max(128).optional(),
  /** Version of the detail schema the producer wrote against. */
  schemaVersion: z.string().min(1),
});
export type EventMetadata = z.infer<typeof EventMetadataSchema>;

/** One event type: where it comes from, what it is called and what its detail holds. */
export interface EventDefinition<TName extends string = string, TData extends z.ZodType = z.ZodType> {
  /** EventBridge `source`, e.g. `com.example.loans.intake`. */
  readonly source: string;
  /** EventBridge `detail-type`; also the event type's name in code. */
  readonly detailType: TName;
  /** Version of the `data` schema. Breaking changes get a new event type instead. */
  readonly version: string;
  /** One sentence for the generated docs and the schema registry. */
  readonly description: string;
  /** Schema of `detail.data`. */
  readonly data: TData;
  /** Schema of the whole `detail`: `{ metadata, data }`. */
  readonly detail: z.ZodObject<{ metadata: typeof EventMetadataSchema; data: TData }>;
}

export function defineEvent<TName extends string, TData extends z.ZodType>(props: {
  source: string;
  detailType: TName;
  version: string;
  description: string;
  data: TData;
}): EventDefinition<TName, TData> {
  if (!/^[A-Za-z0-9._\-/]+$/.test(props.source) || props.source.startsWith('aws.')) {
    throw new Error(`Event source '${props.source}' must use only letters, digits, '.', '-', '_', '/' and must not start with 'aws.'`);
  }
  if (props.detailType.length === 0 || props.detailType.length > 128) {
    throw new Error(`Event detail-type '${props.detailType}' must be 1 to 128 characters long`);
  }
  return { ...props, detail: z.object({ metadata: EventMetadataSchema, data: props.data }) };
}

/** The `detail` type of an event definition. */
export type DetailOf<E extends EventDefinition> = z.infer<E['detail']>;
/** The `detail.data` type of an event definition. */
export type DataOf<E extends EventDefinition> = z.infer<E['data']>;

/**
 * A content filter on `detail.data`, written in EventBridge's pattern language,
 * e.g. `{ amount: [{ numeric: ['>=', 250000] }] }`.
 */
export type DataFilter = Record<string, unknown>;

/** The matchers of one field: an array of values and operators (`prefix`, `numeric`, `exists`...). */
export type FieldMatchers = readonly unknown[];

/**
 * A content filter typed against the fields of `T` (an event's `detail.data`): every key must be
 * a field of the schema, so a misspelt field fails to compile. Objects nest; leaves take matchers.
 */
export type TypedDataFilter<T> = T extends readonly unknown[]
  ? FieldMatchers
  : T extends object
    ? {
        readonly [K in keyof T]?: NonNullable<T[K]> extends readonly unknown[]
          ? FieldMatchers
          : NonNullable<T[K]> extends object
            ? TypedDataFilter<NonNullable<T[K]>> | FieldMatchers
            : FieldMatchers;
      } & {
        readonly $or?: readonly TypedDataFilter<T>[];
      }
    : FieldMatchers;

/** One event type a consumer subscribes to, with an optional content filter. */
export interface Subscription {
  readonly event: EventDefinition;
  readonly where?: DataFilter;
}

/** Subscribes to `event`, optionally only to events whose `detail.data` matches `where`. */
export function on<E extends EventDefinition>(event: E, where?: TypedDataFilter<DataOf<E>>): Subscription {
  return { event, where: where as DataFilter | undefined };
}

/** Tuning of a consumer's buffer queue, event source mapping and function. */
export interface ConsumerTuning {
  /** Records per Lambda invocation. Valid Range: 1 to 10,000 (above 10 needs a batching window). @default 10 */
  readonly batchSize?: number;
  /** Seconds to gather a batch. Valid Range: 0 to 300. @default 0 */
  readonly maxBatchingWindowSeconds?: number;
  /** Concurrent invocations from the queue. Valid Range: 2 to 1,000. @default 5 */
  readonly maxConcurrency?: number;
  /** Function timeout in seconds. @default 30 */
  readonly timeoutSeconds?: number;
  /** Function memory in MB. @default 256 */
  readonly memoryMB?: number;
  /** Receives before a message moves to the consumer's dead-letter queue. @default 5 */
  readonly maxReceiveCount?: number;
}

export interface ConsumerDefinition {
  /** Kebab-case name; also the folder of its handler (`<handlers dir>/<name>/index.ts`) and of its stack. */
  readonly name: string;
  readonly description: string;
  /** What it receives. Several subscriptions become one rule whose pattern is their union. */
  readonly subscriptions: readonly Subscription[];
  /** What it may publish in response (its role and the bus policy allow exactly these). */
  readonly publishes: readonly EventDefinition[];
  /** Whether it keeps records of its own in a DynamoDB table (`STATE_TABLE_NAME`). @default false */
  readonly stateTable?: boolean;
  readonly tuning?: ConsumerTuning;
  /**
   * AWS account id of a consumer deployed in another account. Its subscription (rule, target and
   * delivery dead-letter queue) stays in the bus's account; its queue, function, key and tables
   * are deployed in this account, and EventBridge delivers across accounts to the queue.
   * @default - the bus's account
   */
  readonly account?: string;
  /**
   * Region of a consumer in another account. EventBridge delivers to cross-account targets only
   * in the bus's Region, so this must equal the bus's Region when both are known.
   * @default - the bus's Region
   */
  readonly region?: string;
}

/** A producer outside the stack: a role the stack creates, or a principal in another account. */
export interface PublisherDefinition {
  /** Kebab-case name; the stack names the publisher role after it. */
  readonly name: string;
  readonly description: string;
  /** What it may publish: the sources and detail-types in its IAM and bus-policy conditions. */
  readonly publishes: readonly EventDefinition[];
  /**
   * AWS account id of a publisher in another account. The bus policy allows that account's
   * principals to publish these events; no role is created here.
   * @default - same account: the stack creates a publisher role
   */
  readonly account?: string;
}

export function defineConsumer(props: ConsumerDefinition): ConsumerDefinition {
  if (!/^[a-z][a-z0-9-]{0,39}$/.test(props.name)) {
    throw new Error(`Consumer name '${props.name}' must be kebab-case, start with a letter and be at most 40 characters`);
  }
  if (props.subscriptions.length === 0) {
    throw new Error(`Consumer '${props.name}' must subscribe to at least one event type`);
  }
  if (props.account !== undefined && !/^\d{12}$/.test(props.account)) {
    throw new Error(`Consumer '${props.name}' account must be a 12-digit AWS account id (given '${props.account}')`);
  }
  if (props.region !== undefined && !/^[a-z]{2}(-[a-z]+)+-\d$/.test(props.region)) {
    throw new Error(`Consumer '${props.name}' region must be an AWS Region name such as 'eu-west-1' (given '${props.region}')`);
  }
  return props;
}

export function definePublisher(props: PublisherDefinition): PublisherDefinition {
  if (!/^[a-z][a-z0-9-]{0,39}$/.test(props.name)) {
    throw new Error(`Publisher name '${props.name}' must be kebab-case, start with a letter and be at most 40 characters`);
  }
  if (props.account !== undefined && !/^\d{12}$/.test(props.account)) {
    throw new Error(`Publisher '${props.name}' account must be a 12-digit AWS account id (given '${props.account}')`);
  }
  if (props.publishes.length === 0) {
    throw new Error(`Publisher '${props.name}' must publish at least one event type`);
  }
  return props;
}

/** The EventBridge pattern of one subscription. */
export function subscriptionPattern(sub: Subscription): Record<string, unknown> {
  const pattern: Record<string, unknown> = {
    source: [sub.event.source],
    'detail-type': [sub.event.detailType],
  };
  if (sub.where && Object.keys(sub.where).length > 0) {
    pattern.detail = { data: sub.where };
  }
  return pattern;
}

/**
 * The single EventBridge pattern of a consumer's rule. Subscriptions without content
 * filters that share a source merge into one `detail-type` list; anything else is
 * joined with `$or`, which EventBridge evaluates as a union.
 */
export function consumerPattern(consumer: ConsumerDefinition): Record<string, unknown> {
  const unfiltered = consumer.subscriptions.filter((s) => !s.where || Object.keys(s.where).length === 0);
  const filtered = consumer.subscriptions.filter((s) => s.where && Object.keys(s.where).length > 0);
  const bySource = new Map<string, string[]>();
  for (const s of unfiltered) {
    const list = bySource.get(s.event.source) ?? [];
    if (!list.includes(s.event.detailType)) list.push(s.event.detailType);
    bySource.set(s.event.source, list);
  }
  const parts: Record<string, unknown>[] = [
    ...[...bySource.entries()].map(([source, types]) => ({ source: [source], 'detail-type': types })),
    ...filtered.map(subscriptionPattern),
  ];
  const [only] = parts;
  return parts.length === 1 && only !== undefined ? only : { $or: parts };
}

/** The whole catalog: the one place that says what exists and who may do what. */
export interface EventCatalog {
  readonly events: readonly EventDefinition[];
  readonly publishers: readonly PublisherDefinition[];
  readonly consumers: readonly ConsumerDefinition[];
}

export function defineCatalog(catalog: EventCatalog): EventCatalog {
  const key = (e: EventDefinition) => `${e.source}|${e.detailType}`;
  const known = new Set<string>();
  for (const e of catalog.events) {
    if (known.has(key(e))) throw new Error(`Event type ${e.source} / ${e.detailType} is defined twice`);
    known.add(key(e));
  }
  const names = new Set<string>();
  for (const p of [...catalog.publishers, ...catalog.consumers]) {
    if (names.has(p.name)) throw new Error(`Name '${p.name}' is used by more than one publisher or consumer`);
    names.add(p.name);
  }
  const check = (owner: string, events: readonly EventDefinition[]) => {
    for (const e of events) {
      if (!known.has(key(e))) throw new Error(`${owner} refers to event type '${e.detailType}', which is not in the catalog's events`);
    }
  };
  catalog.publishers.forEach((p) => check(`Publisher '${p.name}'`, p.publishes));
  catalog.consumers.forEach((c) => {
    check(`Consumer '${c.name}'`, c.publishes);
    check(
      `Consumer '${c.name}'`,
      c.subscriptions.map((s) => s.event),
    );
  });
  return catalog;
}

/** Finds an event type by source and detail-type; undefined when the catalog has none. */
export function findEvent(catalog: EventCatalog, source: string, detailType: string): EventDefinition | undefined {
  return catalog.events.find((e) => e.source === source && e.detailType === detailType);
}

/**
 * JSON Schema of an event type's `detail`. Draft 4 by default because that is the
 * JSON Schema draft the EventBridge schema registry accepts (`JSONSchemaDraft4`).
 * @see https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-schema.html
 */
export function detailJsonSchema(
  event: EventDefinition,
  target: 'draft-4' | 'draft-7' | 'draft-2020-12' = 'draft-4',
): Record<string, unknown> {
  return z.toJSONSchema(event.detail, { target }) as Record<string, unknown>;
}
