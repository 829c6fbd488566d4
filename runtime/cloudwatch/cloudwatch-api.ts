/**
 * The CloudWatch metrics and alarms API as one function from operation and input to output.
 * Input and output are in the shape of the API reference (the JSON 1.0 and CBOR body shape);
 * `protocols.ts` turns query, JSON 1.0 and Smithy RPC v2 CBOR requests into it and back.
 * Timestamps in outputs are Date objects, which each serializer writes in its own form.
 * @see https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_Operations.html
 */
import { AwsError } from '../errors';
import {
  type Alarm,
  type AlarmDefinition,
  type AlarmRegistry,
  type AlarmState,
  type ComparisonOperator,
  type TreatMissingData,
} from './alarms';
import { decodeToken, encodeToken, InputReader } from './input';
import {
  isPercentile,
  MAX_DIMENSIONS,
  MAX_VALUES_PER_DATUM,
  STANDARD_STATISTICS,
  statistic,
  type Datapoint,
  type Dimension,
  type MetricStore,
} from './metric-store';

export interface CloudWatchBackend {
  readonly metrics: MetricStore;
  readonly alarms: AlarmRegistry;
}

const CODE = 'InvalidParameterValue';
const badToken = () => new AwsError('InvalidNextToken', 'The service couldn\u2019t process your request because the nextToken is invalid.');
const missing = (name: string) => new AwsError('MissingParameter', `The parameter ${name} is required.`);

/** GetMetricStatistics returns at most 1,440 datapoints per call. */
export const MAX_STATISTICS_DATAPOINTS = 1440;
/** GetMetricData: 500 queries and 100,800 datapoints per call. */
export const MAX_METRIC_DATA_QUERIES = 500;
export const MAX_METRIC_DATA_DATAPOINTS = 100_800;
/** PutMetricData: 1,000 metrics per call. */
export const MAX_PUT_METRIC_DATA = 1000;

// biome-ignore format: CloudWatch's unit list reads better packed than one per line
export const UNITS = [
  'Seconds', 'Microseconds', 'Milliseconds', 'Bytes', 'Kilobytes', 'Megabytes', 'Gigabytes', 'Terabytes', 'Bits', 'Kilobits',
  'Megabits', 'Gigabits', 'Terabits', 'Percent', 'Count', 'Bytes/Second', 'Kilobytes/Second', 'Megabytes/Second',
  'Gigabytes/Second', 'Terabytes/Second', 'Bits/Second', 'Kilobits/Second', 'Megabits/Second', 'Gigabits/Second',
  'Terabits/Second', 'Count/Second', 'None',
] as const;

function dimensions(r: InputReader, name: string, requireValue = true): Dimension[] {
  const list = r.list(name, MAX_DIMENSIONS) ?? [];
  return list.map((d, i) => {
    const dr = InputReader.of(d, CODE);
    const n = dr.string('Name', { required: true, min: 1, max: 255 });
    const v = requireValue ? dr.string('Value', { required: true, min: 1, max: 1024 }) : (dr.string('Value', { max: 1024 }) ?? '');
    if (!n) throw r.fail(`${name}[${i}].Name must not be empty.`);
    return { Name: n, Value: v };
  });
}

function unit(r: InputReader): string | undefined {
  const u = r.string('Unit');
  if (u !== undefined && !(UNITS as readonly string[]).includes(u))
    throw r.fail(`The parameter Unit must be a valid unit (given '${u.slice(0, 40)}').`);
  return u;
}

function period(r: InputReader, name = 'Period'): number {
  const p = r.int(name, 1, 86_400 * 455);
  if (p === undefined) throw missing(name);
  if (!(p === 1 || p === 5 || p === 10 || p === 20 || p === 30 || p % 60 === 0)) {
    throw r.fail(`The parameter ${name} must be 1, 5, 10, 20, 30 or a multiple of 60 (given ${p}).`);
  }
  return p;
}

function timeRange(r: InputReader): { start: number; end: number } {
  const start = r.time('StartTime', 'seconds');
  const end = r.time('EndTime', 'seconds');
  if (start === undefined) throw missing('StartTime');
  if (end === undefined) throw missing('EndTime');
  if (start >= end) throw r.fail('The parameter StartTime must be less than the parameter EndTime.');
  return { start, end };
}

const metricOf = (namespace: string, name: string, dims: readonly Dimension[]) => ({
  Namespace: namespace,
  MetricName: name,
  Dimensions: dims.map((d) => ({ Name: d.Name, Value: d.Value })),
});

function describeAlarm(a: Alarm): Record<string, unknown> {
  const d = a.definition;
  return {
    AlarmName: d.AlarmName,
    AlarmArn: a.arn,
    ...(d.AlarmDescription !== undefined ? { AlarmDescription: d.AlarmDescription } : {}),
    AlarmConfigurationUpdatedTimestamp: new Date(a.configurationUpdated),
    ActionsEnabled: d.ActionsEnabled ?? true,
    OKActions: d.OKActions ?? [],
    AlarmActions: d.AlarmActions ?? [],
    InsufficientDataActions: d.InsufficientDataActions ?? [],
    StateValue: a.status.value,
    StateReason: a.status.reason,
    ...(a.status.reasonData !== undefined ? { StateReasonData: a.status.reasonData } : {}),
    StateUpdatedTimestamp: new Date(a.status.updated),
    StateTransitionedTimestamp: new Date(a.status.transitioned),
    MetricName: d.MetricName,
    Namespace: d.Namespace,
    ...(d.Statistic !== undefined ? { Statistic: d.Statistic } : { ExtendedStatistic: d.ExtendedStatistic }),
    Dimensions: d.Dimensions ?? [],
    Period: d.Period,
    ...(d.Unit !== undefined ? { Unit: d.Unit } : {}),
    EvaluationPeriods: d.EvaluationPeriods,
    DatapointsToAlarm: d.DatapointsToAlarm ?? d.EvaluationPeriods,
    Threshold: d.Threshold,
    ComparisonOperator: d.ComparisonOperator,
    TreatMissingData: d.TreatMissingData ?? 'missing',
  };
}

/** Reads a PutMetricAlarm request (also how the runtime loads the template's alarms). */
export function alarmDefinition(input: unknown): AlarmDefinition {
  const r = InputReader.of(input, 'ValidationError');
  if (r.raw('Metrics') !== undefined) throw new AwsError('ValidationError', 'Metric math alarms (Metrics) are not supported locally.');
  const name = r.string('AlarmName', { required: true, min: 1, max: 255 });
  const stat = r.string('Statistic');
  const ext = r.string('ExtendedStatistic');
  const desc = r.string('AlarmDescription', { max: 1024 });
  const actions = (k: string) => r.stringList(k, 5, 1024);
  const alarmActions = actions('AlarmActions');
  const okActions = actions('OKActions');
  const insufficient = actions('InsufficientDataActions');
  const dpa = r.int('DatapointsToAlarm', 1, 100_000);
  const treat = r.string('TreatMissingData');
  const u = unit(r);
  const enabled = r.boolean('ActionsEnabled');
  const threshold = r.number('Threshold');
  if (threshold === undefined) throw missing('Threshold');
  const evaluationPeriods = r.int('EvaluationPeriods', 1, 100_000);
  if (evaluationPeriods === undefined) throw missing('EvaluationPeriods');
  return {
    AlarmName: name,
    ...(desc !== undefined ? { AlarmDescription: desc } : {}),
    ...(enabled !== undefined ? { ActionsEnabled: enabled } : {}),
    ...(alarmActions ? { AlarmActions: alarmActions } : {}),
    ...(okActions ? { OKActions: okActions } : {}),
    ...(insufficient ? { InsufficientDataActions: insufficient } : {}),
    Namespace: r.string('Namespace', { required: true, min: 1, max: 255 }),
    MetricName: r.string('MetricName', { required: true, min: 1, max: 255 }),
    Dimensions: dimensions(r, 'Dimensions'),
    ...(stat !== undefined ? { Statistic: stat } : {}),
    ...(ext !== undefined ? { ExtendedStatistic: ext } : {}),
    Period: period(r),
    ...(u !== undefined ? { Unit: u } : {}),
    EvaluationPeriods: evaluationPeriods,
    ...(dpa !== undefined ? { DatapointsToAlarm: dpa } : {}),
    Threshold: threshold,
    ComparisonOperator: r.string('ComparisonOperator', { required: true }) as ComparisonOperator,
    ...(treat !== undefined ? { TreatMissingData: treat as TreatMissingData } : {}),
  };
}

type Handler = (b: CloudWatchBackend, r: InputReader) => Record<string, unknown>;

const HANDLERS: Record<string, Handler> = {
  PutMetricData(b, r) {
    const namespace = r.string('Namespace', { required: true, min: 1, max: 255 });
    if (namespace.startsWith('AWS/')) throw r.fail('The value AWS/ for parameter Namespace is invalid.');
    const data = r.list('MetricData', MAX_PUT_METRIC_DATA);
    if (!data || data.length === 0) throw missing('MetricData');
    const now = b.metrics.now();
    // Read everything before storing anything: a bad member rejects the whole call.
    const points: Datapoint[] = data.map((m, i) => {
      const mr = InputReader.of(m, CODE);
      const at = (k: string) => `MetricData.member.${i + 1}.${k}`;
      const metricName = mr.string('MetricName', { required: true, min: 1, max: 255 });
      const ts = mr.time('Timestamp', 'seconds') ?? now;
      if (ts < now - 14 * 86_400_000 || ts > now + 2 * 3_600_000) {
        throw r.fail(`The parameter ${at('Timestamp')} must be within the last two weeks and at most two hours in the future.`);
      }
      const value = mr.number('Value');
      const values = mr.list('Values', MAX_VALUES_PER_DATUM)?.map((v, k) => finite(v, `${at('Values')}.member.${k + 1}`));
      const counts = mr.list('Counts', MAX_VALUES_PER_DATUM)?.map((v, k) => finite(v, `${at('Counts')}.member.${k + 1}`));
      const sv = mr.object('StatisticValues');
      const given = [value !== undefined, values !== undefined, sv !== undefined].filter(Boolean).length;
      if (given !== 1) throw r.fail(`Exactly one of ${at('Value')}, ${at('Values')} and ${at('StatisticValues')} must be specified.`);
      if (counts && (!values || counts.length !== values.length))
        throw r.fail(`${at('Counts')} must have as many members as ${at('Values')}.`);
      if (value !== undefined && Math.abs(value) > 2 ** 360) throw r.fail(`The value for parameter ${at('Value')} is out of range.`);
      const statisticValues = sv
        ? {
            SampleCount: sv.number('SampleCount') ?? NaN,
            Sum: sv.number('Sum') ?? NaN,
            Minimum: sv.number('Minimum') ?? NaN,
            Maximum: sv.number('Maximum') ?? NaN,
          }
        : undefined;
      if (statisticValues && (Object.values(statisticValues).some((x) => Number.isNaN(x)) || statisticValues.SampleCount <= 0)) {
        throw r.fail(`${at('StatisticValues')} needs SampleCount (> 0), Sum, Minimum and Maximum.`);
      }
      const u = unit(mr);
      return {
        namespace,
        metricName,
        dimensions: dimensions(mr, 'Dimensions'),
        timestamp: ts,
        ...(u ? { unit: u } : {}),
        ...(value !== undefined ? { value } : {}),
        ...(values ? { values } : {}),
        ...(counts ? { counts } : {}),
        ...(statisticValues ? { statisticValues } : {}),
      };
    });
    points.forEach((p) => b.metrics.put(p));
    return {};
  },

  GetMetricStatistics(b, r) {
    const namespace = r.string('Namespace', { required: true, min: 1, max: 255 });
    const name = r.string('MetricName', { required: true, min: 1, max: 255 });
    const { start, end } = timeRange(r);
    const p = period(r);
    const stats = r.stringList('Statistics', 5) ?? [];
    const ext = r.stringList('ExtendedStatistics', 10) ?? [];
    if (stats.length + ext.length === 0) throw missing('Statistics or ExtendedStatistics');
    for (const s of stats)
      if (!(STANDARD_STATISTICS as readonly string[]).includes(s))
        throw r.fail(`The parameter Statistics contains '${s.slice(0, 40)}', which is not a statistic.`);
    for (const s of ext)
      if (!isPercentile(s))
        throw r.fail(`The parameter ExtendedStatistics contains '${s.slice(0, 40)}', which is not a percentile such as p99.`);
    const requested = Math.ceil((end - start) / (p * 1000));
    if (requested > MAX_STATISTICS_DATAPOINTS) {
      throw new AwsError(
        'InvalidParameterCombination',
        `You have requested up to ${requested.toLocaleString('en-US')} datapoints, which exceeds the limit of 1,440. You may reduce the datapoints requested by increasing Period, or decreasing the time range.`,
      );
    }
    const u = unit(r);
    const periods = b.metrics.aggregate(b.metrics.get(namespace, name, dimensions(r, 'Dimensions')), start, end, p, u);
    return {
      Label: name,
      Datapoints: periods.map((ps) => {
        const out: Record<string, unknown> = { Timestamp: new Date(ps.timestamp) };
        for (const s of stats) out[s] = statistic(ps, s);
        if (ext.length > 0) {
          const e: Record<string, number> = {};
          for (const s of ext) {
            const v = statistic(ps, s);
            if (v !== undefined) e[s] = v;
          }
          out.ExtendedStatistics = e;
        }
        out.Unit = ps.unit ?? 'None';
        return out;
      }),
    };
  },

  GetMetricData(b, r) {
    const queries = r.list('MetricDataQueries', MAX_METRIC_DATA_QUERIES);
    if (!queries || queries.length === 0) throw missing('MetricDataQueries');
    const { start, end } = timeRange(r);
    const scanBy = r.string('ScanBy') ?? 'TimestampDescending';
    if (scanBy !== 'TimestampDescending' && scanBy !== 'TimestampAscending')
      throw r.fail("ScanBy must be 'TimestampDescending' or 'TimestampAscending'.");
    const maxDatapoints = r.int('MaxDatapoints', 1, MAX_METRIC_DATA_DATAPOINTS) ?? MAX_METRIC_DATA_DATAPOINTS;
    const token = r.string('NextToken', { max: 2048 });
    const offset = token === undefined ? 0 : Number(decodeToken(token, badToken).o);
    if (!Number.isSafeInteger(offset) || offset < 0) throw badToken();
    const ids = new Set<string>();
    const parsed = queries.map((q, i) => {
      const qr = InputReader.of(q, CODE);
      const id = qr.string('Id', { required: true, min: 1, max: 255 });
      if (!/^[a-z][a-zA-Z0-9_]*$/.test(id))
        throw r.fail(
          `MetricDataQueries.member.${i + 1}.Id '${id.slice(0, 40)}' must start with a lowercase letter and hold only letters, digits and '_'.`,
        );
      if (ids.has(id)) throw r.fail(`The value ${id} for parameter MetricDataQueries.member.${i + 1}.Id is duplicated.`);
      ids.add(id);
      if (qr.raw('Expression') !== undefined)
        throw r.fail(`MetricDataQueries.member.${i + 1}: metric math (Expression) is not supported locally.`);
      const ms = qr.object('MetricStat');
      if (!ms) throw missing(`MetricDataQueries.member.${i + 1}.MetricStat`);
      const m = ms.object('Metric');
      if (!m) throw missing(`MetricDataQueries.member.${i + 1}.MetricStat.Metric`);
      const stat = ms.string('Stat', { required: true });
      if (!(STANDARD_STATISTICS as readonly string[]).includes(stat) && !isPercentile(stat))
        throw r.fail(`The parameter Stat '${stat.slice(0, 40)}' is not supported locally.`);
      const namespace = m.string('Namespace', { required: true, min: 1, max: 255 });
      const metricName = m.string('MetricName', { required: true, min: 1, max: 255 });
      return {
        id,
        label: qr.string('Label', { max: 1024 }) ?? metricName,
        returnData: qr.boolean('ReturnData') ?? true,
        namespace,
        metricName,
        dims: dimensions(m, 'Dimensions'),
        period: period(ms),
        stat,
        unit: unit(ms),
      };
    });
    let budget = maxDatapoints;
    let more = false;
    const results = parsed
      .filter((q) => q.returnData)
      .map((q) => {
        const periods = b.metrics.aggregate(b.metrics.get(q.namespace, q.metricName, q.dims), start, end, q.period, q.unit);
        let points = periods
          .map((ps) => ({ t: ps.timestamp, v: statistic(ps, q.stat) }))
          .filter((x): x is { t: number; v: number } => x.v !== undefined);
        if (scanBy === 'TimestampDescending') points = points.reverse();
        const page = points.slice(offset, offset + budget);
        if (offset + page.length < points.length) more = true;
        budget = Math.max(0, budget - page.length);
        return {
          Id: q.id,
          Label: q.label,
          Timestamps: page.map((x) => new Date(x.t)),
          Values: page.map((x) => x.v),
          StatusCode: offset + page.length < points.length ? 'PartialData' : 'Complete',
        };
      });
    // Paging continues every query from the same offset: simple, and what the SDK paginator needs.
    return {
      MetricDataResults: results,
      Messages: [],
      ...(more ? { NextToken: encodeToken({ o: offset + (maxDatapoints - budget) }) } : {}),
    };
  },

  ListMetrics(b, r) {
    const namespace = r.string('Namespace', { min: 1, max: 255 });
    const name = r.string('MetricName', { min: 1, max: 255 });
    const filters = dimensions(r, 'Dimensions', false).map((d) => ({ Name: d.Name, Value: d.Value || undefined }));
    const recently = r.string('RecentlyActive');
    if (recently !== undefined && recently !== 'PT3H') throw r.fail("RecentlyActive must be 'PT3H'.");
    const since = recently ? b.metrics.now() - 3 * 3_600_000 : -Infinity;
    const all = [...b.metrics.all()]
      .filter(
        (s) =>
          (namespace === undefined || s.namespace === namespace) &&
          (name === undefined || s.metricName === name) &&
          s.lastPut >= since &&
          filters.every((f) => s.dimensions.some((d) => d.Name === f.Name && (f.Value === undefined || d.Value === f.Value))),
      )
      .map((s) => ({ key: JSON.stringify([s.namespace, s.metricName, s.dimensions]), s }))
      .sort((a, b2) => (a.key < b2.key ? -1 : 1));
    const token = r.string('NextToken', { max: 2048 });
    const after = token === undefined ? undefined : stringToken(decodeToken(token, badToken).k);
    const start = after === undefined ? 0 : all.findIndex((x) => x.key > after);
    const page = start < 0 ? [] : all.slice(start, start + 500);
    const more = start >= 0 && start + 500 < all.length;
    return {
      Metrics: page.map(({ s }) => metricOf(s.namespace, s.metricName, s.dimensions)),
      ...(more ? { NextToken: encodeToken({ k: page[page.length - 1]!.key }) } : {}),
    };
  },

  PutMetricAlarm(b, r) {
    b.alarms.put(alarmDefinition(r.source));
    return {};
  },

  DeleteAlarms(b, r) {
    b.alarms.delete(r.stringList('AlarmNames', 100, 255) ?? []);
    return {};
  },

  DescribeAlarms(b, r) {
    const names = r.stringList('AlarmNames', 100, 255);
    const prefix = r.string('AlarmNamePrefix', { min: 1, max: 255 });
    if (names && prefix !== undefined) throw r.fail('AlarmNames and AlarmNamePrefix cannot be used together.');
    const state = r.string('StateValue');
    if (state !== undefined && !['OK', 'ALARM', 'INSUFFICIENT_DATA'].includes(state))
      throw r.fail("StateValue must be 'OK', 'ALARM' or 'INSUFFICIENT_DATA'.");
    const action = r.string('ActionPrefix', { min: 1, max: 1024 });
    const types = r.stringList('AlarmTypes', 2);
    const max = r.int('MaxRecords', 1, 100) ?? 50;
    const alarms = b.alarms
      .list()
      .filter(
        (a) =>
          (!names || names.includes(a.definition.AlarmName)) &&
          (prefix === undefined || a.definition.AlarmName.startsWith(prefix)) &&
          (state === undefined || a.status.value === state) &&
          (action === undefined || (a.definition.AlarmActions ?? []).some((x) => x.startsWith(action))),
      );
    const token = r.string('NextToken', { max: 2048 });
    const after = token === undefined ? undefined : stringToken(decodeToken(token, badToken).a);
    const start = after === undefined ? 0 : alarms.findIndex((a) => a.definition.AlarmName > after);
    const page = start < 0 ? [] : alarms.slice(start, start + max);
    const more = start >= 0 && start + max < alarms.length;
    const wantMetric = !types || types.includes('MetricAlarm');
    return {
      MetricAlarms: wantMetric ? page.map(describeAlarm) : [],
      CompositeAlarms: [],
      ...(more ? { NextToken: encodeToken({ a: page[page.length - 1]!.definition.AlarmName }) } : {}),
    };
  },

  DescribeAlarmHistory(b, r) {
    const name = r.string('AlarmName', { min: 1, max: 255 });
    const type = r.string('HistoryItemType');
    if (type !== undefined && !['ConfigurationUpdate', 'StateUpdate', 'Action'].includes(type)) {
      throw r.fail("HistoryItemType must be 'ConfigurationUpdate', 'StateUpdate' or 'Action'.");
    }
    const start = r.time('StartDate', 'seconds') ?? -Infinity;
    const end = r.time('EndDate', 'seconds') ?? Infinity;
    const max = r.int('MaxRecords', 1, 100) ?? 100;
    const order = r.string('ScanBy') ?? 'TimestampDescending';
    const items = b.alarms
      .historyOf(name)
      .filter((h) => (type === undefined || h.HistoryItemType === type) && h.Timestamp >= start && h.Timestamp < end);
    const sorted = order === 'TimestampAscending' ? [...items] : [...items].reverse();
    const token = r.string('NextToken', { max: 2048 });
    const offset = token === undefined ? 0 : Number(decodeToken(token, badToken).o);
    if (!Number.isSafeInteger(offset) || offset < 0) throw badToken();
    const page = sorted.slice(offset, offset + max);
    return {
      AlarmHistoryItems: page.map((h) => ({ ...h, Timestamp: new Date(h.Timestamp) })),
      ...(offset + max < sorted.length ? { NextToken: encodeToken({ o: offset + max }) } : {}),
    };
  },

  SetAlarmState(b, r) {
    const name = r.string('AlarmName', { required: true, min: 1, max: 255 });
    const value = r.string('StateValue', { required: true });
    if (!['OK', 'ALARM', 'INSUFFICIENT_DATA'].includes(value)) throw r.fail("StateValue must be 'OK', 'ALARM' or 'INSUFFICIENT_DATA'.");
    const reason = r.string('StateReason', { required: true, max: 1023 });
    b.alarms.setAlarmState(name, value as AlarmState, reason, r.string('StateReasonData', { max: 4000 }));
    return {};
  },
};

function stringToken(v: unknown): string {
  if (typeof v !== 'string') throw badToken();
  return v;
}

function finite(v: unknown, name: string): number {
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isFinite(n)) throw new AwsError(CODE, `The value for parameter ${name} must be a finite number.`);
  return n;
}

export const CLOUDWATCH_OPERATIONS: readonly string[] = Object.keys(HANDLERS);

/** Runs one CloudWatch operation (`PutMetricData`, `DescribeAlarms`, ...). */
export function handleCloudWatchRequest(b: CloudWatchBackend, operation: string, input: unknown): Record<string, unknown> {
  const handler = Object.hasOwn(HANDLERS, operation) ? HANDLERS[operation] : undefined;
  if (!handler) throw new AwsError('InvalidAction', `The action ${operation.slice(0, 64)} is not valid for this endpoint.`);
  return handler(b, InputReader.of(input, CODE));
}
