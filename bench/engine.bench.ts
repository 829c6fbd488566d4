/**
 * Pattern engine throughput: events per second over ../shared/bench/events.jsonl against the
 * first N rules of the routing and dense mixes, JSON.parse of the event included, beside
 * JSON.parse alone and a naive matcher that tests every rule in turn.
 * `npm run bench -- engine`; `BENCH_SECONDS=2` measures longer (default 0.5 s per measurement),
 * `BENCH_MIX=dense` and `BENCH_SIZES=1000,10000` run part of the table.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { RuleMatcher, testEventPattern } from '../engine';
import { Machine } from '../engine/machine';
import { compile } from '../engine';

const shared = path.resolve(__dirname, '..', '..', 'shared', 'bench');
const lines = (f: string) =>
  readFileSync(path.join(shared, f), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '');

const events = lines('events.jsonl');
const mixes = { routing: lines('rules-routing.jsonl'), dense: lines('rules-dense.jsonl') };
const SIZES = (process.env.BENCH_SIZES ?? '1,10,100,1000,10000').split(',').map(Number);
/** Matches over the first 200 events, from ../shared/bench/README.md. */
const EXPECTED: Record<string, Record<number, number>> = {
  routing: { 1: 0, 10: 0, 100: 2, 1000: 27, 10000: 193 },
  dense: { 1: 13, 10: 103, 100: 982, 1000: 10040 },
};
const seconds = Number(process.env.BENCH_SECONDS ?? '0.5');

/**
 * Events per second of `fn` over the event texts. The machine is shared, so the run is cut into
 * chunks of 20 to 100 events and the fastest chunk speed is kept: other processes only ever slow a
 * chunk down. Runs for about `seconds`, after a warm-up.
 */
function rate(fn: (text: string) => number): number {
  let sink = 0;
  // Warm up for half the measuring time, at least a quarter of a second: on a loaded machine the
  // optimizing compiler, which runs in the background, can take that long to deliver. Then size
  // chunks to about 5 ms (20 to 100 events) so that slow cells still get several chances while
  // no chunk is a single easy event.
  const w = performance.now();
  const warmMs = Math.max(250, (seconds * 1000) / 2);
  let warm = 0;
  while (warm < 20 || performance.now() - w < warmMs) sink += fn(events[warm++ % events.length]);
  const perEvent = (performance.now() - w) / warm;
  const chunk = Math.max(20, Math.min(100, Math.round(5 / perEvent)));
  let n = 0;
  let best = 0;
  const deadline = performance.now() + seconds * 1000;
  while (performance.now() < deadline) {
    const t = performance.now();
    for (let i = 0; i < chunk; i++) sink += fn(events[(n + i) % events.length]);
    const dt = performance.now() - t;
    best = Math.max(best, chunk / (dt / 1000));
    n += chunk;
  }
  if (sink < 0) console.log(sink);
  return best;
}

const fmt = (x: number) => Math.round(x).toLocaleString('en-US');

const parseOnly = (t: string) => ((JSON.parse(t) as object) ? 1 : 0);
const meanBytes = Math.round(events.reduce((s, e) => s + e.length, 0) / events.length);
console.log(`${events.length} events, mean ${meanBytes} bytes; fastest chunk (20 to 100 events) over ${seconds} s per measurement\n`);
console.log(
  '| mix | rules | engine events/s | JSON.parse only events/s | engine / JSON.parse | naive events/s | matches (first 200 events) |',
);
console.log('|---|---:|---:|---:|---:|---:|---|');

// A full collection between cells, so that one cell's garbage (thousands of naive matchers)
// is not collected during the next cell's measurement.
setFlagsFromString('--expose-gc');
const collect = runInNewContext('gc') as () => void;

let failed = false;
for (const [mix, rules] of Object.entries(mixes).filter(([m]) => (process.env.BENCH_MIX ?? m) === m)) {
  for (const n of SIZES) {
    collect();
    const matcher = new RuleMatcher<number>();
    const t0 = performance.now();
    for (let i = 0; i < n; i++) matcher.add(i, rules[i]);
    const buildMs = performance.now() - t0;
    let matches = 0;
    for (let i = 0; i < 200; i++) matches += matcher.match(events[i]).length;
    const expected = EXPECTED[mix][n];
    const check = expected === undefined ? `${matches}` : matches === expected ? `${matches} ok` : `${matches} WRONG (want ${expected})`;
    if (expected !== undefined && matches !== expected) failed = true;
    // Cross-check against testing each rule on its own, on a few events.
    for (let i = 0; i < 5; i++) {
      const got = new Set(matcher.match(events[i]));
      for (let r = 0; r < Math.min(n, 1000); r++) {
        if (testEventPattern(rules[r], events[i]) !== got.has(r)) {
          failed = true;
          console.log(`disagreement: rule ${r}, event ${i}`);
        }
      }
    }
    collect();
    const engine = rate((t) => matcher.match(t).length);
    // Measured right after the engine, so both see the same load on a shared machine.
    const parseRate = rate(parseOnly);
    const perRule = rules.slice(0, n).map((r) => {
      const m = new Machine<number>();
      m.add(0, compile(r));
      return m;
    });
    const naive = rate((t) => {
      const ev = JSON.parse(t) as object;
      let c = 0;
      for (const m of perRule) c += m.match(ev).length;
      return c;
    });
    console.log(
      `| ${mix} | ${fmt(n)} | ${fmt(engine)} | ${fmt(parseRate)} | ${(engine / parseRate).toFixed(2)} | ${fmt(naive)} | ${check} (build ${buildMs.toFixed(0)} ms) |`,
    );
  }
}
process.exit(failed ? 1 : 0);
