/**
 * Customer-managed keys whose policies name who administers them and who uses them, instead of
 * delegating `kms:*` to every IAM principal of the account.
 *
 * KMS's default key policy gives the account root `kms:*`, which lets any principal whose IAM
 * policy allows `kms:Decrypt` read everything the key protects. AWS keeps that statement so a key
 * cannot become unmanageable: without a principal allowed `kms:PutKeyPolicy`, only AWS Support can
 * recover the key, and `CreateKey`/`PutKeyPolicy` refuse a policy that would lock out their caller
 * (the policy lockout safety check). The root statement here keeps exactly that: the account may
 * administer the key (never use it), and only through the named administrators, the deployment
 * roles and the account's root user (break-glass).
 * @see https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html
 * @see https://docs.aws.amazon.com/kms/latest/APIReference/API_PutKeyPolicy.html (BypassPolicyLockoutSafetyCheck)
 */
import { DefaultStackSynthesizer, Fn, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';

/**
 * What a key administrator may do: manage the key, its policy, aliases, grants (revoke only),
 * rotation, state and deletion, but not encrypt, decrypt or create grants.
 * `kms:Create*` is spelled out as `kms:CreateAlias` so that it does not include `kms:CreateGrant`.
 */
export const KEY_ADMIN_ACTIONS = [
  'kms:CreateAlias',
  'kms:DeleteAlias',
  'kms:UpdateAlias',
  'kms:Describe*',
  'kms:List*',
  'kms:GetKeyPolicy',
  'kms:GetKeyRotationStatus',
  'kms:PutKeyPolicy',
  'kms:UpdateKeyDescription',
  'kms:EnableKey',
  'kms:DisableKey',
  'kms:EnableKeyRotation',
  'kms:DisableKeyRotation',
  'kms:RotateKeyOnDemand',
  'kms:RevokeGrant',
  'kms:TagResource',
  'kms:UntagResource',
  'kms:ScheduleKeyDeletion',
  'kms:CancelKeyDeletion',
] as const;

/** Cryptographic use of a symmetric key. */
export const KEY_USE_ACTIONS = ['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*'] as const;

export interface ManagedKeyProps {
  /** Description of the key: what it protects. */
  readonly description: string;
  /** Alias, without the `alias/` prefix. */
  readonly alias: string;
  /**
   * `aws:PrincipalArn` patterns of the key administrators (context `keyAdminArns`). They may
   * manage the key and change its policy, but not use it.
   * @default - none besides the deployment roles and the root user
   */
  readonly administrators?: readonly string[];
  /**
   * `aws:PrincipalArn` patterns of the roles that deploy the stack (CloudFormation's execution
   * role). They administer the key and may use it only through `services` (for example DynamoDB
   * and Lambda create grants for the resources they encrypt, on the caller's behalf).
   */
  readonly deployers: readonly string[];
  /**
   * The AWS services (e.g. `sqs`, `dynamodb`) through which the deployment roles may use the key,
   * as `kms:ViaService` in the stack's region.
   */
  readonly services: readonly string[];
}

/**
 * A symmetric key with rotation, retained on stack deletion, whose policy admits administrators
 * by name and nobody as a user: callers add one statement per user (a role or a service
 * principal, with `aws:SourceArn`/`kms:ViaService` and encryption-context conditions).
 */
export function managedKey(scope: Construct, id: string, props: ManagedKeyProps): kms.Key {
  const stack = Stack.of(scope);
  if (props.deployers.length === 0) throw new Error(`Key '${props.alias}' needs at least one deployment role in 'deployers'`);
  const rootUser = `arn:${stack.partition}:iam::${stack.account}:root`;
  const administrators = [...new Set([...(props.administrators ?? []), ...props.deployers, rootUser])];
  const account = new iam.AccountRootPrincipal();
  const policy = new iam.PolicyDocument({
    statements: [
      new iam.PolicyStatement({
        sid: 'KeyAdministrationByNamedAdministrators',
        principals: [account],
        actions: [...KEY_ADMIN_ACTIONS],
        resources: ['*'],
        conditions: { ArnLike: { 'aws:PrincipalArn': administrators } },
      }),
      new iam.PolicyStatement({
        sid: 'DeploymentUsesKeyThroughAwsServices',
        principals: [account],
        actions: [...KEY_USE_ACTIONS],
        resources: ['*'],
        conditions: {
          ArnLike: { 'aws:PrincipalArn': [...props.deployers] },
          StringEquals: { 'kms:ViaService': viaServices(stack, props.services) },
        },
      }),
      new iam.PolicyStatement({
        sid: 'DeploymentGrantsKeyToAwsResources',
        principals: [account],
        actions: ['kms:CreateGrant'],
        resources: ['*'],
        conditions: {
          ArnLike: { 'aws:PrincipalArn': [...props.deployers] },
          StringEquals: { 'kms:ViaService': viaServices(stack, props.services) },
          Bool: { 'kms:GrantIsForAWSResource': 'true' },
        },
      }),
    ],
  });
  return new kms.Key(scope, id, {
    description: props.description,
    enableKeyRotation: true,
    alias: `alias/${props.alias}`,
    removalPolicy: RemovalPolicy.RETAIN,
    policy,
  });
}

/** `kms:ViaService` values of `services` in the stack's region. */
export function viaServices(stack: Stack, services: readonly string[]): string[] {
  return services.map((s) => `${s}.${stack.region}.amazonaws.com`);
}

/**
 * Lets operator roles read and move dead letters (inspect, then redrive): `Decrypt` and
 * `GenerateDataKey` through SQS, for `queueArns` only when given (a key dedicated to one queue
 * whose ARN the policy cannot name without a dependency cycle passes none).
 */
export function admitDeadLetterOperators(key: kms.IKey, operators: readonly string[], queueArns?: readonly string[]): void {
  if (operators.length === 0) return;
  const stack = Stack.of(key);
  key.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'OperatorsHandleDeadLettersThroughSqs',
      principals: [new iam.AccountRootPrincipal()],
      actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
      resources: ['*'],
      conditions: {
        ArnLike: { 'aws:PrincipalArn': [...operators] },
        StringEquals: {
          'kms:ViaService': viaServices(stack, ['sqs']),
          ...(queueArns ? { 'kms:EncryptionContext:aws:sqs:arn': [...queueArns] } : {}),
        },
      },
    }),
  );
}

/**
 * The CloudFormation execution role of the default synthesizer, resolved in the template
 * (its ARN contains `${AWS::AccountId}` and `${AWS::Region}` placeholders).
 */
export function defaultDeploymentRoleArn(stack: Stack): string {
  if (!(stack.synthesizer instanceof DefaultStackSynthesizer)) {
    throw new Error(
      `'deploymentRoleArns' is required when the stack does not use the DefaultStackSynthesizer (given ${stack.synthesizer.constructor.name})`,
    );
  }
  const arn = stack.synthesizer.cloudFormationExecutionRoleArn;
  return Token.isUnresolved(arn) || !arn.includes('${') ? arn : Fn.sub(arn);
}
