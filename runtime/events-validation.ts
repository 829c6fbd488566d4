/**
 * PutEvents validation as a pure function: every entry of a request is checked (and its
 * event built) before any is delivered, so a request never delivers some entries and then
 * fails. Whole-request problems throw a ValidationException; entry problems come back in
 * that entry, as EventBridge reports them.
 * https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html
 */
import { randomUUID } from 'node:crypto';
import { validation } from './errors';

/** Entry size limit of one PutEvents request: 1 MiB since January 2026 (was 256 KiB). */
export const PUT_EVENTS_MAX_BYTES = 1024 * 1024;
export const PUT_EVENTS_MAX_ENTRIES = 10;
/**
 * Deepest nesting of a Detail the local runtime accepts. EventBridge documents no such limit;
 * the pattern engine and input transformers recurse into the event, so the runtime refuses
 * deeper details per entry (MalformedDetail) instead of failing the request.
 */
export const PUT_EVENTS_MAX_DETAIL_DEPTH = 1000;

/** An event as EventBridge delivers it to targets. https://docs.aws.amazon.com/eventbridge/latest/ref/overiew-event-structure.html */
export interface EventBridgeEvent {
  version: '0';
  id: string;
  'detail-type': string;
  source: string;
  account: string;
  /** ISO 8601 without milliseconds: 2026-01-01T00:00:00Z */
  time: string;
  region: string;
  resources: string[];
  detail: Record<string, unknown>;
  /** Set on events sent again by a replay. */
  'replay-name'?: string;
}

export interface PutEventsEntry {
  Source?: unknown;
  DetailType?: unknown;
  Detail?: unknown;
  Resources?: unknown;
  Time?: unknown;
  EventBusName?: unknown;
  TraceHeader?: unknown;
}

export interface PutEventsResultEntry {
  EventId?: string;
  ErrorCode?: string;
  ErrorMessage?: string;
}

/** One entry after validation: an event ready to ingest on a bus, or the entry's error. */
export type ValidatedEntry =
  | { ok: true; busName: string; busArn: string; event: EventBridgeEvent; sizeBytes: number }
  | { ok: false; ErrorCode: string; ErrorMessage: string; source?: string; detailType?: string };

export interface PutEventsContext {
  accountId: string;
  region: string;
  /** Clock time of the request (ms). */
  now: number;
  /** The bus an EventBusName (name or ARN, absent for `default`) names, if it exists. */
  resolveBus(nameOrArn: unknown): { name: string; arn: string } | undefined;
  /** @default randomUUID */
  newId?: () => string;
}

/** The bus name an EventBusName stands for: a name, an ARN's last part, or `default` when absent. */
export function busNameFrom(nameOrArn: unknown): string {
  const s = nameOrArn === undefined || nameOrArn === null || nameOrArn === '' ? 'default' : String(nameOrArn);
  return s.startsWith('arn:') && s.includes(':event-bus/') ? s.slice(s.indexOf(':event-bus/') + 11) : s;
}

/** `2026-01-01T00:00:00Z`; undefined for a time a Date cannot hold. */
export function eventTime(ms: number): string | undefined {
  if (!Number.isFinite(ms) || Math.abs(ms) > 8.64e15) return undefined;
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Size EventBridge counts for an entry. https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevent-size.html */
export function entrySize(e: PutEventsEntry): number {
  let n = e.Time !== undefined ? 14 : 0;
  for (const f of [e.Source, e.DetailType, e.Detail]) if (typeof f === 'string') n += Buffer.byteLength(f);
  if (Array.isArray(e.Resources)) for (const r of e.Resources) n += Buffer.byteLength(String(r));
  return n;
}

/** Nesting depth of a JSON text, without parsing or recursing; stops counting past `limit`. */
export function jsonDepth(text: string, limit: number): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (++depth > max) max = depth;
      if (max > limit) return max;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return max;
}

/** Whole-request checks: entry count and total size. Throws a ValidationException. */
export function validatePutEventsRequest(entries: unknown): PutEventsEntry[] {
  if (!Array.isArray(entries) || entries.length === 0) {
    throw validation("1 validation error detected: Value null at 'entries' failed to satisfy constraint: Member must not be null");
  }
  if (entries.length > PUT_EVENTS_MAX_ENTRIES) {
    throw validation(
      `1 validation error detected: Value '[${entries.length} entries]' at 'entries' failed to satisfy constraint: Member must have length less than or equal to ${PUT_EVENTS_MAX_ENTRIES}`,
    );
  }
  const list = entries.map((e: unknown) => (e !== null && typeof e === 'object' && !Array.isArray(e) ? (e as PutEventsEntry) : {}));
  const total = list.reduce((n, e) => n + entrySize(e), 0);
  if (total > PUT_EVENTS_MAX_BYTES) {
    throw validation(`Total size of the entries in the request is over the limit (${total} bytes, limit ${PUT_EVENTS_MAX_BYTES}).`);
  }
  return list;
}

/** Checks one entry and builds its event. Never throws. */
export function validatePutEventsEntry(e: PutEventsEntry, ctx: PutEventsContext): ValidatedEntry {
  const source = typeof e.Source === 'string' ? e.Source : undefined;
  const detailType = typeof e.DetailType === 'string' ? e.DetailType : undefined;
  const fail = (ErrorCode: string, ErrorMessage: string): ValidatedEntry => ({ ok: false, ErrorCode, ErrorMessage, source, detailType });
  const invalid = (field: string, reason: string) => fail('InvalidArgument', `Parameter ${field} is not valid. Reason: ${reason}`);
  for (const f of ['Source', 'DetailType', 'Detail'] as const) {
    const v = e[f];
    if (typeof v !== 'string' || v.length === 0) return invalid(f, `${f} is a required argument.`);
  }
  if (source === undefined || detailType === undefined || typeof e.Detail !== 'string')
    return invalid('Source', 'Source is a required argument.');
  if (source.length > 256) return invalid('Source', 'Provided Source must not exceed 256 characters.');
  if (detailType.length > 128) return invalid('DetailType', 'Provided DetailType must not exceed 128 characters.');
  if (source.startsWith('aws.')) return fail('NotAuthorizedForSourceException', `Not authorized for the source ${source}.`);
  if (jsonDepth(e.Detail, PUT_EVENTS_MAX_DETAIL_DEPTH) > PUT_EVENTS_MAX_DETAIL_DEPTH) {
    return fail(
      'MalformedDetail',
      `Detail is malformed: it nests deeper than ${PUT_EVENTS_MAX_DETAIL_DEPTH} levels (a local runtime limit).`,
    );
  }
  let detail: unknown;
  try {
    detail = JSON.parse(e.Detail);
  } catch {
    return fail('MalformedDetail', 'Detail is malformed.');
  }
  if (typeof detail !== 'object' || detail === null || Array.isArray(detail)) return fail('MalformedDetail', 'Detail is malformed.');
  const bus = ctx.resolveBus(e.EventBusName);
  if (!bus) return fail('ResourceNotFoundException', `Event bus ${busNameFrom(e.EventBusName)} does not exist.`);
  if (e.Resources !== undefined && (!Array.isArray(e.Resources) || e.Resources.some((x) => typeof x !== 'string'))) {
    return invalid('Resources', 'Resources must be a list of strings.');
  }
  let ms = ctx.now;
  if (e.Time !== undefined) {
    const t =
      e.Time instanceof Date
        ? e.Time.getTime()
        : typeof e.Time === 'number'
          ? e.Time * 1000
          : typeof e.Time === 'string'
            ? Date.parse(e.Time)
            : NaN;
    if (eventTime(t) === undefined) return invalid('Time', 'Time is not a valid timestamp.');
    ms = t;
  }
  const event: EventBridgeEvent = {
    version: '0',
    id: (ctx.newId ?? randomUUID)(),
    'detail-type': detailType,
    source,
    account: ctx.accountId,
    time: eventTime(ms) as string,
    region: ctx.region,
    resources: (e.Resources as string[] | undefined) ?? [],
    detail: detail as Record<string, unknown>,
  };
  return { ok: true, busName: bus.name, busArn: bus.arn, event, sizeBytes: entrySize(e) };
}

/** Validates a whole PutEvents request: throws for the request, or returns one result per entry. */
export function validatePutEvents(entries: unknown, ctx: PutEventsContext): ValidatedEntry[] {
  return validatePutEventsRequest(entries).map((e) => validatePutEventsEntry(e, ctx));
}
