import { Duration } from 'aws-cdk-lib';
import { loanCatalog } from '../../catalog/loans';
import { pascalCase } from '../../lib/defaults';
import { compileFilterPattern } from '../../runtime/cloudwatch/filter-pattern';
import { BUS_ARN, buildRouter, buildStack, flat, keyStatements, logicalId, resourceById, resourcesOf } from './helpers';
import deniedCalls from './fixtures/cloudtrail-denied.json';
import allowedCalls from './fixtures/cloudtrail-allowed.json';

// GIVEN the default stack and one relying on an organisation trail, each built once.
const built = buildStack({ alarmEmail: 'oncall@example.com' });
/** The example relying on an organisation trail, built once for the tests that read it. */
let withExistingTrail: ReturnType<typeof buildRouter> | undefined;
const builtWithExistingTrail = () => (withExistingTrail ??= buildRouter({ existingTrail: true }));
const { template } = built;
const keyArn = { 'Fn::GetAtt': [logicalId(template, 'AWS::KMS::Key', 'AuditKey'), 'Arn'] };
const alarmKeyArn = { 'Fn::GetAtt': [logicalId(template, 'AWS::KMS::Key', 'AlarmKey'), 'Arn'] };
const TRAIL_ARN = 'arn:<Partition>:cloudtrail:<Region>:<AccountId>:trail/LoanEvents-audit';

describe('audit trail', () => {
  const trail = resourceById(template, 'AWS::CloudTrail::Trail', 'AuditTrail');

  test('validates log files, covers all regions and global services, encrypts with the audit key, delivers to CloudWatch Logs', () => {
    expect(trail.TrailName).toBe('LoanEvents-audit');
    expect(trail.EnableLogFileValidation).toBe(true);
    expect(trail.IsMultiRegionTrail).toBe(true);
    expect(trail.IncludeGlobalServiceEvents).toBe(true);
    expect(trail.IsLogging).toBe(true);
    expect(trail.KMSKeyId).toEqual(keyArn);
    expect(trail.CloudWatchLogsLogGroupArn).toEqual({ 'Fn::GetAtt': [logicalId(template, 'AWS::Logs::LogGroup', 'AuditLogGroup'), 'Arn'] });
    expect(resourceById(template, 'AWS::Logs::LogGroup', 'AuditLogGroup')).toEqual({
      LogGroupName: '/aws/cloudtrail/LoanEvents-audit',
      KmsKeyId: keyArn,
      RetentionInDays: 365,
    });
  });

  test('logs management events and PutEvents data events on this bus with advanced selectors', () => {
    expect(trail.EventSelectors).toBeUndefined();
    expect(flat(trail.AdvancedEventSelectors)).toEqual([
      { Name: 'Management events', FieldSelectors: [{ Field: 'eventCategory', Equals: ['Management'] }] },
      {
        Name: 'PutEvents on the event bus',
        FieldSelectors: [
          { Field: 'eventCategory', Equals: ['Data'] },
          { Field: 'resources.type', Equals: ['AWS::Events::EventBus'] },
          { Field: 'eventName', Equals: ['PutEvents'] },
          { Field: 'resources.ARN', Equals: [BUS_ARN] },
        ],
      },
    ]);
  });

  test('logPutEvents: false keeps management events only', () => {
    const { template: t } = buildRouter({ logPutEvents: false });
    expect(resourceById(t, 'AWS::CloudTrail::Trail', 'AuditTrail').AdvancedEventSelectors).toEqual([
      { Name: 'Management events', FieldSelectors: [{ Field: 'eventCategory', Equals: ['Management'] }] },
    ]);
  });

  test('the log bucket is SSE-KMS with the audit key, versioned, locked, private, access-logged, with lifecycle to cheaper storage', () => {
    const bucket = resourceById(template, 'AWS::S3::Bucket', 'AuditBucket');
    expect(bucket.BucketEncryption.ServerSideEncryptionConfiguration).toEqual([
      { ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: keyArn }, BucketKeyEnabled: true },
    ]);
    expect(bucket.VersioningConfiguration).toEqual({ Status: 'Enabled' });
    // Compliance mode: nobody, the root user included, can delete or overwrite a log file for a year.
    expect(bucket.ObjectLockEnabled).toBe(true);
    expect(bucket.ObjectLockConfiguration).toEqual({
      ObjectLockEnabled: 'Enabled',
      Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: 365 } },
    });
    expect(bucket.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    expect(bucket.OwnershipControls).toEqual({ Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] });
    expect(bucket.LoggingConfiguration).toEqual({
      DestinationBucketName: { Ref: logicalId(template, 'AWS::S3::Bucket', 'AuditAccessLogsBucket') },
      LogFilePrefix: 'trail-bucket/',
    });
    expect(bucket.LifecycleConfiguration.Rules[0].Transitions).toEqual([
      { StorageClass: 'STANDARD_IA', TransitionInDays: 30 },
      { StorageClass: 'GLACIER', TransitionInDays: 90 },
    ]);
  });

  test('trailRetention sets the Object Lock period', () => {
    const { template: t } = buildRouter({ trailRetention: Duration.days(2555) });
    expect(resourceById(t, 'AWS::S3::Bucket', 'AuditBucket').ObjectLockConfiguration.Rule).toEqual({
      DefaultRetention: { Mode: 'COMPLIANCE', Days: 2555 },
    });
  });

  test.each([Duration.days(0), Duration.days(36501), Duration.hours(36)])('trailRetention %s fails synthesis', (retention) => {
    expect(() => buildStack({ trailRetention: retention })).toThrow(
      `'objectLockRetention' must be a whole number of days from 1 to 36500 (given ${retention.toHumanString()})`,
    );
  });

  test('logArchive delivers to the log-archive account with its key: no bucket here, the log group stays on the audit key', () => {
    const logArchive = {
      bucketName: 'org-log-archive',
      account: '999999999999',
      keyArn: 'arn:aws:kms:us-east-1:999999999999:key/11111111-2222-3333-4444-555555555555',
    };
    const { template: t } = buildRouter({ logArchive });
    t.resourceCountIs('AWS::S3::Bucket', 0);
    t.resourceCountIs('AWS::S3::BucketPolicy', 0);
    const archived = resourceById(t, 'AWS::CloudTrail::Trail', 'AuditTrail');
    expect(archived.S3BucketName).toBe('org-log-archive');
    expect(archived.KMSKeyId).toBe(logArchive.keyArn);
    expect(resourceById(t, 'AWS::Logs::LogGroup', 'AuditLogGroup').KmsKeyId).toEqual({
      'Fn::GetAtt': [logicalId(t, 'AWS::KMS::Key', 'AuditKey'), 'Arn'],
    });
    // The audit key does not admit CloudTrail: the archive's key encrypts the log files.
    expect(flat(keyStatements(t, 'AuditKey')).some((s: any) => s.Principal?.Service === 'cloudtrail.amazonaws.com')).toBe(false);
  });

  test.each([
    [
      {
        bucketName: 'Org_Logs',
        account: '999999999999',
        keyArn: 'arn:aws:kms:us-east-1:999999999999:key/11111111-2222-3333-4444-555555555555',
      },
      "'logArchive.bucketName' must be an S3 bucket name (given 'Org_Logs')",
    ],
    [
      { bucketName: 'org-logs', account: '9999', keyArn: 'arn:aws:kms:us-east-1:999999999999:key/11111111-2222-3333-4444-555555555555' },
      "'logArchive.account' must be a 12-digit account id (given '9999')",
    ],
    [
      { bucketName: 'org-logs', account: '999999999999', keyArn: 'alias/logs' },
      "'logArchive.keyArn' must be the ARN of a KMS key (given 'alias/logs')",
    ],
    [
      {
        bucketName: 'org-logs',
        account: '999999999999',
        keyArn: 'arn:aws:kms:us-east-1:888888888888:key/11111111-2222-3333-4444-555555555555',
      },
      "'logArchive.keyArn' must be a key of the log-archive account 999999999999",
    ],
  ])('logArchive %j fails synthesis', (logArchive, message) => {
    expect(() => buildStack({ logArchive })).toThrow(message);
  });

  test('both buckets deny requests without TLS and are retained', () => {
    for (const [id, policy] of resourcesOf(template, 'AWS::S3::BucketPolicy')) {
      expect({
        id,
        deny: policy.PolicyDocument.Statement.some(
          (s: any) => s.Effect === 'Deny' && s.Condition?.Bool?.['aws:SecureTransport'] === 'false',
        ),
      }).toEqual({ id, deny: true });
    }
    template.resourceCountIs('AWS::S3::BucketPolicy', 2);
    for (const id of Object.keys(template.findResources('AWS::S3::Bucket'))) {
      expect(template.toJSON().Resources[id].DeletionPolicy).toBe('Retain');
    }
  });

  test('the bucket policy confines CloudTrail writes to this trail', () => {
    const [, policy] = resourcesOf(template, 'AWS::S3::BucketPolicy').filter(([id]) => id.startsWith('AuditBucketPolicy'))[0]!;
    const deny = flat(policy.PolicyDocument.Statement).find((s: any) => s.Sid === 'DenyOtherTrails');
    expect(deny).toMatchObject({
      Effect: 'Deny',
      Principal: { Service: 'cloudtrail.amazonaws.com' },
      Action: ['s3:PutObject', 's3:GetBucketAcl'],
      Condition: { StringNotEquals: { 'aws:SourceArn': TRAIL_ARN } },
    });
  });

  test('the key policy lets CloudTrail encrypt log files for this trail only', () => {
    const statements = flat(keyStatements(template, 'AuditKey')).filter((s: any) => s.Principal?.Service === 'cloudtrail.amazonaws.com');
    expect(statements).toContainEqual(
      expect.objectContaining({
        Action: 'kms:GenerateDataKey*',
        Condition: {
          StringEquals: { 'aws:SourceArn': TRAIL_ARN },
          StringLike: { 'kms:EncryptionContext:aws:cloudtrail:arn': 'arn:<Partition>:cloudtrail:*:<AccountId>:trail/*' },
        },
      }),
    );
    for (const s of statements) expect(s.Condition.StringEquals['aws:SourceArn']).toBe(TRAIL_ARN);
  });

  test('existingTrail relies on the organisation trail: no trail, no buckets', () => {
    const { template: t } = builtWithExistingTrail();
    t.resourceCountIs('AWS::CloudTrail::Trail', 0);
    t.resourceCountIs('AWS::S3::Bucket', 0);
    expect(resourcesOf(t, 'AWS::KMS::Key').some(([id]) => id.startsWith('AuditKey'))).toBe(false);
    for (const [, key] of resourcesOf(t, 'AWS::KMS::Key')) {
      expect(flat(key.KeyPolicy.Statement).some((s: any) => s.Principal?.Service === 'cloudtrail.amazonaws.com')).toBe(false);
    }
  });
});

describe('alarms', () => {
  const routerAlarms = resourcesOf(template, 'AWS::CloudWatch::Alarm');
  const topic = { Ref: logicalId(template, 'AWS::SNS::Topic', 'ObservabilityAlarmTopic') };
  const alarmFor = (id: string) => resourceById(template, 'AWS::CloudWatch::Alarm', `Observability${id}Alarm`);
  const SHARED_TOPIC = 'arn:<Partition>:sns:<Region>:<AccountId>:LoanEvents-alarms';

  test('every router alarm notifies the topic on ALARM and on OK, and treats missing data as fine', () => {
    expect(routerAlarms.map(([id]) => id.replace(/[0-9A-F]{8}$/, '')).sort()).toEqual([
      'ObservabilityBusDeadLetterQueueAlarm',
      'ObservabilityDeniedEventBridgeCallsAlarm',
      'ObservabilityKeyChangesAlarm',
      'ObservabilityPutEventsFailedEntriesAlarm',
    ]);
    for (const [, alarm] of routerAlarms) {
      expect(alarm.AlarmActions).toEqual([topic]);
      expect(alarm.OKActions).toEqual([topic]);
      expect(alarm.TreatMissingData).toBe('notBreaching');
      expect(alarm.AlarmDescription.length).toBeGreaterThan(30);
    }
  });

  test('every consumer alarm notifies the shared topic by its ARN, on ALARM and on OK', () => {
    for (const c of loanCatalog.consumers) {
      const alarms = resourcesOf(built.consumers[c.name]!, 'AWS::CloudWatch::Alarm');
      expect({ c: c.name, n: alarms.length }).toEqual({ c: c.name, n: 7 });
      for (const [, alarm] of alarms) {
        expect(flat(alarm.AlarmActions)).toEqual([SHARED_TOPIC]);
        expect(flat(alarm.OKActions)).toEqual([SHARED_TOPIC]);
        expect(alarm.TreatMissingData).toBe('notBreaching');
      }
    }
  });

  test('every dead-letter queue in every stack alarms on its first visible message', () => {
    const all = [template, ...Object.values(built.consumers)];
    let count = 0;
    for (const t of all) {
      const alarms = resourcesOf(t, 'AWS::CloudWatch::Alarm');
      const dlqIds = Object.keys(t.findResources('AWS::SQS::Queue')).filter((id) => /DeadLetterQueue/.test(id));
      count += dlqIds.length;
      for (const dlq of dlqIds) {
        const watching = alarms.filter(
          ([, a]) => a.MetricName === 'ApproximateNumberOfMessagesVisible' && a.Dimensions?.[0]?.Value?.['Fn::GetAtt']?.[0] === dlq,
        );
        expect({ dlq, n: watching.length }).toEqual({ dlq, n: 1 });
        expect(watching[0]![1]).toMatchObject({
          Namespace: 'AWS/SQS',
          Statistic: 'Maximum',
          Threshold: 0,
          ComparisonOperator: 'GreaterThanThreshold',
          Period: 60,
          EvaluationPeriods: 1,
        });
      }
    }
    expect(count).toBe(2 * loanCatalog.consumers.length + 1);
  });

  test.each(loanCatalog.consumers.map((c) => [c.name]))('%s: queue age, function errors and throttles, rule failures', (name) => {
    const id = pascalCase(name);
    const t = built.consumers[name]!;
    const consumerAlarm = (aid: string) => resourceById(t, 'AWS::CloudWatch::Alarm', `Observability${aid}Alarm`);
    const queueName = { 'Fn::GetAtt': [logicalId(t, 'AWS::SQS::Queue', `${id}Queue`), 'QueueName'] };
    expect(consumerAlarm(`${id}QueueAge`)).toMatchObject({
      MetricName: 'ApproximateAgeOfOldestMessage',
      Threshold: 300,
      Dimensions: [{ Name: 'QueueName', Value: queueName }],
    });
    const fn = { Ref: logicalId(t, 'AWS::Lambda::Function', `${id}Function`) };
    expect(consumerAlarm(`${id}FunctionErrors`)).toMatchObject({
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Threshold: 0,
      Dimensions: [{ Name: 'FunctionName', Value: fn }],
    });
    expect(consumerAlarm(`${id}FunctionThrottles`)).toMatchObject({ Namespace: 'AWS/Lambda', MetricName: 'Throttles', Threshold: 0 });
    const ruleDims = [
      { Name: 'EventBusName', Value: 'loan-events' },
      { Name: 'RuleName', Value: `LoanEvents-${name}` },
    ];
    expect(consumerAlarm(`${id}RuleFailedInvocations`)).toMatchObject({
      Namespace: 'AWS/Events',
      MetricName: 'FailedInvocations',
      Threshold: 0,
      Dimensions: ruleDims,
    });
    expect(consumerAlarm(`${id}RuleDeadLetterFailures`)).toMatchObject({
      Namespace: 'AWS/Events',
      MetricName: 'InvocationsFailedToBeSentToDlq',
      Threshold: 0,
      Dimensions: ruleDims,
    });
  });

  test("the alarm topic is encrypted with the alarm key (no data key), TLS-only, open to this account's alarms, and the key lets CloudWatch encrypt for it only", () => {
    expect(resourceById(template, 'AWS::SNS::Topic', 'ObservabilityAlarmTopic')).toEqual({
      TopicName: 'LoanEvents-alarms',
      KmsMasterKeyId: alarmKeyArn,
    });
    // No data key lets CloudWatch encrypt: disabling one cannot silence the alarms.
    for (const prefix of ['EventRouterKey', 'EventRouterDeadLetterKey', 'AuditKey']) {
      expect(flat(keyStatements(template, prefix)).some((s: any) => s.Principal?.Service === 'cloudwatch.amazonaws.com')).toBe(false);
    }
    const [, policy] = resourcesOf(template, 'AWS::SNS::TopicPolicy')[0]!;
    expect(policy.PolicyDocument.Statement).toContainEqual(
      expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
    );
    const statement = flat(keyStatements(template, 'AlarmKey')).find((s: any) => s.Principal?.Service === 'cloudwatch.amazonaws.com');
    expect(statement.Condition).toEqual({
      StringEquals: { 'kms:EncryptionContext:aws:sns:topicArn': 'arn:<Partition>:sns:<Region>:<AccountId>:LoanEvents-alarms' },
    });
    // Only this account's alarms may publish to the topic.
    expect(flat(policy.PolicyDocument.Statement)).toContainEqual(
      expect.objectContaining({
        Effect: 'Allow',
        Principal: { Service: 'cloudwatch.amazonaws.com' },
        Action: 'sns:Publish',
        Condition: {
          StringEquals: { 'aws:SourceAccount': '<AccountId>' },
          ArnLike: { 'aws:SourceArn': 'arn:<Partition>:cloudwatch:<Region>:<AccountId>:alarm:*' },
        },
      }),
    );
  });

  const filterOf = (name: string) => {
    const [[, filter]] = resourcesOf(template, 'AWS::Logs::MetricFilter').filter(
      ([, f]) => f.MetricTransformations[0].MetricName === name,
    ) as [[string, Record<string, any>]];
    expect(filter.LogGroupName).toEqual({ Ref: logicalId(template, 'AWS::Logs::LogGroup', 'AuditLogGroup') });
    expect(filter.MetricTransformations).toEqual([
      { MetricNamespace: 'LoanEvents/Audit', MetricName: name, MetricValue: '1', DefaultValue: 0 },
    ]);
    expect(alarmFor(name)).toMatchObject({ Namespace: 'LoanEvents/Audit', MetricName: name, Threshold: 0, Statistic: 'Sum', Period: 300 });
    return compileFilterPattern(filter.FilterPattern);
  };
  const records = (list: { name: string; record: unknown }[]) => list.map((r) => [r.name, JSON.stringify(r.record)] as const);

  describe('denied calls in the trail raise an alarm', () => {
    const matches = filterOf('DeniedEventBridgeCalls');
    test.each(records(deniedCalls.denied))('matches %s', (_name, record) => {
      expect(matches(record)).toBe(true);
    });
    test.each(records(allowedCalls.allowed))('misses %s', (_name, record) => {
      expect(matches(record)).toBe(false);
    });
  });

  describe('key changes in the trail raise an alarm', () => {
    const matches = filterOf('KeyChanges');
    test.each(records(deniedCalls.keyChanges))('matches %s', (_name, record) => {
      expect(matches(record)).toBe(true);
    });
    test.each(records([...allowedCalls.allowed, ...deniedCalls.denied]))('misses %s', (_name, record) => {
      expect(matches(record)).toBe(false);
    });
  });

  test('entries EventBridge refused in PutEvents calls raise an alarm (AWS/Events, no dimension: the metric has none)', () => {
    expect(alarmFor('PutEventsFailedEntries')).toMatchObject({
      Namespace: 'AWS/Events',
      MetricName: 'PutEventsFailedEntriesCount',
      Threshold: 0,
      Statistic: 'Sum',
      Period: 300,
      ComparisonOperator: 'GreaterThanThreshold',
    });
    expect(alarmFor('PutEventsFailedEntries').Dimensions).toBeUndefined();
  });

  test('with an organisation trail there is no audit log group to watch, so no audit alarm', () => {
    const { template: t } = builtWithExistingTrail();
    t.resourceCountIs('AWS::Logs::MetricFilter', 0);
    // The bus dead-letter queue and the failed PutEvents entries, which need no trail.
    t.resourceCountIs('AWS::CloudWatch::Alarm', 2);
  });

  test('alarmEmail subscribes that address to the topic', () => {
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'oncall@example.com',
      TopicArn: { Ref: topic.Ref },
    });
  });
});

describe('dashboard and outputs', () => {
  test("each consumer's dashboard shows its rule, buffer, function and DLQs; the router's shows the bus", () => {
    const bodyOf = (t: typeof template) =>
      JSON.stringify((resourcesOf(t, 'AWS::CloudWatch::Dashboard') as [[string, any]])[0][1].DashboardBody);
    for (const c of loanCatalog.consumers) {
      const id = pascalCase(c.name);
      const body = bodyOf(built.consumers[c.name]!);
      for (const title of ['rule', 'buffer queue', 'function', 'dead-letter queues']) expect(body).toContain(`${id}: ${title}`);
    }
    expect(bodyOf(template)).toContain('Bus dead-letter queue');
  });

  test('outputs the bus name and ARN, and each publisher role ARN', () => {
    template.hasOutput('EventBusName', { Value: { Ref: logicalId(template, 'AWS::Events::EventBus', 'EventRouterBus') } });
    template.hasOutput('EventBusArn', { Value: { 'Fn::GetAtt': [logicalId(template, 'AWS::Events::EventBus', 'EventRouterBus'), 'Arn'] } });
    template.hasOutput('LoanIntakePublisherRoleArn', {
      Value: { 'Fn::GetAtt': [logicalId(template, 'AWS::IAM::Role', 'EventRouterLoanIntakePublisherRole'), 'Arn'] },
    });
    template.hasOutput('EventBusDeadLetterQueueUrl', {});
    template.hasOutput('AlarmTopicArn', {});
  });
});
