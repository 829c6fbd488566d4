/**
 * Watch mode benchmark (`npm run bench -- watch`):
 * 1. handler edit to new code: from writing a handler file to the first invocation that runs the
 *    new code (debounce, incremental esbuild rebuild with the stack's options, the swap, the new
 *    environment's init). The handler re-exports the underwriting handler, so the bundle is the
 *    size of a real one (~290 KB: Powertools, zod, the catalog); it answers its version number.
 *    A handler of one line shows what the watcher itself costs.
 * 2. stack or catalog edit to the reloaded app: a forced synth of the real app with bundling, as
 *    the watcher runs it, then the runtime's `reload` of the new assembly when the runtime has one.
 * Each: bench/measure.ts's method, after a warm-up at least 3 runs of at least 1 s (a run edits or synthesizes
 * again until 1 s has passed; its figure is the mean), and the median run with the spread.
 * BENCH_SYNTH=0 skips 2 (each synth takes 10 to 60 s).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startLocalRuntime, type LocalRuntime } from '../runtime';
import { startWatch } from '../runtime/watch';
import { PROJECT_ROOT, synthesize } from '../assembly/synth';
import { writeWatchedFunctionAssembly } from '../test/runtime/watched-function';
import { header, load, runsOf, settings, spread } from './measure';

const FUNCTION = 'watch-bench';

type Variant = 'underwriting' | 'tiny';

/** The handler at a version: the size of a real one (it re-exports underwriting), or nothing but the answer. */
function handlerSource(variant: Variant, version: number): string {
  const real = variant === 'underwriting' ? `export { handler as underwriting } from '../../lambdas/underwriting';\n` : '';
  return `${real}export const handler = async () => ({ version: ${version} });\n`;
}

/** A one-function app whose entry sits under the project (so it imports real code), with its assembly. */
async function benchApp(variant: Variant): Promise<{ root: string; entry: string; assemblyDir: string }> {
  const cache = path.join(PROJECT_ROOT, '.cache');
  mkdirSync(cache, { recursive: true });
  const root = mkdtempSync(path.join(cache, 'watch-bench-'));
  const entry = path.join(root, 'handler.ts');
  writeFileSync(entry, handlerSource(variant, 0));
  const assemblyDir = path.join(root, 'cdk.out');
  await writeWatchedFunctionAssembly({
    entry,
    entryMetadata: 'handler.ts',
    assemblyDir,
    stackName: 'Bench',
    properties: {
      FunctionName: FUNCTION,
      Timeout: 30,
      MemorySize: 256,
      // What the underwriting module reads when it loads, as the stack sets it.
      Environment: {
        Variables: {
          EVENT_BUS_NAME: 'bench',
          IDEMPOTENCY_TABLE_NAME: 'bench-idempotency',
          CONSUMER_NAME: 'underwriting',
          POWERTOOLS_SERVICE_NAME: 'underwriting',
          POWERTOOLS_METRICS_NAMESPACE: 'Bench',
        },
      },
    },
  });
  return { root, entry, assemblyDir };
}

/** Milliseconds from writing version `v` of the handler to the first invocation answering it. */
async function editToNewCode(runtime: LocalRuntime, entry: string, variant: Variant, v: number): Promise<number> {
  const fn = runtime.functions.get(FUNCTION)!;
  const started = performance.now();
  writeFileSync(entry, handlerSource(variant, v));
  for (;;) {
    const r = await fn.invoke('{}');
    if (!r.ok && r.error.errorType !== 'Runtime.Shutdown') throw new Error(`${r.error.errorType}: ${r.error.errorMessage}`);
    if (r.ok && (JSON.parse(r.payload) as { version: number }).version === v) return performance.now() - started;
    if (performance.now() - started > 60_000) throw new Error(`version ${v} not served after 60 s`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function handlerEdits(variant: Variant): Promise<void> {
  const { root, entry, assemblyDir } = await benchApp(variant);
  const runtime = await startLocalRuntime({ assemblyDir, port: 0, log: () => undefined });
  const builds: number[] = [];
  runtime.stream.subscribe('function.code-updated', (e) => builds.push(e.properties.buildMs));
  const watcher = startWatch({
    root,
    functions: () => runtime.functions.functions.values(),
    resynth: false,
    stream: runtime.stream,
    log: () => undefined,
  });
  try {
    await watcher.ready;
    let version = 0;
    // A run edits again and again for at least BENCH_SECONDS; its figure is the mean edit-to-new-code time.
    const run = async (): Promise<{ edit: number; build: number }> => {
      const { seconds } = settings();
      builds.length = 0;
      const started = performance.now();
      let total = 0;
      let edits = 0;
      while (edits === 0 || performance.now() - started < seconds * 1000) {
        total += await editToNewCode(runtime, entry, variant, ++version);
        edits++;
      }
      return { edit: total / edits, build: builds.reduce((a, b) => a + b, 0) / Math.max(1, builds.length) };
    };
    await run(); // warm-up
    const results: { edit: number; build: number }[] = [];
    for (let i = 0; i < settings().runs; i++) results.push(await run());
    const ms = (x: number) => `${Math.round(x)} ms`;
    const edits = runsOf(results.map((r) => r.edit));
    console.log(`Handler edit (${variant}) to first invocation of the new code: ${spread(edits, ms)}; ${load()}`);
    console.log(`  of which the incremental esbuild rebuild: ${spread(runsOf(results.map((r) => r.build)), ms)}`);
  } finally {
    await watcher.close();
    await runtime.close();
    rmSync(root, { recursive: true, force: true });
  }
}

async function stackEdits(): Promise<void> {
  const outdir = mkdtempSync(path.join(os.tmpdir(), 'watch-bench-synth-'));
  let runtime: LocalRuntime | undefined;
  try {
    // As the watcher synthesizes (runtime/watch.ts): without CDK's built-in template validation.
    const synth = async () => (await synthesize({ force: true, outdir, skipBuiltinValidation: true })).outdir;
    await synth(); // warm-up, and the assembly the runtime starts from
    runtime = await startLocalRuntime({ assemblyDir: outdir, port: 0, log: () => undefined, prewarm: false });
    const reload = (dir: string) => runtime!.reload(dir);
    const synthTimes: number[] = [];
    const reloadTimes: number[] = [];
    for (let i = 0; i < settings().runs; i++) {
      const started = performance.now();
      await synth();
      synthTimes.push(performance.now() - started);
      const reloadStarted = performance.now();
      await reload(outdir);
      reloadTimes.push(performance.now() - reloadStarted);
    }
    const s = (x: number) => `${(x / 1000).toFixed(1)} s`;
    console.log(`Stack edit: forced synth of the app with bundling: ${spread(runsOf(synthTimes), s)}; ${load()}`);
    console.log(`  then reload of the new assembly: ${spread(runsOf(reloadTimes), (x) => `${Math.round(x)} ms`)}`);
  } finally {
    await runtime?.close();
    rmSync(outdir, { recursive: true, force: true });
    rmSync(`${outdir}.lock`, { force: true });
  }
}

async function main(): Promise<void> {
  console.log(header());
  await handlerEdits('underwriting');
  await handlerEdits('tiny');
  if (process.env.BENCH_SYNTH !== '0') await stackEdits();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
