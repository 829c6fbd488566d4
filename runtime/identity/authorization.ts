/**
 * What each EventBridge and SQS operation asks IAM: the action, the resource ARN and the
 * request's context keys, as the Service Authorization Reference lists them. One operation can
 * need several checks: PutEvents one per bus it writes to, SendMessage on an encrypted queue
 * the queue and then the queue's KMS key (GenerateDataKey and Decrypt through SQS).
 *
 * - PutEvents is authorized per bus with `events:source` and `events:detail-type` holding every
 *   source and detail type of the entries for that bus. The keys are multivalued
 *   (ArrayOfString) for that reason; a denied bus fails the whole call, no entry is accepted.
 * - Rules on a custom bus are `rule/<bus>/<name>`; their bus's policy governs them.
 * - SQS batch operations are authorized as their single form (`sqs:SendMessage`...).
 * - A request for a queue or bus that does not exist is not checked: the operation answers with
 *   its own not-found error.
 * @see https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoneventbridge.html
 * @see https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsqs.html
 * @see https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-key-management.html
 */
import { arns, parseArn, partitionOf } from '../../assembly/arn';
import type { ContextValue } from '../../iam';
import type { EventBroker } from '../events';
import type { SqsBroker } from '../sqs';

/** One question to the evaluator. */
export interface Check {
  readonly action: string;
  readonly resource: string;
  readonly context?: Readonly<Record<string, ContextValue>>;
}

type Input = Record<string, unknown>;

export interface CheckEnv {
  readonly events: EventBroker;
  readonly sqs: SqsBroker;
  readonly region: string;
  /** The runtime's account: names without an ARN resolve in it, as the brokers resolve them. */
  readonly accountId: string;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

function busArnOf(env: CheckEnv, nameOrArn: unknown): string | undefined {
  const s = nameOrArn === undefined || nameOrArn === null || nameOrArn === '' ? 'default' : str(nameOrArn);
  if (s === undefined) return undefined;
  if (s.startsWith('arn:')) return parseArn(s)?.service === 'events' ? s : undefined;
  return env.events.busArn(s);
}

function ruleArnOf(env: CheckEnv, busNameOrArn: unknown, name: unknown): string | undefined {
  const bus = busArnOf(env, busNameOrArn);
  const parts = bus ? parseArn(bus) : undefined;
  if (!parts || typeof name !== 'string') return undefined;
  return arns.rule(
    { partition: parts.partition, region: parts.region, account: parts.account },
    parts.resource.slice('event-bus/'.length),
    name,
  );
}

const here = (env: CheckEnv) => ({ partition: partitionOf(env.region), region: env.region, account: env.accountId });

/** Distinct string values of a pattern field (`source: ['a', 'b']`), for PutRule's condition keys. */
function patternValues(pattern: unknown, field: string): string[] | undefined {
  if (typeof pattern !== 'string') return undefined;
  try {
    const p = JSON.parse(pattern) as Record<string, unknown>;
    const v = p?.[field];
    return Array.isArray(v) && v.every((x) => typeof x === 'string') ? [...new Set(v as string[])] : undefined;
  } catch {
    return undefined;
  }
}

function putEventsChecks(env: CheckEnv, input: Input): Check[] {
  if (!Array.isArray(input.Entries)) return [];
  const byBus = new Map<string, { sources: Set<string>; detailTypes: Set<string> }>();
  for (const e of input.Entries as unknown[]) {
    if (e === null || typeof e !== 'object') continue;
    const entry = e as Input;
    const bus = busArnOf(env, entry.EventBusName);
    if (!bus) continue;
    let sets = byBus.get(bus);
    if (!sets) byBus.set(bus, (sets = { sources: new Set(), detailTypes: new Set() }));
    if (typeof entry.Source === 'string') sets.sources.add(entry.Source);
    if (typeof entry.DetailType === 'string') sets.detailTypes.add(entry.DetailType);
  }
  return [...byBus].map(([resource, s]) => {
    const context: Record<string, ContextValue> = {};
    if (s.sources.size > 0) context['events:source'] = [...s.sources];
    if (s.detailTypes.size > 0) context['events:detail-type'] = [...s.detailTypes];
    return { action: 'events:PutEvents', resource, context };
  });
}

type EventsRule = (env: CheckEnv, input: Input) => Check[];

const onRule =
  (action: string, nameField: string, extra?: (input: Input, env: CheckEnv) => Record<string, ContextValue>): EventsRule =>
  (env, input) => {
    const resource = ruleArnOf(env, input.EventBusName, input[nameField]);
    if (!resource) return [];
    const parts = parseArn(resource);
    const context: Record<string, ContextValue> = parts ? { 'events:creatorAccount': parts.account } : {};
    return [{ action, resource, context: { ...context, ...(extra?.(input, env) ?? {}) } }];
  };

const onBus =
  (action: string, field: string): EventsRule =>
  (env, input) => {
    const resource = busArnOf(env, input[field]);
    return resource ? [{ action, resource }] : [];
  };

const anywhere =
  (action: string): EventsRule =>
  () => [{ action, resource: '*' }];

const named =
  (action: string, kind: 'archive' | 'replay', field: string): EventsRule =>
  (env, input) => {
    const name = str(input[field]);
    return name === undefined ? [] : [{ action, resource: arns[kind](here(env), name) }];
  };

/** IAM checks of each EventBridge operation the runtime serves. */
export const EVENTS_CHECKS: Readonly<Record<string, EventsRule>> = {
  PutEvents: putEventsChecks,
  TestEventPattern: anywhere('events:TestEventPattern'),
  ListEventBuses: anywhere('events:ListEventBuses'),
  DescribeEventBus: onBus('events:DescribeEventBus', 'Name'),
  ListRules: anywhere('events:ListRules'),
  DescribeRule: onRule('events:DescribeRule', 'Name'),
  ListTargetsByRule: onRule('events:ListTargetsByRule', 'Rule'),
  PutRule: onRule('events:PutRule', 'Name', (input) => {
    const out: Record<string, ContextValue> = {};
    const sources = patternValues(input.EventPattern, 'source');
    const detailTypes = patternValues(input.EventPattern, 'detail-type');
    if (sources) out['events:source'] = sources;
    if (detailTypes) out['events:detail-type'] = detailTypes;
    return out;
  }),
  DeleteRule: onRule('events:DeleteRule', 'Name'),
  PutTargets: onRule('events:PutTargets', 'Rule', (input): Record<string, ContextValue> => {
    const targets = Array.isArray(input.Targets) ? (input.Targets as unknown[]) : [];
    const arnsOf = targets.map((t) => (t !== null && typeof t === 'object' ? str((t as Input).Arn) : undefined)).filter((a) => a);
    return arnsOf.length > 0 ? { 'events:TargetArn': arnsOf as string[] } : {};
  }),
  RemoveTargets: onRule('events:RemoveTargets', 'Rule'),
  ListArchives: anywhere('events:ListArchives'),
  DescribeArchive: named('events:DescribeArchive', 'archive', 'ArchiveName'),
  StartReplay: named('events:StartReplay', 'replay', 'ReplayName'),
  DescribeReplay: named('events:DescribeReplay', 'replay', 'ReplayName'),
  ListReplays: anywhere('events:ListReplays'),
  CancelReplay: named('events:CancelReplay', 'replay', 'ReplayName'),
};

type SqsRule = (env: CheckEnv, input: Input) => Check[];

/** The queue a request names, or undefined when it names none that exists. */
function queueOf(env: CheckEnv, input: Input): ReturnType<SqsBroker['byUrl']> | undefined {
  try {
    return env.sqs.byUrl(str(input.QueueUrl));
  } catch {
    return undefined;
  }
}

/** The ARN of a queue's customer managed key, when SSE-KMS uses one (an alias is AWS managed, or unresolvable locally). */
function keyArnOf(queue: NonNullable<ReturnType<typeof queueOf>>): string | undefined {
  const id = queue.settings.extra.KmsMasterKeyId;
  if (!id || id.startsWith('alias/')) return undefined;
  if (id.startsWith('arn:')) return parseArn(id)?.resource.startsWith('key/') ? id : undefined;
  const parts = parseArn(queue.arn);
  return parts ? arns.key({ partition: parts.partition, region: parts.region, account: parts.account }, id) : undefined;
}

const onQueue =
  (action: string, kms: readonly string[] = []): SqsRule =>
  (env, input) => {
    const q = queueOf(env, input);
    if (!q) return [];
    const checks: Check[] = [{ action, resource: q.arn }];
    const key = kms.length > 0 ? keyArnOf(q) : undefined;
    if (key) {
      const region = parseArn(q.arn)?.region ?? env.region;
      const context = {
        'kms:ViaService': `sqs.${region}.amazonaws.com`,
        'kms:EncryptionContext:aws:sqs:arn': q.arn,
        'kms:EncryptionContextKeys': ['aws:sqs:arn'],
      };
      for (const a of kms) checks.push({ action: a, resource: key, context });
    }
    return checks;
  };

const onNamedQueue =
  (action: string): SqsRule =>
  (env, input) => {
    const name = str(input.QueueName);
    if (name === undefined) return [];
    const owner = str(input.QueueOwnerAWSAccountId);
    return [{ action, resource: arns.queue({ ...here(env), account: owner ?? env.accountId }, name) }];
  };

const onSourceArn =
  (action: string): SqsRule =>
  (_env, input) => {
    const source = str(input.SourceArn);
    return source !== undefined && parseArn(source)?.service === 'sqs' ? [{ action, resource: source }] : [];
  };

/** Producers need GenerateDataKey and Decrypt on the queue's key; consumers need Decrypt. */
const SEND_KMS = ['kms:GenerateDataKey', 'kms:Decrypt'];
const RECEIVE_KMS = ['kms:Decrypt'];

/** IAM checks of each SQS operation the runtime serves (both protocols). */
export const SQS_CHECKS: Readonly<Record<string, SqsRule>> = {
  CreateQueue: onNamedQueue('sqs:CreateQueue'),
  GetQueueUrl: onNamedQueue('sqs:GetQueueUrl'),
  ListQueues: () => [{ action: 'sqs:ListQueues', resource: '*' }],
  DeleteQueue: onQueue('sqs:DeleteQueue'),
  GetQueueAttributes: onQueue('sqs:GetQueueAttributes'),
  SetQueueAttributes: onQueue('sqs:SetQueueAttributes'),
  PurgeQueue: onQueue('sqs:PurgeQueue'),
  SendMessage: onQueue('sqs:SendMessage', SEND_KMS),
  SendMessageBatch: onQueue('sqs:SendMessage', SEND_KMS),
  ReceiveMessage: onQueue('sqs:ReceiveMessage', RECEIVE_KMS),
  DeleteMessage: onQueue('sqs:DeleteMessage'),
  DeleteMessageBatch: onQueue('sqs:DeleteMessage'),
  ChangeMessageVisibility: onQueue('sqs:ChangeMessageVisibility'),
  ChangeMessageVisibilityBatch: onQueue('sqs:ChangeMessageVisibility'),
  ListDeadLetterSourceQueues: onQueue('sqs:ListDeadLetterSourceQueues'),
  ListQueueTags: onQueue('sqs:ListQueueTags'),
  StartMessageMoveTask: onSourceArn('sqs:StartMessageMoveTask'),
  ListMessageMoveTasks: onSourceArn('sqs:ListMessageMoveTasks'),
  CancelMessageMoveTask: () => [{ action: 'sqs:CancelMessageMoveTask', resource: '*' }],
};

/** The checks of one operation; an operation without an entry asks `<service>:<Operation>` on `*`. */
export function checksFor(service: 'events' | 'sqs', operation: string, input: Input, env: CheckEnv): Check[] {
  const table = service === 'events' ? EVENTS_CHECKS : SQS_CHECKS;
  const rule = Object.hasOwn(table, operation) ? table[operation] : undefined;
  return rule ? rule(env, input) : [{ action: `${service}:${operation}`, resource: '*' }];
}
