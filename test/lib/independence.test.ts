/**
 * The stacks deploy independently: adding, changing or removing a consumer leaves the router's
 * template byte-for-byte as it was unless the router must grant something new; no stack exports,
 * imports or depends on another; and the README's "Extending it" steps synthesize.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { z } from 'zod';
import { app as loanApp } from '../../catalog';
import { ApplicantNotified, LoanApplicationApproved, LoanApplicationSubmitted } from '../../catalog/loans';
import { AppDefinition, defineApp, defineCatalog, defineConsumer, defineEvent, on } from '../../sdk/catalog';
import { buildRouterStack, buildStacks } from '../../lib/stacks';
import { loanHandlers } from './helpers';
import { TEST_APP } from '../support/cdk';
import { projectScratchDir } from '../support/scratch';

/** Synthesizes `definition` into a fresh assembly and returns its directory. */
function synth(definition: AppDefinition, extraHandlers?: string, nag = false): { dir: string; manifest: any } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loan-events-independence-'));
  const app = new App({ ...TEST_APP, outdir: dir, context: { 'aws:cdk:bundling-stacks': [] } });
  const own = (name: string) => extraHandlers && fs.existsSync(path.join(extraHandlers, name, 'index.ts'));
  buildStacks(app, definition, {
    handlersDir: loanHandlers,
    handlerEntry: (c) => path.join(own(c.name) ? (extraHandlers as string) : loanHandlers, c.name, 'index.ts'),
  });
  if (nag) Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
  app.synth();
  return { dir, manifest: JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')) };
}
const routerTemplate = (dir: string) => fs.readFileSync(path.join(dir, 'LoanEvents-Router.template.json'), 'utf8');
const consumerTemplate = (dir: string, consumer: string) => fs.readFileSync(path.join(dir, `LoanEvents-${consumer}.template.json`), 'utf8');

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
const keep = <T extends { dir: string }>(x: T) => (dirs.push(x.dir), x);

// GIVEN the example, synthesized once.
const base = keep(synth(loanApp));

/** The example plus one consumer: with `publishes` false, exactly the README's "Extending it" consumer. */
function withConsumer(publishes: boolean): AppDefinition {
  const added = publishes
    ? defineConsumer({
        name: 'audit-log',
        description: 'Keeps a log of decisions.',
        subscriptions: [on(LoanApplicationApproved), on(LoanApplicationSubmitted, { amount: [{ numeric: ['>', 0] }] })],
        publishes: [ApplicantNotified],
      })
    : defineConsumer({
        name: 'fraud-check',
        description: 'Scores every application submitted through a broker.',
        subscriptions: [on(LoanApplicationSubmitted, { channel: ['broker'] })],
        publishes: [],
        tuning: { batchSize: 10, maxConcurrency: 5, timeoutSeconds: 30, maxReceiveCount: 5 },
      });
  return defineApp({ ...loanApp, catalog: defineCatalog({ ...loanApp.catalog, consumers: [...loanApp.catalog.consumers, added] }) });
}

/** A folder with the new consumer's `<name>/index.ts` (under the project, where its imports resolve). */
function handlersWith(name: string): string {
  const handlers = projectScratchDir('handlers-');
  dirs.push(handlers);
  fs.mkdirSync(path.join(handlers, name));
  fs.writeFileSync(path.join(handlers, name, 'index.ts'), 'export const handler = async () => ({ batchItemFailures: [] });\n');
  return handlers;
}

describe('adding a consumer', () => {
  test('the README\'s "Extending it" steps (one catalog entry, one handler) synthesize, cdk-nag clean, and leave the router template byte-for-byte unchanged', () => {
    // GIVEN the README's consumer in a copy of the catalog and its handler in a copy of lambdas/
    const handlers = handlersWith('fraud-check');
    // WHEN
    const next = keep(synth(withConsumer(false), handlers, true));
    // THEN
    expect(routerTemplate(next.dir)).toBe(routerTemplate(base.dir));
    expect(Object.keys(next.manifest.artifacts)).toContain('LoanEvents-fraud-check');
    // ... and every other consumer's, as removing one does.
    for (const c of loanApp.catalog.consumers)
      expect({ [c.name]: consumerTemplate(next.dir, c.name) }).toEqual({ [c.name]: consumerTemplate(base.dir, c.name) });
  });

  test('that publishes also leaves it unchanged: same-account publishers are known by name and bounded in their own stack', () => {
    const next = keep(synth(withConsumer(true), handlersWith('audit-log')));
    expect(routerTemplate(next.dir)).toBe(routerTemplate(base.dir));
  });

  test('changes the router template when the catalog changes what the router must grant (a new event type)', () => {
    const Extra = defineEvent({
      source: 'com.example.loans.extra',
      detailType: 'Extra',
      version: '1',
      description: 'An extra event type.',
      data: z.object({}),
    });
    const next = keep(
      synth(defineApp({ ...loanApp, catalog: defineCatalog({ ...loanApp.catalog, events: [...loanApp.catalog.events, Extra] }) })),
    );
    expect(routerTemplate(next.dir)).not.toBe(routerTemplate(base.dir));
  });
});

describe('removing a consumer', () => {
  test('needs nothing from the router: no stack depends on, exports to or imports from another', () => {
    for (const [id, artifact] of Object.entries<any>(base.manifest.artifacts)) {
      if (artifact.type !== 'aws:cloudformation:stack') continue;
      // Only the stack's own asset manifest, never another stack.
      expect({ id, dependencies: (artifact.dependencies ?? []).filter((d: string) => !d.endsWith('.assets')) }).toEqual({
        id,
        dependencies: [],
      });
      const template = fs.readFileSync(path.join(base.dir, artifact.properties.templateFile), 'utf8');
      expect(template).not.toContain('Fn::ImportValue');
      expect(template).not.toContain('"Export"');
    }
  });

  test('the router stack built alone (buildRouterStack, as the router-only template tests build it) is the same', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loan-events-independence-'));
    dirs.push(dir);
    const app = new App({ ...TEST_APP, outdir: dir, context: { 'aws:cdk:bundling-stacks': [] } });
    buildRouterStack(app, loanApp);
    app.synth();
    expect(routerTemplate(dir)).toBe(routerTemplate(base.dir));
  });

  test("without a consumer, the router template is the same, and so is every other consumer's", () => {
    const kept = loanApp.catalog.consumers.slice(0, -1);
    const fewer = keep(synth(defineApp({ ...loanApp, catalog: defineCatalog({ ...loanApp.catalog, consumers: kept }) })));
    expect(routerTemplate(fewer.dir)).toBe(routerTemplate(base.dir));
    // A consumer's stack comes from its own catalog entry and the app's props, never from the other
    // consumers (so a template test may build an app of the one consumer it reads).
    expect(kept.length).toBeGreaterThan(0);
    for (const c of kept)
      expect({ [c.name]: consumerTemplate(fewer.dir, c.name) }).toEqual({ [c.name]: consumerTemplate(base.dir, c.name) });
  });
});

describe('stacks', () => {
  test('one router stack and one stack per consumer, named from the app definition', () => {
    const stacks = Object.entries<any>(base.manifest.artifacts)
      .filter(([, a]) => a.type === 'aws:cloudformation:stack')
      .map(([id]) => id)
      .sort();
    expect(stacks).toEqual(['LoanEvents-Router', ...loanApp.catalog.consumers.map((c) => `LoanEvents-${c.name}`)].sort());
  });
});

describe('a consumer in another account', () => {
  const BUS_ACCOUNT = '111111111111';
  const CONSUMER_ACCOUNT = '222222222222';
  const remote = defineApp({
    ...loanApp,
    router: { account: BUS_ACCOUNT, region: 'eu-west-1' },
    catalog: defineCatalog({
      ...loanApp.catalog,
      consumers: loanApp.catalog.consumers.map((c) => (c.name === 'manual-review' ? { ...c, account: CONSUMER_ACCOUNT } : c)),
    }),
  });
  // GIVEN the app with manual-review in its own account, with both nag packs.
  const built = keep(synth(remote, undefined, true));
  const template = (id: string) => JSON.parse(fs.readFileSync(path.join(built.dir, `${id}.template.json`), 'utf8'));
  const resources = (id: string, type: string) => Object.values<any>(template(id).Resources).filter((r) => r.Type === type);

  test('synthesizes cdk-nag clean into two account environments', () => {
    const envs = Object.fromEntries(
      Object.entries<any>(built.manifest.artifacts)
        .filter(([, a]) => a.type === 'aws:cloudformation:stack')
        .map(([id, a]) => [id, a.environment]),
    );
    expect(envs['LoanEvents-Router']).toBe(`aws://${BUS_ACCOUNT}/eu-west-1`);
    expect(envs['LoanEvents-manual-review-subscription']).toBe(`aws://${BUS_ACCOUNT}/eu-west-1`);
    expect(envs['LoanEvents-manual-review']).toBe(`aws://${CONSUMER_ACCOUNT}/eu-west-1`);
    expect(envs['LoanEvents-underwriting']).toBe(`aws://${BUS_ACCOUNT}/eu-west-1`);
  });

  test('the subscription stays with the bus and delivers to the queue in the other account with a role of the bus account', () => {
    const [rule] = resources('LoanEvents-manual-review-subscription', 'AWS::Events::Rule');
    expect(rule.Properties.EventBusName).toBe('loan-events');
    const [target] = rule.Properties.Targets;
    expect(JSON.stringify(target.Arn)).toContain(`:${CONSUMER_ACCOUNT}:LoanEvents-manual-review`);
    expect(target.RoleArn).toBeDefined();
    expect(resources('LoanEvents-manual-review', 'AWS::Events::Rule')).toEqual([]);
  });

  test("the consumer's queue and key admit exactly that delivery role", () => {
    const deliveryRole = `arn:aws:iam::${BUS_ACCOUNT}:role/LoanEvents-manual-review-delivery`;
    const queuePolicies = resources('LoanEvents-manual-review', 'AWS::SQS::QueuePolicy');
    const allows = queuePolicies.flatMap((p) => p.Properties.PolicyDocument.Statement).filter((s: any) => s.Effect === 'Allow');
    expect(allows).toEqual([expect.objectContaining({ Sid: 'AllowSubscriptionToBuffer', Principal: { AWS: expect.anything() } })]);
    expect(JSON.stringify(allows[0].Principal)).toContain(':iam::111111111111:role/LoanEvents-manual-review-delivery');
    const [key] = resources('LoanEvents-manual-review', 'AWS::KMS::Key');
    const keyAllow = key.Properties.KeyPolicy.Statement.find((s: any) => s.Sid === 'AllowSubscriptionToEncryptThroughSqs');
    expect(JSON.stringify(keyAllow.Principal)).toContain(deliveryRole.split('::')[1]);
    expect(JSON.stringify(keyAllow.Condition)).toContain('kms:EncryptionContext:aws:sqs:arn');
  });
});
