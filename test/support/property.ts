/**
 * Replayable property tests: pass `replayable({ numRuns: 500 })` as the parameters of every
 * `fc.assert`. A failure then ends with the line to rerun exactly that counterexample, and
 *
 *   FC_SEED=<seed> FC_PATH=<path> npx jest <test file> -t '<test name>'
 *
 * replays it: fast-check regenerates the run from the seed and goes straight down the shrink path
 * (FC_SEED alone reruns the whole search from the same start). Both variables apply to every
 * property of the jest run, so name the test with -t.
 */
import * as fc from 'fast-check';

/** The seed and path to replay, from FC_SEED and FC_PATH; throws on a malformed value. */
export function replayFromEnv(env: NodeJS.ProcessEnv = process.env): { seed?: number; path?: string } {
  const out: { seed?: number; path?: string } = {};
  const seed = env.FC_SEED?.trim();
  if (seed !== undefined && seed !== '') {
    if (!/^-?\d+$/.test(seed) || !Number.isSafeInteger(Number(seed))) throw new Error(`FC_SEED must be an integer (given '${seed}')`);
    out.seed = Number(seed);
  }
  const path = env.FC_PATH?.trim();
  if (path !== undefined && path !== '') {
    if (!/^\d+(:\d+)*$/.test(path)) throw new Error(`FC_PATH must be a path such as 12:0:3 (given '${path}')`);
    if (out.seed === undefined) throw new Error('FC_PATH replays a run only together with its FC_SEED');
    out.path = path;
  }
  return out;
}

/** The rerun hint appended to a failure report. */
export function replayHint(seed: number, path: string | undefined): string {
  const p = path === undefined || path === '' ? '' : ` FC_PATH=${path}`;
  return `Replay this counterexample: FC_SEED=${seed}${p} npx jest <test file> -t '<test name>'`;
}

/**
 * The given parameters with the seed and path from the environment, and a reporter that throws
 * fast-check's own report (which holds the seed, the path and the counterexample) plus the line
 * to replay it.
 */
export function replayable<Ts>(params: fc.Parameters<Ts> = {}, env: NodeJS.ProcessEnv = process.env): fc.Parameters<Ts> {
  return {
    ...params,
    ...replayFromEnv(env),
    reporter: (details) => {
      if (!details.failed) return;
      const report = fc.defaultReportMessage(details) ?? 'Property failed';
      const error = new Error(`${report}\n\n${replayHint(details.seed, details.counterexamplePath ?? undefined)}`);
      if (details.errorInstance instanceof Error) error.cause = details.errorInstance;
      throw error;
    },
  };
}
