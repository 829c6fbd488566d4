import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cbor } from '@smithy/core/cbor';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { AlarmRegistry } from '../../../runtime/cloudwatch/alarms';
import { handleCloudWatchRequest, type CloudWatchBackend } from '../../../runtime/cloudwatch/cloudwatch-api';
import { MetricStore, parseEmf, percentile, EmfError } from '../../../runtime/cloudwatch/metric-store';
import { serveCloudWatch, decodeQuery } from '../../../runtime/cloudwatch/protocols';
import { runAwsCli } from '../aws-cli';

const T0 = Date.parse('2026-11-29T12:00:30Z');
const MIN = 60_000;

function backend(): CloudWatchBackend & { advance: (ms: number) => void } {
  let now = T0;
  const metrics = new MetricStore({ now: () => now });
  const alarms = new AlarmRegistry({ now: () => now, metrics, accountId: '111122223333' });
  return { metrics, alarms, advance: (ms) => (now += ms) };
}

const queue = [{ Name: 'QueueName', Value: 'LoanEvents-underwriting' }];

describe('CloudWatch handler', () => {
  test('PutMetricData then GetMetricStatistics: every statistic and a percentile, per period', () => {
    const b = backend();
    const call = (op: string, input: unknown) => handleCloudWatchRequest(b, op, input);
    call('PutMetricData', {
      Namespace: 'LoanEvents',
      MetricData: [
        { MetricName: 'Latency', Dimensions: queue, Timestamp: (T0 - MIN) / 1000, Values: [10, 20, 30, 40], Unit: 'Milliseconds' },
        { MetricName: 'Latency', Dimensions: queue, Timestamp: (T0 - MIN) / 1000, Value: 100, Unit: 'Milliseconds' },
        {
          MetricName: 'Latency',
          Dimensions: queue,
          Timestamp: T0 / 1000,
          StatisticValues: { SampleCount: 2, Sum: 10, Minimum: 4, Maximum: 6 },
          Unit: 'Milliseconds',
        },
      ],
    });
    const r = call('GetMetricStatistics', {
      Namespace: 'LoanEvents',
      MetricName: 'Latency',
      Dimensions: queue,
      StartTime: (T0 - 10 * MIN) / 1000,
      EndTime: (T0 + MIN) / 1000,
      Period: 60,
      Statistics: ['SampleCount', 'Sum', 'Average', 'Minimum', 'Maximum'],
      ExtendedStatistics: ['p50', 'p99'],
    }) as { Datapoints: Record<string, unknown>[] };
    expect(r.Datapoints).toEqual([
      {
        Timestamp: new Date(Date.parse('2026-11-29T11:59:00Z')),
        SampleCount: 5,
        Sum: 200,
        Average: 40,
        Minimum: 10,
        Maximum: 100,
        ExtendedStatistics: { p50: 30, p99: 100 },
        Unit: 'Milliseconds',
      },
      // A statistic set carries no distribution: no percentiles, as on AWS.
      {
        Timestamp: new Date(Date.parse('2026-11-29T12:00:00Z')),
        SampleCount: 2,
        Sum: 10,
        Average: 5,
        Minimum: 4,
        Maximum: 6,
        ExtendedStatistics: {},
        Unit: 'Milliseconds',
      },
    ]);
  });

  test('GetMetricData pages newest first, ListMetrics filters by dimension', () => {
    const b = backend();
    for (let i = 0; i < 5; i++)
      b.metrics.put({ namespace: 'AWS/SQS', metricName: 'NumberOfMessagesSent', dimensions: queue, timestamp: T0 - i * MIN, value: i });
    b.metrics.put({
      namespace: 'AWS/SQS',
      metricName: 'NumberOfMessagesSent',
      dimensions: [{ Name: 'QueueName', Value: 'other' }],
      timestamp: T0,
      value: 1,
    });
    const q = {
      Id: 'sent',
      MetricStat: { Metric: { Namespace: 'AWS/SQS', MetricName: 'NumberOfMessagesSent', Dimensions: queue }, Period: 60, Stat: 'Sum' },
    };
    const first = handleCloudWatchRequest(b, 'GetMetricData', {
      MetricDataQueries: [q],
      StartTime: (T0 - 10 * MIN) / 1000,
      EndTime: (T0 + MIN) / 1000,
      MaxDatapoints: 3,
    }) as {
      MetricDataResults: { Values: number[]; StatusCode: string }[];
      NextToken?: string;
    };
    expect(first.MetricDataResults[0]).toMatchObject({ Values: [0, 1, 2], StatusCode: 'PartialData' });
    const second = handleCloudWatchRequest(b, 'GetMetricData', {
      MetricDataQueries: [q],
      StartTime: (T0 - 10 * MIN) / 1000,
      EndTime: (T0 + MIN) / 1000,
      MaxDatapoints: 3,
      NextToken: first.NextToken,
    }) as typeof first;
    expect(second.MetricDataResults[0]).toMatchObject({ Values: [3, 4], StatusCode: 'Complete' });
    expect(second.NextToken).toBeUndefined();
    const listed = handleCloudWatchRequest(b, 'ListMetrics', {
      Namespace: 'AWS/SQS',
      Dimensions: [{ Name: 'QueueName', Value: 'other' }],
    }) as { Metrics: unknown[] };
    expect(listed.Metrics).toEqual([
      { Namespace: 'AWS/SQS', MetricName: 'NumberOfMessagesSent', Dimensions: [{ Name: 'QueueName', Value: 'other' }] },
    ]);
  });

  test.each([
    [
      'PutMetricData',
      { Namespace: 'AWS/SQS', MetricData: [{ MetricName: 'x', Value: 1 }] },
      'InvalidParameterValue',
      /AWS\/ for parameter Namespace/,
    ],
    [
      'PutMetricData',
      { Namespace: 'N', MetricData: [{ MetricName: 'x', Value: 1, Values: [1] }] },
      'InvalidParameterValue',
      /Exactly one of/,
    ],
    ['PutMetricData', { Namespace: 'N', MetricData: [{ MetricName: 'x', Values: [1, 'NaN'] }] }, 'InvalidParameterValue', /finite number/],
    [
      'PutMetricData',
      { Namespace: 'N', MetricData: [{ MetricName: 'x', Value: 1, Timestamp: 0 }] },
      'InvalidParameterValue',
      /last two weeks/,
    ],
    [
      'PutMetricData',
      { Namespace: 'N', MetricData: [{ MetricName: 'x', Value: 1, Unit: 'Parsecs' }] },
      'InvalidParameterValue',
      /valid unit/,
    ],
    [
      'PutMetricData',
      { Namespace: 'N', MetricData: Array.from({ length: 1001 }, () => ({ MetricName: 'x', Value: 1 })) },
      'InvalidParameterValue',
      /maximum is 1000/,
    ],
    [
      'GetMetricStatistics',
      { Namespace: 'N', MetricName: 'x', StartTime: 0, EndTime: 200_000, Period: 60, Statistics: ['Sum'] },
      'InvalidParameterCombination',
      /exceeds the limit of 1,440/,
    ],
    [
      'GetMetricStatistics',
      { Namespace: 'N', MetricName: 'x', StartTime: 10, EndTime: 5, Period: 60, Statistics: ['Sum'] },
      'InvalidParameterValue',
      /StartTime must be less/,
    ],
    [
      'GetMetricStatistics',
      { Namespace: 'N', MetricName: 'x', StartTime: 0, EndTime: 60, Period: 60, Statistics: ['Median'] },
      'InvalidParameterValue',
      /not a statistic/,
    ],
    [
      'GetMetricData',
      { MetricDataQueries: [{ Id: 'm', Expression: 'SUM(METRICS())' }], StartTime: 0, EndTime: 60 },
      'InvalidParameterValue',
      /metric math/,
    ],
    ['GetMetricData', { MetricDataQueries: [{ Id: 'Bad' }], StartTime: 0, EndTime: 60 }, 'InvalidParameterValue', /lowercase letter/],
    [
      'GetMetricData',
      { MetricDataQueries: [{ Id: 'm', MetricStat: {} }], StartTime: 0, EndTime: 60, NextToken: '!!' },
      'InvalidNextToken',
      /nextToken is invalid/,
    ],
    [
      'PutMetricAlarm',
      {
        AlarmName: 'a',
        Namespace: 'N',
        MetricName: 'x',
        Period: 60,
        EvaluationPeriods: 1,
        Threshold: 1,
        ComparisonOperator: 'GreaterThanThreshold',
      },
      'ValidationError',
      /Exactly one of Statistic/,
    ],
    ['PutMetricAlarm', { AlarmName: 'a', Metrics: [] }, 'ValidationError', /Metric math alarms/],
    ['SetAlarmState', { AlarmName: 'nope', StateValue: 'ALARM', StateReason: 'r' }, 'ResourceNotFound', /does not exist/],
    ['DescribeAlarms', { StateValue: 'RED' }, 'InvalidParameterValue', /StateValue/],
    ['GetDashboard', {}, 'InvalidAction', /GetDashboard/],
    ['constructor', {}, 'InvalidAction', /constructor/],
  ])('%s %#: %s', (op, input, code, message) => {
    expect(() => handleCloudWatchRequest(backend(), op, input)).toThrow(
      expect.objectContaining({ code, message: expect.stringMatching(message) }),
    );
  });

  test('a bad member in PutMetricData stores nothing from the call', () => {
    const b = backend();
    expect(() =>
      handleCloudWatchRequest(b, 'PutMetricData', {
        Namespace: 'N',
        MetricData: [
          { MetricName: 'good', Value: 1 },
          { MetricName: 'bad', Value: 'x' },
        ],
      }),
    ).toThrow();
    expect([...b.metrics.all()]).toHaveLength(0);
  });

  test('alarms through the handler: put, evaluate, describe, history, SetAlarmState', () => {
    const b = backend();
    const call = (op: string, input: unknown) => handleCloudWatchRequest(b, op, input);
    call('PutMetricAlarm', {
      AlarmName: 'dlq',
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: queue,
      Statistic: 'Maximum',
      Period: 60,
      EvaluationPeriods: 1,
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      AlarmActions: ['arn:aws:sns:us-east-1:111122223333:alarms'],
    });
    b.metrics.put({ namespace: 'AWS/SQS', metricName: 'ApproximateNumberOfMessagesVisible', dimensions: queue, timestamp: T0, value: 1 });
    b.advance(MIN);
    b.alarms.evaluateAll();
    const d = call('DescribeAlarms', { StateValue: 'ALARM' }) as { MetricAlarms: Record<string, unknown>[] };
    expect(d.MetricAlarms.map((a) => a.AlarmName)).toEqual(['dlq']);
    expect(d.MetricAlarms[0]).toMatchObject({
      StateValue: 'ALARM',
      Statistic: 'Maximum',
      TreatMissingData: 'missing',
      DatapointsToAlarm: 1,
    });
    expect(JSON.parse(String(d.MetricAlarms[0]!.StateReasonData))).toMatchObject({ recentDatapoints: [1], threshold: 0 });
    const h = call('DescribeAlarmHistory', { AlarmName: 'dlq', HistoryItemType: 'StateUpdate' }) as {
      AlarmHistoryItems: { HistorySummary: string; HistoryData: string }[];
    };
    expect(h.AlarmHistoryItems.map((x) => x.HistorySummary)).toEqual(['Alarm updated from INSUFFICIENT_DATA to ALARM']);
    expect(JSON.parse(h.AlarmHistoryItems[0]!.HistoryData)).toMatchObject({
      oldState: { stateValue: 'INSUFFICIENT_DATA' },
      newState: { stateValue: 'ALARM' },
    });
    expect(b.alarms.notifications).toHaveLength(1);
    call('SetAlarmState', { AlarmName: 'dlq', StateValue: 'OK', StateReason: 'drill' });
    expect((call('DescribeAlarms', { AlarmNames: ['dlq'] }) as typeof d).MetricAlarms[0]).toMatchObject({
      StateValue: 'OK',
      StateReason: 'drill',
    });
  });
});

describe('Embedded Metric Format', () => {
  test('a Powertools Metrics line becomes its datapoints', () => {
    const lines: string[] = [];
    const log = jest.spyOn(process.stdout, 'write').mockImplementation((l: string | Uint8Array) => {
      lines.push(String(l));
      return true;
    });
    try {
      const metrics = new Metrics({ namespace: 'LoanEvents', serviceName: 'underwriting' });
      metrics.addDimension('consumer', 'underwriting');
      metrics.addMetric('RecordsProcessed', MetricUnit.Count, 3);
      metrics.addMetric('DecisionLatency', MetricUnit.Milliseconds, 12);
      metrics.addMetric('DecisionLatency', MetricUnit.Milliseconds, 18);
      metrics.publishStoredMetrics();
    } finally {
      log.mockRestore();
    }
    const emf = lines.find((l) => l.includes('"_aws"'));
    expect(emf).toBeDefined();
    const points = parseEmf(emf!, 0);
    const latency = points.find((p) => p.metricName === 'DecisionLatency');
    expect(latency).toMatchObject({ namespace: 'LoanEvents', unit: 'Milliseconds', values: [12, 18] });
    expect(latency!.dimensions).toEqual(
      expect.arrayContaining([
        { Name: 'service', Value: 'underwriting' },
        { Name: 'consumer', Value: 'underwriting' },
      ]),
    );
    expect(points.find((p) => p.metricName === 'RecordsProcessed')?.values).toEqual([3]);
    expect(latency!.timestamp).toBeGreaterThan(0);
  });

  test.each([
    ['{"_aws":{"CloudWatchMetrics":{}}}', /must be an array/],
    ['{"_aws":{"CloudWatchMetrics":[{"Namespace":"","Dimensions":[],"Metrics":[]}]}}', /Namespace/],
    ['{"_aws":{"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[["d"]],"Metrics":[{"Name":"m"}]}]},"m":1}', /dimension d/],
  ])('%s is reported as invalid EMF', (line, message) => {
    expect(() => parseEmf(line, 0)).toThrow(EmfError);
    expect(() => parseEmf(line, 0)).toThrow(message);
  });

  test('plain log lines are not EMF', () => {
    expect(parseEmf('{"level":"INFO","message":"hi"}', 0)).toEqual([]);
    expect(parseEmf('START RequestId: 1', 0)).toEqual([]);
  });

  test.each([
    [[1, 2, 3, 4], 50, 2],
    [[1, 2, 3, 4], 100, 4],
    [[5], 99, 5],
    [[3, 1, 2], 0.1, 1],
  ])('percentile(%j, %d) = %d', (values, q, expected) => {
    expect(percentile(values, q)).toBe(expected);
  });
});

describe('wire protocols', () => {
  let server: Server;
  let endpoint: string;
  const b = backend();
  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const out = serveCloudWatch(
          {
            method: req.method ?? 'POST',
            path: req.url ?? '/',
            headers: req.headers as Record<string, string>,
            body: Buffer.concat(chunks),
          },
          (op, input) => handleCloudWatchRequest(b, op, input),
        );
        res.writeHead(out.status, out.headers);
        res.end(out.body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  /** The CLI's stdout; a non-zero exit throws with its stderr. */
  const aws = async (...args: string[]) => {
    const r = await runAwsCli(['--endpoint-url', endpoint, '--region', 'us-east-1', '--output', 'json', 'cloudwatch', ...args], {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? '/tmp',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_CONFIG_FILE: '/dev/null',
      AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    });
    if (r.code !== 0) throw new Error(`aws ${args.join(' ')} exited with ${r.code}: ${r.stderr}`);
    return r;
  };

  test('the unmodified AWS CLI (JSON 1.0) puts metrics, reads them with get-metric-data, and describes alarms', async () => {
    const now = new Date(T0).toISOString();
    await aws('put-metric-data', '--namespace', 'LoanEvents', '--metric-data', `MetricName=Approved,Value=2,Unit=Count,Timestamp=${now}`);
    const data = JSON.parse(
      (
        await aws(
          'get-metric-data',
          '--start-time',
          new Date(T0 - 5 * MIN).toISOString(),
          '--end-time',
          new Date(T0 + MIN).toISOString(),
          '--metric-data-queries',
          JSON.stringify([
            { Id: 'approved', MetricStat: { Metric: { Namespace: 'LoanEvents', MetricName: 'Approved' }, Period: 60, Stat: 'Sum' } },
          ]),
        )
      ).stdout,
    ) as { MetricDataResults: { Id: string; Values: number[]; Timestamps: number[] }[] };
    expect(data.MetricDataResults[0]).toMatchObject({ Id: 'approved', Values: [2] });
    // The CLI v1 prints timestamps as received (cli_timestamp_format none): JSON 1.0 sends epoch seconds.
    expect(data.MetricDataResults[0]!.Timestamps).toEqual([Date.parse('2026-11-29T12:00:00Z') / 1000]);
    await aws(
      'put-metric-alarm',
      '--alarm-name',
      'approved-high',
      '--namespace',
      'LoanEvents',
      '--metric-name',
      'Approved',
      '--statistic',
      'Sum',
      '--period',
      '60',
      '--evaluation-periods',
      '1',
      '--threshold',
      '1',
      '--comparison-operator',
      'GreaterThanThreshold',
    );
    b.advance(MIN);
    b.alarms.evaluateAll();
    const alarms = JSON.parse((await aws('describe-alarms', '--alarm-names', 'approved-high')).stdout) as {
      MetricAlarms: { StateValue: string; StateReason: string }[];
    };
    expect(alarms.MetricAlarms[0]).toMatchObject({ StateValue: 'ALARM' });
    expect(alarms.MetricAlarms[0]!.StateReason).toMatch(/^Threshold Crossed: 1 datapoint \[2\.0/);
    await expect(aws('describe-alarms', '--state-value', 'ALARM', '--max-records', '0')).rejects.toThrow(/MaxRecords|max-records|range/i);
  }, 60_000);

  test('Smithy RPC v2 CBOR, as @aws-sdk/client-cloudwatch sends it', async () => {
    const res = await fetch(`${endpoint}/service/GraniteServiceVersion20100801/operation/ListMetrics`, {
      method: 'POST',
      headers: { 'content-type': 'application/cbor', 'smithy-protocol': 'rpc-v2-cbor' },
      body: Buffer.from(cbor.serialize({ Namespace: 'LoanEvents' })),
    });
    expect(res.headers.get('smithy-protocol')).toBe('rpc-v2-cbor');
    const out = cbor.deserialize(new Uint8Array(await res.arrayBuffer())) as { Metrics: { MetricName: string }[] };
    expect(out.Metrics.map((m) => m.MetricName)).toEqual(['Approved']);
    const bad = await fetch(`${endpoint}/service/GraniteServiceVersion20100801/operation/DescribeAlarms`, {
      method: 'POST',
      headers: { 'content-type': 'application/cbor', 'smithy-protocol': 'rpc-v2-cbor' },
      body: Buffer.from(cbor.serialize({ StateValue: 'RED' })),
    });
    expect(bad.status).toBe(400);
    expect(bad.headers.get('x-amzn-query-error')).toBe('InvalidParameterValue;Sender');
    expect(cbor.deserialize(new Uint8Array(await bad.arrayBuffer()))).toMatchObject({
      __type: 'com.amazonaws.cloudwatch#InvalidParameterValue',
    });
  });

  test('the query protocol, with XML answers and errors', async () => {
    b.alarms.put({
      AlarmName: 'queried',
      Namespace: 'N',
      MetricName: 'm',
      Statistic: 'Sum',
      Period: 60,
      EvaluationPeriods: 1,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanThreshold',
    });
    const body = new URLSearchParams({ Action: 'DescribeAlarms', Version: '2010-08-01', 'AlarmNames.member.1': 'queried' });
    const res = await fetch(endpoint, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
    const xml = await res.text();
    expect(xml).toMatch(
      /^<DescribeAlarmsResponse xmlns="http:\/\/monitoring.amazonaws.com\/doc\/2010-08-01\/"><DescribeAlarmsResult><MetricAlarms><member><AlarmName>queried<\/AlarmName>/,
    );
    const bad = await fetch(endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ Action: 'DescribeAlarms', Version: '2010-08-01', 'AlarmNames.member.1.__proto__': 'x' }),
    });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toMatch(/<Code>InvalidParameterValue<\/Code>/);
  });

  test('query parameters decode to the API shape', () => {
    const p = new URLSearchParams({
      Namespace: 'N',
      'MetricData.member.1.MetricName': 'm',
      'MetricData.member.1.Dimensions.member.1.Name': 'd',
      'MetricData.member.1.Dimensions.member.1.Value': 'v',
      'MetricData.member.2.StatisticValues.Sum': '3',
    });
    expect(decodeQuery(p)).toEqual({
      Namespace: 'N',
      MetricData: [{ MetricName: 'm', Dimensions: [{ Name: 'd', Value: 'v' }] }, { StatisticValues: { Sum: '3' } }],
    });
    expect(() => decodeQuery(new URLSearchParams({ 'AlarmNames.member.99999': 'x' }))).toThrow(/list index/);
  });
});
