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
 * Confirmation: the CloudTrail data-event price was read on the AWS page itself. The others were
 * read from 2026 pricing guides that quote the AWS pages (cloudburn.io, March 2026; factualminds.com,
 * June 2026) and agree with each other; the AWS pages' own tables were not readable when taken.
 * The DynamoDB on-demand write price could not be confirmed from any page at that date and is the
 * published rate since the November 2024 price cut; treat that line as an estimate.
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
  kmsKeyMonth: p(1.0, 1, 'customer-managed key-month', 'https://aws.amazon.com/kms/pricing/'),
  kmsRequests: p(0.03, 1e4, 'requests', 'https://aws.amazon.com/kms/pricing/'),
  /** Data events delivered to a trail; every copy is charged, the first included. */
  cloudTrailDataEvents: p(0.1, 1e5, 'data events', 'https://aws.amazon.com/cloudtrail/pricing/'),
  /** Standard-resolution alarm on one metric. */
  cloudWatchAlarm: p(0.1, 1, 'alarm-months', 'https://aws.amazon.com/cloudwatch/pricing/'),
  cloudWatchDashboard: p(3.0, 1, 'dashboard-months', 'https://aws.amazon.com/cloudwatch/pricing/'),
  /** Standard log class ingestion, first 10 TB a month. */
  cloudWatchLogsIngestion: p(0.5, 1, 'GB ingested', 'https://aws.amazon.com/cloudwatch/pricing/'),
  cloudWatchLogsStorage: p(0.03, 1, 'GB-month stored', 'https://aws.amazon.com/cloudwatch/pricing/'),
  /** On-demand write request units (one per 1 KB written). */
  dynamoDbWriteRequestUnits: p(0.625, 1e6, 'write request units', 'https://aws.amazon.com/dynamodb/pricing/on-demand/', false),
} as const satisfies Record<string, Price>;

export type PriceKey = keyof typeof PRICES;
