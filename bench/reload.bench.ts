/**
 * Reload benchmark (`npm run bench -- reload`): how long `LocalRuntime.reload()` takes to apply
 * the synthesized LoanEvents app (synth excluded; ensureSynth runs first)
 * 1. unchanged (load, check and compare only);
 * 2. with one consumer added (a queue, a rule, a function and its event source mapping, cloned
 *    from the notifications consumer under another name), each run reloading back to the app
 *    first, untimed.
 * The runtime runs on a copy of the assembly, with functions not prewarmed, so worker start-up
 * is not counted. bench/measure.ts's method: after a warm-up, at least 3 runs of at least 1 s of
 * reloads each; a run's figure is its mean reload time, and the median run is reported.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startLocalRuntime } from '../runtime';
import { ensureSynth } from '../assembly';
import { load, machine, runsOf, settings, spread } from './measure';

const STACK = 'LoanEvents-notifications.template.json';
const CLONES: Record<string, string> = {
  NotificationsQueue91395D8F: 'AuditQueueBench',
  NotificationsRule982D87CE: 'AuditRuleBench',
  NotificationsFunction75C140BC: 'AuditFunctionBench',
};

/** The app with one more consumer in the notifications stack. */
function withConsumer(dir: string): string {
  const out = mkdtempSync(path.join(os.tmpdir(), 'reload-bench-added-'));
  cpSync(dir, out, { recursive: true });
  const file = path.join(out, STACK);
  const t = JSON.parse(readFileSync(file, 'utf8')) as { Resources: Record<string, { Type: string }> };
  const mapping = Object.keys(t.Resources).find((k) => t.Resources[k]?.Type === 'AWS::Lambda::EventSourceMapping');
  if (!mapping) throw new Error(`${STACK} has no event source mapping to clone`);
  for (const id of [...Object.keys(CLONES), mapping]) {
    let text = JSON.stringify(t.Resources[id]);
    if (text === undefined) throw new Error(`${STACK} has no resource ${id}`);
    for (const [from, to] of Object.entries(CLONES)) text = text.replaceAll(`"${from}"`, `"${to}"`);
    text = text.replaceAll('"LoanEvents-notifications"', '"LoanEvents-audit-bench"');
    t.Resources[CLONES[id] ?? 'AuditMappingBench'] = JSON.parse(text);
  }
  writeFileSync(file, JSON.stringify(t));
  return out;
}

async function main(): Promise<void> {
  const synthesized = await ensureSynth();
  const base = mkdtempSync(path.join(os.tmpdir(), 'reload-bench-'));
  cpSync(synthesized, base, { recursive: true });
  const added = withConsumer(base);
  console.log(`Machine: ${machine()}; ${load()} at ${new Date().toISOString()}`);
  const rt = await startLocalRuntime({ assemblyDir: base, port: 0, log: () => undefined, prewarm: false });
  try {
    const time = async (dir: string) => {
      const report = await rt.reload(dir);
      return { ms: report.ms, summary: report.summary };
    };
    // A run reloads again and again for at least BENCH_SECONDS; its figure is the mean reload time.
    const run = async (dir: string, between?: string): Promise<{ ms: number; summary: string }> => {
      const started = performance.now();
      let total = 0;
      let count = 0;
      let summary = '';
      while (count === 0 || performance.now() - started < settings().seconds * 1000) {
        const r = await time(dir);
        total += r.ms;
        count++;
        summary = r.summary;
        if (between) await time(between); // back to the app, untimed
      }
      return { ms: total / count, summary };
    };
    const measure = async (dir: string, between?: string) => {
      await run(dir, between); // warm-up
      const runs: { ms: number; summary: string }[] = [];
      for (let i = 0; i < settings().runs; i++) runs.push(await run(dir, between));
      return { runs: runsOf(runs.map((r) => r.ms)), summary: runs[0]!.summary };
    };
    const fmt = (x: number) => `${Math.round(x)} ms`;
    const unchanged = await measure(base);
    console.log(`Reload, unchanged assembly: ${spread(unchanged.runs, fmt)}; ${unchanged.summary}`);
    const consumer = await measure(added, base);
    console.log(`Reload, one consumer added: ${spread(consumer.runs, fmt)}; ${consumer.summary}`);
    console.log(`After: ${load()}`);
  } finally {
    await rt.close();
    rmSync(base, { recursive: true, force: true });
    rmSync(added, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
