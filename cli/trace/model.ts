/**
 * Pure reconstruction for `trace` and `audit`: CloudTrail records and Powertools log lines in,
 * a transaction tree or an audit report out. No I/O here, so both are tested on recorded shapes.
 */
import { isRecord } from '../input';
import type { LogLine } from './sources';

/** The parts of a CloudTrail record these commands read. */
export interface TrailRecord {
  readonly eventTime: string;
  readonly eventSource: string;
  readonly eventName: string;
  readonly userIdentity: { readonly type?: string; readonly arn?: string; readonly invokedBy?: string; readonly principalId?: string };
  readonly errorCode?: string;
  readonly errorMessage?: string;
  readonly requestParameters?: unknown;
  readonly responseElements?: unknown;
  readonly eventID?: string;
  readonly sourceIPAddress?: string;
}

export function parseTrailRecord(message: string): TrailRecord | undefined {
  try {
    const v = JSON.parse(message) as unknown;
    if (!isRecord(v) || typeof v.eventName !== 'string' || typeof v.eventSource !== 'string' || typeof v.eventTime !== 'string')
      return undefined;
    return { ...v, userIdentity: isRecord(v.userIdentity) ? v.userIdentity : {} } as TrailRecord;
  } catch {
    return undefined;
  }
}

/** Who made a call, in one readable string: the role session ARN, user ARN, root or service. */
export function principalOf(r: TrailRecord): string {
  const u = r.userIdentity;
  if (u.type === 'AWSService') return u.invokedBy ?? 'AWS service';
  return u.arn ?? u.principalId ?? 'unknown';
}

/** The role behind an assumed-role session (`.../assumed-role/Role/session` -> `Role`), else the principal. */
export function principalGroup(r: TrailRecord): string {
  const p = principalOf(r);
  const m = /^arn:aws[\w-]*:sts::(\d{12}):assumed-role\/([^/]+)\//.exec(p);
  return m ? `arn:aws:iam::${m[1]}:role/${m[2]}` : p;
}

interface PutEntry {
  readonly source?: string;
  readonly detailType?: string;
  readonly eventBusName?: string;
  readonly detail?: unknown;
}

/** The entries of a PutEvents record paired with the event ids AWS returned for them. */
export function putEventsEntries(r: TrailRecord): { entry: PutEntry; eventId?: string; errorCode?: string }[] {
  const req = isRecord(r.requestParameters) && Array.isArray(r.requestParameters.entries) ? r.requestParameters.entries : [];
  const res = isRecord(r.responseElements) && Array.isArray(r.responseElements.entries) ? r.responseElements.entries : [];
  return req.map((e: unknown, i: number) => {
    const out = res[i] as unknown;
    const entry = isRecord(e) ? (e as PutEntry) : {};
    return {
      entry,
      ...(isRecord(out) && typeof out.eventId === 'string' ? { eventId: out.eventId } : {}),
      ...(isRecord(out) && typeof out.errorCode === 'string' ? { errorCode: out.errorCode } : {}),
    };
  });
}

/** A Powertools JSON log line of a consumer. */
export interface FunctionLine {
  readonly group: string;
  readonly timestamp: number;
  readonly level: string;
  readonly message: string;
  readonly correlationId?: string;
  readonly causationId?: string;
  readonly eventId?: string;
  readonly detailType?: string;
  readonly messageId?: string;
  readonly receiveCount?: number;
  readonly requestId?: string;
  readonly raw: Record<string, unknown>;
}

export function parseFunctionLine(l: LogLine): FunctionLine | undefined {
  try {
    const v = JSON.parse(l.message) as unknown;
    if (!isRecord(v) || typeof v.message !== 'string') return undefined;
    const s = (k: string) => (typeof v[k] === 'string' ? (v[k] as string) : undefined);
    const rc = Number(v.receiveCount);
    return {
      group: l.group,
      timestamp: l.timestamp,
      level: s('level') ?? 'INFO',
      message: v.message,
      ...(s('correlationId') ? { correlationId: s('correlationId') } : {}),
      ...(s('causationId') ? { causationId: s('causationId') } : {}),
      ...(s('eventId') ? { eventId: s('eventId') } : {}),
      ...(s('detailType') ? { detailType: s('detailType') } : {}),
      ...(s('messageId') ? { messageId: s('messageId') } : {}),
      ...(Number.isFinite(rc) && v.receiveCount !== undefined ? { receiveCount: rc } : {}),
      ...(s('function_request_id') ? { requestId: s('function_request_id') } : {}),
      raw: v,
    };
  } catch {
    return undefined;
  }
}

export type Outcome = 'processed' | 'duplicate' | 'failed' | 'unknown';

export interface Attempt {
  readonly consumer: string;
  readonly messageId?: string;
  readonly receiveCount?: number;
  readonly requestId?: string;
  readonly start: string;
  readonly durationMs: number;
  readonly outcome: Outcome;
  readonly lines: readonly { readonly time: string; readonly level: string; readonly message: string }[];
}

export interface TraceEvent {
  readonly eventId: string;
  readonly detailType?: string;
  readonly source?: string;
  readonly publishedBy?: string;
  readonly publishedAt?: string;
  readonly causationId?: string;
  readonly attempts: readonly Attempt[];
  /** Rules of the bus that match the event now, with their targets (`trace` asks the bus; see rules.ts). */
  readonly rules?: readonly { readonly name: string; readonly targets: readonly string[] }[];
  /** Dead-letter queues holding this event (by name). */
  readonly deadLettered: readonly string[];
  /** Milliseconds from publication to the first successful processing. */
  readonly latencyMs?: number;
  readonly caused: readonly TraceEvent[];
}

export interface Trace {
  readonly correlationId?: string;
  readonly roots: readonly TraceEvent[];
  readonly eventCount: number;
}

/** A message found in a dead-letter queue, reduced to what the tree needs. */
export interface DeadLetter {
  readonly queue: string;
  readonly eventId?: string;
  readonly correlationId?: string;
}

const iso = (t: number) => new Date(t).toISOString();
const consumerOf = (group: string) => group.split('/').pop() ?? group;

function outcomeOf(lines: readonly FunctionLine[]): Outcome {
  if (lines.some((l) => l.message === 'Event processed')) return 'processed';
  if (lines.some((l) => /duplicate/i.test(l.message))) return 'duplicate';
  if (lines.some((l) => l.level === 'ERROR' || l.level === 'CRITICAL')) return 'failed';
  return 'unknown';
}

/**
 * The transaction tree: events (from function lines and PutEvents records), each with who
 * published it, every attempt to process it (grouped by consumer, message and receive), its
 * dead-letter copies, and the events it caused (by causationId).
 */
export function buildTrace(input: {
  records: readonly TrailRecord[];
  lines: readonly FunctionLine[];
  deadLetters: readonly DeadLetter[];
  correlationId?: string;
}): Trace {
  interface Acc {
    eventId: string;
    detailType?: string;
    source?: string;
    publishedBy?: string;
    publishedAt?: number;
    causationId?: string;
    lines: FunctionLine[];
  }
  const events = new Map<string, Acc>();
  const get = (id: string) => {
    let e = events.get(id);
    if (!e) {
      e = { eventId: id, lines: [] };
      events.set(id, e);
    }
    return e;
  };
  for (const l of input.lines) {
    if (!l.eventId) continue;
    const e = get(l.eventId);
    e.lines.push(l);
    e.detailType ??= l.detailType;
    e.causationId ??= l.causationId;
  }
  // Publications: only those of events we know, or that carry the correlation id in their detail.
  for (const r of input.records) {
    if (r.eventName !== 'PutEvents') continue;
    for (const { entry, eventId } of putEventsEntries(r)) {
      if (!eventId) continue;
      const detail = typeof entry.detail === 'string' ? safeJson(entry.detail) : entry.detail;
      const meta = isRecord(detail) && isRecord(detail.metadata) ? detail.metadata : undefined;
      const belongs = events.has(eventId) || (input.correlationId !== undefined && meta?.correlationId === input.correlationId);
      if (!belongs) continue;
      const e = get(eventId);
      e.publishedBy = principalOf(r);
      e.publishedAt = Date.parse(r.eventTime);
      e.detailType ??= entry.detailType;
      e.source = entry.source;
      if (typeof meta?.causationId === 'string') e.causationId ??= meta.causationId;
    }
  }
  const children = new Map<string, string[]>();
  for (const e of events.values()) {
    if (e.causationId && events.has(e.causationId) && e.causationId !== e.eventId) {
      children.set(e.causationId, [...(children.get(e.causationId) ?? []), e.eventId]);
    }
  }
  const build = (id: string, seen: Set<string>): TraceEvent => {
    const e = events.get(id)!;
    const groups = new Map<string, FunctionLine[]>();
    for (const l of [...e.lines].sort((a, b) => a.timestamp - b.timestamp)) {
      const key = `${l.group}|${l.messageId ?? ''}|${l.receiveCount ?? ''}`;
      groups.set(key, [...(groups.get(key) ?? []), l]);
    }
    const attempts: Attempt[] = [...groups.values()].map((ls) => ({
      consumer: consumerOf(ls[0]!.group),
      ...(ls[0]!.messageId ? { messageId: ls[0]!.messageId } : {}),
      ...(ls[0]!.receiveCount !== undefined ? { receiveCount: ls[0]!.receiveCount } : {}),
      ...(ls.find((l) => l.requestId)?.requestId ? { requestId: ls.find((l) => l.requestId)!.requestId } : {}),
      start: iso(ls[0]!.timestamp),
      durationMs: ls[ls.length - 1]!.timestamp - ls[0]!.timestamp,
      outcome: outcomeOf(ls),
      lines: ls.map((l) => ({ time: iso(l.timestamp), level: l.level, message: l.message })),
    }));
    attempts.sort((a, b) => a.start.localeCompare(b.start));
    const firstOk = attempts.find((a) => a.outcome === 'processed');
    const next = new Set(seen).add(id);
    return {
      eventId: id,
      ...(e.detailType ? { detailType: e.detailType } : {}),
      ...(e.source ? { source: e.source } : {}),
      ...(e.publishedBy ? { publishedBy: e.publishedBy } : {}),
      ...(e.publishedAt !== undefined ? { publishedAt: iso(e.publishedAt) } : {}),
      ...(e.causationId ? { causationId: e.causationId } : {}),
      attempts,
      deadLettered: input.deadLetters.filter((d) => d.eventId === id).map((d) => d.queue),
      ...(firstOk && e.publishedAt !== undefined ? { latencyMs: Date.parse(firstOk.start) - e.publishedAt } : {}),
      caused: (children.get(id) ?? []).filter((c) => !next.has(c)).map((c) => build(c, next)),
    };
  };
  const roots = [...events.values()]
    .filter((e) => !e.causationId || !events.has(e.causationId) || e.causationId === e.eventId)
    .sort((a, b) => (a.publishedAt ?? a.lines[0]?.timestamp ?? 0) - (b.publishedAt ?? b.lines[0]?.timestamp ?? 0))
    .map((e) => build(e.eventId, new Set()));
  return { ...(input.correlationId ? { correlationId: input.correlationId } : {}), roots, eventCount: events.size };
}

function safeJson(s: string): unknown {
  try {
    return JSON.parse(s) as unknown;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Audit

/** EventBridge calls that change routing or access: rules, targets, bus policy, archives, replays. */
export const CHANGE_EVENTS: readonly string[] = [
  'PutRule',
  'DeleteRule',
  'EnableRule',
  'DisableRule',
  'PutTargets',
  'RemoveTargets',
  'PutPermission',
  'RemovePermission',
  'CreateEventBus',
  'UpdateEventBus',
  'DeleteEventBus',
  'CreateArchive',
  'UpdateArchive',
  'DeleteArchive',
  'StartReplay',
  'CancelReplay',
];

export interface AuditReport {
  readonly from: string;
  readonly to: string;
  readonly publishers: readonly {
    readonly principal: string;
    readonly eventTypes: readonly {
      readonly source: string;
      readonly detailType: string;
      readonly count: number;
      readonly failed: number;
    }[];
  }[];
  readonly denied: readonly {
    readonly principal: string;
    readonly eventSource: string;
    readonly eventName: string;
    readonly errorCode: string;
    readonly count: number;
    readonly last: string;
    readonly example?: string;
  }[];
  readonly changes: readonly {
    readonly time: string;
    readonly principal: string;
    readonly eventName: string;
    readonly target?: string;
    readonly errorCode?: string;
  }[];
}

const isDenied = (r: TrailRecord) => /^(AccessDenied|UnauthorizedOperation|Client\.UnauthorizedOperation)/.test(r.errorCode ?? '');

/** What changed and who published what, from the trail's records of the window. */
export function buildAudit(records: readonly TrailRecord[], from: Date, to: Date): AuditReport {
  const publishers = new Map<string, Map<string, { source: string; detailType: string; count: number; failed: number }>>();
  const denied = new Map<
    string,
    { principal: string; eventSource: string; eventName: string; errorCode: string; count: number; last: string; example?: string }
  >();
  const changes: AuditReport['changes'][number][] = [];
  for (const r of records) {
    const principal = principalGroup(r);
    if (isDenied(r)) {
      const key = `${principal}|${r.eventSource}|${r.eventName}|${r.errorCode}`;
      const d = denied.get(key) ?? {
        principal,
        eventSource: r.eventSource,
        eventName: r.eventName,
        errorCode: r.errorCode!,
        count: 0,
        last: r.eventTime,
      };
      d.count++;
      if (r.eventTime > d.last) d.last = r.eventTime;
      if (r.errorMessage && !d.example) d.example = r.errorMessage.slice(0, 300);
      denied.set(key, d);
    }
    if (r.eventSource === 'events.amazonaws.com' && r.eventName === 'PutEvents' && !r.errorCode) {
      const types = publishers.get(principal) ?? new Map();
      for (const { entry, eventId, errorCode } of putEventsEntries(r)) {
        const key = `${entry.source ?? '?'}|${entry.detailType ?? '?'}`;
        const t = types.get(key) ?? { source: entry.source ?? '?', detailType: entry.detailType ?? '?', count: 0, failed: 0 };
        if (eventId) t.count++;
        else if (errorCode) t.failed++;
        else t.count++;
        types.set(key, t);
      }
      publishers.set(principal, types);
    }
    if (r.eventSource === 'events.amazonaws.com' && CHANGE_EVENTS.includes(r.eventName)) {
      const p = isRecord(r.requestParameters) ? r.requestParameters : {};
      const target = [p.name, p.rule, p.archiveName, p.replayName, p.eventBusName, p.statementId].find((x) => typeof x === 'string') as
        | string
        | undefined;
      changes.push({
        time: r.eventTime,
        principal: principalOf(r),
        eventName: r.eventName,
        ...(target ? { target } : {}),
        ...(r.errorCode ? { errorCode: r.errorCode } : {}),
      });
    }
  }
  return {
    from: from.toISOString(),
    to: to.toISOString(),
    publishers: [...publishers.entries()]
      .map(([principal, types]) => ({
        principal,
        eventTypes: [...types.values()].sort((a, b) => b.count - a.count || a.detailType.localeCompare(b.detailType)),
      }))
      .sort((a, b) => a.principal.localeCompare(b.principal)),
    denied: [...denied.values()].sort((a, b) => b.count - a.count || a.principal.localeCompare(b.principal)),
    changes: changes.sort((a, b) => a.time.localeCompare(b.time)),
  };
}
