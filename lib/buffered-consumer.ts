/**
 * One catalog consumer: a rule on the bus, an encrypted SQS buffer with dead-letter queues, and a
 * Lambda function that reads the buffer in batches and reports partial failures.
 */
import * as fs from 'fs';
import * as path from 'path';
import { ArnFormat, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ConsumerDefinition, consumerPattern } from '../catalog/define';
import {
  checkLength,
  DEFAULT_MAX_RECEIVE_COUNT,
  DEFAULT_TARGET_MAX_EVENT_AGE,
  DEFAULT_TARGET_RETRY_ATTEMPTS,
  DLQ_RETENTION,
  encryptedLogGroup,
  encryptedQueueProps,
  MAX_BUFFER_RETENTION,
  MAX_TARGET_RETRY_ATTEMPTS,
  pascalCase,
  requiredVisibilityTimeout,
} from './defaults';
import { EventRouter } from './event-router';

/** Tuning defaults, as documented on `ConsumerTuning` in the catalog. */
export const CONSUMER_TUNING_DEFAULTS = {
  batchSize: 10,
  maxBatchingWindowSeconds: 0,
  maxConcurrency: 5,
  timeoutSeconds: 30,
  memoryMB: 256,
  maxReceiveCount: DEFAULT_MAX_RECEIVE_COUNT,
} as const;

/** What a consumer may do with its state table: item reads and writes, nothing else. */
export const STATE_TABLE_ACTIONS = [
  'dynamodb:GetItem',
  'dynamodb:BatchGetItem',
  'dynamodb:Query',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:BatchWriteItem',
  'dynamodb:ConditionCheckItem',
] as const;

/** What Powertools' DynamoDBPersistenceLayer calls on the idempotency table. */
export const IDEMPOTENCY_TABLE_ACTIONS = ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'] as const;

export interface BufferedConsumerProps {
  /** The catalog entry: name, subscriptions, what it publishes, tuning. */
  readonly consumer: ConsumerDefinition;

  /** The bus, key and publish grants this consumer plugs into. */
  readonly router: EventRouter;

  /**
   * Handler file exporting `handler`.
   * @default - `lambdas/<consumer name>/index.ts` at the project root
   */
  readonly entry?: string;

  /**
   * Prefix of physical names (queues, rule, function, log group), so an operator can find them.
   * @default - the stack name
   */
  readonly namePrefix?: string;

  /**
   * Delivery retries from the rule to the buffer queue before the event goes to the delivery
   * dead-letter queue. Valid Range: 0 to 185.
   * @default 185
   * @see https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-retry-policy.html
   */
  readonly retryAttempts?: number;

  /**
   * How long EventBridge retries delivery to the buffer queue. Valid Range: 60 seconds to 24 hours.
   * @default Duration.hours(24)
   */
  readonly maxEventAge?: Duration;

  /**
   * How long the buffer queue keeps a message. Valid Range: 60 seconds to 7 days (a message keeps
   * its original enqueue time in the 14-day dead-letter queue).
   * @default Duration.days(4)
   */
  readonly queueRetention?: Duration;

  /**
   * Retention of the function's log group.
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * Rule -> encrypted SQS buffer (with delivery DLQ and redrive DLQ) -> Lambda with partial batch
 * responses, plus the consumer's idempotency table and optional state table.
 */
export class BufferedConsumer extends Construct {
  /** The rule on the bus with the consumer's catalog pattern. */
  public readonly rule: events.Rule;
  /** The buffer queue the rule delivers to and the function reads. */
  public readonly queue: sqs.Queue;
  /** Messages the function failed `maxReceiveCount` times. */
  public readonly deadLetterQueue: sqs.Queue;
  /** Events EventBridge could not deliver to the buffer queue after its retry policy. */
  public readonly deliveryDeadLetterQueue: sqs.Queue;
  /** The consumer function. */
  public readonly function: nodejs.NodejsFunction;
  /** The function's execution role; no AWS managed policies. */
  public readonly role: iam.Role;
  /** The function's log group, encrypted with the project key. */
  public readonly logGroup: logs.LogGroup;
  /** Powertools idempotency records: partition key `id`, TTL attribute `expiration`. */
  public readonly idempotencyTable: dynamodb.Table;
  /** The consumer's own records (`pk`/`sk`), when the catalog entry sets `stateTable`. */
  public readonly stateTable?: dynamodb.Table;
  /** The SQS event source mapping settings in force. */
  public readonly eventSource: SqsEventSource;
  /** Physical names of the buffer queue and both dead-letter queues. */
  public readonly queueNames: string[];
  /** The visibility timeout the buffer queue got (6 x function timeout + batching window). */
  public readonly visibilityTimeout: Duration;

  constructor(scope: Construct, id: string, props: BufferedConsumerProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const consumer = props.consumer;
    const tuning = { ...CONSUMER_TUNING_DEFAULTS, ...consumer.tuning };
    validateTuning(consumer.name, tuning);
    const retryAttempts = props.retryAttempts ?? DEFAULT_TARGET_RETRY_ATTEMPTS;
    if (!Number.isInteger(retryAttempts) || retryAttempts < 0 || retryAttempts > MAX_TARGET_RETRY_ATTEMPTS) {
      throw new Error(`'retryAttempts' must be an integer between 0 and ${MAX_TARGET_RETRY_ATTEMPTS} inclusive (given ${retryAttempts})`);
    }
    const maxEventAge = props.maxEventAge ?? DEFAULT_TARGET_MAX_EVENT_AGE;
    if (maxEventAge.toSeconds() < 60 || maxEventAge.toSeconds() > 86400) {
      throw new Error(`'maxEventAge' must be between 60 seconds and 24 hours inclusive (given ${maxEventAge.toHumanString()})`);
    }

    const queueRetention = props.queueRetention ?? Duration.days(4);
    if (queueRetention.toSeconds() < 60 || queueRetention.toSeconds() > MAX_BUFFER_RETENTION.toSeconds()) {
      throw new Error(
        `'queueRetention' must be between 60 seconds and ${MAX_BUFFER_RETENTION.toHumanString()} inclusive, so messages moved to the 14-day dead-letter queue keep time there (given ${queueRetention.toHumanString()})`,
      );
    }

    const router = props.router;
    const key = router.encryptionKey;
    const prefix = `${props.namePrefix ?? stack.stackName}-${consumer.name}`;
    const names = {
      queue: prefix,
      deadLetterQueue: `${prefix}-dlq`,
      deliveryDeadLetterQueue: `${prefix}-delivery-dlq`,
      rule: prefix,
      function: prefix,
    };
    checkLength('queueName', names.deliveryDeadLetterQueue, 80);
    checkLength('ruleName', names.rule, 64);
    checkLength('functionName', names.function, 64);

    const timeout = Duration.seconds(tuning.timeoutSeconds);
    const batchingWindow = Duration.seconds(tuning.maxBatchingWindowSeconds);
    this.visibilityTimeout = requiredVisibilityTimeout(timeout, batchingWindow);
    // Within the SQS maximum of 12 hours: validateTuning caps the timeout at 900 s and the window
    // at 300 s, so the largest value is 6 x 900 + 300 = 5700 s.

    // Queue ARNs and the rule ARN are built from names, because the key policy below must name
    // them and the queues and rule depend on the key: referencing them would be a cycle.
    const queueArn = (name: string) => stack.formatArn({ service: 'sqs', resource: name, arnFormat: ArnFormat.NO_RESOURCE_NAME });
    const ruleArn = stack.formatArn({ service: 'events', resource: 'rule', resourceName: `${router.eventBusName}/${names.rule}` });

    this.queueNames = [names.queue, names.deadLetterQueue, names.deliveryDeadLetterQueue];
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      queueName: names.deadLetterQueue,
      // Only this consumer's buffer queue may redrive into it (by name: the buffer queue
      // references this queue, so referencing it back would be a cycle).
      redriveAllowPolicy: {
        redrivePermission: sqs.RedrivePermission.BY_QUEUE,
        sourceQueues: [sqs.Queue.fromQueueArn(this, 'BufferQueueByArn', queueArn(names.queue))],
      },
      ...encryptedQueueProps(key),
      retentionPeriod: DLQ_RETENTION,
    });
    this.deliveryDeadLetterQueue = new sqs.Queue(this, 'DeliveryDeadLetterQueue', {
      queueName: names.deliveryDeadLetterQueue,
      // EventBridge writes here directly; no SQS queue may use it as its dead-letter queue.
      redriveAllowPolicy: { redrivePermission: sqs.RedrivePermission.DENY_ALL },
      ...encryptedQueueProps(key),
      retentionPeriod: DLQ_RETENTION,
    });
    this.queue = new sqs.Queue(this, 'Queue', {
      queueName: names.queue,
      ...encryptedQueueProps(key),
      visibilityTimeout: this.visibilityTimeout,
      retentionPeriod: queueRetention,
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: tuning.maxReceiveCount },
    });

    // EventBridge writes to both queues through SQS, which calls KMS with the queue ARN as the
    // encryption context. Without this statement deliveries fail silently into the retry policy:
    // the best-known failure of encrypted SQS targets.
    // @see https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-key-management.html
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: `AllowEventBridgeToEncryptFor${pascalCase(consumer.name)}`,
        principals: [new iam.ServicePrincipal('events.amazonaws.com')],
        actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
        resources: ['*'],
        conditions: {
          ArnEquals: { 'aws:SourceArn': ruleArn },
          // aws:SourceArn already names this account; no second source key that could go missing.
          StringEquals: {
            'kms:EncryptionContext:aws:sqs:arn': [queueArn(names.queue), queueArn(names.deliveryDeadLetterQueue)],
          },
        },
      }),
    );

    this.rule = new events.Rule(this, 'Rule', {
      ruleName: names.rule,
      eventBus: router.eventBus,
      description: `${consumer.name}: ${consumer.description}`.slice(0, 512),
      // The catalog pattern may use `$or`; the L2 passes unknown keys through unchanged.
      eventPattern: consumerPattern(consumer) as events.EventPattern,
    });
    // A hand-written target instead of targets.SqsQueue: that target grants events.amazonaws.com
    // on the key with the rule's ARN from the rule itself, which makes the key depend on the
    // rule, the rule on the bus and the bus on the key.
    this.rule.addTarget({
      bind: () => ({
        arn: this.queue.queueArn,
        deadLetterConfig: { arn: this.deliveryDeadLetterQueue.queueArn },
        retryPolicy: { maximumRetryAttempts: retryAttempts, maximumEventAgeInSeconds: maxEventAge.toSeconds() },
      }),
    });
    for (const [queue, sid] of [
      [this.queue, 'AllowRuleToBuffer'],
      [this.deliveryDeadLetterQueue, 'AllowRuleDeadLetters'],
    ] as const) {
      queue.addToResourcePolicy(
        new iam.PolicyStatement({
          sid,
          principals: [new iam.ServicePrincipal('events.amazonaws.com')],
          actions: ['sqs:SendMessage'],
          resources: [queue.queueArn],
          conditions: { ArnEquals: { 'aws:SourceArn': this.rule.ruleArn } },
        }),
      );
    }

    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of the ${consumer.name} consumer`,
    });
    this.logGroup = encryptedLogGroup(this, 'LogGroup', {
      encryptionKey: key,
      logGroupName: `/aws/lambda/${names.function}`,
      retention: props.logRetention,
    });
    this.logGroup.applyRemovalPolicy(RemovalPolicy.RETAIN);
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'WriteOwnLogs',
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [this.logGroup.logGroupArn],
      }),
    );

    this.idempotencyTable = new dynamodb.Table(this, 'IdempotencyTable', {
      partitionKey: { name: 'id', type: dynamodb.AttributeType.STRING },
      timeToLiveAttribute: 'expiration',
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: key,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      // Idempotency records expire within hours; nothing is lost when the stack is removed.
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.idempotencyTable.grant(this.role, ...IDEMPOTENCY_TABLE_ACTIONS);
    if (consumer.stateTable) {
      this.stateTable = new dynamodb.Table(this, 'StateTable', {
        partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
        sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
        billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
        encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
        encryptionKey: key,
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
        deletionProtection: true,
        removalPolicy: RemovalPolicy.RETAIN,
      });
      // Item reads and writes; no Scan, no table administration.
      this.stateTable.grant(this.role, ...STATE_TABLE_ACTIONS);
    }
    // The role uses the key only through SQS and DynamoDB, and only for its own queues and tables:
    // kms:ViaService keeps the permissions from being usable directly against KMS, and the
    // encryption context each service passes (aws:sqs:arn, aws:dynamodb:tableName) keeps them
    // from reaching another consumer's messages or items. Least privilege rather than a Deny of
    // every other kms:ViaService: Lambda decrypts the function's environment with this key through
    // a grant it creates for the role, which such a Deny would block.
    // @see https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-key-management.html
    // @see https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/encryption.howitworks.html
    const via = (service: string) => ({ 'kms:ViaService': `${service}.${stack.region}.amazonaws.com` });
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'DecryptOwnQueueThroughSqs',
        actions: ['kms:Decrypt'],
        resources: [key.keyArn],
        conditions: { StringEquals: { ...via('sqs'), 'kms:EncryptionContext:aws:sqs:arn': this.queue.queueArn } },
      }),
    );
    // Moving a message to the dead-letter queue after maxReceiveCount encrypts it for that queue.
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'EncryptForOwnDeadLetterQueueThroughSqs',
        actions: ['kms:GenerateDataKey'],
        resources: [key.keyArn],
        conditions: { StringEquals: { ...via('sqs'), 'kms:EncryptionContext:aws:sqs:arn': this.deadLetterQueue.queueArn } },
      }),
    );
    const tableNames = [this.idempotencyTable.tableName, ...(this.stateTable ? [this.stateTable.tableName] : [])];
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'UseKeyForOwnTablesThroughDynamoDb',
        actions: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey'],
        resources: [key.keyArn],
        conditions: { StringEquals: { ...via('dynamodb'), 'kms:EncryptionContext:aws:dynamodb:tableName': tableNames } },
      }),
    );
    // DescribeKey carries no encryption context.
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'DescribeKeyThroughDynamoDb',
        actions: ['kms:DescribeKey'],
        resources: [key.keyArn],
        conditions: { StringEquals: via('dynamodb') },
      }),
    );

    const environment: Record<string, string> = {
      EVENT_BUS_NAME: router.eventBusName,
      IDEMPOTENCY_TABLE_NAME: this.idempotencyTable.tableName,
      CONSUMER_NAME: consumer.name,
      POWERTOOLS_SERVICE_NAME: consumer.name,
      POWERTOOLS_METRICS_NAMESPACE: 'LoanEvents',
      POWERTOOLS_LOG_LEVEL: 'INFO',
      // Stack traces point at the TypeScript source through the bundled source map.
      NODE_OPTIONS: '--enable-source-maps',
    };
    if (this.stateTable) environment.STATE_TABLE_NAME = this.stateTable.tableName;

    const entry = props.entry ?? path.join(__dirname, '..', 'lambdas', consumer.name, 'index.ts');
    if (!fs.existsSync(entry)) {
      throw new Error(`Consumer '${consumer.name}' has no handler file: expected ${entry} exporting 'handler' (add it, or set 'entry')`);
    }
    this.function = new nodejs.NodejsFunction(this, 'Function', {
      functionName: names.function,
      description: consumer.description.slice(0, 256),
      entry,
      handler: 'handler',
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: tuning.memoryMB,
      timeout,
      role: this.role,
      environment,
      environmentEncryption: key,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      applicationLogLevelV2: lambda.ApplicationLogLevel.INFO,
      systemLogLevelV2: lambda.SystemLogLevel.WARN,
      tracing: lambda.Tracing.ACTIVE,
      bundling: {
        minify: true,
        sourceMap: true,
        sourcesContent: false,
        target: 'node24',
        forceDockerBundling: false,
        // NodejsFunction takes no esbuild plugins, so the bundle is rebuilt with the one plugin
        // that halves it (zod's unused locales, ~260 KB): same esbuild settings, see sdk/build.ts.
        commandHooks: {
          beforeBundling: () => [],
          beforeInstall: () => [],
          afterBundling: (_inputDir: string, outputDir: string) => [rebuildWithoutUnusedLocales(entry, outputDir)],
        },
      },
    });

    // The event source is given a view of the queue without its key: SqsEventSource grants the
    // queue's consume actions to the role, and for an encrypted queue also kms:Decrypt on the whole
    // key with no condition, which would let the role decrypt any ciphertext under the project
    // key outside SQS. The role's key use is granted above, scoped to its own resources.
    const queueWithoutKeyGrant = sqs.Queue.fromQueueAttributes(this, 'QueueForEventSource', {
      queueArn: this.queue.queueArn,
      queueUrl: this.queue.queueUrl,
      queueName: this.queue.queueName,
      fifo: false,
    });
    this.eventSource = new SqsEventSource(queueWithoutKeyGrant, {
      batchSize: tuning.batchSize,
      maxBatchingWindow: tuning.maxBatchingWindowSeconds > 0 ? batchingWindow : undefined,
      maxConcurrency: tuning.maxConcurrency,
      reportBatchItemFailures: true,
    });
    this.function.addEventSource(this.eventSource);

    router.grantPublish(consumer.name, this.role, consumer.publishes);
    this.acknowledgeNagFindings();
  }

  /** cdk-nag findings that do not apply to this design, each with the reason. */
  private acknowledgeNagFindings(): void {
    const name = this.node.id;
    Validations.of(this.role).acknowledge({
      id: 'AwsSolutions::AwsSolutions-IAM5[Resource::*]',
      reason: 'Only xray:PutTraceSegments and xray:PutTelemetryRecords use Resource *: X-Ray has no resource-level permissions for them.',
    });
    Validations.of(this.function).acknowledge(
      {
        id: 'Serverless::Serverless-LambdaDLQ',
        reason: `${name} is invoked synchronously by its SQS event source mapping; failed records return to the buffer queue and move to its dead-letter queue after maxReceiveCount. An async-invoke DLQ would never be used.`,
      },
      {
        id: 'Serverless::Serverless-LambdaEventSourceMappingDestination',
        reason:
          'SQS event source mappings do not support on-failure destinations; the buffer queue redrive policy sends failed messages to the consumer dead-letter queue.',
      },
    );
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'Serverless::Serverless-SQSRedrivePolicy',
      reason: `This is the redrive dead-letter queue of the ${name} buffer queue; a dead-letter queue of a dead-letter queue only hides messages. Its depth is alarmed.`,
    });
    Validations.of(this.deliveryDeadLetterQueue).acknowledge(
      {
        id: 'Serverless::Serverless-SQSRedrivePolicy',
        reason: `This is the EventBridge target dead-letter queue of the ${name} rule; nothing consumes it, so a redrive policy would never apply. Its depth is alarmed.`,
      },
      {
        id: 'AwsSolutions::AwsSolutions-SQS3',
        reason: `This queue is a dead-letter queue: EventBridge's target DLQ for the ${name} rule (DeadLetterConfig), which cdk-nag does not recognise as one.`,
      },
    );
  }
}

interface Tuning {
  batchSize: number;
  maxBatchingWindowSeconds: number;
  maxConcurrency: number;
  timeoutSeconds: number;
  memoryMB: number;
  maxReceiveCount: number;
}

/**
 * Checks a consumer's tuning against the service limits, naming the consumer, field and value.
 * @see https://docs.aws.amazon.com/lambda/latest/api/API_CreateEventSourceMapping.html
 */
export function validateTuning(name: string, t: Tuning): void {
  const range = (field: keyof Tuning, min: number, max: number) => {
    const v = t[field];
    if (!Number.isInteger(v) || v < min || v > max) {
      throw new Error(`Consumer '${name}': tuning.${field} must be an integer between ${min} and ${max} inclusive (given ${v})`);
    }
  };
  range('batchSize', 1, 10000);
  range('maxBatchingWindowSeconds', 0, 300);
  range('maxConcurrency', 2, 1000);
  range('timeoutSeconds', 1, 900);
  range('memoryMB', 128, 10240);
  range('maxReceiveCount', 1, 1000);
  if (t.batchSize > 10 && t.maxBatchingWindowSeconds === 0) {
    throw new Error(
      `Consumer '${name}': tuning.batchSize above 10 requires tuning.maxBatchingWindowSeconds of at least 1 (given batchSize ${t.batchSize}, maxBatchingWindowSeconds 0)`,
    );
  }
}

/**
 * The shell command that rebuilds a handler bundle with sdk/build.ts. Absolute paths: local
 * bundling runs in a working directory of its own, where `tsx` would not resolve.
 */
function rebuildWithoutUnusedLocales(entry: string, outputDir: string): string {
  const quote = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;
  const loader = require.resolve('tsx'); // its loader.mjs, what `node --import tsx` loads
  const build = path.join(__dirname, '..', 'sdk', 'build.ts');
  return [process.execPath, '--import', loader, build, entry, outputDir].map(quote).join(' ');
}
