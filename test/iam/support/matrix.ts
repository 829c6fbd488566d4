/**
 * The publish/subscribe authorization matrix: named requests and the decision each must get.
 * Expectations come from the event catalog (who publishes and subscribes to what) and from the
 * architecture (one queue, rule, role and key grant per consumer), never from the policies
 * under test; the ARNs come from the synthesized stack. Adding a publisher, consumer or event
 * type to the catalog adds its rows.
 */
import { EventDefinition, names } from '../../../sdk/catalog';
import { keyCases, managementCases, trustCases } from './matrix-keys';
import { PolicyDocument, Statement } from './policies';
import { AccessRequest, Decision } from './simulate';
import { ConsumerResources, SUBSCRIBE_ACTIONS, Topology, UNLISTED_ACCOUNT } from './stack';

/** `Denied` accepts an implicit or explicit deny; `ExplicitlyDenied` proves a Deny statement fired. */
export type Expectation = 'Allowed' | 'Denied' | 'ExplicitlyDenied';

export interface MatrixCase {
  /** One sentence: who may or may not do what, and why it matters. */
  readonly name: string;
  readonly request: AccessRequest;
  readonly expect: Expectation;
}

export function satisfies(decision: Decision, expect: Expectation): boolean {
  if (expect === 'Denied') return decision !== 'Allowed';
  return decision === expect;
}

const allow = (action: string | string[], resource: string | string[] = '*'): PolicyDocument => ({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: action, Resource: resource }],
});
/** What an account administrator, or CloudFormation's execution role, has. */
const ADMIN = allow('*');

/** The first of `items`, or an error naming what the catalog lacks. */
function first<T>(items: readonly T[], what: string): T {
  const [item] = items;
  if (item === undefined) throw new Error(`The matrix needs ${what}, and there is none`);
  return item;
}

const putEvents = (e: EventDefinition, source = e.source) => ({ 'events:source': source, 'events:detail-type': e.detailType });

/**
 * For each source a publisher uses, one catalog event type it does not publish under that source:
 * a detail-type the bus must refuse even with the publisher's own source.
 */
function foreignDetailTypes(t: Topology, own: readonly EventDefinition[]): [string, EventDefinition][] {
  const sources = [...new Set(own.map((e) => e.source))];
  return sources.flatMap((source) => {
    const foreign = t.catalog.events.find((e) => !own.some((o) => o.source === source && o.detailType === e.detailType));
    return foreign ? [[source, foreign] as [string, EventDefinition]] : [];
  });
}

export function buildMatrix(t: Topology): MatrixCase[] {
  const { account, region, partition } = t.env;
  const cases: MatrixCase[] = [];
  const add = (name: string, expect: Expectation, request: AccessRequest) => cases.push({ name, expect, request });
  const inAccount = (resource: string, acct = account) =>
    `arn:${partition}:${resource.split(':')[0]}:${region}:${acct}:${resource.split(':').slice(1).join(':')}`;
  const otherBus = inAccount('events:event-bus/some-other-bus');
  const unlistedRole = `arn:${partition}:iam::${account}:role/unlisted-admin`;
  const consumers = Object.values(t.consumers);
  const newRule = `${t.busArn.replace(':event-bus/', ':rule/')}/new-subscription`;
  const sqsVia = `sqs.${region}.amazonaws.com`;
  const dynamodbVia = `dynamodb.${region}.amazonaws.com`;

  const anyEvent = first(t.catalog.events, 'an event type in the catalog');

  const bounded = (name: string) => t.policies.boundaries[t.publisherRoles[name] ?? ''] !== undefined;

  const refuser = (name: string) => (bounded(name) ? `the permissions boundary of ${name}` : 'the bus policy');
  const refusal = (name: string): Expectation => (bounded(name) ? 'Denied' : 'ExplicitlyDenied');

  // ---- Publishing: every same-account publisher and every consumer that publishes. ----
  for (const [name, role] of Object.entries(t.publisherRoles)) {
    const own = publishesOf(t, name);
    const others = t.catalog.events.filter((e) => !own.includes(e));
    const ownEvent = first(own, `an event type that ${name} publishes`);
    for (const e of own) {
      add(`${name} may publish ${e.detailType} with its catalog source`, 'Allowed', {
        principal: role,
        action: 'events:PutEvents',
        resource: t.busArn,
        context: putEvents(e),
      });
    }
    for (const e of others) {
      add(`${name} may not publish ${e.detailType}, which its catalog entry does not list`, 'Denied', {
        principal: role,
        action: 'events:PutEvents',
        resource: t.busArn,
        context: putEvents(e),
      });
    }
    add(`${name} may not publish ${ownEvent.detailType} under a forged source`, 'Denied', {
      principal: role,
      action: 'events:PutEvents',
      resource: t.busArn,
      context: putEvents(ownEvent, 'com.example.forged'),
    });
    add(`${name}'s IAM policy alone does not allow ${ownEvent.detailType} on another bus`, 'Denied', {
      principal: role,
      action: 'events:PutEvents',
      resource: otherBus,
      context: putEvents(ownEvent),
      identityPoliciesOnly: true,
    });
    if (bounded(name)) {
      add(
        `the permissions boundary of ${name} refuses ${ownEvent.detailType} on another bus even if its IAM policy allowed any PutEvents`,
        'Denied',
        {
          principal: role,
          action: 'events:PutEvents',
          resource: otherBus,
          context: putEvents(ownEvent),
          identityPolicies: [allow('events:PutEvents')],
        },
      );
    }
    add(`${name} may not publish ${ownEvent.detailType} to another bus`, 'Denied', {
      principal: role,
      action: 'events:PutEvents',
      resource: otherBus,
      context: putEvents(ownEvent),
    });
    add(`${name}'s IAM policy alone does not allow a rule on the bus, even for its own events`, 'Denied', {
      principal: role,
      action: 'events:PutRule',
      resource: newRule,
      context: putEvents(ownEvent),
      identityPoliciesOnly: true,
    });
    const [otherEvent] = others;
    if (otherEvent) {
      add(`${name}'s IAM policy alone does not allow ${otherEvent.detailType}`, 'Denied', {
        principal: role,
        action: 'events:PutEvents',
        resource: t.busArn,
        context: putEvents(otherEvent),
        identityPoliciesOnly: true,
      });
      // Same-account roles are capped by their permissions boundary (an implicit deny); others by the bus policy.
      add(`${refuser(name)} refuses ${otherEvent.detailType} from ${name} even if its IAM policy allowed any PutEvents`, refusal(name), {
        principal: role,
        action: 'events:PutEvents',
        resource: t.busArn,
        context: putEvents(otherEvent),
        identityPolicies: [allow('events:PutEvents')],
      });
    }
    for (const [source, foreign] of foreignDetailTypes(t, own)) {
      add(
        `${refuser(name)} refuses ${foreign.detailType} from ${name} under its own source ${source} even if its IAM policy allowed any PutEvents`,
        refusal(name),
        {
          principal: role,
          action: 'events:PutEvents',
          resource: t.busArn,
          context: putEvents(foreign, source),
          identityPolicies: [allow('events:PutEvents')],
        },
      );
    }
  }
  // Consumers that publish nothing: no IAM grant, and the bus policy does not list them.
  for (const c of t.catalog.consumers.filter((x) => x.publishes.length === 0)) {
    const role = t.consumers[c.name]!.role;
    for (const e of t.catalog.events) {
      add(`${c.name} publishes nothing, so it may not publish ${e.detailType}`, 'Denied', {
        principal: role,
        action: 'events:PutEvents',
        resource: t.busArn,
        context: putEvents(e),
      });
    }
    const e = anyEvent;
    const cBounded = t.policies.boundaries[role] !== undefined;
    add(
      `${cBounded ? `the permissions boundary of ${c.name}` : 'the bus policy'} refuses ${c.name}, which publishes nothing, even if its IAM policy allowed any PutEvents`,
      cBounded ? 'Denied' : 'ExplicitlyDenied',
      {
        principal: role,
        action: 'events:PutEvents',
        resource: t.busArn,
        context: putEvents(e),
        identityPolicies: [allow('events:PutEvents')],
      },
    );
  }
  add('an unlisted role of the account with events:PutEvents on * is denied by the bus policy', 'ExplicitlyDenied', {
    principal: unlistedRole,
    action: 'events:PutEvents',
    resource: t.busArn,
    context: putEvents(anyEvent),
    identityPolicies: [allow('events:PutEvents')],
  });

  // ---- Publishers in other accounts: their own IAM policies allow everything. ----
  for (const p of t.catalog.publishers.filter((x) => x.account !== undefined)) {
    const role = `arn:${partition}:iam::${p.account}:role/${p.name}`;
    for (const e of p.publishes) {
      add(`${p.name} in account ${p.account} may publish ${e.detailType}`, 'Allowed', {
        principal: role,
        action: 'events:PutEvents',
        resource: t.busArn,
        context: putEvents(e),
        identityPolicies: [ADMIN],
      });
    }
    for (const e of t.catalog.events.filter((x) => !p.publishes.includes(x))) {
      add(`${p.name} in account ${p.account} may not publish ${e.detailType}`, 'Denied', {
        principal: role,
        action: 'events:PutEvents',
        resource: t.busArn,
        context: putEvents(e),
        identityPolicies: [ADMIN],
      });
    }
    add(`${p.name} in account ${p.account} may not publish its detail-type under another source`, 'Denied', {
      principal: role,
      action: 'events:PutEvents',
      resource: t.busArn,
      context: putEvents(first(p.publishes, `an event type that ${p.name} publishes`), 'com.example.forged'),
      identityPolicies: [ADMIN],
    });
    // The bus policy guards cross-account publishing twice, with an Allow and Deny statements:
    // each layer is checked on its own.
    const anyPutEvents: Statement = {
      Effect: 'Allow',
      Principal: { AWS: `arn:${partition}:iam::${p.account}:root` },
      Action: 'events:PutEvents',
      Resource: t.busArn,
    };
    for (const e of t.catalog.events.filter((x) => !p.publishes.includes(x))) {
      add(
        `the bus policy refuses ${e.detailType} from ${p.name} in account ${p.account} even if another bus statement allowed it any PutEvents`,
        'ExplicitlyDenied',
        {
          principal: role,
          action: 'events:PutEvents',
          resource: t.busArn,
          context: putEvents(e),
          identityPolicies: [ADMIN],
          resourceStatements: [anyPutEvents],
        },
      );
      add(`the bus policy's Allow statements alone do not let ${p.name} in account ${p.account} publish ${e.detailType}`, 'Denied', {
        principal: role,
        action: 'events:PutEvents',
        resource: t.busArn,
        context: putEvents(e),
        identityPolicies: [ADMIN],
        resourceAllowsOnly: true,
      });
    }
    for (const [source, foreign] of foreignDetailTypes(t, p.publishes)) {
      add(
        `the bus policy refuses ${foreign.detailType} from ${p.name} in account ${p.account} under its own source ${source} even if another bus statement allowed it any PutEvents`,
        'ExplicitlyDenied',
        {
          principal: role,
          action: 'events:PutEvents',
          resource: t.busArn,
          context: putEvents(foreign, source),
          identityPolicies: [ADMIN],
          resourceStatements: [anyPutEvents],
        },
      );
      add(
        `the bus policy's Allow statements alone do not let ${p.name} in account ${p.account} publish ${foreign.detailType} under its own source ${source}`,
        'Denied',
        {
          principal: role,
          action: 'events:PutEvents',
          resource: t.busArn,
          context: putEvents(foreign, source),
          identityPolicies: [ADMIN],
          resourceAllowsOnly: true,
        },
      );
    }
    add(`${p.name} in account ${p.account} may not add a rule to the bus`, 'Denied', {
      principal: role,
      action: 'events:PutRule',
      resource: newRule,
      identityPolicies: [ADMIN],
    });
    add(`${p.name} in account ${p.account} may not use the project key`, 'Denied', {
      principal: role,
      action: 'kms:Decrypt',
      resource: t.keyArn,
      identityPolicies: [ADMIN],
    });
  }
  const crossAccountEvent = t.catalog.publishers.find((x) => x.account !== undefined)?.publishes[0] ?? anyEvent;
  add(`an account the catalog does not list may not publish ${crossAccountEvent.detailType}`, 'Denied', {
    principal: `arn:${partition}:iam::${UNLISTED_ACCOUNT}:role/admin`,
    action: 'events:PutEvents',
    resource: t.busArn,
    context: putEvents(crossAccountEvent),
    identityPolicies: [ADMIN],
  });

  // ---- Consumer teams' deployment roles: each manages only the rule named for its consumer. ----
  const busStatements = t.policies.resource[t.busArn]?.document.Statement ?? [];
  if (busStatements.some((st) => st.Sid === 'DenyConsumerDeployersOtherRules') && consumers.length > 1) {
    const [mine, theirs] = consumers as [ConsumerResources, ConsumerResources];
    const deployer = `arn:${partition}:iam::${account}:role/${names.consumerDeploymentRole(t.app, mine.name)}`;
    const tag = { 'aws:PrincipalTag/event-router:consumer': mine.name };
    for (const action of ['events:PutRule', 'events:PutTargets', 'events:DeleteRule'] as const) {
      add(`${mine.name}'s deployment role may call ${action} on ${mine.name}'s rule`, 'Allowed', {
        principal: deployer,
        action,
        resource: mine.rule,
        context: tag,
        identityPolicies: [ADMIN],
      });
      add(`${mine.name}'s deployment role may not call ${action} on ${theirs.name}'s rule`, 'ExplicitlyDenied', {
        principal: deployer,
        action,
        resource: theirs.rule,
        context: tag,
        identityPolicies: [ADMIN],
      });
      add(`${mine.name}'s deployment role may not call ${action} on a new rule of another name`, 'ExplicitlyDenied', {
        principal: deployer,
        action,
        resource: newRule,
        context: tag,
        identityPolicies: [ADMIN],
      });
    }
    add(`a deployment role tagged for ${theirs.name} may not change ${mine.name}'s rule`, 'ExplicitlyDenied', {
      principal: `arn:${partition}:iam::${account}:role/${names.consumerDeploymentRole(t.app, theirs.name)}`,
      action: 'events:PutRule',
      resource: mine.rule,
      context: { 'aws:PrincipalTag/event-router:consumer': theirs.name },
      identityPolicies: [ADMIN],
    });
  }

  // ---- Subscribing: only deployment roles manage rules and targets on the bus. ----
  for (const action of SUBSCRIBE_ACTIONS) {
    for (const role of t.deploymentRoleArns) {
      add(`the deployment role ${role.split('/').pop()} may call ${action} on the bus's rules`, 'Allowed', {
        principal: role,
        action,
        resource: newRule,
        identityPolicies: [ADMIN],
      });
    }
    for (const role of t.ruleManagerArns) {
      add(`the rule manager ${role.split('/').pop()} may call ${action} on the bus's rules`, 'Allowed', {
        principal: role,
        action,
        resource: newRule,
        identityPolicies: [allow('events:*')],
      });
    }
    add(`an administrator role that is not a deployment role may not call ${action} on the bus's rules`, 'ExplicitlyDenied', {
      principal: unlistedRole,
      action,
      resource: newRule,
      identityPolicies: [ADMIN],
    });
  }
  for (const [name, role] of Object.entries({ ...t.publisherRoles, ...Object.fromEntries(consumers.map((c) => [c.name, c.role])) })) {
    add(`${name}'s role may not add a rule to the bus`, 'Denied', { principal: role, action: 'events:PutRule', resource: newRule });
  }
  for (const c of consumers) {
    add(`${c.name}'s role may not redirect its own rule with PutTargets`, 'Denied', {
      principal: c.role,
      action: 'events:PutTargets',
      resource: c.rule,
    });
    add(`${c.name}'s role may not add rules even with events:* in its IAM policy`, 'ExplicitlyDenied', {
      principal: c.role,
      action: 'events:PutRule',
      resource: newRule,
      identityPolicies: [allow('events:*')],
    });
  }

  // ---- Queues: each consumer reads its own buffer; EventBridge writes only from the right rule. ----
  for (const c of consumers) {
    for (const action of ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility', 'sqs:GetQueueAttributes']) {
      add(`${c.name}'s role may call ${action} on its own queue`, 'Allowed', { principal: c.role, action, resource: c.queue });
    }
    add(`${c.name}'s role may not send to its own queue (only its rule does)`, 'Denied', {
      principal: c.role,
      action: 'sqs:SendMessage',
      resource: c.queue,
    });
    add(`${c.name}'s role may not purge its own queue`, 'Denied', { principal: c.role, action: 'sqs:PurgeQueue', resource: c.queue });
    add(`${c.name}'s role may not read its redrive dead-letter queue`, 'Denied', {
      principal: c.role,
      action: 'sqs:ReceiveMessage',
      resource: c.deadLetterQueue,
    });
    add(`${c.name}'s role may not read its delivery dead-letter queue`, 'Denied', {
      principal: c.role,
      action: 'sqs:ReceiveMessage',
      resource: c.deliveryDeadLetterQueue,
    });
    for (const o of consumers.filter((x) => x !== c)) {
      add(`${c.name}'s role may not receive from ${o.name}'s queue`, 'Denied', {
        principal: c.role,
        action: 'sqs:ReceiveMessage',
        resource: o.queue,
      });
      add(`${c.name}'s role may not delete from ${o.name}'s queue`, 'Denied', {
        principal: c.role,
        action: 'sqs:DeleteMessage',
        resource: o.queue,
      });
      add(`${c.name}'s role may not read ${o.name}'s dead-letter queue`, 'Denied', {
        principal: c.role,
        action: 'sqs:ReceiveMessage',
        resource: o.deadLetterQueue,
      });
    }
    const other = consumers.find((x) => x !== c);
    const fromRule = (rule: string) => ({ 'aws:SourceArn': rule, 'aws:SourceAccount': account });
    add(`EventBridge may deliver to ${c.name}'s queue from ${c.name}'s rule`, 'Allowed', {
      principal: 'events.amazonaws.com',
      action: 'sqs:SendMessage',
      resource: c.queue,
      context: fromRule(c.rule),
    });
    add(`EventBridge may put undeliverable events in ${c.name}'s delivery dead-letter queue from ${c.name}'s rule`, 'Allowed', {
      principal: 'events.amazonaws.com',
      action: 'sqs:SendMessage',
      resource: c.deliveryDeadLetterQueue,
      context: fromRule(c.rule),
    });
    if (other) {
      add(`EventBridge may not deliver to ${c.name}'s queue from ${other.name}'s rule`, 'Denied', {
        principal: 'events.amazonaws.com',
        action: 'sqs:SendMessage',
        resource: c.queue,
        context: fromRule(other.rule),
      });
      add(`EventBridge may not put ${other.name}'s failures in ${c.name}'s delivery dead-letter queue`, 'Denied', {
        principal: 'events.amazonaws.com',
        action: 'sqs:SendMessage',
        resource: c.deliveryDeadLetterQueue,
        context: fromRule(other.rule),
      });
    }
    add(`EventBridge may not deliver to ${c.name}'s queue from a rule in another account`, 'Denied', {
      principal: 'events.amazonaws.com',
      action: 'sqs:SendMessage',
      resource: c.queue,
      context: { 'aws:SourceArn': c.rule.replace(`:${account}:`, `:${UNLISTED_ACCOUNT}:`), 'aws:SourceAccount': UNLISTED_ACCOUNT },
    });
    add(`EventBridge may not receive from ${c.name}'s queue`, 'Denied', {
      principal: 'events.amazonaws.com',
      action: 'sqs:ReceiveMessage',
      resource: c.queue,
      context: fromRule(c.rule),
    });
    add(`EventBridge may not receive from ${c.name}'s delivery dead-letter queue`, 'Denied', {
      principal: 'events.amazonaws.com',
      action: 'sqs:ReceiveMessage',
      resource: c.deliveryDeadLetterQueue,
      context: fromRule(c.rule),
    });
    add(`EventBridge may not write to ${c.name}'s redrive dead-letter queue, which only SQS redrive fills`, 'Denied', {
      principal: 'events.amazonaws.com',
      action: 'sqs:SendMessage',
      resource: c.deadLetterQueue,
      context: fromRule(c.rule),
    });
  }
  add('EventBridge may put events the bus could not process in the bus dead-letter queue', 'Allowed', {
    principal: 'events.amazonaws.com',
    action: 'sqs:SendMessage',
    resource: t.busDeadLetterQueue,
    context: { 'aws:SourceArn': t.busArn, 'aws:SourceAccount': account },
  });
  add('EventBridge may not receive from the bus dead-letter queue', 'Denied', {
    principal: 'events.amazonaws.com',
    action: 'sqs:ReceiveMessage',
    resource: t.busDeadLetterQueue,
    context: { 'aws:SourceArn': t.busArn, 'aws:SourceAccount': account },
  });
  if (consumers[0]) {
    add('a rule may not write to the bus dead-letter queue', 'Denied', {
      principal: 'events.amazonaws.com',
      action: 'sqs:SendMessage',
      resource: t.busDeadLetterQueue,
      context: { 'aws:SourceArn': consumers[0].rule, 'aws:SourceAccount': account },
    });
  }
  for (const q of t.queues) {
    add(`${q.split(':').pop()} refuses requests without TLS, even from an administrator`, 'ExplicitlyDenied', {
      principal: unlistedRole,
      action: 'sqs:ReceiveMessage',
      resource: q,
      identityPolicies: [ADMIN],
      context: { 'aws:SecureTransport': 'false' },
    });
  }

  // ---- The key: consumers use it through SQS and DynamoDB; services only for their resource. ----
  const otherKey = inAccount('kms:key/00000000-0000-0000-0000-000000000000');
  // Another key of the account with the default key policy, which delegates to IAM policies.
  const defaultKeyPolicy: PolicyDocument = {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:${partition}:iam::${account}:root` }, Action: 'kms:*', Resource: '*' }],
  };
  for (const c of consumers) {
    const others = consumers.filter((x) => x !== c);
    add(`${c.name}'s role may decrypt its queue's messages with the project key through SQS`, 'Allowed', {
      principal: c.role,
      action: 'kms:Decrypt',
      resource: c.key,
      context: { 'kms:ViaService': sqsVia, 'kms:EncryptionContext:aws:sqs:arn': c.queue },
    });
    add(`${c.name}'s role may encrypt its table items with the project key through DynamoDB`, 'Allowed', {
      principal: c.role,
      action: 'kms:GenerateDataKey',
      resource: c.key,
      context: { 'kms:ViaService': dynamodbVia, 'kms:EncryptionContext:aws:dynamodb:tableName': c.tables[0].split('/').pop() as string },
    });
    add(`${c.name}'s role may not decrypt with a key other than the project key`, 'Denied', {
      principal: c.role,
      action: 'kms:Decrypt',
      resource: otherKey,
      context: { 'kms:ViaService': sqsVia, 'kms:EncryptionContext:aws:sqs:arn': c.queue },
      outsidePolicy: defaultKeyPolicy,
    });
    add(`${c.name}'s role may not create grants on the key, even through DynamoDB`, 'Denied', {
      principal: c.role,
      action: 'kms:CreateGrant',
      resource: c.key,
      context: { 'kms:ViaService': dynamodbVia },
    });
    add(`${c.name}'s role may not call KMS Decrypt directly, outside SQS and DynamoDB`, 'Denied', {
      principal: c.role,
      action: 'kms:Decrypt',
      resource: c.key,
    });
    add(`${c.name}'s role may not generate data keys directly, outside SQS and DynamoDB`, 'Denied', {
      principal: c.role,
      action: 'kms:GenerateDataKey',
      resource: c.key,
    });
    const ownTable = c.tables[0].split('/').pop() as string;
    const viaDynamoDb = { 'kms:ViaService': dynamodbVia, 'kms:EncryptionContext:aws:dynamodb:tableName': ownTable };
    const forDeadLetters = { 'kms:ViaService': sqsVia, 'kms:EncryptionContext:aws:sqs:arn': c.deadLetterQueue };
    add(`${c.name}'s role may encrypt for its dead-letter queue through SQS, when a message moves there`, 'Allowed', {
      principal: c.role,
      action: 'kms:GenerateDataKey',
      resource: c.key,
      context: forDeadLetters,
    });
    add(`${c.name}'s role may not decrypt its dead-letter queue's messages`, 'Denied', {
      principal: c.role,
      action: 'kms:Decrypt',
      resource: c.key,
      context: forDeadLetters,
    });
    add(`${c.name}'s role may not encrypt for its own buffer queue, which only its rule writes to`, 'Denied', {
      principal: c.role,
      action: 'kms:GenerateDataKey',
      resource: c.key,
      context: { 'kms:ViaService': sqsVia, 'kms:EncryptionContext:aws:sqs:arn': c.queue },
    });
    add(`${c.name}'s role may not generate data keys for its dead-letter queue with another key`, 'Denied', {
      principal: c.role,
      action: 'kms:GenerateDataKey',
      resource: otherKey,
      context: forDeadLetters,
      outsidePolicy: defaultKeyPolicy,
    });
    add(`${c.name}'s role may not generate data keys for its tables with another key`, 'Denied', {
      principal: c.role,
      action: 'kms:GenerateDataKey',
      resource: otherKey,
      context: viaDynamoDb,
      outsidePolicy: defaultKeyPolicy,
    });
    add(`${c.name}'s role may not re-encrypt its table items under another key`, 'Denied', {
      principal: c.role,
      action: 'kms:ReEncryptFrom',
      resource: c.key,
      context: viaDynamoDb,
    });
    add(`${c.name}'s role may not describe the key directly, outside DynamoDB`, 'Denied', {
      principal: c.role,
      action: 'kms:DescribeKey',
      resource: c.key,
    });
    add(`${c.name}'s role may not describe another key, even through DynamoDB`, 'Denied', {
      principal: c.role,
      action: 'kms:DescribeKey',
      resource: otherKey,
      context: { 'kms:ViaService': dynamodbVia },
      outsidePolicy: defaultKeyPolicy,
    });
    if (others[0]) {
      add(`${c.name}'s role may not decrypt ${others[0].name}'s table items`, 'Denied', {
        principal: c.role,
        action: 'kms:Decrypt',
        resource: c.key,
        context: {
          'kms:ViaService': dynamodbVia,
          'kms:EncryptionContext:aws:dynamodb:tableName': others[0].tables[0].split('/').pop() as string,
        },
      });
      add(`${c.name}'s role may not decrypt messages of ${others[0].name}'s queue`, 'Denied', {
        principal: c.role,
        action: 'kms:Decrypt',
        resource: c.key,
        context: { 'kms:ViaService': sqsVia, 'kms:EncryptionContext:aws:sqs:arn': others[0].queue },
      });
    }
    if (others[0]) {
      add(`${c.name}'s role may not use ${others[0].name}'s key, even through SQS for its own queue`, 'Denied', {
        principal: c.role,
        action: 'kms:Decrypt',
        resource: others[0].key,
        context: { 'kms:ViaService': sqsVia, 'kms:EncryptionContext:aws:sqs:arn': c.queue },
      });
    }
    add(`${c.name}'s role may not change the key policy`, 'Denied', { principal: c.role, action: 'kms:PutKeyPolicy', resource: c.key });

    // The backup vault's key: the backup role through AWS Backup, nobody else (lib/backup.ts).
    const backupVia = { 'kms:ViaService': `backup.${region}.amazonaws.com` };
    add(`${c.name}'s backup role may encrypt recovery points with the vault key through AWS Backup`, 'Allowed', {
      principal: c.backupRole,
      action: 'kms:GenerateDataKey',
      resource: c.backupKey,
      context: backupVia,
    });
    add(`${c.name}'s backup role may not use the vault key directly, outside AWS Backup`, 'Denied', {
      principal: c.backupRole,
      action: 'kms:Decrypt',
      resource: c.backupKey,
    });
    add(`${c.name}'s backup role may create grants on the vault key for AWS Backup's resources`, 'Allowed', {
      principal: c.backupRole,
      action: 'kms:CreateGrant',
      resource: c.backupKey,
      context: { ...backupVia, 'kms:GrantIsForAWSResource': 'true' },
    });
    add(`${c.name}'s backup role may not create grants on the vault key outside AWS Backup`, 'Denied', {
      principal: c.backupRole,
      action: 'kms:CreateGrant',
      resource: c.backupKey,
      context: { 'kms:GrantIsForAWSResource': 'true' },
    });
    add(`${c.name}'s backup role may not change the vault key's policy, even through AWS Backup`, 'Denied', {
      principal: c.backupRole,
      action: 'kms:PutKeyPolicy',
      resource: c.backupKey,
      context: backupVia,
    });
    add(`${c.name}'s backup role may not revoke grants on the vault key, even through AWS Backup`, 'Denied', {
      principal: c.backupRole,
      action: 'kms:RevokeGrant',
      resource: c.backupKey,
      context: { ...backupVia, 'kms:GrantIsForAWSResource': 'true' },
    });
    add(`${c.name}'s role may not decrypt recovery points with the vault key, even through AWS Backup`, 'Denied', {
      principal: c.role,
      action: 'kms:Decrypt',
      resource: c.backupKey,
      context: backupVia,
    });
    add(`${c.name}'s role may not create grants on the vault key, even through AWS Backup`, 'Denied', {
      principal: c.role,
      action: 'kms:CreateGrant',
      resource: c.backupKey,
      context: { ...backupVia, 'kms:GrantIsForAWSResource': 'true' },
    });

    const ruleSource = { 'aws:SourceArn': c.rule, 'aws:SourceAccount': account };
    add(`EventBridge may encrypt for ${c.name}'s queue when ${c.name}'s rule delivers`, 'Allowed', {
      principal: 'events.amazonaws.com',
      action: 'kms:GenerateDataKey',
      resource: c.key,
      context: { ...ruleSource, 'kms:EncryptionContext:aws:sqs:arn': c.queue },
    });
    add(`EventBridge may encrypt for ${c.name}'s delivery dead-letter queue when ${c.name}'s rule gives up`, 'Allowed', {
      principal: 'events.amazonaws.com',
      action: 'kms:GenerateDataKey',
      resource: c.key,
      context: { ...ruleSource, 'kms:EncryptionContext:aws:sqs:arn': c.deliveryDeadLetterQueue },
    });
    add(`EventBridge may not re-encrypt ${c.name}'s queue data under another key`, 'Denied', {
      principal: 'events.amazonaws.com',
      action: 'kms:ReEncryptFrom',
      resource: c.key,
      context: { ...ruleSource, 'kms:EncryptionContext:aws:sqs:arn': c.queue },
    });
    add(`EventBridge may not create grants on the key for ${c.name}'s queue`, 'Denied', {
      principal: 'events.amazonaws.com',
      action: 'kms:CreateGrant',
      resource: c.key,
      context: { ...ruleSource, 'kms:EncryptionContext:aws:sqs:arn': c.queue },
    });
    if (others[0]) {
      add(`EventBridge may not encrypt for ${c.name}'s queue on behalf of ${others[0].name}'s rule`, 'Denied', {
        principal: 'events.amazonaws.com',
        action: 'kms:GenerateDataKey',
        resource: c.key,
        context: { 'aws:SourceArn': others[0].rule, 'aws:SourceAccount': account, 'kms:EncryptionContext:aws:sqs:arn': c.queue },
      });
    }
    add(`EventBridge may not use the key for a queue outside the stack, even from ${c.name}'s rule`, 'Denied', {
      principal: 'events.amazonaws.com',
      action: 'kms:GenerateDataKey',
      resource: c.key,
      context: { ...ruleSource, 'kms:EncryptionContext:aws:sqs:arn': inAccount('sqs:someone-elses-queue') },
    });
    const logGroup = c.logStream.replace(/:log-stream:.*$/, '');
    add(`CloudWatch Logs may encrypt ${c.name}'s log group with the key`, 'Allowed', {
      principal: `logs.${region}.amazonaws.com`,
      action: 'kms:GenerateDataKey',
      resource: c.key,
      context: { 'kms:EncryptionContext:aws:logs:arn': logGroup },
    });
    add(`CloudWatch Logs may not create grants on the key for ${c.name}'s log group`, 'Denied', {
      principal: `logs.${region}.amazonaws.com`,
      action: 'kms:CreateGrant',
      resource: c.key,
      context: { 'kms:EncryptionContext:aws:logs:arn': logGroup },
    });
    add(`CloudWatch Logs may not use ${c.name}'s key for a log group outside its stack`, 'Denied', {
      principal: `logs.${region}.amazonaws.com`,
      action: 'kms:GenerateDataKey',
      resource: c.key,
      context: { 'kms:EncryptionContext:aws:logs:arn': inAccount('logs:log-group:someone-elses-group') },
    });
    // The key policy admits the consumer's role by name: a role of the account without any KMS
    // permission of its own must get nothing from it.
    const bare = `arn:${partition}:iam::${account}:role/no-kms-permissions`;
    const tableName = (c.tables[0] ?? '').split('/').pop() as string;
    add(`a role without KMS permissions may not decrypt ${c.name}'s queue through SQS with its key`, 'Denied', {
      principal: bare,
      action: 'kms:Decrypt',
      resource: c.key,
      context: { 'kms:ViaService': sqsVia, 'kms:EncryptionContext:aws:sqs:arn': c.queue },
    });
    add(`a role without KMS permissions may not encrypt for ${c.name}'s dead-letter queue with its key`, 'Denied', {
      principal: bare,
      action: 'kms:GenerateDataKey',
      resource: c.key,
      context: { 'kms:ViaService': sqsVia, 'kms:EncryptionContext:aws:sqs:arn': c.deadLetterQueue },
    });
    add(`a role without KMS permissions may not decrypt ${c.name}'s table items with its key`, 'Denied', {
      principal: bare,
      action: 'kms:Decrypt',
      resource: c.key,
      context: { 'kms:ViaService': dynamodbVia, 'kms:EncryptionContext:aws:dynamodb:tableName': tableName },
    });
    add(`a role without KMS permissions may not describe ${c.name}'s key through DynamoDB`, 'Denied', {
      principal: bare,
      action: 'kms:DescribeKey',
      resource: c.key,
      context: { 'kms:ViaService': dynamodbVia },
    });
  }
  const outsider = `arn:${partition}:iam::${UNLISTED_ACCOUNT}:role/admin`;
  for (const c of consumers) {
    add(`a role in another account may not use the key with ${c.name}'s log group as encryption context`, 'Denied', {
      principal: outsider,
      action: 'kms:GenerateDataKey',
      resource: c.key,
      identityPolicies: [ADMIN],
      context: { 'kms:EncryptionContext:aws:logs:arn': c.logStream.replace(/:log-stream:.*$/, '') },
    });
  }
  add('a role in another account may not describe the key', 'Denied', {
    principal: outsider,
    action: 'kms:DescribeKey',
    resource: t.keyArn,
    identityPolicies: [ADMIN],
  });
  add("a role in another account may not decrypt with the bus's encryption context", 'Denied', {
    principal: outsider,
    action: 'kms:Decrypt',
    resource: t.keyArn,
    identityPolicies: [ADMIN],
    context: { 'kms:EncryptionContext:aws:events:event-bus:arn': t.busArn },
  });
  for (const [name, key] of [['the bus key', t.keyArn], ...(t.auditKey ? [['the audit key', t.auditKey]] : [])] as const) {
    add(`CloudWatch Logs may not use ${name} for a log group outside the stack`, 'Denied', {
      principal: `logs.${region}.amazonaws.com`,
      action: 'kms:GenerateDataKey',
      resource: key,
      context: { 'kms:EncryptionContext:aws:logs:arn': inAccount('logs:log-group:/aws/lambda/someone-else') },
    });
  }
  add('CloudWatch Logs may not use the alarm key for any log group', 'Denied', {
    principal: `logs.${region}.amazonaws.com`,
    action: 'kms:GenerateDataKey',
    resource: t.alarmKey,
    context: { 'kms:EncryptionContext:aws:logs:arn': inAccount('logs:log-group:/aws/lambda/someone-else') },
  });
  const busContext = (bus: string) => ({
    'aws:SourceArn': bus,
    'aws:SourceAccount': account,
    'kms:EncryptionContext:aws:events:event-bus:arn': bus,
  });
  add('EventBridge may encrypt events of the bus with the key', 'Allowed', {
    principal: 'events.amazonaws.com',
    action: 'kms:GenerateDataKey',
    resource: t.keyArn,
    context: busContext(t.busArn),
  });
  add('EventBridge may decrypt events of the bus with the key', 'Allowed', {
    principal: 'events.amazonaws.com',
    action: 'kms:Decrypt',
    resource: t.keyArn,
    context: busContext(t.busArn),
  });
  add('EventBridge may not decrypt with the key for another bus', 'Denied', {
    principal: 'events.amazonaws.com',
    action: 'kms:Decrypt',
    resource: t.keyArn,
    context: busContext(otherBus),
  });
  add('EventBridge may not encrypt with the key for another bus', 'Denied', {
    principal: 'events.amazonaws.com',
    action: 'kms:GenerateDataKey',
    resource: t.keyArn,
    context: busContext(otherBus),
  });
  add('EventBridge may not re-encrypt data under the key for another bus', 'Denied', {
    principal: 'events.amazonaws.com',
    action: 'kms:ReEncryptFrom',
    resource: t.keyArn,
    context: busContext(otherBus),
  });
  add('EventBridge may not create grants on the key for the bus', 'Denied', {
    principal: 'events.amazonaws.com',
    action: 'kms:CreateGrant',
    resource: t.keyArn,
    context: busContext(t.busArn),
  });
  add('EventBridge may not manage the key', 'Denied', {
    principal: 'events.amazonaws.com',
    action: 'kms:ScheduleKeyDeletion',
    resource: t.keyArn,
    context: { 'aws:SourceArn': t.busArn, 'aws:SourceAccount': account },
  });
  if (t.trail && t.auditKey) {
    const auditKey = t.auditKey;
    const trailCtx = (trail: string) => ({ 'aws:SourceArn': trail, 'kms:EncryptionContext:aws:cloudtrail:arn': trail });
    add("CloudTrail may encrypt the stack trail's log files with the key", 'Allowed', {
      principal: 'cloudtrail.amazonaws.com',
      action: 'kms:GenerateDataKey',
      resource: auditKey,
      context: trailCtx(t.trail.arn),
    });
    add("CloudTrail may not encrypt another trail's log files with the key", 'Denied', {
      principal: 'cloudtrail.amazonaws.com',
      action: 'kms:GenerateDataKey',
      resource: auditKey,
      context: trailCtx(inAccount('cloudtrail:trail/someone-elses-trail')),
    });
    add('CloudTrail may not decrypt with the key', 'Denied', {
      principal: 'cloudtrail.amazonaws.com',
      action: 'kms:Decrypt',
      resource: auditKey,
      context: trailCtx(t.trail.arn),
    });
    add('CloudTrail may describe the key for the stack trail', 'Allowed', {
      principal: 'cloudtrail.amazonaws.com',
      action: 'kms:DescribeKey',
      resource: auditKey,
      context: { 'aws:SourceArn': t.trail.arn },
    });
    add('CloudTrail may not describe the key for another trail', 'Denied', {
      principal: 'cloudtrail.amazonaws.com',
      action: 'kms:DescribeKey',
      resource: auditKey,
      context: { 'aws:SourceArn': inAccount('cloudtrail:trail/someone-elses-trail') },
    });
    const trailLogGroup = t.trail.logStream.replace(/:log-stream:.*$/, '');
    add("CloudWatch Logs may encrypt the trail's log group with the key", 'Allowed', {
      principal: `logs.${region}.amazonaws.com`,
      action: 'kms:GenerateDataKey',
      resource: auditKey,
      context: { 'kms:EncryptionContext:aws:logs:arn': trailLogGroup },
    });
    add("CloudWatch Logs may not create grants on the key for the trail's log group", 'Denied', {
      principal: `logs.${region}.amazonaws.com`,
      action: 'kms:CreateGrant',
      resource: auditKey,
      context: { 'kms:EncryptionContext:aws:logs:arn': trailLogGroup },
    });
    add("a role in another account may not use the key with the trail's log group as encryption context", 'Denied', {
      principal: `arn:${partition}:iam::${UNLISTED_ACCOUNT}:role/admin`,
      action: 'kms:GenerateDataKey',
      resource: auditKey,
      identityPolicies: [ADMIN],
      context: { 'kms:EncryptionContext:aws:logs:arn': trailLogGroup },
    });
    add("the trail's log role may write to the trail's log group", 'Allowed', {
      principal: t.trail.role,
      action: 'logs:PutLogEvents',
      resource: t.trail.logStream,
    });
    if (consumers[0]) {
      add(`the trail's log role may not write to ${consumers[0].name}'s log group`, 'Denied', {
        principal: t.trail.role,
        action: 'logs:PutLogEvents',
        resource: consumers[0].logStream,
      });
    }
    add("the trail's log role may not delete log groups", 'Denied', {
      principal: t.trail.role,
      action: 'logs:DeleteLogGroup',
      resource: t.trail.logStream.replace(/:log-stream:.*$/, ':*'),
    });
  }
  if (t.alarmTopic) {
    const alarmCtx = (topic: string) => ({
      'aws:SourceArn': inAccount('cloudwatch:alarm:some-alarm'),
      'aws:SourceAccount': account,
      'kms:EncryptionContext:aws:sns:topicArn': topic,
    });
    add('CloudWatch alarms may encrypt notifications for the alarm topic', 'Allowed', {
      principal: 'cloudwatch.amazonaws.com',
      action: 'kms:GenerateDataKey',
      resource: t.alarmKey,
      context: alarmCtx(t.alarmTopic),
    });
    add('CloudWatch alarms may not use the key for another topic', 'Denied', {
      principal: 'cloudwatch.amazonaws.com',
      action: 'kms:GenerateDataKey',
      resource: t.alarmKey,
      context: alarmCtx(inAccount('sns:someone-elses-topic')),
    });
    // Anyone can pass an encryption context to KMS: only the principal keeps this grant CloudWatch's.
    add("an account role without key permissions may not use the key with the alarm topic's encryption context", 'Denied', {
      principal: unlistedRole,
      action: 'kms:GenerateDataKey',
      resource: t.alarmKey,
      context: { 'kms:EncryptionContext:aws:sns:topicArn': t.alarmTopic },
    });
    add('CloudWatch alarms may not create grants on the key for the alarm topic', 'Denied', {
      principal: 'cloudwatch.amazonaws.com',
      action: 'kms:CreateGrant',
      resource: t.alarmKey,
      context: alarmCtx(t.alarmTopic),
    });
  }

  // ---- Tables, logs and tracing of each consumer. ----
  for (const c of consumers) {
    for (const table of c.tables) {
      const tableName = table.split('/').pop();
      add(`${c.name}'s role may write its table ${tableName}`, 'Allowed', {
        principal: c.role,
        action: 'dynamodb:PutItem',
        resource: table,
      });
      add(`${c.name}'s role may read its table ${tableName}`, 'Allowed', {
        principal: c.role,
        action: 'dynamodb:GetItem',
        resource: table,
      });
      add(`${c.name}'s role may not scan its table ${tableName}`, 'Denied', {
        principal: c.role,
        action: 'dynamodb:Scan',
        resource: table,
      });
      add(`${c.name}'s role may not delete its table ${tableName}`, 'Denied', {
        principal: c.role,
        action: 'dynamodb:DeleteTable',
        resource: table,
      });
    }
    for (const o of consumers.filter((x) => x !== c)) {
      for (const table of o.tables) {
        add(`${c.name}'s role may not write ${o.name}'s table ${table.split('/').pop()}`, 'Denied', {
          principal: c.role,
          action: 'dynamodb:PutItem',
          resource: table,
        });
        add(`${c.name}'s role may not read ${o.name}'s table ${table.split('/').pop()}`, 'Denied', {
          principal: c.role,
          action: 'dynamodb:GetItem',
          resource: table,
        });
      }
      add(`${c.name}'s role may not write to ${o.name}'s log group`, 'Denied', {
        principal: c.role,
        action: 'logs:PutLogEvents',
        resource: o.logStream,
      });
    }
    add(`${c.name}'s role may write to its own log group`, 'Allowed', {
      principal: c.role,
      action: 'logs:PutLogEvents',
      resource: c.logStream,
    });
    add(`${c.name}'s role may not delete its own log group`, 'Denied', {
      principal: c.role,
      action: 'logs:DeleteLogGroup',
      resource: c.logStream.replace(/:log-stream:.*$/, ':*'),
    });
    add(`${c.name}'s role may send traces to X-Ray`, 'Allowed', { principal: c.role, action: 'xray:PutTraceSegments', resource: '*' });
    add(`${c.name}'s role may not change X-Ray sampling rules`, 'Denied', {
      principal: c.role,
      action: 'xray:UpdateSamplingRule',
      resource: inAccount('xray:sampling-rule/Default'),
    });
  }
  cases.push(...keyCases(t), ...trustCases(t), ...managementCases(t));
  return cases;
}

function publishesOf(t: Topology, name: string): readonly EventDefinition[] {
  const p = t.catalog.publishers.find((x) => x.name === name) ?? t.catalog.consumers.find((x) => x.name === name);
  if (!p) throw new Error(`No publisher or consumer '${name}' in the catalog`);
  return p.publishes;
}
