import { consumerPattern, ConsumerDefinition } from '../../sdk/catalog';
import { loanCatalog } from '../../catalog/loans';
import { IDEMPOTENCY_TABLE_ACTIONS, STATE_TABLE_ACTIONS } from '../../lib/buffered-consumer';
import { pascalCase } from '../../lib/defaults';
import { Template } from 'aws-cdk-lib/assertions';
import { BUS_ARN, buildStack, consumerTemplate, flat, keyStatements, logicalId, resourceById, resourcesOf } from './helpers';

// GIVEN the example's stacks, built once.
const built = buildStack();

/** The IAM policy statements attached to a consumer's role. */
function roleStatements(template: Template, id: string): Record<string, any>[] {
  const roleId = logicalId(template, 'AWS::IAM::Role', `${id}Role`);
  return resourcesOf(template, 'AWS::IAM::Policy')
    .filter(([, p]) => p.Roles.some((r: any) => r.Ref === roleId))
    .flatMap(([, p]) => p.PolicyDocument.Statement);
}

describe.each(loanCatalog.consumers.map((c) => [c.name, c] as [string, ConsumerDefinition]))('consumer %s', (name, consumer) => {
  const id = pascalCase(name);
  const template = consumerTemplate(built, name);
  const keyArn = { 'Fn::GetAtt': [logicalId(template, 'AWS::KMS::Key', `${id}Key`), 'Arn'] };
  const arnOf = (type: string, prefix: string) => ({ 'Fn::GetAtt': [logicalId(template, type, prefix), 'Arn'] });
  const queueArn = (qid: string) => arnOf('AWS::SQS::Queue', qid);
  const tuning = {
    batchSize: 10,
    maxBatchingWindowSeconds: 0,
    maxConcurrency: 5,
    timeoutSeconds: 30,
    memoryMB: 256,
    maxReceiveCount: 5,
    ...consumer.tuning,
  };
  const ruleName = `LoanEvents-${name}`;
  const ruleArn = `arn:<Partition>:events:<Region>:<AccountId>:rule/loan-events/${ruleName}`;
  const sqsArn = (queueName: string) => `arn:<Partition>:sqs:<Region>:<AccountId>:${queueName}`;

  test('has a rule on the bus with the catalog pattern', () => {
    const rule = resourceById(template, 'AWS::Events::Rule', `${id}Rule`);
    expect(rule.Name).toBe(ruleName);
    // By name: the bus is in the router stack, which this stack does not reference.
    expect(rule.EventBusName).toBe('loan-events');
    expect(rule.EventPattern).toEqual(consumerPattern(consumer));
    expect(rule.State).toBe('ENABLED');
  });

  test('the rule targets the buffer queue with a retry policy and a delivery dead-letter queue', () => {
    const [target] = resourceById(template, 'AWS::Events::Rule', `${id}Rule`).Targets;
    expect(target.Arn).toEqual(queueArn(`${id}Queue`));
    expect(target.RetryPolicy).toEqual({ MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 86400 });
    expect(target.DeadLetterConfig).toEqual({ Arn: queueArn(`${id}DeliveryDeadLetterQueue`) });
  });

  test('the buffer queue is encrypted with the key and redrives to its DLQ after maxReceiveCount', () => {
    const queue = resourceById(template, 'AWS::SQS::Queue', `${id}Queue`);
    expect(queue.KmsMasterKeyId).toEqual(keyArn);
    expect(queue.QueueName).toBe(ruleName);
    expect(queue.RedrivePolicy).toEqual({ deadLetterTargetArn: queueArn(`${id}DeadLetterQueue`), maxReceiveCount: tuning.maxReceiveCount });
  });

  test('both dead-letter queues are encrypted with the key and keep messages 14 days', () => {
    for (const dlq of [`${id}DeadLetterQueue`, `${id}DeliveryDeadLetterQueue`]) {
      const queue = resourceById(template, 'AWS::SQS::Queue', dlq);
      expect(queue.KmsMasterKeyId).toEqual(keyArn);
      expect(queue.MessageRetentionPeriod).toBe(1209600);
    }
  });

  test('only its own buffer queue may redrive into the DLQ; no queue may redrive into the delivery DLQ', () => {
    const dlq = resourceById(template, 'AWS::SQS::Queue', `${id}DeadLetterQueue`);
    expect(flat(dlq.RedriveAllowPolicy)).toEqual({ redrivePermission: 'byQueue', sourceQueueArns: [sqsArn(ruleName)] });
    expect(resourceById(template, 'AWS::SQS::Queue', `${id}DeliveryDeadLetterQueue`).RedriveAllowPolicy).toEqual({
      redrivePermission: 'denyAll',
    });
  });

  test('gotcha: visibility timeout is at least 6 x function timeout + batching window', () => {
    // Otherwise a batch still being processed becomes visible again and is processed twice.
    const fn = resourceById(template, 'AWS::Lambda::Function', `${id}Function`);
    const mapping = resourceById(template, 'AWS::Lambda::EventSourceMapping', `${id}FunctionSqsEventSource`);
    const queue = resourceById(template, 'AWS::SQS::Queue', `${id}Queue`);
    expect(queue.VisibilityTimeout).toBeGreaterThanOrEqual(6 * fn.Timeout + (mapping.MaximumBatchingWindowInSeconds ?? 0));
    expect(queue.VisibilityTimeout).toBe(6 * tuning.timeoutSeconds + tuning.maxBatchingWindowSeconds);
  });

  test('gotcha: the queue policies let EventBridge send only from this rule, and only over TLS', () => {
    for (const q of [`${id}Queue`, `${id}DeliveryDeadLetterQueue`]) {
      const [, policy] = resourcesOf(template, 'AWS::SQS::QueuePolicy').filter(([pid]) => pid.startsWith(`${q}Policy`))[0]!;
      const statements: Record<string, any>[] = policy.PolicyDocument.Statement;
      const allows = statements.filter((s) => s.Effect === 'Allow');
      expect(allows).toEqual([
        expect.objectContaining({
          Principal: { Service: 'events.amazonaws.com' },
          Action: 'sqs:SendMessage',
          Resource: queueArn(q),
          Condition: { ArnEquals: { 'aws:SourceArn': arnOf('AWS::Events::Rule', `${id}Rule`) } },
        }),
      ]);
      expect(statements).toContainEqual(
        expect.objectContaining({ Effect: 'Deny', Action: 'sqs:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
      );
    }
  });

  test("gotcha: the key policy lets EventBridge encrypt for this rule's queue and delivery DLQ only", () => {
    // The classic silent failure: without this, deliveries to an SSE-KMS queue fail and only
    // the rule's FailedInvocations metric shows it.
    const statement = flat(keyStatements(template)).find((s: any) => s.Sid === 'AllowEventBridgeToEncryptForOwnRule');
    expect(statement).toEqual({
      Sid: 'AllowEventBridgeToEncryptForOwnRule',
      Effect: 'Allow',
      Principal: { Service: 'events.amazonaws.com' },
      Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
      Resource: '*',
      Condition: {
        ArnEquals: { 'aws:SourceArn': ruleArn },
        StringEquals: {
          'aws:SourceAccount': '<AccountId>',
          'kms:EncryptionContext:aws:sqs:arn': [sqsArn(ruleName), sqsArn(`${ruleName}-delivery-dlq`)],
        },
      },
    });
    // The names in the key policy are the names the resources really get.
    expect(resourceById(template, 'AWS::SQS::Queue', `${id}DeliveryDeadLetterQueue`).QueueName).toBe(`${ruleName}-delivery-dlq`);
  });

  test('the function is ARM64 on Node.js 24 with JSON logs into its own encrypted log group, and X-Ray', () => {
    const fn = resourceById(template, 'AWS::Lambda::Function', `${id}Function`);
    expect(fn.Runtime).toBe('nodejs24.x');
    expect(fn.Architectures).toEqual(['arm64']);
    expect(fn.Handler).toBe('index.handler');
    expect(fn.Timeout).toBe(tuning.timeoutSeconds);
    expect(fn.MemorySize).toBe(tuning.memoryMB);
    expect(fn.LoggingConfig).toEqual({
      LogFormat: 'JSON',
      ApplicationLogLevel: 'INFO',
      SystemLogLevel: 'WARN',
      LogGroup: { Ref: logicalId(template, 'AWS::Logs::LogGroup', `${id}LogGroup`) },
    });
    expect(fn.TracingConfig).toEqual({ Mode: 'Active' });
    expect(fn.KmsKeyArn).toEqual(keyArn);
    expect(fn.Role).toEqual(arnOf('AWS::IAM::Role', `${id}Role`));
    const logGroup = resourceById(template, 'AWS::Logs::LogGroup', `${id}LogGroup`);
    expect(logGroup).toEqual({ LogGroupName: `/aws/lambda/${ruleName}`, KmsKeyId: keyArn, RetentionInDays: 365 });
  });

  test('the function environment follows the shared contract', () => {
    const vars = resourceById(template, 'AWS::Lambda::Function', `${id}Function`).Environment.Variables;
    const expected: Record<string, unknown> = {
      EVENT_BUS_NAME: 'loan-events',
      IDEMPOTENCY_TABLE_NAME: { Ref: logicalId(template, 'AWS::DynamoDB::Table', `${id}IdempotencyTable`) },
      CONSUMER_NAME: name,
      POWERTOOLS_SERVICE_NAME: name,
      POWERTOOLS_METRICS_NAMESPACE: 'LoanEvents',
      POWERTOOLS_LOG_LEVEL: 'INFO',
      NODE_OPTIONS: '--enable-source-maps',
    };
    if (consumer.stateTable) expected.STATE_TABLE_NAME = { Ref: logicalId(template, 'AWS::DynamoDB::Table', `${id}StateTable`) };
    expect(vars).toEqual(expected);
  });

  test('reads the queue in batches and reports partial batch failures', () => {
    const mapping = resourceById(template, 'AWS::Lambda::EventSourceMapping', `${id}FunctionSqsEventSource`);
    expect(mapping.EventSourceArn).toEqual(queueArn(`${id}Queue`));
    expect(mapping.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
    expect(mapping.BatchSize).toBe(tuning.batchSize);
    expect(mapping.MaximumBatchingWindowInSeconds).toBe(tuning.maxBatchingWindowSeconds > 0 ? tuning.maxBatchingWindowSeconds : undefined);
    expect(mapping.ScalingConfig).toEqual({ MaximumConcurrency: tuning.maxConcurrency });
  });

  test('has an idempotency table (id, TTL expiration) encrypted with the key, with PITR', () => {
    const table = resourceById(template, 'AWS::DynamoDB::Table', `${id}IdempotencyTable`);
    expect(table.KeySchema).toEqual([{ AttributeName: 'id', KeyType: 'HASH' }]);
    expect(table.AttributeDefinitions).toEqual([{ AttributeName: 'id', AttributeType: 'S' }]);
    expect(table.TimeToLiveSpecification).toEqual({ AttributeName: 'expiration', Enabled: true });
    expect(table.SSESpecification).toEqual({ SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: keyArn });
    expect(table.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
  });

  test(`has ${consumer.stateTable ? 'a' : 'no'} state table (pk, sk) encrypted with the key, with PITR`, () => {
    const tables = resourcesOf(template, 'AWS::DynamoDB::Table').filter(([tid]) => tid.startsWith(`${id}StateTable`));
    expect(tables).toHaveLength(consumer.stateTable ? 1 : 0);
    if (!consumer.stateTable) return;
    const [, table] = tables[0]!;
    expect(table.KeySchema).toEqual([
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ]);
    expect(table.SSESpecification).toEqual({ SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: keyArn });
    expect(table.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
    expect(table.DeletionProtectionEnabled).toBe(true);
  });

  test('the role reads only its own queue, writes only its own tables and log group, and has no managed policy', () => {
    const role = resourceById(template, 'AWS::IAM::Role', `${id}Role`);
    expect(role.ManagedPolicyArns).toBeUndefined();
    expect(role.AssumeRolePolicyDocument.Statement).toEqual([
      { Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' } },
    ]);
    const statements = roleStatements(template, id);
    const resourcesFor = (prefix: string) =>
      statements.filter((s) => [s.Action].flat().some((a: string) => a.startsWith(prefix))).map((s) => s.Resource);
    expect(resourcesFor('sqs:')).toEqual([queueArn(`${id}Queue`)]);
    expect(resourcesFor('logs:')).toEqual([arnOf('AWS::Logs::LogGroup', `${id}LogGroup`)]);
    const tableArns = [arnOf('AWS::DynamoDB::Table', `${id}IdempotencyTable`)];
    if (consumer.stateTable) tableArns.push(arnOf('AWS::DynamoDB::Table', `${id}StateTable`));
    expect(resourcesFor('dynamodb:').flat()).toEqual(expect.arrayContaining(tableArns));
    expect(resourcesFor('dynamodb:').flat()).toHaveLength(tableArns.length);
    const dynamoActions = statements.flatMap((s) => [s.Action].flat()).filter((a: string) => a.startsWith('dynamodb:'));
    const allowed = new Set<string>([...IDEMPOTENCY_TABLE_ACTIONS, ...(consumer.stateTable ? STATE_TABLE_ACTIONS : [])]);
    for (const a of dynamoActions) expect(allowed).toContain(a);
    expect(dynamoActions).not.toContain('dynamodb:Scan');
  });

  test('gotcha: the role uses the key only through SQS and DynamoDB, for its own queue and tables', () => {
    // SqsEventSource would add kms:Decrypt on the whole key with no condition.
    const kms = roleStatements(template, id).filter((s) => [s.Action].flat().some((a: string) => a.startsWith('kms:')));
    const via = (service: string) => ({ 'Fn::Join': ['', [`${service}.`, { Ref: 'AWS::Region' }, '.amazonaws.com']] });
    const tableNames = [{ Ref: logicalId(template, 'AWS::DynamoDB::Table', `${id}IdempotencyTable`) }];
    if (consumer.stateTable) tableNames.push({ Ref: logicalId(template, 'AWS::DynamoDB::Table', `${id}StateTable`) });
    const allow = (Sid: string, Action: string | string[], Condition: object) => ({
      Sid,
      Effect: 'Allow',
      Action,
      Resource: keyArn,
      Condition,
    });
    expect(kms).toEqual([
      allow('DecryptOwnQueueThroughSqs', 'kms:Decrypt', {
        StringEquals: { 'kms:ViaService': via('sqs'), 'kms:EncryptionContext:aws:sqs:arn': queueArn(`${id}Queue`) },
      }),
      allow('EncryptForOwnDeadLetterQueueThroughSqs', 'kms:GenerateDataKey', {
        StringEquals: { 'kms:ViaService': via('sqs'), 'kms:EncryptionContext:aws:sqs:arn': queueArn(`${id}DeadLetterQueue`) },
      }),
      allow('UseKeyForOwnTablesThroughDynamoDb', ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey'], {
        StringEquals: { 'kms:ViaService': via('dynamodb'), 'kms:EncryptionContext:aws:dynamodb:tableName': tableNames },
      }),
      allow('DescribeKeyThroughDynamoDb', 'kms:DescribeKey', { StringEquals: { 'kms:ViaService': via('dynamodb') } }),
    ]);
  });

  test('the role publishes exactly what the catalog grants this consumer', () => {
    const puts = flat(roleStatements(template, id).filter((s) => [s.Action].flat().includes('events:PutEvents')));
    const expected = new Map<string, string[]>();
    for (const e of consumer.publishes) expected.set(e.source, [...(expected.get(e.source) ?? []), e.detailType]);
    expect(puts).toEqual(
      [...expected.entries()].map(([source, types]) =>
        expect.objectContaining({
          Resource: BUS_ARN,
          Condition: {
            'ForAllValues:StringEquals': { 'events:source': source, 'events:detail-type': types },
            Null: { 'events:source': 'false', 'events:detail-type': 'false' },
          },
        }),
      ),
    );
  });

  test("the key admits the consumer's own role only through SQS and DynamoDB, for its own queues and tables by name", () => {
    const own = flat(keyStatements(template)).filter(
      (s: any) => s.Principal?.AWS === `arn:<Partition>:iam::<AccountId>:role/LoanEvents-${name}-handler`,
    );
    expect(own.map((s: any) => [s.Action, s.Condition.StringEquals])).toEqual([
      ['kms:Decrypt', { 'kms:ViaService': 'sqs.<Region>.amazonaws.com', 'kms:EncryptionContext:aws:sqs:arn': sqsArn(ruleName) }],
      [
        'kms:GenerateDataKey',
        { 'kms:ViaService': 'sqs.<Region>.amazonaws.com', 'kms:EncryptionContext:aws:sqs:arn': sqsArn(`${ruleName}-dlq`) },
      ],
      [
        ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey'],
        {
          'kms:ViaService': 'dynamodb.<Region>.amazonaws.com',
          'kms:EncryptionContext:aws:dynamodb:tableName': [
            `${ruleName}-idempotency`,
            ...(consumer.stateTable ? [`${ruleName}-state`] : []),
          ],
        },
      ],
      ['kms:DescribeKey', { 'kms:ViaService': 'dynamodb.<Region>.amazonaws.com' }],
    ]);
    expect(resourceById(template, 'AWS::IAM::Role', `${id}Role`).RoleName).toBe(`LoanEvents-${name}-handler`);
  });

  test('outputs the queue URLs', () => {
    template.hasOutput(`QueueUrl`, { Value: { Ref: logicalId(template, 'AWS::SQS::Queue', `${id}Queue`) } });
    template.hasOutput(`DeadLetterQueueUrl`, { Value: { Ref: logicalId(template, 'AWS::SQS::Queue', `${id}DeadLetterQueue`) } });
    template.hasOutput(`DeliveryDeadLetterQueueUrl`, {
      Value: { Ref: logicalId(template, 'AWS::SQS::Queue', `${id}DeliveryDeadLetterQueue`) },
    });
  });
});

describe('across consumers', () => {
  test('gotcha: nothing uses the AWS managed SQS key alias/aws/sqs', () => {
    // EventBridge cannot be granted use of an AWS managed key, so targets encrypted with it
    // silently drop every event.
    for (const [name, template] of Object.entries(built.consumers)) {
      const keyArn = { 'Fn::GetAtt': [logicalId(template, 'AWS::KMS::Key', `${pascalCase(name)}Key`), 'Arn'] };
      expect(JSON.stringify(template.toJSON())).not.toContain('alias/aws/sqs');
      for (const [, queue] of resourcesOf(template, 'AWS::SQS::Queue')) expect(queue.KmsMasterKeyId).toEqual(keyArn);
    }
    // The router's only queue, the bus dead-letter queue, has a key of its own (not the bus key).
    const deadLetterKey = { 'Fn::GetAtt': [logicalId(built.template, 'AWS::KMS::Key', 'EventRouterDeadLetterKey'), 'Arn'] };
    for (const [, queue] of resourcesOf(built.template, 'AWS::SQS::Queue')) expect(queue.KmsMasterKeyId).toEqual(deadLetterKey);
  });

  test('one stack per consumer, each with one key, rule, three queues, one function and one event source mapping', () => {
    expect(Object.keys(built.stacks.consumers)).toEqual(loanCatalog.consumers.map((c) => c.name));
    for (const c of loanCatalog.consumers) {
      const template = consumerTemplate(built, c.name);
      expect(built.consumerStack(c.name).stackName).toBe(`LoanEvents-${c.name}`);
      // The consumer's data key, and its backup vault's key (backup-network.test.ts).
      expect(resourcesOf(template, 'AWS::KMS::Key').map(([id]) => id.replace(/[0-9A-F]{8}$/, ''))).toEqual([
        `${pascalCase(c.name)}Key`,
        'BackupKey',
      ]);
      template.resourceCountIs('AWS::Events::Rule', 1);
      template.resourceCountIs('AWS::SQS::Queue', 3);
      template.resourceCountIs('AWS::Lambda::Function', 1);
      template.resourceCountIs('AWS::Lambda::EventSourceMapping', 1);
    }
    built.template.resourceCountIs('AWS::Events::Rule', 0);
    built.template.resourceCountIs('AWS::SQS::Queue', 1);
  });
});
