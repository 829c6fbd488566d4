/**
 * The event bus's resource policy: who may publish and who may subscribe. Its size does not grow
 * with the number of same-account publishers or consumers: those are recognised by the naming
 * policy of the app definition (one `ArnNotLike` pattern each), and what each may publish is held
 * by its own IAM policy and permissions boundary (see `publishBoundary`). Only publishers in
 * other accounts add statements, because their account's policies are outside this app's control.
 */
import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { EventDefinition } from '../sdk/catalog';
import { pascalCase } from './defaults';
import { BUS_MANAGEMENT_ACTIONS, RULE_MANAGEMENT_ACTIONS, SUBSCRIBE_ACTIONS } from '../iam/store';

// What a subscription is, in IAM terms, is shared with the runtime and the CLI's access command;
// the management actions live beside it, so that reading them does not load the CDK.
export { BUS_MANAGEMENT_ACTIONS, RULE_MANAGEMENT_ACTIONS, SUBSCRIBE_ACTIONS };

/** Default EventBridge quota for the size of a bus policy, in characters (adjustable). */
export const DEFAULT_BUS_POLICY_SIZE_LIMIT = 10240;

/**
 * Conditions on `events:source` and `events:detail-type` that allow exactly `detailTypes` of
 * `source`.
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
export function allowEventsCondition(source: string, detailTypes: readonly string[]): Record<string, Record<string, unknown>> {
  return {
    'ForAllValues:StringEquals': { 'events:source': source, 'events:detail-type': [...detailTypes] },
    Null: { 'events:source': 'false', 'events:detail-type': 'false' },
  };
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

/** One `events:PutEvents` statement per source of `events`, allowing exactly those events on `busArn`. */
export function publishStatements(busArn: string, events: readonly EventDefinition[], sidPrefix = 'PutEvents'): iam.PolicyStatement[] {
  // Sids must be unique in a policy; the index keeps `a.b-c` and `a.b.c` apart.
  return [...bySource(events)].map(
    ([source, detailTypes], i) =>
      new iam.PolicyStatement({
        sid: `${sidPrefix}${i}${pascalCase(source)}`,
        actions: ['events:PutEvents'],
        resources: [busArn],
        conditions: allowEventsCondition(source, detailTypes),
      }),
  );
}

/** A publisher in another account: the bus policy allows and confines it. */
export interface ExternalPublisher {
  readonly name: string;
  /** `aws:PrincipalArn` pattern: a role ARN, or `arn:<partition>:iam::<account>:*` for a whole account. */
  readonly principalArn: string;
  /** The account the principal is in. */
  readonly account: string;
  readonly events: readonly EventDefinition[];
}

export interface EventBusPolicyProps {
  readonly eventBusArn: string;
  readonly eventBusName: string;
  /**
   * `aws:PrincipalArn` patterns of the same-account principals that may publish (each confined by
   * its own IAM policy and permissions boundary), e.g. `arn:aws:iam::123456789012:role/LoanEvents-pub-*`.
   */
  readonly publisherPatterns: readonly string[];
  /** Publishers in other accounts. */
  readonly externalPublishers: readonly ExternalPublisher[];
  /** Principals (ARN patterns) that may manage every rule on the bus. */
  readonly ruleManagers: readonly string[];
  /**
   * Operator roles (context `operatorRoleArns`): like `ruleManagers` for the bus policy, and
   * exempt from `managementGuardPolicy`.
   * @default - none
   */
  readonly operators?: readonly string[];
  /**
   * Consumer teams' deployment roles: `aws:PrincipalArn` pattern of the roles (e.g.
   * `arn:aws:iam::123456789012:role/LoanEvents-deploy-*`) and the rule-name prefix each may
   * manage, as a policy variable on the role's tag (e.g. `LoanEvents-${aws:PrincipalTag/event-router:consumer}`).
   * @default - no consumer deployment roles
   */
  readonly consumerDeployers?: { readonly principalPattern: string; readonly ruleNamePattern: string };
}

/** Renders the bus policy document. */
export function renderBusPolicy(scope: Construct, props: EventBusPolicyProps): iam.PolicyDocument {
  const stack = Stack.of(scope);
  const doc = new iam.PolicyDocument();
  const notAService = { Bool: { 'aws:PrincipalIsAWSService': 'false' } };
  const denyPutEvents = (sid: string, conditions: Record<string, unknown>) =>
    doc.addStatements(
      new iam.PolicyStatement({
        sid,
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['events:PutEvents'],
        resources: [props.eventBusArn],
        conditions,
      }),
    );
  const listed = [...props.publisherPatterns, ...props.externalPublishers.map((p) => p.principalArn)];
  // Service principals are exempt: archive replays are put on the bus by EventBridge itself,
  // and a Deny for Principal * would otherwise block them.
  denyPutEvents(
    'DenyPutEventsFromUnlistedPrincipals',
    listed.length > 0 ? { ArnNotLike: { 'aws:PrincipalArn': listed }, ...notAService } : notAService,
  );
  for (const p of props.externalPublishers) {
    const sources = bySource(p.events);
    const id = pascalCase(p.name);
    // Another account's IAM policies are not ours: the bus refuses events outside its catalog
    // entry. One statement per source keeps source/detail-type pairs exact instead of allowing
    // their cross product.
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
    // Another account needs an Allow here as well as in its own IAM policies.
    const principal = p.principalArn.endsWith(':*') ? new iam.AccountPrincipal(p.account) : new iam.ArnPrincipal(p.principalArn);
    [...sources.entries()].forEach(([source, detailTypes], i) => {
      doc.addStatements(
        new iam.PolicyStatement({
          sid: `AllowPutEventsFrom${id}${i}`,
          principals: [principal],
          actions: ['events:PutEvents'],
          resources: [props.eventBusArn],
          conditions: allowEventsCondition(source, detailTypes),
        }),
      );
    });
  }
  const rules = stack.formatArn({ service: 'events', resource: 'rule', resourceName: `${props.eventBusName}/*` });
  const deployers = props.consumerDeployers;
  doc.addStatements(
    new iam.PolicyStatement({
      sid: 'DenySubscribingToAllButDeploymentRoles',
      effect: iam.Effect.DENY,
      principals: [new iam.AnyPrincipal()],
      actions: [...RULE_MANAGEMENT_ACTIONS],
      resources: [rules],
      conditions: {
        ArnNotLike: {
          'aws:PrincipalArn': [...props.ruleManagers, ...(props.operators ?? []), ...(deployers ? [deployers.principalPattern] : [])],
        },
        ...notAService,
      },
    }),
  );
  if (deployers) {
    // One statement for every consumer team: the rule name a deployment role may touch comes from
    // the role's own tag through a policy variable, so the policy does not grow with consumers.
    // @see https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html
    const own = stack.formatArn({
      service: 'events',
      resource: 'rule',
      resourceName: `${props.eventBusName}/${deployers.ruleNamePattern}`,
    });
    doc.addStatements(
      new iam.PolicyStatement({
        sid: 'DenyConsumerDeployersOtherRules',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: [...RULE_MANAGEMENT_ACTIONS],
        notResources: [own],
        conditions: { ArnLike: { 'aws:PrincipalArn': deployers.principalPattern } },
      }),
    );
  }
  return doc;
}

/**
 * Management actions without resource-level permissions: IAM matches them only against `"*"`.
 * @see https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoneventbridge.html
 */
export const ACCOUNT_WIDE_ACTIONS: readonly string[] = ['events:PutPermission', 'events:RemovePermission'];

export interface ManagementGuardProps {
  readonly eventBusArn: string;
  readonly eventBusName: string;
  /** `aws:PrincipalArn` patterns that keep every management action: deployment and operator roles. */
  readonly managers: readonly string[];
}

/**
 * A service control policy that denies the bus's management actions (`BUS_MANAGEMENT_ACTIONS`,
 * and the rule actions again) to every principal of the account but `managers`. Attach it to the
 * account in AWS Organizations: the bus policy cannot enforce the bus, archive and replay actions,
 * and SCPs do not apply to the management account itself.
 * Archives and replays are covered account-wide in the bus's region, because the stack does not
 * name its archive; narrow the resources if other applications of the account keep archives.
 * @see https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps.html
 */
export function managementGuardPolicy(scope: Construct, props: ManagementGuardProps): iam.PolicyDocument {
  const stack = Stack.of(scope);
  const arn = (resource: string, resourceName: string) => stack.formatArn({ service: 'events', resource, resourceName });
  const notManagers = { ArnNotLike: { 'aws:PrincipalArn': [...props.managers] } };
  return new iam.PolicyDocument({
    statements: [
      new iam.PolicyStatement({
        sid: 'DenyEventBusManagementToAllButManagers',
        effect: iam.Effect.DENY,
        actions: [...BUS_MANAGEMENT_ACTIONS.filter((a) => !ACCOUNT_WIDE_ACTIONS.includes(a)), ...RULE_MANAGEMENT_ACTIONS],
        resources: [props.eventBusArn, arn('rule', `${props.eventBusName}/*`), arn('archive', '*'), arn('replay', '*')],
        conditions: notManagers,
      }),
      // PutPermission and RemovePermission support no resource-level permissions: they can only
      // be denied on "*", for every bus of the account.
      new iam.PolicyStatement({
        sid: 'DenyBusPermissionChangesToAllButManagers',
        effect: iam.Effect.DENY,
        actions: [...ACCOUNT_WIDE_ACTIONS],
        resources: ['*'],
        conditions: notManagers,
      }),
    ],
  });
}
