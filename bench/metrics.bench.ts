/**
 * What the runtime's CloudWatch costs PutEvents: the same in-process broker (bus -> rule -> SQS
 * queue, PutEvents of 10 entries) with and without the CloudWatch subscriber on its event
 * stream, alternating run by run so both sides see the same load; the figure is the median of
 * the per-run ratios. Also the metric store's size afterwards, which is bounded by series and
 * minutes, not by events. `npm run bench -- metrics`.
 */
import { EventBroker } from '../runtime/events';
import { VirtualClock } from '../runtime/clock';
import { LocalCloudWatch } from '../runtime/metrics';
import { SqsBroker } from '../runtime/sqs';
import { EventStream } from '../runtime/stream';
import { load, machine, median, settings } from './measure';

const ACCOUNT = '000000000000';
const REGION = 'us-east-1';

function broker(withCloudWatch: boolean) {
  const clock = new VirtualClock(Date.UTC(2026, 10, 29, 12));
  const stream = new EventStream(clock, ACCOUNT, REGION);
  const sqs = new SqsBroker({ clock, stream, region: REGION, accountId: ACCOUNT, endpoint: 'http://127.0.0.1:1' });
  const events = new EventBroker({ clock, stream, sqs, region: REGION, accountId: ACCOUNT });
  const queue = sqs.create('orders-queue');
  const bus = events.createBus('orders');
  const rule = events.putRule(bus, { name: 'orders-rule', pattern: '{"source":["shop"]}' });
  events.putTargets(rule, [{ id: 'q', arn: queue.arn }]);
  const cw = withCloudWatch ? new LocalCloudWatch({ clock, stream, sqs, region: REGION, accountId: ACCOUNT }) : undefined;
  cw?.start();
  const entries = Array.from({ length: 10 }, (_, i) => ({
    EventBusName: 'orders',
    Source: 'shop',
    DetailType: 'OrderPlaced',
    Detail: JSON.stringify({ orderId: `o-${i}`, amount: 100 + i }),
  }));
  let n = 0;
  return {
    cw,
    clock,
    /** One PutEvents request; the queue is emptied now and then so memory stays flat. */
    put(): number {
      events.putEvents(entries);
      if (++n % 1000 === 0) {
        queue.purge();
        // A second of virtual time per 1,000 requests: the store sees minutes pass.
        clock.advance(1000);
      }
      return 10;
    },
    close() {
      cw?.close();
      events.close();
      sqs.close();
    },
  };
}

/** Events per second of `op` over at least `seconds`. */
function rate(op: () => number, seconds: number): number {
  let done = 0;
  const t0 = performance.now();
  let elapsed = 0;
  while (elapsed < seconds * 1000) {
    for (let k = 0; k < 50; k++) done += op();
    elapsed = performance.now() - t0;
  }
  return done / (elapsed / 1000);
}

const { runs, seconds } = settings();
const without = broker(false);
const withCw = broker(true);
rate(() => without.put(), seconds);
rate(() => withCw.put(), seconds);
const plain: number[] = [];
const observed: number[] = [];
const ratios: number[] = [];
for (let r = 0; r < runs; r++) {
  const a = rate(() => without.put(), seconds);
  const b = rate(() => withCw.put(), seconds);
  plain.push(a);
  observed.push(b);
  ratios.push(b / a);
}
const fmt = (x: number) => Math.round(x).toLocaleString('en-US');
console.log(`Machine: ${machine()}; ${load()}`);
console.log(`PutEvents (10 entries, bus -> rule -> queue), in process, ${runs} runs of ${seconds} s each side, alternating:`);
console.log(`  without CloudWatch   ${fmt(median(plain))} events/s (runs ${plain.map(fmt).join(', ')})`);
console.log(`  with CloudWatch      ${fmt(median(observed))} events/s (runs ${observed.map(fmt).join(', ')})`);
console.log(`  ratio (median of per-run ratios) ${median(ratios).toFixed(3)} (runs ${ratios.map((x) => x.toFixed(3)).join(', ')})`);
const store = withCw.cw!.metrics;
const minutes = Math.ceil((withCw.clock.now() - Date.UTC(2026, 10, 29, 12)) / 60_000);
console.log(`  metric store afterwards: ${store.size} series, ${store.pointCount} stored minutes over ${minutes} virtual minutes`);
without.close();
withCw.close();
