/**
 * Every alarm of the synthesized router stack, read from the cdk.out the runtime loads, reaches
 * ALARM from the runtime events that mean trouble (vended metrics, or a denied call through the
 * stack's metric filter), and notifies its topic. Counts and names come from the template.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { ensureSynth } from '../../../assembly';
import { app } from '../../../catalog';
import { names } from '../../../sdk/catalog';
import { AlarmRegistry, AlarmScheduler } from '../../../runtime/cloudwatch/alarms';
import { alarmDefinition } from '../../../runtime/cloudwatch/cloudwatch-api';
import { LogStore } from '../../../runtime/cloudwatch/log-store';
import { MetricStore } from '../../../runtime/cloudwatch/metric-store';
import { vendedDatapoints, type VendedEvent } from '../../../runtime/cloudwatch/vended';
import { buildCloudTrailRecord } from '../../../runtime/cloudtrail/record';
import { VirtualClock } from '../../../runtime/clock';

const T0 = Date.parse('2026-11-29T12:00:30Z');
const TOPIC = 'arn:aws:sns:us-east-1:111122223333:LoanEvents-AlarmTopic';

/** Stands in for the runtime's resolution of references: a resource's logical id as its name. */
function resolve(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(resolve);
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if (typeof o.Ref === 'string') return o.Ref.startsWith('ObservabilityAlarmTopic') ? TOPIC : o.Ref;
    if (Array.isArray(o['Fn::GetAtt'])) return String((o['Fn::GetAtt'] as unknown[])[0]);
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, resolve(x)]));
  }
  return v;
}

/** The runtime event that should breach an alarm on this metric, or undefined when a log line does it. */
function trouble(namespace: string, metric: string, dims: Record<string, string>, time: number): VendedEvent | undefined {
  const bus = dims.EventBusName ?? '';
  const rule = dims.RuleName ?? '';
  const queueName = dims.QueueName ?? '';
  const functionName = dims.FunctionName ?? '';
  switch (`${namespace} ${metric}`) {
    case 'AWS/SQS ApproximateNumberOfMessagesVisible':
      return { type: 'queue.sampled', time, queueName, visible: 1, notVisible: 0, delayed: 0, oldestAgeSeconds: 10 };
    case 'AWS/SQS ApproximateAgeOfOldestMessage':
      return { type: 'queue.sampled', time, queueName, visible: 0, notVisible: 1, delayed: 0, oldestAgeSeconds: 900 };
    case 'AWS/Lambda Errors':
      return { type: 'function.invoked', time, functionName, outcome: 'error', durationMs: 20, concurrent: 1 };
    case 'AWS/Lambda Throttles':
      return { type: 'function.invoked', time, functionName, outcome: 'throttled', durationMs: 0, concurrent: 1 };
    case 'AWS/Events FailedInvocations':
      return { type: 'target.delivered', time, busName: bus, ruleName: rule, outcome: 'failed' };
    case 'AWS/Events InvocationsFailedToBeSentToDlq':
      return { type: 'target.delivered', time, busName: bus, ruleName: rule, outcome: 'dead-letter-failed' };
    case 'AWS/Events PutEventsFailedEntriesCount':
      return { type: 'put-events', time, entries: 2, failed: 1 };
  }
  return undefined;
}

type Template = { Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }> };

/** All resources of a type, as [logicalId, properties] pairs. */
const resourcesOf = (template: Template, type: string): [string, Record<string, unknown>][] =>
  Object.entries(template.Resources).flatMap(([id, r]) =>
    r.Type === type ? [[id, r.Properties ?? {}] as [string, Record<string, unknown>]] : [],
  );

let template: Template;
beforeAll(async () => {
  // The one cdk.out of the app, synthesized as `cdk synth` does when it is older than its sources.
  const outdir = await ensureSynth();
  template = JSON.parse(readFileSync(path.join(outdir, `${names.routerStack(app)}.template.json`), 'utf8')) as Template;
});

test("every alarm of the stack goes to ALARM on the trouble it watches, and notifies the stack's topic", () => {
  const alarms = resourcesOf(template, 'AWS::CloudWatch::Alarm').map(([id, props]) => ({
    id,
    props: resolve(props) as Record<string, unknown>,
  }));
  const filters = resourcesOf(template, 'AWS::Logs::MetricFilter').map(([, props]) => resolve(props) as Record<string, unknown>);
  expect(alarms.length).toBeGreaterThan(0);

  const clock = new VirtualClock(T0);
  const metrics = new MetricStore({ now: () => clock.now() });
  const registry = new AlarmRegistry({ now: () => clock.now(), metrics, accountId: '111122223333' });
  const logs = new LogStore({
    now: () => clock.now(),
    accountId: '111122223333',
    onMetric: (dp, t) =>
      metrics.put({
        ...dp,
        dimensions: Object.entries(dp.dimensions).map(([Name, Value]) => ({ Name, Value })),
        timestamp: t,
        value: dp.value,
      }),
  });
  for (const [i, f] of filters.entries()) {
    const group = String(f.LogGroupName);
    logs.ensureLogGroup(group);
    const t = (f.MetricTransformations as Record<string, unknown>[])[0]!;
    logs.putMetricFilter(group, `filter-${i}`, String(f.FilterPattern), [
      { metricNamespace: String(t.MetricNamespace), metricName: String(t.MetricName), metricValue: String(t.MetricValue) },
    ]);
  }
  for (const a of alarms) registry.put({ ...alarmDefinition({ ...a.props, AlarmName: a.id }) });
  expect(registry.list().every((a) => a.status.value === 'INSUFFICIENT_DATA')).toBe(true);

  const scheduler = new AlarmScheduler(registry, clock);
  scheduler.start();
  // Five minutes of trouble: every alarm's metric breaches each minute.
  for (let minute = 0; minute < 6; minute++) {
    for (const a of registry.list()) {
      const d = a.definition;
      const dims = Object.fromEntries((d.Dimensions ?? []).map((x) => [x.Name, x.Value]));
      const e = trouble(d.Namespace, d.MetricName, dims, clock.now());
      if (e) vendedDatapoints(e).forEach((p) => metrics.put(p));
    }
    // A denied PutEvents and a key policy change, as the trail delivers them to its log group, for the metric filters.
    for (const f of filters) {
      const records = [
        buildCloudTrailRecord({
          service: 'events',
          operation: 'PutEvents',
          error: { code: 'AccessDeniedException', message: 'not authorized' },
          requestId: `r${minute}`,
          time: clock.now(),
          region: 'us-east-1',
          recipientAccountId: '111122223333',
        }),
        buildCloudTrailRecord({
          service: 'kms',
          operation: 'PutKeyPolicy',
          requestId: `k${minute}`,
          time: clock.now(),
          region: 'us-east-1',
          recipientAccountId: '111122223333',
        }),
      ];
      for (const record of records) {
        logs.write(String(f.LogGroupName), '111122223333_CloudTrail_us-east-1', JSON.stringify(record), clock.now());
      }
    }
    clock.advance(60_000);
  }
  scheduler.stop();

  const notAlarming = registry
    .list()
    .filter((a) => a.status.value !== 'ALARM')
    .map((a) => `${a.definition.AlarmName}: ${a.status.value} (${a.status.reason})`);
  expect(notAlarming).toEqual([]);
  const notified = new Set(
    registry.notifications.filter((n) => n.topicArn === TOPIC).map((n) => (JSON.parse(n.message) as { AlarmName: string }).AlarmName),
  );
  expect([...notified].sort()).toEqual(alarms.map((a) => a.id).sort());
});
