/**
 * The encrypted event bus and everything that decides who may publish to it and subscribe on it.
 */
import { Aws, Duration, Lazy, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as eventschemas from 'aws-cdk-lib/aws-eventschemas';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { detailJsonSchema, EventCatalog, EventDefinition } from '../catalog/define';
import { DLQ_RETENTION, estimatedPolicySize, pascalCase } from './defaults';

/**
 * Actions that create, change or remove subscriptions (rules and their targets) on the bus.
 * @see https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html
 */
export const SUBSCRIBE_ACTIONS = [
  'events:PutRule',
  'events:PutTargets',
  'events:RemoveTargets',
  'events:DeleteRule',
  'events:DisableRule',
  'events:EnableRule',
] as const;

/** Default EventBridge quota for the size of a bus policy, in characters (adjustable). */
export const DEFAULT_BUS_POLICY_SIZE_LIMIT = 10240;

export interface EventRouterProps {
  /** The event catalog: event types, publishers and who publishes what. */
  readonly catalog: EventCatalog;

  /**
   * Name of the custom event bus. Valid: 1 to 256 characters of `[.\-_A-Za-z0-9]`, no `/`.
   * @default 'loan-events'
   */
  readonly eventBusName?: string;

  /**
   * Customer-managed key for the bus, the archive and everything else in the stack.
   * @default - a new symmetric key with automatic rotation, retained on stack deletion
   */
  readonly encryptionKey?: kms.Key;

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
   * Size limit of the bus policy, in characters. Raise it only after raising the adjustable
   * EventBridge quota "Event bus policy size" in your account.
   * @default 10240 (the default quota)
   * @see https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html
   */
  readonly busPolicySizeLimit?: number;

  /**
   * Who may assume the same-account publisher roles.
   * @default - the account root: IAM principals of this account the account's policies allow
   */
  readonly publisherTrust?: iam.IPrincipal;
}

/**
 * Conditions on `events:source` and `events:detail-type`.
 *
 * The Service Authorization Reference types both keys as ArrayOfString (multivalued) for
 * PutEvents, and IAM never matches a multivalued key with a plain `StringEquals` or
 * `StringNotEquals`: such an Allow grants nothing and such a Deny never fires. Set operators
 * are correct whichever way AWS evaluates the keys (a single value is a set of one):
 * - an Allow requires every value to be listed (`ForAllValues:StringEquals`) and the key to be
 *   present (`Null: false`), because `ForAllValues` alone is true for a request without the key;
 * - a Deny fires when any value is not listed (`ForAnyValue:StringNotEquals`), or, to scope a
 *   detail-type Deny to one source, when any value is that source (`ForAnyValue:StringEquals`).
 * @see https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoneventbridge.html
 * @see https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html
 */
function allowEventsCondition(source: string, detailTypes: readonly string[]): Record<string, Record<string, unknown>> {
  return {
    'ForAllValues:StringEquals': { 'events:source': source, 'events:detail-type': [...detailTypes] },
    Null: { 'events:source': 'false', 'events:detail-type': 'false' },
  };
}

/** A principal allowed to publish, and the events it may publish. */
interface PublisherGrant {
  readonly name: string;
  /** `aws:PrincipalArn` pattern: a role ARN, or `arn:<partition>:iam::<account>:*` for another account. */
  readonly principalArn: string;
  readonly events: readonly EventDefinition[];
  /** Set for a publisher in another account, which also needs an Allow in the bus policy. */
  readonly account?: string;
}

/**
 * Encrypted custom event bus with its archive, bus-level dead-letter queue, schema registry,
 * publisher roles and a bus policy that allows only the catalog's publishers to publish only
 * their own events, and only deployment roles to subscribe.
 */
export class EventRouter extends Construct {
  /** The customer-managed key with rotation that encrypts the bus, archive and queues. */
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

  private readonly publishers: PublisherGrant[] = [];

  private readonly ruleManagers: string[];

  constructor(scope: Construct, id: string, props: EventRouterProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const busName = props.eventBusName ?? 'loan-events';
    if (!Token.isUnresolved(busName) && !/^[.\-_A-Za-z0-9]{1,256}$/.test(busName)) {
      throw new Error(`'eventBusName' must be 1 to 256 characters of letters, digits, '.', '-' or '_' (given '${busName}')`);
    }
    const retention = props.archiveRetention ?? Duration.days(365);
    if (!Token.isUnresolved(retention.toSeconds()) && retention.toSeconds() % 86400 !== 0) {
      throw new Error(`'archiveRetention' must be a whole number of days (given ${retention.toHumanString()})`);
    }
    this.eventBusName = busName;
    this.ruleManagers = [...props.deploymentRoleArns, ...(props.ruleManagerArns ?? [])];
    for (const arn of this.ruleManagers) {
      if (!Token.isUnresolved(arn) && !/^arn:[^:]+:(iam|sts)::(\d{12}|\*):/.test(arn)) {
        throw new Error(`'deploymentRoleArns' and 'ruleManagerArns' must hold IAM principal ARNs (given '${arn}')`);
      }
    }
    if (this.ruleManagers.length === 0) {
      throw new Error(
        "'deploymentRoleArns' must list at least one role: the bus policy denies rule changes to everyone else, including CloudFormation",
      );
    }

    this.encryptionKey =
      props.encryptionKey ??
      new kms.Key(this, 'Key', {
        description: `Encrypts the ${busName} event bus, its archive, queues, tables, logs and alarms`,
        enableKeyRotation: true,
        alias: `alias/${busName}`,
        removalPolicy: RemovalPolicy.RETAIN,
      });

    this.eventBusArn = stack.formatArn({ service: 'events', resource: 'event-bus', resourceName: busName });

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
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
    for (const event of props.catalog.events) {
      const schema = new eventschemas.CfnSchema(this, `${pascalCase(event.detailType)}Schema`, {
        registryName: this.schemaRegistry.attrRegistryName,
        schemaName: `${event.source}@${event.detailType}`,
        type: 'JSONSchemaDraft4',
        description: event.description,
        content: JSON.stringify(eventEnvelopeSchema(event)),
      });
      this.schemas[event.detailType] = schema;
    }

    for (const publisher of props.catalog.publishers) {
      if (publisher.account !== undefined) {
        this.publishers.push({
          name: publisher.name,
          principalArn: `arn:${Aws.PARTITION}:iam::${publisher.account}:*`,
          events: publisher.publishes,
          account: publisher.account,
        });
        continue;
      }
      const role = new iam.Role(this, `${pascalCase(publisher.name)}PublisherRole`, {
        assumedBy: props.publisherTrust ?? new iam.AccountRootPrincipal(),
        description: `${publisher.name}: ${publisher.description}`.slice(0, 1000),
        maxSessionDuration: Duration.hours(1),
      });
      this.grantPublish(publisher.name, role, publisher.publishes);
      this.publisherRoles[publisher.name] = role;
    }

    // The policy grows with the catalog and with publishing consumers added after this
    // constructor, so its size is checked at synthesis, before EventBridge would reject it.
    // (The key policy grows too, but the stack reaches CloudFormation's 500-resource limit, at
    // about 23 consumers, long before the 32 KB key-policy limit.)
    const busPolicyLimit = props.busPolicySizeLimit ?? DEFAULT_BUS_POLICY_SIZE_LIMIT;
    this.node.addValidation({
      validate: () => {
        const errors: string[] = [];
        const busPolicy = estimatedPolicySize(this, this.renderResourcePolicy());
        if (busPolicy > busPolicyLimit) {
          errors.push(
            `The bus policy would be up to ${busPolicy} characters, over the ${busPolicyLimit}-character limit ('busPolicySizeLimit', EventBridge quota "Event bus policy size"): merge publishers' sources or raise the quota and the prop`,
          );
        }
        return errors;
      },
    });

    const cfnBus = this.eventBus.node.defaultChild as events.CfnEventBus;
    // Rendered late so that consumers registered after this constructor are included.
    cfnBus.policy = Lazy.any({ produce: () => this.renderResourcePolicy().toJSON() });
  }

  /**
   * Lets `role` publish exactly `events` to this bus: IAM statements with `events:source` and
   * `events:detail-type` conditions (set operators, see `allowEventsCondition`), plus the bus
   * policy's allow list and deny statements. Publisher roles and publishing consumers both get
   * their grants here.
   */
  public grantPublish(name: string, role: iam.IRole, publishes: readonly EventDefinition[]): void {
    if (publishes.length === 0) return;
    [...bySource(publishes)].forEach(([source, detailTypes], i) => {
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          // Sids must be unique in a policy; the index keeps `a.b-c` and `a.b.c` apart.
          sid: `PutEvents${i}${pascalCase(source)}`,
          actions: ['events:PutEvents'],
          resources: [this.eventBusArn],
          conditions: allowEventsCondition(source, detailTypes),
        }),
      );
    });
    this.publishers.push({ name, principalArn: role.roleArn, events: publishes });
  }

  /**
   * The bus resource policy, set as the bus's `Policy` property: one document that CloudFormation
   * applies atomically, instead of one EventBusPolicy resource per statement.
   */
  public renderResourcePolicy(): iam.PolicyDocument {
    const doc = new iam.PolicyDocument();
    const notAService = { Bool: { 'aws:PrincipalIsAWSService': 'false' } };
    const listed = this.publishers.map((p) => p.principalArn);
    const denyPutEvents = (sid: string, conditions: Record<string, unknown>) =>
      doc.addStatements(
        new iam.PolicyStatement({
          sid,
          effect: iam.Effect.DENY,
          principals: [new iam.AnyPrincipal()],
          actions: ['events:PutEvents'],
          resources: [this.eventBusArn],
          conditions,
        }),
      );
    // Service principals are exempt: archive replays are put on the bus by EventBridge itself,
    // and a Deny for Principal * would otherwise block them.
    denyPutEvents(
      'DenyPutEventsFromUnlistedPrincipals',
      listed.length > 0 ? { ArnNotLike: { 'aws:PrincipalArn': listed }, ...notAService } : notAService,
    );
    for (const p of this.publishers) {
      const sources = bySource(p.events);
      const id = pascalCase(p.name);
      // Belt and braces: even if a listed publisher's IAM policy were widened, the bus refuses
      // events outside its catalog entry. One statement per source keeps source/detail-type
      // pairs exact instead of allowing their cross product.
      denyPutEvents(`DenyOtherSourcesFrom${id}`, {
        ArnLike: { 'aws:PrincipalArn': p.principalArn },
        // Multivalued key: see allowEventsCondition.
        'ForAnyValue:StringNotEquals': { 'events:source': [...sources.keys()] },
      });
      [...sources.entries()].forEach(([source, detailTypes], i) => {
        denyPutEvents(`DenyOtherDetailTypesFrom${id}${i}`, {
          ArnLike: { 'aws:PrincipalArn': p.principalArn },
          'ForAnyValue:StringEquals': { 'events:source': source },
          'ForAnyValue:StringNotEquals': { 'events:detail-type': detailTypes },
        });
      });
      const account = p.account;
      if (account !== undefined) {
        // Another account needs an Allow here as well as in its own IAM policies.
        [...sources.entries()].forEach(([source, detailTypes], i) => {
          doc.addStatements(
            new iam.PolicyStatement({
              sid: `AllowPutEventsFrom${id}${i}`,
              principals: [new iam.AccountPrincipal(account)],
              actions: ['events:PutEvents'],
              resources: [this.eventBusArn],
              conditions: allowEventsCondition(source, detailTypes),
            }),
          );
        });
      }
    }
    doc.addStatements(
      new iam.PolicyStatement({
        sid: 'DenySubscribingToAllButDeploymentRoles',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: [...SUBSCRIBE_ACTIONS],
        resources: [Stack.of(this).formatArn({ service: 'events', resource: 'rule', resourceName: `${this.eventBusName}/*` })],
        conditions: { ArnNotLike: { 'aws:PrincipalArn': this.ruleManagers }, ...notAService },
      }),
    );
    return doc;
  }
}

/** Groups events by source: `source -> detail-types`, in catalog order. */
export function bySource(list: readonly EventDefinition[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const e of list) {
    const types = out.get(e.source) ?? [];
    if (!types.includes(e.detailType)) types.push(e.detailType);
    out.set(e.source, types);
  }
  return out;
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
    'x-loan-events-version': event.version,
  };
}
