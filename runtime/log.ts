/**
 * Runtime output: one structured line per event (`12:00:01.123 publish  bus=... id=...`).
 * Lines are buffered and written once per tick, so the per-event path never blocks on
 * a synchronous write to a terminal or pipe.
 */
export type LogSink = (line: string) => void;

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

  /** Per-event line: `kind` padded to a column, then key=value fields. */
  event(kind: string, fields: Record<string, string | number | boolean | undefined>): void {
    if (this.quiet || !this.sink) return;
    let line = `${clock()} ${kind.padEnd(8)}`;
    for (const [k, v] of Object.entries(fields)) {
      if (v === undefined) continue;
      const s = String(v);
      // eslint-disable-next-line no-control-regex -- matching control characters is the point
      line += ` ${k}=${/[\s"\\\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(s) ? escapeControl(JSON.stringify(s)) : s}`;
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

function clock(): string {
  return new Date().toISOString().slice(11, 23);
}
