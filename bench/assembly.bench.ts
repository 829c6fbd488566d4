/**
 * Loading the synthesized app (cdk.out) through the assembly module: the manifest, every
 * template, and the resolution of every emulated resource into the runtime's topology, and the
 * CLI's topology. Median of 15 runs after 3 warm-up runs, in this process; plus the first load
 * in a fresh process (what `npm start` pays), median of 5 processes. Synth is excluded.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { ensureSynth } from '../assembly';
import { loadTopology as cliTopology } from '../cli/topology';
import { loadTopology } from '../runtime/template';

const WARMUP = 3;
const RUNS = 15;
const PROCESSES = 5;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
};

function time(fn: () => unknown): number {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
}

async function main(): Promise<void> {
  const dir = await ensureSynth();
  const ctx = { region: 'us-east-1', accountId: '000000000000', endpoint: 'http://127.0.0.1:4566' };
  const runtime = () => loadTopology(dir, ctx);
  const cli = () => cliTopology({ assembly: dir, stack: 'LoanEvents', cwd: process.cwd() });
  for (let i = 0; i < WARMUP; i++) {
    runtime();
    cli();
  }
  const runtimeMs = Array.from({ length: RUNS }, () => time(runtime));
  const cliMs = Array.from({ length: RUNS }, () => time(cli));
  const topo = runtime();
  console.log(
    `cdk.out: ${topo.stacks.length} stack(s), ${topo.queues.length} queues, ${topo.rules.length} rules, ${topo.functions.length} functions, ${topo.tables.length} tables`,
  );
  console.log(`runtime topology (warm): median ${median(runtimeMs).toFixed(1)} ms over ${RUNS} runs`);
  console.log(`CLI topology (warm):     median ${median(cliMs).toFixed(1)} ms over ${RUNS} runs`);

  // First load in a fresh process: module loading plus a cold JIT, as `npm start` pays it.
  const script = `const t0 = performance.now(); const { loadTopology } = require(${JSON.stringify(path.join(__dirname, '..', 'runtime', 'template'))});
loadTopology(${JSON.stringify(dir)}, ${JSON.stringify(ctx)}); process.stdout.write(String(performance.now() - t0));`;
  const cold: number[] = [];
  for (let i = 0; i < PROCESSES; i++) {
    const run = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { encoding: 'utf8' });
    if (run.status !== 0) throw new Error(run.stderr);
    cold.push(Number(run.stdout));
  }
  console.log(`runtime topology (fresh process, import included): median ${median(cold).toFixed(1)} ms over ${PROCESSES} processes`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
