/**
 * CloudTrail trail for the stack: management events, plus PutEvents data events on the bus, into
 * a bucket nobody in the workload account can rewrite (S3 Object Lock in compliance mode) or a
 * bucket in a separate log-archive account, and a CloudWatch Logs group for the alarms. The
 * trail, its bucket and its log group use the audit key, not the data keys.
 */
import { Duration, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as cloudtrail from 'aws-cdk-lib/aws-cloudtrail';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { checkLength, encryptedLogGroup } from './defaults';

/**
 * CloudTrail resource type of EventBridge event buses for data events (PutEvents), which
 * EventBridge added in 2026.
 * @see https://docs.aws.amazon.com/eventbridge/latest/userguide/logging-using-cloudtrail.html
 * @see https://docs.aws.amazon.com/awscloudtrail/latest/userguide/logging-data-events-with-cloudtrail.html
 */
export const EVENT_BUS_DATA_RESOURCE_TYPE = 'AWS::Events::EventBus';

/** A bucket in a separate log-archive account that receives the trail's log files. */
export interface LogArchiveDestination {
  /** Name of the bucket (3 to 63 characters). Its policy must admit this trail (docs/security.md). */
  readonly bucketName: string;
  /** The log-archive account (12 digits), which owns the bucket and the key. */
  readonly account: string;
  /** ARN of the log-archive account's key that encrypts the log files; its policy must admit this trail. */
  readonly keyArn: string;
}

/** Default Object Lock retention of the trail's log files. */
export const DEFAULT_TRAIL_RETENTION = Duration.days(365);

export interface AuditTrailProps {
  /** The audit key: log files and bucket (unless `logArchive`), and the trail's log group. */
  readonly encryptionKey: kms.IKey;

  /**
   * How long each log file is locked in S3 Object Lock compliance mode: no principal, the root
   * user included, can delete or overwrite it or shorten the period. Valid: 1 to 36500 days.
   * Ignored with `logArchive`, whose bucket is the log-archive account's to lock.
   * @default Duration.days(365)
   * @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock.html
   */
  readonly objectLockRetention?: Duration;

  /**
   * Deliver the log files to a bucket in a separate log-archive account instead of a bucket of
   * this stack: the workload account then holds no copy it could alter.
   * @default - a bucket of this stack with Object Lock
   */
  readonly logArchive?: LogArchiveDestination;

  /** ARN of the bus whose PutEvents calls are logged as data events. */
  readonly eventBusArn: string;

  /**
   * Name of the trail. Valid: 3 to 128 characters.
   * @default - `<stack name>-audit`
   */
  readonly trailName?: string;

  /**
   * Whether the trail logs every region (recommended by AWS; a single-region trail misses IAM
   * and other global-service events made elsewhere).
   * @default true
   */
  readonly isMultiRegionTrail?: boolean;

  /**
   * Retention of the trail's CloudWatch Logs group.
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * Age after which log files move to S3 Standard-IA. Minimum 30 days.
   * @default Duration.days(30)
   */
  readonly infrequentAccessAfter?: Duration;

  /**
   * Age after which log files move to S3 Glacier Flexible Retrieval.
   * @default Duration.days(90)
   */
  readonly glacierAfter?: Duration;

  /**
   * Whether the trail logs PutEvents on the bus as data events (billed per event). Turn off only
   * where the organisation trail or a CloudTrail Lake event data store already does.
   * @default true
   */
  readonly logPutEvents?: boolean;

  /**
   * CloudTrail `resources.type` for the bus's data events; override if AWS names it differently
   * in your partition.
   * @default 'AWS::Events::EventBus'
   */
  readonly dataEventResourceType?: string;
}

export class AuditTrail extends Construct {
  /** The trail. */
  public readonly trail: cloudtrail.Trail;
  /**
   * Log files: SSE-KMS with the audit key, Object Lock (compliance mode), TLS-only, versioned,
   * public access blocked; or the log-archive account's bucket (imported) with `logArchive`.
   */
  public readonly bucket: s3.IBucket;
  /** Server access logs of `bucket` (SSE-S3: S3 log delivery cannot write SSE-KMS objects); none with `logArchive`. */
  public readonly accessLogsBucket?: s3.Bucket;
  /** The trail's CloudWatch Logs group, for Logs Insights queries and metric filters. */
  public readonly logGroup: logs.LogGroup;
  /** ARN of the trail, built from its name. */
  public readonly trailArn: string;

  constructor(scope: Construct, id: string, props: AuditTrailProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const trailName = props.trailName ?? `${stack.stackName}-audit`;
    checkLength('trailName', trailName, 128);
    const ia = props.infrequentAccessAfter ?? Duration.days(30);
    const glacier = props.glacierAfter ?? Duration.days(90);
    if (ia.toDays() < 30) {
      throw new Error(`'infrequentAccessAfter' must be at least 30 days, the S3 minimum for Standard-IA (given ${ia.toHumanString()})`);
    }
    if (glacier.toDays() <= ia.toDays()) {
      throw new Error(`'glacierAfter' (${glacier.toHumanString()}) must be later than 'infrequentAccessAfter' (${ia.toHumanString()})`);
    }
    this.trailArn = stack.formatArn({ service: 'cloudtrail', resource: 'trail', resourceName: trailName });
    const lock = props.objectLockRetention ?? DEFAULT_TRAIL_RETENTION;
    if (!Token.isUnresolved(lock.toSeconds()) && (lock.toSeconds() % 86400 !== 0 || lock.toDays() < 1 || lock.toDays() > 36500)) {
      throw new Error(`'objectLockRetention' must be a whole number of days from 1 to 36500 (given ${lock.toHumanString()})`);
    }
    const archive = props.logArchive;
    if (archive) validateLogArchive(archive, stack);

    // CloudTrail encrypts log files with the key, scoped to this trail by aws:SourceArn and the
    // aws:cloudtrail:arn encryption context. With a log archive, the archive's key does this.
    // @see https://docs.aws.amazon.com/awscloudtrail/latest/userguide/create-kms-key-policy-for-cloudtrail.html
    const cloudtrailPrincipal = new iam.ServicePrincipal('cloudtrail.amazonaws.com');
    this.logGroup = encryptedLogGroup(this, 'LogGroup', {
      encryptionKey: props.encryptionKey,
      logGroupName: `/aws/cloudtrail/${trailName}`,
      retention: props.logRetention,
    });
    this.logGroup.applyRemovalPolicy(RemovalPolicy.RETAIN);

    if (archive) {
      this.bucket = s3.Bucket.fromBucketAttributes(this, 'LogArchiveBucket', {
        bucketName: archive.bucketName,
        account: archive.account,
      });
      this.trail = this.createTrail(trailName, props, kms.Key.fromKeyArn(this, 'LogArchiveKey', archive.keyArn));
      return;
    }

    this.accessLogsBucket = new s3.Bucket(this, 'AccessLogsBucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: true,
      lifecycleRules: [{ expiration: Duration.days(365), noncurrentVersionExpiration: Duration.days(30) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.bucket = new s3.Bucket(this, 'Bucket', {
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: props.encryptionKey,
      bucketKeyEnabled: true,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: true,
      objectLockEnabled: true,
      objectLockDefaultRetention: s3.ObjectLockRetention.compliance(lock),
      serverAccessLogsBucket: this.accessLogsBucket,
      serverAccessLogsPrefix: 'trail-bucket/',
      lifecycleRules: [
        {
          transitions: [
            { storageClass: s3.StorageClass.INFREQUENT_ACCESS, transitionAfter: ia },
            { storageClass: s3.StorageClass.GLACIER, transitionAfter: glacier },
          ],
          noncurrentVersionTransitions: [{ storageClass: s3.StorageClass.GLACIER, transitionAfter: Duration.days(30) }],
        },
      ],
      removalPolicy: RemovalPolicy.RETAIN,
    });

    props.encryptionKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudTrailToEncryptLogFiles',
        principals: [cloudtrailPrincipal],
        actions: ['kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: {
          StringEquals: { 'aws:SourceArn': this.trailArn },
          StringLike: { 'kms:EncryptionContext:aws:cloudtrail:arn': `arn:${stack.partition}:cloudtrail:*:${stack.account}:trail/*` },
        },
      }),
    );
    props.encryptionKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudTrailToDescribeKey',
        principals: [cloudtrailPrincipal],
        actions: ['kms:DescribeKey'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceArn': this.trailArn } },
      }),
    );

    // The Trail L2 lets CloudTrail write to the bucket without naming the trail; this Deny
    // confines that to this trail.
    // @see https://docs.aws.amazon.com/awscloudtrail/latest/userguide/create-s3-bucket-policy-for-cloudtrail.html
    this.bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'DenyOtherTrails',
        effect: iam.Effect.DENY,
        principals: [cloudtrailPrincipal],
        actions: ['s3:PutObject', 's3:GetBucketAcl'],
        resources: [this.bucket.bucketArn, this.bucket.arnForObjects('*')],
        conditions: { StringNotEquals: { 'aws:SourceArn': this.trailArn } },
      }),
    );

    this.trail = this.createTrail(trailName, props, props.encryptionKey);
  }

  private createTrail(trailName: string, props: AuditTrailProps, logFileKey: kms.IKey): cloudtrail.Trail {
    const trail = new cloudtrail.Trail(this, 'Trail', {
      trailName,
      bucket: this.bucket,
      encryptionKey: logFileKey,
      enableFileValidation: true,
      includeGlobalServiceEvents: true,
      isMultiRegionTrail: props.isMultiRegionTrail ?? true,
      sendToCloudWatchLogs: true,
      cloudWatchLogGroup: this.logGroup,
    });
    // Advanced selectors replace basic ones, so management events are selected here as well.
    // CloudTrail rejects a trail with both kinds, and the L2 always renders EventSelectors ([]).
    const cfnTrail = trail.node.defaultChild as cloudtrail.CfnTrail;
    cfnTrail.addPropertyDeletionOverride('EventSelectors');
    const selectors: cloudtrail.CfnTrail.AdvancedEventSelectorProperty[] = [
      { name: 'Management events', fieldSelectors: [{ field: 'eventCategory', equalTo: ['Management'] }] },
    ];
    if (props.logPutEvents ?? true) {
      selectors.push({
        name: 'PutEvents on the event bus',
        fieldSelectors: [
          { field: 'eventCategory', equalTo: ['Data'] },
          { field: 'resources.type', equalTo: [props.dataEventResourceType ?? EVENT_BUS_DATA_RESOURCE_TYPE] },
          { field: 'eventName', equalTo: ['PutEvents'] },
          { field: 'resources.ARN', equalTo: [props.eventBusArn] },
        ],
      });
    }
    cfnTrail.advancedEventSelectors = selectors;
    return trail;
  }
}

function validateLogArchive(archive: LogArchiveDestination, stack: Stack): void {
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(archive.bucketName)) {
    throw new Error(`'logArchive.bucketName' must be an S3 bucket name (given '${archive.bucketName}')`);
  }
  if (!/^\d{12}$/.test(archive.account)) {
    throw new Error(`'logArchive.account' must be a 12-digit account id (given '${archive.account}')`);
  }
  if (!Token.isUnresolved(stack.account) && archive.account === stack.account) {
    throw new Error(
      `'logArchive.account' must be another account than the stack's own (${stack.account}): the point is a copy the workload account cannot alter`,
    );
  }
  const key = /^arn:[^:]+:kms:[a-z0-9-]+:(\d{12}):key\/[0-9a-f-]{36}$/.exec(archive.keyArn);
  if (!key) throw new Error(`'logArchive.keyArn' must be the ARN of a KMS key (given '${archive.keyArn}')`);
  if (key[1] !== archive.account) {
    throw new Error(`'logArchive.keyArn' must be a key of the log-archive account ${archive.account} (given '${archive.keyArn}')`);
  }
}
