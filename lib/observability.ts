/**
 * Alarms on every place an event can get stuck or be lost, sent to an encrypted SNS topic, and
 * dashboards of the flow. The router stack owns the topic and watches the bus; each consumer
 * stack watches its own rule, queues and function and notifies the topic by its deterministic ARN.
 */
import { ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { BufferedConsumer } from './buffered-consumer';
import { checkLength } from './defaults';

/**
 * Denied calls as CloudTrail records them, in the services an intruder would go through: the
 * bus (`AccessDeniedException`, and `NotAuthorizedForSourceException`/`…DetailTypeException` where
 * a call fails whole), SQS (`AccessDenied`, and `KMS.AccessDeniedException` when the queue's key
 * refuses the caller), KMS (`AccessDeniedException`) and STS (`AccessDenied` on AssumeRole of a
 * publisher role). `AccessDenied*` covers the first two spellings; the others are matched by name.
 * @see https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html
 * @see https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html
 */
export const DENIED_CALLS_FILTER_PATTERN =
  '{ (($.eventSource = "events.amazonaws.com") || ($.eventSource = "sqs.amazonaws.com") || ($.eventSource = "kms.amazonaws.com") || ($.eventSource = "sts.amazonaws.com")) && (($.errorCode = "AccessDenied*") || ($.errorCode = "*UnauthorizedOperation") || ($.errorCode = "NotAuthorizedFor*") || ($.errorCode = "KMS.AccessDenied*")) }';

/**
 * Calls that take a key out of service or change who may use it: the first thing an attacker who
 * wants to blind the alarms or lock the data away does, and an outage in its own right. A
 * deployment that changes a key policy matches too, which is meant: policy changes are reviewed.
 */
export const KEY_CHANGES_FILTER_PATTERN =
  '{ ($.eventSource = "kms.amazonaws.com") && (($.eventName = "DisableKey") || ($.eventName = "ScheduleKeyDeletion") || ($.eventName = "PutKeyPolicy")) }';

/**
 * Entries of `PutEvents` calls that EventBridge refused one by one (the call succeeds, so the
 * trail shows no error code). AWS publishes the metric with no dimension: it counts every bus of
 * the account in the region.
 * @see https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-monitoring.html
 */
export const PUT_EVENTS_FAILED_ENTRIES_METRIC = 'PutEventsFailedEntriesCount';

/** Creates alarms that notify `topic` on ALARM and on OK, and keeps them by id. */
class AlarmFactory {
  public readonly alarms: Record<string, cloudwatch.Alarm> = {};
  constructor(
    private readonly scope: Construct,
    private readonly topic: sns.ITopic,
  ) {}

  public dlq(id: string, queue: sqs.IQueue, description: string): cloudwatch.Alarm {
    return this.alarm(id, queue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: Duration.minutes(1) }), {
      threshold: 0,
      description,
    });
  }

  public alarm(
    id: string,
    metric: cloudwatch.IMetric,
    opts: { threshold: number; description: string; evaluationPeriods?: number },
  ): cloudwatch.Alarm {
    const alarm = new cloudwatch.Alarm(this.scope, id, {
      metric,
      threshold: opts.threshold,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: opts.evaluationPeriods ?? 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: opts.description,
    });
    alarm.addAlarmAction(new actions.SnsAction(this.topic));
    alarm.addOkAction(new actions.SnsAction(this.topic));
    this.alarms[id] = alarm;
    return alarm;
  }
}

/**
 * An encrypted alarm topic that only this account's CloudWatch alarms may publish to. Scoped on
 * the key by the topic's encryption context, which SNS always sends; the alarm-source conditions
 * sit on the topic policy, where CloudWatch documents them, so a missing context key can never
 * silence every alarm at once.
 * @see https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html
 */
export function alarmTopic(
  scope: Construct,
  id: string,
  props: { topicName: string; encryptionKey: kms.IKey; alarmEmail?: string },
): sns.Topic {
  const stack = Stack.of(scope);
  if (props.alarmEmail !== undefined && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(props.alarmEmail)) {
    throw new Error(`'alarmEmail' must be an email address (given '${props.alarmEmail}')`);
  }
  checkLength('topicName', props.topicName, 256);
  const topicArn = stack.formatArn({ service: 'sns', resource: props.topicName, arnFormat: ArnFormat.NO_RESOURCE_NAME });
  const topic = new sns.Topic(scope, id, { topicName: props.topicName, masterKey: props.encryptionKey, enforceSSL: true });
  const cloudwatchPrincipal = new iam.ServicePrincipal('cloudwatch.amazonaws.com');
  props.encryptionKey.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'AllowCloudWatchAlarmsToEncryptForAlarmTopic',
      principals: [cloudwatchPrincipal],
      actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      resources: ['*'],
      conditions: { StringEquals: { 'kms:EncryptionContext:aws:sns:topicArn': topicArn } },
    }),
  );
  topic.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'AllowOwnAlarmsToPublish',
      principals: [cloudwatchPrincipal],
      actions: ['sns:Publish'],
      resources: [topic.topicArn],
      conditions: {
        StringEquals: { 'aws:SourceAccount': stack.account },
        ArnLike: {
          'aws:SourceArn': stack.formatArn({
            service: 'cloudwatch',
            resource: 'alarm',
            resourceName: '*',
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          }),
        },
      },
    }),
  );
  if (props.alarmEmail) topic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
  return topic;
}

export interface RouterObservabilityProps {
  /** Key for the alarm topic. */
  readonly encryptionKey: kms.IKey;
  /** Name of the shared alarm topic, which consumer stacks notify by ARN. */
  readonly topicName: string;
  /** Name of the bus, for the dashboard. */
  readonly eventBusName: string;
  /** The bus-level dead-letter queue (KMS errors). */
  readonly busDeadLetterQueue: sqs.IQueue;
  /**
   * Email address subscribed to the alarm topic (the recipient must confirm the subscription).
   * @default - no subscription; subscribe your paging tool to the `AlarmTopicArn` output
   */
  readonly alarmEmail?: string;
  /**
   * The trail's CloudWatch Logs group. When given, EventBridge calls that were denied (someone
   * publishing outside their grant, or touching rules) raise an alarm.
   * @default - no audit alarm (e.g. with an organisation trail)
   */
  readonly auditLogGroup?: logs.ILogGroup;
  /** Namespace of the audit metric. */
  readonly metricsNamespace: string;
  /** @default - `<stack name>-flow` */
  readonly dashboardName?: string;
}

/** The shared alarm topic, the bus's alarms and its dashboard (router stack). */
export class RouterObservability extends Construct {
  /** Encrypted topic every alarm of the app notifies, on ALARM and on OK. */
  public readonly alarmTopic: sns.Topic;
  /** Every alarm, by construct id (e.g. `BusDeadLetterQueueAlarm`). */
  public readonly alarms: Record<string, cloudwatch.Alarm>;
  public readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: RouterObservabilityProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.alarmTopic = alarmTopic(this, 'AlarmTopic', {
      topicName: props.topicName,
      encryptionKey: props.encryptionKey,
      alarmEmail: props.alarmEmail,
    });
    const alarms = new AlarmFactory(this, this.alarmTopic);
    this.alarms = alarms.alarms;
    const auditLogGroup = props.auditLogGroup;
    if (auditLogGroup) {
      // A count of matching trail records and an alarm on any of them in five minutes.
      const auditAlarm = (name: string, pattern: string, description: string) => {
        const filter = new logs.MetricFilter(this, `${name}Filter`, {
          logGroup: auditLogGroup,
          filterPattern: logs.FilterPattern.literal(pattern),
          metricNamespace: `${props.metricsNamespace}/Audit`,
          metricName: name,
          metricValue: '1',
          defaultValue: 0,
        });
        alarms.alarm(`${name}Alarm`, filter.metric({ statistic: 'Sum', period: Duration.minutes(5) }), { threshold: 0, description });
      };
      auditAlarm(
        'DeniedEventBridgeCalls',
        DENIED_CALLS_FILTER_PATTERN,
        'A call to EventBridge, SQS, KMS or STS was denied: a principal tried to publish outside its catalog grant, change rules, read a queue or use a key. Look it up in the trail (docs/deploy.md, audit queries).',
      );
      auditAlarm(
        'KeyChanges',
        KEY_CHANGES_FILTER_PATTERN,
        'A KMS key of the account was disabled, scheduled for deletion or had its policy replaced (a deployment that changes a key policy does this too). If it is one of the app keys, events and alarms may stop: check the key now (docs/security.md).',
      );
    }
    alarms.alarm(
      'PutEventsFailedEntriesAlarm',
      new cloudwatch.Metric({
        namespace: 'AWS/Events',
        metricName: PUT_EVENTS_FAILED_ENTRIES_METRIC,
        statistic: 'Sum',
        period: Duration.minutes(5),
      }),
      {
        threshold: 0,
        description:
          'EventBridge refused entries of PutEvents calls (account-wide: the metric has no bus dimension). A publisher may be sending events it is not granted, or the bus key may be failing. Find the caller in the trail.',
      },
    );
    alarms.dlq(
      'BusDeadLetterQueueAlarm',
      props.busDeadLetterQueue,
      'Events the bus could not encrypt or decrypt (KMS errors). Check the key state and key policy, then redrive.',
    );
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: props.dashboardName ?? `${stack.stackName}-flow`,
      defaultInterval: Duration.hours(3),
    });
    this.dashboard.addWidgets(
      new cloudwatch.TextWidget({
        markdown: `# ${props.eventBusName}\nEach consumer has a dashboard of its own: rule -> buffer queue -> function -> dead-letter queues.`,
        width: 24,
        height: 2,
      }),
      new cloudwatch.GraphWidget({
        title: 'Bus dead-letter queue (KMS errors)',
        left: [props.busDeadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' })],
        width: 12,
      }),
      new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: Object.values(this.alarms), width: 12 }),
    );
  }
}

export interface ConsumerObservabilityProps {
  /** The consumer to watch. */
  readonly consumer: BufferedConsumer;
  /** Name of the bus (rule metrics are dimensioned by it). */
  readonly eventBusName: string;
  /** The topic alarms notify: the shared one by ARN, or one of the consumer's own in another account. */
  readonly alarmTopic: sns.ITopic;
  /**
   * Age of the oldest message in a buffer queue above which the consumer is falling behind.
   * @default Duration.minutes(5)
   */
  readonly maxMessageAge?: Duration;
  /** @default - `<consumer prefix>-flow` */
  readonly dashboardName: string;
}

/** Alarms and a dashboard of one consumer (consumer stack). */
export class ConsumerObservability extends Construct {
  public readonly alarms: Record<string, cloudwatch.Alarm>;
  public readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: ConsumerObservabilityProps) {
    super(scope, id);
    const c = props.consumer;
    const maxAge = props.maxMessageAge ?? Duration.minutes(5);
    if (maxAge.toSeconds() < 60) {
      throw new Error(`'maxMessageAge' must be at least 1 minute (given ${maxAge.toHumanString()})`);
    }
    const alarms = new AlarmFactory(this, props.alarmTopic);
    this.alarms = alarms.alarms;
    const name = c.node.id;
    const ruleMetric = (metricName: string) =>
      new cloudwatch.Metric({
        namespace: 'AWS/Events',
        metricName,
        dimensionsMap: { EventBusName: props.eventBusName, RuleName: c.names.rule },
        statistic: 'Sum',
        period: Duration.minutes(1),
      });
    alarms.dlq(
      `${name}DeadLetterQueueAlarm`,
      c.deadLetterQueue,
      `${name}: messages the function failed maxReceiveCount times. Inspect, fix, then redrive.`,
    );
    if (c.deliveryDeadLetterQueue) {
      alarms.dlq(
        `${name}DeliveryDeadLetterQueueAlarm`,
        c.deliveryDeadLetterQueue,
        `${name}: events EventBridge could not deliver to the buffer queue. Check queue policy and key policy, then redrive.`,
      );
    }
    alarms.alarm(
      `${name}QueueAgeAlarm`,
      c.queue.metricApproximateAgeOfOldestMessage({ statistic: 'Maximum', period: Duration.minutes(1) }),
      {
        threshold: maxAge.toSeconds(),
        evaluationPeriods: 5,
        description: `${name}: oldest buffered message older than ${maxAge.toHumanString()} for 5 minutes. The consumer is failing or too slow.`,
      },
    );
    alarms.alarm(`${name}FunctionErrorsAlarm`, c.function.metricErrors({ statistic: 'Sum', period: Duration.minutes(1) }), {
      threshold: 0,
      description: `${name}: the function threw (whole batch retried). Check its logs.`,
    });
    alarms.alarm(`${name}FunctionThrottlesAlarm`, c.function.metricThrottles({ statistic: 'Sum', period: Duration.minutes(1) }), {
      threshold: 0,
      description: `${name}: invocations throttled. Check account concurrency and the event source maxConcurrency.`,
    });
    // Rule metrics are published in the bus's account: a remote consumer's subscription stack watches them.
    if (c.rule) {
      alarms.alarm(`${name}RuleFailedInvocationsAlarm`, ruleMetric('FailedInvocations'), {
        threshold: 0,
        description: `${name}: EventBridge failed to deliver to the buffer queue (retrying). Check queue and key policies.`,
      });
      alarms.alarm(`${name}RuleDeadLetterFailuresAlarm`, ruleMetric('InvocationsFailedToBeSentToDlq'), {
        threshold: 0,
        description: `${name}: EventBridge could not even write to the delivery DLQ: events are being dropped. Fix the DLQ policy or key now.`,
      });
    }
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: props.dashboardName,
      defaultInterval: Duration.hours(3),
    });
    const dlqs = [
      c.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(1),
        statistic: 'Maximum',
        label: 'redrive DLQ',
      }),
      ...(c.deliveryDeadLetterQueue
        ? [
            c.deliveryDeadLetterQueue.metricApproximateNumberOfMessagesVisible({
              period: Duration.minutes(1),
              statistic: 'Maximum',
              label: 'delivery DLQ',
            }),
          ]
        : []),
    ];
    this.dashboard.addWidgets(
      new cloudwatch.TextWidget({ markdown: `## ${c.names.function}`, width: 24, height: 1 }),
      ...(c.rule
        ? [
            new cloudwatch.GraphWidget({
              title: `${name}: rule`,
              left: [
                ruleMetric('MatchedEvents'),
                ruleMetric('Invocations'),
                ruleMetric('FailedInvocations'),
                ruleMetric('InvocationsSentToDlq'),
              ],
              width: 6,
            }),
          ]
        : []),
      new cloudwatch.GraphWidget({
        title: `${name}: buffer queue`,
        left: [
          c.queue.metricNumberOfMessagesSent({ period: Duration.minutes(1) }),
          c.queue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1) }),
        ],
        right: [c.queue.metricApproximateAgeOfOldestMessage({ period: Duration.minutes(1), statistic: 'Maximum' })],
        width: 6,
      }),
      new cloudwatch.GraphWidget({
        title: `${name}: function`,
        left: [
          c.function.metricInvocations({ period: Duration.minutes(1) }),
          c.function.metricErrors({ period: Duration.minutes(1) }),
          c.function.metricThrottles({ period: Duration.minutes(1) }),
        ],
        right: [c.function.metricDuration({ period: Duration.minutes(1), statistic: 'p99' })],
        width: 6,
      }),
      new cloudwatch.GraphWidget({ title: `${name}: dead-letter queues`, left: dlqs, width: 6 }),
      new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: Object.values(this.alarms), width: 24 }),
    );
  }
}
