/**
 * `dlq list`, `dlq show`, `dlq redrive`: the stack's dead-letter queues, their messages with the
 * error attributes EventBridge or SQS attached, and moving messages back where they came from.
 */
import type { Message } from '@aws-sdk/client-sqs';
import type { Command } from 'commander';
import type { AwsClients } from '../aws';
import { sdk } from '../aws';
import { discoverDeadLetterQueues, pickDeadLetterQueue, queueAttributes, type DeadLetterQueue } from '../discovery';
import { consumerOfResource, wouldFailAgain } from '../dlq-check';
import { CommandFailedError, EXIT_FAILURE, EXIT_OK } from '../errors';
import type { EventCatalog } from '../../sdk/catalog';
import { projectCatalog } from './publish';
import { isRecord } from '../input';
import { sleep } from '../io';
import type { Output } from '../output';
import { intInRange, PROGRAM_NAME, type CommandContext, type Wrap } from '../command';

/** Message attributes EventBridge adds to events it sends to a target's dead-letter queue. */
export const EVENTBRIDGE_ERROR_ATTRIBUTES = [
  'ERROR_CODE',
  'ERROR_MESSAGE',
  'EXHAUSTED_RETRY_CONDITION',
  'RETRY_ATTEMPTS',
  'RULE_ARN',
  'TARGET_ARN',
] as const;

export interface PeekedMessage {
  readonly messageId: string;
  readonly sentAt?: string;
  readonly receiveCount?: number;
  /** SQS: the queue the message was moved from after maxReceiveCount receives. */
  readonly deadLetterQueueSourceArn?: string;
  /** EventBridge: why delivery failed. */
  readonly errors: Record<string, string>;
  readonly body: unknown;
}

function toPeeked(m: Message): PeekedMessage {
  const a = m.Attributes ?? {};
  const errors: Record<string, string> = {};
  for (const [k, v] of Object.entries(m.MessageAttributes ?? {})) errors[k] = v.StringValue ?? v.BinaryValue?.toString() ?? '';
  let body: unknown = m.Body;
  try {
    body = JSON.parse(m.Body ?? '');
  } catch {
    // Not JSON: shown as text.
  }
  return {
    messageId: m.MessageId ?? '',
    ...(a.SentTimestamp ? { sentAt: new Date(Number(a.SentTimestamp)).toISOString() } : {}),
    ...(a.ApproximateReceiveCount ? { receiveCount: Number(a.ApproximateReceiveCount) } : {}),
    ...(a.DeadLetterQueueSourceArn ? { deadLetterQueueSourceArn: a.DeadLetterQueueSourceArn } : {}),
    errors,
    body,
  };
}

/**
 * Reads up to `max` messages without consuming them: receives with a short visibility timeout
 * and makes them visible again at once. Dead-letter queues have no consumer, so the only effect
 * is a higher receive count.
 */
export async function peekMessages(aws: AwsClients, url: string, max: number): Promise<PeekedMessage[]> {
  const seen = new Map<string, Message>();
  const handles: string[] = [];
  try {
    while (seen.size < max) {
      const r = await aws.sqs.send(
        new (sdk.sqs().ReceiveMessageCommand)({
          QueueUrl: url,
          MaxNumberOfMessages: Math.min(10, max - seen.size),
          VisibilityTimeout: 30,
          WaitTimeSeconds: 0,
          MessageSystemAttributeNames: ['All'],
          MessageAttributeNames: ['All'],
        }),
      );
      const fresh = (r.Messages ?? []).filter((m) => m.MessageId && !seen.has(m.MessageId));
      if (fresh.length === 0) break;
      for (const m of fresh) {
        seen.set(m.MessageId!, m);
        if (m.ReceiptHandle) handles.push(m.ReceiptHandle);
      }
    }
  } finally {
    for (let i = 0; i < handles.length; i += 10) {
      await aws.sqs.send(
        new (sdk.sqs().ChangeMessageVisibilityBatchCommand)({
          QueueUrl: url,
          Entries: handles.slice(i, i + 10).map((h, k) => ({ Id: String(k), ReceiptHandle: h, VisibilityTimeout: 0 })),
        }),
      );
    }
  }
  return [...seen.values()].map(toPeeked);
}

interface DlqStatus {
  readonly kind: string;
  readonly name: string;
  readonly source: string;
  readonly depth: number;
  readonly inFlight: number;
  /** Age in seconds of the oldest message among those sampled. */
  readonly oldestAgeSeconds?: number;
  readonly url: string;
  /** Why the queue could not be read (missing, access denied); depth and inFlight are then 0. */
  readonly error?: string;
}

const age = (s: number | undefined) =>
  s === undefined
    ? '-'
    : s < 120
      ? `${s}s`
      : s < 7200
        ? `${Math.floor(s / 60)}m`
        : s < 172800
          ? `${Math.floor(s / 3600)}h`
          : `${Math.floor(s / 86400)}d`;

/** The status of one queue; an error there (a missing queue, a denied call) is reported on its row, not thrown. */
async function status(aws: AwsClients, d: DeadLetterQueue, sample: number): Promise<DlqStatus> {
  const base = { kind: d.kind, name: d.name, source: d.source, depth: 0, inFlight: 0, url: d.url };
  if (d.problem) return { ...base, error: d.problem };
  try {
    return await readStatus(aws, d, sample);
  } catch (err) {
    const e = err as Error;
    return { ...base, error: `${e.name}: ${e.message}` };
  }
}

async function readStatus(aws: AwsClients, d: DeadLetterQueue, sample: number): Promise<DlqStatus> {
  const attrs = await queueAttributes(aws, d.url, ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible']);
  const depth = Number(attrs.ApproximateNumberOfMessages ?? 0);
  const peeked = depth > 0 && sample > 0 ? await peekMessages(aws, d.url, sample) : [];
  const times = peeked.map((m) => (m.sentAt ? Date.parse(m.sentAt) : NaN)).filter((t) => !Number.isNaN(t));
  const oldest = times.length > 0 ? Math.max(0, Math.round((Date.now() - Math.min(...times)) / 1000)) : undefined;
  return {
    kind: d.kind,
    name: d.name,
    source: d.source,
    depth,
    inFlight: Number(attrs.ApproximateNumberOfMessagesNotVisible ?? 0),
    ...(oldest !== undefined ? { oldestAgeSeconds: oldest } : {}),
    url: d.url,
  };
}

/** Where a DLQ's messages failed, for a person: the rule that could not deliver, the consumer that could not process, or the bus. */
function failedAt(d: DeadLetterQueue, consumer: string | undefined): string {
  const who = consumer ? ` (consumer ${consumer})` : '';
  if (d.kind === 'delivery') return `${d.source} could not deliver to its target queue${who}`;
  if (d.kind === 'redrive') return `the consumer of ${d.source} failed it on every receive${who}`;
  return `${d.source} could not deliver it to a target`;
}

function describeMessage(out: Output, m: PeekedMessage, verdict?: string): void {
  const ev = isRecord(m.body) ? m.body : undefined;
  const what = ev
    ? `${String(ev['detail-type'] ?? '?')} from ${String(ev.source ?? '?')} (event ${String(ev.id ?? '?')})`
    : String(m.body).slice(0, 120);
  out.line(`${out.style('bold', m.messageId)}  sent ${m.sentAt ?? '?'}  receives ${m.receiveCount ?? '?'}`);
  out.line(`  ${what}`);
  if (m.deadLetterQueueSourceArn) out.line(`  moved here from ${m.deadLetterQueueSourceArn} after repeated failed processing`);
  for (const [k, v] of Object.entries(m.errors).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
    out.line(`  ${k}: ${out.style('red', v)}`);
  if (verdict !== undefined)
    out.line(`  redrive check: ${verdict ? out.style('red', `would fail again: ${verdict}`) : 'passes the catalog and schema'}`);
  const body = typeof m.body === 'string' ? m.body : JSON.stringify(m.body, null, 2);
  out.line(
    body
      .split('\n')
      .map((l) => `    ${l}`)
      .join('\n'),
  );
}

/** The project catalog, or undefined with the reason when it cannot be loaded (a CLI run outside the project). */
async function tryCatalog(): Promise<{ catalog?: EventCatalog; reason?: string }> {
  try {
    return { catalog: await projectCatalog() };
  } catch (err) {
    return { reason: (err as Error).message };
  }
}

/** Resource name of a DLQ's source ('rule X' / 'queue X'), to find its consumer. */
const sourceName = (d: DeadLetterQueue) => d.source.replace(/^(rule|queue|bus) /, '');

export interface RedriveCheck {
  readonly messageId: string;
  readonly eventId?: string;
  readonly reason: string;
}

/** The message body as an EventBridge event, or undefined when it is not one. */
function parseEvent(body: string | undefined): Record<string, unknown> | undefined {
  try {
    const ev = JSON.parse(body ?? '') as unknown;
    return isRecord(ev) && typeof ev.source === 'string' && typeof ev['detail-type'] === 'string' ? ev : undefined;
  } catch {
    return undefined;
  }
}

/** Moves messages by hand: receive, send to the destination, delete what was sent. */
async function manualMove(
  ctx: CommandContext,
  d: DeadLetterQueue,
  limit: number,
  signal: AbortSignal,
): Promise<{ moved: number; failed: number }> {
  const { aws, out } = ctx;
  const total = Math.min(
    limit,
    Number((await queueAttributes(aws, d.url, ['ApproximateNumberOfMessages'])).ApproximateNumberOfMessages ?? 0),
  );
  const progress = out.progress(`redrive ${d.name}`, total);
  let moved = 0;
  let failed = 0;
  while (moved + failed < limit && !signal.aborted) {
    const r = await aws.sqs.send(
      new (sdk.sqs().ReceiveMessageCommand)({
        QueueUrl: d.url,
        MaxNumberOfMessages: Math.min(10, limit - moved - failed),
        VisibilityTimeout: 60,
        WaitTimeSeconds: 1,
        MessageAttributeNames: ['All'],
      }),
    );
    const messages = r.Messages ?? [];
    if (messages.length === 0) break;
    const sent = new Set<number>();
    if (d.destination.kind === 'queue') {
      const res = await aws.sqs.send(
        new (sdk.sqs().SendMessageBatchCommand)({
          QueueUrl: d.destination.url,
          Entries: messages.map((m, i) => ({ Id: String(i), MessageBody: m.Body ?? '' })),
        }),
      );
      (res.Successful ?? []).forEach((s) => sent.add(Number(s.Id)));
    } else {
      const busName = d.destination.name;
      // A body that is not an EventBridge event stays in the DLQ and counts as failed.
      const events = messages.map((m, i) => ({ i, ev: parseEvent(m.Body) })).filter((x) => x.ev !== undefined);
      if (events.length > 0) {
        const res = await aws.eventBridge.send(
          new (sdk.eventBridge().PutEventsCommand)({
            Entries: events.map(({ ev }) => ({
              EventBusName: busName,
              Source: String(ev!.source),
              DetailType: String(ev!['detail-type']),
              Detail: JSON.stringify(ev!.detail ?? {}),
              Resources: Array.isArray(ev!.resources) ? ev!.resources.map(String) : [],
              ...(typeof ev!.time === 'string' ? { Time: new Date(ev!.time) } : {}),
            })),
          }),
        );
        (res.Entries ?? []).forEach((e, k) => {
          if (e.EventId) sent.add(events[k]!.i);
        });
      }
    }
    const toDelete = messages.filter((_, i) => sent.has(i));
    if (toDelete.length > 0) {
      await aws.sqs.send(
        new (sdk.sqs().DeleteMessageBatchCommand)({
          QueueUrl: d.url,
          Entries: toDelete.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
        }),
      );
    }
    moved += toDelete.length;
    failed += messages.length - toDelete.length;
    progress.update(moved + failed, Math.max(total, moved + failed));
  }
  progress.finish();
  return { moved, failed };
}

/** Redrives with SQS StartMessageMoveTask and follows the task until it ends. */
async function moveTask(
  ctx: CommandContext,
  d: DeadLetterQueue,
  maxPerSecond: number | undefined,
  pollMs: number,
  signal: AbortSignal,
): Promise<{ moved: number; failed: number; status: string; reason?: string }> {
  const { aws, out } = ctx;
  const started = await aws.sqs.send(
    new (sdk.sqs().StartMessageMoveTaskCommand)({
      SourceArn: d.arn,
      ...(maxPerSecond ? { MaxNumberOfMessagesPerSecond: maxPerSecond } : {}),
    }),
  );
  const progress = out.progress(`redrive ${d.name}`);
  let last = { status: 'RUNNING', moved: 0, toMove: 0, reason: undefined as string | undefined };
  for (;;) {
    const tasks = (await aws.sqs.send(new (sdk.sqs().ListMessageMoveTasksCommand)({ SourceArn: d.arn, MaxResults: 10 }))).Results ?? [];
    const task = tasks.find((t) => t.TaskHandle === started.TaskHandle) ?? tasks[0];
    if (task) {
      last = {
        status: task.Status ?? 'RUNNING',
        moved: Number(task.ApproximateNumberOfMessagesMoved ?? 0),
        toMove: Number(task.ApproximateNumberOfMessagesToMove ?? 0),
        reason: task.FailureReason,
      };
      progress.update(last.moved, last.toMove || undefined);
    }
    if (last.status !== 'RUNNING' && last.status !== 'CANCELLING') break;
    if (signal.aborted) {
      await aws.sqs.send(new (sdk.sqs().CancelMessageMoveTaskCommand)({ TaskHandle: started.TaskHandle }));
      out.warn(`cancelled the move task after ${last.moved} messages`);
      break;
    }
    await sleep(pollMs, signal);
  }
  progress.finish();
  return {
    moved: last.moved,
    failed: last.status === 'FAILED' ? Math.max(0, last.toMove - last.moved) : 0,
    status: last.status,
    ...(last.reason ? { reason: last.reason } : {}),
  };
}

export function registerDlq(program: Command, wrap: Wrap): void {
  const dlq = program.command('dlq').description("the stack's dead-letter queues: list, show messages, redrive");

  dlq
    .command('list')
    .description('every dead-letter queue of the stack with its depth and oldest message age')
    .option('--sample <n>', 'messages read from each queue to find the oldest (SQS exposes no exact oldest age)', intInRange(0, 100), 10)
    .addHelpText('after', `\nExample:\n  $ AWS_ENDPOINT_URL=http://127.0.0.1:4566 ${PROGRAM_NAME} dlq list`)
    .action(
      wrap<{ sample: number }>(async ({ aws, out, names }, o) => {
        const all = await discoverDeadLetterQueues(aws, names.bus(), names.app());
        const rows = await Promise.all(all.map((d) => status(aws, d, o.sample)));
        out.data({ deadLetterQueues: rows });
        const failed = rows.filter((r) => r.error);
        out.table(
          [
            ['kind', 'queue', 'receives from', 'depth', 'in flight', 'oldest'],
            ...rows.map((r) => [
              r.kind,
              r.name,
              r.source,
              r.error ? out.style('red', 'error') : r.depth > 0 ? out.style('red', String(r.depth)) : '0',
              r.error ? '-' : String(r.inFlight),
              r.error ? '-' : age(r.oldestAgeSeconds),
            ]),
          ],
          ['left', 'left', 'left', 'right', 'right', 'right'],
        );
        if (rows.length === 0) out.note(`no dead-letter queues found for bus ${names.bus()}`);
        for (const r of failed) out.warn(`${r.name}: ${r.error}`);
        return failed.length > 0 ? EXIT_FAILURE : EXIT_OK;
      }),
    );

  dlq
    .command('show')
    .description('messages in one dead-letter queue, with the error attributes EventBridge or SQS attached (not consumed)')
    .argument('<queue>', 'queue name, ARN or URL (see dlq list)')
    .option('-n, --max <n>', 'messages to show', intInRange(1, 1000), 10)
    .addHelpText('after', `\nExample:\n  $ ${PROGRAM_NAME} dlq show MyStack-orders-dlq --max 5`)
    .action(
      wrap<{ max: number }>(async ({ aws, out, names }, o, [name = '']) => {
        const d = pickDeadLetterQueue(await discoverDeadLetterQueues(aws, names.bus(), names.app()), name);
        const messages = await peekMessages(aws, d.url, o.max);
        const { catalog } = await tryCatalog();
        const consumer = catalog ? consumerOfResource(catalog, sourceName(d)) : undefined;
        const verdicts = messages.map((m) => (catalog ? (wouldFailAgain(catalog, consumer, m.body) ?? '') : undefined));
        out.data({
          queue: d.name,
          kind: d.kind,
          source: d.source,
          ...(consumer ? { consumer: consumer.name } : {}),
          messages: messages.map((m, i) => ({ ...m, ...(verdicts[i] ? { wouldFailAgain: verdicts[i] } : {}) })),
        });
        if (messages.length === 0) out.line(`${d.name} is empty`);
        else out.line(`${d.name}: ${failedAt(d, consumer?.name)}`);
        messages.forEach((m, i) => describeMessage(out, m, verdicts[i]));
      }),
    );

  dlq
    .command('redrive')
    .description('move messages back to where they failed: StartMessageMoveTask for consumer DLQs, a resend for rule and bus DLQs')
    .argument('<queue>', 'queue name, ARN or URL (see dlq list)')
    .option('--max-per-second <n>', 'rate limit of the move task', intInRange(1, 500))
    .option('--limit <n>', 'at most this many messages (rule and bus DLQs)', intInRange(1, 1_000_000), 1_000_000)
    .option('--poll-ms <ms>', 'how often to read the task progress', intInRange(10, 60_000), 1000)
    .option('--check-max <n>', 'messages read to check before redriving', intInRange(1, 100_000), 1000)
    .option('--force', 'redrive even messages that would fail the same way again')
    .addHelpText(
      'after',
      `
Consumer DLQs (kind redrive) use SQS's own move task back to the buffer queue. Rule DLQs (kind
delivery) are not DLQs of a queue, which the move task requires, so their events are sent to the
rule's target queue; bus DLQ events are put on the bus again.

Before moving anything, each message (up to --check-max) is checked against the project's catalog
and the current subscriptions and schema of the consumer the queue belongs to. When one would fail
the same way again (not an EventBridge event, an event type not in the catalog or not subscribed
to, a detail the schema rejects), nothing is moved and the messages are listed; --force redrives
anyway.
Example:
  $ ${PROGRAM_NAME} dlq redrive MyStack-orders-dlq`,
    )
    .action(
      wrap<{ maxPerSecond?: number; limit: number; pollMs: number; checkMax: number; force?: boolean }>(async (ctx, o, [name = '']) => {
        const { aws, out, names, io } = ctx;
        const d = pickDeadLetterQueue(await discoverDeadLetterQueues(aws, names.bus(), names.app()), name);
        if (d.destination.kind === 'queue' && !d.destination.url)
          throw new CommandFailedError(`cannot redrive ${d.name}: its destination queue ${d.destination.arn} does not exist`);
        if (!o.force) {
          const { catalog, reason } = await tryCatalog();
          if (!catalog)
            throw new CommandFailedError(`cannot check ${d.name} against the catalog (${reason}); pass --force to redrive unchecked`);
          const consumer = consumerOfResource(catalog, sourceName(d));
          const bad: RedriveCheck[] = [];
          for (const m of await peekMessages(aws, d.url, o.checkMax)) {
            const why = wouldFailAgain(catalog, consumer, m.body);
            const eventId = isRecord(m.body) && typeof m.body.id === 'string' ? m.body.id : undefined;
            if (why) bad.push({ messageId: m.messageId, ...(eventId ? { eventId } : {}), reason: why });
          }
          if (bad.length > 0) {
            out.data({ queue: d.name, ...(consumer ? { consumer: consumer.name } : {}), moved: 0, wouldFailAgain: bad });
            for (const b of bad) out.line(`${b.messageId}${b.eventId ? ` (event ${b.eventId})` : ''}: ${b.reason}`);
            throw new CommandFailedError(
              `${bad.length} message(s) in ${d.name} would fail the same way again${consumer ? ` in consumer '${consumer.name}'` : ''}; nothing was moved. Fix the catalog or the consumer, or move them with --force`,
            );
          }
        }
        const abort = new AbortController();
        const release = io.onInterrupt(() => abort.abort());
        try {
          const result =
            d.kind === 'redrive'
              ? await moveTask(ctx, d, o.maxPerSecond, o.pollMs, abort.signal)
              : { ...(await manualMove(ctx, d, o.limit, abort.signal)), status: 'COMPLETED' };
          const to = d.destination.kind === 'queue' ? d.destination.arn.split(':').pop() : `bus ${d.destination.name}`;
          out.data({ queue: d.name, kind: d.kind, destination: to, ...result });
          out.line(`moved ${result.moved} message(s) from ${d.name} to ${to}${result.failed ? `; ${result.failed} failed` : ''}`);
          if (result.status === 'FAILED')
            throw new CommandFailedError(`move task failed: ${'reason' in result ? result.reason : 'no reason given'}`);
          return result.failed > 0 ? EXIT_FAILURE : EXIT_OK;
        } finally {
          release();
        }
      }),
    );
}
