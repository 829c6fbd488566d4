/**
 * Pattern engine throughput: events per second over ../shared/bench/events.jsonl against the
 * first N rules of the routing and dense mixes, JSON.parse of the event included, beside
 * JSON.parse alone, a naive matcher that tests every rule in turn, and event-ruler's figures.
 * Each figure is the median of bench/measure.ts's runs. `npm run bench -- engine`;
 * `BENCH_MIX=dense`, `BENCH_SIZES=1000,10000` and `BENCH_NAIVE=0` run part of the table;
 * SHARED_DIR points at the shared folder when it is not beside the repository.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { RuleMatcher, testEventPattern } from '../engine';
import { Machine } from '../engine/machine';
import { compile } from '../engine';
import { header, load, measurePaired, measureRate, spread, type Runs } from './measure';

const shared = path.join(process.env.SHARED_DIR ?? path.resolve(__dirname, '..', '..', 'shared'), 'bench');
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
/**
 * event-ruler (Java 17, Jackson) on this machine kind, measured the same way (median of 3 runs of
 * >= 1 s after warm-up), from issue 14. No figure was published for 10 rules.
 */
const EVENT_RULER: Record<string, Record<number, number>> = {
  routing: { 1: 237_000, 100: 143_000, 1000: 68_000, 10000: 16_700 },
  dense: { 1: 271_000, 100: 67_000, 1000: 15_800, 10000: 1_260 },
};
const NAIVE = process.env.BENCH_NAIVE !== '0';

const fmt = (x: number) => Math.round(x).toLocaleString('en-US');

const parseOnly = (t: string) => ((JSON.parse(t) as object) ? 1 : 0);
const meanBytes = Math.round(events.reduce((s, e) => s + e.length, 0) / events.length);
const over = (fn: (text: string) => number): Runs => measureRate((i) => fn(events[i % events.length]!));
console.log(header());
console.log(`${events.length} events, mean ${meanBytes} bytes; events/s as median (slowest to fastest run)\n`);
console.log(
  '| mix | rules | engine events/s | event-ruler | engine / event-ruler | JSON.parse only events/s | engine / JSON.parse | naive events/s | matches (first 200 events) | load |',
);
console.log('|---|---:|---:|---:|---:|---:|---:|---:|---|---|');

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
    for (let i = 0; i < n; i++) matcher.add(i, rules[i]!);
    const buildMs = performance.now() - t0;
    let matches = 0;
    for (let i = 0; i < 200; i++) matches += matcher.match(events[i]!).length;
    const expected = EXPECTED[mix]?.[n];
    const check = expected === undefined ? `${matches}` : matches === expected ? `${matches} ok` : `${matches} WRONG (want ${expected})`;
    if (expected !== undefined && matches !== expected) failed = true;
    // Cross-check against testing each rule on its own, on a few events.
    for (let i = 0; i < 5; i++) {
      const got = new Set(matcher.match(events[i]!));
      for (let r = 0; r < Math.min(n, 1000); r++) {
        if (testEventPattern(rules[r]!, events[i]!) !== got.has(r)) {
          failed = true;
          console.log(`disagreement: rule ${r}, event ${i}`);
        }
      }
    }
    collect();
    // Engine and JSON.parse alternate run by run, so their ratio sees the same load.
    const paired = measurePaired(
      (i) => matcher.match(events[i % events.length]!).length,
      (i) => parseOnly(events[i % events.length]!),
    );
    const engine = paired.a;
    const parseRate = paired.b;
    let naive = '-';
    if (NAIVE) {
      const perRule = rules.slice(0, n).map((r) => {
        const m = new Machine<number>();
        m.add(0, compile(r));
        return m;
      });
      naive = spread(
        over((t) => {
          const ev = JSON.parse(t) as object;
          let c = 0;
          for (const m of perRule) c += m.match(ev).length;
          return c;
        }),
        fmt,
      );
    }
    const ruler = EVENT_RULER[mix]?.[n];
    console.log(
      `| ${mix} | ${fmt(n)} | ${spread(engine, fmt)} | ${ruler === undefined ? '-' : fmt(ruler)} | ${ruler === undefined ? '-' : (engine.median / ruler).toFixed(2)} | ${fmt(parseRate.median)} | ${spread(paired.ratio, (x) => x.toFixed(2))} | ${naive} | ${check} (build ${buildMs.toFixed(0)} ms) | ${load()} |`,
    );
  }
}
process.exit(failed ? 1 : 0);
