/**
 * AWS Backup for a consumer's tables: a daily plan into a vault of the consumer's own, locked in
 * compliance mode so that nobody, the account root included, can delete a recovery point or
 * shorten its retention once the lock's grace period has passed. Point-in-time recovery on the
 * tables covers the last 35 days to the second; the vault keeps daily copies beyond that, and
 * survives the table, its stack and (with advanced DynamoDB backup) its key.
 * @see https://docs.aws.amazon.com/aws-backup/latest/devguide/vault-lock.html
 * @see https://docs.aws.amazon.com/aws-backup/latest/devguide/advanced-ddb-backup.html
 */
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as backup from 'aws-cdk-lib/aws-backup';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { defaultDeploymentRoleArn, managedKey } from './keys';
import { acknowledgeRule } from './compliance';
import { checkLength } from './defaults';

/** Days a recovery point is kept, unless deploy context says otherwise. */
export const DEFAULT_BACKUP_RETENTION_DAYS = 35;

/**
 * Vault Lock's retention range. AWS Backup accepts 1 to 36,500 days for the lock's minimum.
 * @see https://docs.aws.amazon.com/aws-backup/latest/devguide/API_PutBackupVaultLockConfiguration.html
 */
export const MIN_BACKUP_RETENTION_DAYS = 1;
export const MAX_BACKUP_RETENTION_DAYS = 36500;

/**
 * Days during which the lock can still be removed or changed. AWS Backup requires at least 3 (a
 * 72-hour cooling-off period); after it the lock is in compliance mode and immutable.
 */
export const VAULT_LOCK_COOLING_OFF_DAYS = 3;

export interface TableBackupProps {
  /** The tables to back up. */
  readonly tables: dynamodb.ITable[];

  /** Names of the vault, the plan and the backup role: `<prefix>-backup`. */
  readonly namePrefix: string;
  /** Who administers the vault's key (see `managedKey`). @default - the stack's CloudFormation execution role and the root user */
  readonly keyAdministration?: { readonly administrators?: readonly string[]; readonly deployers?: readonly string[] };

  /**
   * How long each recovery point is kept; also the vault lock's minimum retention, so no backup
   * job can ask for less. Valid Range: 1 to 36,500 days.
   * @default Duration.days(35)
   */
  readonly retention?: Duration;

  /**
   * When the daily backup starts (UTC).
   * @default - 05:00 UTC
   */
  readonly schedule?: events.Schedule;
}

/** A daily backup plan for some tables, into a locked vault encrypted with a key of its own. */
export class TableBackup extends Construct {
  /** Encrypts the recovery points (advanced DynamoDB backup); not the tables' key, so a disabled data key does not take the backups with it. */
  public readonly encryptionKey: kms.Key;
  /** Vault Lock in compliance mode after the cooling-off period; deletion of recovery points denied to everyone. */
  public readonly vault: backup.BackupVault;
  public readonly plan: backup.BackupPlan;
  public readonly selection: backup.BackupSelection;
  /** The role AWS Backup assumes to read the tables. */
  public readonly role: iam.Role;
  /** Retention of each recovery point, and the lock's minimum. */
  public readonly retention: Duration;

  constructor(scope: Construct, id: string, props: TableBackupProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.retention = props.retention ?? Duration.days(DEFAULT_BACKUP_RETENTION_DAYS);
    validateRetention(this.retention);
    if (props.tables.length === 0) throw new Error(`'tables' must name at least one table to back up (given none)`);
    const name = `${props.namePrefix}-backup`;
    checkLength('backupVaultName', name, 50);
    checkLength('roleName', name, 64);

    this.role = new iam.Role(this, 'Role', {
      roleName: name,
      assumedBy: new iam.ServicePrincipal('backup.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
      description: `AWS Backup reads ${props.tables.length} table(s) into ${name}`,
      managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('service-role/AWSBackupServiceRolePolicyForBackup')],
    });

    // Recovery points outlive the stack; so does the key that decrypts them (managedKey retains it).
    // Administered by name like every key of the app; used by the backup role through AWS Backup only.
    this.encryptionKey = managedKey(this, 'Key', {
      description: `Encrypts the recovery points in ${name}`,
      alias: name,
      administrators: props.keyAdministration?.administrators,
      deployers: props.keyAdministration?.deployers ?? [defaultDeploymentRoleArn(stack)],
      services: ['backup'],
    });
    // AWS Backup uses the key on the role's behalf, through grants it creates for itself.
    this.encryptionKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowBackupRoleThroughBackup',
        principals: [new iam.ArnPrincipal(`arn:${stack.partition}:iam::${stack.account}:role/${name}`)],
        actions: ['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:DescribeKey'],
        resources: ['*'],
        conditions: { StringEquals: { 'kms:ViaService': `backup.${stack.region}.amazonaws.com` } },
      }),
    );
    this.encryptionKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowBackupRoleGrantsForBackup',
        principals: [new iam.ArnPrincipal(`arn:${stack.partition}:iam::${stack.account}:role/${name}`)],
        actions: ['kms:CreateGrant'],
        resources: ['*'],
        conditions: {
          StringEquals: { 'kms:ViaService': `backup.${stack.region}.amazonaws.com` },
          Bool: { 'kms:GrantIsForAWSResource': 'true' },
        },
      }),
    );

    this.vault = new backup.BackupVault(this, 'Vault', {
      backupVaultName: name,
      encryptionKey: this.encryptionKey,
      // Denies DeleteRecoveryPoint and UpdateRecoveryPointLifecycle to every principal.
      blockRecoveryPointDeletion: true,
      lockConfiguration: {
        minRetention: this.retention,
        changeableFor: Duration.days(VAULT_LOCK_COOLING_OFF_DAYS),
      },
      // A locked vault cannot be deleted while it holds recovery points.
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.plan = new backup.BackupPlan(this, 'Plan', {
      backupPlanName: name,
      backupVault: this.vault,
      backupPlanRules: [
        new backup.BackupPlanRule({
          ruleName: 'Daily',
          scheduleExpression: props.schedule ?? events.Schedule.cron({ minute: '0', hour: '5' }),
          startWindow: Duration.hours(1),
          completionWindow: Duration.hours(8),
          deleteAfter: this.retention,
        }),
      ],
    });
    this.selection = this.plan.addSelection('Tables', {
      resources: props.tables.map((t) => backup.BackupResource.fromDynamoDbTable(t)),
      role: this.role,
    });

    acknowledgeRule(
      this.role,
      'IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup]',
      ['AwsSolutions'],
      'AWS Backup documents that a custom backup role must carry AWSBackupServiceRolePolicyForBackup (or its equivalent) for advanced DynamoDB backup; AWS maintains it as the service adds resource types. The role is assumable only by backup.amazonaws.com for this account.',
    );
  }
}

function validateRetention(retention: Duration): void {
  const days = retention.toDays({ integral: false });
  if (!Number.isInteger(days) || days < MIN_BACKUP_RETENTION_DAYS || days > MAX_BACKUP_RETENTION_DAYS) {
    throw new Error(
      `'retention' must be a whole number of days between ${MIN_BACKUP_RETENTION_DAYS} and ${MAX_BACKUP_RETENTION_DAYS} inclusive (given ${retention.toHumanString()})`,
    );
  }
}
