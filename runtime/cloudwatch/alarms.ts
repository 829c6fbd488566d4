/**
 * CloudWatch metric alarms: the evaluation CloudWatch documents (period, statistic, evaluation
 * periods, M of N datapoints to alarm, comparison, missing-data treatment), the state and its
 * history as DescribeAlarms/DescribeAlarmHistory return them, and the SNS notification each
 * alarm action sends, in AWS's alarm-notification format.
 *
 * `evaluateAlarm` is pure: datapoints and the clock in, a state change (or none) out.
 * `AlarmRegistry` keeps alarms, history and notifications; `AlarmScheduler` evaluates every
 * alarm each period on an injected clock.
 * @see https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html#alarm-evaluation
 * @see https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarms-and-missing-data.html
 */
import { arns, parseArn, partitionOf } from '../../assembly/arn';
import { AwsError } from '../errors';
import { isPercentile, statistic, type Dimension, type MetricStore } from './metric-store';
import type { Clock, ClockTimer } from '../clock';

export type AlarmState = 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';
export type ComparisonOperator =
  | 'GreaterThanOrEqualToThreshold'
  | 'GreaterThanThreshold'
  | 'LessThanThreshold'
  | 'LessThanOrEqualToThreshold';
export const COMPARISON_OPERATORS: readonly ComparisonOperator[] = [
  'GreaterThanOrEqualToThreshold',
  'GreaterThanThreshold',
  'LessThanThreshold',
  'LessThanOrEqualToThreshold',
];
export type TreatMissingData = 'missing' | 'notBreaching' | 'breaching' | 'ignore';
export const TREAT_MISSING_DATA: readonly TreatMissingData[] = ['missing', 'notBreaching', 'breaching', 'ignore'];

/** A metric alarm as PutMetricAlarm and AWS::CloudWatch::Alarm define it (single-metric alarms). */
export interface AlarmDefinition {
  readonly AlarmName: string;
  readonly AlarmDescription?: string;
  readonly ActionsEnabled?: boolean;
  readonly AlarmActions?: readonly string[];
  readonly OKActions?: readonly string[];
  readonly InsufficientDataActions?: readonly string[];
  readonly Namespace: string;
  readonly MetricName: string;
  readonly Dimensions?: readonly Dimension[];
  /** Exactly one of Statistic and ExtendedStatistic. */
  readonly Statistic?: string;
  readonly ExtendedStatistic?: string;
  /** Seconds: 10, 20, 30 or a multiple of 60. */
  readonly Period: number;
  readonly Unit?: string;
  readonly EvaluationPeriods: number;
  /** @default EvaluationPeriods */
  readonly DatapointsToAlarm?: number;
  readonly Threshold: number;
  readonly ComparisonOperator: ComparisonOperator;
  /** @default 'missing' */
  readonly TreatMissingData?: TreatMissingData;
}

export interface AlarmStatus {
  readonly value: AlarmState;
  readonly reason: string;
  readonly reasonData?: string;
  /** Epoch ms of the last evaluation that changed the reason or value. */
  readonly updated: number;
  /** Epoch ms of the last change of value. */
  readonly transitioned: number;
}

export interface Alarm {
  readonly definition: AlarmDefinition;
  readonly arn: string;
  readonly configurationUpdated: number;
  status: AlarmStatus;
}

export interface AlarmHistoryItem {
  readonly AlarmName: string;
  readonly AlarmType: 'MetricAlarm';
  readonly Timestamp: number;
  readonly HistoryItemType: 'ConfigurationUpdate' | 'StateUpdate' | 'Action';
  readonly HistorySummary: string;
  readonly HistoryData: string;
}

/** An alarm action's message to an SNS topic, as SNS would deliver it. */
export interface AlarmNotification {
  readonly topicArn: string;
  readonly subject: string;
  /** The JSON document AWS sends (AlarmName, NewStateValue, NewStateReason, Trigger, ...). */
  readonly message: string;
  readonly timestamp: number;
}

/** A period's value as the evaluation sees it: the statistic, or undefined when missing. */
export interface EvaluatedPeriod {
  readonly timestamp: number;
  readonly value: number | undefined;
  readonly sampleCount?: number;
}

/**
 * How many periods before the N evaluated ones are searched for real datapoints. AWS says the
 * evaluation range is larger than N and depends on the period without publishing the number;
 * this is our choice.
 */
export const EXTRA_EVALUATION_PERIODS = 2;

const OPERATOR_WORDS: Record<ComparisonOperator, string> = {
  GreaterThanOrEqualToThreshold: 'greater than or equal to',
  GreaterThanThreshold: 'greater than',
  LessThanThreshold: 'less than',
  LessThanOrEqualToThreshold: 'less than or equal to',
};

export function breaches(op: ComparisonOperator, value: number, threshold: number): boolean {
  switch (op) {
    case 'GreaterThanOrEqualToThreshold':
      return value >= threshold;
    case 'GreaterThanThreshold':
      return value > threshold;
    case 'LessThanThreshold':
      return value < threshold;
    case 'LessThanOrEqualToThreshold':
      return value <= threshold;
  }
}

/** The statistic name the alarm reads. */
export const alarmStat = (d: AlarmDefinition): string => d.ExtendedStatistic ?? d.Statistic ?? 'Average';

/**
 * The periods an evaluation at `now` looks at, oldest first: the last `EvaluationPeriods +
 * EXTRA_EVALUATION_PERIODS` complete periods.
 */
export function evaluationRange(d: AlarmDefinition, now: number): { start: number; end: number } {
  const period = d.Period * 1000;
  const end = Math.floor(now / period) * period;
  return { start: end - (d.EvaluationPeriods + EXTRA_EVALUATION_PERIODS) * period, end };
}

export function periodsFor(store: MetricStore, d: AlarmDefinition, now: number): EvaluatedPeriod[] {
  const { start, end } = evaluationRange(d, now);
  const stats = store.aggregate(store.get(d.Namespace, d.MetricName, d.Dimensions ?? []), start, end, d.Period, d.Unit);
  const byTime = new Map(stats.map((s) => [s.timestamp, s]));
  const out: EvaluatedPeriod[] = [];
  for (let t = start; t < end; t += d.Period * 1000) {
    const s = byTime.get(t);
    const value = s ? statistic(s, alarmStat(d)) : undefined;
    out.push({ timestamp: t, value, ...(s ? { sampleCount: s.sampleCount } : {}) });
  }
  return out;
}

/**
 * One evaluation, as the CloudWatch User Guide describes it:
 * - With at least N real datapoints in the evaluation range, the N most recent decide and the
 *   missing-data treatment plays no part.
 * - With fewer, every real datapoint counts and the missing ones are filled per TreatMissingData:
 *   `breaching`/`notBreaching` as such; `missing` leaves them out (all missing: INSUFFICIENT_DATA);
 *   `ignore` leaves them out (all missing: the state is kept).
 * ALARM needs at least M breaching datapoints among those considered; otherwise OK.
 * Returns the new status, or undefined when the state is kept.
 */
export function evaluateAlarm(
  d: AlarmDefinition,
  current: AlarmStatus,
  periods: readonly EvaluatedPeriod[],
  now: number,
): AlarmStatus | undefined {
  const n = d.EvaluationPeriods;
  const m = d.DatapointsToAlarm ?? n;
  const treat = d.TreatMissingData ?? 'missing';
  const real = periods.filter((p) => p.value !== undefined);
  let considered: EvaluatedPeriod[];
  let filledBreaching = 0;
  if (real.length >= n) considered = real.slice(-n);
  else {
    considered = real;
    const fill = n - real.length;
    if (treat === 'breaching') filledBreaching = fill;
    if (real.length === 0 && treat === 'ignore') return undefined;
    if (real.length === 0 && treat === 'missing') {
      const reason = `Insufficient Data: ${n} datapoint${n === 1 ? ' was' : 's were'} unknown.`;
      return transition(current, 'INSUFFICIENT_DATA', reason, reasonData(d, now, periods, []), now);
    }
  }
  const breaching = considered.filter((p) => breaches(d.ComparisonOperator, p.value!, d.Threshold));
  const breachCount = breaching.length + filledBreaching;
  const value: AlarmState = breachCount >= m ? 'ALARM' : 'OK';
  const shown = value === 'ALARM' ? breaching : considered.filter((p) => !breaching.includes(p));
  const reason = thresholdReason(d, value, shown.length > 0 ? shown : considered, considered.length, current.value, m);
  return transition(current, value, reason, reasonData(d, now, periods, considered), now);
}

function transition(current: AlarmStatus, value: AlarmState, reason: string, data: string, now: number): AlarmStatus | undefined {
  if (current.value === value) return undefined;
  return { value, reason, reasonData: data, updated: now, transitioned: now };
}

/** "29/11/26 12:00:00": the datapoint time format of AWS's state reasons. */
function reasonTime(t: number): string {
  const d = new Date(t);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getUTCDate())}/${p(d.getUTCMonth() + 1)}/${p(d.getUTCFullYear() % 100)} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`;
}

/** Numbers as AWS prints them in reasons and JSON: always with a fraction (`0.0`, `5.0`, `2.5`). */
export function awsNumber(v: number): string {
  return Number.isInteger(v) ? v.toFixed(1) : String(v);
}

/** "2026-11-29T12:00:00.000+0000": the timestamp format of reason data and notifications. */
export function awsTimestamp(t: number): string {
  return new Date(t).toISOString().replace('Z', '+0000');
}

function thresholdReason(
  d: AlarmDefinition,
  value: AlarmState,
  shown: readonly EvaluatedPeriod[],
  considered: number,
  from: AlarmState,
  m: number,
): string {
  const list = `[${[...shown]
    .reverse()
    .map((p) => `${awsNumber(p.value!)} (${reasonTime(p.timestamp)})`)
    .join(', ')}]`;
  const word = OPERATOR_WORDS[d.ComparisonOperator];
  const threshold = `the threshold (${awsNumber(d.Threshold)})`;
  const count = shown.length;
  const n = Math.max(considered, d.EvaluationPeriods);
  const head = n === 1 ? `1 datapoint ${list} was` : `${count} out of the last ${n} datapoints ${list} ${count === 1 ? 'was' : 'were'}`;
  const verb = value === 'ALARM' ? word : `not ${word}`;
  // The fewest datapoints that make this transition: M to alarm, N - M + 1 to leave ALARM.
  const k = value === 'ALARM' ? m : d.EvaluationPeriods - m + 1;
  const minimum = n === 1 ? '' : ` (minimum ${k} datapoint${k === 1 ? '' : 's'} for ${from} -> ${value} transition)`;
  return `Threshold Crossed: ${head} ${verb} ${threshold}${minimum}.`;
}

/** StateReasonData as AWS writes it: a JSON document with the evaluated datapoints. */
function reasonData(d: AlarmDefinition, now: number, periods: readonly EvaluatedPeriod[], considered: readonly EvaluatedPeriod[]): string {
  const startDate = considered[0]?.timestamp ?? periods[0]?.timestamp ?? now;
  const fields: string[] = [
    `"version":"1.0"`,
    `"queryDate":${JSON.stringify(awsTimestamp(now))}`,
    `"startDate":${JSON.stringify(awsTimestamp(startDate))}`,
    d.ExtendedStatistic
      ? `"extendedStatistic":${JSON.stringify(d.ExtendedStatistic)}`
      : `"statistic":${JSON.stringify(d.Statistic ?? 'Average')}`,
    `"period":${d.Period}`,
    `"recentDatapoints":[${[...considered].map((p) => awsNumber(p.value!)).join(',')}]`,
    `"threshold":${awsNumber(d.Threshold)}`,
    `"evaluatedDatapoints":[${[...considered]
      .reverse()
      .map(
        (p) =>
          `{"timestamp":${JSON.stringify(awsTimestamp(p.timestamp))}${p.sampleCount !== undefined ? `,"sampleCount":${awsNumber(p.sampleCount)}` : ''},"value":${awsNumber(p.value!)}}`,
      )
      .join(',')}]`,
  ];
  return `{${fields.join(',')}}`;
}

// ---------------------------------------------------------------------------------------------
// Registry

const REGION_NAMES: Record<string, string> = {
  'us-east-1': 'US East (N. Virginia)',
  'us-east-2': 'US East (Ohio)',
  'us-west-1': 'US West (N. California)',
  'us-west-2': 'US West (Oregon)',
  'eu-west-1': 'EU (Ireland)',
  'eu-west-2': 'EU (London)',
  'eu-central-1': 'EU (Frankfurt)',
  'ap-southeast-2': 'Asia Pacific (Sydney)',
  'ap-northeast-1': 'Asia Pacific (Tokyo)',
};

export interface AlarmRegistryOptions {
  readonly now: () => number;
  readonly metrics: MetricStore;
  readonly region?: string;
  readonly accountId?: string;
  /** Called for every notification an alarm action sends (the runtime prints them). */
  readonly onNotification?: (n: AlarmNotification, alarm: Alarm) => void;
  /** Called for every change of an alarm's state value, before its actions run. */
  readonly onStateChange?: (alarm: Alarm, old: AlarmStatus) => void;
  /** Bounds on the kept history and notifications; the oldest go first. */
  readonly maxHistory?: number;
}

export class AlarmRegistry {
  public readonly region: string;
  public readonly accountId: string;
  private readonly alarms = new Map<string, Alarm>();
  private readonly history: AlarmHistoryItem[] = [];
  public readonly notifications: AlarmNotification[] = [];
  private readonly maxHistory: number;

  public constructor(private readonly options: AlarmRegistryOptions) {
    this.region = options.region ?? 'us-east-1';
    this.accountId = options.accountId ?? '000000000000';
    this.maxHistory = options.maxHistory ?? 10_000;
  }

  public now(): number {
    return this.options.now();
  }

  /** PutMetricAlarm: creates or replaces an alarm. A new alarm starts in INSUFFICIENT_DATA. */
  public put(definition: AlarmDefinition): Alarm {
    validateAlarm(definition);
    const now = this.now();
    const existing = this.alarms.get(definition.AlarmName);
    const alarm: Alarm = {
      definition,
      arn: arns.alarm({ partition: partitionOf(this.region), region: this.region, account: this.accountId }, definition.AlarmName),
      configurationUpdated: now,
      status: existing?.status ?? {
        value: 'INSUFFICIENT_DATA',
        reason: 'Unchecked: Initial alarm creation',
        updated: now,
        transitioned: now,
      },
    };
    this.alarms.set(definition.AlarmName, alarm);
    this.record({
      AlarmName: definition.AlarmName,
      AlarmType: 'MetricAlarm',
      Timestamp: now,
      HistoryItemType: 'ConfigurationUpdate',
      HistorySummary: `Alarm "${definition.AlarmName}" ${existing ? 'updated' : 'created'}`,
      HistoryData: JSON.stringify({ version: '1.0', type: existing ? 'Update' : 'Create', updatedAlarm: definition }),
    });
    return alarm;
  }

  public delete(names: readonly string[]): void {
    for (const n of names) {
      if (!this.alarms.has(n)) throw new AwsError('ResourceNotFound', `An alarm with name ${n} was not found.`, 404);
    }
    for (const n of names) this.alarms.delete(n);
  }

  public get(name: string): Alarm | undefined {
    return this.alarms.get(name);
  }

  public list(): Alarm[] {
    return [...this.alarms.values()].sort((a, b) => (a.definition.AlarmName < b.definition.AlarmName ? -1 : 1));
  }

  public historyOf(name?: string): readonly AlarmHistoryItem[] {
    return name === undefined ? this.history : this.history.filter((h) => h.AlarmName === name);
  }

  /** Evaluates one alarm now; returns true when its state changed. */
  public evaluate(alarm: Alarm): boolean {
    const now = this.now();
    const next = evaluateAlarm(alarm.definition, alarm.status, periodsFor(this.options.metrics, alarm.definition, now), now);
    if (!next) return false;
    this.setState(alarm, next);
    return true;
  }

  public evaluateAll(): number {
    let changed = 0;
    for (const a of this.alarms.values()) if (this.evaluate(a)) changed++;
    return changed;
  }

  /** SetAlarmState: the state holds until the next evaluation, as on AWS. */
  public setAlarmState(name: string, value: AlarmState, reason: string, reasonData?: string): void {
    const alarm = this.alarms.get(name);
    if (!alarm) throw new AwsError('ResourceNotFound', `Alarm ${name} does not exist.`, 404);
    if (reasonData !== undefined) {
      try {
        JSON.parse(reasonData);
      } catch {
        throw new AwsError('InvalidFormat', 'StateReasonData is not valid JSON.');
      }
    }
    const now = this.now();
    if (alarm.status.value === value) {
      alarm.status = { ...alarm.status, reason, ...(reasonData !== undefined ? { reasonData } : {}), updated: now };
      return;
    }
    this.setState(alarm, { value, reason, ...(reasonData !== undefined ? { reasonData } : {}), updated: now, transitioned: now });
  }

  private setState(alarm: Alarm, next: AlarmStatus): void {
    const old = alarm.status;
    alarm.status = next;
    const name = alarm.definition.AlarmName;
    const state = (s: AlarmStatus) => ({
      stateValue: s.value,
      stateReason: s.reason,
      ...(s.reasonData ? { stateReasonData: JSON.parse(s.reasonData) as unknown } : {}),
    });
    this.options.onStateChange?.(alarm, old);
    this.record({
      AlarmName: name,
      AlarmType: 'MetricAlarm',
      Timestamp: next.updated,
      HistoryItemType: 'StateUpdate',
      HistorySummary: `Alarm updated from ${old.value} to ${next.value}`,
      HistoryData: JSON.stringify({ version: '1.0', oldState: state(old), newState: state(next) }),
    });
    const d = alarm.definition;
    if (d.ActionsEnabled === false) return;
    const actions = next.value === 'ALARM' ? d.AlarmActions : next.value === 'OK' ? d.OKActions : d.InsufficientDataActions;
    for (const topicArn of actions ?? []) {
      if (parseArn(topicArn)?.service !== 'sns') continue;
      const n: AlarmNotification = {
        topicArn,
        subject: `${next.value}: "${name}" in ${REGION_NAMES[this.region] ?? this.region}`.slice(0, 100),
        message: notificationMessage(alarm, old, this.region, this.accountId),
        timestamp: next.updated,
      };
      this.notifications.push(n);
      if (this.notifications.length > this.maxHistory) this.notifications.shift();
      this.record({
        AlarmName: name,
        AlarmType: 'MetricAlarm',
        Timestamp: next.updated,
        HistoryItemType: 'Action',
        HistorySummary: `Successfully executed action ${topicArn}`,
        HistoryData: JSON.stringify({
          actionState: 'Succeeded',
          stateUpdateTimestamp: next.updated,
          notificationResource: topicArn,
          publishedMessage: 'recorded locally',
        }),
      });
      this.options.onNotification?.(n, alarm);
    }
  }

  private record(item: AlarmHistoryItem): void {
    this.history.push(item);
    if (this.history.length > this.maxHistory) this.history.shift();
  }
}

/**
 * The message body CloudWatch publishes to an alarm's SNS topic.
 * @see https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html
 */
export function notificationMessage(alarm: Alarm, old: AlarmStatus, region: string, accountId: string): string {
  const d = alarm.definition;
  const s = alarm.status;
  const percentileStat = d.ExtendedStatistic !== undefined;
  return JSON.stringify({
    AlarmName: d.AlarmName,
    AlarmDescription: d.AlarmDescription ?? null,
    AWSAccountId: accountId,
    AlarmConfigurationUpdatedTimestamp: awsTimestamp(alarm.configurationUpdated),
    NewStateValue: s.value,
    NewStateReason: s.reason,
    StateChangeTime: awsTimestamp(s.transitioned),
    Region: REGION_NAMES[region] ?? region,
    AlarmArn: alarm.arn,
    OldStateValue: old.value,
    OKActions: d.OKActions ?? [],
    AlarmActions: d.AlarmActions ?? [],
    InsufficientDataActions: d.InsufficientDataActions ?? [],
    Trigger: {
      MetricName: d.MetricName,
      Namespace: d.Namespace,
      StatisticType: percentileStat ? 'ExtendedStatistic' : 'Statistic',
      ...(percentileStat ? { ExtendedStatistic: d.ExtendedStatistic } : { Statistic: (d.Statistic ?? 'Average').toUpperCase() }),
      Unit: d.Unit ?? null,
      Dimensions: (d.Dimensions ?? []).map((x) => ({ value: x.Value, name: x.Name })),
      Period: d.Period,
      EvaluationPeriods: d.EvaluationPeriods,
      DatapointsToAlarm: d.DatapointsToAlarm ?? d.EvaluationPeriods,
      ComparisonOperator: d.ComparisonOperator,
      Threshold: d.Threshold,
      TreatMissingData: d.TreatMissingData ?? 'missing',
      EvaluateLowSampleCountPercentile: '',
    },
  });
}

/** The checks PutMetricAlarm makes, naming the parameter. */
export function validateAlarm(d: AlarmDefinition): void {
  const bad = (m: string) => new AwsError('ValidationError', m);
  if (!d.AlarmName || d.AlarmName.length > 255) throw bad('AlarmName must be 1 to 255 characters.');
  if ((d.Statistic === undefined) === (d.ExtendedStatistic === undefined)) {
    throw bad('Exactly one of Statistic and ExtendedStatistic must be specified.');
  }
  if (d.Statistic !== undefined && !['SampleCount', 'Sum', 'Average', 'Minimum', 'Maximum'].includes(d.Statistic)) {
    throw bad(`Statistic '${d.Statistic}' is not one of SampleCount, Sum, Average, Minimum, Maximum.`);
  }
  if (d.ExtendedStatistic !== undefined && !isPercentile(d.ExtendedStatistic)) {
    throw bad(
      `ExtendedStatistic '${d.ExtendedStatistic}' is not a percentile such as p99 (other extended statistics are not supported locally).`,
    );
  }
  if (!Number.isInteger(d.Period) || !(d.Period === 10 || d.Period === 20 || d.Period === 30 || (d.Period >= 60 && d.Period % 60 === 0))) {
    throw bad(`Period ${d.Period} must be 10, 20, 30 or a multiple of 60.`);
  }
  if (!Number.isInteger(d.EvaluationPeriods) || d.EvaluationPeriods < 1) throw bad('EvaluationPeriods must be at least 1.');
  if (d.Period * d.EvaluationPeriods > 86_400 * 7) throw bad('Period * EvaluationPeriods must not exceed one week (604800 seconds).');
  const m = d.DatapointsToAlarm ?? d.EvaluationPeriods;
  if (!Number.isInteger(m) || m < 1 || m > d.EvaluationPeriods) throw bad('DatapointsToAlarm must be from 1 to EvaluationPeriods.');
  if (!COMPARISON_OPERATORS.includes(d.ComparisonOperator)) {
    throw bad(`ComparisonOperator '${d.ComparisonOperator}' is not supported locally (anomaly-detection bands are not).`);
  }
  if (!Number.isFinite(d.Threshold)) throw bad('Threshold must be a number.');
  if (d.TreatMissingData !== undefined && !TREAT_MISSING_DATA.includes(d.TreatMissingData)) {
    throw bad(`TreatMissingData must be one of ${TREAT_MISSING_DATA.join(', ')}.`);
  }
  for (const list of [d.AlarmActions, d.OKActions, d.InsufficientDataActions]) {
    if ((list?.length ?? 0) > 5) throw bad('At most 5 actions per state.');
  }
}

// ---------------------------------------------------------------------------------------------
// Scheduler

/** The part of the runtime's clock the scheduler needs. */
export type SchedulerClock = Pick<Clock, 'now' | 'setTimeout' | 'clearTimeout'>;

/**
 * Evaluates every alarm once a minute (CloudWatch's cadence), or each period for high-resolution
 * alarms, at period boundaries of the injected clock. A faster clock makes a five-minute alarm
 * fire in seconds.
 */
export class AlarmScheduler {
  private handle: ClockTimer | undefined;
  private running = false;

  public constructor(
    private readonly registry: AlarmRegistry,
    private readonly clock: SchedulerClock,
  ) {}

  /** Milliseconds between evaluations: the shortest alarm period, at most 60 s. */
  public interval(): number {
    const periods = this.registry.list().map((a) => a.definition.Period);
    return Math.min(60, ...periods) * 1000;
  }

  public start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule();
  }

  public stop(): void {
    this.running = false;
    if (this.handle !== undefined) this.clock.clearTimeout(this.handle);
    this.handle = undefined;
  }

  private schedule(): void {
    if (!this.running) return;
    const step = this.interval();
    const now = this.clock.now();
    // The next boundary, plus a little so the period that just ended is complete.
    const wait = Math.floor(now / step) * step + step + 1 - now;
    this.handle = this.clock.setTimeout(() => {
      this.registry.evaluateAll();
      this.schedule();
    }, wait);
  }
}
