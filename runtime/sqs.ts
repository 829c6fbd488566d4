/**
 * In-memory SQS for one account: queues by name, ARN and URL, receipt handles, and message
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

export * from './sqs-attributes';
export * from './sqs-move';
export * from './sqs-queue';

export interface SqsBrokerOptions {
  clock: Clock;
  stream: EventStream;
  region: string;
  accountId: string;
  /** Base of queue URLs, e.g. http://127.0.0.1:4566. */
  endpoint: string;
}

/** All queues of the account, by name, ARN and URL; message move tasks. */
export class SqsBroker {
  private readonly queues = new Map<string, Queue>();
  private readonly arns = new Map<string, Queue>();
  private readonly moves: MoveTasks;
  private handleSeq = 0;
  private readonly handleSalt = randomUUID().slice(0, 8);
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
    const name = url.includes('/') ? (url.replace(/\/+$/, '').split('/').pop() ?? '') : url;
    const q = this.queues.get(name);
    if (!q) throw sqsError.noQueue();
    return q;
  }

  create(name: string, attributes: Record<string, string> = {}): Queue {
    validateQueueName(name, attributes);
    const settings = parseQueueAttributes(attributes, name.endsWith('.fifo'), this.redriveContext(this.arnOf(name)));
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
    this.stream.publish('queue.created', { queueName: q.name, queueArn: q.arn, fifo: q.fifo });
    return q;
  }

  delete(q: Queue): void {
    const messages = q.counts.ready + q.counts.inflight + q.counts.delayed;
    q.close();
    this.queues.delete(q.name);
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
