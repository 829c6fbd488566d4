/**
 * An app split along the team's lines: one router stack (the bus) and one stack per consumer,
 * referring to each other by deterministic names and ARNs built from pseudo parameters, with no
 * exports; and a consumer in another account whose subscription stays with the bus.
 */
import { Assembly, arns, CloudAssembly, cloudNaming, localNaming, TemplateError } from '../../assembly';
import { hasTopology, loadTopology as loadCliTopology } from '../../cli/topology';
import { loadTopology } from '../../runtime/template';
import { cleanUp, tempDirs, writeAssembly } from './helpers';

afterAll(cleanUp);

const BUS = 'loan-events';
const ROUTER_ACCOUNT = '111111111111';
const CONSUMER_ACCOUNT = '222222222222';
const REGION = 'eu-west-1';
const ctx = { region: 'us-east-1', accountId: '000000000000', endpoint: 'http://127.0.0.1:4566', inlineCodeDirs: tempDirs };

/** The bus ARN as a consumer stack builds it: pseudo parameters plus the app's bus name. */
const busArnFromPseudo = { 'Fn::Sub': `arn:\${AWS::Partition}:events:\${AWS::Region}:\${AWS::AccountId}:event-bus/${BUS}` };

const router = {
  Resources: {
    Bus: { Type: 'AWS::Events::EventBus', Properties: { Name: BUS } },
    BusDlq: { Type: 'AWS::SQS::Queue', Properties: { QueueName: `${BUS}-bus-dlq` } },
  },
};

/** A consumer stack in the bus's account: rule on the bus by name, its queue, function and table. */
function consumer(name: string) {
  return {
    Resources: {
      Rule: {
        Type: 'AWS::Events::Rule',
        Properties: {
          Name: `${BUS}-${name}`,
          EventBusName: BUS,
          EventPattern: { 'detail-type': [`${name}-event`] },
          Targets: [{ Id: 'q', Arn: { 'Fn::GetAtt': ['Queue', 'Arn'] } }],
        },
      },
      Queue: { Type: 'AWS::SQS::Queue', Properties: { QueueName: `${BUS}-${name}` } },
      Fn: {
        Type: 'AWS::Lambda::Function',
        Properties: {
          FunctionName: `${BUS}-${name}`,
          Code: { ZipFile: 'exports.handler = async () => ({ batchItemFailures: [] })' },
          Handler: 'index.handler',
          Environment: { Variables: { BUS_ARN: busArnFromPseudo } },
        },
      },
      Map: {
        Type: 'AWS::Lambda::EventSourceMapping',
        Properties: { FunctionName: { Ref: 'Fn' }, EventSourceArn: { 'Fn::GetAtt': ['Queue', 'Arn'] } },
      },
      Table: {
        Type: 'AWS::DynamoDB::Table',
        Properties: {
          KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
          AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
        },
      },
    },
  };
}

describe('several stacks in one assembly', () => {
  const consumers = ['underwriting', 'notifications'];
  const dir = () =>
    writeAssembly([
      { id: 'Router', stackName: 'LoanEvents-Router', displayName: 'App/Router', template: router },
      ...consumers.map((c) => ({ id: c, stackName: `LoanEvents-${c}`, template: consumer(c), dependencies: ['Router'] })),
    ]);

  test('lists every stack with its name, display name and stack dependencies (assets left out)', () => {
    // WHEN
    const cloud = CloudAssembly.load(dir());
    // THEN
    expect(cloud.stacks.map((s) => [s.id, s.stackName, s.displayName, s.dependencies])).toEqual([
      ['Router', 'LoanEvents-Router', 'App/Router', []],
      ...consumers.map((c) => [c, `LoanEvents-${c}`, c, ['Router']]),
    ]);
    expect(cloud.stack('App/Router').id).toBe('Router');
    expect(() => cloud.stack('Nope')).toThrow("No stack 'Nope' in the cloud assembly");
  });

  test('the runtime loads every stack, and each consumer resolves the bus ARN the router stack has', () => {
    // WHEN
    const topo = loadTopology(dir(), ctx);
    // THEN
    expect(topo.stacks).toEqual(['LoanEvents-Router', ...consumers.map((c) => `LoanEvents-${c}`)]);
    expect(topo.buses.map((b) => b.name)).toEqual([BUS]);
    const busArn = topo.buses[0]?.arn;
    expect(busArn).toBe(arns.eventBus({ partition: 'aws', region: ctx.region, account: ctx.accountId }, BUS));
    expect(topo.functions.map((f) => f.environment.BUS_ARN)).toEqual(consumers.map(() => busArn));
    expect(topo.rules.map((r) => [r.name, r.busName, r.targets[0]?.arn])).toEqual(
      consumers.map((c) => [`${BUS}-${c}`, BUS, topo.queues.find((q) => q.name === `${BUS}-${c}`)?.arn]),
    );
    // Generated names stay unique across stacks: they carry the stack name.
    expect(topo.tables.map((t) => t.name)).toEqual(consumers.map((c) => `LoanEvents-${c}-Table`));
  });

  test('the CLI draws one picture of all stacks that share the prefix, linking rule to queue to function', () => {
    // WHEN
    const topo = loadCliTopology({ assembly: dir(), stack: 'LoanEvents', cwd: '/' });
    // THEN
    expect(topo.busName).toBe(BUS);
    expect(topo.rules.map((r) => r.name)).toEqual(consumers.map((c) => `${BUS}-${c}`));
    for (const rule of topo.rules) {
      const queueId = rule.targets[0]?.queueId;
      expect(queueId).toBeDefined();
      const fn = topo.functions.find((f) => f.sources.some((s) => s.queueId === queueId));
      expect(fn?.name).toBe(rule.name);
    }
  });

  test('the CLI finds stacks to read by prefix, and none for a name the assembly lacks', () => {
    const d = dir();
    expect(hasTopology({ assembly: d, stack: 'LoanEvents', cwd: '/' })).toBe(true);
    expect(hasTopology({ assembly: d, stack: 'Orders', cwd: '/' })).toBe(false);
  });

  test('one stack is read alone when named exactly', () => {
    const topo = loadCliTopology({ assembly: dir(), stack: 'LoanEvents-notifications', cwd: '/' });
    expect(topo.rules.map((r) => r.name)).toEqual([`${BUS}-notifications`]);
  });
});

describe('stacks with explicit environments in two accounts', () => {
  /** The consumer's queue lives in account B; its subscription (rule and target) stays in the bus's account A. */
  const subscription = {
    Resources: {
      Rule: {
        Type: 'AWS::Events::Rule',
        Properties: {
          Name: `${BUS}-billing`,
          EventBusName: BUS,
          EventPattern: { 'detail-type': ['InvoiceIssued'] },
          Targets: [
            {
              Id: 'billing',
              // Deterministic: pseudo parameters of the bus's stack plus the consumer's account and queue name from the app config.
              Arn: {
                'Fn::Join': [':', ['arn', { Ref: 'AWS::Partition' }, 'sqs', { Ref: 'AWS::Region' }, CONSUMER_ACCOUNT, 'billing-queue']],
              },
            },
          ],
        },
      },
    },
  };
  const billing = {
    Resources: {
      Queue: { Type: 'AWS::SQS::Queue', Properties: { QueueName: 'billing-queue' } },
      Key: { Type: 'AWS::KMS::Key', Properties: {} },
    },
    Outputs: { Who: { Value: { Ref: 'AWS::AccountId' } } },
  };
  const dir = () =>
    writeAssembly([
      { id: 'Router', template: router, environment: `aws://${ROUTER_ACCOUNT}/${REGION}` },
      { id: 'BillingSubscription', template: subscription, environment: `aws://${ROUTER_ACCOUNT}/${REGION}`, dependencies: ['Router'] },
      { id: 'Billing', template: billing, environment: `aws://${CONSUMER_ACCOUNT}/${REGION}` },
    ]);

  test('each stack resolves the pseudo parameters of its own environment, not the caller defaults', () => {
    // WHEN
    const assembly = Assembly.load(dir(), { naming: cloudNaming, defaults: { account: '000000000000', region: 'us-east-1' } });
    // THEN
    expect(assembly.stack('Router').env).toEqual({ account: ROUTER_ACCOUNT, region: REGION, partition: 'aws' });
    expect(assembly.stack('Billing').resolver.resolve({ Ref: 'AWS::AccountId' })).toBe(CONSUMER_ACCOUNT);
    const key = assembly.stack('Billing').ofType('AWS::KMS::Key')[0];
    expect(key?.arn).toMatch(new RegExp(`^arn:aws:kms:${REGION}:${CONSUMER_ACCOUNT}:key/[0-9a-f-]{36}$`));
  });

  test("the runtime topology keeps each resource's account, and the rule's target is the other account's queue ARN", () => {
    // WHEN
    const topo = loadTopology(dir(), ctx);
    // THEN
    const rule = topo.rules.find((r) => r.name === `${BUS}-billing`);
    const queue = topo.queues.find((q) => q.name === 'billing-queue');
    expect(rule).toMatchObject({ account: ROUTER_ACCOUNT, region: REGION, busName: BUS });
    expect(rule?.arn).toBe(arns.rule({ partition: 'aws', region: REGION, account: ROUTER_ACCOUNT }, BUS, `${BUS}-billing`));
    expect(queue).toMatchObject({ account: CONSUMER_ACCOUNT, region: REGION, stack: 'Billing' });
    expect(queue?.arn).toBe(`arn:aws:sqs:${REGION}:${CONSUMER_ACCOUNT}:billing-queue`);
    expect(rule?.targets[0]?.arn).toBe(queue?.arn);
    expect(topo.buses[0]).toMatchObject({ account: ROUTER_ACCOUNT, arn: `arn:aws:events:${REGION}:${ROUTER_ACCOUNT}:event-bus/${BUS}` });
  });

  test('a stack with only an explicit region takes the default account and the region’s partition', () => {
    const d = writeAssembly([{ id: 'China', template: billing, environment: 'aws://unknown-account/cn-north-1' }]);
    const a = Assembly.load(d, { naming: localNaming('http://x'), defaults: { account: '000000000000', region: 'us-east-1' } });
    expect(a.stack('China').env).toEqual({ account: '000000000000', region: 'cn-north-1', partition: 'aws-cn' });
    expect(a.stack('China').ofType('AWS::SQS::Queue')[0]?.arn).toBe('arn:aws-cn:sqs:cn-north-1:000000000000:billing-queue');
  });
});

describe('Fn::ImportValue', () => {
  const exporter = {
    Resources: { Bus: { Type: 'AWS::Events::EventBus', Properties: { Name: BUS } } },
    Outputs: { BusArn: { Value: { 'Fn::GetAtt': ['Bus', 'Arn'] }, Export: { Name: { 'Fn::Sub': '${AWS::StackName}-BusArn' } } } },
  };
  const importer = {
    Resources: {
      Q: { Type: 'AWS::SQS::Queue', Properties: { QueueName: 'q', Tags: [{ Key: 'bus', Value: { 'Fn::ImportValue': 'Router-BusArn' } }] } },
    },
  };
  const dir = () =>
    writeAssembly([
      { id: 'Router', template: exporter, environment: `aws://${ROUTER_ACCOUNT}/${REGION}` },
      { id: 'Consumer', template: importer },
    ]);

  test("resolves from the exporting stack's Outputs, in that stack's environment", () => {
    const a = Assembly.load(dir(), { naming: cloudNaming, defaults: { account: '000000000000', region: 'us-east-1' } });
    const q = a.stack('Consumer').ofType('AWS::SQS::Queue')[0];
    expect(q?.properties.Tags).toEqual([{ Key: 'bus', Value: `arn:aws:events:${REGION}:${ROUTER_ACCOUNT}:event-bus/${BUS}` }]);
  });

  test('is an error naming the stack and resource when the caller chooses no imports, or nothing exports the name', () => {
    const strict = Assembly.load(dir(), { naming: cloudNaming, defaults: ctxDefaults, imports: 'error' });
    expect(() => strict.stack('Consumer').ofType('AWS::SQS::Queue')[0]?.properties).toThrow(
      new TemplateError(
        'Fn::ImportValue Router-BusArn: exports are not resolved here; stacks of this app refer to each other by deterministic names (stack Consumer, resource Q)',
      ),
    );
    const lonely = Assembly.load(writeAssembly([{ id: 'Consumer', template: importer }]), { naming: cloudNaming, defaults: ctxDefaults });
    expect(() => lonely.stack('Consumer').ofType('AWS::SQS::Queue')[0]?.properties).toThrow(
      "No stack of the assembly exports 'Router-BusArn'",
    );
  });
});

const ctxDefaults = { account: ctx.accountId, region: ctx.region };
