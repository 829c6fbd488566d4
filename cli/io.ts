/**
 * Where a command reads and writes. Commands never touch `process` directly, so the tests run
 * them in-process with captured streams and their own environment.
 */
import { EXIT_FAILURE } from './errors';

/** Something a line of text can be written to. */
export interface TextSink {
  write(text: string): unknown;
  /** Set on a terminal; progress bars redraw in place only there. */
  readonly isTTY?: boolean;
}

export interface CliIO {
  readonly stdout: TextSink;
  readonly stderr: TextSink;
  readonly stdin: NodeJS.ReadableStream;
  /** The environment the command sees (AWS_REGION, AWS_ENDPOINT_URL, NO_COLOR, ...). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Directory relative paths are resolved against. */
  readonly cwd: string;
  /**
   * Registers a handler for Ctrl-C / SIGTERM for the duration of a command and returns a
   * function that removes it. `tail` uses it to remove its temporary rule and queue.
   */
  readonly onInterrupt: (handler: () => void) => () => void;
  /**
   * What the command's own waits ask for the time: polling intervals and how long counts have
   * been unchanged (`replay`). A test of that logic against mocked AWS answers passes a clock
   * that moves when slept on.
   * @default wall-clock time ({@link REAL_CLOCK})
   */
  readonly clock?: CliClock;
}

/** The time a command waits on. */
export interface CliClock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Resolves after `ms`, or at once when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** Wall-clock time and Node's timers. */
export const REAL_CLOCK: CliClock = { now: () => Date.now(), sleep: (ms, signal) => sleep(ms, signal) };

/** The real process: stdout, stderr, stdin, environment and signals. */
export function processIO(): CliIO {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
    cwd: process.cwd(),
    onInterrupt: (handler) => {
      let count = 0;
      const listener = () => {
        // A second Ctrl-C while cleaning up exits at once, as users expect.
        if (++count > 1) process.exit(EXIT_FAILURE);
        handler();
      };
      process.on('SIGINT', listener);
      process.on('SIGTERM', listener);
      return () => {
        process.off('SIGINT', listener);
        process.off('SIGTERM', listener);
      };
    },
  };
}

/** Reads a whole stream as UTF-8 text. */
export async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

/** Waits `ms`, or less when `signal` aborts (Ctrl-C while polling). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        resolve();
      },
      { once: true },
    );
  });
}
