/**
 * SQS over HTTP, in both protocols clients use: AWS JSON 1.0 (`X-Amz-Target: AmazonSQS.*`,
 * the SDK v3 since 2023) and the query protocol (form-encoded `Action=...`, XML answers;
 * the AWS CLI v1 and older SDKs). Both are turned into the same JSON-shaped input, served
 * by one function per action, and the output is written back in the caller's protocol.
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-making-api-requests-json.html
 */
import { AwsError } from './errors';
import { PROTOTYPE_KEYS, UnsafeKeyError, safeCopy, show } from './http/safe-input';
import type { Shape } from './http/shapes';
import {
  MessageAttributeValue,
  OLDEST_AGE_ATTRIBUTE,
  QUEUE_ATTRIBUTE_NAMES,
  Queue,
  SQS_MAX_BATCH_ENTRIES,
  SQS_MAX_WAIT_SECONDS,
  SqsBroker,
  SqsMessage,
  md5OfMessageAttributes,
  messageSize,
  queueAttributeString,
  receiveAttributeSelection,
  sqsError,
} from './sqs';
import { decodePageToken, encodePageToken } from './paging';

type Input = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
type Output = Record<string, unknown>;
type Action = (broker: SqsBroker, input: Input) => Output | Promise<Output>;

function str(input: Input, name: string, required = true): string | undefined {
  const v = input[name];
  if (v === undefined || v === null || v === '') {
    if (required) throw sqsError.missing(`The request must contain the parameter ${name}.`);
    return undefined;
  }
  if (typeof v !== 'string') throw sqsError.invalidParam(`Value for parameter ${name} is invalid. Reason: must be a string.`);
  return v;
}

function int(input: Input, name: string, min: number, max: number): number | undefined {
  const v = input[name];
  if (v === undefined || v === null) return undefined;
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < min || n > max) {
    throw sqsError.invalidParam(
      `Value ${show(v)} for parameter ${name} is invalid. Reason: Must be between ${min} and ${max}, if provided.`,
    );
  }
  return n;
}

function attrMap(v: unknown, name: string): Record<string, MessageAttributeValue> | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v))
    throw sqsError.invalidParam(`Value for parameter ${name} is invalid. Reason: must be a map.`);
  const out: Record<string, MessageAttributeValue> = {};
  for (const [k, raw] of Object.entries(v as Record<string, Input>)) {
    const where = `${name}.${k}`;
    if (raw === null || typeof raw !== 'object')
      throw sqsError.invalidParam(`Value for parameter ${where} is invalid. Reason: must be a structure.`);
    for (const f of ['DataType', 'StringValue', 'BinaryValue']) {
      if (raw[f] !== undefined && raw[f] !== null && typeof raw[f] !== 'string')
        throw sqsError.invalidParam(`Value for parameter ${where}.${f} is invalid. Reason: must be a string.`);
    }
    out[k] = {
      DataType: raw.DataType,
      ...(typeof raw.StringValue === 'string' ? { StringValue: raw.StringValue } : {}),
      ...(typeof raw.BinaryValue === 'string' ? { BinaryValue: raw.BinaryValue } : {}),
    };
  }
  return out;
}

function sendOne(q: Queue, e: Input) {
  const r = q.send({
    body: str(e, 'MessageBody') ?? '',
    delaySeconds: int(e, 'DelaySeconds', 0, 900),
    attributes: attrMap(e.MessageAttributes, 'MessageAttributes'),
    groupId: str(e, 'MessageGroupId', false),
    dedupId: str(e, 'MessageDeduplicationId', false),
  });
  return {
    MessageId: r.messageId,
    MD5OfMessageBody: r.md5OfBody,
    MD5OfMessageAttributes: r.md5OfAttributes,
    SequenceNumber: r.sequenceNumber,
  };
}

/** Runs a batch action: 1-10 entries with distinct, well-formed ids; errors per entry. */
async function batch(input: Input, one: (e: Input) => Output | Promise<Output>, maxTotalBytes?: (entries: Input[]) => number) {
  const entries = input.Entries;
  if (!Array.isArray(entries) || entries.length === 0) {
    throw new AwsError(
      'EmptyBatchRequest',
      'There should be at least one SendMessageBatchRequestEntry in the request.',
      400,
      'AWS.SimpleQueueService.EmptyBatchRequest',
    );
  }
  if (entries.length > SQS_MAX_BATCH_ENTRIES) {
    throw new AwsError(
      'TooManyEntriesInBatchRequest',
      `Maximum number of entries per request are ${SQS_MAX_BATCH_ENTRIES}. You have sent ${entries.length}.`,
      400,
      'AWS.SimpleQueueService.TooManyEntriesInBatchRequest',
    );
  }
  const ids = new Set<string>();
  for (const e of entries) {
    const id = e?.Id;
    if (typeof id !== 'string' || !/^[A-Za-z0-9_-]{1,80}$/.test(id)) {
      throw new AwsError(
        'InvalidBatchEntryId',
        'A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.',
        400,
        'AWS.SimpleQueueService.InvalidBatchEntryId',
      );
    }
    if (ids.has(id))
      throw new AwsError('BatchEntryIdsNotDistinct', `Id ${id} repeated.`, 400, 'AWS.SimpleQueueService.BatchEntryIdsNotDistinct');
    ids.add(id);
  }
  if (maxTotalBytes) {
    const limit = maxTotalBytes(entries);
    const total = entries.reduce(
      (n: number, e: Input) => n + messageSize(String(e.MessageBody ?? ''), attrMap(e.MessageAttributes, 'MessageAttributes')),
      0,
    );
    if (total > limit) {
      throw new AwsError(
        'BatchRequestTooLong',
        `Batch requests cannot be longer than ${limit} bytes. You have sent ${total} bytes.`,
        400,
        'AWS.SimpleQueueService.BatchRequestTooLong',
      );
    }
  }
  const Successful: Output[] = [];
  const Failed: Output[] = [];
  for (const e of entries) {
    try {
      Successful.push({ Id: e.Id, ...(await one(e)) });
    } catch (err) {
      if (!(err instanceof AwsError)) throw err;
      Failed.push({ Id: e.Id, Code: err.queryCode ?? err.code, Message: err.message, SenderFault: err.fault === 'Sender' });
    }
  }
  return { Successful, Failed };
}

/** Which message attributes a ReceiveMessage asked for: names, `All`, `.*` or `prefix.*`. */
function selectAttributes(all: Record<string, MessageAttributeValue>, names: unknown): Record<string, MessageAttributeValue> {
  if (!Array.isArray(names) || names.length === 0) return {};
  const out: Record<string, MessageAttributeValue> = {};
  for (const [k, v] of Object.entries(all)) {
    if (names.some((n: string) => n === 'All' || n === '.*' || n === k || (n.endsWith('.*') && k.startsWith(n.slice(0, -1))))) out[k] = v;
  }
  return out;
}

function messageOut(q: Queue, m: SqsMessage, input: Input): Output {
  const wanted = new Set<string>([...(input.AttributeNames ?? []), ...(input.MessageSystemAttributeNames ?? [])]);
  const all = wanted.has('All');
  const sys: Record<string, string | undefined> = {
    SenderId: m.senderId,
    SentTimestamp: String(m.sentTimestamp),
    ApproximateReceiveCount: String(m.receiveCount),
    ApproximateFirstReceiveTimestamp: m.firstReceiveTimestamp === undefined ? undefined : String(m.firstReceiveTimestamp),
    MessageDeduplicationId: q.fifo ? m.dedupId : undefined,
    MessageGroupId: m.groupId,
    SequenceNumber: m.sequenceNumber,
    DeadLetterQueueSourceArn: m.deadLetterSourceArn,
  };
  const Attributes: Record<string, string> = {};
  for (const [k, v] of Object.entries(sys)) if (v !== undefined && (all || wanted.has(k))) Attributes[k] = v;
  const attrs = selectAttributes(m.attributes, input.MessageAttributeNames);
  const hasAttrs = Object.keys(attrs).length > 0;
  return {
    MessageId: m.messageId,
    ReceiptHandle: m.receiptHandle,
    MD5OfBody: m.md5OfBody,
    Body: m.body,
    ...(Object.keys(Attributes).length > 0 ? { Attributes } : {}),
    ...(hasAttrs ? { MD5OfMessageAttributes: md5OfMessageAttributes(attrs), MessageAttributes: attrs } : {}),
  };
}

function queueAttributes(q: Queue, names: unknown): Record<string, string> {
  const list: string[] = Array.isArray(names) ? names : [];
  const out: Record<string, string> = {};
  const want = list.includes('All') ? Object.keys(QUEUE_ATTRIBUTE_NAMES) : list;
  for (const n of want) {
    if (QUEUE_ATTRIBUTE_NAMES[n] === undefined && n !== OLDEST_AGE_ATTRIBUTE && n !== 'All') {
      throw new AwsError('InvalidAttributeName', `Unknown Attribute ${n}.`, 400, 'InvalidAttributeName');
    }
    const v = queueAttributeString(q, n);
    if (v !== undefined) out[n] = v;
  }
  return out;
}

function stringMap(v: unknown, name: string): Record<string, string> {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v))
    throw sqsError.invalidParam(`Value for parameter ${name} is invalid. Reason: must be a map.`);
  return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, show(x)]));
}

function page<T>(items: T[], input: Input): { items: T[]; next?: string } {
  const max = int(input, 'MaxResults', 1, 1000);
  const start = decodePageToken('sqs', input.NextToken);
  if (start === undefined) throw sqsError.invalidParam('Invalid NextToken value.');
  if (max === undefined) return { items: items.slice(start) };
  const end = start + max;
  return { items: items.slice(start, end), next: end < items.length ? encodePageToken('sqs', end) : undefined };
}

export const SQS_ACTIONS = {
  CreateQueue: (b, i) => ({ QueueUrl: b.create(str(i, 'QueueName')!, stringMap(i.Attributes, 'Attributes')).url }),
  DeleteQueue: (b, i) => {
    b.delete(b.byUrl(i.QueueUrl));
    return {};
  },
  GetQueueUrl: (b, i) => {
    const owner = str(i, 'QueueOwnerAWSAccountId', false);
    const q = b.get(str(i, 'QueueName')!, owner ?? b.callerAccount());
    if (!q) throw sqsError.noQueue();
    return { QueueUrl: q.url };
  },
  ListQueues: (b, i) => {
    const prefix = str(i, 'QueueNamePrefix', false) ?? '';
    const { items, next } = page(
      b
        .listOf(b.callerAccount())
        .filter((q) => q.name.startsWith(prefix))
        .map((q) => q.url),
      i,
    );
    return { QueueUrls: items, NextToken: next };
  },
  GetQueueAttributes: (b, i) => ({ Attributes: queueAttributes(b.byUrl(i.QueueUrl), i.AttributeNames) }),
  SetQueueAttributes: (b, i) => {
    b.setAttributes(b.byUrl(i.QueueUrl), stringMap(i.Attributes, 'Attributes'));
    return {};
  },
  PurgeQueue: (b, i) => {
    const q = b.byUrl(i.QueueUrl);
    q.purge();
    return {};
  },
  SendMessage: (b, i) => sendOne(b.byUrl(i.QueueUrl), i),
  SendMessageBatch: (b, i) => {
    const q = b.byUrl(i.QueueUrl);
    return batch(
      i,
      (e) => sendOne(q, e),
      () => q.settings.MaximumMessageSize,
    );
  },
  ReceiveMessage: async (b, i) => {
    const q = b.byUrl(i.QueueUrl);
    const max = int(i, 'MaxNumberOfMessages', 1, 10) ?? 1;
    const vt = int(i, 'VisibilityTimeout', 0, 43200);
    const wait = int(i, 'WaitTimeSeconds', 0, SQS_MAX_WAIT_SECONDS);
    receiveAttributeSelection(i); // a wrongly typed list is refused before any message is taken
    const msgs = await q.receive({ max, visibilityTimeout: vt, waitSeconds: wait });
    return { Messages: msgs.map((m) => messageOut(q, m, i)) };
  },
  DeleteMessage: (b, i) => {
    b.byUrl(i.QueueUrl).delete(str(i, 'ReceiptHandle')!);
    return {};
  },
  DeleteMessageBatch: (b, i) => {
    const q = b.byUrl(i.QueueUrl);
    return batch(i, (e) => {
      q.delete(str(e, 'ReceiptHandle')!);
      return {};
    });
  },
  ChangeMessageVisibility: (b, i) => {
    const vt = int(i, 'VisibilityTimeout', 0, 43200);
    if (vt === undefined) throw sqsError.missing('The request must contain the parameter VisibilityTimeout.');
    b.byUrl(i.QueueUrl).changeVisibility(str(i, 'ReceiptHandle')!, vt);
    return {};
  },
  ChangeMessageVisibilityBatch: (b, i) => {
    const q = b.byUrl(i.QueueUrl);
    return batch(i, (e) => {
      const vt = int(e, 'VisibilityTimeout', 0, 43200);
      if (vt === undefined) throw sqsError.missing('The request must contain the parameter VisibilityTimeout.');
      q.changeVisibility(str(e, 'ReceiptHandle')!, vt);
      return {};
    });
  },
  ListDeadLetterSourceQueues: (b, i) => {
    const { items, next } = page(
      b.deadLetterSources(b.byUrl(i.QueueUrl)).map((q) => q.url),
      i,
    );
    return { queueUrls: items, NextToken: next };
  },
  StartMessageMoveTask: (b, i) => {
    const t = b.startMoveTask(str(i, 'SourceArn')!, str(i, 'DestinationArn', false), int(i, 'MaxNumberOfMessagesPerSecond', 1, 500));
    return { TaskHandle: t.taskHandle };
  },
  CancelMessageMoveTask: (b, i) => ({ ApproximateNumberOfMessagesMoved: b.cancelMoveTask(str(i, 'TaskHandle')!).moved }),
  ListMessageMoveTasks: (b, i) => {
    const source = str(i, 'SourceArn')!;
    if (!b.byArn(source))
      throw new AwsError(
        'ResourceNotFoundException',
        `The resource that you specified for the SourceArn parameter doesn't exist.`,
        400,
        'ResourceNotFoundException',
      );
    const max = int(i, 'MaxResults', 1, 10) ?? 1;
    return {
      Results: b.moveTasks
        .filter((t) => t.sourceArn === source)
        .slice(0, max)
        .map((t) => ({
          TaskHandle: t.status === 'RUNNING' ? t.taskHandle : undefined,
          Status: t.status,
          SourceArn: t.sourceArn,
          DestinationArn: t.destinationArn,
          MaxNumberOfMessagesPerSecond: t.maxPerSecond,
          ApproximateNumberOfMessagesMoved: t.moved,
          ApproximateNumberOfMessagesToMove: t.toMove,
          FailureReason: t.failureReason,
          StartedTimestamp: t.started,
        })),
    };
  },
  ListQueueTags: (b, i) => {
    b.byUrl(i.QueueUrl);
    return { Tags: {} };
  },
} satisfies Record<string, Action>;

export const unknownSqsAction = (action: string) =>
  new AwsError('InvalidAction', `The action ${action} is not valid for this endpoint.`, 400, 'InvalidAction');

// ---- Query protocol: form parameters in, XML out ----

const NUMERIC = new Set([
  'MaxNumberOfMessages',
  'VisibilityTimeout',
  'WaitTimeSeconds',
  'DelaySeconds',
  'MaxResults',
  'MaxNumberOfMessagesPerSecond',
]);

/**
 * Turns `Attribute.1.Name=...` style parameters into the JSON protocol's input shape. Every
 * object is built without a prototype, and a parameter whose name has a segment such as
 * `__proto__` or `constructor` is refused with the parameter named.
 */
export function queryToInput(params: URLSearchParams): Input {
  const tree: Input = Object.create(null);
  for (const [key, value] of params) {
    if (key === 'Action' || key === 'Version') continue;
    const path = key.split('.');
    let node: Input = tree;
    for (let i = 0; i < path.length; i++) {
      const raw = path[i]!;
      if (PROTOTYPE_KEYS.has(raw)) throw reservedParameter(key);
      const seg = /^\d+$/.test(raw) ? String(Number(raw) - 1) : raw;
      if (i === path.length - 1) node[seg] = value;
      else {
        const next: unknown = node[seg];
        if (next !== undefined && (next === null || typeof next !== 'object'))
          throw sqsError.invalidParam(
            `Value for parameter ${key} is invalid. Reason: ${path.slice(0, i + 1).join('.')} has a value and members.`,
          );
        node = (next as Input | undefined) ?? (node[seg] = Object.create(null));
      }
    }
  }
  try {
    return safeCopy(normalize(tree)) as Input;
  } catch (e) {
    if (e instanceof UnsafeKeyError) throw reservedParameter(e.field);
    throw e;
  }
}

const reservedParameter = (name: string) =>
  sqsError.invalidParam(
    `Value for parameter ${name} is invalid. Reason: ${name.split('.').find((s) => PROTOTYPE_KEYS.has(s)) ?? name} is a reserved name.`,
  );

const list = (v: Input): Input[] =>
  Object.keys(v)
    .filter((k) => /^\d+$/.test(k))
    .sort((a, b) => Number(a) - Number(b))
    .map((k) => v[k]);

function normalize(node: Input): Input {
  const out: Input = {};
  for (const [k, v] of Object.entries(node)) {
    if (k === 'Attribute' || k === 'MessageSystemAttribute') {
      out[k === 'Attribute' ? 'Attributes' : 'MessageSystemAttributes'] = Object.fromEntries(
        list(v).map((e) => [e.Name, k === 'Attribute' ? e.Value : e.Value]),
      );
    } else if (k === 'MessageAttribute') {
      out.MessageAttributes = Object.fromEntries(list(v).map((e) => [e.Name, e.Value]));
    } else if (k === 'AttributeName' || k === 'MessageAttributeName' || k === 'MessageSystemAttributeName' || k === 'TagKey') {
      out[`${k}s`] = list(v);
    } else if (k.endsWith('BatchRequestEntry')) {
      out.Entries = list(v).map(normalize);
    } else if (k === 'Tag') {
      out.Tags = Object.fromEntries(list(v).map((e) => [e.Key, e.Value]));
    } else if (NUMERIC.has(k) && typeof v === 'string') {
      out[k] = v === '' ? undefined : Number(v);
    } else {
      out[k] = v;
    }
  }
  return out;
}

const esc = (s: string) =>
  s.replace(/[&<>"'\r]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;', '\r': '&#xD;' })[c]!);

/** Element names of list members in query XML, by JSON field. */
const MEMBER: Record<string, string> = {
  Messages: 'Message',
  QueueUrls: 'QueueUrl',
  queueUrls: 'QueueUrl',
  Results: 'ListMessageMoveTasksResultEntry',
  Failed: 'BatchResultErrorEntry',
};

function xmlValue(key: string, v: unknown, action: string): string {
  if (v === undefined || v === null) return '';
  if (Array.isArray(v)) {
    const member = key === 'Successful' ? `${action}ResultEntry` : (MEMBER[key] ?? key);
    return v.map((x) => `<${member}>${typeof x === 'object' ? xmlFields(x as Output, action) : esc(String(x))}</${member}>`).join('');
  }
  if (key === 'Attributes') {
    return Object.entries(v as Record<string, string>)
      .map(([n, x]) => `<Attribute><Name>${esc(n)}</Name><Value>${esc(x)}</Value></Attribute>`)
      .join('');
  }
  if (key === 'MessageAttributes') {
    return Object.entries(v as Record<string, MessageAttributeValue>)
      .map(
        ([n, x]) =>
          `<MessageAttribute><Name>${esc(n)}</Name><Value>${xmlFields(x as unknown as Output, action)}</Value></MessageAttribute>`,
      )
      .join('');
  }
  if (key === 'Tags') {
    return Object.entries(v as Record<string, string>)
      .map(([n, x]) => `<Tag><Key>${esc(n)}</Key><Value>${esc(x)}</Value></Tag>`)
      .join('');
  }
  if (typeof v === 'object') return `<${key}>${xmlFields(v as Output, action)}</${key}>`;
  return `<${key}>${esc(String(v))}</${key}>`;
}

function xmlFields(o: Output, action: string): string {
  return Object.entries(o)
    .map(([k, v]) => xmlValue(k, v, action))
    .join('');
}

const NS = 'http://queue.amazonaws.com/doc/2012-11-05/';

export function outputToXml(action: string, output: Output, requestId: string): string {
  return `<?xml version="1.0"?><${action}Response xmlns="${NS}"><${action}Result>${xmlFields(output, action)}</${action}Result><ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${action}Response>`;
}

export function errorToXml(err: AwsError, requestId: string): string {
  return `<?xml version="1.0"?><ErrorResponse xmlns="${NS}"><Error><Type>${err.fault}</Type><Code>${esc(err.queryCode ?? err.code)}</Code><Message>${esc(err.message)}</Message><Detail/></Error><RequestId>${requestId}</RequestId></ErrorResponse>`;
}

const ENTRY: Shape = {
  Id: 's',
  MessageBody: 's',
  DelaySeconds: 'i',
  MessageAttributes: 'A',
  MessageSystemAttributes: 'A',
  MessageDeduplicationId: 's',
  MessageGroupId: 's',
  ReceiptHandle: 's',
  VisibilityTimeout: 'i',
};
const Q: Shape = { QueueUrl: 's' };

/** Member types of each operation's input, in both protocols; see http/shapes.ts. */
export const SQS_SHAPES: Record<keyof typeof SQS_ACTIONS, Shape> = {
  CreateQueue: { QueueName: 's', Attributes: 'M', tags: 'M' },
  DeleteQueue: Q,
  GetQueueUrl: { QueueName: 's', QueueOwnerAWSAccountId: 's' },
  ListQueues: { QueueNamePrefix: 's', NextToken: 's', MaxResults: 'i' },
  GetQueueAttributes: { ...Q, AttributeNames: 'S' },
  SetQueueAttributes: { ...Q, Attributes: 'M' },
  PurgeQueue: Q,
  SendMessage: { ...Q, ...ENTRY },
  SendMessageBatch: { ...Q, Entries: [ENTRY] },
  ReceiveMessage: {
    ...Q,
    AttributeNames: 'S',
    MessageSystemAttributeNames: 'S',
    MessageAttributeNames: 'S',
    MaxNumberOfMessages: 'i',
    VisibilityTimeout: 'i',
    WaitTimeSeconds: 'i',
    ReceiveRequestAttemptId: 's',
  },
  DeleteMessage: { ...Q, ReceiptHandle: 's' },
  DeleteMessageBatch: { ...Q, Entries: [ENTRY] },
  ChangeMessageVisibility: { ...Q, ReceiptHandle: 's', VisibilityTimeout: 'i' },
  ChangeMessageVisibilityBatch: { ...Q, Entries: [ENTRY] },
  ListDeadLetterSourceQueues: { ...Q, NextToken: 's', MaxResults: 'i' },
  StartMessageMoveTask: { SourceArn: 's', DestinationArn: 's', MaxNumberOfMessagesPerSecond: 'i' },
  CancelMessageMoveTask: { TaskHandle: 's' },
  ListMessageMoveTasks: { SourceArn: 's', MaxResults: 'i' },
  ListQueueTags: Q,
};
