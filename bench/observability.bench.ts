/**
 * What the local CloudTrail and CloudWatch cost the runtime: filter-pattern matching (metric
 * filters run on every log line), FilterLogEvents over a large group, one alarm evaluation round
 * for 100 alarms, and building a CloudTrail record per served call.
 * `npm run bench -- observability`; each figure is the median of 3 runs of at least
 * BENCH_SECONDS (default 1) seconds.
 */
import { AlarmRegistry } from '../runtime/cloudwatch/alarms';
import { compileFilterPattern } from '../runtime/cloudwatch/filter-pattern';
import { LogStore } from '../runtime/cloudwatch/log-store';
import { handleLogsRequest } from '../runtime/cloudwatch/logs-api';
import { MetricStore } from '../runtime/cloudwatch/metric-store';
import { buildCloudTrailRecord } from '../runtime/cloudtrail/record';

const seconds = Number(process.env.BENCH_SECONDS ?? '1');
const RUNS = 3;

/** Median over RUNS of (operations / second), each run at least `seconds` long. */
function measure(label: string, unit: string, op: () => number): void {
  const rates: number[] = [];
  for (let i = 0; i < 20; i++) op(); // warm-up
  for (let r = 0; r < RUNS; r++) {
    let done = 0;
    const t0 = performance.now();
    let elapsed = 0;
    while (elapsed < seconds * 1000) {
      done += op();
      elapsed = performance.now() - t0;
    }
    rates.push(done / (elapsed / 1000));
  }
  rates.sort((a, b) => a - b);
  const median = rates[Math.floor(RUNS / 2)]!;
  console.log(`${label.padEnd(64)} ${fmt(median).padStart(12)} ${unit}   (runs: ${rates.map(fmt).join(', ')})`);
}

const fmt = (n: number) => (n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(2));

const T0 = Date.parse('2026-11-29T12:00:00Z');
const ACCOUNT = '111122223333';

// Realistic lines: CloudTrail records (1 in 10 denied) and Powertools consumer lines.
const trailLines = Array.from({ length: 1000 }, (_, i) =>
  JSON.stringify(
    buildCloudTrailRecord({
      service: i % 3 === 0 ? 'sqs' : 'events',
      operation: i % 3 === 0 ? 'SendMessage' : 'PutEvents',
      requestParameters: {
        Entries: [
          {
            Source: 'com.example.loans.intake',
            DetailType: 'LoanApplicationSubmitted',
            Detail: JSON.stringify({ metadata: { correlationId: `c-${i}` }, data: { amount: i * 100 } }),
          },
        ],
      },
      responseElements: { FailedEntryCount: 0, Entries: [{ EventId: `e-${i}` }] },
      ...(i % 10 === 0 ? { error: { code: 'AccessDeniedException', message: 'not authorized' } } : {}),
      identity: { type: 'AssumedRole', accountId: ACCOUNT, roleName: 'Intake', sessionName: `s${i % 7}` },
      requestId: `r${i}`,
      time: T0 + i,
      region: 'us-east-1',
      recipientAccountId: ACCOUNT,
      resources: [{ type: 'AWS::Events::EventBus', arn: `arn:aws:events:us-east-1:${ACCOUNT}:event-bus/loan-events` }],
    }),
  ),
);
const powertoolsLines = Array.from({ length: 1000 }, (_, i) =>
  JSON.stringify({
    level: i % 50 === 0 ? 'ERROR' : 'INFO',
    message: 'Event processed',
    service: 'underwriting',
    correlationId: `c-${i % 100}`,
    eventId: `e-${i}`,
    messageId: `m-${i}`,
    receiveCount: 1,
    timestamp: new Date(T0 + i).toISOString(),
  }),
);

/** Records built above with an error on events.amazonaws.com: every 10th, except the SQS ones (every 3rd). */
const DENIED_EVENTS = trailLines.filter((_, i) => i % 10 === 0 && i % 3 !== 0).length;
const denied = compileFilterPattern('{ ($.eventSource = "events.amazonaws.com") && ($.errorCode = "AccessDenied*") }');
const terms = compileFilterPattern('?ERROR ?"Task timed out"');
const correlation = compileFilterPattern('{ ($.correlationId = "c-42") || ($.eventId = "c-42") }');

console.log(`BENCH_SECONDS=${seconds}, median of ${RUNS} runs`);
measure('JSON pattern (metric filter DeniedEventBridgeCalls) on trail records', 'lines/s', () => {
  let m = 0;
  for (const l of trailLines) if (denied(l)) m++;
  if (m !== DENIED_EVENTS) throw new Error(`expected ${DENIED_EVENTS} matches, got ${m}`);
  return trailLines.length;
});
measure('JSON pattern (trace correlation lookup) on Powertools lines', 'lines/s', () => {
  let m = 0;
  for (const l of powertoolsLines) if (correlation(l)) m++;
  if (m !== 10) throw new Error(`expected 10 matches, got ${m}`);
  return powertoolsLines.length;
});
measure('terms pattern (?ERROR ?"Task timed out") on Powertools lines', 'lines/s', () => {
  let m = 0;
  for (const l of powertoolsLines) if (terms(l)) m++;
  if (m !== 20) throw new Error(`expected 20 matches, got ${m}`);
  return powertoolsLines.length;
});

// FilterLogEvents over one group of 100,000 events in 10 streams, one page of matches.
{
  const store = new LogStore({ now: () => T0 + 3_600_000, maxStoredBytes: 2 ** 31 });
  for (let i = 0; i < 100_000; i++) store.write('/aws/lambda/LoanEvents-underwriting', `s${i % 10}`, powertoolsLines[i % 1000]!, T0 + i);
  measure('FilterLogEvents, 100k events, JSON pattern, whole group scanned', 'events scanned/s', () => {
    const r = handleLogsRequest(store, 'FilterLogEvents', {
      logGroupName: '/aws/lambda/LoanEvents-underwriting',
      filterPattern: '{ $.correlationId = "c-42" }',
    }) as { events: unknown[] };
    if (r.events.length !== 1000) throw new Error(`expected 1000 matches, got ${r.events.length}`);
    return 100_000;
  });
}

// 100 alarms, each on its own metric with an hour of one-minute datapoints.
{
  const now = T0 + 3_600_000 + 30_000;
  const metrics = new MetricStore({ now: () => now });
  const registry = new AlarmRegistry({ now: () => now, metrics });
  for (let a = 0; a < 100; a++) {
    const dims = [{ Name: 'QueueName', Value: `q${a}` }];
    for (let m = 0; m < 60; m++)
      metrics.put({
        namespace: 'AWS/SQS',
        metricName: 'ApproximateNumberOfMessagesVisible',
        dimensions: dims,
        timestamp: T0 + m * 60_000,
        value: m % 7,
      });
    registry.put({
      AlarmName: `a${a}`,
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: dims,
      Statistic: a % 2 ? 'Maximum' : 'Average',
      Period: a % 3 ? 60 : 300,
      EvaluationPeriods: 3,
      DatapointsToAlarm: 2,
      Threshold: 3,
      ComparisonOperator: 'GreaterThanThreshold',
    });
  }
  measure('alarm evaluation round, 100 alarms (1 h of 1-min data each)', 'rounds/s', () => {
    for (const alarm of registry.list()) registry.evaluate(alarm);
    return 1;
  });
}

measure('CloudTrail record built and serialized per served call', 'records/s', () => {
  for (let i = 0; i < 100; i++) {
    const r = buildCloudTrailRecord({
      service: 'events',
      operation: 'PutEvents',
      requestParameters: {
        Entries: [{ Source: 'com.example.loans.intake', DetailType: 'LoanApplicationSubmitted', Detail: '{"metadata":{},"data":{}}' }],
      },
      responseElements: { FailedEntryCount: 0, Entries: [{ EventId: `e-${i}` }] },
      requestId: `r${i}`,
      time: T0 + i,
      region: 'us-east-1',
      recipientAccountId: ACCOUNT,
    });
    if (JSON.stringify(r).length < 100) throw new Error('record too short');
  }
  return 100;
});
