/**
 * Stack props from CDK context (`-c key=value` or cdk.json), so `cdk deploy` can be configured
 * without code changes. Bad values fail synthesis with the key and the value.
 */
import { Duration } from 'aws-cdk-lib';
import { Node } from 'constructs';
import { MAX_BACKUP_RETENTION_DAYS, MIN_BACKUP_RETENTION_DAYS } from './backup';
import { LogArchiveDestination } from './audit-trail';
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
  'keyAdminArns',
  'operatorRoleArns',
  'publisherPrincipals',
  'trailRetentionDays',
  'logArchiveBucket',
  'logArchiveAccount',
  'logArchiveKeyArn',
] as const;

/** Stack props from context; `handlersDir` and the rest are the app's own. */
export function propsFromContext(node: Node): Omit<EventRouterAppProps, 'handlersDir'> {
  const get = (key: (typeof CONTEXT_KEYS)[number]) => node.tryGetContext(key) as unknown;
  const list = (key: 'deploymentRoleArns' | 'ruleManagerArns' | 'keyAdminArns' | 'operatorRoleArns'): string[] | undefined => {
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
  const trailDays = get('trailRetentionDays');
  let trailRetention: Duration | undefined;
  if (trailDays !== undefined) {
    const n = Number(trailDays);
    if (String(trailDays).trim() === '' || !Number.isInteger(n) || n < 1 || n > 36500) {
      throw new Error(`Context 'trailRetentionDays' must be a whole number of days from 1 to 36500 (given '${String(trailDays)}')`);
    }
    trailRetention = Duration.days(n);
  }
  const archiveKeys = ['logArchiveBucket', 'logArchiveAccount', 'logArchiveKeyArn'] as const;
  const archiveValues = archiveKeys.map((k) => get(k));
  let logArchive: LogArchiveDestination | undefined;
  if (archiveValues.some((v) => v !== undefined)) {
    const missing = archiveKeys.filter((_, i) => archiveValues[i] === undefined);
    if (missing.length > 0) {
      throw new Error(`Context 'logArchiveBucket', 'logArchiveAccount' and 'logArchiveKeyArn' go together: ${missing.join(', ')} missing`);
    }
    const [bucketName, account, keyArn] = archiveValues.map(String) as [string, string, string];
    logArchive = { bucketName, account, keyArn };
  }
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
    keyAdminArns: list('keyAdminArns'),
    operatorRoleArns: list('operatorRoleArns'),
    publisherPrincipals: principalsByPublisher(get('publisherPrincipals')),
    trailRetention,
    logArchive,
  };
}

/**
 * `publisherPrincipals`: a JSON object (or its text, as `-c` gives it) from publisher name to a
 * list of principal ARNs. Own keys only, so `__proto__` is a name like any other.
 */
function principalsByPublisher(value: unknown): Record<string, string[]> | undefined {
  if (value === undefined) return undefined;
  const fail = (why: string): never => {
    throw new Error(
      `Context 'publisherPrincipals' must be a JSON object from publisher name to a list of principal ARNs, e.g. '{"loan-origination":["arn:aws:iam::111111111111:role/Origination"]}' (${why})`,
    );
  };
  let parsed: unknown = value;
  if (typeof value === 'string') {
    try {
      parsed = JSON.parse(value) as unknown;
    } catch {
      fail('not JSON');
    }
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) fail('not an object');
  const out: Record<string, string[]> = Object.create(null) as Record<string, string[]>;
  for (const [name, arns] of Object.entries(parsed as Record<string, unknown>)) {
    if (!Array.isArray(arns) || !arns.every((a): a is string => typeof a === 'string')) fail(`'${name}' is not a list of strings`);
    out[name] = (arns as string[]).map((a) => a.trim());
  }
  return out;
}
