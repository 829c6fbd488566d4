/**
 * Fuzzes the runtime's HTTP endpoint (see fuzz-harness.ts for the invariants). Bounded in count
 * and time; reproducible: `FUZZ_SEED=<seed> npx jest test/runtime/fuzz` (the seed is in the test's
 * name and in its summary line). `FUZZ_REQUESTS` changes the count: `FUZZ_REQUESTS=20000` for a
 * deep run; `npm run bench -- fuzz` runs a longer session and reports requests per second.
 *
 * The default of 5,000 requests is what `npm test` can afford (a few CPU-seconds) and still makes
 * every run cover the whole surface: with the 58 operations served today, a quarter of the requests
 * kept valid and the rest split over five kinds of mutation, the rarest kinds (a raw body, 4 %,
 * and browser headers, 5 %) reach each operation about 3.4 and 4.3 times, a protocol swap about
 * 7 times and a value mutation about 50 times; and two canary flows pass (after 2,500 requests and
 * at the end). Each run draws a new seed, so coverage adds up across runs; a failing seed is
 * replayed with the count it failed at.
 */
import { writeFileSync } from 'node:fs';
import { FIXTURE_APP, Harness, startHarness } from './helpers';
import { Fuzzer, OPERATION_COUNT } from './fuzz-harness';
import { dynamo } from './raw-http';

const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : Math.floor(Math.random() * 2 ** 31);
const REQUESTS = requestsFromEnv(process.env.FUZZ_REQUESTS, 5000);

function requestsFromEnv(value: string | undefined, fallback: number): number {
  if (value === undefined || value.trim() === '') return fallback;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`FUZZ_REQUESTS must be a positive integer (given '${value}')`);
  return n;
}

let h: Harness;
beforeAll(async () => {
  h = await startHarness(FIXTURE_APP, { quiet: true, prewarm: false });
});
afterAll(async () => h.close());

test(`${REQUESTS} mutated requests over every protocol break no invariant (seed ${SEED})`, async () => {
  // GIVEN
  const table = (JSON.parse((await dynamo(h.endpoint, 'ListTables', {})).body) as { TableNames: string[] }).TableNames[0]!;
  const fuzzer = new Fuzzer({ endpoint: h.endpoint, seed: SEED, requests: REQUESTS, table, maxMs: 170_000 });
  // WHEN
  const report = await fuzzer.run();
  // THEN
  const summary = `FUZZ_SEED=${SEED}: ${report.sent} requests over ${OPERATION_COUNT} operations in ${report.elapsedMs} ms (${Math.round((report.sent * 1000) / report.elapsedMs)}/s), statuses ${JSON.stringify(report.statuses)}, ${report.canaries} canaries, ${report.internalFailures.length} InternalFailure, ${report.violations.length} violations`;
  console.log(summary);
  if (process.env.FUZZ_REPORT) writeFileSync(process.env.FUZZ_REPORT, JSON.stringify(report, null, 1));
  expect(report.sent).toBe(REQUESTS);
  expect(report.canaries).toBeGreaterThan(0);
  // The first few findings, whole; the seed reproduces the rest.
  expect(report.violations.slice(0, 5)).toEqual([]);
  expect(report.internalFailures.slice(0, 5)).toEqual([]);
}, 180_000);
