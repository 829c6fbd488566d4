/**
 * Naming policies: what a resource that the template does not name is called once "deployed",
 * and what its queue URL and key id look like. CloudFormation generates such names at deploy
 * time, so every reader of a synthesized template has to choose; callers pick a policy instead
 * of writing their own resolver.
 *
 * - `cloudNaming` (the IAM tests): logical ids as names, regional SQS URLs, UUID-shaped key ids,
 *   and an error for any attribute it does not know, so a policy is never checked against a guess.
 * - `localNaming(endpoint)` (the local runtime): `<stack>-<logicalId>` within each service's
 *   length limit, queue URLs on the local endpoint, and a readable stand-in for unknown attributes.
 */
import { createHash } from 'node:crypto';
import { queueUrl, ResourceEnv } from './arn';

export interface NamingContext {
  readonly stackName: string;
  readonly logicalId: string;
  readonly type: string;
  /** The resource's properties as written in the template (not resolved). */
  readonly properties: Readonly<Record<string, unknown>>;
  readonly env: ResourceEnv;
}

export interface NamingPolicy {
  /** Shown in error messages. */
  readonly name: string;
  /** The physical name of a resource whose template sets no name property. */
  generatedName(ctx: NamingContext): string;
  /** `Ref` and `QueueUrl` of a queue. */
  queueUrl(env: ResourceEnv, name: string): string;
  /** `Ref` and `KeyId` of a KMS key, which has no name property. */
  keyId(ctx: NamingContext): string;
  /**
   * A value for a `Ref` or `Fn::GetAtt` that the resolver has no rule for (an attribute it does not
   * know, a resource type without a rule). Undefined, or no function, makes it an error.
   */
  fallback?(ctx: NamingContext, name: string, attribute: string | undefined): string | undefined;
  /**
   * A value for a `Ref` or `Fn::GetAtt` to a logical id the template does not have (lib/ sizes a
   * policy document before the template exists). Undefined, or no function, makes it an error.
   */
  external?(logicalId: string, attribute: string | undefined): string | undefined;
}

/** A UUID-shaped id, stable for a stack and logical id, as KMS key ids look. */
export function stableUuid(seed: string): string {
  const h = createHash('sha256').update(seed).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** Names as in the IAM tests: the logical id, regional URLs, hashed key ids; unknown attributes are errors. */
export const cloudNaming: NamingPolicy = {
  name: 'cloud',
  generatedName: (ctx) => ctx.logicalId,
  queueUrl,
  keyId: (ctx) => stableUuid(ctx.logicalId),
};

/**
 * Longest physical names each service accepts, for generated names.
 * @see https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_CreateQueue.html (80)
 * @see https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutRule.html (64)
 * @see https://docs.aws.amazon.com/lambda/latest/api/API_CreateFunction.html (a function name alone: 64)
 */
function nameLimit(type: string): number {
  if (type === 'AWS::SQS::Queue') return 80;
  if (type.startsWith('AWS::Events::')) return 64;
  if (type === 'AWS::Lambda::Function') return 64;
  return 140;
}

const isFifo = (ctx: NamingContext) =>
  ctx.type === 'AWS::SQS::Queue' && (ctx.properties.FifoQueue === true || ctx.properties.FifoQueue === 'true');

/** Names for the local runtime: `<stack>-<logicalId>`, URLs on `endpoint`, the name as key id. */
export function localNaming(endpoint: string): NamingPolicy {
  return {
    name: 'local',
    generatedName(ctx) {
      const fifo = isFifo(ctx);
      return `${ctx.stackName}-${ctx.logicalId}`.slice(0, nameLimit(ctx.type) - (fifo ? 5 : 0)) + (fifo ? '.fifo' : '');
    },
    queueUrl: (env, name) => `${endpoint}/${env.account}/${name}`,
    keyId: (ctx) => `${ctx.stackName}-${ctx.logicalId}`,
    fallback: (_ctx, name, attribute) =>
      attribute === undefined || attribute === 'Name' || attribute === 'ArchiveName' || attribute === 'TableName'
        ? name
        : `${name}.${attribute}`,
  };
}
