/**
 * Matrix rows for the key layout (who administers and who uses each key, and that the alarm
 * topic's key is not a data key), for publisher-role trust, and for the management of the bus.
 * Expectations come from the design (issue 12): administrators manage and never use keys, the
 * deployment roles use them only through the services a key serves, nobody else gets anything.
 */
// From iam/ and sdk/ rather than lib/, whose modules load the CDK.
import { BUS_MANAGEMENT_ACTIONS, RULE_MANAGEMENT_ACTIONS } from '../../../iam/store';
import { PUBLISHER_TAG_KEY } from '../../../sdk/catalog/app';
import { Expectation, MatrixCase } from './matrix';
import { PolicyDocument } from './policies';
import { AccessRequest } from './simulate';
import { Topology, UNLISTED_ACCOUNT } from './stack';

const allow = (action: string | string[], resource: string | string[] = '*'): PolicyDocument => ({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: action, Resource: resource }],
});
const ADMIN = allow('*');

interface KeyUnderTest {
  readonly name: string;
  readonly arn: string;
  /** A service the key serves (its deployment roles use it through that service). */
  readonly service: string;
  /** Whether it protects events or their contents (as opposed to the alarm topic). */
  readonly data: boolean;
}

function keysOf(t: Topology): KeyUnderTest[] {
  return [
    { name: 'the bus key', arn: t.keyArn, service: 'events', data: true },
    { name: 'the bus dead-letter key', arn: t.deadLetterKey, service: 'sqs', data: true },
    { name: 'the alarm key', arn: t.alarmKey, service: 'sns', data: false },
    ...(t.auditKey ? [{ name: 'the audit key', arn: t.auditKey, service: 'cloudtrail', data: true }] : []),
    ...Object.values(t.consumers).map((c) => ({ name: `${c.name}'s key`, arn: c.key, service: 'dynamodb', data: true })),
    ...Object.values(t.consumers).map((c) => ({ name: `${c.name}'s backup key`, arn: c.backupKey, service: 'backup', data: true })),
  ];
}

function builder(): [MatrixCase[], (name: string, expect: Expectation, request: AccessRequest) => void] {
  const cases: MatrixCase[] = [];
  return [cases, (name, expect, request) => cases.push({ name, expect, request })];
}

export function keyCases(t: Topology): MatrixCase[] {
  const { account, region, partition } = t.env;
  const [cases, add] = builder();
  const via = (service: string) => `${service}.${region}.amazonaws.com`;
  const unlistedAdmin = `arn:${partition}:iam::${account}:role/unlisted-admin`;
  const rootUser = `arn:${partition}:iam::${account}:root`;
  const keys = keysOf(t);

  for (const k of keys) {
    // Anyone who is not named: an account administrator gets nothing from IAM alone.
    add(`an account administrator who is not a key administrator may not decrypt with ${k.name}`, 'Denied', {
      principal: unlistedAdmin,
      action: 'kms:Decrypt',
      resource: k.arn,
      identityPolicies: [ADMIN],
    });
    add(`an account administrator who is not a key administrator may not decrypt with ${k.name} through ${k.service}`, 'Denied', {
      principal: unlistedAdmin,
      action: 'kms:Decrypt',
      resource: k.arn,
      identityPolicies: [ADMIN],
      context: { 'kms:ViaService': via(k.service) },
    });
    for (const action of ['kms:PutKeyPolicy', 'kms:DisableKey', 'kms:ScheduleKeyDeletion', 'kms:CreateGrant']) {
      add(`an account administrator who is not a key administrator may not call ${action} on ${k.name}`, 'Denied', {
        principal: unlistedAdmin,
        action,
        resource: k.arn,
        identityPolicies: [ADMIN],
      });
    }
    add(`an administrator in another account may not change the policy of ${k.name}`, 'Denied', {
      principal: `arn:${partition}:iam::${UNLISTED_ACCOUNT}:role/admin`,
      action: 'kms:PutKeyPolicy',
      resource: k.arn,
      identityPolicies: [ADMIN],
    });

    // Key administrators manage, never use.
    for (const admin of t.keyAdminArns) {
      for (const action of ['kms:PutKeyPolicy', 'kms:ScheduleKeyDeletion', 'kms:DisableKey', 'kms:EnableKeyRotation', 'kms:RevokeGrant']) {
        add(`the key administrator may call ${action} on ${k.name}`, 'Allowed', {
          principal: admin,
          action,
          resource: k.arn,
          identityPolicies: [ADMIN],
        });
      }
      add(`the key administrator needs an IAM policy as well to change the policy of ${k.name}`, 'Denied', {
        principal: admin,
        action: 'kms:PutKeyPolicy',
        resource: k.arn,
      });
      for (const action of ['kms:Decrypt', 'kms:GenerateDataKey', 'kms:ReEncryptFrom', 'kms:CreateGrant']) {
        add(`the key administrator may not call ${action} on ${k.name}, even through ${k.service}`, 'Denied', {
          principal: admin,
          action,
          resource: k.arn,
          identityPolicies: [ADMIN],
          context: { 'kms:ViaService': via(k.service) },
        });
      }
    }
    add(`the account's root user may change the policy of ${k.name} (break-glass)`, 'Allowed', {
      principal: rootUser,
      action: 'kms:PutKeyPolicy',
      resource: k.arn,
      identityPolicies: [ADMIN],
    });
    add(`the account's root user may not decrypt with ${k.name}`, 'Denied', {
      principal: rootUser,
      action: 'kms:Decrypt',
      resource: k.arn,
      identityPolicies: [ADMIN],
    });

    // The deployment roles: administer, and use the key only through the services it serves.
    for (const deployer of t.deploymentRoleArns) {
      const who = `the deployment role ${deployer.split('/').pop()}`;
      add(`${who} may change the policy of ${k.name}`, 'Allowed', {
        principal: deployer,
        action: 'kms:PutKeyPolicy',
        resource: k.arn,
        identityPolicies: [ADMIN],
      });
      add(`${who} may create a grant on ${k.name} through ${k.service} for an AWS resource`, 'Allowed', {
        principal: deployer,
        action: 'kms:CreateGrant',
        resource: k.arn,
        identityPolicies: [ADMIN],
        context: { 'kms:ViaService': via(k.service), 'kms:GrantIsForAWSResource': 'true' },
      });
      add(`${who} needs an IAM policy as well to create a grant on ${k.name}`, 'Denied', {
        principal: deployer,
        action: 'kms:CreateGrant',
        resource: k.arn,
        context: { 'kms:ViaService': via(k.service), 'kms:GrantIsForAWSResource': 'true' },
      });
      add(`${who} may not create a grant on ${k.name} that is not for an AWS resource`, 'Denied', {
        principal: deployer,
        action: 'kms:CreateGrant',
        resource: k.arn,
        identityPolicies: [ADMIN],
        context: { 'kms:ViaService': via(k.service), 'kms:GrantIsForAWSResource': 'false' },
      });
      add(`${who} may not create a grant on ${k.name} directly`, 'Denied', {
        principal: deployer,
        action: 'kms:CreateGrant',
        resource: k.arn,
        identityPolicies: [ADMIN],
        context: { 'kms:GrantIsForAWSResource': 'true' },
      });
      add(`${who} may encrypt with ${k.name} through ${k.service}`, 'Allowed', {
        principal: deployer,
        action: 'kms:GenerateDataKey',
        resource: k.arn,
        identityPolicies: [ADMIN],
        context: { 'kms:ViaService': via(k.service) },
      });
      add(`${who} needs an IAM policy as well to encrypt with ${k.name} through ${k.service}`, 'Denied', {
        principal: deployer,
        action: 'kms:GenerateDataKey',
        resource: k.arn,
        context: { 'kms:ViaService': via(k.service) },
      });
      add(`${who} may not decrypt with ${k.name} directly`, 'Denied', {
        principal: deployer,
        action: 'kms:Decrypt',
        resource: k.arn,
        identityPolicies: [ADMIN],
      });
      add(`${who} may not decrypt with ${k.name} through a service it does not serve`, 'Denied', {
        principal: deployer,
        action: 'kms:Decrypt',
        resource: k.arn,
        identityPolicies: [ADMIN],
        context: { 'kms:ViaService': via('secretsmanager') },
      });
    }
  }

  // Operators read and redrive dead letters through SQS, and nothing else.
  for (const operator of t.operatorRoleArns) {
    const sqsVia = via('sqs');
    add('the operator may decrypt the bus dead letters through SQS', 'Allowed', {
      principal: operator,
      action: 'kms:Decrypt',
      resource: t.deadLetterKey,
      identityPolicies: [allow('kms:Decrypt')],
      context: { 'kms:ViaService': sqsVia },
    });
    add('the operator needs an IAM policy as well to decrypt the bus dead letters', 'Denied', {
      principal: operator,
      action: 'kms:Decrypt',
      resource: t.deadLetterKey,
      context: { 'kms:ViaService': sqsVia },
    });
    add('the operator may not re-encrypt the bus dead letters under another key, even through SQS', 'Denied', {
      principal: operator,
      action: 'kms:ReEncryptFrom',
      resource: t.deadLetterKey,
      identityPolicies: [ADMIN],
      context: { 'kms:ViaService': sqsVia },
    });
    add('the operator may not decrypt with the bus dead-letter key directly', 'Denied', {
      principal: operator,
      action: 'kms:Decrypt',
      resource: t.deadLetterKey,
      identityPolicies: [ADMIN],
    });
    add('the operator may not decrypt events of the bus', 'Denied', {
      principal: operator,
      action: 'kms:Decrypt',
      resource: t.keyArn,
      identityPolicies: [ADMIN],
      context: { 'kms:EncryptionContext:aws:events:event-bus:arn': t.busArn },
    });
    const consumers = Object.values(t.consumers);
    for (const c of consumers) {
      add(`the operator may decrypt ${c.name}'s dead letters through SQS`, 'Allowed', {
        principal: operator,
        action: 'kms:Decrypt',
        resource: c.key,
        identityPolicies: [allow('kms:Decrypt')],
        context: { 'kms:ViaService': sqsVia, 'kms:EncryptionContext:aws:sqs:arn': c.deadLetterQueue },
      });
      add(`the operator may encrypt for ${c.name}'s buffer queue through SQS, to redrive`, 'Allowed', {
        principal: operator,
        action: 'kms:GenerateDataKey',
        resource: c.key,
        identityPolicies: [allow('kms:GenerateDataKey')],
        context: { 'kms:ViaService': sqsVia, 'kms:EncryptionContext:aws:sqs:arn': c.queue },
      });
      add(`the operator needs an IAM policy as well to decrypt ${c.name}'s dead letters`, 'Denied', {
        principal: operator,
        action: 'kms:Decrypt',
        resource: c.key,
        context: { 'kms:ViaService': sqsVia, 'kms:EncryptionContext:aws:sqs:arn': c.deadLetterQueue },
      });
      add(`the operator may not re-encrypt ${c.name}'s dead letters under another key, even through SQS`, 'Denied', {
        principal: operator,
        action: 'kms:ReEncryptFrom',
        resource: c.key,
        identityPolicies: [ADMIN],
        context: { 'kms:ViaService': sqsVia, 'kms:EncryptionContext:aws:sqs:arn': c.deadLetterQueue },
      });
      add(`the operator may not decrypt ${c.name}'s table items`, 'Denied', {
        principal: operator,
        action: 'kms:Decrypt',
        resource: c.key,
        identityPolicies: [ADMIN],
        context: {
          'kms:ViaService': via('dynamodb'),
          'kms:EncryptionContext:aws:dynamodb:tableName': c.tables[0].split('/').pop() as string,
        },
      });
      const other = consumers.find((x) => x !== c);
      if (other) {
        add(`the operator may not use ${c.name}'s key for ${other.name}'s queue`, 'Denied', {
          principal: operator,
          action: 'kms:Decrypt',
          resource: c.key,
          identityPolicies: [ADMIN],
          context: { 'kms:ViaService': sqsVia, 'kms:EncryptionContext:aws:sqs:arn': other.queue },
        });
      }
    }
  }

  // The bus dead-letter queue's key serves EventBridge for this bus only.
  const busSource = (arn: string) => ({ 'aws:SourceArn': arn, 'aws:SourceAccount': account });
  add('EventBridge may encrypt undeliverable events of the bus for its dead-letter queue', 'Allowed', {
    principal: 'events.amazonaws.com',
    action: 'kms:GenerateDataKey',
    resource: t.deadLetterKey,
    context: busSource(t.busArn),
  });
  add('EventBridge may not use the bus dead-letter key for another bus', 'Denied', {
    principal: 'events.amazonaws.com',
    action: 'kms:GenerateDataKey',
    resource: t.deadLetterKey,
    context: busSource(t.busArn.replace(/event-bus\/.*$/, 'event-bus/some-other-bus')),
  });
  const firstConsumer = Object.values(t.consumers)[0];
  if (firstConsumer) {
    add('EventBridge may not use the bus dead-letter key for a rule', 'Denied', {
      principal: 'events.amazonaws.com',
      action: 'kms:GenerateDataKey',
      resource: t.deadLetterKey,
      context: busSource(firstConsumer.rule),
    });
  }
  add('EventBridge may not create grants on the bus dead-letter key', 'Denied', {
    principal: 'events.amazonaws.com',
    action: 'kms:CreateGrant',
    resource: t.deadLetterKey,
    context: busSource(t.busArn),
  });

  // A data key taken out of service must not silence the alarm that reports it.
  const dataKeys = keys.filter((k) => k.data).map((k) => k.arn);
  const alarmContext = {
    'aws:SourceArn': `arn:${partition}:cloudwatch:${region}:${account}:alarm:BusDeadLetterQueueAlarm`,
    'aws:SourceAccount': account,
    'kms:EncryptionContext:aws:sns:topicArn': t.alarmTopic ?? '',
  };
  if (t.alarmTopic) {
    add('with every data key disabled, CloudWatch alarms may still encrypt notifications for the alarm topic', 'Allowed', {
      principal: 'cloudwatch.amazonaws.com',
      action: 'kms:GenerateDataKey',
      resource: t.alarmKey,
      context: alarmContext,
      disabledKeys: dataKeys,
    });
    add('with the alarm key disabled, CloudWatch alarms may not encrypt notifications (the model of a disabled key)', 'Denied', {
      principal: 'cloudwatch.amazonaws.com',
      action: 'kms:GenerateDataKey',
      resource: t.alarmKey,
      context: alarmContext,
      disabledKeys: [t.alarmKey],
    });
    for (const k of keys.filter((x) => x.data)) {
      add(`CloudWatch alarms may not use ${k.name} for the alarm topic`, 'Denied', {
        principal: 'cloudwatch.amazonaws.com',
        action: 'kms:GenerateDataKey',
        resource: k.arn,
        context: alarmContext,
      });
    }
  }
  add('with the bus key disabled, EventBridge may not encrypt events of the bus', 'Denied', {
    principal: 'events.amazonaws.com',
    action: 'kms:GenerateDataKey',
    resource: t.keyArn,
    context: { ...busSource(t.busArn), 'kms:EncryptionContext:aws:events:event-bus:arn': t.busArn },
    disabledKeys: [t.keyArn],
  });
  add('with the bus key disabled, EventBridge may still encrypt those events for the bus dead-letter queue', 'Allowed', {
    principal: 'events.amazonaws.com',
    action: 'kms:GenerateDataKey',
    resource: t.deadLetterKey,
    context: busSource(t.busArn),
    disabledKeys: [t.keyArn],
  });
  return cases;
}

export function trustCases(t: Topology): MatrixCase[] {
  const { account, partition } = t.env;
  const [cases, add] = builder();
  const tag = `aws:PrincipalTag/${PUBLISHER_TAG_KEY}`;
  const caller = `arn:${partition}:iam::${account}:role/ci-pipeline`;
  const assume = allow('sts:AssumeRole');
  const publishers = t.catalog.publishers.filter((p) => p.account === undefined);
  for (const p of publishers) {
    const role = t.publisherRoles[p.name];
    if (!role) continue;
    const other = publishers.find((x) => x !== p);
    add(`a role of the account tagged ${PUBLISHER_TAG_KEY}=${p.name} may assume ${p.name}'s publisher role`, 'Allowed', {
      principal: caller,
      action: 'sts:AssumeRole',
      resource: role,
      identityPolicies: [assume],
      context: { [tag]: p.name },
    });
    // Session tags become principal tags: passing one is how a principal could claim the publisher tag.
    add(`a role tagged for ${p.name} may not pass session tags when it assumes ${p.name}'s publisher role`, 'Denied', {
      principal: caller,
      action: 'sts:TagSession',
      resource: role,
      identityPolicies: [ADMIN],
      context: { [tag]: p.name },
    });
    add(`an administrator of the account without the publisher tag may not assume ${p.name}'s publisher role`, 'Denied', {
      principal: caller,
      action: 'sts:AssumeRole',
      resource: role,
      identityPolicies: [ADMIN],
    });
    if (other) {
      add(`a role tagged for ${other.name} may not assume ${p.name}'s publisher role`, 'Denied', {
        principal: caller,
        action: 'sts:AssumeRole',
        resource: role,
        identityPolicies: [ADMIN],
        context: { [tag]: other.name },
      });
    }
    add(`a role in another account tagged ${PUBLISHER_TAG_KEY}=${p.name} may not assume ${p.name}'s publisher role`, 'Denied', {
      principal: `arn:${partition}:iam::${UNLISTED_ACCOUNT}:role/ci-pipeline`,
      action: 'sts:AssumeRole',
      resource: role,
      identityPolicies: [ADMIN],
      context: { [tag]: p.name },
    });
  }
  return cases;
}

export function managementCases(t: Topology): MatrixCase[] {
  const { account, region, partition } = t.env;
  const [cases, add] = builder();
  const unlistedAdmin = `arn:${partition}:iam::${account}:role/unlisted-admin`;
  const newRule = `${t.busArn.replace(':event-bus/', ':rule/')}/new-subscription`;
  const events = (resource: string) => `arn:${partition}:events:${region}:${account}:${resource}`;
  // Only the tagging actions: the subscribe actions have their rows in matrix.ts.
  for (const action of RULE_MANAGEMENT_ACTIONS.filter((a) => a.endsWith('TagResource'))) {
    add(`an administrator role that is not a deployment role may not call ${action} on the bus's rules`, 'ExplicitlyDenied', {
      principal: unlistedAdmin,
      action,
      resource: newRule,
      identityPolicies: [ADMIN],
    });
    for (const role of t.deploymentRoleArns) {
      add(`the deployment role ${role.split('/').pop()} may call ${action} on the bus's rules`, 'Allowed', {
        principal: role,
        action,
        resource: newRule,
        identityPolicies: [ADMIN],
      });
    }
  }
  for (const operator of t.operatorRoleArns) {
    for (const action of RULE_MANAGEMENT_ACTIONS) {
      add(`the operator may call ${action} on the bus's rules`, 'Allowed', {
        principal: operator,
        action,
        resource: newRule,
        identityPolicies: [allow('events:*')],
      });
    }
  }
  const target: Record<(typeof BUS_MANAGEMENT_ACTIONS)[number], string> = {
    'events:UpdateEventBus': t.busArn,
    'events:DeleteEventBus': t.busArn,
    // No resource-level permissions: IAM sees "*".
    'events:PutPermission': '*',
    'events:RemovePermission': '*',
    'events:CreateArchive': events('archive/an-archive'),
    'events:UpdateArchive': events('archive/an-archive'),
    'events:DeleteArchive': events('archive/an-archive'),
    'events:StartReplay': events('replay/a-replay'),
    'events:CancelReplay': events('replay/a-replay'),
  };
  const guard = [t.managementGuard];
  for (const action of BUS_MANAGEMENT_ACTIONS) {
    const resource = target[action];
    // The bus policy does not govern these actions: without the guard, IAM alone decides.
    add(`without the management guard, an account administrator may call ${action} (the bus policy does not govern it)`, 'Allowed', {
      principal: unlistedAdmin,
      action,
      resource,
      identityPolicies: [ADMIN],
    });
    add(`under the management guard, an account administrator may not call ${action}`, 'ExplicitlyDenied', {
      principal: unlistedAdmin,
      action,
      resource,
      identityPolicies: [ADMIN],
      serviceControlPolicies: guard,
    });
    for (const role of [...t.deploymentRoleArns, ...t.operatorRoleArns]) {
      add(`under the management guard, ${role.split('/').pop()} may call ${action}`, 'Allowed', {
        principal: role,
        action,
        resource,
        identityPolicies: [ADMIN],
        serviceControlPolicies: guard,
      });
    }
  }
  add('under the management guard, an account administrator may not call events:PutRule on the bus', 'ExplicitlyDenied', {
    principal: unlistedAdmin,
    action: 'events:PutRule',
    resource: newRule,
    identityPolicies: [ADMIN],
    serviceControlPolicies: guard,
    identityPoliciesOnly: true,
  });
  return cases;
}
