import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { json, runCli } from './helpers';

interface Report {
  lines: { service: string; item: string; quantity: number; usd: number }[];
  byService: Record<string, number>;
  total: number;
  defaultsFrom: string;
  prices: { takenOn: string };
}

/** A directory without cdk.out, so no template supplies defaults. */
const emptyDir = () => mkdtempSync(join(tmpdir(), 'cli-cost-'));

/** Every input given, so the run depends on nothing but the price table. */
const handExample = [
  '--json',
  'cost',
  '--rate',
  '1000000',
  '--per',
  'month',
  '--size',
  '2',
  '--consumers',
  '1',
  '--batch-size',
  '10',
  '--duration-ms',
  '100',
  '--memory-mb',
  '1024',
  '--data-key-reuse',
  '300',
  '--events-per-put',
  '1',
  '--alarms',
  '7',
  '--dashboards',
  '1',
  '--pollers',
  '0',
  '--log-bytes',
  '1024',
  '--trail-record-bytes',
  '1024',
  '--idempotency-writes',
  '2',
];

describe('cost', () => {
  test('matches the hand-computed example for 1 million 2 KB events a month to one consumer', async () => {
    // WHEN
    const r = await runCli(handExample, { cwd: emptyDir() });
    // THEN
    expect(r.code).toBe(0);
    const report = json<Report>(r);
    // By hand, with the prices of 2026-11-27 (us-east-1):
    // EventBridge: 1,000,000 events x 1 chunk x $1/M = 1.00
    //   archive: 2,000,000 KB = 1.9073486 GB x $0.10 = 0.1907349; storage x $0.023 = 0.0438690
    expect(report.byService.EventBridge).toBeCloseTo(1 + 0.1907349 + 0.043869, 5);
    // SQS: 1,000,000 sends + 100,000 receives (batches of 10 x 2 KB = 1 chunk) + 100,000 deletes
    //   = 1,200,000 requests x $0.40/M = 0.48
    expect(report.byService.SQS).toBeCloseTo(0.48, 6);
    // Lambda: 100,000 requests x $0.20/M = 0.02; 100,000 x 0.1 s x 1 GB = 10,000 GB-s x $0.0000133334 = 0.133334
    expect(report.byService.Lambda).toBeCloseTo(0.153334, 6);
    // KMS: key 1.00; one queue: 2,628,000 s / 300 s x (2 x 1 + 1) = 26,280 requests x $0.03/10k = 0.07884
    expect(report.byService.KMS).toBeCloseTo(1.07884, 6);
    // CloudTrail: 1,000,000 PutEvents calls (1 entry each) x $0.10/100k = 1.00
    expect(report.byService.CloudTrail).toBeCloseTo(1, 6);
    // CloudWatch: 7 alarms x 0.10 + 1 dashboard x 3.00 = 3.70;
    //   logs (100,000 x 1 KB + 1,000,000 x 1 KB) = 1.0490417 GB x ($0.50 + $0.03) = 0.5559921
    expect(report.byService.CloudWatch).toBeCloseTo(3.7 + 0.5559921, 5);
    // DynamoDB: 1,000,000 records x 2 writes = 2,000,000 WRU x $0.625/M = 1.25
    expect(report.byService.DynamoDB).toBeCloseTo(1.25, 6);
    expect(report.total).toBeCloseTo(9.45277, 4);
    expect(report.prices.takenOn).toBe('2026-11-27');
  });

  test('bills EventBridge and SQS per 64 KB chunk', async () => {
    // GIVEN a 100 KB event: 2 chunks per put and per send
    const r = await runCli(
      ['--json', 'cost', '--rate', '1000000', '--per', 'month', '--size', '100', '--consumers', '2', '--pollers', '0'],
      { cwd: emptyDir() },
    );
    const report = json<Report>(r);
    const line = (item: string) => report.lines.find((l) => l.item.startsWith(item));
    expect(line('custom events')?.quantity).toBe(2_000_000);
    expect(line('SendMessage')?.quantity).toBe(4_000_000);
  });

  test('counts idle long polls when they exceed the batched receives', async () => {
    // 1 event per hour: 730 receives a month, far fewer than 5 pollers x 2,628,000 s / 20 s per queue.
    const r = await runCli(['--json', 'cost', '--rate', '1', '--per', 'hour', '--consumers', '1', '--pollers', '5'], { cwd: emptyDir() });
    const report = json<Report>(r);
    expect(report.lines.find((l) => l.item.startsWith('ReceiveMessage'))?.quantity).toBe(657_000);
  });

  test('converts the rate unit with a 730-hour month', async () => {
    const r = await runCli(['--json', 'cost', '--rate', '2', '--per', 'second'], { cwd: emptyDir() });
    expect(json<Report>(r).lines[0]?.quantity).toBe(2 * 730 * 3600);
    expect(json<Report>(r).defaultsFrom).toBe('built-in defaults');
  });

  test('prints a per-service table with a total in text mode', async () => {
    const r = await runCli(['cost', '--rate', '10'], { cwd: emptyDir() });
    expect(r.code).toBe(0);
    for (const service of ['EventBridge', 'SQS', 'Lambda', 'KMS', 'CloudTrail', 'CloudWatch', 'DynamoDB', 'total']) {
      expect(r.stdout).toMatch(new RegExp(`^${service}\\s+\\d+\\.\\d\\d$`, 'm'));
    }
  });

  test.each([
    [['--rate', 'ten'], "'-r, --rate <n>' argument 'ten' is invalid"],
    [['--rate', '1', '--size', '2000'], 'must be a number from 0.001 to 1024'],
    [['--rate', '1', '--memory-mb', '64'], 'must be an integer from 128 to 10240'],
    [['--rate', '1', '--per', 'week'], "argument 'week' is invalid"],
    [[], "required option '-r, --rate <n>'"],
  ])('rejects %j as a usage error naming the limit', async (args, message) => {
    const r = await runCli(['cost', ...args], { cwd: emptyDir() });
    expect(r.stderr).toContain(message);
    expect(r.code).toBe(2);
  });
});
