/**
 * Human and machine output. Results go to stdout (text, or one JSON document with `--json`);
 * progress and diagnostics go to stderr, so `--json` output can be piped as is.
 */
import type { CliIO, TextSink } from './io';

export interface OutputOptions {
  /** Print one JSON document per result instead of text. */
  readonly json: boolean;
  /** `--no-color`. Colour is also off when NO_COLOR is set or stdout is not a terminal. */
  readonly color: boolean;
  /** `--quiet`: no progress output. */
  readonly quiet?: boolean;
}

type Style = 'green' | 'red' | 'yellow' | 'dim' | 'bold';
const CODES: Record<Style, [number, number]> = { green: [32, 39], red: [31, 39], yellow: [33, 39], dim: [2, 22], bold: [1, 22] };

export class Output {
  public readonly json: boolean;
  private readonly colorOut: boolean;
  private readonly colorErr: boolean;
  private readonly quiet: boolean;

  public constructor(
    private readonly io: CliIO,
    options: OutputOptions,
  ) {
    this.json = options.json;
    // https://no-color.org: any non-empty NO_COLOR disables colour.
    const allowed = options.color && !(io.env.NO_COLOR ?? '').length && io.env.TERM !== 'dumb';
    this.colorOut = allowed && Boolean(io.stdout.isTTY);
    this.colorErr = allowed && Boolean(io.stderr.isTTY);
    this.quiet = options.quiet ?? false;
  }

  /** Colours text for stdout when colour is on. */
  public style(style: Style, text: string): string {
    return this.colorOut ? `\u001b[${CODES[style][0]}m${text}\u001b[${CODES[style][1]}m` : text;
  }

  /** A line of text on stdout (ignored in JSON mode, where `data` carries the result). */
  public line(text = ''): void {
    if (!this.json) this.io.stdout.write(`${text}\n`);
  }

  /** The machine-readable result: written only in JSON mode. */
  public data(value: unknown): void {
    if (this.json) this.io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  }

  /** One JSON object per line, for streams (`tail --json`, `publish --json`). */
  public record(value: unknown): void {
    if (this.json) this.io.stdout.write(`${JSON.stringify(value)}\n`);
  }

  /** A diagnostic on stderr; shown in both modes. */
  public note(text: string): void {
    const t = this.colorErr ? `\u001b[2m${text}\u001b[22m` : text;
    this.io.stderr.write(`${t}\n`);
  }

  /** A warning on stderr. */
  public warn(text: string): void {
    const t = this.colorErr ? `\u001b[33m${text}\u001b[39m` : text;
    this.io.stderr.write(`${t}\n`);
  }

  /** Prints rows as aligned columns; the first row is the header. */
  public table(rows: readonly (readonly string[])[], align: readonly ('left' | 'right')[] = []): void {
    if (this.json || rows.length === 0) return;
    const widths = (rows[0] ?? []).map((_, c) => Math.max(...rows.map((r) => visibleLength(r[c] ?? ''))));
    rows.forEach((row, i) => {
      const cells = row.map((cell, c) => {
        const pad = ' '.repeat((widths[c] ?? 0) - visibleLength(cell));
        return align[c] === 'right' ? pad + cell : cell + pad;
      });
      const text = cells.join('  ').trimEnd();
      this.line(i === 0 ? this.style('bold', text) : text);
    });
  }

  /** A progress indicator for long work; see Progress. */
  public progress(label: string, total?: number): Progress {
    return new Progress(this.io.stderr, label, total, { quiet: this.quiet, color: this.colorErr });
  }
}

function visibleLength(text: string): number {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\u001b\[[0-9;]*m/g, '').length;
}

/**
 * A progress bar on stderr. On a terminal it redraws one line in place; elsewhere (CI logs,
 * pipes) it prints a line at each tenth of the work, so logs stay short but show movement.
 */
export class Progress {
  private done = 0;
  private lastDecile = -1;
  private finished = false;
  private readonly width = 30;

  public constructor(
    private readonly sink: TextSink,
    private readonly label: string,
    private total: number | undefined,
    private readonly options: { quiet: boolean; color: boolean },
  ) {}

  /** Records progress: `done` units of `total` (the total may change, e.g. when a task learns it). */
  public update(done: number, total?: number): void {
    if (total !== undefined) this.total = total;
    this.done = done;
    if (this.options.quiet || this.finished) return;
    const t = this.total;
    if (this.sink.isTTY) {
      this.sink.write(`\r${this.render()}\u001b[K`);
      return;
    }
    if (t === undefined || t <= 0) return;
    const decile = Math.floor((Math.min(done, t) / t) * 10);
    if (decile > this.lastDecile) {
      this.lastDecile = decile;
      this.sink.write(`${this.render()}\n`);
    }
  }

  /** Ends the bar, with a closing message when given. */
  public finish(message?: string): void {
    if (this.finished) return;
    if (!this.options.quiet && this.sink.isTTY) this.sink.write(`\r${this.render()}\u001b[K\n`);
    this.finished = true;
    if (!this.options.quiet && message) this.sink.write(`${message}\n`);
  }

  private render(): string {
    const t = this.total;
    if (t === undefined || t <= 0) return `${this.label} ${this.done}`;
    const ratio = Math.min(1, this.done / t);
    const filled = Math.round(ratio * this.width);
    const bar = '#'.repeat(filled) + '-'.repeat(this.width - filled);
    const pct = `${Math.floor(ratio * 100)}%`.padStart(4);
    const shown = this.options.color && this.sink.isTTY ? `\u001b[32m${bar.slice(0, filled)}\u001b[39m${bar.slice(filled)}` : bar;
    return `${this.label} [${shown}] ${pct} ${this.done}/${t}`;
  }
}
