/**
 * CloudWatch metrics in memory: datapoints by namespace, name and dimensions; the statistics
 * GetMetricStatistics, GetMetricData and alarms read; and Embedded Metric Format parsing, so a
 * function's EMF log line becomes datapoints as it does on AWS.
 * @see https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_concepts.html
 * @see https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
 */
import { AwsError } from '../errors';

export interface Dimension {
  readonly Name: string;
  readonly Value: string;
}

/** One observation: a single value, several values (with counts), or a statistic set. */
export interface Datapoint {
  readonly namespace: string;
  readonly metricName: string;
  readonly dimensions: readonly Dimension[];
  /** Epoch milliseconds. */
  readonly timestamp: number;
  readonly unit?: string;
  readonly value?: number;
  readonly values?: readonly number[];
  readonly counts?: readonly number[];
  readonly statisticValues?: { readonly SampleCount: number; readonly Sum: number; readonly Minimum: number; readonly Maximum: number };
  /** 1 for a high-resolution metric (kept per second); otherwise kept per minute, as CloudWatch stores standard resolution. */
  readonly storageResolution?: number;
}

/**
 * What is kept per series and storage interval (a minute, or a second for high resolution): the
 * aggregate, and a bounded sample of the values for percentiles when they are known.
 */
interface Point {
  /** Start of the storage interval. */
  readonly t: number;
  sampleCount: number;
  sum: number;
  min: number;
  max: number;
  unit?: string;
  /** Undefined once a statistic set joined the interval: statistic sets carry no distribution. */
  values?: number[];
  /** Values seen in the interval, of which `values` is a uniform sample (reservoir). */
  seen: number;
}

export interface Series {
  readonly namespace: string;
  readonly metricName: string;
  readonly dimensions: readonly Dimension[];
  /** Sorted by time. */
  readonly points: Point[];
  lastPut: number;
}

/** The statistics CloudWatch names, plus `pNN`/`pNN.NN` percentiles. */
export const STANDARD_STATISTICS = ['SampleCount', 'Sum', 'Average', 'Minimum', 'Maximum'] as const;
export type StandardStatistic = (typeof STANDARD_STATISTICS)[number];

/** The aggregate of one period. */
export interface PeriodStats {
  readonly timestamp: number;
  readonly sampleCount: number;
  readonly sum: number;
  readonly min: number;
  readonly max: number;
  readonly unit?: string;
  readonly values?: readonly number[];
}

export const MAX_DIMENSIONS = 30;
export const MAX_VALUES_PER_DATUM = 150;
/** Our bound on storage intervals kept per series (100,000 minutes: about 69 days); the oldest go first. */
export const DEFAULT_MAX_POINTS_PER_SERIES = 100_000;
/** Our bound on series; the one put to least recently goes first. */
export const DEFAULT_MAX_SERIES = 10_000;
/**
 * Values kept per storage interval for percentiles: a uniform sample of this size (our bound;
 * CloudWatch does not publish how it keeps distributions), so percentiles over a busy minute
 * are estimates.
 */
export const VALUES_SAMPLE_SIZE = 128;
/** CloudWatch's standard resolution: one aggregate per minute. */
export const STANDARD_RESOLUTION_MS = 60_000;
/** CloudWatch keeps datapoints for 15 months (455 days). */
export const RETENTION_MS = 455 * 86_400_000;

const PERCENTILE = /^p(\d{1,2}(\.\d{1,2})?|100)$/;

export function isPercentile(stat: string): boolean {
  return PERCENTILE.test(stat) && Number(stat.slice(1)) <= 100;
}

export function canonicalDimensions(dimensions: readonly Dimension[]): Dimension[] {
  return [...dimensions].sort((a, b) => (a.Name < b.Name ? -1 : a.Name > b.Name ? 1 : 0));
}

/** One key per namespace, name and set of dimensions (in any order); each part is length-prefixed, so no two differ only in where they split. */
export function seriesKey(namespace: string, metricName: string, dimensions: readonly Dimension[]): string {
  let key = `${namespace.length}:${namespace}${metricName.length}:${metricName}`;
  const dims = isSorted(dimensions) ? dimensions : canonicalDimensions(dimensions);
  for (const d of dims) key += `${d.Name.length}:${d.Name}${d.Value.length}:${d.Value}`;
  return key;
}

function isSorted(dimensions: readonly Dimension[]): boolean {
  for (let i = 1; i < dimensions.length; i++) if (dimensions[i - 1]!.Name > dimensions[i]!.Name) return false;
  return true;
}

export interface MetricStoreOptions {
  /** Epoch milliseconds; the runtime's injected clock. */
  readonly now: () => number;
  /** @default DEFAULT_MAX_POINTS_PER_SERIES */
  readonly maxPointsPerSeries?: number;
  /** @default DEFAULT_MAX_SERIES */
  readonly maxSeries?: number;
  /** Picks the sample slot a value replaces (reservoir sampling). @default Math.random */
  readonly random?: () => number;
}

export class MetricStore {
  private readonly series = new Map<string, Series>();
  private readonly maxPoints: number;
  private readonly maxSeries: number;
  private readonly random: () => number;

  public constructor(private readonly options: MetricStoreOptions) {
    this.maxPoints = options.maxPointsPerSeries ?? DEFAULT_MAX_POINTS_PER_SERIES;
    this.maxSeries = options.maxSeries ?? DEFAULT_MAX_SERIES;
    this.random = options.random ?? Math.random;
  }

  public now(): number {
    return this.options.now();
  }

  /** Series held. */
  public get size(): number {
    return this.series.size;
  }

  /** Storage intervals held, over every series. */
  public get pointCount(): number {
    let n = 0;
    for (const s of this.series.values()) n += s.points.length;
    return n;
  }

  /**
   * Stores one datapoint; validation of API input happens in the handler. Datapoints of one
   * series in the same minute (second, for high resolution) are merged into one aggregate, so a
   * series costs one entry per minute however busy it is.
   */
  public put(d: Datapoint): void {
    const key = seriesKey(d.namespace, d.metricName, d.dimensions);
    const now = this.now();
    let s = this.series.get(key);
    if (!s) {
      if (this.series.size >= this.maxSeries) this.evict();
      s = { namespace: d.namespace, metricName: d.metricName, dimensions: canonicalDimensions(d.dimensions), points: [], lastPut: 0 };
      this.series.set(key, s);
    }
    s.lastPut = now;
    const pts = s.points;
    const last = pts[pts.length - 1];
    // The common case, a single value in the interval the series is filling: no new object.
    if (
      last &&
      d.value !== undefined &&
      d.storageResolution !== 1 &&
      Math.floor(d.timestamp / STANDARD_RESOLUTION_MS) * STANDARD_RESOLUTION_MS === last.t
    ) {
      last.sampleCount++;
      last.sum += d.value;
      if (d.value < last.min) last.min = d.value;
      if (d.value > last.max) last.max = d.value;
      if (last.unit === undefined && d.unit !== undefined && d.unit !== 'None') last.unit = d.unit;
      sample(last, d.value, this.random);
      return;
    }
    const p = toPoint(d, this.random);
    if (!p) return;
    if (last && last.t === p.t) merge(last, p, this.random);
    else if (!last || last.t < p.t) pts.push(p);
    else {
      const i = lowerBound(pts, p.t);
      const at = pts[i];
      if (at && at.t === p.t) merge(at, p, this.random);
      else pts.splice(i, 0, p);
    }
    if (pts.length > this.maxPoints) pts.splice(0, pts.length - this.maxPoints);
    const cutoff = now - RETENTION_MS;
    if (pts[0] && pts[0].t < cutoff) pts.splice(0, lowerBound(pts, cutoff));
  }

  /** Past the series cap: drops the tenth of the series written to least recently (at least one), so eviction stays cheap per put. */
  private evict(): void {
    const byAge = [...this.series].sort((a, b) => a[1].lastPut - b[1].lastPut);
    const n = Math.max(1, Math.floor(this.maxSeries / 10));
    for (const [key] of byAge.slice(0, n)) this.series.delete(key);
  }

  /** Drops datapoints past the retention, and series left without any. */
  public expire(): void {
    const cutoff = this.now() - RETENTION_MS;
    for (const [key, s] of this.series) {
      if (s.points[0] && s.points[0].t < cutoff) s.points.splice(0, lowerBound(s.points, cutoff));
      if (s.points.length === 0 && s.lastPut < cutoff) this.series.delete(key);
    }
  }

  public get(namespace: string, metricName: string, dimensions: readonly Dimension[]): Series | undefined {
    return this.series.get(seriesKey(namespace, metricName, dimensions));
  }

  public all(): IterableIterator<Series> {
    return this.series.values();
  }

  /**
   * The series' aggregates per period in [start, end), periods aligned to multiples of the
   * period since the epoch, as CloudWatch aligns them. Periods without data are left out.
   */
  public aggregate(s: Series | undefined, start: number, end: number, periodSeconds: number, unit?: string): PeriodStats[] {
    if (!s) return [];
    const period = periodSeconds * 1000;
    const out: PeriodStats[] = [];
    let cur:
      | { timestamp: number; sampleCount: number; sum: number; min: number; max: number; unit?: string; values?: number[] }
      | undefined;
    let hasDistribution = true;
    const from = lowerBound(s.points, start);
    for (let i = from; i < s.points.length; i++) {
      const p = s.points[i]!;
      if (p.t >= end) break;
      if (unit !== undefined && (p.unit ?? 'None') !== unit) continue;
      const bucket = Math.floor(p.t / period) * period;
      if (!cur || cur.timestamp !== bucket) {
        if (cur) out.push(finish(cur, hasDistribution));
        cur = { timestamp: bucket, sampleCount: 0, sum: 0, min: Infinity, max: -Infinity, ...(p.unit ? { unit: p.unit } : {}), values: [] };
        hasDistribution = true;
      }
      cur.sampleCount += p.sampleCount;
      cur.sum += p.sum;
      cur.min = Math.min(cur.min, p.min);
      cur.max = Math.max(cur.max, p.max);
      if (p.values) cur.values!.push(...p.values);
      else hasDistribution = false;
    }
    if (cur) out.push(finish(cur, hasDistribution));
    return out;
  }
}

function finish(
  c: { timestamp: number; sampleCount: number; sum: number; min: number; max: number; unit?: string; values?: number[] },
  hasDistribution: boolean,
): PeriodStats {
  const { values, ...rest } = c;
  return hasDistribution && values ? { ...rest, values } : rest;
}

function lowerBound(points: readonly Point[], t: number): number {
  let lo = 0;
  let hi = points.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (points[mid]!.t < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function toPoint(d: Datapoint, random: () => number): Point | undefined {
  const unit = d.unit && d.unit !== 'None' ? { unit: d.unit } : {};
  const interval = d.storageResolution === 1 ? 1000 : STANDARD_RESOLUTION_MS;
  const t = Math.floor(d.timestamp / interval) * interval;
  if (d.statisticValues) {
    const v = d.statisticValues;
    return { t, sampleCount: v.SampleCount, sum: v.Sum, min: v.Minimum, max: v.Maximum, seen: 0, ...unit };
  }
  if (d.values && d.values.length > 0) {
    const p: Point = { t, sampleCount: 0, sum: 0, min: Infinity, max: -Infinity, values: [], seen: 0, ...unit };
    d.values.forEach((v, i) => {
      const n = d.counts?.[i] ?? 1;
      p.sampleCount += n;
      p.sum += v * n;
      p.min = Math.min(p.min, v);
      p.max = Math.max(p.max, v);
      // Counts can be large; the distribution sees at most 1,000 copies of one value.
      for (let k = 0; k < Math.min(n, 1000); k++) sample(p, v, random);
    });
    return p;
  }
  if (d.value !== undefined) return { t, sampleCount: 1, sum: d.value, min: d.value, max: d.value, values: [d.value], seen: 1, ...unit };
  return undefined;
}

/** Reservoir sampling: after n values, each of them is in `values` with the same probability. */
function sample(p: Point, v: number, random: () => number): void {
  if (!p.values) return;
  p.seen++;
  if (p.values.length < VALUES_SAMPLE_SIZE) p.values.push(v);
  else {
    const j = Math.floor(random() * p.seen);
    if (j < VALUES_SAMPLE_SIZE) p.values[j] = v;
  }
}

/** Adds `p` to the aggregate `into` of the same interval, keeping a uniform sample of the values. */
function merge(into: Point, p: Point, random: () => number): void {
  into.sampleCount += p.sampleCount;
  into.sum += p.sum;
  into.min = Math.min(into.min, p.min);
  into.max = Math.max(into.max, p.max);
  if (into.unit === undefined && p.unit !== undefined) into.unit = p.unit;
  if (!into.values || !p.values) {
    delete into.values;
    return;
  }
  // An incoming datapoint's own sample stands for all of its values.
  for (const v of p.values) sample(into, v, random);
}

/**
 * One statistic of one period, or undefined when it cannot be computed (a percentile over
 * statistic sets, which carry no distribution, as on AWS).
 */
export function statistic(p: PeriodStats, stat: string): number | undefined {
  switch (stat) {
    case 'SampleCount':
      return p.sampleCount;
    case 'Sum':
      return p.sum;
    case 'Average':
      return p.sampleCount > 0 ? p.sum / p.sampleCount : undefined;
    case 'Minimum':
      return p.min;
    case 'Maximum':
      return p.max;
  }
  if (isPercentile(stat)) {
    if (!p.values || p.values.length === 0) return undefined;
    return percentile(p.values, Number(stat.slice(1)));
  }
  return undefined;
}

/** Nearest-rank percentile. CloudWatch's own estimator is not published; values may differ slightly. */
export function percentile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((q / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1]!;
}

// ---------------------------------------------------------------------------------------------
// Embedded Metric Format

export class EmfError extends Error {
  public constructor(message: string) {
    super(message);
    this.name = 'EmfError';
  }
}

/**
 * The datapoints of one EMF log line, or [] when the line is not EMF. A line that declares
 * `_aws.CloudWatchMetrics` but breaks the specification throws EmfError naming the problem;
 * CloudWatch drops such lines, and the caller decides whether to report it.
 */
export function parseEmf(message: string, fallbackTimestamp: number): Datapoint[] {
  const s = message.trimStart();
  if (!s.startsWith('{') || !s.includes('"_aws"')) return [];
  let doc: unknown;
  try {
    doc = JSON.parse(s);
  } catch {
    return [];
  }
  if (!isObject(doc) || !isObject(own(doc, '_aws'))) return [];
  const aws = own(doc, '_aws') as Record<string, unknown>;
  const directives = own(aws, 'CloudWatchMetrics');
  if (!Array.isArray(directives)) throw new EmfError('_aws.CloudWatchMetrics must be an array');
  const ts = own(aws, 'Timestamp');
  const timestamp = typeof ts === 'number' && Number.isFinite(ts) ? ts : fallbackTimestamp;
  const out: Datapoint[] = [];
  directives.forEach((d, i) => {
    if (!isObject(d)) throw new EmfError(`_aws.CloudWatchMetrics[${i}] must be an object`);
    const namespace = own(d, 'Namespace');
    if (typeof namespace !== 'string' || namespace.length < 1 || namespace.length > 255) {
      throw new EmfError(`_aws.CloudWatchMetrics[${i}].Namespace must be 1 to 255 characters`);
    }
    const sets = own(d, 'Dimensions');
    const metrics = own(d, 'Metrics');
    if (!Array.isArray(sets) || !Array.isArray(metrics))
      throw new EmfError(`_aws.CloudWatchMetrics[${i}] needs Dimensions and Metrics arrays`);
    if (metrics.length > 100) throw new EmfError(`_aws.CloudWatchMetrics[${i}].Metrics has ${metrics.length} entries; the maximum is 100`);
    const dimensionSets = sets.length === 0 ? [[]] : sets;
    for (const set of dimensionSets) {
      if (!Array.isArray(set) || set.length > MAX_DIMENSIONS)
        throw new EmfError(`a dimension set must be an array of at most ${MAX_DIMENSIONS} names`);
      const dimensions: Dimension[] = [];
      for (const name of set) {
        const v = typeof name === 'string' ? own(doc as Record<string, unknown>, name) : undefined;
        if (typeof name !== 'string' || typeof v !== 'string')
          throw new EmfError(`dimension ${String(name)} has no string value in the log line`);
        dimensions.push({ Name: name, Value: v });
      }
      for (const m of metrics) {
        if (!isObject(m) || typeof own(m, 'Name') !== 'string') throw new EmfError('every metric needs a Name');
        const name = own(m, 'Name') as string;
        const raw = own(doc as Record<string, unknown>, name);
        const values = (Array.isArray(raw) ? raw : [raw]).filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
        if (values.length === 0) continue;
        if (values.length > 100) throw new EmfError(`metric ${name} has ${values.length} values; the maximum is 100`);
        const unit = own(m, 'Unit');
        out.push({ namespace, metricName: name, dimensions, timestamp, values, ...(typeof unit === 'string' ? { unit } : {}) });
      }
    }
  });
  return out;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const own = (o: Record<string, unknown>, k: string): unknown => (Object.hasOwn(o, k) ? o[k] : undefined);

/** An InvalidParameterValue error in CloudWatch's shape. */
export const invalidValue = (message: string) => new AwsError('InvalidParameterValue', message);
