/**
 * Finds the stack's resources through the service APIs, the same way against AWS and the local
 * runtime: the bus and its dead-letter queue (DescribeEventBus), the rules on the bus and their
 * targets and delivery DLQs (ListRules, ListTargetsByRule), the buffer queues' redrive DLQs
 * (GetQueueAttributes RedrivePolicy), and any other queue of the stack with a redrive policy
 * (ListQueues by the stack's name prefix). No queue or rule name is hard-coded.
 */
import type { Rule } from '@aws-sdk/client-eventbridge';
import type { QueueAttributeName } from '@aws-sdk/client-sqs';
import type { AwsClients } from './aws';
import { sdk } from './aws';
import { BUS_ENV } from './app-names';
import { CommandFailedError, UsageError } from './errors';

/** Prefix of the temporary rules and queues `tail` creates; discovery skips them. */
export const TAIL_PREFIX = 'cli-tail-';
/** Prefixes earlier versions used; `tail --cleanup` removes their leftovers too, and discovery skips them. */
export const LEGACY_TAIL_PREFIXES: readonly string[] = ['loan-events-tail-'];
/** Whether a rule or queue name is one of tail's temporary resources. */
export const isTailResource = (name: string) => [TAIL_PREFIX, ...LEGACY_TAIL_PREFIXES].some((p) => name.startsWith(p));

export type DeadLetterKind = 'bus' | 'delivery' | 'redrive';

export interface DeadLetterQueue {
  /** bus: events the bus could not encrypt/decrypt; delivery: events a rule could not deliver; redrive: messages a consumer failed. */
  readonly kind: DeadLetterKind;
  readonly name: string;
  readonly arn: string;
  readonly url: string;
  /** Who sends to it: the bus, the rule, or the source queue. */
  readonly source: string;
  /** Where a redrive sends messages: the source queue (redrive, delivery) or the bus. */
  readonly destination:
    | { readonly kind: 'queue'; readonly arn: string; readonly url: string }
    | { readonly kind: 'bus'; readonly name: string };
  /** Set when the queue (or its destination) could not be found: what SQS said, naming the queue. `url` is then empty. */
  readonly problem?: string;
}

export const queueNameOf = (arn: string) => arn.split(':').pop() ?? arn;
const accountOf = (arn: string) => arn.split(':')[4];

/** Queue URL from an ARN, via GetQueueUrl (works for any endpoint and account). */
export async function queueUrl(aws: AwsClients, arn: string): Promise<string> {
  const account = accountOf(arn);
  const r = await aws.sqs.send(
    new (sdk.sqs().GetQueueUrlCommand)({
      QueueName: queueNameOf(arn),
      ...(account && /^\d{12}$/.test(account) ? { QueueOwnerAWSAccountId: account } : {}),
    }),
  );
  if (!r.QueueUrl) throw new CommandFailedError(`GetQueueUrl returned no URL for ${arn}`);
  return r.QueueUrl;
}

/**
 * The URL of a queue a template or a rule names, or the reason there is none (a queue deleted by
 * hand, or not deployed yet): one missing queue must not hide the others.
 */
async function findQueueUrl(aws: AwsClients, arn: string): Promise<{ url: string; problem?: string }> {
  try {
    return { url: await queueUrl(aws, arn) };
  } catch (err) {
    const e = err as Error;
    if (!/NonExistentQueue|QueueDoesNotExist/.test(`${e.name} ${(err as { Code?: string }).Code ?? ''}`)) throw err;
    return { url: '', problem: `queue ${queueNameOf(arn)} does not exist (${arn})` };
  }
}

export async function queueAttributes(aws: AwsClients, url: string, names: QueueAttributeName[]): Promise<Record<string, string>> {
  const r = await aws.sqs.send(new (sdk.sqs().GetQueueAttributesCommand)({ QueueUrl: url, AttributeNames: names }));
  return r.Attributes ?? {};
}

/** Every rule on the bus (all pages), without tail's temporary rules. */
export async function listRules(aws: AwsClients, bus: string): Promise<Rule[]> {
  const rules: Rule[] = [];
  let token: string | undefined;
  do {
    const r = await aws.eventBridge.send(new (sdk.eventBridge().ListRulesCommand)({ EventBusName: bus, NextToken: token }));
    rules.push(...(r.Rules ?? []));
    token = r.NextToken;
  } while (token);
  return rules.filter((r) => !isTailResource(r.Name ?? ''));
}

/** The bus's ARN and dead-letter queue ARN; a missing bus is reported by name. */
export async function describeBus(aws: AwsClients, bus: string): Promise<{ arn: string; name: string; deadLetterArn?: string }> {
  try {
    const r = await aws.eventBridge.send(new (sdk.eventBridge().DescribeEventBusCommand)({ Name: bus }));
    return { arn: r.Arn ?? bus, name: r.Name ?? bus, deadLetterArn: r.DeadLetterConfig?.Arn };
  } catch (err) {
    if ((err as Error).name === 'ResourceNotFoundException') {
      throw new CommandFailedError(
        `event bus '${bus}' not found (is the stack deployed, or the local runtime started? set --bus or ${BUS_ENV})`,
      );
    }
    throw err;
  }
}

export async function discoverDeadLetterQueues(aws: AwsClients, bus: string, stack: string): Promise<DeadLetterQueue[]> {
  const found = new Map<string, DeadLetterQueue>();
  const busInfo = await describeBus(aws, bus);
  if (busInfo.deadLetterArn) {
    found.set(busInfo.deadLetterArn, {
      kind: 'bus',
      name: queueNameOf(busInfo.deadLetterArn),
      arn: busInfo.deadLetterArn,
      ...(await findQueueUrl(aws, busInfo.deadLetterArn)),
      source: `bus ${busInfo.name}`,
      destination: { kind: 'bus', name: busInfo.name },
    });
  }
  /** Buffer queues already inspected for a redrive policy. */
  const sources = new Map<string, string>();
  const addRedrive = async (sourceArn: string, sourceUrl: string, policy: string | undefined) => {
    if (!policy) return;
    const dlqArn = (JSON.parse(policy) as { deadLetterTargetArn?: string }).deadLetterTargetArn;
    if (!dlqArn || found.has(dlqArn)) return;
    found.set(dlqArn, {
      kind: 'redrive',
      name: queueNameOf(dlqArn),
      arn: dlqArn,
      ...(await findQueueUrl(aws, dlqArn)),
      source: `queue ${queueNameOf(sourceArn)}`,
      destination: { kind: 'queue', arn: sourceArn, url: sourceUrl },
    });
  };

  for (const rule of await listRules(aws, bus)) {
    const targets =
      (await aws.eventBridge.send(new (sdk.eventBridge().ListTargetsByRuleCommand)({ Rule: rule.Name, EventBusName: bus }))).Targets ?? [];
    for (const t of targets) {
      if (!t.Arn?.startsWith('arn:') || t.Arn.split(':')[2] !== 'sqs') continue;
      const target = await findQueueUrl(aws, t.Arn);
      const targetUrl = target.url;
      if (t.DeadLetterConfig?.Arn && !found.has(t.DeadLetterConfig.Arn)) {
        const arn = t.DeadLetterConfig.Arn;
        // A missing target queue leaves the destination URL empty; redrive says so.
        found.set(arn, {
          kind: 'delivery',
          name: queueNameOf(arn),
          arn,
          ...(await findQueueUrl(aws, arn)),
          source: `rule ${rule.Name}`,
          destination: { kind: 'queue', arn: t.Arn, url: targetUrl },
        });
      }
      if (!sources.has(t.Arn) && !target.problem) {
        sources.set(t.Arn, targetUrl);
        await addRedrive(t.Arn, targetUrl, (await queueAttributes(aws, targetUrl, ['RedrivePolicy'])).RedrivePolicy);
      }
    }
  }

  // Queues of the stack no rule targets directly (named with the stack prefix) may still redrive.
  let token: string | undefined;
  do {
    const r = await aws.sqs.send(new (sdk.sqs().ListQueuesCommand)({ QueueNamePrefix: stack, NextToken: token, MaxResults: 1000 }));
    for (const url of r.QueueUrls ?? []) {
      const attrs = await queueAttributes(aws, url, ['QueueArn', 'RedrivePolicy']);
      if (attrs.QueueArn && !sources.has(attrs.QueueArn)) {
        sources.set(attrs.QueueArn, url);
        await addRedrive(attrs.QueueArn, url, attrs.RedrivePolicy);
      }
    }
    token = r.NextToken;
  } while (token);

  const order: Record<DeadLetterKind, number> = { bus: 0, delivery: 1, redrive: 2 };
  return [...found.values()].sort((a, b) => order[a.kind] - order[b.kind] || a.name.localeCompare(b.name));
}

/** Picks one DLQ by name, ARN or URL; the error lists the ones there are. */
export function pickDeadLetterQueue(all: readonly DeadLetterQueue[], wanted: string): DeadLetterQueue {
  const hit = all.find((d) => d.name === wanted || d.arn === wanted || (d.url !== '' && d.url === wanted));
  if (hit?.problem) throw new CommandFailedError(`dead-letter queue ${hit.name}: ${hit.problem}`);
  if (hit) return hit;
  throw new UsageError(
    `'${wanted}' is not a dead-letter queue of the stack; choose one of: ${all.map((d) => d.name).join(', ') || '(none found)'}`,
  );
}
