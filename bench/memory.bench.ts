/**
 * Runtime memory over a long session (`npm run bench -- memory`): RSS and heap before, at the
 * peak and after 20,000 events, in three rounds in one process, so that a leak shows as a rising
 * floor. Each round publishes 20,000 events of about 1 KB (10 per PutEvents) through a rule to a
 * queue and into an archive, drains the queue (ReceiveMessage + DeleteMessageBatch), then moves the
 * runtime's virtual clock past the archive's retention so the archive empties as it would in a
 * session that lasts days. Memory is read after a full garbage collection (`--expose-gc`).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { DeleteMessageBatchCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { startLocalRuntime, VirtualClock } from '../runtime';
import { load, machine, silenceSdkNodeVersionWarning } from './measure';

silenceSdkNodeVersionWarning();
const EVENTS = Number(process.env.BENCH_MEMORY_EVENTS ?? 20000);
const ROUNDS = 3;
const DAY_MS = 24 * 3600 * 1000;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function memoryApp(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'memory-bench-'));
  writeFileSync(
    path.join(dir, 'manifest.json'),
    JSON.stringify({
      version: '55.0.0',
      artifacts: { Mem: { type: 'aws:cloudformation:stack', properties: { templateFile: 'Mem.template.json' } } },
    }),
  );
  const template = {
    Resources: {
      Bus: { Type: 'AWS::Events::EventBus', Properties: { Name: 'mem' } },
      Archive: { Type: 'AWS::Events::Archive', Properties: { SourceArn: { 'Fn::GetAtt': ['Bus', 'Arn'] }, RetentionDays: 1 } },
      Queue: { Type: 'AWS::SQS::Queue', Properties: { QueueName: 'mem' } },
      Rule: {
        Type: 'AWS::Events::Rule',
        Properties: {
          EventBusName: { Ref: 'Bus' },
          EventPattern: { source: ['mem'] },
          Targets: [{ Id: 'q', Arn: { 'Fn::GetAtt': ['Queue', 'Arn'] } }],
        },
      },
    },
  };
  writeFileSync(path.join(dir, 'Mem.template.json'), JSON.stringify(template));
  return dir;
}

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

function sample(): { rss: number; heap: number } {
  gc();
  const m = process.memoryUsage();
  return { rss: m.rss, heap: m.heapUsed };
}

async function main(): Promise<void> {
  console.log(`Machine: ${machine()}; ${load()} at ${new Date().toISOString()}`);
  const dir = memoryApp();
  const clock = new VirtualClock();
  const rt = await startLocalRuntime({ assemblyDir: dir, port: 0, log: () => undefined, clock, prewarm: false });
  const config = { endpoint: rt.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'm', secretAccessKey: 'm' } };
  const eb = new EventBridgeClient(config);
  const sqs = new SQSClient(config);
  const queueUrl = `${rt.endpoint}/000000000000/mem`;
  const padding = 'x'.repeat(900);
  try {
    const baseline = sample();
    console.log(`baseline: RSS ${mib(baseline.rss)}, heap ${mib(baseline.heap)}`);
    for (let round = 1; round <= ROUNDS; round++) {
      let sent = 0;
      for (let i = 0; i < EVENTS; i += 10) {
        const Entries = Array.from({ length: 10 }, (_, j) => ({
          EventBusName: 'mem',
          Source: 'mem',
          DetailType: 'Tick',
          Detail: JSON.stringify({ n: i + j, padding }),
        }));
        const r = await eb.send(new PutEventsCommand({ Entries }));
        if (r.FailedEntryCount) throw new Error(`${r.FailedEntryCount} entries failed`);
        sent += Entries.length;
      }
      clock.advance(0);
      const peak = sample();
      let received = 0;
      for (;;) {
        const r = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10 }));
        const messages = r.Messages ?? [];
        if (messages.length === 0) break;
        received += messages.length;
        await sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: messages.map((m, k) => ({ Id: String(k), ReceiptHandle: m.ReceiptHandle! })),
          }),
        );
      }
      if (received !== sent) throw new Error(`round ${round}: sent ${sent}, received ${received}`);
      // Past the archive's one-day retention: the hourly sweep empties it.
      clock.advance(2 * DAY_MS);
      const after = sample();
      console.log(
        `round ${round}: ${sent} events; peak RSS ${mib(peak.rss)} (heap ${mib(peak.heap)}); after drain and retention RSS ${mib(after.rss)} (heap ${mib(after.heap)}); heap above baseline ${mib(after.heap - baseline.heap)}`,
      );
    }
  } finally {
    eb.destroy();
    sqs.destroy();
    await rt.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
