/**
 * Runtime output: a subscriber of the event stream that prints one structured line per
 * event (`12:00:01.123 publish  bus=... id=...`), stamped with the clock's time, and the
 * functions' own output, a structured log record folded to its level, message and fields
 * (`12:00:01.130 [underwriting] INFO  Application approved applicationId=A-1`). Lines are
 * buffered and written once per tick, so the per-event path never blocks on a synchronous
 * write to a terminal or pipe.
 */
import type { AnyRuntimeEvent, EventStream, Subscription } from './stream';

export type LogSink = (line: string) => void;

type Fields = Record<string, string | number | boolean | undefined>;

const short = (arn: string) => arn.split(/[:/]/).pop() ?? arn;

/**
 * The line for one event: its kind (padded to a column) and fields, or a line printed even
 * when quiet (`always`), or nothing. Events that happen inside the runtime's own bookkeeping
 * (a queue created while the template is built) print nothing.
 */
export function formatEvent(e: AnyRuntimeEvent): { kind: string; fields: Fields } | { always: string } | undefined {
  switch (e.type) {
    case 'event.published': {
      const p = e.properties;
      return {
        kind: p.replayName ? 'replay' : 'publish',
        fields: { bus: p.busName, id: p.eventId, source: p.source, 'detail-type': p.detailType },
      };
    }
    case 'event.rejected':
      return { kind: 'reject', fields: { code: e.properties.errorCode, reason: e.properties.errorMessage } };
    case 'rule.matched': {
      const p = e.properties;
      return { kind: 'match', fields: { bus: p.busName, rule: p.ruleName, id: p.eventId, targets: p.targets } };
    }
    case 'event.unmatched':
      return { kind: 'nomatch', fields: { bus: e.properties.busName, id: e.properties.eventId } };
    case 'rule.put':
      // Only changes made through the API; the template's rules are listed in the topology.
      if (!e.request) return undefined;
      return { kind: 'rule', fields: { bus: e.properties.busName, rule: e.properties.ruleName, state: e.properties.state } };
    case 'target.delivered': {
      const p = e.properties;
      return { kind: 'deliver', fields: { rule: p.ruleName, target: short(p.targetArn), id: p.eventId, attempt: p.attempt } };
    }
    case 'target.skipped': {
      const p = e.properties;
      return { kind: 'skip', fields: { rule: p.ruleName, target: p.targetId, id: p.eventId, reason: p.reason } };
    }
    case 'target.failed': {
      const p = e.properties;
      return {
        kind: 'failure',
        fields: {
          rule: p.ruleName,
          target: short(p.targetArn),
          id: p.eventId,
          attempt: p.attempt,
          code: p.errorCode,
          reason: p.errorMessage,
        },
      };
    }
    case 'target.dead-lettered': {
      const p = e.properties;
      return {
        kind: 'dlq',
        fields: { rule: p.ruleName, target: p.targetId, to: short(p.deadLetterQueueArn), id: p.eventId, code: p.errorCode },
      };
    }
    case 'delivery.unauthorized': {
      // Enforced, the failure and dead-letter lines that follow say it; in warn mode this line is the only trace.
      const p = e.properties;
      if (p.mode === 'enforce') return undefined;
      return {
        kind: 'iam-warn',
        fields: {
          rule: p.ruleName,
          [p.purpose === 'target' ? 'target' : 'dlq']: short(p.queueArn),
          id: p.eventId,
          denied: `${p.principal} ${p.action} on ${short(p.resource)}`,
          reason: p.explanation,
        },
      };
    }
    case 'target.dropped': {
      const p = e.properties;
      return {
        always: `DROPPED event ${p.eventId} for rule ${p.ruleName} target ${p.targetId}: ${p.errorCode}: ${p.errorMessage} (${p.reason})`,
      };
    }
    case 'message.received':
      // A receive through the API (the event source mappings' receives show as invocations).
      if (!e.request) return undefined;
      return {
        kind: 'receive',
        fields: { queue: e.properties.queueName, messageId: e.properties.messageId, receives: e.properties.receiveCount },
      };
    case 'message.dead-lettered': {
      const p = e.properties;
      return { kind: 'dlq', fields: { queue: p.queueName, to: p.deadLetterQueueName, messageId: p.messageId, receives: p.receiveCount } };
    }
    case 'message.expired':
      return { kind: 'expire', fields: { queue: e.properties.queueName, messageId: e.properties.messageId } };
    case 'message.moved':
      return {
        kind: 'redrive',
        fields: { from: e.properties.queueName, to: e.properties.destinationName, messageId: e.properties.messageId },
      };
    case 'queue.purged':
      return { kind: 'purge', fields: { queue: e.properties.queueName, messages: e.properties.messages } };
    case 'function.invoked': {
      const p = e.properties;
      if (p.invocationType === 'Event') return undefined;
      return { kind: 'invoke', fields: { function: p.functionName, queue: short(p.sourceArn), records: p.records } };
    }
    case 'function.completed': {
      const p = e.properties;
      const async = p.sourceArn.includes(':rule/');
      return {
        kind: 'result',
        fields: async
          ? { function: p.functionName, ms: p.durationMs, invocation: 'async' }
          : { function: p.functionName, ms: p.durationMs, ok: p.ok, failed: p.failed },
      };
    }
    case 'function.failed': {
      const p = e.properties;
      const async = p.sourceArn.includes(':rule/');
      return {
        kind: 'failure',
        fields: async
          ? { function: p.functionName, invocation: 'async', type: p.errorType, reason: p.errorMessage }
          : { function: p.functionName, queue: short(p.sourceArn), records: p.records, type: p.errorType, reason: p.errorMessage },
      };
    }
    case 'batch.item-failed': {
      const p = e.properties;
      return {
        kind: 'failure',
        fields: {
          function: p.functionName,
          queue: p.queueName,
          records: p.messageIds.length,
          reason: p.reason,
          ids: p.messageIds.join(',') || undefined,
        },
      };
    }
    case 'schedule.fired':
      return { kind: 'schedule', fields: { rule: e.properties.ruleName, id: e.properties.eventId } };
    case 'replay.started':
      return { kind: 'replay', fields: { name: e.properties.replayName, archive: e.properties.archiveName, events: e.properties.events } };
    case 'replay.ended':
      if (e.properties.state === 'FAILED') return { always: `replay ${e.properties.replayName} failed ${e.properties.reason ?? ''}` };
      return undefined;
    case 'archive.evicted':
      return { kind: 'evict', fields: { archive: e.properties.archiveName, events: e.properties.events, reason: e.properties.reason } };
    case 'alarm.state-changed': {
      const p = e.properties;
      return { kind: 'alarm', fields: { name: p.alarmName, from: p.oldState, to: p.newState, reason: p.reason } };
    }
    case 'alarm.notified': {
      // The alarm action's SNS message, recorded: SNS itself is not emulated.
      const p = e.properties;
      return { always: `SNS notification to ${p.topicArn}: ${p.subject}` };
    }
    case 'runtime.warning':
    case 'mapping.paused':
      return {
        always:
          'message' in e.properties
            ? e.properties.message
            : `event source mapping for ${e.properties.functionName}: ${e.properties.reason}`,
      };
    case 'runtime.closing':
      if (e.properties.pendingRetries === 0) return undefined;
      return {
        always: `${e.properties.pendingRetries} target deliveries were still being retried at shutdown and are lost with the in-memory state`,
      };
    case 'access.denied': {
      // warn: the call went on, AWS would have refused it; enforce: refused.
      const p = e.properties;
      return {
        kind: p.mode === 'warn' ? 'iam-warn' : 'iam-deny',
        fields: { op: p.operation, principal: p.principalArn, action: p.action, resource: p.resource, why: p.explanation },
      };
    }
    case 'identity.refused': {
      const p = e.properties;
      return {
        kind: p.mode === 'warn' ? 'iam-warn' : 'iam-deny',
        fields: { op: p.operation, code: p.code, key: p.accessKeyId, why: p.message },
      };
    }
    case 'session.issued':
      // Sessions issued through STS; the functions' own credentials are issued at start-up, outside any request.
      if (!e.request) return undefined;
      return { kind: 'session', fields: { arn: e.properties.arn, key: e.properties.accessKeyId, expires: e.properties.expiration } };
    default:
      return undefined;
  }
}

/** `HH:MM:SS.mmm` of a time in ms (UTC, as the clock's ISO time). */
const timeOf = (at: number) => new Date(at).toISOString().slice(11, 23);

/** A value as it appears after `key=`: quoted (JSON) when it has spaces, quotes or control characters. */
function fieldValue(v: string | number | boolean): string {
  const s = String(v);
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  return /[\s"\\\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(s) ? escapeControl(JSON.stringify(s)) : s;
}

/** Kinds of per-event line that say something went wrong: printed even when quiet. */
const NOTABLE_KINDS = new Set(['failure', 'dlq', 'alarm', 'iam-warn', 'iam-deny']);

export class RuntimeLog {
  private buffer: string[] = [];
  private scheduled = false;

  constructor(
    private readonly sink: LogSink | undefined,
    /**
     * When quiet, the routine lines are dropped: per-event lines (publish, match, delivery,
     * invocation) and the functions' output. The ready line, topology, warnings, `DROPPED`, the
     * lines of failures, dead letters, alarms and IAM, and functions' ERROR records stay.
     */
    readonly quiet: boolean,
    /** Receives all lines of one flush as one text (one write to stdout instead of one per line). */
    private readonly bulk?: (text: string) => void,
    /** Print a function's log records as it wrote them (the full JSON) instead of folded. */
    readonly verbose = false,
  ) {}

  /** Prints the stream's events from now on. */
  attach(stream: EventStream): Subscription {
    return stream.subscribeAll((e) => {
      if (!this.sink) return;
      const f = formatEvent(e);
      if (!f) return;
      if ('always' in f) this.always(escapeControl(f.always, true, true));
      else this.event(f.kind, f.fields, e.at);
    });
  }

  /** Per-event line: `kind` padded to a column, then key=value fields. */
  event(kind: string, fields: Fields, at: number = Date.now()): void {
    if (!this.sink || (this.quiet && !NOTABLE_KINDS.has(kind))) return;
    let line = `${timeOf(at)} ${kind.padEnd(8)}`;
    for (const [k, v] of Object.entries(fields)) {
      if (v === undefined) continue;
      line += ` ${k}=${fieldValue(v)}`;
    }
    this.push(line);
  }

  /** A line printed even when quiet (ready line, topology, warnings). */
  always(line: string): void {
    if (this.sink) this.push(escapeControl(line, true));
  }

  /**
   * One line of a function's own output, after the time and the function's name: a log record
   * folded to its level, message and fields (see `foldLogRecord`), or as written when verbose or
   * not a log record. When quiet, only ERROR (and worse) records print.
   */
  function(name: string, line: string, at: number = Date.now()): void {
    if (!this.sink) return;
    const record = this.quiet || !this.verbose ? parseLogRecord(line) : undefined;
    if (this.quiet && !(record && ERROR_LEVELS.has(record.level))) return;
    const prefix = `${timeOf(at)} [${escapeControl(name)}] `;
    if (this.verbose || !record) {
      this.push(prefix + escapeControl(line, true, true));
      return;
    }
    const [first, ...more] = foldLogRecord(record);
    this.push(prefix + (first ?? ''));
    for (const l of more) this.push(l);
  }

  flush(): void {
    this.scheduled = false;
    if (!this.sink || this.buffer.length === 0) return;
    const lines = this.buffer;
    this.buffer = [];
    if (this.bulk) this.bulk(`${lines.join('\n')}\n`);
    else for (const l of lines) this.sink(l);
  }

  private push(line: string): void {
    this.buffer.push(line);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }
}

/**
 * Escapes control characters (`\u001b`, `\r`, C1, line separators) as `\uXXXX`, so that text from
 * requests cannot move the cursor, clear the terminal or forge a log line. `keepNewlines` leaves
 * `\n` (stack traces); `keepColors` leaves tabs and SGR colour sequences (a function's own logger).
 */
export function escapeControl(text: string, keepNewlines = false, keepColors = false): string {
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  return text.replace(/\u001b(\[[0-9;]*m)?|[\u0000-\u001a\u001c-\u001f\u007f-\u009f\u2028\u2029]/g, (c, sgr: string | undefined) => {
    if (keepColors && (sgr !== undefined || c === '\t')) return c;
    if (keepNewlines && c === '\n') return c;
    return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}${sgr ?? ''}`;
  });
}

/**
 * A function's output line read as a structured log record (Powertools, Lambda's JSON log format,
 * pino), or a record of metrics in CloudWatch's embedded metric format (level `METRIC`).
 */
export interface LogRecord {
  /** Upper case: `INFO`, `ERROR`, ... */
  level: string;
  message: string;
  /** Every other key, as parsed. */
  fields: Record<string, unknown>;
}

/** Lines longer than this are printed as they are, not parsed (a multi-megabyte line is not a log record worth folding). */
export const MAX_RECORD_CHARS = 64 * 1024;

/** Levels whose records print even when quiet, with their stack trace. */
const ERROR_LEVELS = new Set(['ERROR', 'FATAL', 'CRITICAL']);

/** pino's numeric levels. */
const PINO_LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };

/**
 * Keys a reader of the local output does not need on every line: the time (the line has its
 * own), and what is the same for every line of a function (service, function name, ARN, memory,
 * request id, cold start, sampling rate, trace id). The log group keeps them all.
 */
export const DROPPED_KEYS: ReadonlySet<string> = new Set([
  'level',
  'message',
  'msg',
  'timestamp',
  'time',
  'service',
  'xray_trace_id',
  'cold_start',
  'function_arn',
  'function_memory_size',
  'function_name',
  'function_request_id',
  'sampling_rate',
  'requestId',
  'pid',
  'hostname',
]);

/** Fields shown after the message, at most; the rest are counted. */
const MAX_FIELDS = 12;
/** Characters of one field's value, at most. */
const MAX_VALUE_CHARS = 120;
/** Characters of an error's `Name: message`, at most. */
const MAX_ERROR_CHARS = 400;
/** Characters of the message, at most. */
const MAX_MESSAGE_CHARS = 1000;
/** Lines of an ERROR record's stack trace, at most. */
const MAX_STACK_LINES = 20;

/**
 * The log record a line holds, or undefined when it is not one: a JSON object (not an array or
 * a scalar) with a string `message` (or `msg`) and a level (a short word, or pino's number).
 */
export function parseLogRecord(line: string): LogRecord | undefined {
  const text = line.trim();
  if (!text.startsWith('{') || text.length > MAX_RECORD_CHARS) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isRecord(parsed)) return undefined;
  const o = parsed;
  const metrics = metricsOf(o);
  if (metrics) return { level: 'METRIC', message: metrics, fields: {} };
  const message = typeof o.message === 'string' ? o.message : typeof o.msg === 'string' ? o.msg : undefined;
  const level =
    typeof o.level === 'string' && /^[A-Za-z]{1,16}$/.test(o.level)
      ? o.level.toUpperCase()
      : typeof o.level === 'number'
        ? PINO_LEVELS[o.level]
        : undefined;
  if (message === undefined || level === undefined) return undefined;
  const fields: Record<string, unknown> = {};
  // Own keys only, defined as data: a key named `__proto__` is a field like any other.
  for (const [k, v] of Object.entries(o)) {
    if (!DROPPED_KEYS.has(k)) Object.defineProperty(fields, k, { value: v, enumerable: true, writable: true, configurable: true });
  }
  return { level, message, fields };
}

/**
 * The metrics of a CloudWatch embedded metric format record (what Powertools Metrics writes), as
 * `Name=value ...`, or undefined when the object is not one.
 * @see https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
 */
function metricsOf(o: Record<string, unknown>): string | undefined {
  const aws = o._aws;
  if (!isRecord(aws) || !Array.isArray(aws.CloudWatchMetrics)) return undefined;
  const names: string[] = [];
  for (const directive of aws.CloudWatchMetrics.slice(0, MAX_FIELDS)) {
    if (!isRecord(directive) || !Array.isArray(directive.Metrics)) continue;
    for (const m of directive.Metrics.slice(0, MAX_FIELDS)) if (isRecord(m) && typeof m.Name === 'string') names.push(m.Name);
  }
  if (names.length === 0) return undefined;
  const shown = names
    .slice(0, MAX_FIELDS)
    .map((n) => `${truncate(n, 64)}=${truncate(preview(Object.hasOwn(o, n) ? o[n] : undefined, 1), 64)}`);
  return names.length > MAX_FIELDS ? `${shown.join(' ')} (+${names.length - MAX_FIELDS} more)` : shown.join(' ');
}

/**
 * The lines a log record prints as: `LEVEL message key=value ...`, values shortened, then for an
 * ERROR record the stack trace of its `error` (Powertools) or `stackTrace` (Lambda), each line
 * indented so that nothing in it can pass for a line of the runtime.
 */
export function foldLogRecord(r: LogRecord): string[] {
  let line = `${r.level.padEnd(5)} ${escapeControl(truncate(r.message, MAX_MESSAGE_CHARS))}`;
  const entries = Object.entries(r.fields);
  for (const [k, v] of entries.slice(0, MAX_FIELDS)) {
    // An object or array shows as compact JSON, unquoted; a string, number or error as a field value.
    const shown =
      k === 'error' && isRecord(v) && typeof v.message === 'string'
        ? fieldValue(truncate(errorSummary(v), MAX_ERROR_CHARS))
        : v !== null && typeof v === 'object'
          ? escapeControl(truncate(preview(v, 3), MAX_VALUE_CHARS))
          : fieldValue(truncate(String(v), MAX_VALUE_CHARS));
    line += ` ${fieldKey(k)}=${shown}`;
  }
  if (entries.length > MAX_FIELDS) line += ` (+${entries.length - MAX_FIELDS} more fields)`;
  const lines = [line];
  if (ERROR_LEVELS.has(r.level)) {
    const error = r.fields.error;
    const stack =
      isRecord(error) && typeof error.stack === 'string'
        ? error.stack.split('\n').slice(1)
        : Array.isArray(r.fields.stackTrace)
          ? r.fields.stackTrace.filter((l): l is string => typeof l === 'string')
          : [];
    for (const frame of stack.slice(0, MAX_STACK_LINES)) lines.push(`    ${escapeControl(truncate(frame.trim(), 300))}`);
    if (stack.length > MAX_STACK_LINES) lines.push(`    ... ${stack.length - MAX_STACK_LINES} more lines`);
  }
  return lines;
}

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** `TypeError: message` of a serialized error. */
function errorSummary(e: Record<string, unknown>): string {
  return `${typeof e.name === 'string' ? `${e.name}: ` : ''}${String(e.message)}`;
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** A key as it appears before `=`: as it is when it is a plain word, else quoted. */
function fieldKey(k: string): string {
  return /^[\w.$@-]{1,64}$/.test(k) ? k : escapeControl(JSON.stringify(truncate(k, 64)));
}

/**
 * A compact JSON-like preview of a value that stops at `depth` levels and a few hundred
 * characters, so a deeply nested or huge value costs no more than its preview.
 */
function preview(v: unknown, depth: number): string {
  if (typeof v === 'string') return v;
  if (v === null || typeof v !== 'object') return String(v);
  if (depth === 0) return Array.isArray(v) ? '[…]' : '{…}';
  const parts: string[] = [];
  let size = 0;
  const entries: [string | undefined, unknown][] = Array.isArray(v)
    ? v.map((x) => [undefined, x])
    : Object.entries(v as Record<string, unknown>);
  for (const [k, x] of entries) {
    if (size > MAX_VALUE_CHARS) {
      parts.push('…');
      break;
    }
    const shown = typeof x === 'string' ? JSON.stringify(truncate(x, MAX_VALUE_CHARS)) : preview(x, depth - 1);
    const part = k === undefined ? shown : `${JSON.stringify(truncate(k, 64))}:${shown}`;
    parts.push(part);
    size += part.length + 1;
  }
  return Array.isArray(v) ? `[${parts.join(',')}]` : `{${parts.join(',')}}`;
}
