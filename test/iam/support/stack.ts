/**
 * Synthesizes the LoanEvents stack once and describes what the authorization matrix needs: the
 * resolved policies, and the concrete ARNs of the bus, key, roles, queues, rules and tables,
 * found through the stack's public properties. This file is the only one that knows the stack's
 * API; when the stack renames something, adapt `describeStack`.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { z } from 'zod';
import { defineCatalog, defineEvent, definePublisher, EventCatalog } from '../../../sdk/catalog';
import { loanCatalog } from '../../../catalog/loans';
import { LoanEventsStack, LoanEventsStackProps } from '../../../lib/loan-events-stack';
import { CfnTemplate, Environment, Resolver, TEST_ENV } from './intrinsics';
import { collectPolicies, PolicyModel } from './policies';

/** The account of the catalog's cross-account publisher, and one that the catalog does not list. */
export const PARTNER_ACCOUNT = '222222222222';
export const UNLISTED_ACCOUNT = '333333333333';

/** An event type published from another account, to exercise the bus policy's cross-account allow. */
export const LoanReferralReceived = defineEvent({
  source: 'com.example.partners.broker',
  detailType: 'LoanReferralReceived',
  version: '1',
  description: 'A broker in a partner account referred an applicant.',
  data: z.object({ referralId: z.string() }),
});

/** The loan catalog plus a publisher in another account. */
export const matrixCatalog: EventCatalog = defineCatalog({
  events: [...loanCatalog.events, LoanReferralReceived],
  publishers: [
    ...loanCatalog.publishers,
    definePublisher({
      name: 'partner-broker',
      description: 'A broker platform in a partner account.',
      publishes: [LoanReferralReceived],
      account: PARTNER_ACCOUNT,
    }),
  ],
  consumers: loanCatalog.consumers,
});

export interface ConsumerResources {
  readonly name: string;
  /** The Lambda execution role. */
  readonly role: string;
  readonly queue: string;
  /** Redrive target of the buffer queue. */
  readonly deadLetterQueue: string;
  /** Where EventBridge puts events it could not deliver to the buffer queue. */
  readonly deliveryDeadLetterQueue: string;
  readonly rule: string;
  /** ARN of a log stream in the function's log group. */
  readonly logStream: string;
  /** The consumer's own DynamoDB tables (idempotency records and, if any, state). */
  readonly tables: string[];
}

export interface Topology {
  readonly env: Environment;
  readonly catalog: EventCatalog;
  readonly template: CfnTemplate;
  readonly policies: PolicyModel;
  readonly busArn: string;
  readonly keyArn: string;
  /** The bus's own dead-letter queue (events it could not encrypt or decrypt). */
  readonly busDeadLetterQueue: string;
  /** Roles of same-account publishers and of consumers that publish, by catalog name. */
  readonly publisherRoles: Record<string, string>;
  readonly consumers: Record<string, ConsumerResources>;
  readonly deploymentRoleArns: string[];
  /** Further roles the stack was told may manage rules (`ruleManagerArns`). */
  readonly ruleManagerArns: string[];
  /** The trail, its log stream and the role CloudTrail writes logs with; absent with an existing trail. */
  readonly trail?: { arn: string; logStream: string; role: string };
  readonly alarmTopic?: string;
  /** Every queue in the stack, for checks that hold for all of them. */
  readonly queues: string[];
}

/** The rule-management actions only deployment roles may call on the bus's rules. */
export const SUBSCRIBE_ACTIONS = [
  'events:PutRule',
  'events:PutTargets',
  'events:RemoveTargets',
  'events:DeleteRule',
  'events:DisableRule',
  'events:EnableRule',
];

export function synthesize(props: LoanEventsStackProps = {}): { stack: LoanEventsStack; template: CfnTemplate } {
  // Skipping bundling keeps synthesis offline and fast; asset contents do not affect policies.
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new LoanEventsStack(app, TEST_ENV.stackName, { catalog: matrixCatalog, ...props });
  return { stack, template: Template.fromStack(stack).toJSON() as CfnTemplate };
}

export function describeStack(
  stack: LoanEventsStack,
  template: CfnTemplate,
  catalog: EventCatalog,
  ruleManagerArns: string[] = [],
  env: Environment = TEST_ENV,
): Topology {
  const r = new Resolver(template, env);
  const arn = (token: string) => r.str(Stack.of(stack).resolve(token));
  const logStream = (logGroupArn: string) => `${logGroupArn.replace(/:\*$/, '')}:log-stream:2026/01/01/[$LATEST]0123456789abcdef`;

  const consumers: Record<string, ConsumerResources> = {};
  for (const c of catalog.consumers) {
    const built = stack.consumers[c.name];
    if (!built) throw new Error(`The stack built no consumer '${c.name}'`);
    consumers[c.name] = {
      name: c.name,
      role: arn(built.role.roleArn),
      queue: arn(built.queue.queueArn),
      deadLetterQueue: arn(built.deadLetterQueue.queueArn),
      deliveryDeadLetterQueue: arn(built.deliveryDeadLetterQueue.queueArn),
      rule: arn(built.rule.ruleArn),
      logStream: logStream(arn(built.logGroup.logGroupArn)),
      tables: [built.idempotencyTable, ...(built.stateTable ? [built.stateTable] : [])].map((t) => arn(t.tableArn)),
    };
  }
  const publisherRoles: Record<string, string> = {};
  for (const p of catalog.publishers.filter((p) => p.account === undefined)) {
    const role = stack.router.publisherRoles[p.name];
    if (!role) throw new Error(`The stack built no publisher role for '${p.name}'`);
    publisherRoles[p.name] = arn(role.roleArn);
  }
  for (const c of catalog.consumers.filter((c) => c.publishes.length > 0)) publisherRoles[c.name] = consumers[c.name].role;

  let trail: Topology['trail'];
  if (stack.audit) {
    // CloudTrail's log-delivery role is internal to the Trail construct: find it by its trust policy.
    const trailRoles = r
      .ofType('AWS::IAM::Role')
      .filter((id) => JSON.stringify(template.Resources[id].Properties?.AssumeRolePolicyDocument).includes('cloudtrail.amazonaws.com'));
    if (trailRoles.length !== 1) throw new Error(`Expected one role trusted by CloudTrail, found ${trailRoles.length}`);
    trail = {
      arn: arn(stack.audit.trailArn),
      logStream: logStream(arn(stack.audit.logGroup.logGroupArn)),
      role: r.getAtt(trailRoles[0], 'Arn'),
    };
  }

  const busDeadLetterQueue = arn(stack.router.deadLetterQueue.queueArn);
  return {
    env,
    catalog,
    template,
    policies: collectPolicies(template, env),
    busArn: arn(stack.router.eventBusArn),
    keyArn: arn(stack.router.encryptionKey.keyArn),
    busDeadLetterQueue,
    publisherRoles,
    consumers,
    deploymentRoleArns: stack.deploymentRoleArns.map(arn),
    ruleManagerArns,
    trail,
    alarmTopic: stack.observability ? arn(stack.observability.alarmTopic.topicArn) : undefined,
    queues: [busDeadLetterQueue, ...Object.values(consumers).flatMap((c) => [c.queue, c.deadLetterQueue, c.deliveryDeadLetterQueue])],
  };
}

/** Synthesizes a stack (by default from the matrix catalog) and describes it. */
export function loadTopology(props: LoanEventsStackProps = {}): Topology {
  const { stack, template } = synthesize(props);
  return describeStack(stack, template, props.catalog ?? matrixCatalog, props.ruleManagerArns ?? []);
}
