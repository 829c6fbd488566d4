/** Runs the CLI in-process with captured streams, its own environment and working directory. */
import { Readable } from 'node:stream';
import type { CliClock, CliIO } from '../../cli/io';
import { run } from '../../cli/program';

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  readonly env?: Record<string, string | undefined>;
  readonly stdin?: string;
  readonly cwd?: string;
  /** Called with the interrupt handler the command registers (tail), so a test can press Ctrl-C. */
  readonly onInterrupt?: (handler: () => void) => void;
  readonly stderrIsTTY?: boolean;
  /** The time the command waits on (polls, settling); wall-clock time by default. */
  readonly clock?: CliClock;
}

/** A clock that moves only when a command sleeps on it: its polls and settling take no real time. */
export function steppingClock(start = Date.UTC(2026, 0, 15, 11)): CliClock {
  let now = start;
  return {
    now: () => now,
    sleep: async (ms) => {
      now += ms;
    },
  };
}

/** An environment without the developer's AWS settings, so tests never reach a real account. */
export const CLEAN_ENV: Record<string, string | undefined> = { PATH: process.env.PATH, NO_COLOR: '1' };

export async function runCli(args: readonly string[], options: RunOptions = {}): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const io: CliIO = {
    stdout: { write: (s: string) => (stdout += s), isTTY: false },
    stderr: { write: (s: string) => (stderr += s), isTTY: options.stderrIsTTY ?? false },
    stdin: Readable.from(options.stdin !== undefined ? [options.stdin] : []),
    env: { ...CLEAN_ENV, ...(options.env ?? {}) },
    cwd: options.cwd ?? process.cwd(),
    onInterrupt: (handler) => {
      options.onInterrupt?.(handler);
      return () => undefined;
    },
    ...(options.clock ? { clock: options.clock } : {}),
  };
  const code = await run(args, io);
  return { code, stdout, stderr };
}

/** Parses stdout of a `--json` run. */
export function json<T = Record<string, unknown>>(result: CliResult): T {
  try {
    return JSON.parse(result.stdout) as T;
  } catch {
    throw new Error(`stdout is not JSON (exit ${result.code}):\n${result.stdout}\nstderr:\n${result.stderr}`);
  }
}
