/**
 * One SQS queue as a state machine. A message is `delayed`, `ready` (visible), `inflight`
 * (received, invisible until its visibility timeout passes) or `gone`. Every wait asks the
 * injected clock; every transition is published on the runtime's event stream.
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-visibility-timeout.html
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Clock, ClockTimer } from './clock';
import { AwsError } from './errors';
import { Deque, TimeHeap } from './heap';
import {
  DEDUP_WINDOW_MS,
  INVALID_BODY_CHARS,
  MessageAttributeValue,
  OLDEST_AGE_ATTRIBUTE,
  QueueSettings,
  SQS_MAX_DELAY_SECONDS,
  SQS_MAX_VISIBILITY_TIMEOUT,
  md5,
  md5OfMessageAttributes,
  messageSize,
  sqsError,
  validateMessageAttributes,
} from './sqs-attributes';
import type { EventStream } from './stream';
import { parseArn } from '../assembly/arn';

export interface SqsMessage {
  messageId: string;
  body: string;
  md5OfBody: string;
  attributes: Record<string, MessageAttributeValue>;
  md5OfAttributes?: string;
  sentTimestamp: number;
  firstReceiveTimestamp?: number;
  receiveCount: number;
  /**
   * The receive count the message had when it arrived in this queue (by a dead-letter move).
   * The queue's own redrive counts only receives made here, so a message can never be
   * moved on again before anyone received it: dead-letter chains that loop back (A to B to A)
   * move a message one hop per maxReceiveCount receives, and never spin.
   */
  receivesAtArrival: number;
  senderId: string;
  groupId?: string;
  dedupId?: string;
  sequenceNumber?: string;
  deadLetterSourceArn?: string;
  state: 'delayed' | 'ready' | 'inflight' | 'gone';
  /** Bumped at every state change so stale heap entries are ignored. */
  gen: number;
  /** The handle of the latest receive; it stays valid for DeleteMessage until the next receive, as in SQS. */
  receiptHandle?: string;
  visibleAt: number;
}

export interface SendInput {
  body: string;
  delaySeconds?: number;
  attributes?: Record<string, MessageAttributeValue>;
  groupId?: string;
  dedupId?: string;
}

export interface SendResult {
  messageId: string;
  md5OfBody: string;
  md5OfAttributes?: string;
  sequenceNumber?: string;
}

export interface ReceiveOptions {
  max?: number;
  visibilityTimeout?: number;
  waitSeconds?: number;
  /** Aborts a long poll early (queue deleted, runtime closing). */
  signal?: AbortSignal;
}

/** What a queue needs from the account it lives in. */
export interface QueueHost {
  readonly clock: Clock;
  readonly stream: EventStream;
  readonly accountId: string;
  byArn(arn: string): Queue | undefined;
  newHandle(q: Queue, msg: SqsMessage): string;
  parseHandle(handle: string): { queueArn: string } | undefined;
  /** Told of every message change a restart must not lose (see runtime/state): `sent` for a new message, `changed` after. */
  observe?(q: Queue, msg: SqsMessage, kind: 'sent' | 'changed'): void;
}

/** What a queue holds that is not in its attributes: its live messages and FIFO deduplication ids (runtime/state). */
export interface QueueContents {
  messages: SqsMessage[];
  dedup: [string, { at: number; messageId: string; seq?: string }][];
}

export class Queue {
  readonly created: number;
  /** The account and region of the queue, from its ARN. */
  readonly account: string;
  readonly region: string;
  lastModified: number;
  private ready = new Deque<SqsMessage>();
  private readonly heap = new TimeHeap<{ msg: SqsMessage; gen: number }>();
  private timer: ClockTimer | undefined;
  private timerAt = Infinity;
  /** Latest receipt handle of each message received and not yet deleted or moved. */
  private readonly handles = new Map<string, SqsMessage>();
  private readonly waiters = new Set<() => void>();
  private readonly dedup = new Map<string, { at: number; messageId: string; seq?: string }>();
  private readonly inflightGroups = new Map<string, number>();
  private seq = 0n;
  counts = { ready: 0, inflight: 0, delayed: 0 };
  /** ReceiveMessage calls (long polls included) that returned no message; CloudWatch's NumberOfEmptyReceives samples it. */
  emptyReceives = 0;
  deleted = false;

  constructor(
    private readonly host: QueueHost,
    readonly name: string,
    readonly arn: string,
    readonly url: string,
    public settings: QueueSettings,
  ) {
    this.created = Math.floor(host.clock.now() / 1000);
    this.lastModified = this.created;
    const parts = parseArn(arn);
    this.account = parts?.account ?? host.accountId;
    this.region = parts?.region ?? '';
  }

  get fifo(): boolean {
    return this.settings.FifoQueue;
  }

  private get clock(): Clock {
    return this.host.clock;
  }

  private ref() {
    return { queueName: this.name, queueArn: this.arn };
  }

  send(input: SendInput): SendResult {
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
    validateMessageAttributes(input.attributes);
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
      const now = this.clock.now();
      const seen = this.dedup.get(dedupId);
      if (seen && now - seen.at < DEDUP_WINDOW_MS) {
        this.host.stream.publish('message.sent', {
          ...this.ref(),
          messageId: seen.messageId,
          bytes: size,
          delaySeconds: 0,
          groupId: input.groupId,
          sequenceNumber: seen.seq,
          duplicate: true,
        });
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
    if (this.fifo && dedupId !== undefined) {
      this.seq += 1n;
      msg.sequenceNumber = (18_000_000_000_000_000_000n + this.seq).toString();
      this.dedup.set(dedupId, { at: msg.sentTimestamp, messageId: msg.messageId, seq: msg.sequenceNumber });
      this.pruneDedup(msg.sentTimestamp);
    }
    const effectiveDelay = this.fifo ? 0 : delay;
    this.host.stream.publish('message.sent', {
      ...this.ref(),
      messageId: msg.messageId,
      bytes: size,
      delaySeconds: effectiveDelay,
      groupId: msg.groupId,
      sequenceNumber: msg.sequenceNumber,
      duplicate: false,
    });
    this.enqueue(msg, effectiveDelay);
    this.host.observe?.(this, msg, 'sent');
    return { messageId: msg.messageId, md5OfBody: msg.md5OfBody, md5OfAttributes: msg.md5OfAttributes, sequenceNumber: msg.sequenceNumber };
  }

  /**
   * Adds a message moved from another queue: by a dead-letter move (keeps its receive count,
   * records where it came from) or by a move task (`resetReceiveCount`: a fresh start).
   * It keeps its id, body and attributes.
   */
  adopt(from: SqsMessage, resetReceiveCount: boolean, deadLetterSourceArn?: string): void {
    const msg: SqsMessage = {
      ...from,
      state: 'ready',
      gen: 0,
      receiptHandle: undefined,
      receiveCount: resetReceiveCount ? 0 : from.receiveCount,
      receivesAtArrival: resetReceiveCount ? 0 : from.receiveCount,
      firstReceiveTimestamp: resetReceiveCount ? undefined : from.firstReceiveTimestamp,
      deadLetterSourceArn: deadLetterSourceArn ?? (resetReceiveCount ? undefined : from.deadLetterSourceArn),
      sentTimestamp: resetReceiveCount ? this.clock.now() : from.sentTimestamp,
    };
    if (this.fifo) {
      this.seq += 1n;
      msg.sequenceNumber = (18_000_000_000_000_000_000n + this.seq).toString();
      msg.groupId ??= 'default';
    }
    this.enqueue(msg, 0);
    this.host.observe?.(this, msg, 'sent');
  }

  private newMessage(body: string, attributes: Record<string, MessageAttributeValue>, groupId?: string, dedupId?: string): SqsMessage {
    return {
      messageId: randomUUID(),
      body,
      md5OfBody: md5(body),
      attributes,
      md5OfAttributes: md5OfMessageAttributes(attributes),
      sentTimestamp: this.clock.now(),
      receiveCount: 0,
      receivesAtArrival: 0,
      senderId: this.host.accountId,
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
      msg.visibleAt = this.clock.now() + delaySeconds * 1000;
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
      while (i > 0 && BigInt(arr[i - 1]!.sequenceNumber ?? '0') > BigInt(msg.sequenceNumber ?? '0')) i--;
      arr.splice(i, 0, msg);
      this.ready.replace(arr);
    } else {
      this.ready.push(msg);
    }
    this.wake();
  }

  private wake(): void {
    if (this.waiters.size === 0) return;
    const w = [...this.waiters];
    this.waiters.clear();
    for (const f of w) f();
  }

  private schedule(msg: SqsMessage): void {
    this.heap.push(msg.visibleAt, { msg, gen: msg.gen });
    if (msg.visibleAt < this.timerAt) this.arm();
  }

  private arm(): void {
    this.clock.clearTimeout(this.timer);
    const at = this.heap.peekTime();
    if (at === undefined || this.deleted) {
      this.timer = undefined;
      this.timerAt = Infinity;
      return;
    }
    this.timerAt = at;
    this.timer = this.clock.setTimeout(() => this.tick(), Math.max(0, at - this.clock.now()));
  }

  private tick(): void {
    this.timer = undefined;
    this.timerAt = Infinity;
    for (const { msg, gen } of this.heap.popDue(this.clock.now())) {
      if (msg.gen !== gen) continue;
      if (msg.state === 'delayed') {
        this.counts.delayed--;
        this.makeReady(msg);
      } else if (msg.state === 'inflight') {
        this.endInflight(msg);
        this.host.stream.publish('message.visible-again', { ...this.ref(), messageId: msg.messageId, receiveCount: msg.receiveCount });
        this.makeReady(msg);
      }
    }
    this.arm();
  }

  /** Leaves the in-flight state. The receipt handle stays the message's latest until it is received again. */
  private endInflight(msg: SqsMessage): void {
    this.counts.inflight--;
    if (msg.groupId !== undefined && this.fifo) {
      const n = (this.inflightGroups.get(msg.groupId) ?? 1) - 1;
      if (n <= 0) {
        this.inflightGroups.delete(msg.groupId);
        // The group's next messages can be received now; tell long polls.
        if (this.counts.ready > 0) setImmediate(() => this.wake());
      } else this.inflightGroups.set(msg.groupId, n);
    }
  }

  private forget(msg: SqsMessage): void {
    if (msg.receiptHandle) this.handles.delete(msg.receiptHandle);
    msg.receiptHandle = undefined;
  }

  /** Takes up to `max` visible messages now, applying retention and redrive first. */
  take(max: number, visibilityTimeout = this.settings.VisibilityTimeout): SqsMessage[] {
    const out: SqsMessage[] = [];
    // Whatever is due is due now, even if its timer has not run yet (a visibility timeout of 0).
    if (!this.deleted && (this.heap.peekTime() ?? Infinity) <= this.clock.now()) this.tick();
    if (this.counts.ready === 0 || this.deleted) return out;
    const now = this.clock.now();
    const retentionMs = this.settings.MessageRetentionPeriod * 1000;
    const redrive = this.settings.RedrivePolicy;
    const dlq = redrive ? this.host.byArn(redrive.deadLetterTargetArn) : undefined;
    const moves: SqsMessage[] = [];
    const accept = (msg: SqsMessage): boolean => {
      if (now - msg.sentTimestamp > retentionMs) {
        msg.state = 'gone';
        this.counts.ready--;
        this.forget(msg);
        this.host.stream.publish('message.expired', {
          ...this.ref(),
          messageId: msg.messageId,
          ageSeconds: Math.floor((now - msg.sentTimestamp) / 1000),
        });
        this.host.observe?.(this, msg, 'changed');
        return false;
      }
      // Moved after the receive that reaches maxReceiveCount, as SQS does; a missing DLQ keeps the message here.
      if (redrive && dlq && dlq !== this && msg.receiveCount - msg.receivesAtArrival >= redrive.maxReceiveCount) {
        msg.state = 'gone';
        this.counts.ready--;
        this.forget(msg);
        moves.push(msg);
        this.host.observe?.(this, msg, 'changed');
        return false;
      }
      return true;
    };
    if (this.fifo) {
      const blocked = new Set(this.inflightGroups.keys());
      const keep: SqsMessage[] = [];
      for (const msg of this.ready.toArray()) {
        if (msg.state !== 'ready') continue;
        if (out.length >= max || blocked.has(msg.groupId ?? '')) {
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
      this.forget(msg);
      msg.receiptHandle = this.host.newHandle(this, msg);
      this.handles.set(msg.receiptHandle, msg);
      msg.visibleAt = now + visibilityTimeout * 1000;
      if (this.fifo && msg.groupId !== undefined) this.inflightGroups.set(msg.groupId, (this.inflightGroups.get(msg.groupId) ?? 0) + 1);
      this.schedule(msg);
      this.host.observe?.(this, msg, 'changed');
      this.host.stream.publish('message.received', {
        ...this.ref(),
        messageId: msg.messageId,
        receiveCount: msg.receiveCount,
        visibilityTimeoutSeconds: visibilityTimeout,
        receiptHandle: msg.receiptHandle,
      });
    }
    // Moves happen after this queue's state is settled, so a destination's wake-up never re-enters this take.
    if (dlq) {
      for (const msg of moves) {
        dlq.adopt(msg, false, this.arn);
        this.host.stream.publish('message.dead-lettered', {
          ...this.ref(),
          messageId: msg.messageId,
          receiveCount: msg.receiveCount,
          deadLetterQueueName: dlq.name,
          deadLetterQueueArn: dlq.arn,
        });
      }
    }
    return out;
  }

  /** ReceiveMessage: takes visible messages, long-polling up to `waitSeconds` on the clock. */
  async receive(opts: ReceiveOptions = {}): Promise<SqsMessage[]> {
    const max = opts.max ?? 1;
    const vt = opts.visibilityTimeout ?? this.settings.VisibilityTimeout;
    const wait = opts.waitSeconds ?? this.settings.ReceiveMessageWaitTimeSeconds;
    let got = this.take(max, vt);
    if (got.length > 0) return got;
    if (wait <= 0) {
      this.emptyReceives++;
      return got;
    }
    const deadline = this.clock.now() + wait * 1000;
    while (got.length === 0 && !this.deleted && !opts.signal?.aborted) {
      const left = deadline - this.clock.now();
      if (left <= 0) break;
      await new Promise<void>((resolve) => {
        const done = () => {
          this.clock.clearTimeout(t);
          this.waiters.delete(done);
          opts.signal?.removeEventListener('abort', done);
          resolve();
        };
        const t = this.clock.setTimeout(done, left);
        this.waiters.add(done);
        opts.signal?.addEventListener('abort', done);
      });
      got = this.take(max, vt);
    }
    if (got.length === 0) this.emptyReceives++;
    return got;
  }

  /** The message whose latest receipt handle this is; a handle of another queue or not ours is invalid. */
  private latest(handle: string): SqsMessage | undefined {
    const parsed = this.host.parseHandle(handle);
    if (!parsed || parsed.queueArn !== this.arn) throw sqsError.receiptHandle(handle);
    const msg = this.handles.get(handle);
    return msg && msg.receiptHandle === handle && msg.state !== 'gone' ? msg : undefined;
  }

  /**
   * DeleteMessage. The latest receipt handle deletes the message even after its visibility
   * timeout passed (as long as nobody received it again); an older handle succeeds without
   * deleting, as SQS documents.
   * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_DeleteMessage.html
   */
  delete(handle: string): boolean {
    const msg = this.latest(handle);
    if (!msg) return false;
    if (msg.state === 'inflight') this.endInflight(msg);
    else if (msg.state === 'ready') this.counts.ready--;
    else if (msg.state === 'delayed') this.counts.delayed--;
    msg.state = 'gone';
    msg.gen++;
    this.forget(msg);
    this.host.observe?.(this, msg, 'changed');
    this.host.stream.publish('message.deleted', { ...this.ref(), messageId: msg.messageId, receiveCount: msg.receiveCount });
    return true;
  }

  changeVisibility(handle: string, timeout: number): void {
    if (!Number.isInteger(timeout) || timeout < 0 || timeout > SQS_MAX_VISIBILITY_TIMEOUT) {
      throw sqsError.invalidParam(
        `Value ${timeout} for parameter VisibilityTimeout is invalid. Reason: Must be between 0 and ${SQS_MAX_VISIBILITY_TIMEOUT}.`,
      );
    }
    const msg = this.latest(handle);
    if (!msg || msg.state !== 'inflight') {
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
      this.host.observe?.(this, msg, 'changed');
      return;
    }
    msg.gen++;
    msg.visibleAt = this.clock.now() + timeout * 1000;
    this.schedule(msg);
    this.host.observe?.(this, msg, 'changed');
  }

  /** PurgeQueue: every message is gone; returns how many there were. */
  purge(): number {
    const n = this.counts.ready + this.counts.inflight + this.counts.delayed;
    for (const m of this.ready.toArray()) m.state = 'gone';
    this.ready.replace([]);
    this.heap.clear();
    for (const msg of this.handles.values()) msg.state = 'gone';
    this.handles.clear();
    this.inflightGroups.clear();
    this.counts = { ready: 0, inflight: 0, delayed: 0 };
    this.arm();
    this.host.stream.publish('queue.purged', { ...this.ref(), messages: n });
    return n;
  }

  /** Stops timers and releases every long poll; the queue takes nothing after this. */
  close(): void {
    this.deleted = true;
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
    this.wake();
  }

  /** Age in seconds of the oldest message still in the queue (0 when empty). */
  oldestAgeSeconds(): number {
    let oldest = Infinity;
    for (const m of this.ready.toArray()) if (m.state === 'ready') oldest = Math.min(oldest, m.sentTimestamp);
    for (const m of this.handles.values()) if (m.state === 'inflight') oldest = Math.min(oldest, m.sentTimestamp);
    return oldest === Infinity ? 0 : Math.floor((this.clock.now() - oldest) / 1000);
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
      this.forget(msg);
      this.host.observe?.(this, msg, 'changed');
      out.push(msg);
    }
    return out;
  }

  /** Every message still in the queue (ready, delayed or in flight) and the FIFO deduplication ids still in their window. */
  contents(): QueueContents {
    const live = new Set<SqsMessage>();
    for (const m of this.ready.toArray()) if (m.state === 'ready') live.add(m);
    for (const { msg } of this.heap.values()) if (msg.state === 'delayed' || msg.state === 'inflight') live.add(msg);
    for (const m of this.handles.values()) if (m.state !== 'gone') live.add(m);
    const now = this.clock.now();
    const dedup = [...this.dedup].filter(([, v]) => now - v.at < DEDUP_WINDOW_MS);
    return { messages: [...live].sort((a, b) => a.sentTimestamp - b.sentTimestamp), dedup };
  }

  /**
   * Puts back what contents() returned before a restart: each message in the state it had, an
   * in-flight or delayed one until its deadline (then visible), its receipt handle still valid.
   */
  restore(contents: QueueContents): void {
    const now = this.clock.now();
    for (const [id, v] of contents.dedup) if (this.fifo && now - v.at < DEDUP_WINDOW_MS) this.dedup.set(id, v);
    const messages = [...contents.messages].sort((a, b) =>
      this.fifo ? Number(BigInt(a.sequenceNumber ?? '0') - BigInt(b.sequenceNumber ?? '0')) : a.sentTimestamp - b.sentTimestamp,
    );
    for (const msg of messages) {
      if (msg.sequenceNumber !== undefined) {
        const n = BigInt(msg.sequenceNumber) - 18_000_000_000_000_000_000n;
        if (n > this.seq) this.seq = n;
      }
      if (msg.receiptHandle) this.handles.set(msg.receiptHandle, msg);
      if (msg.state === 'inflight' && msg.visibleAt > now) {
        msg.gen++;
        this.counts.inflight++;
        if (this.fifo && msg.groupId !== undefined) this.inflightGroups.set(msg.groupId, (this.inflightGroups.get(msg.groupId) ?? 0) + 1);
        this.schedule(msg);
      } else if (msg.state === 'delayed' && msg.visibleAt > now) {
        msg.gen++;
        this.counts.delayed++;
        this.schedule(msg);
      } else {
        this.makeReady(msg);
      }
    }
  }

  private pruneDedup(now: number): void {
    if (this.dedup.size < 1000) return;
    for (const [k, v] of this.dedup) {
      if (now - v.at < DEDUP_WINDOW_MS) break;
      this.dedup.delete(k);
    }
  }
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
