/** Scheduled rules on the virtual clock: rate() expressions fire on time, cron() is accepted but not run. */
import { inMemory } from './helpers';

let rt: ReturnType<typeof inMemory>;
beforeEach(() => (rt = inMemory()));
afterEach(() => rt.close());

test('a rate(5 minutes) rule delivers a Scheduled Event to its targets every five minutes', () => {
  // GIVEN
  const queue = rt.sqs.create('ticks');
  const rule = rt.events.putRule(rt.events.bus('default'), { name: 'tick', scheduleExpression: 'rate(5 minutes)' });
  rt.events.putTargets(rule, [{ id: 'q', arn: queue.arn }]);
  // WHEN
  rt.clock.advance(5 * 60_000 - 1);
  expect(rt.recorded.of('schedule.fired')).toHaveLength(0);
  rt.clock.advance(1);
  // THEN
  const [fired] = rt.recorded.of('schedule.fired');
  expect(fired).toMatchObject({ ruleName: 'tick', ruleArn: rule.arn, scheduleExpression: 'rate(5 minutes)' });
  expect(rt.recorded.of('target.delivered')).toEqual([
    expect.objectContaining({ eventId: fired!.eventId, targetArn: queue.arn, attempt: 1 }),
  ]);
  const [m] = queue.take(10);
  expect(JSON.parse(m!.body)).toMatchObject({
    id: fired!.eventId,
    source: 'aws.events',
    'detail-type': 'Scheduled Event',
    resources: [rule.arn],
    time: new Date(rt.clock.now()).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    detail: {},
  });
  queue.delete(m!.receiptHandle!);
  rt.clock.advance(10 * 60_000);
  expect(rt.recorded.of('schedule.fired')).toHaveLength(3);
  expect(queue.counts.ready).toBe(2);
});

test('a scheduled rule updated to DISABLED stops firing', () => {
  const queue = rt.sqs.create('ticks');
  const bus = rt.events.bus('default');
  const rule = rt.events.putRule(bus, { name: 'tick', scheduleExpression: 'rate(1 minute)' });
  rt.events.putTargets(rule, [{ id: 'q', arn: queue.arn }]);
  rt.clock.advance(60_000);
  expect(rt.recorded.of('schedule.fired')).toHaveLength(1);
  rt.events.putRule(bus, { name: 'tick', scheduleExpression: 'rate(1 minute)', state: 'DISABLED' });
  rt.clock.advance(3 * 60_000);
  expect(rt.recorded.of('schedule.fired')).toHaveLength(1);
});

test('a deleted scheduled rule leaves no timer behind', () => {
  const bus = rt.events.bus('default');
  rt.events.putRule(bus, { name: 'tick', scheduleExpression: 'rate(1 hour)' });
  expect(rt.clock.pending).toBeGreaterThan(0);
  rt.events.deleteRule(bus, 'tick');
  rt.clock.advance(24 * 3_600_000);
  expect(rt.recorded.of('schedule.fired')).toHaveLength(0);
});

test('bad schedule expressions are refused and cron is accepted with a warning', () => {
  const bus = rt.events.bus('default');
  expect(() => rt.events.putRule(bus, { name: 'a', scheduleExpression: 'rate(1 minutes)' })).toThrow(
    'Parameter ScheduleExpression is not valid.',
  );
  expect(() => rt.events.putRule(bus, { name: 'b', scheduleExpression: 'every 5 minutes' })).toThrow(
    'Parameter ScheduleExpression is not valid.',
  );
  rt.events.putRule(bus, { name: 'c', scheduleExpression: 'cron(0 12 * * ? *)' });
  expect(rt.recorded.of('runtime.warning')).toEqual([
    { message: 'rule c: cron(0 12 * * ? *) is accepted but cron schedules are not run locally' },
  ]);
  rt.clock.advance(2 * 86_400_000);
  expect(rt.recorded.of('schedule.fired')).toHaveLength(0);
  const custom = rt.events.createBus('custom');
  expect(() => rt.events.putRule(custom, { name: 'd', scheduleExpression: 'rate(1 minute)' })).toThrow('only on the default event bus');
});
