/**
 * In-memory SQS for every account of the app: queues by ARN, by account and name, and by URL
 * (whose path `/ACCOUNT/NAME` chooses the account), receipt handles, and message
 * move tasks. The queue state machine is in sqs-queue.ts, attribute parsing and message
 * validation in sqs-attributes.ts, move tasks in sqs-move.ts; this module re-exports them
 * so the HTTP adapter (sqs-api.ts) and the internal users (EventBridge targets, event
 * source mappings) import one module.
 * Limits: https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-messages.html
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from './clock';
import { AwsError } from './errors';
import {
  RedriveContext,
  parseQueueAttributes,
  sqsError,
  validateQueueName,
  QUEUE_ATTRIBUTE_NAMES,
  invalidAttributeName,
} from './sqs-attributes';
import { MoveTask, MoveTasks } from './sqs-move';
import { Queue, SqsMessage, queueAttributeString } from './sqs-queue';
import type { EventStream } from './stream';
import { arns, partitionOf } from '../assembly/arn';

export * from './sqs-attributes';
export * from './sqs-move';
export * from './sqs-queue';

/** The account and region a queue lives in: its stack's. */
export interface QueuePlacement {
  account: string;
  region: string;
}

/** An account id as queue URLs and QueueOwnerAWSAccountId spell it. */
const ACCOUNT_ID = /^\d{12}$/;

export interface SqsBrokerOptions {
  clock: Clock;
  stream: EventStream;
  /** Region of queues created without a placement (CreateQueue over the API). */
  region: string;
  /** The caller's account: CreateQueue, GetQueueUrl and ListQueues act in it (see `callerAccount`). */
  accountId: string;
  /** Base of queue URLs, e.g. http://127.0.0.1:4566. */
  endpoint: string;
}

/**
 * All queues of every account, by ARN and by `account/name`; message move tasks. A queue URL on
 * the local endpoint has no region, so one account may not hold the same queue name in two regions.
 */
export class SqsBroker {
  /** By `account/name`: what a queue URL names. */
  private readonly queues = new Map<string, Queue>();
  private readonly arns = new Map<string, Queue>();
  private readonly moves: MoveTasks;
  /** The sequence part of the latest receipt handle; runtime/state moves it past restored handles. */
  handleSeq = 0;
  /** Part of every receipt handle; runtime/state keeps it so handles stay valid across a restart. */
  handleSalt = randomUUID().slice(0, 8);
  /** Told of every message change (runtime/state journals them). */
  observer?: (q: Queue, msg: SqsMessage, kind: 'sent' | 'changed') => void;
  readonly clock: Clock;
  readonly stream: EventStream;
  readonly region: string;
  readonly accountId: string;
  /** Base of queue URLs, e.g. http://127.0.0.1:4566. */
  readonly endpoint: string;

  constructor(options: SqsBrokerOptions) {
    this.clock = options.clock;
    this.stream = options.stream;
    this.region = options.region;
    this.accountId = options.accountId;
    this.endpoint = options.endpoint;
    this.moves = new MoveTasks(this);
  }

  /** Move tasks, newest first. */
  get moveTasks(): MoveTask[] {
    return this.moves.tasks;
  }

  /**
   * The account of whoever calls the API. Until requests carry identities this is the runtime's
   * account for every caller; this is the one place that decides it.
   */
  callerAccount(): string {
    return this.accountId;
  }

  arnOf(name: string, where: QueuePlacement = { account: this.callerAccount(), region: this.region }): string {
    return arns.queue({ partition: partitionOf(where.region), ...where }, name);
  }

  urlOf(name: string, account = this.callerAccount()): string {
    return `${this.endpoint}/${account}/${name}`;
  }

  /** Every queue of every account. */
  list(): Queue[] {
    return [...this.queues.values()];
  }

  /** The queues of one account (ListQueues lists the caller's). */
  listOf(account: string): Queue[] {
    return this.list().filter((q) => q.account === account);
  }

  /** A queue by name in one account, the caller's unless given. */
  get(name: string, account = this.callerAccount()): Queue | undefined {
    return this.queues.get(`${account}/${name}`);
  }

  byArn(arn: string): Queue | undefined {
    return this.arns.get(arn);
  }

  /**
   * Resolves a QueueUrl (any host, as SDKs rewrite it) or a bare name. The path's `/ACCOUNT/NAME`
   * chooses the account; a URL without an account segment, or a bare name, means the caller's.
   */
  byUrl(url: string | undefined): Queue {
    if (!url) throw sqsError.missing('The request must contain the parameter QueueUrl.');
    const segments = url.replace(/\/+$/, '').split('/');
    const name = segments.pop() ?? '';
    const owner = segments.pop();
    const q = this.get(name, owner !== undefined && ACCOUNT_ID.test(owner) ? owner : this.callerAccount());
    if (!q) throw sqsError.noQueue();
    return q;
  }

  /** CreateQueue; `where` is the queue's stack placement, the caller's account and the runtime's region otherwise. */
  create(name: string, attributes: Record<string, string> = {}, where?: QueuePlacement): Queue {
    validateQueueName(name, attributes);
    const place = where ?? { account: this.callerAccount(), region: this.region };
    const arn = this.arnOf(name, place);
    const settings = parseQueueAttributes(attributes, name.endsWith('.fifo'), this.redriveContext(arn));
    const existing = this.get(name, place.account);
    if (existing && existing.arn !== arn) {
      throw new AwsError(
        'QueueNameExists',
        `A queue named ${name} already exists in account ${place.account} (${existing.arn}); queue URLs on the local endpoint carry no region, so one account cannot hold the name in two regions`,
        400,
        'QueueAlreadyExists',
      );
    }
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
    const q = new Queue(this, name, arn, this.urlOf(name, place.account), settings);
    this.queues.set(`${place.account}/${name}`, q);
    this.arns.set(q.arn, q);
    this.stream.publish('queue.created', { queueName: q.name, queueArn: q.arn, fifo: q.fifo });
    return q;
  }

  delete(q: Queue): void {
    const messages = q.counts.ready + q.counts.inflight + q.counts.delayed;
    q.close();
    this.queues.delete(`${q.account}/${q.name}`);
    this.arns.delete(q.arn);
    this.stream.publish('queue.deleted', { queueName: q.name, queueArn: q.arn, messages });
  }

  private redriveContext(queueArn: string): RedriveContext {
    return {
      queueArn,
      lookup: (arn) => {
        const q = this.arns.get(arn);
        return q && { fifo: q.fifo };
      },
    };
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
    q.settings = parseQueueAttributes(merged, q.fifo, this.redriveContext(q.arn));
    q.lastModified = Math.floor(this.clock.now() / 1000);
    this.stream.publish('queue.attributes-set', { queueName: q.name, queueArn: q.arn, names: Object.keys(attributes) });
  }

  /** The queues whose RedrivePolicy names `dlq` as their dead-letter queue. */
  deadLetterSources(dlq: Queue): Queue[] {
    return this.list().filter((q) => q.settings.RedrivePolicy?.deadLetterTargetArn === dlq.arn);
  }

  observe(q: Queue, msg: SqsMessage, kind: 'sent' | 'changed'): void {
    this.observer?.(q, msg, kind);
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
    return parts[1] === undefined ? undefined : { queueArn: parts[1] };
  }

  /** StartMessageMoveTask: see sqs-move.ts. */
  startMoveTask(sourceArn: string, destinationArn?: string, maxPerSecond?: number): MoveTask {
    return this.moves.start(sourceArn, destinationArn, maxPerSecond);
  }

  cancelMoveTask(handle: string): MoveTask {
    return this.moves.cancel(handle);
  }

  /** Stops every timer and long poll; close() of the runtime never waits on a queue. */
  close(): void {
    this.moves.close();
    for (const q of this.queues.values()) q.close();
  }
}
