/**
 * The one price table the `cost` command uses. US East (N. Virginia), USD, on-demand list prices
 * without free tiers (free tiers are per account and shared with everything else in it).
 *
 * Taken on 2026-11-27 from these pages (each line names its source):
 * - EventBridge:  https://aws.amazon.com/eventbridge/pricing/
 * - SQS:          https://aws.amazon.com/sqs/pricing/
 * - Lambda:       https://aws.amazon.com/lambda/pricing/
 * - KMS:          https://aws.amazon.com/kms/pricing/
 * - CloudTrail:   https://aws.amazon.com/cloudtrail/pricing/
 * - CloudWatch:   https://aws.amazon.com/cloudwatch/pricing/
 * - DynamoDB:     https://aws.amazon.com/dynamodb/pricing/on-demand/
 *
 * How each was confirmed on that date (the AWS pages' own price tables did not render as text, so
 * most figures come from pages quoting them; `confirmed: false` marks the ones no page showed):
 * - CloudTrail data events: the AWS CloudTrail pricing page itself ($0.10 per 100,000).
 * - EventBridge custom events and archive: cloudburn.io "Amazon EventBridge Pricing" (March 2026) and
 *   factualminds.com (June 2026) agree: $1.00/M events, 64 KB chunks, archive $0.10/GB + $0.023/GB-month.
 * - SQS: factualminds.com and cloudburn.io (2026): $0.40/M standard requests, 64 KB chunks.
 * - Lambda arm64: cloudchipr.com and a 2026 course note: $0.20/M requests, $0.0000133334/GB-s.
 * - KMS: $1/key-month and $0.03 per 10,000 requests, quoted from the KMS pricing page in an older
 *   example; no 2026 page showed them, so both are marked unconfirmed.
 * - CloudWatch: logs ingestion $0.50/GB and dashboards $3 from factualminds.com (2026); the alarm
 *   ($0.10) and log storage ($0.03/GB-month) prices were not shown by any page and are unconfirmed.
 * - DynamoDB on-demand writes ($0.625/M since the November 2024 price cut): not shown; unconfirmed.
 */
export const PRICES_TAKEN_ON = '2026-11-27';
export const PRICES_REGION = 'us-east-1';

export interface Price {
  /** USD per `per` units. */
  readonly usd: number;
  readonly per: number;
  readonly unit: string;
  readonly source: string;
  /** False when the price could not be confirmed on the date taken. */
  readonly confirmed: boolean;
}

const p = (usd: number, per: number, unit: string, source: string, confirmed = true): Price => ({ usd, per, unit, source, confirmed });

export const PRICES = {
  /** Custom events put on a bus; each 64 KB chunk of an entry is billed as one event. */
  eventBridgeCustomEvents: p(1.0, 1e6, 'events (64 KB chunks)', 'https://aws.amazon.com/eventbridge/pricing/'),
  /** Archive: events processed into the archive, per GB. */
  eventBridgeArchiveProcessing: p(0.1, 1, 'GB archived', 'https://aws.amazon.com/eventbridge/pricing/'),
  /** Archive storage, per GB-month. */
  eventBridgeArchiveStorage: p(0.023, 1, 'GB-month', 'https://aws.amazon.com/eventbridge/pricing/'),
  /** Standard queues, first 100 billion requests a month; each 64 KB chunk of a payload is one request. */
  sqsStandardRequests: p(0.4, 1e6, 'requests (64 KB chunks)', 'https://aws.amazon.com/sqs/pricing/'),
  lambdaRequests: p(0.2, 1e6, 'requests', 'https://aws.amazon.com/lambda/pricing/'),
  /** Arm (Graviton) duration, first 7.5 billion GB-seconds a month. */
  lambdaArmGbSecond: p(0.0000133334, 1, 'GB-seconds (arm64)', 'https://aws.amazon.com/lambda/pricing/'),
  kmsKeyMonth: p(1.0, 1, 'customer-managed key-month', 'https://aws.amazon.com/kms/pricing/', false),
  kmsRequests: p(0.03, 1e4, 'requests', 'https://aws.amazon.com/kms/pricing/', false),
  /** Data events delivered to a trail; every copy is charged, the first included. */
  cloudTrailDataEvents: p(0.1, 1e5, 'data events', 'https://aws.amazon.com/cloudtrail/pricing/'),
  /** Standard-resolution alarm on one metric. */
  cloudWatchAlarm: p(0.1, 1, 'alarm-months', 'https://aws.amazon.com/cloudwatch/pricing/', false),
  cloudWatchDashboard: p(3.0, 1, 'dashboard-months', 'https://aws.amazon.com/cloudwatch/pricing/'),
  /** Standard log class ingestion, first 10 TB a month. */
  cloudWatchLogsIngestion: p(0.5, 1, 'GB ingested', 'https://aws.amazon.com/cloudwatch/pricing/'),
  cloudWatchLogsStorage: p(0.03, 1, 'GB-month stored', 'https://aws.amazon.com/cloudwatch/pricing/', false),
  /** On-demand write request units (one per 1 KB written). */
  dynamoDbWriteRequestUnits: p(0.625, 1e6, 'write request units', 'https://aws.amazon.com/dynamodb/pricing/on-demand/', false),
} as const satisfies Record<string, Price>;

export type PriceKey = keyof typeof PRICES;
