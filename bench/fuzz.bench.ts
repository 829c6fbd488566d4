/**
 * HTTP fuzzing as a benchmark (`npm run bench -- fuzz`): the harness of test/runtime/fuzz.test.ts,
 * run longer, reporting requests per second and every invariant violation and InternalFailure.
 * FUZZ_REQUESTS (default 50,000), FUZZ_SEED (default random, printed), FUZZ_LANES (default 12).
 * Exits 1 when anything was found, so a long run can gate a release.
 */
import * as os from 'node:os';
import { Fuzzer, OPERATION_COUNT } from '../test/runtime/fuzz-harness';
import { FIXTURE_APP, startHarness } from '../test/runtime/helpers';
import { dynamo } from '../test/runtime/raw-http';
import { silenceSdkNodeVersionWarning } from '../sdk/node-version-notice';

silenceSdkNodeVersionWarning();

const REQUESTS = Number(process.env.FUZZ_REQUESTS ?? 50_000);
const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : Math.floor(Math.random() * 2 ** 31);
const LANES = Number(process.env.FUZZ_LANES ?? 12);

async function main(): Promise<void> {
  const h = await startHarness(FIXTURE_APP, { quiet: true, prewarm: false });
  try {
    const table = (JSON.parse((await dynamo(h.endpoint, 'ListTables', {})).body) as { TableNames: string[] }).TableNames[0]!;
    const rssBefore = process.memoryUsage().rss;
    const report = await new Fuzzer({ endpoint: h.endpoint, seed: SEED, requests: REQUESTS, table, lanes: LANES }).run();
    const rate = Math.round((report.sent * 1000) / report.elapsedMs);
    console.log(`seed ${SEED}, ${LANES} lanes, ${OPERATION_COUNT} operations, load average ${os.loadavg()[0]!.toFixed(1)} at the end`);
    console.log(
      `${report.sent} requests in ${(report.elapsedMs / 1000).toFixed(1)} s: ${rate} requests/s (oracle and canary requests not counted)`,
    );
    console.log(`statuses ${JSON.stringify(report.statuses)}; ${report.canaries} canaries delivered exactly once`);
    console.log(`RSS ${Math.round(rssBefore / 2 ** 20)} MiB before, ${Math.round(process.memoryUsage().rss / 2 ** 20)} MiB after`);
    console.log(`${report.violations.length} invariant violations, ${report.internalFailures.length} InternalFailure answers`);
    for (const v of report.violations.slice(0, 20))
      console.log(`  violation #${v.index} ${v.op}: ${v.invariant}: ${v.detail}\n    ${v.request.slice(0, 400)}`);
    for (const f of report.internalFailures.slice(0, 20)) console.log(`  InternalFailure #${f.index} ${f.op}: ${f.request.slice(0, 400)}`);
    process.exitCode = report.violations.length + report.internalFailures.length === 0 ? 0 : 1;
  } finally {
    await h.close();
  }
}

void main();
