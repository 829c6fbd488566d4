/**
 * Handler bundles: size, and load time in a fresh Node.js process, beside an empty handler
 * built the same way. Builds with esbuild as the stack does (bundle, minify, source map,
 * CommonJS, node24; see sdk/build.ts) in three variants:
 *   - "as deployed": `@aws-sdk/*` left out (the Lambda Node.js runtime ships the AWS SDK v3)
 *     and only zod's English locale: what the stack's bundling (sdk/build.ts) produces;
 *   - "plain NodejsFunction": runtime SDK, every zod locale: what NodejsFunction would build;
 *   - "bundled SDK": everything in the bundle.
 * Targets: at most 200 KB minified, and at most 3 x the empty handler's load time.
 *
 * Load time is measured three ways, in fresh processes, by bench/measure.ts's runs:
 *   - init: wall time from process start to the handler being exported (what a cold start
 *     adds to the runtime's own start), via performance.now() after require(); the target
 *     is judged on this, as a ratio to the empty handler in the same run;
 *   - init CPU: CPU time the process used by then, which other processes on a shared
 *     machine disturb far less than wall time;
 *   - require: the require() call alone.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { bundleHandler } from '../sdk/build';
import { header, load, median, runFor, settings } from './measure';

const ROOT = path.join(__dirname, '..');
const OUT = path.join(ROOT, '.bench-out', 'handlers');
const HANDLERS = ['underwriting', 'notifications', 'manual-review'];
const SIZE_TARGET = 200 * 1024;
const LOAD_TARGET_RATIO = 3;

interface Variant {
  readonly name: string;
  readonly externalAwsSdk: boolean;
  readonly zodEnglishOnly: boolean;
}

const VARIANTS: Variant[] = [
  { name: 'as deployed: runtime SDK, zod en only (sdk/build.ts)', externalAwsSdk: true, zodEnglishOnly: true },
  { name: 'plain NodejsFunction: runtime SDK, every zod locale', externalAwsSdk: true, zodEnglishOnly: false },
  { name: 'bundled SDK', externalAwsSdk: false, zodEnglishOnly: false },
];

const bundle = (entry: string, outdir: string, variant: Variant) => bundleHandler({ entry, outdir, ...variant });

/**
 * Loads the bundle in a fresh process; returns [ms from process start to loaded, ms of
 * require(), CPU ms the process used up to then].
 */
function loadOnce(file: string): [number, number, number] {
  const script =
    `const t0 = performance.now(); const m = require(${JSON.stringify(file)}); const t1 = performance.now();` +
    `if (typeof m.handler !== 'function') throw new Error('no handler export');` +
    `const cpu = process.cpuUsage(); process.stdout.write(JSON.stringify([t1, t1 - t0, (cpu.user + cpu.system) / 1000]));`;
  const env = {
    ...process.env,
    // The environment the stack gives a consumer; nothing is called at load time.
    AWS_REGION: 'eu-west-1',
    EVENT_BUS_NAME: 'loans',
    IDEMPOTENCY_TABLE_NAME: 'idempotency',
    STATE_TABLE_NAME: 'state',
    POWERTOOLS_METRICS_NAMESPACE: 'LoanEvents',
    POWERTOOLS_LOG_LEVEL: 'INFO',
    // Lets the "runtime SDK" bundles find @aws-sdk/* the way the Lambda runtime provides it.
    NODE_PATH: path.join(ROOT, 'node_modules'),
  };
  return JSON.parse(execFileSync(process.execPath, ['-e', script], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })) as [
    number,
    number,
    number,
  ];
}

/**
 * Runs of at least the run time (bench/measure.ts), each loading the empty handler and every
 * handler in turn as many times as fit, so that each handler's loads sit next to the empty
 * one's under the same machine load. A run's figure is the mean over its loads; ratios are per
 * run; the median run is reported.
 */
async function measureInterleaved(empty: string, files: string[]) {
  const { runs, seconds, warmupSeconds } = settings();
  await runFor(warmupSeconds, () => [empty, ...files].forEach(loadOnce)); // file system cache, code cache
  const perRun: number[][][] = [];
  for (let r = 0; r < runs; r++) {
    const { results } = await runFor(seconds, () => [empty, ...files].map(loadOnce));
    // perRun[r][file] = [mean init, mean require, mean cpu]
    perRun.push([empty, ...files].map((_, i) => [0, 1, 2].map((m) => mean(results.map((cycle) => cycle[i]![m]!)))));
  }
  const stats = (i: number) => ({
    init: median(perRun.map((r) => r[i]![0]!)),
    require: median(perRun.map((r) => r[i]![1]!)),
    initRatio: median(perRun.map((r) => r[i]![0]! / r[0]![0]!)),
    cpu: median(perRun.map((r) => r[i]![2]!)),
    cpuRatio: median(perRun.map((r) => r[i]![2]! / r[0]![2]!)),
  });
  return { empty: stats(0), handlers: files.map((_, k) => stats(k + 1)) };
}

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

async function main() {
  mkdirSync(OUT, { recursive: true });
  const emptyEntry = path.join(OUT, 'empty-handler.ts');
  writeFileSync(emptyEntry, 'export const handler = async () => ({ batchItemFailures: [] });\n');
  const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;
  const ms = (x: number) => `${x.toFixed(1)} ms`;
  let missed = 0;
  console.log(header());
  console.log('Handler bundles (esbuild minify, CommonJS, node24; load times in fresh processes, interleaved with the empty handler)');
  for (const variant of VARIANTS) {
    const dir = path.join(OUT, variant.name.replace(/[^a-z0-9]+/gi, '-'));
    const empty = await bundle(emptyEntry, path.join(dir, 'empty'), variant);
    const files = await Promise.all(
      HANDLERS.map((name) => bundle(path.join(ROOT, 'lambdas', name, 'index.ts'), path.join(dir, name), variant)),
    );
    const times = await measureInterleaved(empty, files);
    console.log(
      `\n[${variant.name}] empty handler: ${kb(statSync(empty).size)}, init ${ms(times.empty.init)} (CPU ${ms(times.empty.cpu)}), require ${ms(times.empty.require)}`,
    );
    console.log('handler        | size      | init      | init / empty | init CPU  | CPU / empty | require   | targets');
    HANDLERS.forEach((name, k) => {
      const size = statSync(files[k]!).size;
      const { init, require: req, initRatio, cpu, cpuRatio } = times.handlers[k]!;
      const sizeOk = size <= SIZE_TARGET;
      const loadOk = initRatio <= LOAD_TARGET_RATIO;
      if (variant === VARIANTS[0] && !(sizeOk && loadOk)) missed++;
      console.log(
        `${name.padEnd(14)} | ${kb(size).padStart(9)} | ${ms(init).padStart(9)} | ${initRatio.toFixed(2).padStart(12)} | ${ms(cpu).padStart(9)} | ${cpuRatio.toFixed(2).padStart(11)} | ${ms(req).padStart(9)} | ` +
          `size ${sizeOk ? 'ok' : `MISSED by ${kb(size - SIZE_TARGET)}`}, load ${loadOk ? 'ok' : `MISSED (${initRatio.toFixed(2)} x)`}`,
      );
    });
  }
  console.log(`\n${load()}`);
  if (missed > 0) console.log(`${missed} handler(s) miss a target as the stack deploys them; see BENCHMARKS.md.`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
