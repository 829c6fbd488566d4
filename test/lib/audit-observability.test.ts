import { loanCatalog } from '../../catalog/loans';
import { pascalCase } from '../../lib/defaults';
import { BUS_ARN, buildStack, flat, keyStatements, logicalId, resourceById, resourcesOf } from './helpers';

// GIVEN the default stack and one relying on an organisation trail, each built once.
const built = buildStack({ alarmEmail: 'oncall@example.com' });
const { template } = built;
const keyArn = { 'Fn::GetAtt': [logicalId(template, 'AWS::KMS::Key', 'EventRouterKey'), 'Arn'] };
const TRAIL_ARN = 'arn:<Partition>:cloudtrail:<Region>:<AccountId>:trail/LoanEvents-audit';

describe('audit trail', () => {
  const trail = resourceById(template, 'AWS::CloudTrail::Trail', 'AuditTrail');

  test('validates log files, covers all regions and global services, encrypts with the key, delivers to CloudWatch Logs', () => {
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
    const { template: t } = buildStack({ logPutEvents: false });
    expect(resourceById(t, 'AWS::CloudTrail::Trail', 'AuditTrail').AdvancedEventSelectors).toEqual([
      { Name: 'Management events', FieldSelectors: [{ Field: 'eventCategory', Equals: ['Management'] }] },
    ]);
  });

  test('the log bucket is SSE-KMS with the key, versioned, private, access-logged, with lifecycle to cheaper storage', () => {
    const bucket = resourceById(template, 'AWS::S3::Bucket', 'AuditBucket');
    expect(bucket.BucketEncryption.ServerSideEncryptionConfiguration).toEqual([
      { ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: keyArn }, BucketKeyEnabled: true },
    ]);
    expect(bucket.VersioningConfiguration).toEqual({ Status: 'Enabled' });
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
    const statements = flat(keyStatements(template)).filter((s: any) => s.Principal?.Service === 'cloudtrail.amazonaws.com');
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
    const { template: t } = buildStack({ existingTrail: true });
    t.resourceCountIs('AWS::CloudTrail::Trail', 0);
    t.resourceCountIs('AWS::S3::Bucket', 0);
    expect(flat(keyStatements(t)).some((s: any) => s.Principal?.Service === 'cloudtrail.amazonaws.com')).toBe(false);
  });
});

describe('alarms', () => {
  const routerAlarms = resourcesOf(template, 'AWS::CloudWatch::Alarm');
  const topic = { Ref: logicalId(template, 'AWS::SNS::Topic', 'ObservabilityAlarmTopic') };
  const alarmFor = (id: string) => resourceById(template, 'AWS::CloudWatch::Alarm', `Observability${id}Alarm`);
  const SHARED_TOPIC = 'arn:<Partition>:sns:<Region>:<AccountId>:LoanEvents-alarms';

  test('every router alarm notifies the topic on ALARM and on OK, and treats missing data as fine', () => {
    expect(routerAlarms.length).toBe(2);
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

  test("the alarm topic is encrypted with the key, TLS-only, open to this account's alarms, and the key lets CloudWatch encrypt for it only", () => {
    expect(resourceById(template, 'AWS::SNS::Topic', 'ObservabilityAlarmTopic')).toEqual({
      TopicName: 'LoanEvents-alarms',
      KmsMasterKeyId: keyArn,
    });
    const [, policy] = resourcesOf(template, 'AWS::SNS::TopicPolicy')[0]!;
    expect(policy.PolicyDocument.Statement).toContainEqual(
      expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
    );
    const statement = flat(keyStatements(template)).find((s: any) => s.Principal?.Service === 'cloudwatch.amazonaws.com');
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

  test('denied EventBridge calls in the trail raise an alarm', () => {
    template.hasResourceProperties('AWS::Logs::MetricFilter', {
      LogGroupName: { Ref: logicalId(template, 'AWS::Logs::LogGroup', 'AuditLogGroup') },
      FilterPattern: '{ ($.eventSource = "events.amazonaws.com") && ($.errorCode = "AccessDenied*") }',
      MetricTransformations: [
        { MetricNamespace: 'LoanEvents/Audit', MetricName: 'DeniedEventBridgeCalls', MetricValue: '1', DefaultValue: 0 },
      ],
    });
    expect(alarmFor('DeniedEventBridgeCalls')).toMatchObject({
      Namespace: 'LoanEvents/Audit',
      MetricName: 'DeniedEventBridgeCalls',
      Threshold: 0,
      Statistic: 'Sum',
      Period: 300,
    });
  });

  test('with an organisation trail there is no audit log group to watch, so no audit alarm', () => {
    const { template: t } = buildStack({ existingTrail: true });
    t.resourceCountIs('AWS::Logs::MetricFilter', 0);
    t.resourceCountIs('AWS::CloudWatch::Alarm', 1);
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
