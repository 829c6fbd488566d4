/**
 * The harness under the matrix: intrinsic resolution, policy collection and the simulator's
 * evaluation rules, checked on small stacks whose right answers are known.
 */
import { App, Fn, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { CfnTemplate, Resolver } from './support/intrinsics';
import { collectPolicies, PolicyDocument, PolicyModel, resourcePolicyFor } from './support/policies';
import { decide } from './support/simulate';
import { mutationsOf } from './support/widening';
import { TEST_APP } from '../support/cdk';

const ACCOUNT = '111111111111';
const allowAll: PolicyDocument = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] };

/** A role that may read a queue, a queue policy, a bus with a policy and a key. */
function fixture(): { template: CfnTemplate; model: PolicyModel; r: Resolver } {
  const stack = new Stack(new App(TEST_APP), 'Fixture');
  const reader = new iam.Role(stack, 'Reader', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
  new iam.Role(stack, 'Inline', {
    assumedBy: new iam.AccountRootPrincipal(),
    inlinePolicies: {
      Describe: new iam.PolicyDocument({ statements: [new iam.PolicyStatement({ actions: ['sqs:GetQueueUrl'], resources: ['*'] })] }),
    },
  });
  const key = new kms.Key(stack, 'Key');
  const queue = new sqs.Queue(stack, 'Queue', { queueName: 'fixture-queue', encryptionMasterKey: key });
  queue.grantConsumeMessages(reader);
  queue.addToResourcePolicy(
    new iam.PolicyStatement({
      principals: [new iam.ArnPrincipal(`arn:aws:iam::${ACCOUNT}:role/queue-writer`)],
      actions: ['sqs:SendMessage'],
      resources: [queue.queueArn],
    }),
  );
  queue.addToResourcePolicy(
    new iam.PolicyStatement({
      effect: iam.Effect.DENY,
      principals: [new iam.AnyPrincipal()],
      actions: ['sqs:PurgeQueue'],
      resources: [queue.queueArn],
    }),
  );
  const bus = new events.CfnEventBus(stack, 'Bus', { name: 'fixture-bus' });
  bus.policy = {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'Partner',
        Effect: 'Allow',
        Principal: { AWS: Fn.join('', ['arn:', Stack.of(stack).partition, ':iam::222222222222:root']) },
        Action: 'events:PutEvents',
        Resource: Stack.of(stack).formatArn({ service: 'events', resource: 'event-bus', resourceName: 'fixture-bus' }),
        Condition: { 'ForAllValues:StringEquals': { 'events:source': ['com.partner'] }, Null: { 'events:source': 'false' } },
      },
    ],
  };
  new events.CfnEventBusPolicy(stack, 'Org', {
    eventBusName: bus.ref,
    statementId: 'Org',
    statement: { Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::333333333333:root' }, Action: 'events:PutEvents', Resource: '*' },
  });
  const template = Template.fromStack(stack).toJSON() as CfnTemplate;
  return { template, model: collectPolicies(template), r: new Resolver(template) };
}

/** One synthesized fixture for every describe block: none of them changes the template or the model. */
const FIXTURE = fixture();

describe('intrinsic resolution', () => {
  const { r, template } = FIXTURE;
  const id = (type: string) => Object.keys(template.Resources).find((k) => template.Resources[k]!.Type === type) as string;

  test('resolves pseudo parameters in Fn::Join and Fn::Sub', () => {
    expect(r.resolve({ 'Fn::Join': [':', [{ Ref: 'AWS::Partition' }, { Ref: 'AWS::Region' }, { Ref: 'AWS::AccountId' }]] })).toBe(
      'aws:us-east-1:111111111111',
    );
    expect(r.resolve({ 'Fn::Sub': 'arn:${AWS::Partition}:iam::${AWS::AccountId}:role/cdk-${AWS::Region}' })).toBe(
      'arn:aws:iam::111111111111:role/cdk-us-east-1',
    );
    expect(r.resolve({ 'Fn::Sub': ['role/${Name}-${AWS::Region}', { Name: 'deploy' }] })).toBe('role/deploy-us-east-1');
  });

  test('derives ARNs from the resource type and its name or logical id', () => {
    expect(r.getAtt(id('AWS::SQS::Queue'), 'Arn')).toBe('arn:aws:sqs:us-east-1:111111111111:fixture-queue');
    expect(r.resolve({ Ref: id('AWS::SQS::Queue') })).toBe('https://sqs.us-east-1.amazonaws.com/111111111111/fixture-queue');
    expect(r.getAtt(id('AWS::Events::EventBus'), 'Arn')).toBe('arn:aws:events:us-east-1:111111111111:event-bus/fixture-bus');
    expect(r.getAtt(id('AWS::KMS::Key'), 'Arn')).toMatch(/^arn:aws:kms:us-east-1:111111111111:key\/[0-9a-f]{8}-[0-9a-f]{4}-/);
    const reader = Object.keys(template.Resources).find(
      (k) => k.startsWith('Reader') && template.Resources[k]!.Type === 'AWS::IAM::Role',
    ) as string;
    expect(r.getAtt(reader, 'Arn')).toBe(`arn:aws:iam::111111111111:role/${reader}`);
  });

  test('fails, naming it, on an intrinsic it cannot resolve', () => {
    expect(() => r.resolve({ 'Fn::ImportValue': 'Shared' })).toThrow('Fn::ImportValue Shared: exports are not resolved here');
    expect(() => r.resolve({ Ref: 'Missing' })).toThrow('Ref to unknown resource or parameter Missing (stack LoanEvents)');
    expect(() => r.resolve({ 'Fn::GetAtt': [id('AWS::SQS::Queue'), 'Nope'] })).toThrow("no rule for attribute 'Nope' of AWS::SQS::Queue");
  });
});

describe('policy collection', () => {
  const { model } = FIXTURE;
  const roleArn = (name: string) => Object.keys(model.identity).find((arn) => arn.includes(`:role/${name}`)) as string;

  test('attaches AWS::IAM::Policy resources and inline policies to their roles', () => {
    const actions = (arn: string) => model.identity[arn]!.flatMap((p) => p.document.Statement.flatMap((s) => s.Action));
    expect(actions(roleArn('Reader'))).toEqual(expect.arrayContaining(['sqs:ReceiveMessage', 'sqs:DeleteMessage']));
    expect(actions(roleArn('Inline'))).toEqual(['sqs:GetQueueUrl']);
  });

  test('merges the bus Policy property with AWS::Events::EventBusPolicy statements', () => {
    const bus = model.resource['arn:aws:events:us-east-1:111111111111:event-bus/fixture-bus']!;
    expect(bus.document.Statement.map((s) => s.Sid)).toEqual(['Partner', 'Org']);
    expect(bus.document.Statement[1]!.Principal).toEqual({ AWS: 'arn:aws:iam::333333333333:root' });
  });

  test('reads the legacy AWS::Events::EventBusPolicy form (Principal account, Action, Condition)', () => {
    const legacy: CfnTemplate = {
      Resources: {
        Bus: { Type: 'AWS::Events::EventBus', Properties: { Name: 'b' } },
        Perm: {
          Type: 'AWS::Events::EventBusPolicy',
          Properties: {
            EventBusName: { Ref: 'Bus' },
            StatementId: 'Org',
            Action: 'events:PutEvents',
            Principal: '*',
            Condition: { Type: 'StringEquals', Key: 'aws:PrincipalOrgID', Value: 'o-123' },
          },
        },
      },
    };
    expect(collectPolicies(legacy).resource['arn:aws:events:us-east-1:111111111111:event-bus/b']!.document.Statement).toEqual([
      {
        Sid: 'Org',
        Effect: 'Allow',
        Principal: { AWS: '*' },
        Action: 'events:PutEvents',
        Resource: 'arn:aws:events:us-east-1:111111111111:event-bus/b',
        Condition: { StringEquals: { 'aws:PrincipalOrgID': 'o-123' } },
      },
    ]);
  });

  test("keys queue and key policies by ARN, and governs a bus's rules with the bus policy", () => {
    expect(Object.keys(model.resource)).toEqual(expect.arrayContaining(['arn:aws:sqs:us-east-1:111111111111:fixture-queue']));
    expect(Object.keys(model.resource).some((arn) => arn.startsWith('arn:aws:kms:'))).toBe(true);
    expect(resourcePolicyFor(model, 'arn:aws:events:us-east-1:111111111111:rule/fixture-bus/any')?.source).toMatch(/Bus.*Policy/);
    expect(resourcePolicyFor(model, 'arn:aws:events:us-east-1:111111111111:rule/other-bus/any')).toBeUndefined();
  });

  test('records managed policies that the template does not define', () => {
    const stack = new Stack(new App(TEST_APP), 'Managed');
    new iam.Role(stack, 'Admin', {
      assumedBy: new iam.AccountRootPrincipal(),
      managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('AdministratorAccess')],
    });
    const m = collectPolicies(Template.fromStack(stack).toJSON() as CfnTemplate);
    expect(m.externalManagedPolicies.map((p) => p.policyArn)).toEqual(['arn:aws:iam::aws:policy/AdministratorAccess']);
  });
});

describe('evaluation', () => {
  const { model } = FIXTURE;
  const queue = 'arn:aws:sqs:us-east-1:111111111111:fixture-queue';
  const busArn = 'arn:aws:events:us-east-1:111111111111:event-bus/fixture-bus';
  const reader = Object.keys(model.identity).find((arn) => arn.includes(':role/Reader')) as string;
  const keyArn = Object.keys(model.resource).find((arn) => arn.startsWith('arn:aws:kms:')) as string;

  test('same account: an identity Allow is enough', async () => {
    expect(await decide(model, { principal: reader, action: 'sqs:ReceiveMessage', resource: queue })).toBe('Allowed');
  });

  test('same account: a resource-policy Allow is enough', async () => {
    expect(
      await decide(model, { principal: `arn:aws:iam::${ACCOUNT}:role/queue-writer`, action: 'sqs:SendMessage', resource: queue }),
    ).toBe('Allowed');
  });

  test('an explicit Deny in the resource policy beats an identity Allow', async () => {
    expect(await decide(model, { principal: reader, action: 'sqs:PurgeQueue', resource: queue, identityPolicies: [allowAll] })).toBe(
      'ExplicitlyDenied',
    );
  });

  test('another account needs an Allow in both its identity policy and the resource policy', async () => {
    const partner = 'arn:aws:iam::222222222222:role/publisher';
    const request = { principal: partner, action: 'events:PutEvents', resource: busArn, context: { 'events:source': 'com.partner' } };
    expect(await decide(model, request)).toBe('ImplicitlyDenied');
    expect(await decide(model, { ...request, identityPolicies: [allowAll] })).toBe('Allowed');
    expect(await decide(model, { ...request, principal: 'arn:aws:iam::444444444444:role/x', identityPolicies: [allowAll] })).toBe(
      'ImplicitlyDenied',
    );
  });

  test('a key trusts IAM policies only as far as its key policy delegates to the account', async () => {
    const request = { principal: reader, action: 'kms:Decrypt', resource: keyArn };
    expect(await decide(model, request)).toBe('Allowed');
    const undelegated = structuredClone(model);
    undelegated.resource[keyArn]!.document.Statement = [
      { Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::111111111111:role/other' }, Action: 'kms:*', Resource: '*' },
    ];
    expect(await decide(undelegated, request)).toBe('ImplicitlyDenied');
  });

  test('evaluates kms:EncryptionContext keys, which the simulator would otherwise drop', async () => {
    const m = structuredClone(model);
    m.resource[keyArn]!.document.Statement = [
      {
        Effect: 'Allow',
        Principal: { Service: 'events.amazonaws.com' },
        Action: 'kms:GenerateDataKey',
        Resource: '*',
        Condition: { StringEquals: { 'kms:EncryptionContext:aws:sqs:arn': queue } },
      },
    ];
    const request = (arn: string) => ({
      principal: 'events.amazonaws.com',
      action: 'kms:GenerateDataKey',
      resource: keyArn,
      context: { 'kms:EncryptionContext:aws:sqs:arn': arn },
    });
    expect(await decide(m, request(queue))).toBe('Allowed');
    expect(await decide(m, request(`${queue}-other`))).toBe('ImplicitlyDenied');
  });

  test('refuses context keys that the action does not support, instead of treating them as absent', async () => {
    await expect(
      decide(model, { principal: reader, action: 'sqs:ReceiveMessage', resource: queue, context: { 'events:source': 'x' } }),
    ).rejects.toThrow('Context keys events:source do not apply to sqs:ReceiveMessage');
    await expect(
      decide(model, { principal: reader, action: 'kms:DescribeKey', resource: keyArn, context: { 'kms:EncryptionContext:a': 'b' } }),
    ).rejects.toThrow('do not apply to kms:DescribeKey');
  });

  test('a plain StringEquals or StringNotEquals never matches the multivalued events:source key', async () => {
    // GIVEN an Allow and a Deny written with single-valued operators, and the same with set operators
    const policy = (op: string, effect: 'Allow' | 'Deny'): PolicyDocument => ({
      Version: '2012-10-17',
      Statement: [{ Effect: effect, Action: 'events:PutEvents', Resource: busArn, Condition: { [op]: { 'events:source': 'com.good' } } }],
    });
    const request = (source: string, policies: PolicyDocument[]) =>
      decide(model, {
        principal: 'arn:aws:iam::111111111111:role/publisher',
        action: 'events:PutEvents',
        resource: busArn,
        context: { 'events:source': source },
        identityPolicies: policies,
      });
    // THEN the plain forms neither allow the good source nor deny a bad one
    expect(await request('com.good', [policy('StringEquals', 'Allow')])).toBe('ImplicitlyDenied');
    expect(await request('com.bad', [allowAll, policy('StringNotEquals', 'Deny')])).toBe('Allowed');
    // AND the set-operator forms do
    expect(await request('com.good', [policy('ForAllValues:StringEquals', 'Allow')])).toBe('Allowed');
    expect(await request('com.bad', [allowAll, policy('ForAnyValue:StringNotEquals', 'Deny')])).toBe('ExplicitlyDenied');
  });
});

describe('widening mutations', () => {
  const { model } = FIXTURE;
  const mutations = mutationsOf(model);

  test('remove each Deny and widen each Allow three ways, skipping changes that change nothing', () => {
    const names = mutations.map((m) => m.name);
    expect(names.filter((n) => n.startsWith('remove-deny:'))).toHaveLength(1);
    expect(names).toEqual(expect.arrayContaining([expect.stringMatching(/^drop-condition: .*'Partner'$/)]));
    // The inline policy already has Resource "*": no resource-to-star mutation for it.
    expect(names.filter((n) => n.includes('Inline') && n.startsWith('resource-to-star'))).toEqual([]);
    const wildcard = mutations.find((m) => m.kind === 'action-to-service-wildcard' && m.statement?.Sid === 'Partner');
    expect(wildcard?.statement?.Action).toBe('events:*');
  });
});

describe("the simulator harness's localeCompare (support/collator.ts)", () => {
  const words = ['arn:aws:sqs', 'ARN:AWS:SQS', 'Résumé', 'resume', 'RESUME', 'a', 'B', '', 'event-bus/x', 'Event-Bus/X', 'ß', 'ss'];
  const settings: [string | undefined, Intl.CollatorOptions][] = [
    [undefined, { sensitivity: 'accent' }],
    [undefined, { sensitivity: 'base' }],
    ['en', { sensitivity: 'base' }],
    [undefined, { sensitivity: 'variant' }],
    ['de', { sensitivity: 'accent', numeric: true }],
  ];

  test('compares as a collator made for the call, with a new options object each time', () => {
    for (const [locale, options] of settings) {
      const collator = new Intl.Collator(locale, options);
      for (const a of words) {
        for (const b of words)
          expect([a, b, locale, options, a.localeCompare(b, locale, { ...options })]).toEqual([
            a,
            b,
            locale,
            options,
            collator.compare(a, b),
          ]);
      }
    }
  });

  test('is in place in a file that loads the simulator, and leaves calls without options to the built-in', () => {
    expect((String.prototype.localeCompare as { cachedCollators?: boolean }).cachedCollators).toBe(true);
    expect('a'.localeCompare('b')).toBe(new Intl.Collator().compare('a', 'b'));
  });
});
