/**
 * Fuzzes the runtime's HTTP endpoint (see fuzz-harness.ts for the invariants). Bounded in count
 * and time; reproducible: `FUZZ_SEED=<seed> npx jest test/runtime/fuzz`. `FUZZ_REQUESTS` changes
 * the count; `npm run bench -- fuzz` runs a longer session and reports requests per second.
 */
import { writeFileSync } from 'node:fs';
import { FIXTURE_APP, Harness, startHarness } from './helpers';
import { Fuzzer, OPERATION_COUNT } from './fuzz-harness';
import { dynamo } from './raw-http';

const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : Math.floor(Math.random() * 2 ** 31);
const REQUESTS = Number(process.env.FUZZ_REQUESTS ?? 20000);

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
