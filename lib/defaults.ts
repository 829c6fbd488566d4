/**
 * Secure defaults shared by the constructs in this folder, kept in one place so a reviewer
 * can read every default without hunting through the constructs.
 */
import { ArnFormat, Duration, Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { cloudNaming, NamingPolicy } from '../assembly/naming';
import { StackResolver } from '../assembly/resolver';

/** Receives before a buffered message moves to its dead-letter queue. */
export const DEFAULT_MAX_RECEIVE_COUNT = 5;

/**
 * Delivery retries EventBridge makes to a rule target before the event goes to the target's
 * dead-letter queue. Valid Range: 0 to 185.
 * @see https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-retry-policy.html
 */
export const DEFAULT_TARGET_RETRY_ATTEMPTS = 185;
export const MAX_TARGET_RETRY_ATTEMPTS = 185;

/**
 * How long EventBridge keeps retrying delivery to a target. Valid Range: 60 seconds to 24 hours.
 * @see https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_RetryPolicy.html
 */
export const DEFAULT_TARGET_MAX_EVENT_AGE = Duration.hours(24);

/**
 * Lambda's guidance for SQS event sources: visibility timeout of at least six times the
 * function timeout plus the batching window, so a throttled or retried batch is not
 * redelivered while a function still works on it.
 * @see https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html
 */
export const VISIBILITY_TIMEOUT_FACTOR = 6;

/** Dead-letter queues keep messages for the SQS maximum, 14 days, so operators have time to redrive. */
export const DLQ_RETENTION = Duration.days(14);

/**
 * Longest buffer-queue retention. On standard queues a message keeps its original enqueue time
 * when it moves to the DLQ, so the DLQ's 14 days must outlast the buffer's retention by a margin
 * operators can act in.
 * @see https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html
 */
export const MAX_BUFFER_RETENTION = Duration.days(7);

/** Log retention for function and trail log groups. */
export const DEFAULT_LOG_RETENTION = logs.RetentionDays.ONE_YEAR;

/** The smallest visibility timeout that satisfies the Lambda guidance above. */
export function requiredVisibilityTimeout(functionTimeout: Duration, batchingWindow: Duration): Duration {
  return Duration.seconds(VISIBILITY_TIMEOUT_FACTOR * functionTimeout.toSeconds() + batchingWindow.toSeconds());
}

/** `loan-intake` -> `LoanIntake`: stable, readable construct ids and output names. */
export function pascalCase(name: string): string {
  return name
    .split(/[^A-Za-z0-9]+/)
    .filter((part) => part.length > 0)
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
}

/**
 * SSE-KMS with the project key (never the AWS managed `alias/aws/sqs`, which EventBridge cannot be
 * granted), TLS-only, data keys reused for 5 minutes to keep KMS calls and cost down.
 */
export function encryptedQueueProps(
  encryptionKey: kms.IKey,
): Pick<sqs.QueueProps, 'encryption' | 'encryptionMasterKey' | 'dataKeyReuse' | 'enforceSSL'> {
  return {
    encryption: sqs.QueueEncryption.KMS,
    encryptionMasterKey: encryptionKey,
    dataKeyReuse: Duration.minutes(5),
    enforceSSL: true,
  };
}

/** Every reference to a resource counts as long as the longest ARN it could be (a role ARN with a path). */
const REFERENCE_SIZE = 128;

/**
 * lib/'s naming policy for the shared resolver: there is no template yet, so every resource
 * reference is a placeholder of the longest size it could resolve to.
 */
const upperBoundNaming: NamingPolicy = {
  ...cloudNaming,
  name: 'upper bound',
  generatedName: () => 'x'.repeat(REFERENCE_SIZE),
  external: () => 'x'.repeat(REFERENCE_SIZE),
};

/**
 * Upper estimate of a policy document's size once CloudFormation has resolved it: pseudo
 * parameters take their longest values and every attribute reference (a role ARN) counts 128
 * characters. Good enough to warn before a deployment fails on a size quota.
 */
export function estimatedPolicySize(scope: Construct, document: iam.PolicyDocument | object): number {
  const resolver = new StackResolver(
    { stackName: 'x'.repeat(REFERENCE_SIZE), template: { Resources: {} } },
    {
      naming: upperBoundNaming,
      defaults: { account: '123456789012', region: 'ap-southeast-3', partition: 'aws-us-gov' },
      imports: 'error',
    },
  );
  return JSON.stringify(resolver.resolve(Stack.of(scope).resolve(document))).length;
}

/** Throws when a physical name is longer than the service allows, naming the prop and value. */
export function checkLength(prop: string, value: string, max: number): void {
  if (!Token.isUnresolved(value) && value.length > max) {
    throw new Error(`'${prop}' must be at most ${max} characters (given '${value}', ${value.length} characters)`);
  }
}

export interface EncryptedLogGroupProps {
  readonly encryptionKey: kms.IKey;
  readonly logGroupName: string;
  readonly retention?: logs.RetentionDays;
}

/**
 * A log group encrypted with the project key. The key policy lets CloudWatch Logs use the key
 * only for this log group (encryption context `aws:logs:arn`).
 * @see https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html
 */
export function encryptedLogGroup(scope: Construct, id: string, props: EncryptedLogGroupProps): logs.LogGroup {
  const stack = Stack.of(scope);
  // Built from the name, not the resource: the log group depends on the key, so the key
  // policy cannot reference the log group without a dependency cycle.
  const arn = stack.formatArn({
    service: 'logs',
    resource: 'log-group',
    resourceName: props.logGroupName,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
  props.encryptionKey.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: `AllowCloudWatchLogs${pascalCase(props.logGroupName)}`,
      principals: [new iam.ServicePrincipal(`logs.${stack.region}.amazonaws.com`)],
      actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
      resources: ['*'],
      conditions: { ArnEquals: { 'kms:EncryptionContext:aws:logs:arn': arn } },
    }),
  );
  return new logs.LogGroup(scope, id, {
    logGroupName: props.logGroupName,
    encryptionKey: props.encryptionKey,
    retention: props.retention ?? DEFAULT_LOG_RETENTION,
  });
}
