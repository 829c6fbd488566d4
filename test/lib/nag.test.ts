import * as fs from 'fs';
import * as path from 'path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { IConstruct } from 'constructs';
import { app as loanApp } from '../../catalog';
import { buildStacks } from '../../lib/stacks';
import { NO_BUILTIN_VALIDATION } from '../support/cdk';
import { loanHandlers } from './helpers';

// GIVEN the stacks as `cdk synth` builds them: real esbuild bundling and both nag packs.
// `aws:cdk:enable-asset-metadata` is what the CDK CLI sets; the local runtime relies on it.
const outdir = fs.mkdtempSync('/tmp/loan-events-nag-');
afterAll(() => fs.rmSync(outdir, { recursive: true, force: true }));
const app = new App({ ...NO_BUILTIN_VALIDATION, outdir, context: { 'aws:cdk:enable-asset-metadata': true } });
const stacks = buildStacks(app, loanApp, { handlersDir: loanHandlers });
const allStacks: Stack[] = [stacks.router, ...Object.values(stacks.consumers)];
Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));

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
  test('AwsSolutions and Serverless packs report no unacknowledged finding', () => {
    // WHEN / THEN
    expect(() => app.synth()).not.toThrow();
  });

  test('the packs do report findings in this setup (control: an unencrypted queue without TLS or DLQ fails)', () => {
    // GIVEN
    const controlDir = fs.mkdtempSync('/tmp/loan-events-nag-control-');
    const control = new App({ ...NO_BUILTIN_VALIDATION, outdir: controlDir });
    const bad = new Stack(control, 'Control');
    new sqs.Queue(bad, 'Plain', { encryption: sqs.QueueEncryption.UNENCRYPTED });
    Validations.of(control).addPlugins(new AwsSolutionsChecks(control), new ServerlessChecks(control));
    // WHEN / THEN
    expect(() => control.synth()).toThrow(/SQS3|SQS4|SQSRedrivePolicy/);
    fs.rmSync(controlDir, { recursive: true, force: true });
  });

  test('every acknowledgement names a specific rule and gives a specific reason', () => {
    const acks = acknowledgements(app);
    expect(acks.length).toBeGreaterThan(0);
    for (const a of acks) {
      expect(a.id).toMatch(/^(AwsSolutions::AwsSolutions|Serverless::Serverless|CloudFormation-Validate::)-?[A-Za-z0-9]+(\[.+\])?$/);
      expect(a.reason.length).toBeGreaterThan(60);
    }
    // No blanket acknowledgement on a stack or the app.
    const stackPaths = new Set(['', ...allStacks.map((s) => s.node.path)]);
    expect(acks.filter((a) => stackPaths.has(a.path))).toEqual([]);
  });

  test('wildcard IAM findings are acknowledged only for X-Ray on roles, and on permissions boundaries', () => {
    const iam5 = acknowledgements(app).filter((a) => a.id.includes('IAM5'));
    for (const a of iam5) {
      if (a.path.endsWith('PublishBoundary')) {
        expect(a.id).toBe('AwsSolutions::AwsSolutions-IAM5');
        expect(a.reason).toMatch(/permissions boundary, which grants nothing/);
      } else {
        expect(a.id).toBe('AwsSolutions::AwsSolutions-IAM5[Resource::*]');
        expect(a.reason).toMatch(/xray:PutTraceSegments/);
      }
    }
  });

  test('function code is bundled by the local esbuild, minified, with a source map', () => {
    const assembly = app.synth();
    const functions = allStacks.flatMap((stack) =>
      Object.values((assembly.getStackByName(stack.stackName).template as { Resources: Record<string, any> }).Resources).filter(
        (r) => r.Type === 'AWS::Lambda::Function',
      ),
    );
    expect(functions).toHaveLength(loanApp.catalog.consumers.length);
    for (const fn of functions) {
      const assetDir = path.join(assembly.directory, fn.Metadata['aws:asset:path']);
      const files = fs.readdirSync(assetDir).sort();
      expect(files).toEqual(['index.js', 'index.js.map']);
      const code = fs.readFileSync(path.join(assetDir, 'index.js'), 'utf8');
      // Minified: long lines, no indented source lines left.
      expect(code.length / code.split('\n').length).toBeGreaterThan(1000);
      expect(code).toContain('handler');
      expect(fn.Properties.Environment.Variables.NODE_OPTIONS).toBe('--enable-source-maps');
    }
  });
});
