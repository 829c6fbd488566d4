import {
  AlarmRegistry,
  AlarmScheduler,
  evaluateAlarm,
  EXTRA_EVALUATION_PERIODS,
  type AlarmDefinition,
  type AlarmState,
  type AlarmStatus,
  type EvaluatedPeriod,
  type TreatMissingData,
} from '../../../runtime/cloudwatch/alarms';
import { MetricStore } from '../../../runtime/cloudwatch/metric-store';
import { VirtualClock } from '../../../runtime/clock';

const T0 = Date.parse('2026-11-29T12:00:00Z');
const MIN = 60_000;

const base: AlarmDefinition = {
  AlarmName: 'LoanEvents-underwriting-dlq-not-empty',
  Namespace: 'AWS/SQS',
  MetricName: 'ApproximateNumberOfMessagesVisible',
  Dimensions: [{ Name: 'QueueName', Value: 'LoanEvents-underwriting-dlq' }],
  Statistic: 'Maximum',
  Period: 60,
  EvaluationPeriods: 3,
  Threshold: 1,
  ComparisonOperator: 'GreaterThanThreshold',
};

/** The evaluation range as a string, oldest first: 0 within the threshold, X breaching, - missing. */
function periods(pattern: string, end = T0): EvaluatedPeriod[] {
  return [...pattern].map((c, i) => ({
    timestamp: end - (pattern.length - i) * MIN,
    value: c === '-' ? undefined : c === 'X' ? 5 : 0,
    ...(c === '-' ? {} : { sampleCount: 1 }),
  }));
}

const initial: AlarmStatus = { value: 'INSUFFICIENT_DATA', reason: 'Unchecked: Initial alarm creation', updated: T0, transitioned: T0 };
const ok: AlarmStatus = { ...initial, value: 'OK' };
const alarm: AlarmStatus = { ...initial, value: 'ALARM' };

describe('alarm evaluation (M of N, missing data)', () => {
  test('the evaluation range is N plus the extra periods', () => {
    expect(EXTRA_EVALUATION_PERIODS).toBe(2);
  });

  // Columns: range (N + 2 periods), M, treatment, current state, expected state.
  test.each([
    ['--000', 3, 'missing', 'INSUFFICIENT_DATA', 'OK'],
    ['--00X', 3, 'missing', 'INSUFFICIENT_DATA', 'OK'],
    ['--XXX', 3, 'missing', 'INSUFFICIENT_DATA', 'ALARM'],
    ['--XXX', 3, 'notBreaching', 'OK', 'ALARM'],
    ['XX--X', 3, 'missing', 'OK', 'ALARM'], // enough real datapoints further back: treatment plays no part
    ['XX--X', 3, 'notBreaching', 'OK', 'ALARM'],
    ['X0--X', 3, 'breaching', 'OK', 'OK'],
    ['-----', 3, 'missing', 'OK', 'INSUFFICIENT_DATA'],
    ['-----', 3, 'ignore', 'OK', 'OK'],
    ['-----', 3, 'ignore', 'ALARM', 'ALARM'],
    ['-----', 3, 'breaching', 'OK', 'ALARM'],
    ['-----', 3, 'notBreaching', 'ALARM', 'OK'],
    ['---XX', 3, 'breaching', 'OK', 'ALARM'],
    ['---XX', 3, 'notBreaching', 'INSUFFICIENT_DATA', 'OK'],
    ['---XX', 3, 'missing', 'INSUFFICIENT_DATA', 'OK'],
    ['--0XX', 2, 'missing', 'OK', 'ALARM'],
    ['--X0X', 2, 'missing', 'OK', 'ALARM'],
    ['--X00', 2, 'missing', 'ALARM', 'OK'],
    ['---X-', 2, 'breaching', 'OK', 'ALARM'],
    ['---X-', 2, 'notBreaching', 'OK', 'OK'],
    ['---X-', 1, 'missing', 'OK', 'ALARM'],
  ] as [string, number, TreatMissingData, AlarmState, string][])('%s, %i of 3, %s, from %s -> %s', (range, m, treat, current, expected) => {
    const d: AlarmDefinition = { ...base, DatapointsToAlarm: m, TreatMissingData: treat };
    const next = evaluateAlarm(d, { ...initial, value: current }, periods(range), T0);
    expect(next?.value ?? current).toBe(expected);
    if (next) expect(next.transitioned).toBe(T0);
  });

  test.each([
    ['GreaterThanOrEqualToThreshold', 1, true],
    ['GreaterThanThreshold', 1, false],
    ['LessThanThreshold', 2, true],
    ['LessThanOrEqualToThreshold', 1, true],
    ['LessThanThreshold', 1, false],
  ] as const)('%s with value 1 against %d breaches: %s', (op, threshold, breaching) => {
    const d: AlarmDefinition = { ...base, EvaluationPeriods: 1, ComparisonOperator: op, Threshold: threshold };
    const next = evaluateAlarm(d, initial, [{ timestamp: T0 - MIN, value: 1, sampleCount: 1 }], T0);
    expect(next?.value).toBe(breaching ? 'ALARM' : 'OK');
  });

  test('state reason and reason data are written as AWS writes them', () => {
    const d: AlarmDefinition = { ...base, EvaluationPeriods: 1, Threshold: 0 };
    const next = evaluateAlarm(d, initial, [{ timestamp: T0 - MIN, value: 2, sampleCount: 1 }], T0 + 10_000);
    expect(next?.reason).toBe('Threshold Crossed: 1 datapoint [2.0 (29/11/26 11:59:00)] was greater than the threshold (0.0).');
    expect(next?.reasonData).toBe(
      '{"version":"1.0","queryDate":"2026-11-29T12:00:10.000+0000","startDate":"2026-11-29T11:59:00.000+0000","statistic":"Maximum","period":60,' +
        '"recentDatapoints":[2.0],"threshold":0.0,"evaluatedDatapoints":[{"timestamp":"2026-11-29T11:59:00.000+0000","sampleCount":1.0,"value":2.0}]}',
    );
    const three = evaluateAlarm({ ...base, DatapointsToAlarm: 2 }, ok, periods('--0XX'), T0);
    expect(three?.reason).toBe(
      'Threshold Crossed: 2 out of the last 3 datapoints [5.0 (29/11/26 11:59:00), 5.0 (29/11/26 11:58:00)] were greater than the threshold (1.0) (minimum 2 datapoints for OK -> ALARM transition).',
    );
    const back = evaluateAlarm({ ...base, DatapointsToAlarm: 2 }, alarm, periods('--X00'), T0);
    expect(back?.reason).toMatch(
      /^Threshold Crossed: 2 out of the last 3 datapoints \[0\.0 .*\] were not greater than the threshold \(1\.0\) \(minimum 2 datapoints for ALARM -> OK transition\)\.$/,
    );
    expect(evaluateAlarm(base, ok, periods('-----'), T0)?.reason).toBe('Insufficient Data: 3 datapoints were unknown.');
  });
});

describe('registry, actions and scheduler', () => {
  const topic = 'arn:aws:sns:us-east-1:111122223333:LoanEvents-alarms';
  function setup() {
    const clock = new VirtualClock(T0 + 30_000); // mid-minute, as datapoints usually are
    const metrics = new MetricStore({ now: () => clock.now() });
    const notified: string[] = [];
    const registry = new AlarmRegistry({
      now: () => clock.now(),
      metrics,
      accountId: '111122223333',
      onNotification: (n) => notified.push(n.subject),
    });
    registry.put({
      ...base,
      EvaluationPeriods: 1,
      Threshold: 0,
      AlarmActions: [topic],
      OKActions: [topic],
      AlarmDescription: 'poison messages',
    });
    const scheduler = new AlarmScheduler(registry, clock);
    const dlqDepth = (value: number) =>
      metrics.put({ namespace: base.Namespace, metricName: base.MetricName, dimensions: base.Dimensions!, timestamp: clock.now(), value });
    return { clock, metrics, registry, scheduler, notified, dlqDepth };
  }

  test('a new alarm starts in INSUFFICIENT_DATA, goes to ALARM on a breaching minute and notifies its topic', () => {
    const s = setup();
    const a = s.registry.get(base.AlarmName)!;
    expect(a.status).toMatchObject({ value: 'INSUFFICIENT_DATA', reason: 'Unchecked: Initial alarm creation' });
    s.scheduler.start();
    s.dlqDepth(0);
    s.clock.advance(MIN);
    expect(a.status.value).toBe('OK');
    s.dlqDepth(1);
    s.clock.advance(MIN);
    expect(a.status.value).toBe('ALARM');
    s.scheduler.stop();
    expect(s.notified).toEqual([
      'OK: "LoanEvents-underwriting-dlq-not-empty" in US East (N. Virginia)',
      'ALARM: "LoanEvents-underwriting-dlq-not-empty" in US East (N. Virginia)',
    ]);
    const message = JSON.parse(s.registry.notifications[1]!.message) as Record<string, unknown>;
    expect(message).toMatchObject({
      AlarmName: base.AlarmName,
      AlarmDescription: 'poison messages',
      AWSAccountId: '111122223333',
      NewStateValue: 'ALARM',
      OldStateValue: 'OK',
      Region: 'US East (N. Virginia)',
      AlarmArn: `arn:aws:cloudwatch:us-east-1:111122223333:alarm:${base.AlarmName}`,
      AlarmActions: [topic],
      Trigger: {
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Namespace: 'AWS/SQS',
        StatisticType: 'Statistic',
        Statistic: 'MAXIMUM',
        Dimensions: [{ value: 'LoanEvents-underwriting-dlq', name: 'QueueName' }],
        Period: 60,
        EvaluationPeriods: 1,
        ComparisonOperator: 'GreaterThanThreshold',
        Threshold: 0,
        TreatMissingData: 'missing',
      },
    });
    expect(String(message.NewStateReason)).toMatch(
      /^Threshold Crossed: 1 datapoint \[1\.0 \(29\/11\/26 12:01:00\)\] was greater than the threshold \(0\.0\)\.$/,
    );
    const history = s.registry.historyOf(base.AlarmName).map((h) => `${h.HistoryItemType}: ${h.HistorySummary}`);
    expect(history).toEqual([
      `ConfigurationUpdate: Alarm "${base.AlarmName}" created`,
      'StateUpdate: Alarm updated from INSUFFICIENT_DATA to OK',
      `Action: Successfully executed action ${topic}`,
      'StateUpdate: Alarm updated from OK to ALARM',
      `Action: Successfully executed action ${topic}`,
    ]);
  });

  test('a five-minute alarm is driven in one call of the clock, without real timers', () => {
    const s = setup();
    s.registry.put({ ...base, AlarmName: 'slow', Period: 300, EvaluationPeriods: 2, Threshold: 0 });
    s.scheduler.start();
    for (let i = 0; i < 10; i++) {
      s.dlqDepth(3);
      s.clock.advance(MIN);
    }
    s.scheduler.stop();
    expect(s.registry.get('slow')!.status.value).toBe('ALARM');
    expect(s.registry.get('slow')!.status.reason).toMatch(/^Threshold Crossed: 2 out of the last 2 datapoints/);
  });

  test('SetAlarmState holds until the next evaluation', () => {
    const s = setup();
    s.dlqDepth(0);
    s.clock.advance(MIN);
    s.registry.setAlarmState(base.AlarmName, 'ALARM', 'testing the pager');
    expect(s.registry.get(base.AlarmName)!.status).toMatchObject({ value: 'ALARM', reason: 'testing the pager' });
    expect(s.notified).toHaveLength(1);
    s.registry.evaluateAll();
    expect(s.registry.get(base.AlarmName)!.status.value).toBe('OK');
    expect(() => s.registry.setAlarmState(base.AlarmName, 'OK', 'r', '{not json')).toThrow(/StateReasonData/);
    expect(() => s.registry.setAlarmState('nope', 'OK', 'r')).toThrow(/does not exist/);
  });

  test.each([
    [{ Statistic: undefined }, /Exactly one of Statistic and ExtendedStatistic/],
    [{ ExtendedStatistic: 'p99' }, /Exactly one/],
    [{ Statistic: 'Median' }, /not one of/],
    [{ Period: 45 }, /Period 45/],
    [{ DatapointsToAlarm: 4 }, /DatapointsToAlarm/],
    [{ ComparisonOperator: 'LessThanLowerOrGreaterThanUpperThreshold' }, /not supported locally/],
    [{ TreatMissingData: 'sometimes' }, /TreatMissingData/],
    [{ Period: 86_400, EvaluationPeriods: 8 }, /one week/],
  ])('PutMetricAlarm rejects %j', (change, message) => {
    const s = setup();
    expect(() => s.registry.put({ ...base, ...change } as AlarmDefinition)).toThrow(message);
  });
});
