/** The runtime's topology from the assembly model: intrinsics, conditions and names resolve as CloudFormation would, locally. */
import { writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TemplateError, loadTopology } from '../../runtime/template';
import { cleanUp, tempDir, tempDirs } from './helpers';

afterAll(cleanUp);

const ctx = { region: 'eu-west-1', accountId: '123456789012', endpoint: 'http://127.0.0.1:9999', inlineCodeDirs: tempDirs };

function assembly(resources: object, extra: object = {}): string {
  const dir = tempDir('tpl-');
  writeFileSync(
    path.join(dir, 'manifest.json'),
    JSON.stringify({
      version: '55.0.0',
      artifacts: { S: { type: 'aws:cloudformation:stack', properties: { templateFile: 'S.template.json' } } },
    }),
  );
  writeFileSync(path.join(dir, 'S.template.json'), JSON.stringify({ Resources: resources, ...extra }));
  return dir;
}

test('names without a name property are stack-logicalId, and Ref of a queue is its local URL', () => {
  // GIVEN
  const dir = assembly({
    Q: { Type: 'AWS::SQS::Queue' },
    F: { Type: 'AWS::SQS::Queue', Properties: { FifoQueue: true } },
    Fn: {
      Type: 'AWS::Lambda::Function',
      Properties: {
        Code: { ZipFile: 'exports.handler = async () => 1' },
        Handler: 'index.handler',
        Environment: { Variables: { URL: { Ref: 'Q' }, ARN: { 'Fn::GetAtt': ['F', 'Arn'] }, NAME: { 'Fn::GetAtt': ['Q', 'QueueName'] } } },
      },
    },
  });
  // WHEN
  const topo = loadTopology(dir, ctx);
  // THEN
  expect(topo.queues.map((q) => q.name).sort()).toEqual(['S-F.fifo', 'S-Q']);
  expect(topo.functions[0]?.environment).toEqual({
    URL: 'http://127.0.0.1:9999/123456789012/S-Q',
    ARN: 'arn:aws:sqs:eu-west-1:123456789012:S-F.fifo',
    NAME: 'S-Q',
  });
  expect(topo.functions[0]?.timeoutSeconds).toBe(3);
});

test('Fn::Sub, Fn::Join, Fn::Select, Fn::If with conditions, and AWS::NoValue resolve', () => {
  const dir = assembly(
    {
      Q: {
        Type: 'AWS::SQS::Queue',
        Properties: {
          QueueName: { 'Fn::Sub': ['${AWS::StackName}-${Env}-${AWS::Region}', { Env: { 'Fn::Select': [0, ['dev', 'prod']] } }] },
          DelaySeconds: { 'Fn::If': ['IsProd', 5, { Ref: 'AWS::NoValue' }] },
          VisibilityTimeout: { 'Fn::If': ['IsDev', { 'Fn::Join': ['', ['4', '2']] }, 1] },
        },
      },
      Skipped: { Type: 'AWS::SQS::Queue', Condition: 'IsProd' },
    },
    {
      Conditions: { IsProd: { 'Fn::Equals': [{ Ref: 'Stage' }, 'prod'] }, IsDev: { 'Fn::Not': [{ Condition: 'IsProd' }] } },
      Parameters: { Stage: { Type: 'String', Default: 'dev' } },
    },
  );
  const topo = loadTopology(dir, ctx);
  expect(topo.queues).toEqual([
    {
      name: 'S-dev-eu-west-1',
      arn: 'arn:aws:sqs:eu-west-1:123456789012:S-dev-eu-west-1',
      stack: 'S',
      account: '123456789012',
      region: 'eu-west-1',
      attributes: { VisibilityTimeout: '42' },
    },
  ]);
});

test('rules on a named bus get bus-qualified ARNs and targets keep their settings', () => {
  const dir = assembly({
    Bus: { Type: 'AWS::Events::EventBus', Properties: { Name: 'b' } },
    Q: { Type: 'AWS::SQS::Queue' },
    R: {
      Type: 'AWS::Events::Rule',
      Properties: {
        EventBusName: { 'Fn::GetAtt': ['Bus', 'Arn'] },
        EventPattern: { source: ['x'] },
        Targets: [{ Id: 't', Arn: { 'Fn::GetAtt': ['Q', 'Arn'] }, InputPath: '$.detail' }],
      },
    },
  });
  const topo = loadTopology(dir, ctx);
  expect(topo.rules[0]).toMatchObject({
    name: 'S-R',
    busName: 'b',
    pattern: '{"source":["x"]}',
    targets: [{ id: 't', arn: 'arn:aws:sqs:eu-west-1:123456789012:S-Q', inputPath: '$.detail' }],
  });
});

test('a reference to a missing resource is a TemplateError naming it', () => {
  const dir = assembly({ Q: { Type: 'AWS::SQS::Queue', Properties: { QueueName: { Ref: 'Nope' } } } });
  expect(() => loadTopology(dir, ctx)).toThrow(new TemplateError('Ref to unknown resource or parameter Nope (stack S, resource Q)'));
});

test('a directory without a cloud assembly is a TemplateError that says to synthesize', () => {
  expect(() => loadTopology(os.tmpdir(), ctx)).toThrow(/manifest.json is missing \(run cdk synth\)/);
});

test('a function without local code is skipped with a warning, not a failure', () => {
  const dir = assembly({
    Fn: {
      Type: 'AWS::Lambda::Function',
      Properties: { FunctionName: 'remote', Code: { S3Bucket: 'b', S3Key: 'k.zip' }, Handler: 'index.handler' },
    },
  });
  const topo = loadTopology(dir, ctx);
  expect(topo.functions).toEqual([]);
  expect(topo.warnings).toEqual([expect.stringContaining('function remote is not run: Function Fn in stack S has no local code')]);
});
