/**
 * Message move tasks (DLQ redrive): StartMessageMoveTask, CancelMessageMoveTask and
 * ListMessageMoveTasks. A task returns a dead-letter queue's messages to the queue they came
 * from (or to DestinationArn) with a fresh receive count, paced on the clock when
 * MaxNumberOfMessagesPerSecond is set.
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_StartMessageMoveTask.html
 */
import { randomUUID } from 'node:crypto';
import type { Clock, ClockTimer } from './clock';
import { AwsError } from './errors';
import { sqsError } from './sqs-attributes';
import type { Queue } from './sqs-queue';
import type { EventStream } from './stream';

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

/** The queues a move task works on. */
export interface MoveHost {
  readonly clock: Clock;
  readonly stream: EventStream;
  byArn(arn: string): Queue | undefined;
  deadLetterSources(dlq: Queue): Queue[];
}

const notFound = (param: string) =>
  new AwsError(
    'ResourceNotFoundException',
    `The resource that you specified for the ${param} parameter doesn't exist.`,
    400,
    'ResourceNotFoundException',
  );

export class MoveTasks {
  /** Newest first, as ListMessageMoveTasks returns them. */
  readonly tasks: MoveTask[] = [];
  private readonly timers = new Set<ClockTimer>();
  private readonly immediates = new Set<NodeJS.Immediate>();
  private closed = false;

  constructor(private readonly host: MoveHost) {}

  start(sourceArn: string, destinationArn?: string, maxPerSecond?: number): MoveTask {
    const source = this.host.byArn(sourceArn);
    if (!source) throw notFound('SourceArn');
    if (this.host.deadLetterSources(source).length === 0)
      throw sqsError.invalidParam('Source queue must be configured as a Dead Letter Queue.');
    if (destinationArn !== undefined && !this.host.byArn(destinationArn)) throw notFound('DestinationArn');
    if (maxPerSecond !== undefined && (!Number.isInteger(maxPerSecond) || maxPerSecond < 1 || maxPerSecond > 500)) {
      throw sqsError.invalidParam('Value for parameter MaxNumberOfMessagesPerSecond is invalid. Reason: must be between 1 and 500.');
    }
    if (this.tasks.some((t) => t.sourceArn === sourceArn && t.status === 'RUNNING')) {
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
      started: this.host.clock.now(),
    };
    this.tasks.unshift(task);
    this.later(() => this.step(task, source), 0);
    return task;
  }

  cancel(handle: string): MoveTask {
    const task = this.tasks.find((t) => t.taskHandle === handle);
    if (!task) throw new AwsError('ResourceNotFoundException', 'Task does not exist.', 400, 'ResourceNotFoundException');
    if (task.status !== 'RUNNING')
      throw new AwsError('UnsupportedOperation', 'Only active tasks can be cancelled.', 400, 'AWS.SimpleQueueService.UnsupportedOperation');
    task.status = 'CANCELLED';
    return task;
  }

  close(): void {
    this.closed = true;
    for (const t of this.timers) this.host.clock.clearTimeout(t);
    for (const i of this.immediates) clearImmediate(i);
    this.timers.clear();
    this.immediates.clear();
  }

  /** Runs `fn` on the next turn (unpaced) or after `ms` on the clock (paced). */
  private later(fn: () => void, ms: number): void {
    if (this.closed) return;
    if (ms === 0) {
      const i = setImmediate(() => {
        this.immediates.delete(i);
        fn();
      });
      this.immediates.add(i);
      return;
    }
    const t = this.host.clock.setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  private step(task: MoveTask, source: Queue): void {
    if (task.status !== 'RUNNING') return;
    if (source.deleted) return this.fail(task, 'The source queue was deleted.');
    const batch = source.takeForMove(Math.min(task.maxPerSecond ?? 500, Math.max(0, task.toMove - task.moved)));
    for (let i = 0; i < batch.length; i++) {
      const msg = batch[i]!;
      const dest = this.host.byArn(task.destinationArn ?? msg.deadLetterSourceArn ?? '') ?? this.host.deadLetterSources(source)[0];
      if (!dest) {
        // Nowhere to go: the rest of the batch goes back where it was, nothing is lost.
        for (const m of batch.slice(i)) source.adopt(m, false, m.deadLetterSourceArn);
        return this.fail(task, 'The destination queue does not exist.');
      }
      dest.adopt(msg, true);
      task.moved++;
      this.host.stream.publish('message.moved', {
        queueName: source.name,
        queueArn: source.arn,
        messageId: msg.messageId,
        destinationName: dest.name,
        destinationArn: dest.arn,
        taskHandle: task.taskHandle,
      });
    }
    if (batch.length === 0 || task.moved >= task.toMove) {
      task.status = 'COMPLETED';
      return;
    }
    // Paced per second when MaxNumberOfMessagesPerSecond is set; otherwise as fast as possible.
    this.later(() => this.step(task, source), task.maxPerSecond ? 1000 : 0);
  }

  private fail(task: MoveTask, reason: string): void {
    task.status = 'FAILED';
    task.failureReason = reason;
  }
}
