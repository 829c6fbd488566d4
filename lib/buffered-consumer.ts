/**
 * One catalog consumer: a rule on the bus, an encrypted SQS buffer with dead-letter queues, and a
 * Lambda function that reads the buffer in batches and reports partial failures.
 */
import * as fs from 'fs';
import * as path from 'path';
import { MessageChannel, receiveMessageOnPort, Worker } from 'worker_threads';
import { ArnFormat, AssetHashType, Duration, ILocalBundling, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { AppDefinition, ConsumerDefinition, consumerPattern, ConsumerTuning, names } from '../sdk/catalog';
import { BusReference, ruleArnOf } from './bus-reference';
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
  requiredVisibilityTimeout,
} from './defaults';
import { acknowledgeDedicatedRoleInlinePolicy, acknowledgeRule, acknowledgeSqsTriggeredFunction } from './compliance';
import { grantPublishOn } from './event-router';
import { FunctionPlacement } from './network';
import { admitDeadLetterOperators, defaultDeploymentRoleArn, managedKey } from './keys';
import { publishBoundary } from './publish-boundary';
import { ENTRY_METADATA_KEY } from '../assembly/template';

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
  /** The app definition: names and the metrics namespace. */
  readonly app: AppDefinition;

  /** The catalog entry: name, subscriptions, what it publishes, tuning. */
  readonly consumer: ConsumerDefinition;

  /** The bus, by deterministic name and ARN (no reference to the router stack). */
  readonly bus: BusReference;

  /**
   * Handler file exporting `handler`.
   * @default - `<handlersDir>/<consumer name>/index.ts`
   */
  readonly entry: string;

  /**
   * Where the subscription lives. `'local'`: the rule, its target and the delivery dead-letter
   * queue are built here, in the bus's account. `'remote'`: they are built by a
   * `ConsumerSubscription` in the bus's account, and this construct admits its delivery role.
   * @default 'local'
   */
  readonly subscription?: 'local' | 'remote';

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

  /**
   * Subnets and security groups of the function, for the isolated deployment (see `IsolatedPlacement`).
   * @default - the function runs outside any VPC, in Lambda's own network
   * @see https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html
   */
  readonly placement?: FunctionPlacement;
  /**
   * Who administers the consumer's key (`administrators`, `deployers`: see `managedKey`) and which
   * operator roles may read and redrive its dead letters through SQS.
   * @default - administered by the stack's CloudFormation execution role and the root user; no operators
   */
  readonly keyAdministration?: { administrators?: string[]; deployers?: string[]; operators?: string[] };
}

/**
 * Rule -> encrypted SQS buffer (with delivery DLQ and redrive DLQ) -> Lambda with partial batch
 * responses, plus the consumer's own key, idempotency table and optional state table.
 */
export class BufferedConsumer extends Construct {
  /** The consumer's own key: queues, tables, logs and the function's environment. */
  public readonly encryptionKey: kms.Key;
  /** The rule on the bus with the consumer's catalog pattern; absent for a remote subscription. */
  public readonly rule?: events.Rule;
  /** The buffer queue the rule delivers to and the function reads. */
  public readonly queue: sqs.Queue;
  /** Messages the function failed `maxReceiveCount` times. */
  public readonly deadLetterQueue: sqs.Queue;
  /** Events EventBridge could not deliver to the buffer queue; absent for a remote subscription (it lives with the rule). */
  public readonly deliveryDeadLetterQueue?: sqs.Queue;
  /** The consumer function. */
  public readonly function: lambda.Function;
  /** The function's execution role, named by the app's naming policy; no AWS managed policies. */
  public readonly role: iam.Role;
  /** The function's log group, encrypted with the consumer's key. */
  public readonly logGroup: logs.LogGroup;
  /** Powertools idempotency records: partition key `id`, TTL attribute `expiration`. */
  public readonly idempotencyTable: dynamodb.Table;
  /** The consumer's own records (`pk`/`sk`), when the catalog entry sets `stateTable`. */
  public readonly stateTable?: dynamodb.Table;
  /** The SQS event source mapping settings in force. */
  public readonly eventSource: SqsEventSource;
  /** Physical names of the consumer's queues. */
  public readonly queueNames: string[];
  /** The visibility timeout the buffer queue got (6 x function timeout + batching window). */
  public readonly visibilityTimeout: Duration;
  /** ARN of the consumer's rule on the bus, built from names (the rule may live in another stack). */
  public readonly ruleArn: string;
  /** Physical names derived from the app definition. */
  public readonly names: ConsumerNames;

  private readonly tuning: Required<ConsumerTuning>;
  private readonly consumer: ConsumerDefinition;

  constructor(scope: Construct, id: string, props: BufferedConsumerProps) {
    super(scope, id);
    const consumer = props.consumer;
    this.consumer = consumer;
    this.tuning = { ...CONSUMER_TUNING_DEFAULTS, ...consumer.tuning };
    validateTuning(consumer.name, this.tuning);
    const delivery = validateDelivery(props);
    this.names = consumerNames(props.app, consumer.name);
    this.ruleArn = ruleArnOf(props.bus, this.names.rule);
    this.visibilityTimeout = requiredVisibilityTimeout(
      Duration.seconds(this.tuning.timeoutSeconds),
      Duration.seconds(this.tuning.maxBatchingWindowSeconds),
    );

    const keyAdministration = props.keyAdministration ?? {};
    this.encryptionKey = managedKey(this, 'Key', {
      description: `Encrypts the ${consumer.name} consumer's queues, tables, logs and function environment`,
      alias: this.names.prefix,
      administrators: keyAdministration.administrators,
      deployers: keyAdministration.deployers ?? [defaultDeploymentRoleArn(Stack.of(this))],
      services: ['sqs', 'dynamodb', 'lambda', 'logs'],
    });
    const remote = props.subscription === 'remote';
    const queues = this.createQueues(remote, delivery.queueRetention);
    admitDeadLetterOperators(
      this.encryptionKey,
      keyAdministration.operators ?? [],
      [this.names.queue, this.names.deadLetterQueue, ...(remote ? [] : [this.names.deliveryDeadLetterQueue])].map((q) =>
        this.queueArnByName(q),
      ),
    );
    this.queue = queues.queue;
    this.deadLetterQueue = queues.deadLetterQueue;
    this.deliveryDeadLetterQueue = queues.deliveryDeadLetterQueue;
    this.queueNames = [this.names.queue, this.names.deadLetterQueue, ...(remote ? [] : [this.names.deliveryDeadLetterQueue])];

    if (remote) {
      this.admitRemoteDelivery(props);
    } else {
      this.rule = this.subscribe(props, delivery);
    }

    this.role = this.createRole(props);
    this.logGroup = encryptedLogGroup(this, 'LogGroup', {
      encryptionKey: this.encryptionKey,
      logGroupName: `/aws/lambda/${this.names.function}`,
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
    const tables = this.createTables();
    this.idempotencyTable = tables.idempotencyTable;
    this.stateTable = tables.stateTable;
    this.grantKeyUse();
    this.function = this.createFunction(props);
    if (props.placement) this.placeInVpc(props.placement);
    this.eventSource = this.connectBuffer();
    grantPublishOn(props.bus.arn, this.role, consumer.publishes);
    this.acknowledgeNagFindings(props.placement !== undefined);
  }

  /** Buffer queue, its redrive dead-letter queue and (for a local subscription) the delivery dead-letter queue. */
  private createQueues(remote: boolean, retention: Duration) {
    const stack = Stack.of(this);
    const key = this.encryptionKey;
    const names = this.names;
    // Queue ARNs are built from names: the key policy names them and the queues depend on the key.
    const queueArn = (name: string) => stack.formatArn({ service: 'sqs', resource: name, arnFormat: ArnFormat.NO_RESOURCE_NAME });
    const deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
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
    const deliveryDeadLetterQueue = remote
      ? undefined
      : new sqs.Queue(this, 'DeliveryDeadLetterQueue', {
          queueName: names.deliveryDeadLetterQueue,
          // EventBridge writes here directly; no SQS queue may use it as its dead-letter queue.
          redriveAllowPolicy: { redrivePermission: sqs.RedrivePermission.DENY_ALL },
          ...encryptedQueueProps(key),
          retentionPeriod: DLQ_RETENTION,
        });
    const queue = new sqs.Queue(this, 'Queue', {
      queueName: names.queue,
      ...encryptedQueueProps(key),
      visibilityTimeout: this.visibilityTimeout,
      retentionPeriod: retention,
      deadLetterQueue: { queue: deadLetterQueue, maxReceiveCount: this.tuning.maxReceiveCount },
    });
    return { queue, deadLetterQueue, deliveryDeadLetterQueue, queueArn };
  }

  /**
   * The rule on the bus and its target (same account). EventBridge writes to both queues through
   * SQS, which calls KMS with the queue ARN as encryption context: the key admits EventBridge for
   * exactly this rule and these queues. Without it deliveries fail silently into the retry policy,
   * the best-known failure of encrypted SQS targets.
   * @see https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-key-management.html
   */
  private subscribe(props: BufferedConsumerProps, delivery: Delivery): events.Rule {
    const dlq = this.deliveryDeadLetterQueue;
    if (!dlq) throw new Error('A local subscription needs the delivery dead-letter queue');
    this.encryptionKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowEventBridgeToEncryptForOwnRule',
        principals: [new iam.ServicePrincipal('events.amazonaws.com')],
        actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
        resources: ['*'],
        conditions: {
          ArnEquals: { 'aws:SourceArn': this.ruleArn },
          StringEquals: {
            'aws:SourceAccount': props.bus.account,
            'kms:EncryptionContext:aws:sqs:arn': [
              this.queueArnByName(this.names.queue),
              this.queueArnByName(this.names.deliveryDeadLetterQueue),
            ],
          },
        },
      }),
    );
    const rule = new events.Rule(this, 'Rule', {
      ruleName: this.names.rule,
      eventBus: props.bus.eventBus(this),
      description: `${props.consumer.name}: ${props.consumer.description}`.slice(0, 512),
      // The catalog pattern may use `$or`; the L2 passes unknown keys through unchanged.
      eventPattern: consumerPattern(props.consumer) as events.EventPattern,
    });
    // A hand-written target instead of targets.SqsQueue, which would grant on the key with the
    // rule's ARN taken from the rule: key -> rule -> key, a cycle.
    rule.addTarget({
      bind: () => ({
        arn: this.queue.queueArn,
        deadLetterConfig: { arn: dlq.queueArn },
        retryPolicy: { maximumRetryAttempts: delivery.retryAttempts, maximumEventAgeInSeconds: delivery.maxEventAge.toSeconds() },
      }),
    });
    for (const [queue, sid] of [
      [this.queue, 'AllowRuleToBuffer'],
      [dlq, 'AllowRuleDeadLetters'],
    ] as const) {
      queue.addToResourcePolicy(
        new iam.PolicyStatement({
          sid,
          principals: [new iam.ServicePrincipal('events.amazonaws.com')],
          actions: ['sqs:SendMessage'],
          resources: [queue.queueArn],
          conditions: { ArnEquals: { 'aws:SourceArn': rule.ruleArn } },
        }),
      );
    }
    return rule;
  }

  /**
   * A subscription in the bus's account delivers with its delivery role (EventBridge requires an
   * execution role in the bus's account for targets in another account): the queue and the key
   * admit exactly that role, and only for this queue.
   * @see https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-service-cross-account.html
   */
  private admitRemoteDelivery(props: BufferedConsumerProps): void {
    const stack = Stack.of(this);
    const deliveryRole = `arn:${stack.partition}:iam::${props.bus.account}:role/${names.deliveryRole(props.app, props.consumer.name)}`;
    this.queue.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowSubscriptionToBuffer',
        principals: [new iam.ArnPrincipal(deliveryRole)],
        actions: ['sqs:SendMessage'],
        resources: [this.queue.queueArn],
      }),
    );
    this.encryptionKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowSubscriptionToEncryptThroughSqs',
        principals: [new iam.ArnPrincipal(deliveryRole)],
        actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
        resources: ['*'],
        conditions: {
          StringEquals: {
            'kms:ViaService': `sqs.${stack.region}.amazonaws.com`,
            'kms:EncryptionContext:aws:sqs:arn': this.queueArnByName(this.names.queue),
          },
        },
      }),
    );
  }

  /** The execution role, named by the app's naming policy and bounded to the consumer's catalog events. */
  private createRole(props: BufferedConsumerProps): iam.Role {
    checkLength('roleName', this.names.role, 64);
    return new iam.Role(this, 'Role', {
      roleName: this.names.role,
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of the ${props.consumer.name} consumer`,
      permissionsBoundary: publishBoundary(this, 'PublishBoundary', {
        eventBusArn: props.bus.arn,
        events: props.consumer.publishes,
        owner: props.consumer.name,
      }),
    });
  }

  private createTables(): { idempotencyTable: dynamodb.Table; stateTable?: dynamodb.Table } {
    const key = this.encryptionKey;
    const idempotencyTable = new dynamodb.Table(this, 'IdempotencyTable', {
      tableName: this.names.idempotencyTable,
      partitionKey: { name: 'id', type: dynamodb.AttributeType.STRING },
      timeToLiveAttribute: 'expiration',
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: key,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      // Idempotency records expire within hours; nothing is lost when the stack is removed.
      removalPolicy: RemovalPolicy.DESTROY,
    });
    idempotencyTable.grant(this.role, ...IDEMPOTENCY_TABLE_ACTIONS);
    if (!this.consumer.stateTable) return { idempotencyTable };
    const stateTable = new dynamodb.Table(this, 'StateTable', {
      tableName: this.names.stateTable,
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
    stateTable.grant(this.role, ...STATE_TABLE_ACTIONS);
    return { idempotencyTable, stateTable };
  }

  /**
   * The role uses the key only through SQS and DynamoDB, and only for its own queues and tables:
   * kms:ViaService keeps the permissions from being usable directly against KMS, and the
   * encryption context each service passes (aws:sqs:arn, aws:dynamodb:tableName) keeps them
   * narrow. The key policy admits the role only through those services as well. Least privilege
   * rather than a Deny of every other kms:ViaService: Lambda decrypts the function's environment
   * with this key through a grant it creates for the role, which such a Deny would block.
   * @see https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-key-management.html
   * @see https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/encryption.howitworks.html
   */
  private grantKeyUse(): void {
    const stack = Stack.of(this);
    const key = this.encryptionKey;
    const via = (service: string) => `${service}.${stack.region}.amazonaws.com`;
    // The key policy admits the role on the same terms as its IAM policy below (through the
    // service, for its own queues and tables by name), so neither alone widens the other.
    const role = new iam.ArnPrincipal(`arn:${stack.partition}:iam::${stack.account}:role/${this.names.role}`);
    const sqsContext = (queue: string) => ({
      'kms:ViaService': via('sqs'),
      'kms:EncryptionContext:aws:sqs:arn': this.queueArnByName(queue),
    });
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowOwnRoleToDecryptOwnQueueThroughSqs',
        principals: [role],
        actions: ['kms:Decrypt'],
        resources: ['*'],
        conditions: { StringEquals: sqsContext(this.names.queue) },
      }),
    );
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowOwnRoleToEncryptForOwnDeadLetterQueueThroughSqs',
        principals: [role],
        actions: ['kms:GenerateDataKey'],
        resources: ['*'],
        conditions: { StringEquals: sqsContext(this.names.deadLetterQueue) },
      }),
    );
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowOwnRoleForOwnTablesThroughDynamoDb',
        principals: [role],
        actions: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey'],
        resources: ['*'],
        conditions: {
          StringEquals: {
            'kms:ViaService': via('dynamodb'),
            'kms:EncryptionContext:aws:dynamodb:tableName': [
              this.names.idempotencyTable,
              ...(this.consumer.stateTable ? [this.names.stateTable] : []),
            ],
          },
        },
      }),
    );
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowOwnRoleToDescribeKeyThroughDynamoDb',
        principals: [role],
        actions: ['kms:DescribeKey'],
        resources: ['*'],
        conditions: { StringEquals: { 'kms:ViaService': via('dynamodb') } },
      }),
    );
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'DecryptOwnQueueThroughSqs',
        actions: ['kms:Decrypt'],
        resources: [key.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': via('sqs'), 'kms:EncryptionContext:aws:sqs:arn': this.queue.queueArn } },
      }),
    );
    // Moving a message to the dead-letter queue after maxReceiveCount encrypts it for that queue.
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'EncryptForOwnDeadLetterQueueThroughSqs',
        actions: ['kms:GenerateDataKey'],
        resources: [key.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': via('sqs'), 'kms:EncryptionContext:aws:sqs:arn': this.deadLetterQueue.queueArn } },
      }),
    );
    const tableNames = [this.idempotencyTable.tableName, ...(this.stateTable ? [this.stateTable.tableName] : [])];
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'UseKeyForOwnTablesThroughDynamoDb',
        actions: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey'],
        resources: [key.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': via('dynamodb'), 'kms:EncryptionContext:aws:dynamodb:tableName': tableNames } },
      }),
    );
    // DescribeKey carries no encryption context.
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'DescribeKeyThroughDynamoDb',
        actions: ['kms:DescribeKey'],
        resources: [key.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': via('dynamodb') } },
      }),
    );
  }

  private createFunction(props: BufferedConsumerProps): lambda.Function {
    const consumer = props.consumer;
    const environment: Record<string, string> = {
      EVENT_BUS_NAME: props.bus.account === Stack.of(this).account ? props.bus.name : props.bus.arn,
      IDEMPOTENCY_TABLE_NAME: this.idempotencyTable.tableName,
      CONSUMER_NAME: consumer.name,
      POWERTOOLS_SERVICE_NAME: consumer.name,
      POWERTOOLS_METRICS_NAMESPACE: props.app.metricsNamespace,
      POWERTOOLS_LOG_LEVEL: 'INFO',
      // Stack traces point at the TypeScript source through the bundled source map.
      NODE_OPTIONS: '--enable-source-maps',
    };
    if (this.stateTable) environment.STATE_TABLE_NAME = this.stateTable.tableName;

    const entry = props.entry;
    if (!fs.existsSync(entry)) {
      throw new Error(`Consumer '${consumer.name}' has no handler file: expected ${entry} exporting 'handler' (add it, or set 'entry')`);
    }
    const fn = new lambda.Function(this, 'Function', {
      functionName: this.names.function,
      description: consumer.description.slice(0, 256),
      code: handlerBundle(entry),
      handler: 'index.handler',
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: this.tuning.memoryMB,
      timeout: Duration.seconds(this.tuning.timeoutSeconds),
      role: this.role,
      environment,
      environmentEncryption: this.encryptionKey,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      applicationLogLevelV2: lambda.ApplicationLogLevel.INFO,
      systemLogLevelV2: lambda.SystemLogLevel.WARN,
      tracing: lambda.Tracing.ACTIVE,
    });
    // Where the bundle comes from, beside CDK's `aws:asset:path`: the local runtime's watch mode
    // rebuilds it with sdk/build.ts when the handler changes (docs/runtime.md, "Watch mode").
    (fn.node.defaultChild as lambda.CfnFunction).addMetadata(ENTRY_METADATA_KEY, appRelativeEntry(entry));
    return fn;
  }

  /**
   * The event source is given a view of the queue without its key: SqsEventSource grants the
   * queue's consume actions to the role, and for an encrypted queue also kms:Decrypt on the whole
   * key with no condition. The role's key use is granted in `grantKeyUse`, scoped.
   */
  private connectBuffer(): SqsEventSource {
    const queueWithoutKeyGrant = sqs.Queue.fromQueueAttributes(this, 'QueueForEventSource', {
      queueArn: this.queue.queueArn,
      queueUrl: this.queue.queueUrl,
      queueName: this.queue.queueName,
      fifo: false,
    });
    const eventSource = new SqsEventSource(queueWithoutKeyGrant, {
      batchSize: this.tuning.batchSize,
      maxBatchingWindow: this.tuning.maxBatchingWindowSeconds > 0 ? Duration.seconds(this.tuning.maxBatchingWindowSeconds) : undefined,
      maxConcurrency: this.tuning.maxConcurrency,
      reportBatchItemFailures: true,
    });
    this.function.addEventSource(eventSource);
    return eventSource;
  }

  /**
   * Puts the function in the isolated VPC. Lambda creates the function's network interfaces with
   * its execution role, so the role gets the EC2 actions Lambda's VPC access policy lists; EC2
   * offers no resource-level scoping for the Describe actions, and the subnets are known only at
   * deploy time.
   * @see https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html#configuration-vpc-permissions
   */
  private placeInVpc(placement: FunctionPlacement): void {
    const cfn = this.function.node.defaultChild as lambda.CfnFunction;
    cfn.vpcConfig = { subnetIds: placement.subnetIds, securityGroupIds: placement.securityGroupIds };
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ManageOwnNetworkInterfaces',
        actions: [
          'ec2:CreateNetworkInterface',
          'ec2:DescribeNetworkInterfaces',
          'ec2:DescribeSubnets',
          'ec2:DeleteNetworkInterface',
          'ec2:AssignPrivateIpAddresses',
          'ec2:UnassignPrivateIpAddresses',
        ],
        resources: ['*'],
      }),
    );
  }

  private queueArnByName(name: string): string {
    return Stack.of(this).formatArn({ service: 'sqs', resource: name, arnFormat: ArnFormat.NO_RESOURCE_NAME });
  }
  /** cdk-nag findings that do not apply to this design, each with the reason. */
  private acknowledgeNagFindings(inVpc: boolean): void {
    const name = this.node.id;
    Validations.of(this.role).acknowledge({
      id: 'AwsSolutions::AwsSolutions-IAM5[Resource::*]',
      reason: inVpc
        ? 'Only xray:PutTraceSegments and xray:PutTelemetryRecords (X-Ray has no resource-level permissions for them) and the EC2 network-interface actions Lambda performs with the execution role to place the function in its VPC use Resource *.'
        : 'Only xray:PutTraceSegments and xray:PutTelemetryRecords use Resource *: X-Ray has no resource-level permissions for them.',
    });
    acknowledgeDedicatedRoleInlinePolicy(this.role, `the ${name} consumer function`);
    acknowledgeSqsTriggeredFunction(this.function, name);
    if (!inVpc) {
      acknowledgeRule(
        this.function,
        'LambdaInsideVPC',
        ['NIST.800.53.R5', 'HIPAA.Security', 'PCI.DSS.321'],
        `${name} calls only AWS APIs (DynamoDB, EventBridge), over TLS with SigV4-signed IAM credentials, and accepts no inbound connections. Deployments that must keep function traffic off the internet set -c isolated=true: the function then runs in isolated subnets that reach AWS through VPC endpoints only.`,
      );
    }
    Validations.of(this.function).acknowledge({
      id: 'Serverless::Serverless-LambdaEventSourceMappingDestination',
      reason:
        'SQS event source mappings do not support on-failure destinations; the buffer queue redrive policy sends failed messages to the consumer dead-letter queue.',
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'Serverless::Serverless-SQSRedrivePolicy',
      reason: `This is the redrive dead-letter queue of the ${name} buffer queue; a dead-letter queue of a dead-letter queue only hides messages. Its depth is alarmed.`,
    });
    if (this.deliveryDeadLetterQueue) acknowledgeDeliveryDeadLetterQueue(this.deliveryDeadLetterQueue, name);
  }
}

/** A delivery dead-letter queue is a dead-letter queue cdk-nag does not recognise as one. */
export function acknowledgeDeliveryDeadLetterQueue(queue: sqs.IQueue, name: string): void {
  Validations.of(queue).acknowledge(
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

/** Physical names of a consumer's resources, from the app's naming policy. */
export interface ConsumerNames {
  readonly prefix: string;
  readonly queue: string;
  readonly deadLetterQueue: string;
  readonly deliveryDeadLetterQueue: string;
  readonly rule: string;
  readonly function: string;
  readonly role: string;
  readonly idempotencyTable: string;
  readonly stateTable: string;
}

export function consumerNames(app: AppDefinition, consumer: string): ConsumerNames {
  const prefix = names.consumerPrefix(app, consumer);
  const out = {
    prefix,
    queue: prefix,
    deadLetterQueue: `${prefix}-dlq`,
    deliveryDeadLetterQueue: `${prefix}-delivery-dlq`,
    rule: prefix,
    function: prefix,
    role: names.consumerRole(app, consumer),
    idempotencyTable: `${prefix}-idempotency`,
    stateTable: `${prefix}-state`,
  };
  checkLength('queueName', out.deliveryDeadLetterQueue, 80);
  checkLength('ruleName', out.rule, 64);
  checkLength('functionName', out.function, 64);
  checkLength('roleName', out.role, 64);
  return out;
}

/** Delivery settings from the rule to the buffer queue, checked. */
export interface Delivery {
  readonly retryAttempts: number;
  readonly maxEventAge: Duration;
  readonly queueRetention: Duration;
}

export function validateDelivery(props: { retryAttempts?: number; maxEventAge?: Duration; queueRetention?: Duration }): Delivery {
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
  return { retryAttempts, maxEventAge, queueRetention };
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

/** The entry relative to the app's root, with `/` separators, so the template does not depend on the machine. */
function appRelativeEntry(entry: string): string {
  return path.relative(process.cwd(), path.resolve(entry)).split(path.sep).join('/');
}

/**
 * The function code: the handler bundled once by sdk/build.ts (esbuild, minified, source map,
 * CommonJS, node24, `@aws-sdk/*` left to the Lambda runtime, only zod's English locale).
 * NodejsFunction is not used: it takes no esbuild plugins, so it bundled each handler with its own
 * esbuild run (through `npx`) and sdk/build.ts then rebuilt the same bundle with the plugin,
 * seven times the CPU time of one build for the same bytes. As NodejsFunction does, the asset is
 * hashed by its output, so no source directory is fingerprinted and an unchanged bundle keeps its hash.
 */
function handlerBundle(entry: string): lambda.Code {
  return lambda.Code.fromAsset(path.dirname(path.resolve(entry)), {
    assetHashType: AssetHashType.OUTPUT,
    bundling: {
      // Required by CDK, never used: local bundling needs only the Node.js that runs the synth, and
      // it either bundles or fails the synth with esbuild's error; it never falls back to Docker.
      image: lambda.Runtime.NODEJS_24_X.bundlingImage,
      local: new HandlerBuild(entry),
    },
  });
}

/**
 * Bundles with sdk/build.ts in a worker thread that lives as long as the synth's process: CDK's
 * bundling hook is synchronous, and esbuild runs plugins only in its asynchronous API, so the hook
 * posts the job and blocks on a shared flag until the worker has built it. One worker serves every
 * handler of the app: TypeScript loading, esbuild's module and its service process start once per
 * synth, not once per handler as a `node sdk/build.ts` process per bundle did (about 0.3 CPU-s
 * each, two thirds of it starting up). `entry` is a field, not only captured, because CDK keys its
 * cache of bundles in a synth on the bundling options' data: two handlers of one folder must not
 * share a bundle.
 */
class HandlerBuild implements ILocalBundling {
  /** The handler entry, absolute. */
  public readonly entry: string;

  constructor(entry: string) {
    this.entry = path.resolve(entry);
  }

  tryBundle(outputDir: string): boolean {
    bundleInWorker(this.entry, outputDir);
    return true;
  }
}

/** How long a bundle may take before the synth gives up on the worker. */
const BUNDLE_TIMEOUT_MS = 5 * 60_000;

/**
 * The worker's code: loads sdk/build.ts's bundle options through tsx (`require`, a third of the
 * CPU time of `--import tsx`), then builds each job it is sent and signals the job's flag: 1 built, 2 failed
 * (the error's text on the job's port). It never exits on its own; it is unref'd, so it does not
 * keep the process alive.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
// A failure to load (sdk/build.ts broken, esbuild missing) is the answer to every job, at once:
// the synth's thread is blocked waiting and would otherwise see nothing until its timeout.
let build, bundleBuildOptions, unavailable;
try {
  require(workerData.tsx);
  ({ build } = require(workerData.esbuild));
  ({ bundleBuildOptions } = require(workerData.build));
} catch (err) {
  unavailable = 'the bundling worker could not load its code: ' + String((err && err.stack) || err);
}
parentPort.on('message', ({ entry, outdir, flag, port }) => {
  const done = (code, error) => {
    if (error !== undefined) port.postMessage(error);
    port.close();
    const f = new Int32Array(flag);
    Atomics.store(f, 0, code);
    Atomics.notify(f, 0);
  };
  if (unavailable) return done(2, unavailable);
  // Silent: esbuild's messages are in the error it throws, which fails the synth.
  build({ ...bundleBuildOptions({ entry, outdir }), logLevel: 'silent' }).then(
    () => done(1),
    (err) => done(2, String((err && err.stack) || err)),
  );
});
`;

let bundler: Worker | undefined;
/** Stops the worker (and esbuild's service with it) once no bundle has been asked for a while, after the synth. */
let idle: NodeJS.Timeout | undefined;
const IDLE_MS = 2_000;

/** Builds `entry` into `outdir` in the process's bundling worker, synchronously; throws esbuild's error. */
function bundleInWorker(entry: string, outdir: string): void {
  if (idle) clearTimeout(idle);
  idle = setTimeout(() => {
    void bundler?.terminate();
    bundler = undefined;
  }, IDLE_MS);
  idle.unref();
  if (!bundler) {
    bundler = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: {
        tsx: require.resolve('tsx/cjs'),
        esbuild: require.resolve('esbuild'),
        build: path.join(__dirname, '..', 'sdk', 'build.ts'),
      },
      stdout: false,
      stderr: false,
    });
    bundler.unref();
    // A worker that failed to start (or died) is replaced by the next bundle; this one's job times out below.
    const dead = bundler;
    dead.on('error', () => {
      if (bundler === dead) bundler = undefined;
    });
    dead.on('exit', () => {
      if (bundler === dead) bundler = undefined;
    });
  }
  const flag = new SharedArrayBuffer(4);
  const { port1, port2 } = new MessageChannel();
  bundler.postMessage({ entry, outdir, flag, port: port2 }, [port2]);
  const waited = Atomics.wait(new Int32Array(flag), 0, 0, BUNDLE_TIMEOUT_MS);
  const code = Atomics.load(new Int32Array(flag), 0);
  const error = receiveMessageOnPort(port1)?.message as string | undefined;
  port1.close();
  if (code === 1) return;
  if (code === 0) {
    // No answer: the worker is stuck or gone (it cannot report that while this thread waits).
    void bundler?.terminate();
    bundler = undefined;
    throw new Error(`sdk/build.ts did not bundle ${entry} (${waited === 'timed-out' ? `no answer in ${BUNDLE_TIMEOUT_MS} ms` : waited})`);
  }
  throw new Error(`sdk/build.ts failed to bundle ${entry}:\n${error ?? 'no error text'}`);
}
