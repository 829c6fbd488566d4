/**
 * The bus-side half of a consumer in another account: the rule, its target (the consumer's buffer
 * queue in the other account, delivered with an execution role, as EventBridge requires for
 * cross-account targets) and the delivery dead-letter queue, which stays with the rule.
 * @see https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-service-cross-account.html
 */
import { ArnFormat, Duration, Stack, Token, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { AppDefinition, ConsumerDefinition, consumerPattern, names } from '../sdk/catalog';
import { acknowledgeDeliveryDeadLetterQueue, ConsumerNames, consumerNames, validateDelivery } from './buffered-consumer';
import { BusReference, ruleArnOf } from './bus-reference';
import { DLQ_RETENTION } from './defaults';

export interface ConsumerSubscriptionProps {
  readonly app: AppDefinition;
  readonly consumer: ConsumerDefinition;
  /** The bus, in this stack's account. */
  readonly bus: BusReference;
  /** Account of the consumer's buffer queue. */
  readonly consumerAccount: string;
  /** Delivery retries. Valid Range: 0 to 185. @default 185 */
  readonly retryAttempts?: number;
  /** How long EventBridge retries delivery. Valid Range: 60 seconds to 24 hours. @default Duration.hours(24) */
  readonly maxEventAge?: Duration;
}

export class ConsumerSubscription extends Construct {
  public readonly rule: events.Rule;
  /** Role EventBridge assumes to send to the queue in the other account. */
  public readonly deliveryRole: iam.Role;
  /**
   * Events EventBridge could not deliver. SQS-managed encryption: it lives in the bus's account,
   * away from the consumer's key, and EventBridge needs no key grant to write to it.
   */
  public readonly deliveryDeadLetterQueue: sqs.Queue;
  /** ARN of the buffer queue in the consumer's account. */
  public readonly queueArn: string;
  public readonly names: ConsumerNames;

  constructor(scope: Construct, id: string, props: ConsumerSubscriptionProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const delivery = validateDelivery(props);
    this.names = consumerNames(props.app, props.consumer.name);
    const ruleArn = ruleArnOf(props.bus, this.names.rule);
    this.queueArn = stack.formatArn({
      service: 'sqs',
      account: props.consumerAccount,
      region: props.bus.region,
      resource: this.names.queue,
      arnFormat: ArnFormat.NO_RESOURCE_NAME,
    });

    this.deliveryDeadLetterQueue = new sqs.Queue(this, 'DeliveryDeadLetterQueue', {
      queueName: this.names.deliveryDeadLetterQueue,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: DLQ_RETENTION,
      redriveAllowPolicy: { redrivePermission: sqs.RedrivePermission.DENY_ALL },
    });
    acknowledgeDeliveryDeadLetterQueue(this.deliveryDeadLetterQueue, props.consumer.name);

    this.deliveryRole = new iam.Role(this, 'DeliveryRole', {
      roleName: names.deliveryRole(props.app, props.consumer.name),
      description: `EventBridge delivers ${props.consumer.name}'s events to its queue in account ${props.consumerAccount}`,
      assumedBy: new iam.ServicePrincipal('events.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': props.bus.account }, ArnEquals: { 'aws:SourceArn': ruleArn } },
      }),
    });
    this.deliveryRole.addToPolicy(
      new iam.PolicyStatement({ sid: 'SendToConsumerQueue', actions: ['sqs:SendMessage'], resources: [this.queueArn] }),
    );
    // The consumer's key id is not known in this account: any key of that account, but only
    // through SQS and only for that queue (its key policy admits this role likewise).
    this.deliveryRole.addToPolicy(
      new iam.PolicyStatement({
        sid: 'EncryptForConsumerQueueThroughSqs',
        actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
        resources: [
          stack.formatArn({ service: 'kms', account: props.consumerAccount, region: props.bus.region, resource: 'key', resourceName: '*' }),
        ],
        conditions: {
          StringEquals: {
            'kms:ViaService': `sqs.${props.bus.region}.amazonaws.com`,
            'kms:EncryptionContext:aws:sqs:arn': this.queueArn,
          },
        },
      }),
    );
    Validations.of(this.deliveryRole).acknowledge({
      id: `AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:kms:${Token.isUnresolved(props.bus.region) ? '<AWS::Region>' : props.bus.region}:${props.consumerAccount}:key/*]`,
      reason:
        "The consumer's key lives in its own account and its id is not known here; kms:ViaService and the queue's encryption context confine the statement to that one queue.",
    });

    this.rule = new events.Rule(this, 'Rule', {
      ruleName: this.names.rule,
      eventBus: props.bus.eventBus(this),
      description: `${props.consumer.name}: ${props.consumer.description}`.slice(0, 512),
      eventPattern: consumerPattern(props.consumer) as events.EventPattern,
    });
    this.rule.addTarget({
      bind: () => ({
        arn: this.queueArn,
        role: this.deliveryRole,
        deadLetterConfig: { arn: this.deliveryDeadLetterQueue.queueArn },
        retryPolicy: { maximumRetryAttempts: delivery.retryAttempts, maximumEventAgeInSeconds: delivery.maxEventAge.toSeconds() },
      }),
    });
    this.deliveryDeadLetterQueue.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowRuleDeadLetters',
        principals: [new iam.ServicePrincipal('events.amazonaws.com')],
        actions: ['sqs:SendMessage'],
        resources: [this.deliveryDeadLetterQueue.queueArn],
        conditions: { ArnEquals: { 'aws:SourceArn': this.rule.ruleArn } },
      }),
    );
  }
}
