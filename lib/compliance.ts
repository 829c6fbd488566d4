/**
 * The cdk-nag packs every synth runs, and the acknowledgements the packs' rules need where they do
 * not apply to this design. Each acknowledgement is made on the resource it concerns, with the
 * reason a reviewer reads in the validation report; nothing is acknowledged on a stack or the app.
 * @see https://github.com/cdklabs/cdk-nag/blob/main/RULES.md
 */
import { IPolicyValidationPlugin, Validations } from 'aws-cdk-lib';
import type * as CdkNag from 'cdk-nag';
import { IConstruct } from 'constructs';

/** The five packs, by the prefix their rule ids carry in an acknowledgement (`<pack>::<pack>-<rule>`). */
export const COMPLIANCE_PACKS = ['AwsSolutions', 'Serverless', 'NIST.800.53.R5', 'HIPAA.Security', 'PCI.DSS.321'] as const;
export type CompliancePack = (typeof COMPLIANCE_PACKS)[number];

/**
 * AwsSolutions, Serverless, NIST 800-53 R5, HIPAA Security and PCI DSS 3.2.1, for
 * `Validations.of(app).addPlugins(...compliancePacks(app))`: an unacknowledged finding of any of
 * them fails the synth.
 */
export function compliancePacks(scope: IConstruct): IPolicyValidationPlugin[] {
  // Loaded here, not with the module: building the stacks needs only the acknowledgements below,
  // and loading cdk-nag costs ~0.3 CPU-s (more under jest) in every process that builds them.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const nag = require('cdk-nag') as typeof CdkNag;
  return [
    new nag.AwsSolutionsChecks(scope),
    new nag.ServerlessChecks(scope),
    new nag.NIST80053R5Checks(scope),
    new nag.HIPAASecurityChecks(scope),
    new nag.PCIDSS321Checks(scope),
  ];
}

/**
 * Acknowledges `rule` (e.g. `LambdaDLQ`, or `IAM5[Resource::*]`) of each named pack on `construct`
 * and its children, with one reason.
 */
export function acknowledgeRule(construct: IConstruct, rule: string, packs: readonly CompliancePack[], reason: string): void {
  Validations.of(construct).acknowledge(...packs.map((pack) => ({ id: `${pack}::${pack}-${rule}`, reason })));
}

/**
 * Packs with a rule that asks for a dead-letter queue on every function. It is meant for
 * asynchronous invocation; an SQS event source mapping invokes synchronously.
 */
const LAMBDA_DLQ_PACKS = ['Serverless', 'NIST.800.53.R5', 'HIPAA.Security'] as const;

/**
 * A function whose only trigger is an SQS event source mapping: an on-failure DLQ and
 * function-level reserved concurrency are the wrong controls for it.
 * @see https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html
 * @see https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html
 */
export function acknowledgeSqsTriggeredFunction(fn: IConstruct, name: string): void {
  acknowledgeRule(
    fn,
    'LambdaDLQ',
    LAMBDA_DLQ_PACKS,
    `${name} is invoked synchronously by its SQS event source mapping; failed records return to the buffer queue and move to its dead-letter queue after maxReceiveCount. A DeadLetterConfig applies to asynchronous invocations only and would never be used.`,
  );
  acknowledgeRule(
    fn,
    'LambdaConcurrency',
    ['NIST.800.53.R5', 'HIPAA.Security'],
    `${name}'s concurrency is capped by its SQS event source mapping's MaximumConcurrency (catalog tuning.maxConcurrency), Lambda's control for SQS sources; reserved concurrency would also take capacity from the account's unreserved pool and, set below the mapping's cap, throttle and redeliver messages.`,
  );
}

/**
 * Packs that ask for managed instead of inline policies. The roles here each serve one function or
 * one AWS service integration and are named for it.
 * @see https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_managed-vs-inline.html
 */
export function acknowledgeDedicatedRoleInlinePolicy(role: IConstruct, purpose: string): void {
  acknowledgeRule(
    role,
    'IAMNoInlinePolicy',
    ['NIST.800.53.R5', 'HIPAA.Security', 'PCI.DSS.321'],
    `The inline policy belongs to a role dedicated to ${purpose}; IAM recommends inline policies for a strict one-to-one relationship between a policy and its identity, so the least-privilege statements cannot be attached to another principal, and they are reviewed and deleted with the role.`,
  );
}

/**
 * The bucket that receives S3 server access logs: S3 log delivery supports SSE-S3 only as the
 * destination's default encryption.
 * @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html
 */
export function acknowledgeServerAccessLogsBucket(bucket: IConstruct, of: string): void {
  acknowledgeRule(
    bucket,
    'S3DefaultEncryptionKMS',
    ['NIST.800.53.R5', 'HIPAA.Security', 'PCI.DSS.321'],
    `This bucket receives the S3 server access logs of ${of}. S3 documents that a server access log destination may use default encryption only with SSE-S3; default SSE-KMS is not supported, so logs would not be delivered.`,
  );
  acknowledgeRule(
    bucket,
    'S3BucketReplicationEnabled',
    ['NIST.800.53.R5', 'HIPAA.Security', 'PCI.DSS.321'],
    `This bucket holds S3 server access logs of ${of}, which S3 delivers on a best-effort basis as a diagnostic record. The audit evidence is the CloudTrail log files, integrity-checked by digest files; a replica of these access logs would add no evidence.`,
  );
}
