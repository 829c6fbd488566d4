/**
 * In-memory SQS: standard and FIFO queues with visibility timeout, receive counts,
 * redrive to the dead-letter queue after maxReceiveCount, retention, delay, long polling
 * and DLQ redrive (message move tasks). The HTTP adapters (sqs-api.ts) and the internal
 * users (EventBridge targets, event source mappings) all go through this class.
 * Limits: https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-messages.html
 */
import { createHash, randomUUID } from 'node:crypto';
import { AwsError } from './errors';
import { Deque, TimeHeap } from './heap';
import type { RuntimeLog } from './log';

/** 1 MiB: the message size limit since August 2025 (was 256 KiB). */
export const SQS_MAX_MESSAGE_BYTES = 1024 * 1024;
export const SQS_MAX_BATCH_ENTRIES = 10;
export const SQS_MAX_VISIBILITY_TIMEOUT = 43200;
export const SQS_MAX_DELAY_SECONDS = 900;
export const SQS_MAX_WAIT_SECONDS = 20;
export const SQS_MAX_MESSAGE_ATTRIBUTES = 10;
/** FIFO deduplication interval. */
const DEDUP_WINDOW_MS = 5 * 60 * 1000;

export interface MessageAttributeValue {
  DataType: string;
  StringValue?: string;
  BinaryValue?: string; // base64
}

export interface SqsMessage {
  messageId: string;
  body: string;
  md5OfBody: string;
  attributes: Record<string, MessageAttributeValue>;
  md5OfAttributes?: string;
  sentTimestamp: number;
  firstReceiveTimestamp?: number;
  receiveCount: number;
  senderId: string;
  groupId?: string;
  dedupId?: string;
  sequenceNumber?: string;
  deadLetterSourceArn?: string;
  state: 'delayed' | 'ready' | 'inflight' | 'gone';
  /** Bumped at every state change so stale heap entries are ignored. */
  gen: number;
  receiptHandle?: string;
  visibleAt: number;
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

export interface SendInput {
  body: string;
  delaySeconds?: number;
  attributes?: Record<string, MessageAttributeValue>;
  groupId?: string;
  dedupId?: string;
}

export interface ReceiveOptions {
  max?: number;
  visibilityTimeout?: number;
  waitSeconds?: number;
  /** Aborts a long poll early (queue deleted, runtime closing). */
  signal?: AbortSignal;
}

export interface MoveTask {
  taskHandle: string;
  sourceArn: string;
  destinationArn?: string;
  maxPerSecond?: number;
  status: 'RUNNING' | 'COMPLETED' | 'CANCELLING' | 'CANCELLED' | 'FAILED';
  moved: number;
  toMove: number;
  started: number;
  failureReason?: string;
}

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

const md5 = (s: string) => createHash('md5').update(s, 'utf8').digest('hex');
// Characters SQS accepts in a body: #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF.
// eslint-disable-next-line no-control-regex
const INVALID_BODY_CHARS = /[^\x09\x0A\x0D\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;
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

export class Queue {
  readonly created = Math.floor(Date.now() / 1000);
  lastModified = this.created;
  private ready = new Deque<SqsMessage>();
  private readonly heap = new TimeHeap<{ msg: SqsMessage; gen: number }>();
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  private readonly handles = new Map<string, SqsMessage>();
  private waiters: (() => void)[] = [];
  private readonly dedup = new Map<string, { at: number; messageId: string; seq?: string }>();
  private readonly inflightGroups = new Map<string, number>();
  private seq = 0n;
  counts = { ready: 0, inflight: 0, delayed: 0 };
  deleted = false;
  /** Listeners told when a message becomes visible (event source mappings). */
  readonly onReady = new Set<() => void>();

  constructor(
    readonly broker: SqsBroker,
    readonly name: string,
    readonly arn: string,
    readonly url: string,
    public settings: QueueSettings,
  ) {}

  get fifo(): boolean {
    return this.settings.FifoQueue;
  }

  send(input: SendInput): { messageId: string; md5OfBody: string; md5OfAttributes?: string; sequenceNumber?: string } {
    const s = this.settings;
    if (input.body.length === 0) throw sqsError.missing('The request must contain the parameter MessageBody.');
    if (INVALID_BODY_CHARS.test(input.body)) {
      throw new AwsError(
        'InvalidMessageContents',
        'Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF',
        400,
        'InvalidMessageContents',
      );
    }
    validateAttributes(input.attributes);
    const size = messageSize(input.body, input.attributes);
    if (size > s.MaximumMessageSize) {
      throw sqsError.invalidParam(
        `One or more parameters are invalid. Reason: Message must be shorter than ${s.MaximumMessageSize} bytes.`,
      );
    }
    const delay = input.delaySeconds ?? s.DelaySeconds;
    if (!Number.isInteger(delay) || delay < 0 || delay > SQS_MAX_DELAY_SECONDS) {
      throw sqsError.invalidParam(
        `Value ${delay} for parameter DelaySeconds is invalid. Reason: must be between 0 and ${SQS_MAX_DELAY_SECONDS}, if provided.`,
      );
    }
    let dedupId = input.dedupId;
    if (this.fifo) {
      if (input.groupId === undefined) throw sqsError.missing('The request must contain the parameter MessageGroupId.');
      if (input.delaySeconds !== undefined && input.delaySeconds > 0) {
        throw sqsError.invalidParam(
          `Value ${input.delaySeconds} for parameter DelaySeconds is invalid. Reason: The request include parameter that is not valid for this queue type.`,
        );
      }
      if (dedupId === undefined) {
        if (!s.ContentBasedDeduplication) {
          throw sqsError.invalidParam(
            'The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly',
          );
        }
        dedupId = createHash('sha256').update(input.body).digest('hex');
      }
      const now = Date.now();
      const seen = this.dedup.get(dedupId);
      if (seen && now - seen.at < DEDUP_WINDOW_MS) {
        return {
          messageId: seen.messageId,
          md5OfBody: md5(input.body),
          md5OfAttributes: md5OfMessageAttributes(input.attributes ?? {}),
          sequenceNumber: seen.seq,
        };
      }
    } else if (input.dedupId !== undefined) {
      throw sqsError.invalidParam(
        'Value for parameter MessageDeduplicationId is invalid. Reason: The request include parameter that is not valid for this queue type.',
      );
    }
    const msg = this.newMessage(input.body, input.attributes ?? {}, input.groupId, dedupId);
    if (this.fifo) {
      this.seq += 1n;
      msg.sequenceNumber = (18_000_000_000_000_000_000n + this.seq).toString();
      this.dedup.set(dedupId!, { at: msg.sentTimestamp, messageId: msg.messageId, seq: msg.sequenceNumber });
      this.pruneDedup(msg.sentTimestamp);
    }
    this.enqueue(msg, this.fifo ? 0 : delay);
    return { messageId: msg.messageId, md5OfBody: msg.md5OfBody, md5OfAttributes: msg.md5OfAttributes, sequenceNumber: msg.sequenceNumber };
  }

  /** Adds a message moved from another queue (DLQ moves, redrive); it keeps id, body and attributes. */
  adopt(from: SqsMessage, resetReceiveCount: boolean, deadLetterSourceArn?: string): void {
    const msg: SqsMessage = {
      ...from,
      state: 'ready',
      gen: 0,
      receiptHandle: undefined,
      receiveCount: resetReceiveCount ? 0 : from.receiveCount,
      firstReceiveTimestamp: resetReceiveCount ? undefined : from.firstReceiveTimestamp,
      deadLetterSourceArn: deadLetterSourceArn ?? (resetReceiveCount ? undefined : from.deadLetterSourceArn),
      sentTimestamp: resetReceiveCount ? Date.now() : from.sentTimestamp,
    };
    if (this.fifo) {
      this.seq += 1n;
      msg.sequenceNumber = (18_000_000_000_000_000_000n + this.seq).toString();
      msg.groupId ??= 'default';
    }
    this.enqueue(msg, 0);
  }

  private newMessage(body: string, attributes: Record<string, MessageAttributeValue>, groupId?: string, dedupId?: string): SqsMessage {
    return {
      messageId: randomUUID(),
      body,
      md5OfBody: md5(body),
      attributes,
      md5OfAttributes: md5OfMessageAttributes(attributes),
      sentTimestamp: Date.now(),
      receiveCount: 0,
      senderId: this.broker.accountId,
      groupId,
      dedupId,
      state: 'ready',
      gen: 0,
      visibleAt: 0,
    };
  }

  private enqueue(msg: SqsMessage, delaySeconds: number): void {
    if (delaySeconds > 0) {
      msg.state = 'delayed';
      msg.gen++;
      msg.visibleAt = Date.now() + delaySeconds * 1000;
      this.counts.delayed++;
      this.schedule(msg);
    } else {
      this.makeReady(msg);
    }
  }

  private makeReady(msg: SqsMessage): void {
    msg.state = 'ready';
    msg.gen++;
    this.counts.ready++;
    if (this.fifo) {
      // Keep group order: a message that comes back goes before later ones.
      const arr = this.ready.toArray();
      let i = arr.length;
      while (i > 0 && BigInt(arr[i - 1].sequenceNumber ?? '0') > BigInt(msg.sequenceNumber ?? '0')) i--;
      arr.splice(i, 0, msg);
      this.ready.replace(arr);
    } else {
      this.ready.push(msg);
    }
    this.wake();
  }

  private wake(): void {
    const w = this.waiters;
    if (w.length > 0) {
      this.waiters = [];
      for (const f of w) f();
    }
    for (const f of this.onReady) f();
  }

  private schedule(msg: SqsMessage): void {
    this.heap.push(msg.visibleAt, { msg, gen: msg.gen });
    if (msg.visibleAt < this.timerAt) this.arm();
  }

  private arm(): void {
    if (this.timer) clearTimeout(this.timer);
    const at = this.heap.peekTime();
    if (at === undefined || this.deleted) {
      this.timer = undefined;
      this.timerAt = Infinity;
      return;
    }
    this.timerAt = at;
    this.timer = setTimeout(() => this.tick(), Math.max(0, at - Date.now()));
    this.timer.unref?.();
  }

  private tick(): void {
    this.timer = undefined;
    this.timerAt = Infinity;
    for (const { msg, gen } of this.heap.popDue(Date.now())) {
      if (msg.gen !== gen) continue;
      if (msg.state === 'delayed') {
        this.counts.delayed--;
        this.makeReady(msg);
      } else if (msg.state === 'inflight') {
        this.endInflight(msg);
        this.makeReady(msg);
      }
    }
    this.arm();
  }

  private endInflight(msg: SqsMessage): void {
    this.counts.inflight--;
    if (msg.receiptHandle) this.handles.delete(msg.receiptHandle);
    msg.receiptHandle = undefined;
    if (msg.groupId !== undefined && this.fifo) {
      const n = (this.inflightGroups.get(msg.groupId) ?? 1) - 1;
      if (n <= 0) {
        this.inflightGroups.delete(msg.groupId);
        // The group's next messages can be received now; tell long polls.
        if (this.counts.ready > 0) setImmediate(() => this.wake());
      } else this.inflightGroups.set(msg.groupId, n);
    }
  }

  /** Takes up to `max` visible messages now, applying retention and redrive first. */
  take(max: number, visibilityTimeout = this.settings.VisibilityTimeout): SqsMessage[] {
    const out: SqsMessage[] = [];
    if (this.counts.ready === 0) return out;
    const now = Date.now();
    const retentionMs = this.settings.MessageRetentionPeriod * 1000;
    const redrive = this.settings.RedrivePolicy;
    const accept = (msg: SqsMessage): boolean => {
      if (now - msg.sentTimestamp > retentionMs) {
        msg.state = 'gone';
        this.counts.ready--;
        this.broker.log.event('expire', { queue: this.name, messageId: msg.messageId });
        return false;
      }
      if (redrive && msg.receiveCount >= redrive.maxReceiveCount) {
        const dlq = this.broker.byArn(redrive.deadLetterTargetArn);
        if (dlq) {
          msg.state = 'gone';
          this.counts.ready--;
          dlq.adopt(msg, false, this.arn);
          this.broker.log.event('dlq', { queue: this.name, to: dlq.name, messageId: msg.messageId, receives: msg.receiveCount });
          return false;
        }
      }
      return true;
    };
    if (this.fifo) {
      const blocked = new Set(this.inflightGroups.keys());
      const keep: SqsMessage[] = [];
      for (const msg of this.ready.toArray()) {
        if (msg.state !== 'ready') continue;
        if (out.length >= max || blocked.has(msg.groupId!)) {
          keep.push(msg);
          continue;
        }
        if (!accept(msg)) continue;
        out.push(msg);
      }
      this.ready.replace(keep);
    } else {
      while (out.length < max) {
        const msg = this.ready.shift();
        if (!msg) break;
        if (msg.state !== 'ready') continue;
        if (accept(msg)) out.push(msg);
      }
    }
    for (const msg of out) {
      this.counts.ready--;
      this.counts.inflight++;
      msg.state = 'inflight';
      msg.gen++;
      msg.receiveCount++;
      msg.firstReceiveTimestamp ??= now;
      msg.receiptHandle = this.broker.newHandle(this, msg);
      this.handles.set(msg.receiptHandle, msg);
      msg.visibleAt = now + visibilityTimeout * 1000;
      if (this.fifo && msg.groupId !== undefined) this.inflightGroups.set(msg.groupId, (this.inflightGroups.get(msg.groupId) ?? 0) + 1);
      this.schedule(msg);
    }
    return out;
  }

  /** ReceiveMessage: takes visible messages, long-polling up to `waitSeconds`. */
  async receive(opts: ReceiveOptions = {}): Promise<SqsMessage[]> {
    const max = opts.max ?? 1;
    const vt = opts.visibilityTimeout ?? this.settings.VisibilityTimeout;
    const wait = opts.waitSeconds ?? this.settings.ReceiveMessageWaitTimeSeconds;
    let got = this.take(max, vt);
    if (got.length > 0 || wait <= 0) return got;
    const deadline = Date.now() + wait * 1000;
    while (got.length === 0 && !this.deleted && !opts.signal?.aborted) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(t);
          opts.signal?.removeEventListener('abort', done);
          resolve();
        };
        const t = setTimeout(done, left);
        this.waiters.push(done);
        opts.signal?.addEventListener('abort', done);
      });
      got = this.take(max, vt);
    }
    return got;
  }

  private handle(handle: string): SqsMessage | undefined {
    const parsed = this.broker.parseHandle(handle);
    if (!parsed || parsed.queueArn !== this.arn) throw sqsError.receiptHandle(handle);
    const msg = this.handles.get(handle);
    return msg && msg.state === 'inflight' ? msg : undefined;
  }

  /** DeleteMessage: a stale handle succeeds without deleting, as in SQS. */
  delete(handle: string): boolean {
    const msg = this.handle(handle);
    if (!msg) return false;
    this.endInflight(msg);
    msg.state = 'gone';
    msg.gen++;
    return true;
  }

  changeVisibility(handle: string, timeout: number): void {
    if (!Number.isInteger(timeout) || timeout < 0 || timeout > SQS_MAX_VISIBILITY_TIMEOUT) {
      throw sqsError.invalidParam(
        `Value ${timeout} for parameter VisibilityTimeout is invalid. Reason: Must be between 0 and ${SQS_MAX_VISIBILITY_TIMEOUT}.`,
      );
    }
    const msg = this.handle(handle);
    if (!msg) {
      throw new AwsError(
        'MessageNotInflight',
        'Value for parameter ReceiptHandle is invalid. Reason: Message does not exist or is not available for visibility timeout change.',
        400,
        'AWS.SimpleQueueService.MessageNotInflight',
      );
    }
    if (timeout === 0) {
      this.endInflight(msg);
      this.makeReady(msg);
      return;
    }
    msg.gen++;
    msg.visibleAt = Date.now() + timeout * 1000;
    this.schedule(msg);
  }

  purge(): void {
    this.ready.replace([]);
    this.heap.clear();
    for (const msg of this.handles.values()) msg.state = 'gone';
    this.handles.clear();
    this.inflightGroups.clear();
    this.counts = { ready: 0, inflight: 0, delayed: 0 };
    this.arm();
  }

  close(): void {
    this.deleted = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.wake();
  }

  /** Age in seconds of the oldest message still in the queue (0 when empty). */
  oldestAgeSeconds(): number {
    let oldest = Infinity;
    for (const m of this.ready.toArray()) if (m.state === 'ready') oldest = Math.min(oldest, m.sentTimestamp);
    for (const m of this.handles.values()) oldest = Math.min(oldest, m.sentTimestamp);
    return oldest === Infinity ? 0 : Math.floor((Date.now() - oldest) / 1000);
  }

  /** Removes visible messages for a move task, oldest first. */
  takeForMove(max: number): SqsMessage[] {
    const out: SqsMessage[] = [];
    while (out.length < max) {
      const msg = this.ready.shift();
      if (!msg) break;
      if (msg.state !== 'ready') continue;
      msg.state = 'gone';
      this.counts.ready--;
      out.push(msg);
    }
    return out;
  }

  private pruneDedup(now: number): void {
    if (this.dedup.size < 1000) return;
    for (const [k, v] of this.dedup) {
      if (now - v.at < DEDUP_WINDOW_MS) break;
      this.dedup.delete(k);
    }
  }
}

function validateAttributes(attrs: Record<string, MessageAttributeValue> | undefined): void {
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
export class SqsBroker {
  private readonly queues = new Map<string, Queue>();
  private readonly arns = new Map<string, Queue>();
  readonly moveTasks: MoveTask[] = [];
  private handleSeq = 0;
  private readonly handleSalt = randomUUID().slice(0, 8);

  constructor(
    readonly log: RuntimeLog,
    readonly region: string,
    readonly accountId: string,
    /** Base of queue URLs, e.g. http://127.0.0.1:4566; set once the server listens. */
    public endpoint: string,
  ) {}

  arnOf(name: string): string {
    return `arn:aws:sqs:${this.region}:${this.accountId}:${name}`;
  }

  urlOf(name: string): string {
    return `${this.endpoint}/${this.accountId}/${name}`;
  }

  list(): Queue[] {
    return [...this.queues.values()];
  }

  get(name: string): Queue | undefined {
    return this.queues.get(name);
  }

  byArn(arn: string): Queue | undefined {
    return this.arns.get(arn);
  }

  /** Resolves a QueueUrl (any host, as SDKs rewrite it) or a bare name. */
  byUrl(url: string | undefined): Queue {
    if (!url) throw sqsError.missing('The request must contain the parameter QueueUrl.');
    const name = url.includes('/') ? url.replace(/\/+$/, '').split('/').pop()! : url;
    const q = this.queues.get(name);
    if (!q) throw sqsError.noQueue();
    return q;
  }

  create(name: string, attributes: Record<string, string> = {}): Queue {
    validateQueueName(name, attributes);
    const settings = parseQueueAttributes(attributes, name.endsWith('.fifo'), this);
    const existing = this.queues.get(name);
    if (existing) {
      const same = Object.entries(attributes).every(([k, v]) => queueAttributeString(existing, k) === v);
      if (!same) {
        throw new AwsError(
          'QueueNameExists',
          `A queue already exists with the same name and a different value for attribute(s) ${Object.keys(attributes).join(', ')}`,
          400,
          'QueueAlreadyExists',
        );
      }
      return existing;
    }
    const q = new Queue(this, name, this.arnOf(name), this.urlOf(name), settings);
    this.queues.set(name, q);
    this.arns.set(q.arn, q);
    return q;
  }

  delete(q: Queue): void {
    q.close();
    this.queues.delete(q.name);
    this.arns.delete(q.arn);
  }

  setAttributes(q: Queue, attributes: Record<string, string>): void {
    const merged: Record<string, string> = {};
    for (const k of Object.keys(QUEUE_ATTRIBUTE_NAMES)) {
      const v = queueAttributeString(q, k);
      if (v !== undefined && QUEUE_ATTRIBUTE_NAMES[k] === 'rw') merged[k] = v;
    }
    for (const [k, v] of Object.entries(attributes)) {
      if (QUEUE_ATTRIBUTE_NAMES[k] === undefined) throw invalidAttributeName(k);
      if (QUEUE_ATTRIBUTE_NAMES[k] !== 'rw' || (k === 'FifoQueue' && (v === 'true') !== q.fifo)) {
        throw invalidAttributeName(k);
      }
      if (v === '' && (k === 'RedrivePolicy' || k === 'RedriveAllowPolicy' || k === 'Policy')) delete merged[k];
      else merged[k] = v;
    }
    q.settings = parseQueueAttributes(merged, q.fifo, this);
    q.lastModified = Math.floor(Date.now() / 1000);
  }

  /** The queues whose RedrivePolicy names `dlq` as their dead-letter queue. */
  deadLetterSources(dlq: Queue): Queue[] {
    return this.list().filter((q) => q.settings.RedrivePolicy?.deadLetterTargetArn === dlq.arn);
  }

  newHandle(q: Queue, msg: SqsMessage): string {
    const raw = `${this.handleSalt}|${q.arn}|${msg.messageId}|${++this.handleSeq}`;
    return Buffer.from(raw, 'utf8').toString('base64');
  }

  parseHandle(handle: string): { queueArn: string } | undefined {
    let raw: string;
    try {
      raw = Buffer.from(handle, 'base64').toString('utf8');
    } catch {
      return undefined;
    }
    const parts = raw.split('|');
    if (parts.length !== 4 || parts[0] !== this.handleSalt) return undefined;
    return { queueArn: parts[1] };
  }

  /**
   * StartMessageMoveTask: moves the DLQ's messages back to their source queue (or to
   * DestinationArn), with a fresh receive count.
   * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_StartMessageMoveTask.html
   */
  startMoveTask(sourceArn: string, destinationArn?: string, maxPerSecond?: number): MoveTask {
    const source = this.byArn(sourceArn);
    if (!source)
      throw new AwsError(
        'ResourceNotFoundException',
        `The resource that you specified for the SourceArn parameter doesn't exist.`,
        400,
        'ResourceNotFoundException',
      );
    const sources = this.deadLetterSources(source);
    if (sources.length === 0) throw sqsError.invalidParam('Source queue must be configured as a Dead Letter Queue.');
    if (destinationArn !== undefined && !this.byArn(destinationArn)) {
      throw new AwsError(
        'ResourceNotFoundException',
        `The resource that you specified for the DestinationArn parameter doesn't exist.`,
        400,
        'ResourceNotFoundException',
      );
    }
    if (maxPerSecond !== undefined && (!Number.isInteger(maxPerSecond) || maxPerSecond < 1 || maxPerSecond > 500)) {
      throw sqsError.invalidParam('Value for parameter MaxNumberOfMessagesPerSecond is invalid. Reason: must be between 1 and 500.');
    }
    if (this.moveTasks.some((t) => t.sourceArn === sourceArn && t.status === 'RUNNING')) {
      throw new AwsError(
        'UnsupportedOperation',
        'There is already a task running. Only one active task is allowed for a source queue arn at a given time.',
        400,
        'AWS.SimpleQueueService.UnsupportedOperation',
      );
    }
    const task: MoveTask = {
      taskHandle: Buffer.from(JSON.stringify({ taskId: randomUUID(), sourceArn })).toString('base64'),
      sourceArn,
      destinationArn,
      maxPerSecond,
      status: 'RUNNING',
      moved: 0,
      toMove: source.counts.ready,
      started: Date.now(),
    };
    this.moveTasks.unshift(task);
    this.runMoveTask(task, source);
    return task;
  }

  private runMoveTask(task: MoveTask, source: Queue): void {
    const step = () => {
      if (task.status !== 'RUNNING') return;
      const batch = source.takeForMove(Math.min(task.maxPerSecond ?? 500, Math.max(0, task.toMove - task.moved)));
      for (const msg of batch) {
        const dest = this.byArn(task.destinationArn ?? msg.deadLetterSourceArn ?? '') ?? this.deadLetterSources(source)[0];
        dest.adopt(msg, true);
        task.moved++;
        this.log.event('redrive', { from: source.name, to: dest.name, messageId: msg.messageId });
      }
      if (batch.length === 0 || task.moved >= task.toMove) {
        task.status = 'COMPLETED';
        return;
      }
      // Paced per second when MaxNumberOfMessagesPerSecond is set; otherwise as fast as possible.
      setTimeout(step, task.maxPerSecond ? 1000 : 0).unref?.();
    };
    setImmediate(step);
  }

  cancelMoveTask(handle: string): MoveTask {
    const task = this.moveTasks.find((t) => t.taskHandle === handle);
    if (!task) throw new AwsError('ResourceNotFoundException', 'Task does not exist.', 400, 'ResourceNotFoundException');
    if (task.status !== 'RUNNING')
      throw new AwsError('UnsupportedOperation', 'Only active tasks can be cancelled.', 400, 'AWS.SimpleQueueService.UnsupportedOperation');
    task.status = 'CANCELLED';
    return task;
  }

  close(): void {
    for (const q of this.queues.values()) q.close();
  }
}

/** Attribute names and whether SetQueueAttributes may change them. */
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

const invalidAttributeName = (name: string) =>
  new AwsError('InvalidAttributeName', `Unknown Attribute ${name}.`, 400, 'InvalidAttributeName');

function validateQueueName(name: string, attributes: Record<string, string>): void {
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

export function parseQueueAttributes(attrs: Record<string, string>, fifo: boolean, broker: SqsBroker): QueueSettings {
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
      throw sqsError.invalidParam('Invalid value for the parameter RedrivePolicy. Reason: Redrive policy is not a valid JSON map.');
    }
    const count = Number(p.maxReceiveCount);
    if (typeof p.deadLetterTargetArn !== 'string' || !Number.isInteger(count) || count < 1 || count > 1000) {
      throw sqsError.invalidParam(
        'Value for parameter RedrivePolicy is invalid. Reason: Redrive policy needs deadLetterTargetArn and maxReceiveCount (1 to 1000).',
      );
    }
    if (!broker.byArn(p.deadLetterTargetArn)) {
      throw sqsError.invalidParam(
        `Value ${attrs.RedrivePolicy} for parameter RedrivePolicy is invalid. Reason: Dead letter target does not exist.`,
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

/** One queue attribute as GetQueueAttributes returns it; undefined when not set. */
export function queueAttributeString(q: Queue, name: string): string | undefined {
  const s = q.settings;
  switch (name) {
    case 'ApproximateNumberOfMessages':
      return String(q.counts.ready);
    case 'ApproximateNumberOfMessagesNotVisible':
      return String(q.counts.inflight);
    case 'ApproximateNumberOfMessagesDelayed':
      return String(q.counts.delayed);
    case 'CreatedTimestamp':
      return String(q.created);
    case 'LastModifiedTimestamp':
      return String(q.lastModified);
    case 'QueueArn':
      return q.arn;
    case 'VisibilityTimeout':
    case 'MaximumMessageSize':
    case 'MessageRetentionPeriod':
    case 'DelaySeconds':
    case 'ReceiveMessageWaitTimeSeconds':
      return String(s[name]);
    case 'RedrivePolicy':
      return s.RedrivePolicy ? JSON.stringify(s.RedrivePolicy) : undefined;
    case 'FifoQueue':
      return q.fifo ? 'true' : undefined;
    case 'ContentBasedDeduplication':
      return q.fifo ? String(s.ContentBasedDeduplication) : undefined;
    case OLDEST_AGE_ATTRIBUTE:
      return String(q.oldestAgeSeconds());
    default:
      return s.extra[name];
  }
}
