/**
 * The deployable stacks, along the ownership lines: one router stack (bus, its key, archive,
 * schema registry, bus policy, publisher roles, trail, shared alarm topic) and one stack per
 * consumer (rule and target, queues, function, tables, role, key, alarms, dashboard). A consumer
 * in another account gets a third: its subscription, in the bus's account.
 *
 * The stacks share no CloudFormation export and no token: each side names the other by the app
 * definition's naming policy (sdk/catalog/app.ts). So a consumer stack deploys, updates and is
 * destroyed alone, and the router stack's template changes only when the catalog changes what the
 * router must grant.
 */
import * as path from 'path';
import { ArnFormat, CfnOutput, Duration, Environment, Stack, StackProps } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { AppDefinition, ConsumerDefinition, isRemoteConsumer, names } from '../sdk/catalog';
import { AuditTrail, LogArchiveDestination } from './audit-trail';
import { TableBackup } from './backup';
import { BufferedConsumer, consumerNames } from './buffered-consumer';
import { acknowledgeDedicatedRoleInlinePolicy, acknowledgeRule, acknowledgeServerAccessLogsBucket } from './compliance';
import { busReference } from './bus-reference';
import { ConsumerSubscription } from './consumer-subscription';
import { pascalCase } from './defaults';
import { EventRouter } from './event-router';
import { defaultDeploymentRoleArn, managedKey } from './keys';
import { validateCatalogFilters } from './filters';
import { IsolatedPlacement, NetworkStack, networkStackName } from './network';
import { alarmTopic, ConsumerObservability, RouterObservability } from './observability';

export interface RouterStackProps extends StackProps {
  readonly app: AppDefinition;
  /**
   * Roles that may create and change every rule and target on the bus; the bus policy denies all
   * others. CloudFormation's execution role must be among them.
   * @default - the CDK bootstrap CloudFormation execution role of the stack's synthesizer
   */
  readonly deploymentRoleArns?: string[];
  /**
   * More roles that may manage rules on the bus, e.g. the operator role that runs the CLI's
   * `tail` (it creates a temporary rule).
   * @default - none
   */
  readonly ruleManagerArns?: string[];
  /**
   * Let consumer teams deploy their own stacks with roles named `<App>-deploy-<consumer>` and
   * tagged `event-router:consumer=<consumer>`, each confined to its own rule.
   * @default false
   */
  readonly consumerDeploymentRoles?: boolean;
  /** @default 10240 */
  readonly busPolicySizeLimit?: number;
  /** @default - per publisher: `publisherPrincipals`, else principals tagged `event-router:publisher=<publisher>` */
  readonly publisherTrust?: iam.IPrincipal;
  /** Principals that may assume each publisher's role, by publisher name. @default - the tag */
  readonly publisherPrincipals?: Record<string, string[]>;
  /**
   * Key administrators of every key of the app (in the bus's account; a consumer in another
   * account keeps its own deployment role and root user). They manage keys, never use them.
   * @default - the deployment roles and the account's root user
   */
  readonly keyAdminArns?: string[];
  /**
   * Operator roles: manage rules, are exempt from the management guard, and read and redrive
   * dead-letter queues (key use through SQS).
   * @default - none
   */
  readonly operatorRoleArns?: string[];
  /** Object Lock (compliance mode) retention of the trail's log files. @default Duration.days(365) */
  readonly trailRetention?: Duration;
  /** Deliver the trail to a bucket in a log-archive account instead. @default - a bucket of the router stack */
  readonly logArchive?: LogArchiveDestination;
  /** @default Duration.days(365) */
  readonly archiveRetention?: Duration;
  /**
   * Rely on an existing (organisation) trail instead of creating one. That trail must log
   * management events and PutEvents data events for this bus.
   * @default false - the stack creates its own trail
   */
  readonly existingTrail?: boolean;
  /** @default true */
  readonly logPutEvents?: boolean;
  /** @default - no subscription */
  readonly alarmEmail?: string;
}

/** Bus, key, archive, schemas, bus policy, publisher roles, trail and the shared alarm topic. */
export class RouterStack extends Stack {
  public readonly router: EventRouter;
  /** The trail, unless `existingTrail` is set. */
  public readonly audit?: AuditTrail;
  public readonly observability: RouterObservability;
  /** The roles the bus policy lets manage every rule. */
  public readonly deploymentRoleArns: string[];
  /** Key of the shared alarm topic. */
  public readonly alarmKey: kms.Key;
  /** Key of the trail, its bucket and its log group, unless `existingTrail` is set. */
  public readonly auditKey?: kms.Key;

  constructor(scope: Construct, id: string, props: RouterStackProps) {
    super(scope, id, props);
    // Server access logs are granted by bucket policy, not by the legacy LogDeliveryWrite ACL,
    // so the log bucket can keep ACLs disabled (BucketOwnerEnforced).
    this.node.setContext('@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy', true);
    const app = props.app;
    this.deploymentRoleArns = props.deploymentRoleArns ?? [defaultDeploymentRoleArn(this)];
    this.router = new EventRouter(this, 'EventRouter', {
      app,
      archiveRetention: props.archiveRetention,
      deploymentRoleArns: this.deploymentRoleArns,
      ruleManagerArns: props.ruleManagerArns,
      consumerDeploymentRoles: props.consumerDeploymentRoles,
      publisherTrust: props.publisherTrust,
      publisherPrincipals: props.publisherPrincipals,
      keyAdminArns: props.keyAdminArns,
      operatorRoleArns: props.operatorRoleArns,
      busPolicySizeLimit: props.busPolicySizeLimit,
    });
    const keyAdministration = { administrators: props.keyAdminArns, deployers: this.deploymentRoleArns };
    // The alarm topic's key shares no fate with the data keys: disabling one of them cannot
    // silence the alarm that reports it.
    this.alarmKey = managedKey(this, 'AlarmKey', {
      description: `Encrypts the ${app.name} alarm topic, apart from every data key`,
      alias: `${app.name}-alarms`,
      ...keyAdministration,
      services: ['sns'],
    });
    if (!props.existingTrail) {
      this.auditKey = managedKey(this, 'AuditKey', {
        description: `Encrypts the ${app.name} audit trail, its bucket and its log group`,
        alias: `${app.name}-audit`,
        ...keyAdministration,
        services: ['cloudtrail', 's3', 'logs'],
      });
      this.audit = new AuditTrail(this, 'Audit', {
        encryptionKey: this.auditKey,
        objectLockRetention: props.trailRetention,
        logArchive: props.logArchive,
        eventBusArn: this.router.eventBusArn,
        logPutEvents: props.logPutEvents,
        trailName: `${app.name}-audit`,
      });
    }
    this.observability = new RouterObservability(this, 'Observability', {
      encryptionKey: this.alarmKey,
      topicName: names.alarmTopic(app),
      eventBusName: this.router.eventBusName,
      busDeadLetterQueue: this.router.deadLetterQueue,
      alarmEmail: props.alarmEmail,
      auditLogGroup: this.audit?.logGroup,
      metricsNamespace: app.metricsNamespace,
      dashboardName: `${app.name}-bus`,
    });

    new CfnOutput(this, 'EventBusName', { value: this.router.eventBus.eventBusName, description: 'Name of the event bus' });
    new CfnOutput(this, 'EventBusArn', { value: this.router.eventBus.eventBusArn, description: 'ARN of the event bus' });
    new CfnOutput(this, 'EventBusDeadLetterQueueUrl', {
      value: this.router.deadLetterQueue.queueUrl,
      description: 'Events the bus could not encrypt or decrypt',
    });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.observability.alarmTopic.topicArn, description: 'Subscribe paging tools here' });
    for (const [name, role] of Object.entries(this.router.publisherRoles)) {
      new CfnOutput(this, `${pascalCase(name)}PublisherRoleArn`, { value: role.roleArn, description: `Assume to publish as ${name}` });
    }
    this.acknowledgeComplianceFindings();
  }

  /** NIST 800-53 R5, HIPAA and PCI DSS rules that do not apply to the router's resources, each on its resource. */
  private acknowledgeComplianceFindings(): void {
    for (const [name, role] of Object.entries(this.router.publisherRoles)) {
      acknowledgeDedicatedRoleInlinePolicy(role, `publishing the ${name} catalog events`);
    }
    if (!this.audit) return;
    const logsRole = this.audit.trail.node.tryFindChild('LogsRole');
    if (logsRole) acknowledgeDedicatedRoleInlinePolicy(logsRole, 'CloudTrail delivering this trail to its log group');
    // With a log-archive account, the bucket is that account's, and so is its compliance posture.
    if (!this.audit.accessLogsBucket) return;
    acknowledgeServerAccessLogsBucket(this.audit.accessLogsBucket, 'the trail bucket');
    acknowledgeRule(
      this.audit.bucket,
      'S3BucketReplicationEnabled',
      ['NIST.800.53.R5', 'HIPAA.Security', 'PCI.DSS.321'],
      'Object Lock in compliance mode (trailRetentionDays) keeps every log file version from deletion or overwrite by any principal, the root user included, for the retention period, and log file validation detects tampering; a replica in this account would add no protection against its administrators. For an independent copy, deliver to a log-archive account (logArchiveBucket, docs/security.md).',
    );
  }
}

export interface ConsumerStackProps extends StackProps {
  readonly app: AppDefinition;
  readonly consumer: ConsumerDefinition;
  /** The handler file exporting `handler`. */
  readonly entry: string;
  /** @default Duration.minutes(5) */
  readonly maxMessageAge?: Duration;
  /** @default - no subscription (only for a consumer in another account, which has a topic of its own) */
  readonly alarmEmail?: string;
  /**
   * Run the function in the isolated VPC of this account's network stack (`NetworkStack`),
   * reached through VPC endpoints only.
   * @default false
   */
  readonly isolated?: boolean;
  /**
   * The region's DynamoDB prefix list, which narrows the isolated function's HTTPS egress to DynamoDB.
   * @default - HTTPS to any address, of which only the endpoints are routable
   */
  readonly dynamoDbPrefixListId?: string;
  /**
   * How long the daily backups of the consumer's tables are kept; the locked vault's minimum.
   * @default Duration.days(35)
   */
  readonly backupRetention?: Duration;
  /** Key administrators (bus account only). @default - the deployment roles and the root user */
  readonly keyAdminArns?: string[];
  /** Roles that deploy this stack. @default - the stack's CloudFormation execution role */
  readonly deploymentRoleArns?: string[];
  /** Operator roles that may read and redrive the consumer's dead letters. @default - none */
  readonly operatorRoleArns?: string[];
  /** Whether the consumer's team deploys with its own `<App>-deploy-<consumer>` role. @default false */
  readonly consumerDeploymentRoles?: boolean;
}

/** One consumer: its rule and target (same account), queues, function, tables, role, key, alarms and dashboard. */
export class ConsumerStack extends Stack {
  public readonly consumer: BufferedConsumer;
  public readonly observability: ConsumerObservability;
  /** The topic the alarms notify: the router's, by ARN, or (in another account) the consumer's own. */
  public readonly alarmTopic: sns.ITopic;
  /** Daily backups of the consumer's tables into its locked vault. */
  public readonly backup: TableBackup;
  /** The function's security group and subnets, when `isolated`. */
  public readonly placement?: IsolatedPlacement;

  constructor(scope: Construct, id: string, props: ConsumerStackProps) {
    super(scope, id, props);
    const app = props.app;
    const remote = isRemoteConsumer(app, props.consumer);
    const bus = busReference(this, app);
    this.placement = props.isolated
      ? new IsolatedPlacement(this, 'Network', {
          app,
          owner: `${props.consumer.name} consumer function`,
          dynamoDbPrefixListId: props.dynamoDbPrefixListId,
        })
      : undefined;
    // A consumer in another account is deployed there, by that account's roles.
    const deployers = [
      ...(remote ? [defaultDeploymentRoleArn(this)] : (props.deploymentRoleArns ?? [defaultDeploymentRoleArn(this)])),
      ...(props.consumerDeploymentRoles
        ? [
            this.formatArn({
              service: 'iam',
              region: '',
              resource: 'role',
              resourceName: names.consumerDeploymentRole(app, props.consumer.name),
            }),
          ]
        : []),
    ];
    const keyAdministration = { administrators: remote ? [] : props.keyAdminArns, deployers };
    this.consumer = new BufferedConsumer(this, pascalCase(props.consumer.name), {
      app,
      consumer: props.consumer,
      bus,
      entry: props.entry,
      subscription: remote ? 'remote' : 'local',
      placement: this.placement,
      keyAdministration: { ...keyAdministration, operators: remote ? [] : props.operatorRoleArns },
    });
    this.backup = new TableBackup(this, 'Backup', {
      tables: [this.consumer.idempotencyTable, ...(this.consumer.stateTable ? [this.consumer.stateTable] : [])],
      namePrefix: this.consumer.names.prefix,
      retention: props.backupRetention,
      keyAdministration,
    });
    // CloudWatch alarms notify topics of their own account: a consumer elsewhere has its own
    // topic, on a key of its own so that disabling the consumer's data key cannot silence it.
    this.alarmTopic = remote
      ? alarmTopic(this, 'AlarmTopic', {
          topicName: `${this.consumer.names.prefix}-alarms`,
          encryptionKey: managedKey(this, 'AlarmKey', {
            description: `Encrypts the ${props.consumer.name} alarm topic, apart from the consumer's data key`,
            alias: `${this.consumer.names.prefix}-alarms`,
            ...keyAdministration,
            services: ['sns'],
          }),
          alarmEmail: props.alarmEmail,
        })
      : sns.Topic.fromTopicArn(
          this,
          'SharedAlarmTopic',
          this.formatArn({
            service: 'sns',
            account: bus.account,
            region: bus.region,
            resource: names.alarmTopic(app),
            arnFormat: ArnFormat.NO_RESOURCE_NAME,
          }),
        );
    this.observability = new ConsumerObservability(this, 'Observability', {
      consumer: this.consumer,
      eventBusName: app.eventBusName,
      alarmTopic: this.alarmTopic,
      maxMessageAge: props.maxMessageAge,
      dashboardName: `${this.consumer.names.prefix}-flow`,
    });
    const c = this.consumer;
    new CfnOutput(this, 'QueueUrl', { value: c.queue.queueUrl, description: `${props.consumer.name} buffer queue` });
    new CfnOutput(this, 'DeadLetterQueueUrl', {
      value: c.deadLetterQueue.queueUrl,
      description: `${props.consumer.name} messages that failed processing`,
    });
    if (c.deliveryDeadLetterQueue) {
      new CfnOutput(this, 'DeliveryDeadLetterQueueUrl', {
        value: c.deliveryDeadLetterQueue.queueUrl,
        description: `${props.consumer.name} events EventBridge could not deliver`,
      });
    }
  }
}

export interface SubscriptionStackProps extends StackProps {
  readonly app: AppDefinition;
  readonly consumer: ConsumerDefinition;
}

/** The subscription of a consumer in another account: rule, target, delivery role and delivery DLQ, in the bus's account. */
export class SubscriptionStack extends Stack {
  public readonly subscription: ConsumerSubscription;

  constructor(scope: Construct, id: string, props: SubscriptionStackProps) {
    super(scope, id, props);
    const account = props.consumer.account;
    if (account === undefined) throw new Error(`Consumer '${props.consumer.name}' has no account: it needs no subscription stack`);
    this.subscription = new ConsumerSubscription(this, pascalCase(props.consumer.name), {
      app: props.app,
      consumer: props.consumer,
      bus: busReference(this, props.app),
      consumerAccount: account,
    });
    acknowledgeDedicatedRoleInlinePolicy(
      this.subscription.deliveryRole,
      `EventBridge delivering ${props.consumer.name}'s events to its queue in account ${account}`,
    );
    new CfnOutput(this, 'DeliveryDeadLetterQueueUrl', {
      value: this.subscription.deliveryDeadLetterQueue.queueUrl,
      description: `${props.consumer.name} events EventBridge could not deliver`,
    });
  }
}

export interface EventRouterAppProps extends Omit<RouterStackProps, 'app' | 'env' | 'description'> {
  /** Folder holding one `<consumer name>/index.ts` handler per catalog consumer. */
  readonly handlersDir: string;
  /**
   * Handler file of a consumer, when the `<handlersDir>/<name>/index.ts` layout does not fit.
   * @default - `<handlersDir>/<consumer name>/index.ts`
   */
  readonly handlerEntry?: (consumer: ConsumerDefinition) => string;
  /** @default Duration.minutes(5) */
  readonly maxMessageAge?: Duration;
  /**
   * Place every consumer function in an isolated VPC (no internet route; VPC endpoints only), with
   * one `NetworkStack` per account that has consumers.
   * @default false
   */
  readonly isolated?: boolean;
  /** @default - see `ConsumerStackProps.dynamoDbPrefixListId` */
  readonly dynamoDbPrefixListId?: string;
  /** @default Duration.days(35) */
  readonly backupRetention?: Duration;
}

/** Every stack of an app, by role. */
export interface EventRouterStacks {
  readonly router: RouterStack;
  /** Network stacks of the isolated deployment, by account (`''` for the router's, which may be environment-agnostic). */
  readonly networks: Record<string, NetworkStack>;
  /** Consumer stacks by catalog name. */
  readonly consumers: Record<string, ConsumerStack>;
  /** Subscription stacks of consumers in other accounts, by catalog name. */
  readonly subscriptions: Record<string, SubscriptionStack>;
}

const describeStack = (app: AppDefinition, what: string) => (app.description ? `${app.description}: ${what}` : what);

/**
 * The router stack of `app` (`<App>-Router`) as `buildStacks` builds it, alone. No consumer stack
 * changes it (test/lib/independence.test.ts), so its template is the one of the whole app.
 */
export function buildRouterStack(
  scope: Construct,
  app: AppDefinition,
  props: Omit<RouterStackProps, 'app' | 'env' | 'description'> = {},
): RouterStack {
  return new RouterStack(scope, names.routerStack(app), {
    ...props,
    app,
    env: { account: app.router?.account, region: app.router?.region },
    description: describeStack(app, 'event bus, key, archive, schemas, bus policy, publisher roles, trail and alarm topic'),
  });
}

/**
 * Builds the stacks of `app` in `scope` (a CDK App or Stage). Stack ids: `<App>-Router`,
 * `<App>-<consumer>` and, for a consumer in another account, `<App>-<consumer>-subscription`.
 */
export function buildStacks(scope: Construct, app: AppDefinition, props: EventRouterAppProps): EventRouterStacks {
  validateCatalogFilters(app.catalog);
  checkQueueNames(app);
  const routerEnv: Environment = { account: app.router?.account, region: app.router?.region };
  const description = (what: string) => describeStack(app, what);
  const { handlersDir, handlerEntry, maxMessageAge, isolated, dynamoDbPrefixListId, backupRetention, ...routerProps } = props;
  const router = buildRouterStack(scope, app, routerProps);
  const consumers: Record<string, ConsumerStack> = {};
  const subscriptions: Record<string, SubscriptionStack> = {};
  const networks: Record<string, NetworkStack> = {};
  for (const consumer of app.catalog.consumers) {
    const remote = isRemoteConsumer(app, consumer);
    const env: Environment = remote ? { account: consumer.account, region: consumer.region ?? app.router?.region } : routerEnv;
    const networkKey = remote ? `${consumer.account}/${env.region ?? ''}` : '';
    if (isolated && networks[networkKey] === undefined) {
      networks[networkKey] = new NetworkStack(scope, networkStackName(app, remote ? consumer.account : undefined, env.region), {
        app,
        env,
        keyAdminArns: remote ? [] : props.keyAdminArns,
        description: description('isolated VPC, its endpoints and flow logs, for the consumer functions'),
      });
    }
    consumers[consumer.name] = new ConsumerStack(scope, names.consumerStack(app, consumer.name), {
      app,
      consumer,
      entry: handlerEntry?.(consumer) ?? path.join(handlersDir, consumer.name, 'index.ts'),
      env,
      maxMessageAge,
      alarmEmail: remote ? props.alarmEmail : undefined,
      isolated,
      dynamoDbPrefixListId,
      backupRetention,
      keyAdminArns: props.keyAdminArns,
      deploymentRoleArns: props.deploymentRoleArns,
      operatorRoleArns: props.operatorRoleArns,
      consumerDeploymentRoles: props.consumerDeploymentRoles,
      description: description(`consumer ${consumer.name}`),
    });
    if (remote) {
      subscriptions[consumer.name] = new SubscriptionStack(scope, names.subscriptionStack(app, consumer.name), {
        app,
        consumer,
        env: routerEnv,
        description: description(`subscription of ${consumer.name} (account ${consumer.account}) on the bus`),
      });
    }
  }
  return { router, consumers, subscriptions, networks };
}

/** Fails when two consumers would create a queue of the same name (e.g. `a-dlq` and `a`'s dead-letter queue). */
function checkQueueNames(app: AppDefinition): void {
  const owners = new Map<string, string>();
  for (const c of app.catalog.consumers) {
    const n = consumerNames(app, c.name);
    for (const queueName of [n.queue, n.deadLetterQueue, n.deliveryDeadLetterQueue]) {
      const other = owners.get(queueName);
      if (other !== undefined && other !== c.name) {
        throw new Error(
          `Consumers '${other}' and '${c.name}' would both create the queue '${queueName}'; rename one of them in the catalog`,
        );
      }
      owners.set(queueName, c.name);
    }
  }
}
