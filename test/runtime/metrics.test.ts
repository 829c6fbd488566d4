/**
 * CloudWatch in the running runtime, on the example app and a virtual clock: a poison message
 * fails until SQS moves it to its consumer's dead-letter queue, the vended SQS gauges show it
 * there, the template's alarm on that queue goes to ALARM and notifies the template's topic,
 * and the five-minute queue-age alarm fires on the way, all in seconds of real time. Names,
 * thresholds and counts come from the catalog and the synthesized templates, read back through
 * the CloudWatch and SQS APIs with the SDK v3 clients.
 */
import {
  CloudWatchClient,
  DescribeAlarmHistoryCommand,
  DescribeAlarmsCommand,
  GetMetricDataCommand,
  ListMetricsCommand,
  type MetricAlarm,
} from '@aws-sdk/client-cloudwatch';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { app } from '../../catalog';
import { LoanApplicationSubmitted, underwriting } from '../../catalog/loans';
import { CloudAssembly, ensureSynth } from '../../assembly';
import { names } from '../../sdk/catalog';
import { REGION, startIdleDrivenHarness, waitFor, type Harness } from './helpers';

jest.setTimeout(240_000);

const prefix = names.consumerPrefix(app, underwriting.name);
const DLQ = `${prefix}-dlq`;

let h: Harness;
let cw: CloudWatchClient;
let poisonAt: number;

const alarmOn = (alarms: MetricAlarm[], metric: string, queue: string): MetricAlarm => {
  const found = alarms.find((a) => a.MetricName === metric && a.Dimensions?.some((d) => d.Name === 'QueueName' && d.Value === queue));
  if (!found) throw new Error(`no alarm on ${metric} of ${queue} among ${alarms.map((a) => a.AlarmName).join(', ')}`);
  return found;
};

async function allAlarms(): Promise<MetricAlarm[]> {
  const out: MetricAlarm[] = [];
  let token: string | undefined;
  do {
    const page = await cw.send(new DescribeAlarmsCommand({ NextToken: token }));
    out.push(...(page.MetricAlarms ?? []));
    token = page.NextToken;
  } while (token);
  return out;
}

async function sumOf(namespace: string, metric: string, dimensions: Record<string, string>): Promise<number> {
  const now = h.clock!.now();
  const r = await cw.send(
    new GetMetricDataCommand({
      StartTime: new Date(poisonAt - 3_600_000),
      EndTime: new Date(now + 60_000),
      MetricDataQueries: [
        {
          Id: 'm',
          MetricStat: {
            Metric: {
              Namespace: namespace,
              MetricName: metric,
              Dimensions: Object.entries(dimensions).map(([Name, Value]) => ({ Name, Value })),
            },
            Period: 60,
            Stat: 'Sum',
          },
        },
      ],
    }),
  );
  return (r.MetricDataResults?.[0]?.Values ?? []).reduce((a, b) => a + b, 0);
}

/**
 * The runtime on a virtual clock that jumps to its next timer once the app has been idle (no
 * event, no function running) for 5 ms rather than startIdleDrivenHarness's 25: the poison
 * message's receives and the alarm periods after them take about 150 jumps, which at 25 ms
 * each were most of this file's time. A running function still holds the clock.
 */
function startFastIdleHarness(assemblyDir: string): Promise<Harness> {
  // No prewarmed environments: the poison message runs underwriting alone (it starts on the first
  // receive, which holds the clock like any invocation), and the app's other two functions were
  // started only to be stopped.
  return startIdleDrivenHarness(assemblyDir, { prewarm: false }, 5);
}

beforeAll(async () => {
  h = await startFastIdleHarness(await ensureSynth());
  cw = new CloudWatchClient({
    endpoint: h.endpoint,
    region: REGION,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 1,
  });
  poisonAt = h.clock!.now();
  // A poison message: the bus accepts it, the catalog's schema does not (no amount), so the
  // consumer fails it on every receive until SQS moves it to the dead-letter queue.
  await h.events.send(
    new PutEventsCommand({
      Entries: [
        {
          EventBusName: app.eventBusName,
          Source: LoanApplicationSubmitted.source,
          DetailType: LoanApplicationSubmitted.detailType,
          Detail: JSON.stringify({
            metadata: { correlationId: 'metrics-poison', schemaVersion: '1' },
            data: { applicationId: 'app-poison' },
          }),
        },
      ],
    }),
  );
  const dlqAlarm = alarmOn(await allAlarms(), 'ApproximateNumberOfMessagesVisible', DLQ);
  await waitFor(
    `${dlqAlarm.AlarmName} in ALARM`,
    async () =>
      (await cw.send(new DescribeAlarmsCommand({ AlarmNames: [dlqAlarm.AlarmName!] }))).MetricAlarms?.[0]?.StateValue === 'ALARM' ||
      undefined,
    200_000,
    100,
  );
});

afterAll(async () => {
  cw?.destroy();
  await h?.close();
});

test("every alarm of the app's stacks is loaded, and alarms on metrics that never had data are OK as their TreatMissingData says", async () => {
  const alarms = await allAlarms();
  // Read from the templates themselves: each stack's alarm resources, named `<stack>-<logical id>` locally.
  const expected = CloudAssembly.load(await ensureSynth()).stacks.flatMap((s) =>
    Object.entries(s.template.Resources)
      .filter(([, r]) => r.Type === 'AWS::CloudWatch::Alarm')
      .map(([id]) => `${s.stackName}-${id}`),
  );
  expect(expected.length).toBeGreaterThan(0);
  expect(alarms.map((a) => a.AlarmName).sort()).toEqual(expected.sort());
  // Lambda throttles never happen locally: no datapoint, so only the missing-data setting decides.
  const throttles = alarms.filter((a) => a.MetricName === 'Throttles');
  expect(throttles.length).toBe(app.catalog.consumers.length);
  for (const a of throttles) {
    expect(a.TreatMissingData).toBe('notBreaching');
    expect(await sumOf('AWS/Lambda', 'Throttles', { FunctionName: a.Dimensions![0]!.Value! })).toBe(0);
    expect([a.AlarmName, a.StateValue]).toEqual([a.AlarmName, 'OK']);
  }
});

test("the poison message raises its consumer's dead-letter alarm, which notifies the template's topic", async () => {
  const alarm = alarmOn(await allAlarms(), 'ApproximateNumberOfMessagesVisible', DLQ);
  const topicArn = `arn:aws:sns:${REGION}:${alarm.AlarmArn!.split(':')[4]}:${names.alarmTopic(app)}`;
  expect(alarm.AlarmActions).toEqual([topicArn]);
  expect(alarm.StateValue).toBe('ALARM');
  expect(alarm.StateReason).toMatch(/^Threshold Crossed: 1 datapoint \[1\.0 \(.*\)\] was greater than the threshold \(0\.0\)\.$/);

  const history = (await cw.send(new DescribeAlarmHistoryCommand({ AlarmName: alarm.AlarmName, ScanBy: 'TimestampAscending' })))
    .AlarmHistoryItems!;
  const states = history.filter((i) => i.HistoryItemType === 'StateUpdate').map((i) => i.HistorySummary);
  expect(states[states.length - 1]).toBe('Alarm updated from OK to ALARM');
  const actions = history.filter((i) => i.HistoryItemType === 'Action').map((i) => i.HistorySummary);
  expect(actions).toContain(`Successfully executed action ${topicArn}`);

  const notified = h.recorded.of('alarm.notified', (p) => p.alarmName === alarm.AlarmName);
  expect(notified.map((p) => [p.topicArn, p.newState])).toContainEqual([topicArn, 'ALARM']);
  expect(h.lines.some((l) => l.startsWith(`SNS notification to ${topicArn}: ALARM: "${alarm.AlarmName}"`))).toBe(true);
});

test('the vended SQS metrics count every receive of the poison message up to maxReceiveCount', async () => {
  const url = h.queueUrl(prefix);
  const attrs = await h.sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['RedrivePolicy'] }));
  const { maxReceiveCount } = JSON.parse(attrs.Attributes!.RedrivePolicy!) as { maxReceiveCount: number };
  expect(await sumOf('AWS/SQS', 'NumberOfMessagesReceived', { QueueName: prefix })).toBe(maxReceiveCount);
  expect(await sumOf('AWS/SQS', 'NumberOfMessagesSent', { QueueName: prefix })).toBe(1);
  expect(await sumOf('AWS/SQS', 'NumberOfMessagesDeleted', { QueueName: prefix })).toBe(0);
  // SQS's own move to the dead-letter queue is not a send, as AWS documents for NumberOfMessagesSent.
  expect(await sumOf('AWS/SQS', 'NumberOfMessagesSent', { QueueName: DLQ })).toBe(0);
});

test('the rule and the function metrics: one matched event, one delivery, and an invocation and error per failed batch', async () => {
  const rule = { EventBusName: app.eventBusName, RuleName: prefix };
  expect(await sumOf('AWS/Events', 'MatchedEvents', rule)).toBe(1);
  expect(await sumOf('AWS/Events', 'MatchedEvents', { EventBusName: app.eventBusName })).toBe(1);
  expect(await sumOf('AWS/Events', 'Invocations', rule)).toBe(1);
  expect(await sumOf('AWS/Events', 'FailedInvocations', rule)).toBe(0);
  expect(await sumOf('AWS/Events', 'PutEventsEntriesCount', {})).toBe(1);
  expect(await sumOf('AWS/Events', 'PutEventsFailedEntriesCount', {})).toBe(0);
  // A batch whose every record failed makes the handler throw (Powertools' FullBatchFailureError): a function error.
  const completed = h.recorded.of('function.completed', (p) => p.functionName === prefix).length;
  const failed = h.recorded.of('function.failed', (p) => p.functionName === prefix).length;
  expect(failed).toBeGreaterThan(0);
  expect(await sumOf('AWS/Lambda', 'Invocations', { FunctionName: prefix })).toBe(completed + failed);
  expect(await sumOf('AWS/Lambda', 'Errors', { FunctionName: prefix })).toBe(failed);
});

test('the five-minute queue-age alarm goes to ALARM while the poison message waits, and back to OK once it left', async () => {
  const alarm = alarmOn(await allAlarms(), 'ApproximateAgeOfOldestMessage', prefix);
  const attrs = await h.sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: h.queueUrl(prefix), AttributeNames: ['RedrivePolicy', 'VisibilityTimeout'] }),
  );
  const { maxReceiveCount } = JSON.parse(attrs.Attributes!.RedrivePolicy!) as { maxReceiveCount: number };
  const waited = (maxReceiveCount - 1) * Number(attrs.Attributes!.VisibilityTimeout);
  // The template's numbers make this the five-minute case: the message is older than the
  // threshold for more than EvaluationPeriods consecutive periods before SQS moves it.
  expect(waited).toBeGreaterThan(alarm.Threshold! + (alarm.EvaluationPeriods! + 1) * alarm.Period!);
  expect(alarm.EvaluationPeriods! * alarm.Period!).toBe(300);
  const states = async () =>
    (
      await cw.send(
        new DescribeAlarmHistoryCommand({ AlarmName: alarm.AlarmName, HistoryItemType: 'StateUpdate', ScanBy: 'TimestampAscending' }),
      )
    ).AlarmHistoryItems!.map((i) => i.HistorySummary);
  // Back to OK takes one more sample and evaluation after the message left.
  const history = await waitFor(
    'the queue-age alarm back to OK',
    async () => ((await states()).length >= 3 ? states() : undefined),
    60_000,
    100,
  );
  expect(history).toEqual([
    'Alarm updated from INSUFFICIENT_DATA to OK',
    'Alarm updated from OK to ALARM',
    'Alarm updated from ALARM to OK',
  ]);
});

test("the handler's EMF metrics arrive in the app's namespace", async () => {
  const listed = await cw.send(new ListMetricsCommand({ Namespace: app.metricsNamespace, MetricName: 'InvalidEvents' }));
  const metric = listed.Metrics?.[0];
  expect(metric).toBeDefined();
  const dims = Object.fromEntries((metric!.Dimensions ?? []).map((d) => [d.Name!, d.Value!]));
  const url = h.queueUrl(prefix);
  const attrs = await h.sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['RedrivePolicy'] }));
  const { maxReceiveCount } = JSON.parse(attrs.Attributes!.RedrivePolicy!) as { maxReceiveCount: number };
  expect(await sumOf(app.metricsNamespace, 'InvalidEvents', dims)).toBe(maxReceiveCount);
});
