/**
 * Monthly cost model of the deployed design: publishers -> bus (+ archive) -> one rule, buffer
 * queue and arm64 function per consumer -> idempotency table; one KMS key encrypts everything;
 * CloudTrail logs PutEvents data events; CloudWatch holds alarms, a dashboard and logs.
 * Pure arithmetic over PRICES, so it can be checked by hand (see test/cli/cost.test.ts).
 */
import { PRICES, type PriceKey } from './pricing';

/** Hours in the month AWS's pricing calculator uses. */
export const HOURS_PER_MONTH = 730;
export const SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600;
/** EventBridge and SQS bill payloads in 64 KB chunks. */
export const CHUNK_KB = 64;
/** Lambda's SQS pollers use long polling with the maximum wait, 20 s. */
export const LONG_POLL_SECONDS = 20;

export interface CostInputs {
  /** Events put on the bus per month. */
  readonly eventsPerMonth: number;
  /** Average PutEvents entry size, KB. */
  readonly eventSizeKB: number;
  /** Consumers each event is delivered to (rules it matches): each has a queue and a function. */
  readonly consumers: number;
  /** Average records per Lambda invocation (and per ReceiveMessage and DeleteMessageBatch). */
  readonly batchSize: number;
  /** Average duration of one invocation, ms. */
  readonly durationMs: number;
  readonly memoryMB: number;
  /** The queues' KmsDataKeyReusePeriodSeconds. */
  readonly dataKeyReuseSeconds: number;
  /** Average entries per PutEvents call; CloudTrail logs one data event per call. */
  readonly eventsPerPutEvents: number;
  readonly alarms: number;
  readonly dashboards: number;
  /** Lambda pollers per queue long-polling when the queue is empty. */
  readonly pollersPerQueue: number;
  /** Log bytes each invocation writes (Powertools JSON logs and the platform's REPORT line). */
  readonly logBytesPerInvocation: number;
  /** Bytes each CloudTrail record adds to the trail's log group. */
  readonly trailRecordBytes: number;
  /** DynamoDB writes per record (Powertools idempotency: in-progress, then completed). */
  readonly idempotencyWritesPerRecord: number;
}

export interface CostLine {
  readonly service: string;
  readonly item: string;
  readonly quantity: number;
  readonly price: PriceKey;
  readonly usd: number;
}

export interface CostReport {
  readonly inputs: CostInputs;
  readonly lines: CostLine[];
  readonly byService: Record<string, number>;
  readonly total: number;
}

const chunks = (kb: number) => Math.max(1, Math.ceil(kb / CHUNK_KB));

export function estimateCost(i: CostInputs): CostReport {
  const lines: CostLine[] = [];
  const add = (service: string, item: string, quantity: number, price: PriceKey) => {
    const pr = PRICES[price];
    lines.push({ service, item, quantity, price, usd: (quantity / pr.per) * pr.usd });
  };
  const events = i.eventsPerMonth;
  const deliveries = events * i.consumers;
  const batches = deliveries / i.batchSize;
  const gb = (events * i.eventSizeKB) / (1024 * 1024);

  add('EventBridge', 'custom events put on the bus', events * chunks(i.eventSizeKB), 'eventBridgeCustomEvents');
  add('EventBridge', 'archive: events processed', gb, 'eventBridgeArchiveProcessing');
  add('EventBridge', "archive: storage of one month's events", gb, 'eventBridgeArchiveStorage');

  // Same-account rule deliveries to SQS cost nothing in EventBridge, but each is a SendMessage.
  const sends = deliveries * chunks(i.eventSizeKB);
  // A receive is billed per 64 KB chunk of the batch it returns; an empty long poll is one request.
  const busyReceives = batches * chunks(i.batchSize * i.eventSizeKB);
  const idleReceives = i.consumers * i.pollersPerQueue * (SECONDS_PER_MONTH / LONG_POLL_SECONDS);
  add('SQS', 'SendMessage by the rules', sends, 'sqsStandardRequests');
  add(
    'SQS',
    'ReceiveMessage by Lambda pollers (batched, or idle long polls if more)',
    Math.max(busyReceives, idleReceives),
    'sqsStandardRequests',
  );
  add('SQS', 'DeleteMessageBatch by Lambda', batches, 'sqsStandardRequests');

  const invocations = batches;
  add('Lambda', 'requests', invocations, 'lambdaRequests');
  add('Lambda', `duration, arm64, ${i.memoryMB} MB`, invocations * (i.durationMs / 1000) * (i.memoryMB / 1024), 'lambdaArmGbSecond');

  // SQS SSE-KMS: per queue, R = (B / D) * (2P + C) for B seconds, data key reuse D, P producing
  // and C consuming principals (here EventBridge and the function's role: P = C = 1).
  // @see https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-key-management.html
  const sqsKms = i.consumers * (SECONDS_PER_MONTH / i.dataKeyReuseSeconds) * (2 * 1 + 1);
  add('KMS', 'key', 1, 'kmsKeyMonth');
  add('KMS', `SQS data keys (reuse ${i.dataKeyReuseSeconds} s)`, sqsKms, 'kmsRequests');

  const putCalls = events / i.eventsPerPutEvents;
  add('CloudTrail', 'PutEvents data events', putCalls, 'cloudTrailDataEvents');

  const logGb = (invocations * i.logBytesPerInvocation + putCalls * i.trailRecordBytes) / 1024 ** 3;
  add('CloudWatch', 'alarms (standard resolution)', i.alarms, 'cloudWatchAlarm');
  add('CloudWatch', 'dashboards', i.dashboards, 'cloudWatchDashboard');
  add('CloudWatch', 'logs ingested (functions and trail)', logGb, 'cloudWatchLogsIngestion');
  add('CloudWatch', "logs storage of one month's logs", logGb, 'cloudWatchLogsStorage');

  add('DynamoDB', 'idempotency writes (on-demand)', deliveries * i.idempotencyWritesPerRecord, 'dynamoDbWriteRequestUnits');

  const byService: Record<string, number> = {};
  for (const l of lines) byService[l.service] = (byService[l.service] ?? 0) + l.usd;
  return { inputs: i, lines, byService, total: lines.reduce((s, l) => s + l.usd, 0) };
}

/** Events per month from a rate and its unit. */
export function perMonth(rate: number, unit: 'second' | 'minute' | 'hour' | 'day' | 'month'): number {
  const seconds = { second: 1, minute: 60, hour: 3600, day: 86400, month: SECONDS_PER_MONTH }[unit];
  return (rate * SECONDS_PER_MONTH) / seconds;
}
