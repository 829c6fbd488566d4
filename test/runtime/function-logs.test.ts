/**
 * A function's output in CloudWatch Logs, as Lambda writes it for a function without
 * LoggingConfig (text format): one stream per execution environment, START, the handler's own
 * lines, END and REPORT per invocation, Lambda's timeout line. Read back with the SDK v3 client.
 * The JSON format (LoggingConfig of the real app) is covered by observability.test.ts.
 * Function timeouts are measured on a virtual clock that only the timeout test moves, so the
 * timed-out invocation does not wait out the function's Timeout in real time.
 */
import { CloudWatchLogsClient, DescribeLogStreamsCommand, GetLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { VirtualClock } from '../../runtime/clock';
import { loadTopology, type FunctionDef } from '../../runtime/template';
import { ACCOUNT, FIXTURE_APP, REGION, startIdleDrivenHarness, waitFor, type Harness } from './helpers';

jest.setTimeout(60_000);

let h: Harness;
let logs: CloudWatchLogsClient;
let fn: FunctionDef;
/** What the function's Timeout is measured on: still unless the timeout test moves it. */
const timeouts = new VirtualClock();

beforeAll(async () => {
  h = await startIdleDrivenHarness(FIXTURE_APP, { quiet: true, functionTimeoutClock: timeouts });
  logs = new CloudWatchLogsClient({ endpoint: h.endpoint, region: REGION, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  fn = loadTopology(FIXTURE_APP, { region: REGION, accountId: ACCOUNT, endpoint: h.endpoint }).functions[0]!;
});
afterAll(async () => {
  logs?.destroy();
  await h?.close();
});

async function work(kind: string, id: string): Promise<void> {
  const r = await h.events.send(
    new PutEventsCommand({
      Entries: [{ EventBusName: 'fixture-bus', Source: 'fixture', DetailType: 'Work', Detail: JSON.stringify({ id, kind }) }],
    }),
  );
  expect(r.FailedEntryCount).toBe(0);
}

/** Every line of the function's log group, stream by stream. */
async function lines(): Promise<{ stream: string; message: string }[]> {
  const group = `/aws/lambda/${fn.name}`;
  const streams = (await logs.send(new DescribeLogStreamsCommand({ logGroupName: group }))).logStreams ?? [];
  const out: { stream: string; message: string }[] = [];
  for (const s of streams) {
    const r = await logs.send(new GetLogEventsCommand({ logGroupName: group, logStreamName: s.logStreamName, startFromHead: true }));
    for (const e of r.events ?? []) out.push({ stream: s.logStreamName!, message: e.message! });
  }
  return out;
}

test('each invocation is START, the handler lines, END and REPORT, in one stream named as Lambda names it', async () => {
  // WHEN
  await work('ok', 'log-ok');
  await waitFor('the invocation', () => (h.recorded.of('function.completed').length > 0 ? true : undefined), 30_000);
  // THEN
  const all = await waitFor('the REPORT line', async () => {
    const l = await lines();
    return l.some((x) => x.message.startsWith('REPORT ')) ? l : undefined;
  });
  // Follow the invocation that has ended: once, under CI load, the group's first START belonged
  // to an invocation still running in a stream that sorts first, which has no END yet.
  const end = all.find((l) => l.message.startsWith('END RequestId: '))!;
  const id = /^END RequestId: ([0-9a-f-]{36})$/.exec(end.message)?.[1];
  expect(id).toBeDefined();
  const start = all.find((l) => l.message === `START RequestId: ${id} Version: $LATEST`)!;
  expect(start).toBeDefined();
  expect(end.stream).toBe(start.stream);
  expect(start.stream).toMatch(/^\d{4}\/\d{2}\/\d{2}\/\[\$LATEST\][0-9a-f]{32}$/);
  const mine = all.filter((l) => l.stream === start.stream).map((l) => l.message);
  const from = mine.indexOf(start.message);
  const invocation = mine.slice(from, mine.indexOf(`END RequestId: ${id}`) + 2);
  expect(invocation[0]).toBe(start.message);
  expect(JSON.parse(invocation[1]!)).toMatchObject({ level: 'INFO', message: 'batch done', records: 1, failed: 0 });
  expect(invocation[invocation.length - 2]).toBe(`END RequestId: ${id}`);
  expect(invocation[invocation.length - 1]).toMatch(
    new RegExp(
      `^REPORT RequestId: ${id}\\tDuration: \\d+\\.\\d\\d ms\\tBilled Duration: \\d+ ms\\tMemory Size: ${fn.memoryMb} MB\\tMax Memory Used: \\d+ MB`,
    ),
  );
});

test("a timed-out invocation logs Lambda's timeout line and a REPORT with the timeout status", async () => {
  // WHEN
  await work('sleep', 'log-sleep');
  // (the invocation's timer is armed once it runs: the only one, as the earlier invocation ended)
  await waitFor('the invocation to run', () => (timeouts.pending > 0 ? true : undefined), 30_000);
  await timeouts.advanceAsync(fn.timeoutSeconds * 1000 - 1);
  expect(h.recorded.of('function.failed')).toHaveLength(0);
  await timeouts.advanceAsync(1);
  await waitFor('the timeout', () => (h.recorded.of('function.failed').length > 0 ? true : undefined), 30_000);
  // THEN
  const all = await waitFor('the timeout REPORT', async () => {
    const l = await lines();
    return l.some((x) => /\tStatus: timeout$/.test(x.message)) ? l : undefined;
  });
  const timedOut = all.find((l) => / Task timed out after \d+\.00 seconds$/.test(l.message))!;
  const id = timedOut.message.split(' ')[1];
  expect(timedOut.message).toBe(`${timedOut.message.split(' ')[0]} ${id} Task timed out after ${fn.timeoutSeconds.toFixed(2)} seconds`);
  const messages = all.map((l) => l.message);
  expect(messages.indexOf(`END RequestId: ${id}`)).toBeGreaterThan(messages.indexOf(timedOut.message));
  expect(messages.find((m) => m.startsWith(`REPORT RequestId: ${id}\t`))).toMatch(/\tStatus: timeout$/);
});
