/**
 * Synthesis at scale: a generated catalog of N consumers (N = 3, 50, 150) and 50 publishers,
 * synthesized without bundling (asset contents do not change templates) and with both cdk-nag
 * packs. Reports the median of 3 synth runs per N, the largest template, the largest resource
 * count, the bus policy size and the rule count, and fails when a CloudFormation or EventBridge
 * limit is exceeded.
 *
 * Limits checked:
 * - 500 resources per stack, 1 MB per template uploaded to S3 (what `cdk deploy` does).
 *   @see https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html
 * - 300 rules per event bus (default quota). @see https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html
 * - the bus policy size, checked by the router's own validation (10,240 characters by default).
 *
 * `npm run bench -- synth-scale`, or `SYNTH_SCALE=3,50 npm run bench -- synth-scale`.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { z } from 'zod';
import { buildStacks } from '../lib/stacks';
import { defineApp, defineCatalog, defineConsumer, defineEvent, definePublisher, on } from '../sdk/catalog';

const MAX_RESOURCES = 500;
const MAX_TEMPLATE_BYTES = 1_000_000;
const MAX_RULES_PER_BUS = 300;
const RUNS = 3;
const PUBLISHERS = 50;

function generatedApp(consumers: number) {
  const events = Array.from({ length: PUBLISHERS }, (_, i) =>
    defineEvent({
      source: `com.example.gen.p${i}`,
      detailType: `Generated${i}`,
      version: '1',
      description: `Generated event type ${i}.`,
      data: z.object({ id: z.string(), amount: z.number() }),
    }),
  );
  const at = (i: number) => events[i % events.length] as (typeof events)[number];
  return defineApp({
    name: 'Scale',
    eventBusName: 'scale-events',
    metricsNamespace: 'Scale',
    catalog: defineCatalog({
      events,
      publishers: Array.from({ length: PUBLISHERS }, (_, i) =>
        definePublisher({ name: `publisher-${i}`, description: `Publisher ${i}.`, publishes: [at(i)] }),
      ),
      consumers: Array.from({ length: consumers }, (_, i) =>
        defineConsumer({
          name: `consumer-${i}`,
          description: `Consumer ${i}.`,
          subscriptions: [on(at(i)), on(at(i + 1), { amount: [{ numeric: ['>=', i] }] })],
          // Every third consumer publishes, so the bus policy would grow if it listed them.
          publishes: i % 3 === 0 ? [at(i + 2)] : [],
          stateTable: i % 2 === 0,
        }),
      ),
    }),
  });
}

function handlersFor(consumers: number): string {
  // The stacks check that each entry exists; bundling is off here, so an empty handler will do.
  const dir = fs.mkdtempSync(path.join(__dirname, '.synth-scale-handlers-'));
  for (let i = 0; i < consumers; i++) {
    fs.mkdirSync(path.join(dir, `consumer-${i}`));
    fs.writeFileSync(path.join(dir, `consumer-${i}`, 'index.ts'), 'export const handler = async () => ({ batchItemFailures: [] });\n');
  }
  return dir;
}

interface Run {
  ms: number;
  stacks: number;
  maxBytes: number;
  maxBytesStack: string;
  routerBytes: number;
  maxResources: number;
  rules: number;
  busPolicyChars: number;
}

function synthOnce(consumers: number, handlersDir: string): Run {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'synth-scale-'));
  try {
    const start = process.hrtime.bigint();
    const app = new App({ outdir, context: { 'aws:cdk:bundling-stacks': [] } });
    buildStacks(app, generatedApp(consumers), { handlersDir });
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
    const assembly = app.synth();
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    let maxBytes = 0;
    let maxBytesStack = '';
    let maxResources = 0;
    let rules = 0;
    let routerBytes = 0;
    let busPolicyChars = 0;
    for (const stack of assembly.stacks) {
      const file = path.join(assembly.directory, stack.templateFile);
      const bytes = fs.statSync(file).size;
      const template = stack.template as { Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }> };
      const resources = Object.values(template.Resources);
      if (bytes > maxBytes) [maxBytes, maxBytesStack] = [bytes, stack.stackName];
      maxResources = Math.max(maxResources, resources.length);
      rules += resources.filter((r) => r.Type === 'AWS::Events::Rule').length;
      if (stack.stackName.endsWith('-Router')) {
        routerBytes = bytes;
        const bus = resources.find((r) => r.Type === 'AWS::Events::EventBus');
        busPolicyChars = JSON.stringify(bus?.Properties?.Policy ?? {}).length;
      }
    }
    return { ms, stacks: assembly.stacks.length, maxBytes, maxBytesStack, routerBytes, maxResources, rules, busPolicyChars };
  } finally {
    fs.rmSync(outdir, { recursive: true, force: true });
  }
}

const sizes = (process.env.SYNTH_SCALE ?? '3,50,150').split(',').map(Number);
const rows: string[] = [];
let failed = false;
for (const n of sizes) {
  const handlers = handlersFor(n);
  try {
    const runs = Array.from({ length: RUNS }, () => synthOnce(n, handlers));
    const median = [...runs].sort((a, b) => a.ms - b.ms)[Math.floor(RUNS / 2)] as Run;
    const problems = [
      median.maxResources > MAX_RESOURCES && `${median.maxResources} resources in one stack (limit ${MAX_RESOURCES})`,
      median.maxBytes > MAX_TEMPLATE_BYTES && `${median.maxBytesStack} is ${median.maxBytes} bytes (limit ${MAX_TEMPLATE_BYTES})`,
      median.rules > MAX_RULES_PER_BUS && `${median.rules} rules on the bus (quota ${MAX_RULES_PER_BUS})`,
    ].filter(Boolean);
    if (problems.length > 0) failed = true;
    rows.push(
      `| ${n} | ${PUBLISHERS} | ${median.stacks} | ${(median.ms / 1000).toFixed(1)} s | ${(median.routerBytes / 1024).toFixed(1)} KB | ${(median.maxBytes / 1024).toFixed(1)} KB | ${median.maxResources} | ${median.rules} | ${median.busPolicyChars} | ${problems.join('; ') || 'within limits'} |`,
    );
    console.log(rows[rows.length - 1]);
  } finally {
    fs.rmSync(handlers, { recursive: true, force: true });
  }
}
console.log(
  '\n| consumers | publishers | stacks | synth, median of 3 (nag on, no bundling) | router template | largest template | most resources in a stack | rules on the bus | bus policy (chars, unresolved) | limits |',
);
console.log('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|');
for (const r of rows) console.log(r);
process.exit(failed ? 1 : 0);
