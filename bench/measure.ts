/**
 * The one way every benchmark here measures: after a warm-up, at least MIN_RUNS runs of at least
 * MIN_RUN_SECONDS each, and the median run is reported (with the slowest and fastest beside it),
 * the method used for event-ruler's figures. A run's figure is the work it did over the time it
 * took, so a neighbour's burst slows one run and the median stays put; no figure is the best of
 * many short chunks.
 *
 * BENCH_RUNS (>= 3, default 3) and BENCH_SECONDS (>= 1, default 1) lengthen the measurement.
 */
import * as os from 'node:os';

import { silenceSdkNodeVersionWarning } from '../sdk/node-version-notice';

export { silenceSdkNodeVersionWarning };

silenceSdkNodeVersionWarning();

export const MIN_RUNS = 3;
export const MIN_RUN_SECONDS = 1;

/** Runs and seconds per run from the environment, never below the minimums. */
export function settings(env: NodeJS.ProcessEnv = process.env): { runs: number; seconds: number; warmupSeconds: number } {
  const runs = Math.max(MIN_RUNS, Math.floor(Number(env.BENCH_RUNS ?? MIN_RUNS)) || MIN_RUNS);
  const seconds = Math.max(MIN_RUN_SECONDS, Number(env.BENCH_SECONDS ?? MIN_RUN_SECONDS) || MIN_RUN_SECONDS);
  return { runs, seconds, warmupSeconds: seconds };
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** A measured figure: the median of the runs, and every run's figure. */
export interface Runs {
  readonly median: number;
  readonly runs: readonly number[];
}

export const runsOf = (values: readonly number[]): Runs => ({ median: median(values), runs: values });

/** `median (min to max)` with the given formatter. */
export function spread(r: Runs, fmt: (x: number) => string): string {
  return `${fmt(r.median)} (${fmt(Math.min(...r.runs))} to ${fmt(Math.max(...r.runs))})`;
}

/**
 * Operations per second of a synchronous `op(i)`: warm up for `warmupSeconds`, then `runs` runs
 * of at least `seconds`, each counting the calls it made. `op` returns a number that is summed,
 * so the work cannot be optimised away.
 */
export function measureRate(op: (i: number) => number, options: Partial<ReturnType<typeof settings>> = {}): Runs {
  const { runs, seconds, warmupSeconds } = { ...settings(), ...options };
  let sink = 0;
  let i = 0;
  // Time is read every `batch` calls, sized so that reading the clock costs nothing measurable.
  let batch = 1;
  const warmEnd = performance.now() + warmupSeconds * 1000;
  while (performance.now() < warmEnd) {
    const t = performance.now();
    for (let k = 0; k < batch; k++) sink += op(i++);
    if (performance.now() - t < 1) batch *= 2;
  }
  const rates: number[] = [];
  for (let r = 0; r < runs; r++) {
    let n = 0;
    const start = performance.now();
    const end = start + seconds * 1000;
    let now = start;
    while (now < end) {
      for (let k = 0; k < batch; k++) sink += op(i++);
      n += batch;
      now = performance.now();
    }
    rates.push(n / ((now - start) / 1000));
  }
  if (sink === Number.MIN_VALUE) console.log(sink);
  return runsOf(rates);
}

/**
 * Two operations measured in alternating runs (a, then b, in each run), so that a ratio between
 * them sees the same load: the ratio's figure is the median of the per-run ratios a / b.
 */
export function measurePaired(
  a: (i: number) => number,
  b: (i: number) => number,
  options: Partial<ReturnType<typeof settings>> = {},
): { a: Runs; b: Runs; ratio: Runs } {
  const { runs, seconds, warmupSeconds } = { ...settings(), ...options };
  measureRate(a, { runs: 1, seconds: warmupSeconds / 2, warmupSeconds: 0 });
  measureRate(b, { runs: 1, seconds: warmupSeconds / 2, warmupSeconds: 0 });
  const ra: number[] = [];
  const rb: number[] = [];
  for (let r = 0; r < runs; r++) {
    ra.push(measureRate(a, { runs: 1, seconds, warmupSeconds: 0.05 }).median);
    rb.push(measureRate(b, { runs: 1, seconds, warmupSeconds: 0.05 }).median);
  }
  return { a: runsOf(ra), b: runsOf(rb), ratio: runsOf(ra.map((x, i) => x / rb[i]!)) };
}

/**
 * Repeats `step` until at least `seconds` have passed; returns how many times it ran and the
 * seconds taken. For work that is itself slow (a process start, a round of requests).
 */
export async function runFor<T>(seconds: number, step: () => Promise<T> | T): Promise<{ results: T[]; seconds: number }> {
  const results: T[] = [];
  const start = performance.now();
  do results.push(await step());
  while (performance.now() - start < seconds * 1000);
  return { results, seconds: (performance.now() - start) / 1000 };
}

/** CPU model, cores, memory and Node.js version of this machine. */
export function machine(): string {
  const cpus = os.cpus();
  return `${cpus.length} x ${cpus[0]?.model ?? 'unknown CPU'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node.js ${process.version}, ${os.platform()} ${os.arch()}`;
}

/** The 1, 5 and 15 minute load averages, e.g. `load 1.02 / 0.87 / 0.60`. */
export function load(): string {
  return `load ${os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' / ')}`;
}

/** The line every benchmark prints first: machine, load, and the method. */
export function header(): string {
  const { runs, seconds } = settings();
  return `Machine: ${machine()}; ${load()} at ${new Date().toISOString()}\nMethod: median of ${runs} runs of >= ${seconds} s each after warm-up (bench/measure.ts)`;
}
