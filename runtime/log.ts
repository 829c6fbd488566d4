/**
 * Runtime output: a subscriber of the event stream that prints one structured line per
 * event (`12:00:01.123 publish  bus=... id=...`), stamped with the clock's time. Lines are
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

/** A value as it appears after `key=`: quoted (JSON) when it has spaces, quotes or control characters. */
function fieldValue(v: string | number | boolean): string {
  const s = String(v);
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  return /[\s"\\\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(s) ? escapeControl(JSON.stringify(s)) : s;
}

export class RuntimeLog {
  private buffer: string[] = [];
  private scheduled = false;

  constructor(
    private readonly sink: LogSink | undefined,
    /** When quiet, the runtime's per-event lines are dropped; the ready line, topology, warnings and function output stay. */
    readonly quiet: boolean,
    /** Receives all lines of one flush as one text (one write to stdout instead of one per line). */
    private readonly bulk?: (text: string) => void,
  ) {}

  /** Prints the stream's events from now on. */
  attach(stream: EventStream): Subscription {
    return stream.subscribeAll((e) => {
      if (!this.sink) return;
      const f = formatEvent(e);
      if (!f) return;
      if ('always' in f) this.always(escapeControl(f.always, true, true));
      else if (!this.quiet) this.event(f.kind, f.fields, e.at);
    });
  }

  /** Per-event line: `kind` padded to a column, then key=value fields. */
  event(kind: string, fields: Fields, at: number = Date.now()): void {
    if (this.quiet || !this.sink) return;
    let line = `${new Date(at).toISOString().slice(11, 23)} ${kind.padEnd(8)}`;
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

  /** A function's own output, prefixed by its name; kept when quiet (it is the user's logging, not the runtime's). */
  function(name: string, line: string): void {
    if (!this.sink) return;
    this.push(`[${name}] ${escapeControl(line, true, true)}`);
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
