/**
 * Alarms on every place an event can get stuck or be lost, sent to an encrypted SNS topic, and a
 * dashboard of the flow per consumer.
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
import { EventRouter } from './event-router';

export interface ObservabilityProps {
  /** Key for the alarm topic. */
  readonly encryptionKey: kms.IKey;
  /** The router whose bus-level dead-letter queue is watched. */
  readonly router: EventRouter;
  /** The consumers whose rule, queues and function are watched. */
  readonly consumers: readonly BufferedConsumer[];
  /**
   * Email address subscribed to the alarm topic (the recipient must confirm the subscription).
   * @default - no subscription; subscribe your paging tool to the `AlarmTopicArn` output
   */
  readonly alarmEmail?: string;
  /**
   * Age of the oldest message in a buffer queue above which consumers are falling behind.
   * @default Duration.minutes(5)
   */
  readonly maxMessageAge?: Duration;
  /**
   * The trail's CloudWatch Logs group. When given, EventBridge calls that were denied (someone
   * publishing outside their grant, or touching rules) raise an alarm.
   * @default - no audit alarm (e.g. with an organisation trail)
   */
  readonly auditLogGroup?: logs.ILogGroup;

  /**
   * Name of the dashboard.
   * @default - `<stack name>-flow`
   */
  readonly dashboardName?: string;
}

export class Observability extends Construct {
  /** Encrypted topic every alarm notifies, on ALARM and on OK. */
  public readonly alarmTopic: sns.Topic;
  /** Every alarm, by construct id (e.g. `UnderwritingDeadLetterQueueAlarm`). */
  public readonly alarms: Record<string, cloudwatch.Alarm> = {};
  /** The flow dashboard. */
  public readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: ObservabilityProps) {
    super(scope, id);
    const stack = Stack.of(this);
    if (props.alarmEmail !== undefined && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(props.alarmEmail)) {
      throw new Error(`'alarmEmail' must be an email address (given '${props.alarmEmail}')`);
    }
    const maxAge = props.maxMessageAge ?? Duration.minutes(5);
    if (maxAge.toSeconds() < 60) {
      throw new Error(`'maxMessageAge' must be at least 1 minute (given ${maxAge.toHumanString()})`);
    }
    const topicName = `${stack.stackName}-alarms`;
    checkLength('topicName', topicName, 256);
    const topicArn = stack.formatArn({ service: 'sns', resource: topicName, arnFormat: ArnFormat.NO_RESOURCE_NAME });

    this.alarmTopic = new sns.Topic(this, 'AlarmTopic', {
      topicName,
      masterKey: props.encryptionKey,
      enforceSSL: true,
    });
    const cloudwatchPrincipal = new iam.ServicePrincipal('cloudwatch.amazonaws.com');
    const fromOwnAlarms = {
      StringEquals: { 'aws:SourceAccount': stack.account },
      ArnLike: {
        'aws:SourceArn': stack.formatArn({
          service: 'cloudwatch',
          resource: 'alarm',
          resourceName: '*',
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        }),
      },
    };
    // Alarms publish to an encrypted topic only if CloudWatch may use the key for that topic.
    // Scoped by the topic's encryption context, which SNS always sends; the alarm-source
    // conditions sit on the topic policy, where CloudWatch documents them, so a missing context
    // key can never silence every alarm at once.
    // @see https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html
    props.encryptionKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarmsToEncryptForAlarmTopic',
        principals: [cloudwatchPrincipal],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: { StringEquals: { 'kms:EncryptionContext:aws:sns:topicArn': topicArn } },
      }),
    );
    this.alarmTopic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowOwnAlarmsToPublish',
        principals: [cloudwatchPrincipal],
        actions: ['sns:Publish'],
        resources: [this.alarmTopic.topicArn],
        conditions: fromOwnAlarms,
      }),
    );
    if (props.alarmEmail) {
      this.alarmTopic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
    }

    const busName = props.router.eventBusName;
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: props.dashboardName ?? `${stack.stackName}-flow`,
      defaultInterval: Duration.hours(3),
    });
    this.dashboard.addWidgets(
      new cloudwatch.TextWidget({
        markdown: `# ${busName}\nPer consumer: rule -> buffer queue -> function -> dead-letter queues. Any DLQ above zero is an alarm.`,
        width: 24,
        height: 2,
      }),
    );

    for (const c of props.consumers) {
      const name = c.node.id;
      const ruleMetric = (metricName: string) =>
        new cloudwatch.Metric({
          namespace: 'AWS/Events',
          metricName,
          dimensionsMap: { EventBusName: busName, RuleName: c.rule.ruleName },
          statistic: 'Sum',
          period: Duration.minutes(1),
        });
      this.dlqAlarm(
        `${name}DeadLetterQueueAlarm`,
        c.deadLetterQueue,
        `${name}: messages the function failed maxReceiveCount times. Inspect, fix, then redrive.`,
      );
      this.dlqAlarm(
        `${name}DeliveryDeadLetterQueueAlarm`,
        c.deliveryDeadLetterQueue,
        `${name}: events EventBridge could not deliver to the buffer queue. Check queue policy and key policy, then redrive.`,
      );
      this.alarm(
        `${name}QueueAgeAlarm`,
        c.queue.metricApproximateAgeOfOldestMessage({ statistic: 'Maximum', period: Duration.minutes(1) }),
        {
          threshold: maxAge.toSeconds(),
          evaluationPeriods: 5,
          description: `${name}: oldest buffered message older than ${maxAge.toHumanString()} for 5 minutes. The consumer is failing or too slow.`,
        },
      );
      this.alarm(`${name}FunctionErrorsAlarm`, c.function.metricErrors({ statistic: 'Sum', period: Duration.minutes(1) }), {
        threshold: 0,
        description: `${name}: the function threw (whole batch retried). Check its logs.`,
      });
      this.alarm(`${name}FunctionThrottlesAlarm`, c.function.metricThrottles({ statistic: 'Sum', period: Duration.minutes(1) }), {
        threshold: 0,
        description: `${name}: invocations throttled. Check account concurrency and the event source maxConcurrency.`,
      });
      this.alarm(`${name}RuleFailedInvocationsAlarm`, ruleMetric('FailedInvocations'), {
        threshold: 0,
        description: `${name}: EventBridge failed to deliver to the buffer queue (retrying). Check queue and key policies.`,
      });
      this.alarm(`${name}RuleDeadLetterFailuresAlarm`, ruleMetric('InvocationsFailedToBeSentToDlq'), {
        threshold: 0,
        description: `${name}: EventBridge could not even write to the delivery DLQ: events are being dropped. Fix the DLQ policy or key now.`,
      });

      this.dashboard.addWidgets(
        new cloudwatch.TextWidget({ markdown: `## ${c.function.functionName}`, width: 24, height: 1 }),
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
        new cloudwatch.GraphWidget({
          title: `${name}: dead-letter queues`,
          left: [
            c.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
              period: Duration.minutes(1),
              statistic: 'Maximum',
              label: 'redrive DLQ',
            }),
            c.deliveryDeadLetterQueue.metricApproximateNumberOfMessagesVisible({
              period: Duration.minutes(1),
              statistic: 'Maximum',
              label: 'delivery DLQ',
            }),
          ],
          width: 6,
        }),
      );
    }
    if (props.auditLogGroup) {
      // Request-level denials carry an errorCode such as AccessDeniedException in CloudTrail.
      const filter = new logs.MetricFilter(this, 'DeniedEventBridgeCallsFilter', {
        logGroup: props.auditLogGroup,
        filterPattern: logs.FilterPattern.literal('{ ($.eventSource = "events.amazonaws.com") && ($.errorCode = "AccessDenied*") }'),
        metricNamespace: 'LoanEvents/Audit',
        metricName: 'DeniedEventBridgeCalls',
        metricValue: '1',
        defaultValue: 0,
      });
      this.alarm('DeniedEventBridgeCallsAlarm', filter.metric({ statistic: 'Sum', period: Duration.minutes(5) }), {
        threshold: 0,
        description:
          'An EventBridge call was denied: a principal tried to publish outside its catalog grant or to change rules. Look it up in the trail (docs/deploy.md, audit queries).',
      });
    }
    this.dlqAlarm(
      'BusDeadLetterQueueAlarm',
      props.router.deadLetterQueue,
      'Events the bus could not encrypt or decrypt (KMS errors). Check the key state and key policy, then redrive.',
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Bus dead-letter queue (KMS errors)',
        left: [
          props.router.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' }),
        ],
        width: 12,
      }),
      new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: Object.values(this.alarms), width: 12 }),
    );
  }

  private dlqAlarm(id: string, queue: sqs.IQueue, description: string): cloudwatch.Alarm {
    return this.alarm(id, queue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: Duration.minutes(1) }), {
      threshold: 0,
      description,
    });
  }

  private alarm(
    id: string,
    metric: cloudwatch.IMetric,
    opts: { threshold: number; description: string; evaluationPeriods?: number },
  ): cloudwatch.Alarm {
    const alarm = new cloudwatch.Alarm(this, id, {
      metric,
      threshold: opts.threshold,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: opts.evaluationPeriods ?? 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: opts.description,
    });
    alarm.addAlarmAction(new actions.SnsAction(this.alarmTopic));
    alarm.addOkAction(new actions.SnsAction(this.alarmTopic));
    this.alarms[id] = alarm;
    return alarm;
  }
}
