/**
 * The deployable stack: everything is built from the event catalog, so adding an event type or a
 * consumer is one catalog edit plus a handler file.
 */
import { CfnOutput, DefaultStackSynthesizer, Duration, Fn, Stack, StackProps, Token } from 'aws-cdk-lib';
import * as path from 'path';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { catalog as loanCatalog, EventCatalog } from '../catalog';
import { AuditTrail } from './audit-trail';
import { BufferedConsumer } from './buffered-consumer';
import { pascalCase } from './defaults';
import { EventRouter } from './event-router';
import { Observability } from './observability';

export interface LoanEventsStackProps extends StackProps {
  /**
   * The event catalog to build from.
   * @default - the loan-application catalog in catalog/loans.ts
   */
  readonly catalog?: EventCatalog;

  /**
   * Folder holding one `<consumer name>/index.ts` handler per catalog consumer.
   * @default - the project's lambdas/ folder
   */
  readonly handlersDir?: string;

  /**
   * Name of the custom event bus.
   * @default 'loan-events'
   */
  readonly eventBusName?: string;

  /**
   * Roles that may create and change rules and targets on the bus; the bus policy denies all
   * others. CloudFormation's execution role must be among them.
   * @default - the CDK bootstrap CloudFormation execution role of the stack's synthesizer
   */
  readonly deploymentRoleArns?: string[];

  /**
   * More roles that may manage rules on the bus, e.g. the operator role that runs
   * `loan-events tail` (it creates a temporary rule).
   * @default - none
   */
  readonly ruleManagerArns?: string[];

  /**
   * Size limit of the bus policy, in characters; raise together with the EventBridge quota.
   * @default 10240
   */
  readonly busPolicySizeLimit?: number;

  /**
   * Who may assume the same-account publisher roles, e.g. the intake service's own role.
   * @default - the account root: principals of this account whose IAM policies allow sts:AssumeRole
   */
  readonly publisherTrust?: iam.IPrincipal;

  /**
   * How long the archive keeps events; `Duration.days(0)` keeps them indefinitely.
   * @default Duration.days(365)
   */
  readonly archiveRetention?: Duration;

  /**
   * Rely on an existing (organisation) trail instead of creating one. That trail must log
   * management events and PutEvents data events for this bus.
   * @default false - the stack creates its own trail
   */
  readonly existingTrail?: boolean;

  /**
   * Whether the stack's trail logs PutEvents on the bus as data events (billed per event).
   * @default true
   */
  readonly logPutEvents?: boolean;

  /**
   * Email address subscribed to the alarm topic.
   * @default - no subscription
   */
  readonly alarmEmail?: string;

  /**
   * Age of the oldest buffered message above which a consumer alarms.
   * @default Duration.minutes(5)
   */
  readonly maxMessageAge?: Duration;
}

export class LoanEventsStack extends Stack {
  public readonly router: EventRouter;
  /** Consumers by catalog name. */
  public readonly consumers: Record<string, BufferedConsumer> = {};
  /** The trail, unless `existingTrail` is set. */
  public readonly audit?: AuditTrail;
  public readonly observability: Observability;
  /** The roles the bus policy lets manage rules. */
  public readonly deploymentRoleArns: string[];

  constructor(scope: Construct, id: string, props: LoanEventsStackProps = {}) {
    super(scope, id, props);
    // Server access logs are granted by bucket policy, not by the legacy LogDeliveryWrite ACL,
    // so the log bucket can keep ACLs disabled (BucketOwnerEnforced).
    this.node.setContext('@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy', true);
    const catalog = props.catalog ?? loanCatalog;
    this.deploymentRoleArns = props.deploymentRoleArns ?? [this.defaultDeploymentRoleArn()];

    this.router = new EventRouter(this, 'EventRouter', {
      catalog,
      eventBusName: props.eventBusName,
      archiveRetention: props.archiveRetention,
      deploymentRoleArns: this.deploymentRoleArns,
      ruleManagerArns: props.ruleManagerArns,
      publisherTrust: props.publisherTrust,
      busPolicySizeLimit: props.busPolicySizeLimit,
    });

    for (const consumer of catalog.consumers) {
      this.consumers[consumer.name] = new BufferedConsumer(this, pascalCase(consumer.name), {
        consumer,
        router: this.router,
        entry: props.handlersDir === undefined ? undefined : path.join(props.handlersDir, consumer.name, 'index.ts'),
      });
    }

    const owners = new Map<string, string>();
    for (const [name, c] of Object.entries(this.consumers)) {
      for (const queueName of c.queueNames) {
        const other = owners.get(queueName);
        if (other !== undefined) {
          throw new Error(
            `Consumers '${other}' and '${name}' would both create the queue '${queueName}'; rename one of them in the catalog`,
          );
        }
        owners.set(queueName, name);
      }
    }

    if (!props.existingTrail) {
      this.audit = new AuditTrail(this, 'Audit', {
        encryptionKey: this.router.encryptionKey,
        eventBusArn: this.router.eventBusArn,
        logPutEvents: props.logPutEvents,
      });
    }

    this.observability = new Observability(this, 'Observability', {
      encryptionKey: this.router.encryptionKey,
      router: this.router,
      consumers: Object.values(this.consumers),
      alarmEmail: props.alarmEmail,
      maxMessageAge: props.maxMessageAge,
      auditLogGroup: this.audit?.logGroup,
    });

    new CfnOutput(this, 'EventBusName', { value: this.router.eventBus.eventBusName, description: 'Name of the event bus' });
    new CfnOutput(this, 'EventBusArn', { value: this.router.eventBus.eventBusArn, description: 'ARN of the event bus' });
    new CfnOutput(this, 'EventBusDeadLetterQueueUrl', {
      value: this.router.deadLetterQueue.queueUrl,
      description: 'Events the bus could not encrypt or decrypt',
    });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.observability.alarmTopic.topicArn, description: 'Subscribe paging tools here' });
    for (const [name, c] of Object.entries(this.consumers)) {
      const p = pascalCase(name);
      new CfnOutput(this, `${p}QueueUrl`, { value: c.queue.queueUrl, description: `${name} buffer queue` });
      new CfnOutput(this, `${p}DeadLetterQueueUrl`, {
        value: c.deadLetterQueue.queueUrl,
        description: `${name} messages that failed processing`,
      });
      new CfnOutput(this, `${p}DeliveryDeadLetterQueueUrl`, {
        value: c.deliveryDeadLetterQueue.queueUrl,
        description: `${name} events EventBridge could not deliver`,
      });
    }
    for (const [name, role] of Object.entries(this.router.publisherRoles)) {
      new CfnOutput(this, `${pascalCase(name)}PublisherRoleArn`, { value: role.roleArn, description: `Assume to publish as ${name}` });
    }
  }

  /**
   * The CloudFormation execution role of the default synthesizer, resolved in the template
   * (its ARN contains `${AWS::AccountId}` and `${AWS::Region}` placeholders).
   */
  private defaultDeploymentRoleArn(): string {
    if (!(this.synthesizer instanceof DefaultStackSynthesizer)) {
      throw new Error(
        `'deploymentRoleArns' is required when the stack does not use the DefaultStackSynthesizer (given ${this.synthesizer.constructor.name})`,
      );
    }
    const arn = this.synthesizer.cloudFormationExecutionRoleArn;
    return Token.isUnresolved(arn) || !arn.includes('${') ? arn : Fn.sub(arn);
  }
}
