/** `cost`: monthly cost of the deployed design for an event rate, size and consumer count. */
import { Option, type Command } from 'commander';
import { estimateCost, perMonth, type CostInputs } from '../cost';
import { PRICES, PRICES_REGION, PRICES_TAKEN_ON } from '../pricing';
import { intInRange, numberInRange, PROGRAM_NAME, type Wrap } from '../command';
import { hasTopology, loadTopology, type Topology } from '../topology';

interface CostOptions {
  rate: number;
  per: 'second' | 'minute' | 'hour' | 'day' | 'month';
  size: number;
  consumers?: number;
  batchSize?: number;
  durationMs: number;
  memoryMb?: number;
  dataKeyReuse?: number;
  eventsPerPut: number;
  alarms?: number;
  dashboards?: number;
  pollers: number;
  logBytes: number;
  trailRecordBytes: number;
  idempotencyWrites: number;
  template?: string;
  assembly: string;
}

/** Design defaults, taken from the synthesized template when there is one. */
function designDefaults(t: Topology | undefined): {
  consumers: number;
  batchSize: number;
  memoryMB: number;
  reuse: number;
  alarms: number;
  dashboards: number;
  from: string;
} {
  if (!t || t.functions.length === 0) {
    // The stack's own defaults (lib/buffered-consumer.ts, lib/observability.ts): 3 catalog
    // consumers, 6 alarms each plus one on the bus DLQ, one dashboard.
    return { consumers: 3, batchSize: 10, memoryMB: 256, reuse: 300, alarms: 19, dashboards: 1, from: 'built-in defaults' };
  }
  const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const buffers = t.functions.flatMap((f) => f.sources.map((s) => t.queues.get(s.queueId))).filter((q) => q !== undefined);
  return {
    consumers: t.rules.length,
    batchSize: avg(t.functions.flatMap((f) => f.sources.map((s) => s.batchSize))),
    memoryMB: avg(t.functions.map((f) => f.memoryMB)),
    reuse: avg(buffers.map((q) => q.kmsDataKeyReuseSeconds ?? 300)),
    alarms: t.counts['AWS::CloudWatch::Alarm'] ?? 0,
    dashboards: t.counts['AWS::CloudWatch::Dashboard'] ?? 0,
    from: 'the synthesized template',
  };
}

/** Cents, or two significant digits for amounts under a cent, so small lines do not read as zero. */
const usd = (n: number) => (n === 0 || n >= 0.01 ? n.toFixed(2) : n.toPrecision(2));
const qty = (n: number) =>
  Number.isInteger(n)
    ? n.toLocaleString('en-US')
    : n < 1000
      ? n.toPrecision(4).replace(/\.?0+$/, '')
      : Math.round(n).toLocaleString('en-US');

export function registerCost(program: Command, wrap: Wrap): void {
  program
    .command('cost')
    .description('monthly cost of the deployed design for an event rate, size and consumer count, per service')
    .requiredOption('-r, --rate <n>', 'events put on the bus', numberInRange(0, 1e12))
    .addOption(new Option('--per <unit>', 'unit of --rate').choices(['second', 'minute', 'hour', 'day', 'month']).default('second'))
    .option('-s, --size <KB>', 'average event size in KB (1 to 1024)', numberInRange(0.001, 1024), 1)
    .option('-c, --consumers <n>', 'consumers each event is delivered to (default: rules in the template)', intInRange(0, 1000))
    .option('--batch-size <n>', 'average records per invocation (default: from the template)', numberInRange(1, 10000))
    .option('--duration-ms <ms>', 'average invocation duration', numberInRange(1, 900000), 100)
    .option('--memory-mb <MB>', 'function memory (default: from the template)', intInRange(128, 10240))
    .option('--data-key-reuse <seconds>', "queues' KMS data key reuse period (default: from the template)", intInRange(60, 86400))
    .option('--events-per-put <n>', 'average entries per PutEvents call', numberInRange(1, 10), 1)
    .option('--alarms <n>', 'CloudWatch alarms (default: from the template)', intInRange(0, 100000))
    .option('--dashboards <n>', 'CloudWatch dashboards (default: from the template)', intInRange(0, 1000))
    .option('--pollers <n>', 'Lambda pollers long-polling each idle queue', intInRange(0, 1000), 5)
    .option('--log-bytes <n>', 'log bytes written per invocation', intInRange(0, 1e9), 1024)
    .option('--trail-record-bytes <n>', 'bytes per CloudTrail record in the trail log group', intInRange(0, 1e6), 1500)
    .option('--idempotency-writes <n>', 'DynamoDB writes per record', intInRange(0, 100), 2)
    .option('--template <file>', 'CloudFormation template to read the design from')
    .option('--assembly <dir>', 'cloud assembly directory', 'cdk.out')
    .addHelpText(
      'after',
      `
Prices: ${PRICES_REGION}, taken ${PRICES_TAKEN_ON}, without free tiers (see cli/pricing.ts).
Example:
  $ ${PROGRAM_NAME} cost --rate 50 --size 2 --consumers 2`,
    )
    .action(
      wrap<CostOptions>(async ({ io, out, names }, o) => {
        // Design defaults come from the template when there is one; without one, the options' defaults.
        const stack = o.template ? (names.tryApp(o.assembly) ?? '') : names.tryApp(o.assembly);
        const where = stack === undefined ? undefined : { template: o.template, assembly: o.assembly, stack, cwd: io.cwd };
        const topology = where && (o.template || hasTopology(where)) ? loadTopology(where) : undefined;
        const d = designDefaults(topology);
        const inputs: CostInputs = {
          eventsPerMonth: perMonth(o.rate, o.per),
          eventSizeKB: o.size,
          consumers: o.consumers ?? d.consumers,
          batchSize: o.batchSize ?? d.batchSize,
          durationMs: o.durationMs,
          memoryMB: o.memoryMb ?? d.memoryMB,
          dataKeyReuseSeconds: o.dataKeyReuse ?? d.reuse,
          eventsPerPutEvents: o.eventsPerPut,
          alarms: o.alarms ?? d.alarms,
          dashboards: o.dashboards ?? d.dashboards,
          pollersPerQueue: o.pollers,
          logBytesPerInvocation: o.logBytes,
          trailRecordBytes: o.trailRecordBytes,
          idempotencyWritesPerRecord: o.idempotencyWrites,
        };
        const report = estimateCost(inputs);
        out.data({ ...report, defaultsFrom: d.from, prices: { region: PRICES_REGION, takenOn: PRICES_TAKEN_ON, table: PRICES } });
        out.line(
          `${qty(inputs.eventsPerMonth)} events/month of ${inputs.eventSizeKB} KB to ${inputs.consumers} consumer(s); design defaults from ${d.from}`,
        );
        out.line();
        const rows: string[][] = [['service', 'item', 'quantity', 'unit', 'USD/month']];
        for (const l of report.lines)
          rows.push([l.service, l.item, qty(l.quantity), PRICES[l.price].unit + (PRICES[l.price].confirmed ? '' : ' *'), usd(l.usd)]);
        out.table(rows, ['left', 'left', 'right', 'left', 'right']);
        out.line();
        out.table(
          [['service', 'USD/month'], ...Object.entries(report.byService).map(([s, v]) => [s, usd(v)]), ['total', usd(report.total)]],
          ['left', 'right'],
        );
        out.line();
        out.line(`Prices: ${PRICES_REGION} list prices taken ${PRICES_TAKEN_ON}, no free tiers; * = unconfirmed price (cli/pricing.ts).`);
      }),
    );
}
