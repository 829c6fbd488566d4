import * as fs from 'fs';
import * as path from 'path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { IConstruct } from 'constructs';
import { CloudAssembly, ensureSynth } from '../../assembly';
import { app as loanApp } from '../../catalog';
import { COMPLIANCE_PACKS, compliancePacks } from '../../lib/compliance';
import { buildStacks, EventRouterAppProps, EventRouterStacks } from '../../lib/stacks';
import { AppDefinition } from '../../sdk/catalog';
import { ordersApp, ordersHandlers } from '../fixtures/orders/catalog';
import { TEST_APP } from '../support/cdk';
import { loanHandlers } from './helpers';

const outdirs: string[] = [];
afterAll(() => outdirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

/** Every stack of an app: router, consumers, subscriptions and (isolated) networks. */
const stacksOf = (s: EventRouterStacks): Stack[] => [
  s.router,
  ...Object.values(s.consumers),
  ...Object.values(s.subscriptions),
  ...Object.values(s.networks),
];

/**
 * An app with the five packs as bin/app.ts wires them. Bundling is off: the packs read templates,
 * which do not depend on function code; the bundles `cdk synth` makes are checked in cdk.out below.
 * The example itself is not synthesized here: the cdk.out the suites share is bin/app.ts's own
 * synth with the packs, and its validation report is read below.
 */
function appWithPacks(definition: AppDefinition, props: Omit<EventRouterAppProps, 'handlersDir'> & { handlersDir: string }) {
  const outdir = fs.mkdtempSync('/tmp/loan-events-nag-');
  outdirs.push(outdir);
  const app = new App({ ...TEST_APP, outdir, context: { 'aws:cdk:bundling-stacks': [] } });
  const stacks = buildStacks(app, definition, props);
  Validations.of(app).addPlugins(...compliancePacks(app));
  return { app, stacks, all: stacksOf(stacks) };
}

// GIVEN the stacks as `cdk synth` builds them, with the five packs ...
const { app, stacks, all: allStacks } = appWithPacks(loanApp, { handlersDir: loanHandlers });
// ... and the isolated deployment, and the second domain (a consumer in another account) in both modes.
const variants = {
  'the example, isolated': appWithPacks(loanApp, { handlersDir: loanHandlers, isolated: true }),
  'the orders app': appWithPacks(ordersApp, { handlersDir: ordersHandlers }),
  'the orders app, isolated': appWithPacks(ordersApp, { handlersDir: ordersHandlers, isolated: true }),
};
const everyApp = { 'the example': { app, stacks, all: allStacks }, ...variants };

function acknowledgements(root: IConstruct): { path: string; id: string; reason: string }[] {
  return root.node.findAll().flatMap((c) =>
    c.node.metadata
      .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      // Each entry is `{ [ruleId]: reason }`.
      .flatMap((m) => Object.entries(m.data as Record<string, string>))
      .map(([id, reason]) => ({ path: c.node.path, id, reason })),
  );
}

describe('cdk-nag', () => {
  test('bin/app.ts runs the five packs', () => {
    const source = fs.readFileSync(path.join(__dirname, '..', '..', 'bin', 'app.ts'), 'utf8');
    expect(source).toContain('Validations.of(app).addPlugins(...compliancePacks(app))');
    expect(compliancePacks(new App()).map((p) => p.name)).toEqual([...COMPLIANCE_PACKS]);
  });

  test('AwsSolutions, Serverless, NIST 800-53 R5, HIPAA Security and PCI DSS 3.2.1 report no unacknowledged finding', async () => {
    // GIVEN the example as bin/app.ts synthesizes it, the cdk.out the suites share: a finding of any
    // pack or of CDK's built-in validation (cdk.json makes them errors) fails that synth
    const dir = await ensureSynth();
    // WHEN
    const report = JSON.parse(fs.readFileSync(path.join(dir, 'validation-report.json'), 'utf8')) as {
      pluginReports: { pluginName: string; conclusion: string; violations: unknown[] }[];
    };
    // THEN every pack ran over it and found nothing unacknowledged, nor did CDK's validation
    expect(report.pluginReports.map(({ pluginName, conclusion, violations }) => ({ pluginName, conclusion, violations }))).toEqual(
      [...COMPLIANCE_PACKS, 'CloudFormation Validate'].map((pluginName) => ({ pluginName, conclusion: 'success', violations: [] })),
    );
  }, 300_000);

  test.each(Object.entries(variants))('%s: no unacknowledged finding in any pack', (_name, variant) => {
    // WHEN / THEN: a finding in any stack fails the synth, naming the rule and the resource.
    expect(() => variant.app.synth()).not.toThrow();
  });

  test('the variants cover every kind of stack: router, consumers, a subscription and networks in two accounts', () => {
    const isolatedOrders = variants['the orders app, isolated'].stacks;
    expect(Object.keys(isolatedOrders.subscriptions).length).toBeGreaterThan(0);
    expect(new Set(Object.values(isolatedOrders.networks).map((s) => s.account)).size).toBe(2);
    expect(Object.keys(variants['the example, isolated'].stacks.networks)).toHaveLength(1);
  });

  test('the packs do report findings in this setup (control: an unencrypted queue without TLS or DLQ fails)', () => {
    // GIVEN
    const controlDir = fs.mkdtempSync('/tmp/loan-events-nag-control-');
    const control = new App({ ...TEST_APP, outdir: controlDir });
    const bad = new Stack(control, 'Control');
    new sqs.Queue(bad, 'Plain', { encryption: sqs.QueueEncryption.UNENCRYPTED });
    Validations.of(control).addPlugins(new AwsSolutionsChecks(control), new ServerlessChecks(control));
    // WHEN / THEN
    expect(() => control.synth()).toThrow(/SQS3|SQS4|SQSRedrivePolicy/);
    fs.rmSync(controlDir, { recursive: true, force: true });
  });

  test.each(Object.entries(everyApp))(
    '%s: every acknowledgement names a specific rule and gives a specific reason, on a resource',
    (_name, v) => {
      const acks = acknowledgements(v.app);
      expect(acks.length).toBeGreaterThan(0);
      const packs = COMPLIANCE_PACKS.map((p) => p.replace(/\./g, '\\.')).join('|');
      const ruleId = new RegExp(`^((${packs})::(${packs})|CloudFormation-Validate::)-?[A-Za-z0-9]+(\\[.+\\])?$`);
      for (const a of acks) {
        expect(a.id).toMatch(ruleId);
        expect(a.reason.length).toBeGreaterThan(60);
      }
      // No blanket acknowledgement on a stack or the app.
      const stackPaths = new Set(['', ...v.all.map((s) => s.node.path)]);
      expect(acks.filter((a) => stackPaths.has(a.path))).toEqual([]);
    },
  );

  test('the Lambda DLQ rule is acknowledged only on functions an SQS event source mapping invokes', () => {
    for (const v of Object.values(everyApp)) {
      const dlq = acknowledgements(v.app).filter((a) => a.id.endsWith('-LambdaDLQ'));
      expect(dlq.length).toBeGreaterThan(0);
      for (const a of dlq) {
        const fn = v.app.node.findAll().find((c) => c.node.path === a.path);
        expect(fn).toBeInstanceOf(lambda.Function);
        const mappings = (fn as lambda.Function).node.findAll().filter((c) => c instanceof lambda.CfnEventSourceMapping);
        expect(mappings).toHaveLength(1);
        expect(a.reason).toMatch(/SQS event source mapping/);
      }
    }
  });

  test('functions are acknowledged outside a VPC only in the default deployment; isolated, none is', () => {
    const insideVpc = (v: { app: App }) => acknowledgements(v.app).filter((a) => a.id.endsWith('-LambdaInsideVPC'));
    expect(insideVpc(everyApp['the example']).length).toBe(3 * loanApp.catalog.consumers.length);
    expect(insideVpc(everyApp['the example, isolated'])).toEqual([]);
    expect(insideVpc(everyApp['the orders app, isolated'])).toEqual([]);
  });

  test('wildcard IAM findings are acknowledged only for X-Ray and VPC network interfaces on roles, and on permissions boundaries', () => {
    for (const v of Object.values(everyApp)) {
      const iam5 = acknowledgements(v.app).filter((a) => a.id.includes('IAM5'));
      for (const a of iam5) {
        if (a.path.endsWith('PublishBoundary')) {
          expect(a.id).toBe('AwsSolutions::AwsSolutions-IAM5');
          expect(a.reason).toMatch(/permissions boundary, which grants nothing/);
        } else if (a.path.endsWith('DeliveryRole')) {
          // A subscription's delivery role may use a key of the consumer's account, by ViaService and queue.
          expect(a.id).toMatch(/^AwsSolutions::AwsSolutions-IAM5\[Resource::arn:<AWS::Partition>:kms:[^:]+:\d{12}:key\/\*\]$/);
          expect(a.reason).toMatch(/kms:ViaService and the queue's encryption context/);
        } else {
          expect(a.id).toBe('AwsSolutions::AwsSolutions-IAM5[Resource::*]');
          expect(a.reason).toMatch(/xray:PutTraceSegments/);
        }
      }
    }
  });

  test('function code is bundled by the local esbuild, minified, with a source map, in the cdk.out that `cdk synth` makes', async () => {
    // GIVEN the example as bin/app.ts synthesizes it (shared with the other suites that read cdk.out)
    const assembly = CloudAssembly.load(await ensureSynth());
    const functions = assembly.stacks.flatMap((stack) =>
      Object.values(stack.template.Resources as Record<string, any>)
        .filter((r) => r.Type === 'AWS::Lambda::Function')
        .map((fn) => ({ fn, dir: stack.dir })),
    );
    // THEN
    expect(assembly.stacks.map((s) => s.stackName).sort()).toEqual(allStacks.map((s) => s.stackName).sort());
    expect(functions).toHaveLength(loanApp.catalog.consumers.length);
    for (const { fn, dir } of functions) {
      const assetDir = path.join(dir, fn.Metadata['aws:asset:path']);
      const files = fs.readdirSync(assetDir).sort();
      expect(files).toEqual(['index.js', 'index.js.map']);
      const code = fs.readFileSync(path.join(assetDir, 'index.js'), 'utf8');
      // Minified: long lines, no indented source lines left.
      expect(code.length / code.split('\n').length).toBeGreaterThan(1000);
      expect(code).toContain('handler');
      expect(fn.Properties.Environment.Variables.NODE_OPTIONS).toBe('--enable-source-maps');
    }
  }, 300_000);
});
