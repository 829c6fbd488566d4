/**
 * SQS queue attributes and message validation: limits, defaults, the attribute names
 * SetQueueAttributes accepts, RedrivePolicy (parsed once, when it is set), message
 * attribute rules and MD5s. Pure functions; the queue state machine is in sqs-queue.ts.
 * Limits: https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-messages.html
 */
import { createHash } from 'node:crypto';
import { AwsError } from './errors';

export const SQS_MAX_MESSAGE_BYTES = 1024 * 1024;
export const SQS_MAX_BATCH_ENTRIES = 10;
export const SQS_MAX_VISIBILITY_TIMEOUT = 43200;
export const SQS_MAX_DELAY_SECONDS = 900;
export const SQS_MAX_WAIT_SECONDS = 20;
export const SQS_MAX_MESSAGE_ATTRIBUTES = 10;
/** FIFO deduplication interval. */
export const DEDUP_WINDOW_MS = 5 * 60 * 1000;

export interface MessageAttributeValue {
  DataType: string;
  StringValue?: string;
  BinaryValue?: string; // base64
}

export interface RedrivePolicy {
  deadLetterTargetArn: string;
  maxReceiveCount: number;
}

export interface QueueSettings {
  VisibilityTimeout: number;
  MessageRetentionPeriod: number;
  DelaySeconds: number;
  ReceiveMessageWaitTimeSeconds: number;
  MaximumMessageSize: number;
  FifoQueue: boolean;
  ContentBasedDeduplication: boolean;
  RedrivePolicy?: RedrivePolicy;
  /** Other attributes kept as given (Policy, KmsMasterKeyId, RedriveAllowPolicy...). */
  extra: Record<string, string>;
}

export const DEFAULT_QUEUE_SETTINGS: Omit<QueueSettings, 'extra' | 'FifoQueue'> = {
  VisibilityTimeout: 30,
  MessageRetentionPeriod: 345600,
  DelaySeconds: 0,
  ReceiveMessageWaitTimeSeconds: 0,
  MaximumMessageSize: SQS_MAX_MESSAGE_BYTES,
  ContentBasedDeduplication: false,
};

export const sqsError = {
  noQueue: () => new AwsError('QueueDoesNotExist', 'The specified queue does not exist.', 400, 'AWS.SimpleQueueService.NonExistentQueue'),
  invalidParam: (message: string) => new AwsError('InvalidParameterValue', message, 400, 'InvalidParameterValue'),
  missing: (message: string) => new AwsError('MissingParameter', message, 400, 'MissingParameter'),
  receiptHandle: (handle: string) =>
    new AwsError(
      'ReceiptHandleIsInvalid',
      `The input receipt handle "${handle}" is not a valid receipt handle.`,
      400,
      'ReceiptHandleIsInvalid',
    ),
};

/** MD5 of message attributes as SQS computes it (sorted names, length-prefixed fields). */
export function md5OfMessageAttributes(attrs: Record<string, MessageAttributeValue>): string | undefined {
  const names = Object.keys(attrs).sort();
  if (names.length === 0) return undefined;
  const parts: Buffer[] = [];
  const withLength = (b: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(b.length);
    parts.push(len, b);
  };
  for (const name of names) {
    const v = attrs[name];
    if (!v) continue;
    withLength(Buffer.from(name, 'utf8'));
    withLength(Buffer.from(v.DataType, 'utf8'));
    if (v.BinaryValue !== undefined) {
      parts.push(Buffer.from([2]));
      withLength(Buffer.from(v.BinaryValue, 'base64'));
    } else {
      parts.push(Buffer.from([1]));
      withLength(Buffer.from(v.StringValue ?? '', 'utf8'));
    }
  }
  return createHash('md5').update(Buffer.concat(parts)).digest('hex');
}

export const md5 = (s: string) => createHash('md5').update(s, 'utf8').digest('hex');
// Characters SQS accepts in a body: #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF.
// eslint-disable-next-line no-control-regex
export const INVALID_BODY_CHARS = /[^\x09\x0A\x0D\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;
const ATTRIBUTE_NAME = /^(?!aws\.|amazon\.)(?!\.)(?!.*\.\.)(?!.*\.$)[A-Za-z0-9_.-]{1,256}$/i;

/** Size SQS counts for a message: body plus each attribute's name, type and value. */
export function messageSize(body: string, attrs: Record<string, MessageAttributeValue> | undefined): number {
  let n = Buffer.byteLength(body, 'utf8');
  for (const [k, v] of Object.entries(attrs ?? {})) {
    n += Buffer.byteLength(k) + Buffer.byteLength(v.DataType);
    n += v.BinaryValue !== undefined ? Buffer.from(v.BinaryValue, 'base64').length : Buffer.byteLength(v.StringValue ?? '');
  }
  return n;
}

export function validateMessageAttributes(attrs: Record<string, MessageAttributeValue> | undefined): void {
  if (!attrs) return;
  const names = Object.keys(attrs);
  if (names.length > SQS_MAX_MESSAGE_ATTRIBUTES) {
    throw sqsError.invalidParam(
      `Number of message attributes [${names.length}] exceeds the allowed maximum [${SQS_MAX_MESSAGE_ATTRIBUTES}].`,
    );
  }
  for (const name of names) {
    const v = attrs[name];
    if (!ATTRIBUTE_NAME.test(name)) throw sqsError.invalidParam(`Message (user) attribute name '${name}' is invalid.`);
    if (!v || typeof v.DataType !== 'string' || !/^(String|Number|Binary)(\..+)?$/.test(v.DataType)) {
      throw sqsError.invalidParam(
        `The message attribute '${name}' has an invalid message attribute type, the set of supported type prefixes is Binary, Number, and String.`,
      );
    }
    const binary = v.DataType.startsWith('Binary');
    if (binary ? v.BinaryValue === undefined : v.StringValue === undefined) {
      throw sqsError.invalidParam(
        `The message attribute '${name}' with type '${v.DataType}' must use field '${binary ? 'Binary' : 'String'}'.`,
      );
    }
    if (v.DataType.startsWith('Number') && !Number.isFinite(Number(v.StringValue))) {
      throw sqsError.invalidParam(`Can't cast the value of message (user) attribute '${name}' to a number.`);
    }
  }
}

/** All queues of the account, by name, ARN and URL; message move tasks. */
export const QUEUE_ATTRIBUTE_NAMES: Record<string, 'rw' | 'ro'> = {
  ApproximateNumberOfMessages: 'ro',
  ApproximateNumberOfMessagesNotVisible: 'ro',
  ApproximateNumberOfMessagesDelayed: 'ro',
  CreatedTimestamp: 'ro',
  LastModifiedTimestamp: 'ro',
  QueueArn: 'ro',
  VisibilityTimeout: 'rw',
  MaximumMessageSize: 'rw',
  MessageRetentionPeriod: 'rw',
  DelaySeconds: 'rw',
  ReceiveMessageWaitTimeSeconds: 'rw',
  RedrivePolicy: 'rw',
  RedriveAllowPolicy: 'rw',
  Policy: 'rw',
  FifoQueue: 'rw',
  ContentBasedDeduplication: 'rw',
  KmsMasterKeyId: 'rw',
  KmsDataKeyReusePeriodSeconds: 'rw',
  SqsManagedSseEnabled: 'rw',
  DeduplicationScope: 'rw',
  FifoThroughputLimit: 'rw',
};

/** Not an SQS attribute (CloudWatch has it as a metric); returned only when asked for by name. */
export const OLDEST_AGE_ATTRIBUTE = 'ApproximateAgeOfOldestMessage';

export const invalidAttributeName = (name: string) =>
  new AwsError('InvalidAttributeName', `Unknown Attribute ${name}.`, 400, 'InvalidAttributeName');

export function validateQueueName(name: string, attributes: Record<string, string>): void {
  const fifo = name.endsWith('.fifo');
  const base = fifo ? name.slice(0, -5) : name;
  if (!/^[A-Za-z0-9_-]{1,80}$/.test(base) || name.length > 80) {
    throw sqsError.invalidParam('Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length');
  }
  if (fifo !== (attributes.FifoQueue === 'true') && attributes.FifoQueue !== undefined) {
    throw sqsError.invalidParam(
      'The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end with .fifo suffix and be 1 to 80 in length.',
    );
  }
  if (fifo && attributes.FifoQueue === undefined) {
    throw sqsError.invalidParam(
      'The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end with .fifo suffix and be 1 to 80 in length.',
    );
  }
}

function intAttr(attrs: Record<string, string>, name: string, min: number, max: number, dflt: number): number {
  const raw = attrs[name];
  if (raw === undefined) return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw sqsError.invalidParam(`Invalid value for the parameter ${name}. Reason: must be an integer from ${min} to ${max}.`);
  }
  return n;
}

/** What parsing a RedrivePolicy needs to know about the account's queues. */
export interface RedriveContext {
  /** ARN of the queue the attributes are for. */
  queueArn: string;
  /** Whether the dead-letter target exists, and whether it is FIFO. */
  lookup(arn: string): { fifo: boolean } | undefined;
}

export function parseQueueAttributes(attrs: Record<string, string>, fifo: boolean, ctx: RedriveContext): QueueSettings {
  const extra: Record<string, string> = {};
  for (const [k, v] of Object.entries(attrs)) {
    if (QUEUE_ATTRIBUTE_NAMES[k] !== 'rw') throw invalidAttributeName(k);
    if (typeof v !== 'string') throw sqsError.invalidParam(`Invalid value for the parameter ${k}.`);
    if (
      ![
        'VisibilityTimeout',
        'MaximumMessageSize',
        'MessageRetentionPeriod',
        'DelaySeconds',
        'ReceiveMessageWaitTimeSeconds',
        'RedrivePolicy',
        'FifoQueue',
        'ContentBasedDeduplication',
      ].includes(k)
    )
      extra[k] = v;
  }
  let redrive: RedrivePolicy | undefined;
  if (attrs.RedrivePolicy) {
    let p: { deadLetterTargetArn?: unknown; maxReceiveCount?: unknown };
    try {
      p = JSON.parse(attrs.RedrivePolicy);
    } catch {
      p = undefined as never;
    }
    if (p === null || typeof p !== 'object' || Array.isArray(p)) {
      throw sqsError.invalidParam('Invalid value for the parameter RedrivePolicy. Reason: Redrive policy is not a valid JSON map.');
    }
    const count = Number(p.maxReceiveCount);
    if (typeof p.deadLetterTargetArn !== 'string' || !Number.isInteger(count) || count < 1 || count > 1000) {
      throw sqsError.invalidParam(
        'Value for parameter RedrivePolicy is invalid. Reason: Redrive policy needs deadLetterTargetArn and maxReceiveCount (1 to 1000).',
      );
    }
    // SQS's documentation does not say whether it accepts a queue as its own dead-letter queue;
    // it can never be useful (a message would "move" onto itself), so it is refused here.
    if (p.deadLetterTargetArn === ctx.queueArn) {
      throw sqsError.invalidParam(
        `Value ${attrs.RedrivePolicy} for parameter RedrivePolicy is invalid. Reason: Dead letter target can not be the queue itself.`,
      );
    }
    const target = ctx.lookup(p.deadLetterTargetArn);
    if (!target) {
      throw sqsError.invalidParam(
        `Value ${attrs.RedrivePolicy} for parameter RedrivePolicy is invalid. Reason: Dead letter target does not exist.`,
      );
    }
    // https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html
    if (target.fifo !== fifo) {
      throw sqsError.invalidParam(
        `Value ${attrs.RedrivePolicy} for parameter RedrivePolicy is invalid. Reason: The dead-letter queue of a ${fifo ? 'FIFO' : 'standard'} queue must also be a ${fifo ? 'FIFO' : 'standard'} queue.`,
      );
    }
    redrive = { deadLetterTargetArn: p.deadLetterTargetArn, maxReceiveCount: count };
  }
  const bool = (k: string) => attrs[k] === 'true';
  if (!fifo && attrs.ContentBasedDeduplication !== undefined) {
    throw invalidAttributeName('ContentBasedDeduplication');
  }
  return {
    VisibilityTimeout: intAttr(attrs, 'VisibilityTimeout', 0, SQS_MAX_VISIBILITY_TIMEOUT, DEFAULT_QUEUE_SETTINGS.VisibilityTimeout),
    MessageRetentionPeriod: intAttr(attrs, 'MessageRetentionPeriod', 60, 1209600, DEFAULT_QUEUE_SETTINGS.MessageRetentionPeriod),
    DelaySeconds: intAttr(attrs, 'DelaySeconds', 0, SQS_MAX_DELAY_SECONDS, 0),
    ReceiveMessageWaitTimeSeconds: intAttr(attrs, 'ReceiveMessageWaitTimeSeconds', 0, SQS_MAX_WAIT_SECONDS, 0),
    MaximumMessageSize: intAttr(attrs, 'MaximumMessageSize', 1024, SQS_MAX_MESSAGE_BYTES, SQS_MAX_MESSAGE_BYTES),
    FifoQueue: fifo,
    ContentBasedDeduplication: bool('ContentBasedDeduplication'),
    RedrivePolicy: redrive,
    extra,
  };
}

/** The message attribute lists of a ReceiveMessage request, checked before any message is taken. */
export interface ReceiveAttributeSelection {
  systemNames: string[];
  messageAttributeNames: string[];
}

/**
 * Checks `AttributeNames`, `MessageSystemAttributeNames` and `MessageAttributeNames` of a
 * ReceiveMessage request: each absent or a list of strings. A request that fails here has
 * taken nothing from the queue.
 */
export function receiveAttributeSelection(input: Record<string, unknown>): ReceiveAttributeSelection {
  const list = (name: string): string[] => {
    const v = input[name];
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) {
      throw sqsError.invalidParam(`Value for parameter ${name} is invalid. Reason: must be a list of strings.`);
    }
    return v as string[];
  };
  return {
    systemNames: [...list('AttributeNames'), ...list('MessageSystemAttributeNames')],
    messageAttributeNames: list('MessageAttributeNames'),
  };
}

/**
 * Orders queue definitions so that every dead-letter queue comes before the queues that name
 * it; a cycle (which CloudFormation cannot create either) is an error naming its queues.
 */
export function orderByDeadLetter<T>(items: T[], arnOf: (item: T) => string, deadLetterArnOf: (item: T) => string | undefined): T[] {
  const byArn = new Map(items.map((i) => [arnOf(i), i]));
  const out: T[] = [];
  const state = new Map<T, 'visiting' | 'done'>();
  const visit = (item: T, path: T[]): void => {
    const s = state.get(item);
    if (s === 'done') return;
    if (s === 'visiting') {
      const cycle = path.slice(path.indexOf(item)).map(arnOf);
      throw new RangeError(`Queues ${cycle.map((a) => a.split(':').pop()).join(', ')} form a dead-letter cycle`);
    }
    state.set(item, 'visiting');
    const dlq = deadLetterArnOf(item);
    const next = dlq === undefined ? undefined : byArn.get(dlq);
    if (next !== undefined) visit(next, [...path, item]);
    state.set(item, 'done');
    out.push(item);
  };
  for (const i of items) visit(i, []);
  return out;
}

/** The dead-letter target named by a raw RedrivePolicy value (string or object), if any; for ordering only. */
export function deadLetterTargetOf(policy: unknown): string | undefined {
  let p: unknown = policy;
  if (typeof policy === 'string') {
    try {
      p = JSON.parse(policy);
    } catch {
      return undefined;
    }
  }
  const arn = p !== null && typeof p === 'object' ? (p as { deadLetterTargetArn?: unknown }).deadLetterTargetArn : undefined;
  return typeof arn === 'string' ? arn : undefined;
}
