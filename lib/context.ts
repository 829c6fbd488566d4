/**
 * Stack props from CDK context (`-c key=value` or cdk.json), so `cdk deploy` can be configured
 * without code changes. Bad values fail synthesis with the key and the value.
 */
import { Duration } from 'aws-cdk-lib';
import { Node } from 'constructs';
import { EventRouterAppProps } from './stacks';

/** Context keys `propsFromContext` reads. */
export const CONTEXT_KEYS = [
  'deploymentRoleArns',
  'ruleManagerArns',
  'alarmEmail',
  'existingTrail',
  'logPutEvents',
  'archiveRetentionDays',
  'consumerDeploymentRoles',
] as const;

/** Stack props from context; `handlersDir` and the rest are the app's own. */
export function propsFromContext(node: Node): Omit<EventRouterAppProps, 'handlersDir'> {
  const get = (key: (typeof CONTEXT_KEYS)[number]) => node.tryGetContext(key) as unknown;
  const list = (key: 'deploymentRoleArns' | 'ruleManagerArns'): string[] | undefined => {
    const v = get(key);
    if (v === undefined) return undefined;
    const items = Array.isArray(v) ? v.map(String) : String(v).split(',');
    return items.map((s) => s.trim()).filter((s) => s.length > 0);
  };
  const flag = (key: 'existingTrail' | 'logPutEvents' | 'consumerDeploymentRoles'): boolean | undefined => {
    const v = get(key);
    if (v === undefined) return undefined;
    if (String(v) !== 'true' && String(v) !== 'false') throw new Error(`Context '${key}' must be true or false (given '${String(v)}')`);
    return String(v) === 'true';
  };
  const days = get('archiveRetentionDays');
  let archiveRetention: Duration | undefined;
  if (days !== undefined) {
    const n = Number(days);
    if (String(days).trim() === '' || !Number.isInteger(n) || n < 0) {
      throw new Error(
        `Context 'archiveRetentionDays' must be a whole number of days, 0 to keep events indefinitely (given '${String(days)}')`,
      );
    }
    archiveRetention = Duration.days(n);
  }
  const alarmEmail = get('alarmEmail');
  return {
    deploymentRoleArns: list('deploymentRoleArns'),
    ruleManagerArns: list('ruleManagerArns'),
    alarmEmail: alarmEmail === undefined ? undefined : String(alarmEmail),
    existingTrail: flag('existingTrail'),
    logPutEvents: flag('logPutEvents'),
    consumerDeploymentRoles: flag('consumerDeploymentRoles'),
    archiveRetention,
  };
}
