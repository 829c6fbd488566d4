/**
 * Reading state files as hostile input: every record is rebuilt field by field from what
 * JSON.parse gave, with types and sizes checked, so a damaged or crafted file can neither
 * crash the runtime nor put anything but plain, expected values into its state. Keys come
 * back only as Map keys or as own properties of null-prototype objects, never as `__proto__`
 * writes.
 */
import type { ArchivedEvent } from '../events-archive';
import type { EventBridgeEvent } from '../events-validation';
import type { MessageAttributeValue } from '../sqs-attributes';
import { QUEUE_ATTRIBUTE_NAMES } from '../sqs-attributes';
import type { QueueContents, SqsMessage } from '../sqs-queue';
import type { TargetDef } from '../template';

/** A file or record that cannot be read; the message says which field. */
export class StateFormatError extends Error {}

type Json = Record<string, unknown>;

const MESSAGE_STATES = new Set(['delayed', 'ready', 'inflight', 'gone']);
/** Longest string field other than bodies and events (names, ids, ARNs, handles). */
const MAX_FIELD = 4096;
/** A message body with its attributes is at most 256 KiB in SQS; allow for JSON escaping. */
const MAX_BODY = 2 * 1024 * 1024;

export function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(o: Json, k: string, max = MAX_FIELD): string {
  const v = o[k];
  if (typeof v !== 'string' || v.length > max) throw new StateFormatError(`${k} is not a string of at most ${max} characters`);
  return v;
}

function optStr(o: Json, k: string, max = MAX_FIELD): string | undefined {
  return o[k] === undefined || o[k] === null ? undefined : str(o, k, max);
}

function num(o: Json, k: string): number {
  const v = o[k];
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new StateFormatError(`${k} is not a finite number`);
  return v;
}

function optNum(o: Json, k: string): number | undefined {
  return o[k] === undefined || o[k] === null ? undefined : num(o, k);
}

/** A string-to-string record with a null prototype, keys and values checked. */
export function stringRecord(v: unknown, what: string, allowed?: (k: string) => boolean): Record<string, string> {
  if (!isObject(v)) throw new StateFormatError(`${what} is not an object`);
  const out = Object.create(null) as Record<string, string>;
  for (const [k, x] of Object.entries(v)) {
    if (typeof x !== 'string' || x.length > MAX_BODY || k.length > 256)
      throw new StateFormatError(`${what}.${k.slice(0, 64)} is not a string`);
    if (allowed && !allowed(k)) throw new StateFormatError(`${what} names an unknown key ${JSON.stringify(k.slice(0, 64))}`);
    out[k] = x;
  }
  return out;
}

/** Queue attributes a CreateQueue or SetQueueAttributes accepts (read-write ones only). */
export function queueAttributes(v: unknown): Record<string, string> {
  return stringRecord(
    v,
    'attributes',
    (k) => Object.prototype.hasOwnProperty.call(QUEUE_ATTRIBUTE_NAMES, k) && QUEUE_ATTRIBUTE_NAMES[k] === 'rw',
  );
}

function messageAttributes(v: unknown): Record<string, MessageAttributeValue> {
  if (v === undefined) return {};
  if (!isObject(v)) throw new StateFormatError('attributes is not an object');
  const out = Object.create(null) as Record<string, MessageAttributeValue>;
  for (const [k, x] of Object.entries(v)) {
    if (!isObject(x) || k.length > 256) throw new StateFormatError(`attribute ${k.slice(0, 64)} is not an object`);
    const a: MessageAttributeValue = { DataType: str(x, 'DataType', 256) };
    const sv = optStr(x, 'StringValue', MAX_BODY);
    const bv = optStr(x, 'BinaryValue', MAX_BODY);
    if (sv !== undefined) a.StringValue = sv;
    if (bv !== undefined) a.BinaryValue = bv;
    out[k] = a;
  }
  return out;
}

/** One message as the journal or snapshot holds it. */
export function message(v: unknown): SqsMessage {
  if (!isObject(v)) throw new StateFormatError('message is not an object');
  const state = str(v, 'state', 16);
  if (!MESSAGE_STATES.has(state)) throw new StateFormatError(`state ${JSON.stringify(state)} is not a message state`);
  const seq = optStr(v, 'sequenceNumber', 40);
  if (seq !== undefined && !/^\d{1,40}$/.test(seq)) throw new StateFormatError('sequenceNumber is not a number');
  return {
    messageId: str(v, 'messageId', 128),
    body: str(v, 'body', MAX_BODY),
    md5OfBody: str(v, 'md5OfBody', 64),
    attributes: messageAttributes(v.attributes),
    md5OfAttributes: optStr(v, 'md5OfAttributes', 64),
    sentTimestamp: num(v, 'sentTimestamp'),
    firstReceiveTimestamp: optNum(v, 'firstReceiveTimestamp'),
    receiveCount: num(v, 'receiveCount'),
    receivesAtArrival: num(v, 'receivesAtArrival'),
    senderId: str(v, 'senderId', 256),
    groupId: optStr(v, 'groupId', 256),
    dedupId: optStr(v, 'dedupId', 256),
    sequenceNumber: seq,
    deadLetterSourceArn: optStr(v, 'deadLetterSourceArn'),
    state: state as SqsMessage['state'],
    gen: 0,
    receiptHandle: optStr(v, 'receiptHandle'),
    visibleAt: num(v, 'visibleAt'),
  };
}

/** The fields of a message that change after it is sent (receives, visibility, deletion). */
export interface MessageUpdate {
  messageId: string;
  state: SqsMessage['state'];
  receiveCount: number;
  firstReceiveTimestamp?: number;
  receiptHandle?: string;
  visibleAt: number;
}

export function messageUpdate(v: unknown): MessageUpdate {
  if (!isObject(v)) throw new StateFormatError('update is not an object');
  const state = str(v, 'state', 16);
  if (!MESSAGE_STATES.has(state)) throw new StateFormatError(`state ${JSON.stringify(state)} is not a message state`);
  return {
    messageId: str(v, 'messageId', 128),
    state: state as SqsMessage['state'],
    receiveCount: num(v, 'receiveCount'),
    firstReceiveTimestamp: optNum(v, 'firstReceiveTimestamp'),
    receiptHandle: optStr(v, 'receiptHandle'),
    visibleAt: num(v, 'visibleAt'),
  };
}

export function dedupEntries(v: unknown): QueueContents['dedup'] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw new StateFormatError('dedup is not an array');
  return v.map((e) => {
    if (!Array.isArray(e) || typeof e[0] !== 'string' || !isObject(e[1])) throw new StateFormatError('dedup entry is not [id, {...}]');
    const x = e[1];
    return [e[0].slice(0, 256), { at: num(x, 'at'), messageId: str(x, 'messageId', 128), seq: optStr(x, 'seq', 40) }];
  });
}

export function target(v: unknown): TargetDef {
  if (!isObject(v)) throw new StateFormatError('target is not an object');
  const t: TargetDef = { id: str(v, 'id', 64), arn: str(v, 'arn') };
  const input = optStr(v, 'input', 8192);
  const inputPath = optStr(v, 'inputPath', 256);
  const dlq = optStr(v, 'deadLetterArn');
  const group = optStr(v, 'sqsMessageGroupId', 128);
  if (input !== undefined) t.input = input;
  if (inputPath !== undefined) t.inputPath = inputPath;
  if (dlq !== undefined) t.deadLetterArn = dlq;
  if (group !== undefined) t.sqsMessageGroupId = group;
  if (v.inputTransformer !== undefined) {
    const it = v.inputTransformer;
    if (!isObject(it)) throw new StateFormatError('inputTransformer is not an object');
    t.inputTransformer = {
      inputTemplate: str(it, 'inputTemplate', 8192),
      ...(it.inputPathsMap === undefined ? {} : { inputPathsMap: stringRecord(it.inputPathsMap, 'inputPathsMap') }),
    };
  }
  if (v.retryPolicy !== undefined) {
    const rp = v.retryPolicy;
    if (!isObject(rp)) throw new StateFormatError('retryPolicy is not an object');
    t.retryPolicy = {
      maximumRetryAttempts: optNum(rp, 'maximumRetryAttempts'),
      maximumEventAgeInSeconds: optNum(rp, 'maximumEventAgeInSeconds'),
    };
  }
  return t;
}

/** An archived event: the event is kept as JSON text's value, its fields checked as PutEvents would produce them. */
export function archivedEvent(v: unknown): ArchivedEvent {
  if (!isObject(v) || !isObject(v.event)) throw new StateFormatError('archived event is not an object');
  const e = v.event;
  if (e.version !== '0') throw new StateFormatError('event version is not "0"');
  if (!isObject(e.detail)) throw new StateFormatError('event detail is not an object');
  const event: EventBridgeEvent = {
    version: '0',
    id: str(e, 'id', 128),
    'detail-type': str(e, 'detail-type', 1024),
    source: str(e, 'source', 1024),
    account: str(e, 'account', 32),
    time: str(e, 'time', 64),
    region: str(e, 'region', 64),
    resources: Array.isArray(e.resources) ? e.resources.filter((r): r is string => typeof r === 'string') : [],
    // The detail went through JSON.parse; its own `__proto__` keys are data, as PutEvents keeps them.
    detail: e.detail,
  };
  return { at: num(v, 'at'), event, size: num(v, 'size') };
}

export { num, optNum, optStr, str };
