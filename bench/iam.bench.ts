/**
 * IAM evaluator throughput: evaluations per second of the PutEvents check the local runtime will
 * run on every publish, against the synthesized stack's real bus policy and the publisher role's
 * identity policy (compiled once, as the runtime will). Three runs of `BENCH_SECONDS` (default 1)
 * each, median reported; an allowed publish and a forged one (denied by the bus policy).
 * `npm run bench -- iam`.
 */
import { spawnSync } from 'node:child_process';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { AccessRequest, compilePolicy, CompiledPolicy, PolicyEvaluator, principalOf } from '../iam';
import type { PolicyModel } from '../test/iam/support/policies';

const seconds = Number(process.env.BENCH_SECONDS ?? '1');
const RUNS = 3;

interface Synthesized {
  policies: PolicyModel;
  busArn: string;
  publisherRoles: Record<string, string>;
  events: { source: string; detailType: string; publisher?: string }[];
}

// Synthesis leaves a large CDK heap behind, which would make the collector, not the evaluator,
// the thing measured: synthesize in a child process and read its policies as JSON.
if (process.env.IAM_BENCH_SYNTH === '1') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { loadTopology } = require('../test/iam/support/stack') as typeof import('../test/iam/support/stack');
  const t = loadTopology();
  const out: Synthesized = {
    policies: t.policies,
    busArn: t.busArn,
    publisherRoles: t.publisherRoles,
    events: t.catalog.events.map((e) => ({
      source: e.source,
      detailType: e.detailType,
      publisher: t.catalog.publishers.find((p) => p.publishes.includes(e))?.name,
    })),
  };
  process.stdout.write(JSON.stringify(out));
  process.exit(0);
}
const child = spawnSync(process.execPath, ['--import', 'tsx', __filename], {
  env: { ...process.env, IAM_BENCH_SYNTH: '1' },
  maxBuffer: 64 * 2 ** 20,
  encoding: 'utf8',
});
if (child.status !== 0) throw new Error(`Synthesis failed: ${child.stderr}`);
const t = JSON.parse(child.stdout) as Synthesized;

const compiled = new Map<string, CompiledPolicy[]>();
for (const [role, policies] of Object.entries(t.policies.identity)) {
  compiled.set(
    role,
    policies.map((p) => compilePolicy(p.document, p.source)),
  );
}
const resources = new Map(Object.entries(t.policies.resource).map(([arn, p]) => [arn, compilePolicy(p.document, p.source)]));
const evaluator = new PolicyEvaluator({
  identityPolicies: (p) => compiled.get(p.roleArn ?? p.arn) ?? [],
  resourcePolicy: (arn) => resources.get(arn),
});

const [publisher, role] = Object.entries(t.publisherRoles)[0] as [string, string];
const own = t.events.find((e) => e.publisher === publisher);
if (!own) throw new Error(`The catalog has no event of ${publisher}`);
// A session of the publisher role, parsed once, as the runtime keeps it per access key.
const principal = principalOf(`${role.replace(':iam::', ':sts::').replace(':role/', ':assumed-role/')}/bench`);
const request = (source: string): AccessRequest => ({
  principal,
  action: 'events:PutEvents',
  resource: t.busArn,
  context: { 'events:source': source, 'events:detail-type': own.detailType, 'aws:SecureTransport': 'true' },
});
const cases = { [`${publisher} publishes ${own.detailType}`]: request(own.source), [`forged source`]: request('com.example.forged') };

function rate(r: AccessRequest): number {
  let n = 0;
  const start = performance.now();
  const deadline = start + seconds * 1000;
  while (performance.now() < deadline) {
    for (let i = 0; i < 1000; i++) evaluator.evaluate(r);
    n += 1000;
  }
  return n / ((performance.now() - start) / 1000);
}

// Collect what parsing left behind and warm every case up first, so that neither the collector
// nor the optimizing compiler runs in the middle of a measured run.
setFlagsFromString('--expose-gc');
(runInNewContext('gc') as () => void)();
for (const r of Object.values(cases)) rate(r);

const busStatements = resources.get(t.busArn)?.statements.length ?? 0;
console.log(`Bus policy: ${busStatements} statements; ${RUNS} runs of ${seconds} s each, median\n`);
console.log('| request | decision | evaluations/s (median) | runs |');
console.log('|---|---|---:|---|');
for (const [name, r] of Object.entries(cases)) {
  const decision = evaluator.evaluate(r);
  const runs = Array.from({ length: RUNS }, () => rate(r)).sort((a, b) => a - b);
  const median = runs[Math.floor(RUNS / 2)] as number;
  const fmt = (x: number) => Math.round(x).toLocaleString('en-US');
  console.log(`| ${name} | ${decision.decision} | ${fmt(median)} | ${runs.map(fmt).join(', ')} |`);
}
