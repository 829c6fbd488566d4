/**
 * SQS event source mappings: poll the queue, batch by BatchSize and
 * MaximumBatchingWindowInSeconds, invoke the function with the SQS event shape, delete what
 * succeeded (ReportBatchItemFailures honoured) and run up to MaximumConcurrency batches at once.
 * https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html
 * https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html
 */
import type { Clock } from './clock';
import type { InvocationOutcome } from './events-delivery';
import type { SqsBroker, SqsMessage, Queue } from './sqs';
import type { EventStream } from './stream';
import type { MappingDef } from './template';

/** The function a mapping invokes (lambda.ts's LambdaFunction). */
export interface MappedFunction {
  readonly name: string;
  readonly arn: string;
  invoke(payload: string): Promise<InvocationOutcome>;
}

export interface SqsEventSourceOptions {
  def: MappingDef;
  sqs: SqsBroker;
  fn: MappedFunction;
  clock: Clock;
  stream: EventStream;
  region: string;
}

/** Concurrent batches of a mapping without ScalingConfig (AWS scales further; one machine cannot). */
export const DEFAULT_MAPPING_CONCURRENCY = 5;

export function sqsRecord(q: Queue, m: SqsMessage, region: string): Record<string, unknown> {
  const attributes: Record<string, string> = {
    ApproximateReceiveCount: String(m.receiveCount),
    SentTimestamp: String(m.sentTimestamp),
    SenderId: m.senderId,
    ApproximateFirstReceiveTimestamp: String(m.firstReceiveTimestamp ?? m.sentTimestamp),
  };
  if (q.fifo) {
    attributes.SequenceNumber = m.sequenceNumber ?? '';
    attributes.MessageGroupId = m.groupId ?? '';
    attributes.MessageDeduplicationId = m.dedupId ?? '';
  }
  if (m.deadLetterSourceArn) attributes.DeadLetterQueueSourceArn = m.deadLetterSourceArn;
  const messageAttributes: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(m.attributes)) {
    messageAttributes[k] = {
      stringValue: v.StringValue,
      binaryValue: v.BinaryValue,
      stringListValues: [],
      binaryListValues: [],
      dataType: v.DataType,
    };
  }
  return {
    messageId: m.messageId,
    receiptHandle: m.receiptHandle,
    body: m.body,
    attributes,
    messageAttributes,
    md5OfBody: m.md5OfBody,
    ...(m.md5OfAttributes ? { md5OfMessageAttributes: m.md5OfAttributes } : {}),
    eventSource: 'aws:sqs',
    eventSourceARN: q.arn,
    awsRegion: q.region || region,
  };
}

/** Which messages of a batch failed, from the function's response; undefined = the whole batch. */
export function failedItems(payload: string, batch: SqsMessage[]): Set<string> | undefined {
  let r: unknown;
  try {
    r = JSON.parse(payload);
  } catch {
    return undefined;
  }
  if (r === null || typeof r !== 'object') return new Set();
  const list = (r as { batchItemFailures?: unknown }).batchItemFailures;
  if (list === undefined || list === null) return new Set();
  if (!Array.isArray(list)) return undefined;
  const ids = new Set(batch.map((m) => m.messageId));
  const failed = new Set<string>();
  for (const item of list) {
    const id = (item as { itemIdentifier?: unknown } | null)?.itemIdentifier;
    // An empty, null or unknown identifier fails the whole batch, as Lambda does.
    if (typeof id !== 'string' || !ids.has(id)) return undefined;
    failed.add(id);
  }
  return failed;
}

export class SqsEventSource {
  private running = 0;
  private closed = false;
  private readonly abort = new AbortController();
  /** Ends the long poll in progress, so that a redefined batch size applies to the next receive. */
  private poll: AbortController | undefined;
  private slotFree: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private readonly inflight = new Set<Promise<void>>();
  concurrency: number;

  def: MappingDef;
  private readonly sqs: SqsBroker;
  private readonly fn: MappedFunction;
  private readonly clock: Clock;
  private readonly stream: EventStream;
  private readonly region: string;

  constructor(o: SqsEventSourceOptions) {
    this.def = o.def;
    this.sqs = o.sqs;
    this.fn = o.fn;
    this.clock = o.clock;
    this.stream = o.stream;
    this.region = o.region;
    this.concurrency = o.def.maximumConcurrency ?? DEFAULT_MAPPING_CONCURRENCY;
  }

  private pause(reason: string): void {
    this.stream.publish('mapping.paused', { functionName: this.fn.name, queueArn: this.def.eventSourceArn, reason });
  }

  start(): void {
    if (!this.def.enabled) return;
    this.loop = this.run().catch((err) => {
      // A bug here must not take the process down silently or stop polling unnoticed.
      this.pause(`stopped polling: ${(err as Error).stack ?? String(err)}`);
    });
  }

  private async run(): Promise<void> {
    let warned = false;
    while (!this.closed) {
      if (this.running >= this.concurrency) {
        await new Promise<void>((r) => (this.slotFree = r));
        continue;
      }
      const q = this.sqs.byArn(this.def.eventSourceArn);
      if (!q) {
        if (!warned) this.pause(`queue ${this.def.eventSourceArn} does not exist; polling paused until it does`);
        warned = true;
        await this.clock.sleep(500, this.abort.signal);
        continue;
      }
      warned = false;
      const batch = await this.collect(q);
      if (batch.length > 0 && this.closed) {
        // Stopped while receiving (a reload that replaces or removes the mapping): the batch is
        // handed back at once instead of waiting out its visibility timeout.
        for (const m of batch) if (m.receiptHandle) tryRelease(q, m.receiptHandle);
        continue;
      }
      if (batch.length === 0) continue;
      this.running++;
      const p = this.process(q, batch)
        .catch((err) => {
          // The batch stays in flight and returns after its visibility timeout; nothing is lost.
          this.pause(`batch of ${batch.length} not settled: ${(err as Error).stack ?? String(err)}`);
        })
        .finally(() => {
          this.running--;
          this.inflight.delete(p);
          const f = this.slotFree;
          this.slotFree = undefined;
          f?.();
        });
      this.inflight.add(p);
    }
  }

  /** Waits for messages, then fills the batch until BatchSize or the batching window ends. */
  private async collect(q: Queue): Promise<SqsMessage[]> {
    const size = this.def.batchSize;
    // Its own controller, ended by close() too (AbortSignal.any would tie one listener per poll to the mapping's signal).
    this.poll = new AbortController();
    const signal = this.poll.signal;
    const batch = await q.receive({ max: Math.min(size, 10), waitSeconds: 20, signal });
    if (batch.length === 0) return batch;
    const deadline = this.clock.now() + this.def.maximumBatchingWindowInSeconds * 1000;
    while (batch.length < size && !this.closed && !q.deleted) {
      const left = deadline - this.clock.now();
      const more =
        left > 0
          ? await q.receive({ max: Math.min(size - batch.length, 10), waitSeconds: left / 1000, signal })
          : q.take(Math.min(size - batch.length, 10));
      if (more.length === 0) break;
      batch.push(...more);
    }
    return batch;
  }

  private async process(q: Queue, batch: SqsMessage[]): Promise<void> {
    const def = this.def;
    const event = { Records: batch.map((m) => sqsRecord(q, m, this.region)) };
    const base = { functionName: this.fn.name, functionArn: this.fn.arn, sourceArn: q.arn };
    const messageIds = batch.map((m) => m.messageId);
    this.stream.publish('function.invoked', { ...base, invocationType: 'RequestResponse', records: batch.length, messageIds });
    const r = await this.fn.invoke(JSON.stringify(event));
    if (!r.ok) {
      // The whole batch comes back after its visibility timeout, as with Lambda.
      this.stream.publish('function.failed', {
        ...base,
        durationMs: r.durationMs,
        errorType: r.error.errorType,
        errorMessage: r.error.errorMessage,
        records: batch.length,
      });
      return;
    }
    let failed: Set<string> | undefined = new Set();
    if (def.reportBatchItemFailures) {
      failed = failedItems(r.payload, batch);
      if (failed === undefined) {
        this.stream.publish('function.completed', { ...base, durationMs: r.durationMs, ok: 0, failed: batch.length });
        this.stream.publish('batch.item-failed', {
          functionName: this.fn.name,
          functionArn: this.fn.arn,
          queueName: q.name,
          queueArn: q.arn,
          messageIds,
          reason: 'invalid batchItemFailures response; whole batch returns to the queue',
        });
        return;
      }
    }
    for (const m of batch) {
      if (!failed.has(m.messageId) && m.receiptHandle) q.delete(m.receiptHandle);
    }
    this.stream.publish('function.completed', { ...base, durationMs: r.durationMs, ok: batch.length - failed.size, failed: failed.size });
    if (failed.size > 0)
      this.stream.publish('batch.item-failed', {
        functionName: this.fn.name,
        functionArn: this.fn.arn,
        queueName: q.name,
        queueArn: q.arn,
        messageIds: [...failed],
        reason: 'reported in batchItemFailures',
      });
  }

  /**
   * A reloaded definition of the same mapping (same queue and function): BatchSize, batching
   * window, MaximumConcurrency and ReportBatchItemFailures apply from the next batch; batches
   * being processed finish as they started.
   */
  update(def: MappingDef): void {
    this.def = def;
    this.concurrency = def.maximumConcurrency ?? DEFAULT_MAPPING_CONCURRENCY;
    this.poll?.abort();
    const f = this.slotFree;
    this.slotFree = undefined;
    f?.();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.abort.abort();
    this.poll?.abort();
    this.slotFree?.();
    await this.loop;
    await Promise.all([...this.inflight]);
  }
}

/** Makes a received message visible again; one already deleted or expired is left as it is. */
function tryRelease(q: Queue, receiptHandle: string): void {
  try {
    q.changeVisibility(receiptHandle, 0);
  } catch {
    // Its receipt is no longer current: nothing to hand back.
  }
}
