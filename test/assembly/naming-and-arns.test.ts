/** The naming policies callers choose between, the intrinsics they share, and ARNs in every partition. */
import {
  arn,
  arns,
  busNameOf,
  cloudNaming,
  localNaming,
  NamingPolicy,
  parseArn,
  partitionOf,
  queueUrl,
  StackResolver,
  urlSuffixOf,
} from '../../assembly';

const template = {
  Parameters: { Stage: { Type: 'String', Default: 'dev' } },
  Conditions: { IsProd: { 'Fn::Equals': [{ Ref: 'Stage' }, 'prod'] } },
  Mappings: { Sizes: { dev: { memory: 128 } } },
  Resources: {
    Queue: { Type: 'AWS::SQS::Queue' },
    Fifo: { Type: 'AWS::SQS::Queue', Properties: { FifoQueue: true } },
    Key: { Type: 'AWS::KMS::Key' },
    Role: { Type: 'AWS::IAM::Role', Properties: { Path: '/service/' } },
    Bus: { Type: 'AWS::Events::EventBus', Properties: { Name: 'orders' } },
    Rule: { Type: 'AWS::Events::Rule', Properties: { EventBusName: { Ref: 'Bus' } } },
    Logs: { Type: 'AWS::Logs::LogGroup', Properties: { LogGroupName: '/aws/lambda/f' } },
    Thing: { Type: 'AWS::Custom::Thing' },
  },
};

const env = { account: '123456789012', region: 'eu-west-1' };
const resolver = (naming: NamingPolicy, defaults: { account: string; region: string; partition?: string } = env) =>
  new StackResolver({ stackName: 'Orders', template }, { naming, defaults });

describe('naming policies', () => {
  test('cloud naming: logical ids as names, regional queue URLs, UUID key ids, errors for what it has no rule for', () => {
    // GIVEN
    const r = resolver(cloudNaming);
    // THEN
    expect(r.resolve({ Ref: 'Queue' })).toBe('https://sqs.eu-west-1.amazonaws.com/123456789012/Queue');
    expect(r.getAtt('Queue', 'Arn')).toBe('arn:aws:sqs:eu-west-1:123456789012:Queue');
    expect(r.resolve({ Ref: 'Key' })).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(r.getAtt('Key', 'Arn')).toBe(`arn:aws:kms:eu-west-1:123456789012:key/${r.resolve({ Ref: 'Key' }) as string}`);
    expect(r.getAtt('Role', 'Arn')).toBe('arn:aws:iam::123456789012:role/service/Role');
    expect(r.resolve({ Ref: 'Rule' })).toBe('orders|Rule');
    expect(r.getAtt('Rule', 'Arn')).toBe('arn:aws:events:eu-west-1:123456789012:rule/orders/Rule');
    expect(r.getAtt('Logs', 'Arn')).toBe('arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/f:*');
    expect(() => r.getAtt('Queue', 'Nope')).toThrow("no rule for attribute 'Nope' of AWS::SQS::Queue");
    expect(() => r.resolve({ Ref: 'Thing' })).toThrow("Ref Thing: no rule for resource type AWS::Custom::Thing (naming policy 'cloud')");
  });

  test('local naming: <stack>-<logicalId> within the service limit, URLs on the local endpoint, stand-ins for the rest', () => {
    // GIVEN
    const r = resolver(localNaming('http://127.0.0.1:4566'));
    // THEN
    expect(r.physicalName('Queue')).toBe('Orders-Queue');
    expect(r.physicalName('Fifo')).toBe('Orders-Fifo.fifo');
    expect(r.resolve({ Ref: 'Queue' })).toBe('http://127.0.0.1:4566/123456789012/Orders-Queue');
    expect(r.resolve({ Ref: 'Key' })).toBe('Orders-Key');
    expect(r.getAtt('Queue', 'Nope')).toBe('Orders-Queue.Nope');
    expect(r.resolve({ Ref: 'Thing' })).toBe('Orders-Thing');
    expect(r.getAtt('Thing', 'Arn')).toBe('arn:aws:custom:eu-west-1:123456789012:Orders-Thing');
  });

  test('local names are cut to each service limit, keeping .fifo', () => {
    const long = 'L'.repeat(200);
    const r = new StackResolver(
      {
        stackName: 'S',
        template: {
          Resources: {
            [long]: { Type: 'AWS::SQS::Queue', Properties: { FifoQueue: 'true' } },
            [`${long}R`]: { Type: 'AWS::Events::Rule' },
          },
        },
      },
      { naming: localNaming('http://x'), defaults: env },
    );
    expect(r.physicalName(long)).toHaveLength(80);
    expect(r.physicalName(long).endsWith('.fifo')).toBe(true);
    expect(r.physicalName(`${long}R`)).toHaveLength(64);
  });

  test("a caller's own policy decides generated names, and names given in the template win over any policy", () => {
    const upper: NamingPolicy = {
      ...cloudNaming,
      name: 'upper',
      generatedName: (ctx) => `${ctx.stackName}_${ctx.logicalId}`.toUpperCase(),
    };
    const r = resolver(upper);
    expect(r.physicalName('Queue')).toBe('ORDERS_QUEUE');
    expect(r.physicalName('Bus')).toBe('orders');
  });

  test('a policy with `external` gives references outside the template a placeholder (sizing a document before synthesis)', () => {
    const sizing: NamingPolicy = { ...cloudNaming, name: 'sizing', external: (id, attr) => `<${id}${attr ? `.${attr}` : ''}>` };
    const r = new StackResolver({ stackName: 'S', template: { Resources: {} } }, { naming: sizing, defaults: env });
    expect(r.resolve({ 'Fn::Join': ['', [{ Ref: 'Elsewhere' }, '/', { 'Fn::GetAtt': ['Role', 'Arn'] }]] })).toBe('<Elsewhere>/<Role.Arn>');
    expect(() => resolver(cloudNaming).resolve({ Ref: 'Elsewhere' })).toThrow(
      'Ref to unknown resource or parameter Elsewhere (stack Orders)',
    );
  });

  test('an environment-agnostic stack takes the caller defaults, including a partition from the default region', () => {
    const r = resolver(cloudNaming, { account: '210987654321', region: 'us-gov-west-1' });
    expect(r.resolve({ 'Fn::Sub': '${AWS::Partition}:${AWS::Region}:${AWS::AccountId}:${AWS::URLSuffix}:${AWS::StackName}' })).toBe(
      'aws-us-gov:us-gov-west-1:210987654321:amazonaws.com:Orders',
    );
    expect(r.getAtt('Queue', 'Arn')).toBe('arn:aws-us-gov:sqs:us-gov-west-1:210987654321:Queue');
  });
});

describe('intrinsics', () => {
  const r = resolver(cloudNaming);

  test('Fn::Join, Fn::Sub with variables, attributes and escapes, Fn::Select, Fn::Split', () => {
    expect(r.resolve({ 'Fn::Join': ['/', ['a', { Ref: 'AWS::Region' }]] })).toBe('a/eu-west-1');
    expect(r.resolve({ 'Fn::Sub': ['${Name}-${Queue.QueueName}-${!Literal}', { Name: { Ref: 'Stage' } }] })).toBe('dev-Queue-${Literal}');
    expect(r.resolve({ 'Fn::Select': [1, { 'Fn::Split': [',', 'a,b,c'] }] })).toBe('b');
  });

  test('Fn::If and AWS::NoValue drop the property or element; Fn::FindInMap reads the mapping', () => {
    expect(r.resolve({ A: { 'Fn::If': ['IsProd', 1, { Ref: 'AWS::NoValue' }] }, B: [1, { Ref: 'AWS::NoValue' }, 2] })).toEqual({
      B: [1, 2],
    });
    expect(r.resolve({ 'Fn::FindInMap': ['Sizes', { Ref: 'Stage' }, 'memory'] })).toBe(128);
  });

  test('parameter values given by the caller win over defaults', () => {
    const prod = new StackResolver(
      { stackName: 'Orders', template },
      { naming: cloudNaming, defaults: env, parameters: { Stage: 'prod' } },
    );
    expect(prod.condition('IsProd')).toBe(true);
    expect(r.condition('IsProd')).toBe(false);
  });
});

describe.each([
  ['aws', 'us-east-1', 'amazonaws.com'],
  ['aws-cn', 'cn-northwest-1', 'amazonaws.com.cn'],
  ['aws-us-gov', 'us-gov-east-1', 'amazonaws.com'],
])('ARNs in the %s partition', (partition, region, suffix) => {
  const e = { partition, region, account: '123456789012' };
  const prefix = `arn:${partition}`;

  test('the region maps to the partition and its URL suffix', () => {
    expect(partitionOf(region)).toBe(partition);
    expect(urlSuffixOf(partition)).toBe(suffix);
    expect(queueUrl(e, 'q')).toBe(`https://sqs.${region}.${suffix}/123456789012/q`);
  });

  test('every helper builds the documented form', () => {
    expect(arns.eventBus(e, 'b')).toBe(`${prefix}:events:${region}:123456789012:event-bus/b`);
    expect(arns.rule(e, 'b', 'r')).toBe(`${prefix}:events:${region}:123456789012:rule/b/r`);
    expect(arns.rule(e, 'default', 'r')).toBe(`${prefix}:events:${region}:123456789012:rule/r`);
    expect(arns.archive(e, 'a')).toBe(`${prefix}:events:${region}:123456789012:archive/a`);
    expect(arns.queue(e, 'q')).toBe(`${prefix}:sqs:${region}:123456789012:q`);
    expect(arns.function(e, 'f')).toBe(`${prefix}:lambda:${region}:123456789012:function:f`);
    expect(arns.table(e, 't')).toBe(`${prefix}:dynamodb:${region}:123456789012:table/t`);
    expect(arns.key(e, 'k')).toBe(`${prefix}:kms:${region}:123456789012:key/k`);
    expect(arns.logGroup(e, '/l')).toBe(`${prefix}:logs:${region}:123456789012:log-group:/l:*`);
    expect(arns.logGroup(e, '/l', false)).toBe(`${prefix}:logs:${region}:123456789012:log-group:/l`);
    expect(arns.role(e, 'r')).toBe(`${prefix}:iam::123456789012:role/r`);
    expect(arns.accountRoot(e)).toBe(`${prefix}:iam::123456789012:root`);
  });

  test('parseArn reads back what arn builds, colons in the resource included', () => {
    const parts = { partition, service: 'logs', region, account: '123456789012', resource: 'log-group:/l:*' };
    expect(parseArn(arn(parts))).toEqual(parts);
    expect(busNameOf(arns.eventBus(e, 'b'))).toBe('b');
  });
});

test('parseArn refuses what is not an ARN, and busNameOf keeps plain names', () => {
  expect(parseArn('arn:aws')).toBeUndefined();
  expect(parseArn('https://sqs')).toBeUndefined();
  expect(busNameOf(undefined)).toBe('default');
  expect(busNameOf('orders')).toBe('orders');
});
