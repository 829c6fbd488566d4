/**
 * Reload benchmark (`npm run bench -- reload`): how long `LocalRuntime.reload()` takes to apply
 * the synthesized LoanEvents app (synth excluded; ensureSynth runs first)
 * 1. unchanged (load, check and compare only);
 * 2. with one consumer added (a queue, a rule, a function and its event source mapping, cloned
 *    from the notifications consumer under another name), each run reloading back to the app
 *    first, untimed.
 * The runtime runs on a copy of the assembly, with functions not prewarmed, so worker start-up
 * is not counted. Median of BENCH_RUNS (at least 3) reloads after one warm-up reload each.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startLocalRuntime } from '../runtime';
import { ensureSynth } from '../assembly';
import { MIN_RUNS, load, machine, median } from './measure';

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
  const runs = Math.max(MIN_RUNS, Number(process.env.BENCH_RUNS ?? 5));
  console.log(`Machine: ${machine()}; ${load()} at ${new Date().toISOString()}`);
  const rt = await startLocalRuntime({ assemblyDir: base, port: 0, log: () => undefined, prewarm: false });
  try {
    const time = async (dir: string) => {
      const report = await rt.reload(dir);
      return { ms: report.ms, summary: report.summary };
    };
    await time(base);
    const unchanged: number[] = [];
    let same = '';
    for (let i = 0; i < runs; i++) {
      const r = await time(base);
      unchanged.push(r.ms);
      same = r.summary;
    }
    await time(added);
    await time(base);
    const consumer: number[] = [];
    let summary = '';
    for (let i = 0; i < runs; i++) {
      const r = await time(added);
      consumer.push(r.ms);
      summary = r.summary;
      await time(base);
    }
    const fmt = (xs: number[]) => `${median(xs)} ms (${[...xs].sort((a, b) => a - b).join(', ')})`;
    console.log(`Reload, unchanged assembly: median ${fmt(unchanged)}; ${same}`);
    console.log(`Reload, one consumer added: median ${fmt(consumer)}; ${summary}`);
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
