/** Scheduled rules: rate() expressions fire on time (fake timers), cron() is accepted but not run. */
import { EventBroker } from '../../runtime/events';
import { RuntimeLog } from '../../runtime/log';
import { SqsBroker } from '../../runtime/sqs';

function setup(lines: string[] = []) {
  const log = new RuntimeLog((l) => lines.push(l), false);
  const sqs = new SqsBroker(log, 'us-east-1', '000000000000', 'http://127.0.0.1:1');
  const events = new EventBroker(log, sqs, 'us-east-1', '000000000000');
  const queue = sqs.create('ticks');
  return { log, sqs, events, queue };
}

beforeEach(() => jest.useFakeTimers());
afterEach(() => jest.useRealTimers());

test('a rate(5 minutes) rule delivers a Scheduled Event to its targets every five minutes', () => {
  // GIVEN
  const { events, queue, sqs } = setup();
  const rule = events.putRule(events.bus('default'), { name: 'tick', scheduleExpression: 'rate(5 minutes)' });
  events.putTargets(rule, [{ id: 'q', arn: queue.arn }]);
  // WHEN
  jest.advanceTimersByTime(5 * 60_000 - 1);
  expect(queue.counts.ready).toBe(0);
  jest.advanceTimersByTime(1);
  // THEN
  const [m] = queue.take(10);
  expect(JSON.parse(m.body)).toMatchObject({ source: 'aws.events', 'detail-type': 'Scheduled Event', resources: [rule.arn], detail: {} });
  queue.delete(m.receiptHandle!);
  jest.advanceTimersByTime(10 * 60_000);
  expect(queue.counts.ready).toBe(2);
  events.close();
  sqs.close();
});

test('a scheduled rule updated to DISABLED stops firing', () => {
  const { events, queue, sqs } = setup();
  const bus = events.bus('default');
  const rule = events.putRule(bus, { name: 'tick', scheduleExpression: 'rate(1 minute)' });
  events.putTargets(rule, [{ id: 'q', arn: queue.arn }]);
  events.putRule(bus, { name: 'tick', scheduleExpression: 'rate(1 minute)', state: 'DISABLED' });
  jest.advanceTimersByTime(3 * 60_000);
  expect(queue.counts.ready).toBe(0);
  events.close();
  sqs.close();
});

test('bad schedule expressions are refused and cron is accepted with a warning', () => {
  const lines: string[] = [];
  const { events, sqs } = setup(lines);
  const bus = events.bus('default');
  expect(() => events.putRule(bus, { name: 'a', scheduleExpression: 'rate(1 minutes)' })).toThrow(
    'Parameter ScheduleExpression is not valid.',
  );
  expect(() => events.putRule(bus, { name: 'b', scheduleExpression: 'every 5 minutes' })).toThrow(
    'Parameter ScheduleExpression is not valid.',
  );
  events.putRule(bus, { name: 'c', scheduleExpression: 'cron(0 12 * * ? *)' });
  events.log.flush();
  expect(lines).toEqual(['rule c: cron(0 12 * * ? *) is accepted but cron schedules are not run locally']);
  const custom = events.createBus('custom');
  expect(() => events.putRule(custom, { name: 'd', scheduleExpression: 'rate(1 minute)' })).toThrow('only on the default event bus');
  events.close();
  sqs.close();
});
