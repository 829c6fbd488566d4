/**
 * Partition-aware ARNs. Every ARN the project builds goes through `arn()` or one of the helpers
 * below, so a stack in `aws-cn` or `aws-us-gov` gets `arn:aws-cn:...` and the right URL suffix.
 * @see https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html
 */

/** The five fields of an ARN after `arn:`. */
export interface ArnParts {
  readonly partition: string;
  readonly service: string;
  /** Empty for global services (IAM, S3 buckets). */
  readonly region: string;
  /** Empty for resources without an owner account (S3 buckets, AWS managed policies use `aws`). */
  readonly account: string;
  /** Everything after the account: `event-bus/name`, `function:name`, `log-group:name:*`. */
  readonly resource: string;
}

/** Where a resource lives: the three pseudo parameters of its stack. */
export interface ResourceEnv {
  readonly partition: string;
  readonly region: string;
  readonly account: string;
}

export function arn(parts: ArnParts): string {
  return `arn:${parts.partition}:${parts.service}:${parts.region}:${parts.account}:${parts.resource}`;
}

/** The parts of an ARN, or undefined when `value` is not one (fewer than six colon-separated fields). */
export function parseArn(value: string): ArnParts | undefined {
  if (!value.startsWith('arn:')) return undefined;
  const fields = value.split(':');
  if (fields.length < 6) return undefined;
  const [, partition = '', service = '', region = '', account = ''] = fields;
  if (partition === '' || service === '') return undefined;
  return { partition, service, region, account, resource: fields.slice(5).join(':') };
}

/**
 * The partition a region belongs to.
 * @see https://docs.aws.amazon.com/whitepapers/latest/aws-fault-isolation-boundaries/partitions.html
 */
export function partitionOf(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  if (region.startsWith('us-isob-')) return 'aws-iso-b';
  if (region.startsWith('us-iso-')) return 'aws-iso';
  if (region.startsWith('eu-isoe-')) return 'aws-iso-e';
  if (region.startsWith('us-isof-')) return 'aws-iso-f';
  return 'aws';
}

/** `AWS::URLSuffix` of a partition. */
export function urlSuffixOf(partition: string): string {
  switch (partition) {
    case 'aws-cn':
      return 'amazonaws.com.cn';
    case 'aws-iso':
      return 'c2s.ic.gov';
    case 'aws-iso-b':
      return 'sc2s.sgov.gov';
    default:
      return 'amazonaws.com';
  }
}

const regional = (env: ResourceEnv, service: string, resource: string): string =>
  arn({ partition: env.partition, service, region: env.region, account: env.account, resource });

/** ARNs of the resources the project names, in one environment. */
export const arns = {
  eventBus: (env: ResourceEnv, name: string) => regional(env, 'events', `event-bus/${name}`),
  /** Rules on the default bus have no bus segment. */
  rule: (env: ResourceEnv, busName: string, name: string) =>
    regional(env, 'events', busName === 'default' ? `rule/${name}` : `rule/${busName}/${name}`),
  archive: (env: ResourceEnv, name: string) => regional(env, 'events', `archive/${name}`),
  replay: (env: ResourceEnv, name: string) => regional(env, 'events', `replay/${name}`),
  queue: (env: ResourceEnv, name: string) => regional(env, 'sqs', name),
  function: (env: ResourceEnv, name: string) => regional(env, 'lambda', `function:${name}`),
  table: (env: ResourceEnv, name: string) => regional(env, 'dynamodb', `table/${name}`),
  key: (env: ResourceEnv, keyId: string) => regional(env, 'kms', `key/${keyId}`),
  /** CloudFormation's `Arn` attribute of a log group ends in `:*`; `withStar: false` gives the bare ARN. */
  logGroup: (env: ResourceEnv, name: string, withStar = true) => regional(env, 'logs', `log-group:${name}${withStar ? ':*' : ''}`),
  topic: (env: ResourceEnv, name: string) => regional(env, 'sns', name),
  trail: (env: ResourceEnv, name: string) => regional(env, 'cloudtrail', `trail/${name}`),
  alarm: (env: ResourceEnv, name: string) => regional(env, 'cloudwatch', `alarm:${name}`),
  stack: (env: ResourceEnv, name: string, id: string) => regional(env, 'cloudformation', `stack/${name}/${id}`),
  schemaRegistry: (env: ResourceEnv, name: string) => regional(env, 'schemas', `registry/${name}`),
  /** IAM is global: no region. `path` starts and ends with `/`. */
  role: (env: Pick<ResourceEnv, 'partition' | 'account'>, name: string, path = '/') =>
    arn({ partition: env.partition, service: 'iam', region: '', account: env.account, resource: `role${path}${name}` }),
  managedPolicy: (env: Pick<ResourceEnv, 'partition' | 'account'>, name: string, path = '/') =>
    arn({ partition: env.partition, service: 'iam', region: '', account: env.account, resource: `policy${path}${name}` }),
  /** The account principal, `arn:aws:iam::123456789012:root`. */
  accountRoot: (env: Pick<ResourceEnv, 'partition' | 'account'>) =>
    arn({ partition: env.partition, service: 'iam', region: '', account: env.account, resource: 'root' }),
  bucket: (env: Pick<ResourceEnv, 'partition'>, name: string) =>
    arn({ partition: env.partition, service: 's3', region: '', account: '', resource: name }),
};

/** The queue's URL at the regional SQS endpoint of its partition. */
export function queueUrl(env: ResourceEnv, name: string): string {
  return `https://sqs.${env.region}.${urlSuffixOf(env.partition)}/${env.account}/${name}`;
}

/** The bus name in a rule's `EventBusName`, which may be a name or an ARN; absent means the default bus. */
export function busNameOf(value: unknown): string {
  if (value === undefined || value === null || value === '') return 'default';
  const s = String(value);
  const parts = s.startsWith('arn:') ? parseArn(s) : undefined;
  if (parts && parts.resource.startsWith('event-bus/')) return parts.resource.slice('event-bus/'.length);
  return s;
}
