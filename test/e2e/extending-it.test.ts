/**
 * The README's "Extending it" steps, performed on a copy of the example and run: the consumer
 * snippet is taken from README.md itself and pasted into a copy of catalog/loans.ts, listed in
 * `loanCatalog.consumers`, and given a handler written with the consumer library as docs/sdk.md
 * says. The copy synthesizes (test/lib/independence.test.ts checks the templates and cdk-nag) and
 * runs in the local runtime, where the new consumer's handler receives exactly the events it
 * subscribed to.
 */
import '../support/sdk-warning';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App } from 'aws-cdk-lib';
import { EventPublisher } from '../../sdk';
import type { AppDefinition, ConsumerDefinition, DataOf, EventDefinition } from '../../sdk/catalog';
import { names } from '../../sdk/catalog';
import { buildStacks } from '../../lib/stacks';
import { Harness, waitFor } from '../runtime/helpers';
import { startE2eHarness } from './harness';
import { TEST_APP } from '../support/cdk';
import { projectScratchDir } from '../support/scratch';

jest.setTimeout(240_000);

const ROOT = path.resolve(__dirname, '..', '..');

/** The README's consumer snippet: the first TypeScript block of "Extending it", up to its "list it" comment. */
function readmeConsumer(): { code: string; variable: string; name: string } {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const section = readme.split(/^## Extending it/m)[1];
  const block = section?.match(/```ts\n([\s\S]*?)```/)?.[1];
  if (!block) throw new Error('README.md has no TypeScript block under "## Extending it"');
  const code = block
    .split('\n')
    .filter((l) => !l.trim().startsWith('//'))
    .join('\n');
  const variable = code.match(/export const (\w+) = defineConsumer\(/)?.[1];
  const name = code.match(/name: '([a-z0-9-]+)'/)?.[1];
  if (!variable || !name) throw new Error(`README.md's consumer snippet is not one defineConsumer: ${code}`);
  return { code, variable, name };
}

/** Imports of the framework point at the real sdk/ from the copy. */
const toRealSdk = (source: string, depth: number) =>
  source.replace(new RegExp(`from '${'\\.\\./'.repeat(depth)}sdk`, 'g'), `from '${path.join(ROOT, 'sdk')}`);

/** Copies catalog/ and lambdas/ into `dir` and performs the README's two steps there. */
function extendCopy(dir: string, added: { code: string; variable: string; name: string }): void {
  for (const folder of ['catalog', 'lambdas']) fs.cpSync(path.join(ROOT, folder), path.join(dir, folder), { recursive: true });
  for (const file of fs.readdirSync(path.join(dir, 'catalog'))) {
    const p = path.join(dir, 'catalog', file);
    fs.writeFileSync(p, toRealSdk(fs.readFileSync(p, 'utf8'), 1));
  }
  for (const consumer of fs.readdirSync(path.join(dir, 'lambdas'))) {
    for (const file of fs.readdirSync(path.join(dir, 'lambdas', consumer))) {
      const p = path.join(dir, 'lambdas', consumer, file);
      fs.writeFileSync(p, toRealSdk(fs.readFileSync(p, 'utf8'), 2));
    }
  }
  // Step 1: the snippet in catalog/loans.ts, listed in loanCatalog.consumers.
  const loans = path.join(dir, 'catalog', 'loans.ts');
  const source = fs.readFileSync(loans, 'utf8');
  const at = source.indexOf('export const loanCatalog = defineCatalog(');
  if (at < 0) throw new Error('catalog/loans.ts no longer defines loanCatalog with defineCatalog');
  const listed = source.slice(at).replace(/consumers: \[([^\]]*)\]/, (_m, list: string) => `consumers: [${list}, ${added.variable}]`);
  if (listed === source.slice(at)) throw new Error('loanCatalog has no consumers list to add to');
  fs.writeFileSync(loans, `${source.slice(0, at)}${added.code}\n${listed}`);
  // Step 2: lambdas/<name>/index.ts, the consumer library's wiring around one route per subscribed event type.
  fs.mkdirSync(path.join(dir, 'lambdas', added.name));
  fs.writeFileSync(
    path.join(dir, 'lambdas', added.name, 'index.ts'),
    [
      `import { processPartialResponse } from '@aws-lambda-powertools/batch';`,
      `import { createConsumer, route, type ConsumedEvent } from '${path.join(ROOT, 'sdk', 'consumer')}';`,
      `import { loanCatalog, LoanApplicationSubmitted, ${added.variable} } from '../../catalog/loans';`,
      ``,
      `async function score(event: ConsumedEvent<typeof LoanApplicationSubmitted>): Promise<void> {`,
      `  event.logger.info('Application scored', { applicationId: event.data.applicationId, channel: event.data.channel });`,
      `}`,
      ``,
      `const consumer = createConsumer({ name: ${added.variable}.name, catalog: loanCatalog, routes: [route(LoanApplicationSubmitted, score)] });`,
      `const { recordHandler, processor } = consumer;`,
      `export const handler = consumer.instrument(async (event, context) => processPartialResponse(event, recordHandler, processor, { context }));`,
      ``,
    ].join('\n'),
  );
}

const added = readmeConsumer();
let copy: string;
let outdir: string;
// Made in beforeAll, not at load: a run that filters out every test runs neither hook.
afterAll(() => [copy, outdir].forEach((d) => d && fs.rmSync(d, { recursive: true, force: true })));

let h: Harness;
let definition: AppDefinition;
let consumer: ConsumerDefinition;
let Submitted: EventDefinition;

beforeAll(async () => {
  // GIVEN the README's steps performed on a copy of the example (under the project, so that the
  // copied handlers resolve their packages from its node_modules)
  copy = projectScratchDir('extending-');
  outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'extending-it-'));
  extendCopy(copy, added);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const example = require(path.join(copy, 'catalog')) as { app: AppDefinition; LoanApplicationSubmitted: EventDefinition };
  definition = example.app;
  Submitted = example.LoanApplicationSubmitted;
  const found = definition.catalog.consumers.find((c) => c.name === added.name);
  if (!found) throw new Error(`the copied catalog does not list ${added.name}`);
  consumer = found;
  // WHEN it is synthesized as `cdk synth` does (bundles and asset metadata) and run
  const app = new App({
    ...TEST_APP,
    outdir,
    context: { 'aws:cdk:enable-asset-metadata': true, 'aws:cdk:enable-path-metadata': true },
  });
  buildStacks(app, definition, { handlersDir: path.join(copy, 'lambdas') });
  app.synth();
  // Batching windows and visibility timeouts pass on a clock that jumps whenever the app is idle (5 ms).
  // Functions start on their first event: manual review (large amounts only) never gets one here,
  // and a prewarmed environment would load its handler and the SDK only to be stopped.
  h = await startE2eHarness(outdir, { prewarm: false });
});
afterAll(async () => {
  await h?.close();
});

test("the new consumer's stack runs, and its handler receives exactly the events its subscription selects", async () => {
  // GIVEN one application per intake channel of the schema
  const channels = (Submitted.data as unknown as { shape: { channel: { options: string[] } } }).shape.channel.options;
  const publisher = new EventPublisher({ eventBusName: definition.eventBusName, catalog: definition.catalog, client: h.events });
  const suffix = Date.now().toString(36);
  const idOf = (channel: string) => `app-${channel}-${suffix}`;
  // WHEN
  for (const channel of channels) {
    const data: DataOf<typeof Submitted> = {
      applicationId: idOf(channel),
      applicant: { applicantId: `c-${channel}`, name: 'Ada', email: 'ada@example.com', annualIncome: 90000, creditScore: 720 },
      amount: 50000,
      currency: 'EUR',
      termMonths: 60,
      purpose: 'auto',
      channel,
      submittedAt: new Date().toISOString(),
    };
    await publisher.publishEvent(Submitted, data);
  }
  // THEN the handler logged each application the README's filter selects, and no other
  const where = consumer.subscriptions[0]?.where as { channel?: string[] } | undefined;
  const selected = channels.filter((c) => where?.channel?.includes(c) ?? true);
  expect(selected.length).toBeGreaterThan(0);
  expect(selected.length).toBeLessThan(channels.length);
  // The handler's record as the runtime prints it: `12:00:01.123 [function] INFO  Application scored applicationId=... channel=...`.
  const prefix = ` [${names.consumerPrefix(definition, consumer.name)}] INFO  Application scored `;
  const scored = () =>
    h.lines
      .filter((l) => l.includes(prefix))
      .map((l) => /(?:^| )applicationId=(\S+)/.exec(l.slice(l.indexOf(prefix) + prefix.length))?.[1]);
  await waitFor(
    'the new consumer to score the selected applications',
    () => (scored().length >= selected.length ? true : undefined),
    60_000,
  );
  // Every other consumer has had its turn too (each application decided), so a wrongly delivered one would have shown.
  await waitFor(
    'every application decided',
    () => (h.recorded.of('event.published', (p) => p.source !== Submitted.source).length >= channels.length ? true : undefined),
    60_000,
  );
  expect(scored().sort()).toEqual(selected.map(idOf).sort());
  expect(h.recorded.of('function.failed')).toEqual([]);
});
