import * as fs from 'fs';
import * as path from 'path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { IConstruct } from 'constructs';
import { LoanEventsStack } from '../../lib/loan-events-stack';

// GIVEN the stack as `cdk synth` builds it: real esbuild bundling and both nag packs.
// `aws:cdk:enable-asset-metadata` is what the CDK CLI sets; the local runtime relies on it.
const app = new App({ outdir: fs.mkdtempSync('/tmp/loan-events-nag-'), context: { 'aws:cdk:enable-asset-metadata': true } });
const stack = new LoanEventsStack(app, 'LoanEvents');
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
    const control = new App({ outdir: fs.mkdtempSync('/tmp/loan-events-nag-control-') });
    const bad = new Stack(control, 'Control');
    new sqs.Queue(bad, 'Plain', { encryption: sqs.QueueEncryption.UNENCRYPTED });
    Validations.of(control).addPlugins(new AwsSolutionsChecks(control), new ServerlessChecks(control));
    // WHEN / THEN
    expect(() => control.synth()).toThrow(/SQS3|SQS4|SQSRedrivePolicy/);
  });

  test('every acknowledgement names a specific rule and gives a specific reason', () => {
    const acks = acknowledgements(stack);
    expect(acks.length).toBeGreaterThan(0);
    for (const a of acks) {
      expect(a.id).toMatch(/^(AwsSolutions::AwsSolutions|Serverless::Serverless)-[A-Za-z0-9]+(\[.+\])?$/);
      expect(a.reason.length).toBeGreaterThan(60);
    }
    // No blanket acknowledgement on the stack or app.
    expect(acks.filter((a) => a.path === stack.node.path || a.path === '')).toEqual([]);
  });

  test('wildcard IAM findings are acknowledged only for X-Ray, never for actions', () => {
    const iam5 = acknowledgements(stack).filter((a) => a.id.includes('IAM5'));
    expect(iam5.map((a) => a.id)).toEqual(iam5.map(() => 'AwsSolutions::AwsSolutions-IAM5[Resource::*]'));
    for (const a of iam5) expect(a.reason).toMatch(/xray:PutTraceSegments/);
  });

  test('function code is bundled by the local esbuild, minified, with a source map', () => {
    const assembly = app.synth();
    const template = assembly.getStackByName(stack.stackName).template as { Resources: Record<string, any> };
    const functions = Object.values(template.Resources).filter((r) => r.Type === 'AWS::Lambda::Function');
    expect(functions).toHaveLength(3);
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
