/**
 * The bus as seen from a consumer's stack: deterministic name and ARN, built from the app
 * definition and the router's placement, never a token from the router stack. So a consumer stack
 * has no CloudFormation export, import or dependency on the router stack.
 */
import { Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import { Construct } from 'constructs';
import { AppDefinition } from '../sdk/catalog';

export interface BusReference {
  readonly name: string;
  readonly arn: string;
  /** The bus's account: the router's explicit account, or the stack's own (a pseudo parameter). */
  readonly account: string;
  /** The bus's Region, likewise. */
  readonly region: string;
  /** An `IEventBus` of this bus in `scope` (imported, so nothing is created). */
  eventBus(scope: Construct): events.IEventBus;
}

/** The app's bus as seen from `scope`'s stack. */
export function busReference(scope: Construct, app: AppDefinition): BusReference {
  const stack = Stack.of(scope);
  const account = app.router?.account ?? stack.account;
  const region = app.router?.region ?? stack.region;
  const name = app.eventBusName;
  const arn = stack.formatArn({ service: 'events', resource: 'event-bus', resourceName: name, account, region });
  return {
    name,
    arn,
    account,
    region,
    eventBus: (s) =>
      (s.node.tryFindChild('EventBus') as events.IEventBus | undefined) ??
      events.EventBus.fromEventBusAttributes(s, 'EventBus', { eventBusName: name, eventBusArn: arn, eventBusPolicy: '' }),
  };
}

/** ARN of a rule on the bus, by name. */
export function ruleArnOf(bus: BusReference, ruleName: string): string {
  return bus.arn.replace(/:event-bus\/[^/]+$/, `:rule/${bus.name}/${ruleName}`);
}
