/**
 * `tail`: streams events from the bus as they arrive. It creates a temporary rule (with the
 * given pattern) and an encrypted queue as the rule's target, reads the queue with long polls,
 * and removes both on exit, Ctrl-C included. `tail --cleanup` removes what a killed tail left.
 */
import { randomBytes } from 'node:crypto';
import type { Rule } from '@aws-sdk/client-eventbridge';
import type { Command } from 'commander';
import { InvalidEventPatternError, validateEventPattern } from '../../engine';
import type { AwsClients } from '../aws';
import { sdk } from '../aws';
import { describeBus, LEGACY_TAIL_PREFIXES, TAIL_PREFIX } from '../discovery';
import { CommandFailedError, EXIT_FAILURE, EXIT_OK, UsageError } from '../errors';
import { isRecord, readJsonObject } from '../input';
import type { Output } from '../output';
import { intInRange, PROGRAM_NAME, type Wrap } from '../command';

/** Every event: `prefix: ''` matches any source. */
export const MATCH_ALL = { source: [{ prefix: '' }] };

interface TailOptions {
  pattern?: string;
  count?: number;
  duration?: number;
  full: boolean;
  cleanup: boolean;
}

interface TailResources {
  ruleName: string;
  queueName: string;
  ruleCreated?: boolean;
  targetAdded?: boolean;
  queueUrl?: string;
}

/** Removes the target, the rule and the queue, each independently; returns what could not be removed. */
async function removeResources(aws: AwsClients, bus: string, r: TailResources): Promise<string[]> {
  const failures: string[] = [];
  const attempt = async (what: string, fn: () => Promise<unknown>) => {
    try {
      await fn();
    } catch (err) {
      if ((err as Error).name !== 'ResourceNotFoundException' && (err as Error).name !== 'QueueDoesNotExist')
        failures.push(`${what}: ${(err as Error).message}`);
    }
  };
  if (r.targetAdded || r.ruleCreated)
    await attempt(`targets of rule ${r.ruleName}`, () =>
      aws.eventBridge.send(new (sdk.eventBridge().RemoveTargetsCommand)({ Rule: r.ruleName, EventBusName: bus, Ids: ['tail'] })),
    );
  if (r.ruleCreated)
    await attempt(`rule ${r.ruleName}`, () =>
      aws.eventBridge.send(new (sdk.eventBridge().DeleteRuleCommand)({ Name: r.ruleName, EventBusName: bus })),
    );
  if (r.queueUrl) await attempt(`queue ${r.queueName}`, () => aws.sqs.send(new (sdk.sqs().DeleteQueueCommand)({ QueueUrl: r.queueUrl })));
  return failures;
}

function printEvent(out: Output, body: string, full: boolean): void {
  let ev: unknown;
  try {
    ev = JSON.parse(body);
  } catch {
    ev = body;
  }
  if (out.json) {
    out.record(ev);
    return;
  }
  if (full || !isRecord(ev)) {
    out.line(typeof ev === 'string' ? ev : JSON.stringify(ev, null, 2));
    return;
  }
  const detail = isRecord(ev.detail) ? ev.detail : {};
  const meta = isRecord(detail.metadata) ? detail.metadata : {};
  const corr = typeof meta.correlationId === 'string' ? `  correlation ${meta.correlationId}` : '';
  out.line(
    `${out.style('dim', String(ev.time ?? ''))}  ${out.style('bold', String(ev['detail-type'] ?? ''))}  ${String(ev.source ?? '')}  ${String(ev.id ?? '')}${corr}`,
  );
}

async function cleanupLeftovers(aws: AwsClients, out: Output, bus: string): Promise<number> {
  const rules: Rule[] = [];
  const queues: string[] = [];
  for (const prefix of [TAIL_PREFIX, ...LEGACY_TAIL_PREFIXES]) {
    let token: string | undefined;
    do {
      const r = await aws.eventBridge.send(
        new (sdk.eventBridge().ListRulesCommand)({ EventBusName: bus, NamePrefix: prefix, NextToken: token }),
      );
      rules.push(...(r.Rules ?? []));
      token = r.NextToken;
    } while (token);
    queues.push(...((await aws.sqs.send(new (sdk.sqs().ListQueuesCommand)({ QueueNamePrefix: prefix }))).QueueUrls ?? []));
  }
  const failures: string[] = [];
  for (const rule of rules) failures.push(...(await removeResources(aws, bus, { ruleName: rule.Name!, queueName: '', ruleCreated: true })));
  for (const url of queues) failures.push(...(await removeResources(aws, bus, { ruleName: '', queueName: url, queueUrl: url })));
  out.data({ removedRules: rules.map((r) => r.Name), removedQueues: queues, failures });
  out.line(`removed ${rules.length} temporary rule(s) and ${queues.length} queue(s)`);
  failures.forEach((f) => out.warn(`could not remove ${f}`));
  return failures.length > 0 ? EXIT_FAILURE : EXIT_OK;
}

export function registerTail(program: Command, wrap: Wrap): void {
  program
    .command('tail')
    .description(
      'stream events from the bus as they arrive, optionally filtered by a pattern (temporary rule + encrypted queue, removed on exit)',
    )
    .option('-p, --pattern <json|file|->', 'only events matching this pattern (default: every event)')
    .option('-n, --count <n>', 'stop after this many events', intInRange(1, 1_000_000))
    .option('-d, --duration <seconds>', 'stop after this many seconds', intInRange(1, 86_400))
    .option('--full', 'print each whole event as JSON instead of one line', false)
    .option('--cleanup', 'remove temporary rules and queues left by a tail that was killed', false)
    .addHelpText(
      'after',
      `
The caller needs events:PutRule/PutTargets/RemoveTargets/DeleteRule on the bus (the stack's
ruleManagerArns) and sqs:CreateQueue/SetQueueAttributes/ReceiveMessage/DeleteQueue.
Examples:
  $ ${PROGRAM_NAME} tail
  $ ${PROGRAM_NAME} tail -p '{"detail-type":["OrderCancelled"]}' --json | jq .detail.data`,
    )
    .action(
      wrap<TailOptions>(async ({ io, out, aws, names }, o) => {
        if (o.cleanup) return cleanupLeftovers(aws, out, names.bus());
        const pattern = o.pattern ? await readJsonObject('--pattern', o.pattern, io) : MATCH_ALL;
        try {
          validateEventPattern(pattern);
        } catch (err) {
          if (err instanceof InvalidEventPatternError) throw new UsageError(`--pattern: ${err.message}`);
          throw err;
        }
        const bus = await describeBus(aws, names.bus());
        const id = randomBytes(4).toString('hex');
        const res: TailResources = { ruleName: `${TAIL_PREFIX}${id}`, queueName: `${TAIL_PREFIX}${id}` };
        const abort = new AbortController();
        const release = io.onInterrupt(() => abort.abort());
        const deadline = o.duration ? setTimeout(() => abort.abort(), o.duration * 1000) : undefined;
        let received = 0;
        let failed: unknown;
        try {
          // SSE-SQS, not the stack's key: the key policy lets EventBridge use the key only for the
          // stack's own rules, and a temporary rule should not need a key-policy change.
          res.queueUrl = (
            await aws.sqs.send(
              new (sdk.sqs().CreateQueueCommand)({
                QueueName: res.queueName,
                Attributes: { SqsManagedSseEnabled: 'true', MessageRetentionPeriod: '3600' },
                tags: { 'cli:purpose': 'tail' },
              }),
            )
          ).QueueUrl;
          const queueArn = (
            await aws.sqs.send(new (sdk.sqs().GetQueueAttributesCommand)({ QueueUrl: res.queueUrl, AttributeNames: ['QueueArn'] }))
          ).Attributes?.QueueArn;
          const ruleArn = (
            await aws.eventBridge.send(
              new (sdk.eventBridge().PutRuleCommand)({
                Name: res.ruleName,
                EventBusName: bus.name,
                EventPattern: JSON.stringify(pattern),
                State: 'ENABLED',
                Description: `Temporary rule of ${PROGRAM_NAME} tail; removed when tail exits (${PROGRAM_NAME} tail --cleanup removes leftovers)`,
              }),
            )
          ).RuleArn;
          res.ruleCreated = true;
          await aws.sqs.send(
            new (sdk.sqs().SetQueueAttributesCommand)({
              QueueUrl: res.queueUrl,
              Attributes: {
                Policy: JSON.stringify({
                  Version: '2012-10-17',
                  Statement: [
                    {
                      Sid: 'AllowTailRule',
                      Effect: 'Allow',
                      Principal: { Service: 'events.amazonaws.com' },
                      Action: 'sqs:SendMessage',
                      Resource: queueArn,
                      Condition: { ArnEquals: { 'aws:SourceArn': ruleArn } },
                    },
                    {
                      Sid: 'DenyInsecureTransport',
                      Effect: 'Deny',
                      Principal: '*',
                      Action: 'sqs:*',
                      Resource: queueArn,
                      Condition: { Bool: { 'aws:SecureTransport': 'false' } },
                    },
                  ],
                }),
              },
            }),
          );
          await aws.eventBridge.send(
            new (sdk.eventBridge().PutTargetsCommand)({
              Rule: res.ruleName,
              EventBusName: bus.name,
              Targets: [{ Id: 'tail', Arn: queueArn }],
            }),
          );
          res.targetAdded = true;
          out.note(`tailing ${bus.name} with ${JSON.stringify(pattern)} (Ctrl-C to stop)`);

          while (!abort.signal.aborted && (o.count === undefined || received < o.count)) {
            let messages;
            try {
              messages =
                (
                  await aws.sqs.send(
                    new (sdk.sqs().ReceiveMessageCommand)({ QueueUrl: res.queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 20 }),
                    {
                      abortSignal: abort.signal,
                    },
                  )
                ).Messages ?? [];
            } catch (err) {
              if (abort.signal.aborted) break;
              throw err;
            }
            const take = o.count === undefined ? messages : messages.slice(0, o.count - received);
            take.forEach((m) => printEvent(out, m.Body ?? '', o.full));
            received += take.length;
            if (messages.length > 0) {
              await aws.sqs.send(
                new (sdk.sqs().DeleteMessageBatchCommand)({
                  QueueUrl: res.queueUrl,
                  Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
                }),
              );
            }
          }
        } catch (err) {
          failed = err;
        } finally {
          if (deadline) clearTimeout(deadline);
          const failures = await removeResources(aws, bus.name, res);
          release();
          if (failures.length > 0) {
            failures.forEach((f) => out.warn(`could not remove ${f}`));
            failed ??= new CommandFailedError(`tail could not remove its temporary resources; run '${PROGRAM_NAME} tail --cleanup'`);
          } else {
            out.note(`received ${received} event(s); removed rule ${res.ruleName} and queue ${res.queueName}`);
          }
        }
        if (failed) throw failed;
        return EXIT_OK;
      }),
    );
}
