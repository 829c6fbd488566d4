/**
 * `aws cloudwatch get-metric-data` and `aws cloudwatch describe-alarms`, unmodified (AWS CLI v1,
 * JSON 1.0 protocol), and the SDK v3 CloudWatch client (RPC v2 CBOR), against the runtime running
 * the example app. Alarm names come from the synthesized templates, metric names and dimensions
 * from the catalog.
 */
import { CloudWatchClient, GetMetricStatisticsCommand, ListMetricsCommand } from '@aws-sdk/client-cloudwatch';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { app } from '../../catalog';
import { LoanApplicationSubmitted, underwriting } from '../../catalog/loans';
import { CloudAssembly, ensureSynth } from '../../assembly';
import { names } from '../../sdk/catalog';
import { REGION, aws, startIdleDrivenHarness, waitFor, type Harness } from './helpers';

jest.setTimeout(180_000);

const rule = names.consumerPrefix(app, underwriting.name);
let h: Harness;
let cw: CloudWatchClient;
let templateAlarms: string[];
let publishedAt: number;

beforeAll(async () => {
  const dir = await ensureSynth();
  templateAlarms = CloudAssembly.load(dir).stacks.flatMap((s) =>
    Object.entries(s.template.Resources)
      .filter(([, r]) => r.Type === 'AWS::CloudWatch::Alarm')
      .map(([id]) => `${s.stackName}-${id}`),
  );
  // No prewarmed environments: the one event runs underwriting alone (started by its first
  // receive); the app's other two functions would be started only to be stopped.
  h = await startIdleDrivenHarness(dir, { prewarm: false });
  cw = new CloudWatchClient({
    endpoint: h.endpoint,
    region: REGION,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 1,
  });
  publishedAt = h.clock!.now();
  await h.events.send(
    new PutEventsCommand({
      Entries: [
        {
          EventBusName: app.eventBusName,
          Source: LoanApplicationSubmitted.source,
          DetailType: LoanApplicationSubmitted.detailType,
          Detail: JSON.stringify({ metadata: { correlationId: 'cli', schemaVersion: '1' }, data: { applicationId: 'app-cli' } }),
        },
      ],
    }),
  );
  // Every alarm has been evaluated once (each leaves INSUFFICIENT_DATA on its first evaluation).
  await waitFor(
    'the first evaluation of every alarm',
    () => (h.recorded.of('alarm.state-changed').length >= templateAlarms.length ? true : undefined),
    60_000,
  );
});

afterAll(async () => {
  cw?.destroy();
  await h?.close();
});

const iso = (t: number) => new Date(t).toISOString();

test('aws cloudwatch describe-alarms lists every alarm of the templates with its evaluated state', async () => {
  const r = await aws(h.endpoint, 'cloudwatch', 'describe-alarms');
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  const alarms = r.json.MetricAlarms as { AlarmName: string; StateValue: string; AlarmActions: string[] }[];
  expect(alarms.map((a) => a.AlarmName).sort()).toEqual([...templateAlarms].sort());
  expect(alarms.filter((a) => a.StateValue === 'INSUFFICIENT_DATA')).toEqual([]);
  for (const a of alarms) expect(a.AlarmActions.every((x) => x.endsWith(`:${names.alarmTopic(app)}`))).toBe(true);

  const one = await aws(h.endpoint, 'cloudwatch', 'describe-alarms', '--alarm-names', templateAlarms[0]!, '--state-value', 'OK');
  expect(one.code).toBe(0);
  expect((one.json.MetricAlarms as unknown[]).length).toBeLessThanOrEqual(1);
});

test('aws cloudwatch get-metric-data returns the rule and queue metrics of one published event', async () => {
  const queries = [
    {
      Id: 'matched',
      MetricStat: {
        Metric: {
          Namespace: 'AWS/Events',
          MetricName: 'MatchedEvents',
          Dimensions: [
            { Name: 'EventBusName', Value: app.eventBusName },
            { Name: 'RuleName', Value: rule },
          ],
        },
        Period: 60,
        Stat: 'Sum',
      },
    },
    {
      Id: 'sent',
      MetricStat: {
        Metric: { Namespace: 'AWS/SQS', MetricName: 'NumberOfMessagesSent', Dimensions: [{ Name: 'QueueName', Value: rule }] },
        Period: 60,
        Stat: 'Sum',
      },
    },
  ];
  const r = await aws(
    h.endpoint,
    'cloudwatch',
    'get-metric-data',
    '--metric-data-queries',
    JSON.stringify(queries),
    '--start-time',
    iso(publishedAt - 3_600_000),
    '--end-time',
    iso(h.clock!.now() + 60_000),
  );
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  const results = r.json.MetricDataResults as { Id: string; Values: number[]; Timestamps: string[]; StatusCode: string }[];
  const sum = (id: string) => results.find((x) => x.Id === id)!.Values.reduce((a, b) => a + b, 0);
  expect(sum('matched')).toBe(1);
  expect(sum('sent')).toBe(1);
  expect(results.every((x) => x.StatusCode === 'Complete')).toBe(true);
});

test('aws cloudwatch get-metric-data refuses a query id CloudWatch refuses, naming it', async () => {
  const bad = [
    { Id: 'Bad-Id', MetricStat: { Metric: { Namespace: 'AWS/SQS', MetricName: 'NumberOfMessagesSent' }, Period: 60, Stat: 'Sum' } },
  ];
  const r = await aws(
    h.endpoint,
    'cloudwatch',
    'get-metric-data',
    '--metric-data-queries',
    JSON.stringify(bad),
    '--start-time',
    iso(publishedAt - 60_000),
    '--end-time',
    iso(publishedAt + 60_000),
  );
  expect(r.code).not.toBe(0);
  expect(r.stderr).toMatch(/InvalidParameterValue/);
  expect(r.stderr).toMatch(/Bad-Id/);
});

test('the SDK v3 client reads the same metrics with GetMetricStatistics and ListMetrics', async () => {
  const stats = await cw.send(
    new GetMetricStatisticsCommand({
      Namespace: 'AWS/SQS',
      MetricName: 'NumberOfMessagesSent',
      Dimensions: [{ Name: 'QueueName', Value: rule }],
      StartTime: new Date(publishedAt - 3_600_000),
      EndTime: new Date(h.clock!.now() + 60_000),
      Period: 60,
      Statistics: ['Sum', 'SampleCount'],
    }),
  );
  expect(stats.Datapoints?.reduce((a, d) => a + (d.Sum ?? 0), 0)).toBe(1);
  expect(stats.Datapoints?.every((d) => d.Unit === 'Count')).toBe(true);
  const listed = await cw.send(new ListMetricsCommand({ Namespace: 'AWS/Events', MetricName: 'MatchedEvents' }));
  const dims = (listed.Metrics ?? []).map((m) => Object.fromEntries((m.Dimensions ?? []).map((d) => [d.Name, d.Value])));
  expect(dims).toContainEqual({ EventBusName: app.eventBusName, RuleName: rule });
  expect(dims).toContainEqual({ EventBusName: app.eventBusName });
});
