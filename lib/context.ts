/**
 * Stack props from CDK context (`-c key=value` or cdk.json), so `cdk deploy` can be configured
 * without code changes. Bad values fail synthesis with the key and the value.
 */
import { Duration } from 'aws-cdk-lib';
import { Node } from 'constructs';
import { MAX_BACKUP_RETENTION_DAYS, MIN_BACKUP_RETENTION_DAYS } from './backup';
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
  'isolated',
  'dynamoDbPrefixListId',
  'backupRetentionDays',
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
  const flag = (key: 'existingTrail' | 'logPutEvents' | 'consumerDeploymentRoles' | 'isolated'): boolean | undefined => {
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
  const backupDays = get('backupRetentionDays');
  let backupRetention: Duration | undefined;
  if (backupDays !== undefined) {
    const n = Number(backupDays);
    if (String(backupDays).trim() === '' || !Number.isInteger(n) || n < MIN_BACKUP_RETENTION_DAYS || n > MAX_BACKUP_RETENTION_DAYS) {
      throw new Error(
        `Context 'backupRetentionDays' must be a whole number of days between ${MIN_BACKUP_RETENTION_DAYS} and ${MAX_BACKUP_RETENTION_DAYS} (given '${String(backupDays)}')`,
      );
    }
    backupRetention = Duration.days(n);
  }
  const prefixList = get('dynamoDbPrefixListId');
  return {
    deploymentRoleArns: list('deploymentRoleArns'),
    ruleManagerArns: list('ruleManagerArns'),
    alarmEmail: alarmEmail === undefined ? undefined : String(alarmEmail),
    existingTrail: flag('existingTrail'),
    logPutEvents: flag('logPutEvents'),
    consumerDeploymentRoles: flag('consumerDeploymentRoles'),
    archiveRetention,
    isolated: flag('isolated'),
    dynamoDbPrefixListId: prefixList === undefined ? undefined : String(prefixList),
    backupRetention,
  };
}
