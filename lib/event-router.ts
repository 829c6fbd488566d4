/**
 * The encrypted event bus and everything that decides who may publish to it and subscribe on it.
 */
import { PUBLISHER_TAG_KEY } from '../sdk/catalog/app';
import { Aws, Duration, Lazy, Stack, Token, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as eventschemas from 'aws-cdk-lib/aws-eventschemas';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { AppDefinition, detailJsonSchema, EventDefinition, isRemoteConsumer, names } from '../sdk/catalog';
import { DEFAULT_BUS_POLICY_SIZE_LIMIT, ExternalPublisher, managementGuardPolicy, publishStatements, renderBusPolicy } from './bus-policy';
import { checkLength, DLQ_RETENTION, estimatedPolicySize, pascalCase } from './defaults';
import { admitDeadLetterOperators, managedKey } from './keys';
import { publishBoundary } from './publish-boundary';

export { SUBSCRIBE_ACTIONS, DEFAULT_BUS_POLICY_SIZE_LIMIT, bySource } from './bus-policy';

export interface EventRouterProps {
  /** The app definition: its catalog (event types, publishers, consumers) and names. */
  readonly app: AppDefinition;

  /**
   * Customer-managed key for the bus and the archive (router data only: the trail and the alarm
   * topic have keys of their own, so that disabling this one silences no alarm).
   * @default - a new symmetric key with rotation, retained on stack deletion, administered by
   * `keyAdminArns` and the deployment roles and used only by EventBridge for this bus
   */
  readonly encryptionKey?: kms.Key;

  /**
   * Key administrators (`aws:PrincipalArn` patterns) of the keys this construct creates: they
   * manage the keys and their policies, and cannot use them.
   * @default - the deployment roles and the account's root user only
   */
  readonly keyAdminArns?: string[];

  /**
   * Operator roles: they may manage the bus's rules (like `ruleManagerArns`), are exempt from the
   * management guard (`managementGuard`) and may read and redrive the bus dead-letter queue.
   * @default - none
   */
  readonly operatorRoleArns?: string[];

  /**
   * How long the archive keeps events. `Duration.days(0)` keeps them indefinitely.
   * @default Duration.days(365)
   * @see https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-archive.html
   */
  readonly archiveRetention?: Duration;

  /**
   * Principals (IAM role ARNs, wildcards allowed) that may create, change and delete rules and
   * targets on the bus. Everyone else is denied by the bus policy, so CloudFormation's
   * execution role must be listed or deployments fail.
   */
  readonly deploymentRoleArns: string[];

  /**
   * Further principals that may manage rules on the bus, e.g. an operator role that runs
   * `loan-events tail` (it creates a temporary rule).
   * @default - none
   */
  readonly ruleManagerArns?: string[];

  /**
   * Let consumer teams deploy their own subscriptions with roles named
   * `<App>-deploy-<consumer>` and tagged `<tag key>=<consumer>`: each may manage only the rule
   * named for its consumer. See docs/deploy.md for what only a deployment can confirm.
   * @default - consumer stacks are deployed with one of `deploymentRoleArns`
   */
  readonly consumerDeploymentRoles?: boolean;

  /**
   * Size limit of the bus policy, in characters. Raise it only after raising the adjustable
   * EventBridge quota "Event bus policy size" in your account.
   * @default 10240 (the default quota)
   * @see https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html
   */
  readonly busPolicySizeLimit?: number;

  /**
   * Principals (IAM ARNs, wildcards allowed after the account) that may assume a publisher's role,
   * by catalog publisher name (context `publisherPrincipals`). A publisher listed here trusts
   * exactly these principals.
   * @default - see `PUBLISHER_TAG_KEY`
   */
  readonly publisherPrincipals?: Record<string, string[]>;

  /**
   * Who may assume every same-account publisher role; overrides `publisherPrincipals` and the tag.
   * @default - per publisher: `publisherPrincipals`, else principals of this account tagged
   * `PUBLISHER_TAG_KEY` = the publisher's name
   */
  readonly publisherTrust?: iam.IPrincipal;
}

/**
 * Principal tag that names the publisher a principal of the account acts for. With no
 * `publisherPrincipals` for a publisher, its role trusts only principals of the account that carry
 * this tag with the publisher's name: tagging a role is an explicit IAM act, unlike merely
 * holding `sts:AssumeRole` on `*`. Session tags count as principal tags, so whoever may pass
 * session tags can claim one: docs/security.md suggests an SCP for `sts:TagSession`.
 */
export { PUBLISHER_TAG_KEY };

/** Tag a consumer team's deployment role carries: its value is the consumer's catalog name. */
export const CONSUMER_TAG_KEY = 'event-router:consumer';

/**
 * Encrypted custom event bus with its archive, bus-level dead-letter queue, schema registry,
 * publisher roles and a bus policy that allows only the catalog's publishers to publish, and only
 * deployment roles to subscribe. Consumers are not constructs of this stack: the bus policy knows
 * them by the app's naming policy, so adding or removing one leaves this stack's template as it is.
 */
export class EventRouter extends Construct {
  /** The customer-managed key with rotation that encrypts the bus and archive. */
  public readonly encryptionKey: kms.Key;
  /** The custom event bus. */
  public readonly eventBus: events.EventBus;
  /** Name of the bus, known at synthesis time. */
  public readonly eventBusName: string;
  /** ARN of the bus, built from its name so key and bus policies can use it without a cycle. */
  public readonly eventBusArn: string;
  /**
   * Receives events the bus could not encrypt or decrypt (KMS errors). Encrypted with SQS-managed
   * keys on purpose: a queue for key failures must not depend on the failing key.
   * @see https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-encryption-event-bus-cmkey.html
   */
  public readonly deadLetterQueue: sqs.Queue;
  /** Archive of every event on the bus, encrypted with the key. */
  public readonly archive: events.Archive;
  /** Registry holding one JSON Schema (draft 4) per catalog event type. */
  public readonly schemaRegistry: eventschemas.CfnRegistry;
  /** Schemas by detail-type. */
  public readonly schemas: Record<string, eventschemas.CfnSchema> = {};
  /** The same-account publisher roles the catalog lists, by publisher name. */
  public readonly publisherRoles: Record<string, iam.Role> = {};
  /** The roles the bus policy lets manage every rule. */
  public readonly ruleManagers: string[];
  /**
   * Key of the bus dead-letter queue alone: it does not share the bus key's fate, so events the
   * bus could not encrypt because its key was disabled still land, encrypted, in the queue.
   */
  public readonly deadLetterKey: kms.Key;
  /**
   * A service control policy for the bus account: it denies the bus, archive and replay
   * management actions the bus policy cannot govern to all but the deployment and operator roles.
   * Rendered in the template metadata as `EventRouterManagementGuard`; see docs/security.md.
   */
  public readonly managementGuard: iam.PolicyDocument;

  constructor(scope: Construct, id: string, props: EventRouterProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const app = props.app;
    const busName = app.eventBusName;
    const retention = props.archiveRetention ?? Duration.days(365);
    if (!Token.isUnresolved(retention.toSeconds()) && retention.toSeconds() % 86400 !== 0) {
      throw new Error(`'archiveRetention' must be a whole number of days (given ${retention.toHumanString()})`);
    }
    this.eventBusName = busName;
    this.ruleManagers = [...props.deploymentRoleArns, ...(props.ruleManagerArns ?? [])];
    const operators = props.operatorRoleArns ?? [];
    const keyAdmins = props.keyAdminArns ?? [];
    for (const arn of [...this.ruleManagers, ...operators, ...keyAdmins]) {
      if (!Token.isUnresolved(arn) && !/^arn:[^:]+:(iam|sts)::(\d{12}|\*):/.test(arn)) {
        throw new Error(
          `'deploymentRoleArns', 'ruleManagerArns', 'operatorRoleArns' and 'keyAdminArns' must hold IAM principal ARNs (given '${arn}')`,
        );
      }
    }
    if (this.ruleManagers.length === 0) {
      throw new Error(
        "'deploymentRoleArns' must list at least one role: the bus policy denies rule changes to everyone else, including CloudFormation",
      );
    }

    this.encryptionKey =
      props.encryptionKey ??
      managedKey(this, 'Key', {
        description: `Encrypts the ${busName} event bus and its archive`,
        alias: busName,
        administrators: keyAdmins,
        deployers: props.deploymentRoleArns,
        services: ['events'],
      });

    this.eventBusArn = stack.formatArn({ service: 'events', resource: 'event-bus', resourceName: busName });
    this.renderResourcePolicy = () => new iam.PolicyDocument();
    this.deadLetterKey = managedKey(this, 'DeadLetterKey', {
      description: `Encrypts the dead-letter queue of the ${busName} event bus, apart from the bus key`,
      alias: `${busName}-bus-dead-letters`,
      administrators: keyAdmins,
      deployers: props.deploymentRoleArns,
      services: ['sqs'],
    });
    // EventBridge encrypts through SQS for this bus only. The key serves this one queue, whose
    // ARN the policy cannot name (the queue depends on the key), so no encryption context.
    this.deadLetterKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowEventBusToEncryptDeadLetters',
        principals: [new iam.ServicePrincipal('events.amazonaws.com')],
        actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceArn': this.eventBusArn, 'aws:SourceAccount': stack.account } },
      }),
    );
    admitDeadLetterOperators(this.deadLetterKey, operators);
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: this.deadLetterKey,
      dataKeyReuse: Duration.minutes(5),
      enforceSSL: true,
      retentionPeriod: DLQ_RETENTION,
      redriveAllowPolicy: { redrivePermission: sqs.RedrivePermission.DENY_ALL },
    });
    Validations.of(this.deadLetterQueue).acknowledge(
      {
        id: 'AwsSolutions::AwsSolutions-SQS3',
        reason:
          'This queue is the event bus dead-letter queue (DeadLetterConfig of the bus), which cdk-nag does not recognise as a dead-letter queue.',
      },
      {
        id: 'Serverless::Serverless-SQSRedrivePolicy',
        reason:
          'This is the event bus dead-letter queue; nothing consumes it, so a redrive policy would never apply. Its depth is alarmed.',
      },
    );
    this.deadLetterQueue.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowEventBusDeadLetters',
        principals: [new iam.ServicePrincipal('events.amazonaws.com')],
        actions: ['sqs:SendMessage'],
        resources: [this.deadLetterQueue.queueArn],
        conditions: { ArnEquals: { 'aws:SourceArn': this.eventBusArn } },
      }),
    );

    // The L2 adds the key-policy statement EventBridge needs for the bus, conditioned on
    // aws:SourceArn and the kms:EncryptionContext:aws:events:event-bus:arn of this bus.
    this.eventBus = new events.EventBus(this, 'Bus', {
      eventBusName: busName,
      kmsKey: this.encryptionKey,
      deadLetterQueue: this.deadLetterQueue,
      description: 'Business events routed by content to buffered consumers',
    });

    // EventBus.archive() would drop the key, and an Archive given the bus object makes the key
    // policy reference the bus, which references the key: a cycle. Import by the built ARN.
    this.archive = new events.Archive(this, 'Archive', {
      sourceEventBus: events.EventBus.fromEventBusArn(this, 'ArchiveSource', this.eventBusArn),
      // Required by the L2 but removed below: an archive without a pattern keeps every event
      // sent to the bus, from this account or any other.
      eventPattern: { account: [Aws.ACCOUNT_ID] },
      retention,
      kmsKey: this.encryptionKey,
      description: `Every event on ${busName}, for replay`,
    });
    (this.archive.node.defaultChild as events.CfnArchive).addPropertyDeletionOverride('EventPattern');
    this.archive.node.addDependency(this.eventBus);

    // Schema discovery is not supported on buses encrypted with a customer-managed key, so the
    // registry is filled from the catalog instead of discovered.
    // @see https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-encryption-event-bus-cmkey.html
    this.schemaRegistry = new eventschemas.CfnRegistry(this, 'SchemaRegistry', {
      registryName: `${busName}-schemas`,
      description: `Event types published on ${busName}, generated from the event catalog`,
    });
    for (const event of app.catalog.events) {
      const schema = new eventschemas.CfnSchema(this, `${pascalCase(event.detailType)}Schema`, {
        registryName: this.schemaRegistry.attrRegistryName,
        schemaName: `${event.source}@${event.detailType}`,
        type: 'JSONSchemaDraft4',
        description: event.description,
        content: JSON.stringify(eventEnvelopeSchema(event)),
      });
      this.schemas[event.detailType] = schema;
    }

    const partition = Aws.PARTITION;
    const external: ExternalPublisher[] = [];
    for (const publisher of app.catalog.publishers) {
      if (publisher.account !== undefined) {
        external.push({
          name: publisher.name,
          principalArn: `arn:${partition}:iam::${publisher.account}:*`,
          account: publisher.account,
          events: publisher.publishes,
        });
        continue;
      }
      const roleName = names.publisherRole(app, publisher.name);
      checkLength('roleName', roleName, 64);
      const role = new iam.Role(this, `${pascalCase(publisher.name)}PublisherRole`, {
        roleName,
        assumedBy: props.publisherTrust ?? publisherTrust(publisher.name, props.publisherPrincipals?.[publisher.name]),
        description: `${publisher.name}: ${publisher.description}`.slice(0, 1000),
        maxSessionDuration: Duration.hours(1),
        permissionsBoundary: publishBoundary(this, `${pascalCase(publisher.name)}PublishBoundary`, {
          eventBusArn: this.eventBusArn,
          events: publisher.publishes,
          owner: publisher.name,
        }),
      });
      this.grantPublish(role, ...publisher.publishes);
      this.publisherRoles[publisher.name] = role;
    }
    // Consumers in another account publish with their own role, which the bus policy must allow.
    for (const consumer of app.catalog.consumers) {
      if (!isRemoteConsumer(app, consumer) || consumer.publishes.length === 0 || consumer.account === undefined) continue;
      external.push({
        name: consumer.name,
        principalArn: `arn:${partition}:iam::${consumer.account}:role/${names.consumerRole(app, consumer.name)}`,
        account: consumer.account,
        events: consumer.publishes,
      });
    }
    const account = stack.account;
    const policyProps = {
      eventBusArn: this.eventBusArn,
      eventBusName: busName,
      // Same-account publishers are recognised by name; each is confined by its own IAM policy and
      // permissions boundary, so the bus policy does not grow with their number.
      publisherPatterns: [
        `arn:${partition}:iam::${account}:role/${names.publisherRole(app, '*')}`,
        `arn:${partition}:iam::${account}:role/${names.consumerRole(app, '*')}`,
      ],
      externalPublishers: external,
      ruleManagers: this.ruleManagers,
      operators,
      consumerDeployers: props.consumerDeploymentRoles
        ? {
            principalPattern: `arn:${partition}:iam::${account}:role/${names.consumerDeploymentRole(app, '*')}`,
            ruleNamePattern: names.consumerPrefix(app, `\${aws:PrincipalTag/${CONSUMER_TAG_KEY}}`),
          }
        : undefined,
    };

    // The policy's size is checked at synthesis, before EventBridge would reject it.
    const busPolicyLimit = props.busPolicySizeLimit ?? DEFAULT_BUS_POLICY_SIZE_LIMIT;
    this.node.addValidation({
      validate: () => {
        const errors: string[] = [];
        const busPolicy = estimatedPolicySize(this, this.renderResourcePolicy());
        if (busPolicy > busPolicyLimit) {
          errors.push(
            `The bus policy would be up to ${busPolicy} characters, over the ${busPolicyLimit}-character limit ('busPolicySizeLimit', EventBridge quota "Event bus policy size"): merge publishers in other accounts or raise the quota and the prop`,
          );
        }
        return errors;
      },
    });
    this.renderResourcePolicy = () => renderBusPolicy(this, policyProps);

    const cfnBus = this.eventBus.node.defaultChild as events.CfnEventBus;
    cfnBus.policy = Lazy.any({ produce: () => this.renderResourcePolicy().toJSON() });

    this.managementGuard = managementGuardPolicy(this, {
      eventBusArn: this.eventBusArn,
      eventBusName: busName,
      managers: [...props.deploymentRoleArns, ...operators],
    });
    stack.templateOptions.metadata = {
      ...stack.templateOptions.metadata,
      EventRouterManagementGuard: Lazy.any({ produce: () => this.managementGuard.toJSON() }),
    };

    const publishers = new Set(app.catalog.publishers.filter((p) => p.account === undefined).map((p) => p.name));
    const unknown = Object.keys(props.publisherPrincipals ?? {}).filter((name) => !publishers.has(name));
    if (unknown.length > 0) {
      throw new Error(
        `'publisherPrincipals' names ${unknown.map((n) => `'${n}'`).join(', ')}, which ${unknown.length === 1 ? 'is' : 'are'} not a same-account publisher of the catalog (known: ${[...publishers].join(', ') || 'none'})`,
      );
    }
  }

  /**
   * Lets `grantee` publish exactly `events` to this bus: IAM statements with `events:source` and
   * `events:detail-type` conditions (set operators, see `allowEventsCondition`). The bus policy
   * admits same-account principals named by the app's naming policy; a grantee named otherwise
   * is still refused by the bus.
   */
  public grantPublish(grantee: iam.IGrantable, ...events: EventDefinition[]): iam.Grant {
    return grantPublishOn(this.eventBusArn, grantee, events);
  }

  /** The bus resource policy, set as the bus's `Policy` property (one document, applied atomically). */
  public renderResourcePolicy: () => iam.PolicyDocument;
}

/** IAM statements letting `grantee` publish exactly `events` to the bus `busArn`, as one Grant. */
export function grantPublishOn(busArn: string, grantee: iam.IGrantable, events: readonly EventDefinition[]): iam.Grant {
  const statements = publishStatements(busArn, events);
  if (statements.length === 0) return iam.Grant.drop(grantee, 'publish no events');
  return statements
    .map((statement) =>
      iam.Grant.addToPrincipal({
        grantee,
        actions: statement.actions,
        resourceArns: statement.resources,
        conditions: statement.conditions,
      }),
    )
    .reduce((a, b) => a.combine(b));
}

/** The whole EventBridge event as JSON Schema draft 4, with the catalog's detail schema inside. */
export function eventEnvelopeSchema(event: EventDefinition): Record<string, unknown> {
  const detail = detailJsonSchema(event, 'draft-4');
  // Only the root of a schema document may carry $schema.
  delete detail.$schema;
  return {
    $schema: 'http://json-schema.org/draft-04/schema#',
    title: event.detailType,
    description: event.description,
    type: 'object',
    required: ['source', 'detail-type', 'detail'],
    properties: {
      version: { type: 'string' },
      id: { type: 'string' },
      account: { type: 'string' },
      time: { type: 'string', format: 'date-time' },
      region: { type: 'string' },
      resources: { type: 'array', items: { type: 'string' } },
      source: { type: 'string', enum: [event.source] },
      'detail-type': { type: 'string', enum: [event.detailType] },
      detail: detail,
    },
    'x-event-version': event.version,
  };
}

/**
 * Trust policy principal of a publisher role: `principals` when given (by account root, each
 * confined by `aws:PrincipalArn`), else principals of this account tagged with the publisher's
 * name (`PUBLISHER_TAG_KEY`).
 */
export function publisherTrust(publisher: string, principals?: readonly string[]): iam.IPrincipal {
  if (principals === undefined) {
    return new iam.AccountRootPrincipal().withConditions({ StringEquals: { [`aws:PrincipalTag/${PUBLISHER_TAG_KEY}`]: publisher } });
  }
  if (principals.length === 0) throw new Error(`'publisherPrincipals' of '${publisher}' is empty: list at least one principal ARN`);
  const accounts = new Set<string>();
  for (const arn of principals) {
    const m = /^arn:[^:]+:(iam|sts)::(\d{12}):(role|user|assumed-role)\/\S+$/.exec(arn);
    if (!m) {
      throw new Error(`'publisherPrincipals' of '${publisher}' must hold IAM role or user ARNs with an account id (given '${arn}')`);
    }
    accounts.add(m[2]!);
  }
  return new iam.CompositePrincipal(...[...accounts].map((a) => new iam.AccountPrincipal(a))).withConditions({
    ArnLike: { 'aws:PrincipalArn': [...principals] },
  });
}
