/**
 * Local runtime benchmark (`npm run bench -- runtime`):
 * 1. start to ready on the synthesized app (synth excluded; ensureSynth runs first);
 * 2. publish-to-handler throughput: PutEvents (10 entries per request, several in flight) from
 *    a load generator in its own thread, through rule, SQS queue and event source mapping,
 *    counted when the handler has seen each event;
 * 3. publish-to-handler latency (p50, p99) at a fixed 500 events/s.
 * Both 2 and 3 use a generated app: bus, rule, queue, and a handler that writes one line per batch
 * with the time it ran, so the time measured is the runtime's, not a business handler's.
 * Targets (docs/runtime.md): ready <= 1 s, >= 5,000 events/s, p99 <= 25 ms at 500 events/s.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { startLocalRuntime } from '../runtime';
import { ensureSynth } from '../assembly';
import { header, load, median, runFor, runsOf, settings, spread } from './measure';

/** Events per PutEvents burst in the throughput runs; a run repeats bursts for at least its time. */
const BURST = Number(process.env.BENCH_EVENTS ?? 10000);
/** Each latency run offers load for this long (at least the run time). */
const LATENCY_SECONDS = Math.max(settings().seconds, Number(process.env.BENCH_LATENCY_SECONDS ?? 3));
const RATE = 500;

function benchApp(concurrency: number): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'runtime-bench-'));
  mkdirSync(path.join(dir, 'asset.handler'));
  writeFileSync(
    path.join(dir, 'asset.handler', 'index.js'),
    `exports.handler = async (event) => {
  const t = Date.now();
  console.log('BENCH ' + t + ' ' + event.Records.map((r) => JSON.parse(r.body).detail.sent).join(','));
  return { batchItemFailures: [] };
};`,
  );
  writeFileSync(
    path.join(dir, 'manifest.json'),
    JSON.stringify({
      version: '55.0.0',
      artifacts: { Bench: { type: 'aws:cloudformation:stack', properties: { templateFile: 'Bench.template.json' } } },
    }),
  );
  const template = {
    Resources: {
      Bus: { Type: 'AWS::Events::EventBus', Properties: { Name: 'bench' } },
      Dlq: { Type: 'AWS::SQS::Queue', Properties: { QueueName: 'bench-dlq' } },
      Queue: {
        Type: 'AWS::SQS::Queue',
        Properties: {
          QueueName: 'bench',
          VisibilityTimeout: 30,
          RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': ['Dlq', 'Arn'] }, maxReceiveCount: 3 },
        },
      },
      Rule: {
        Type: 'AWS::Events::Rule',
        Properties: {
          EventBusName: { Ref: 'Bus' },
          EventPattern: { source: ['bench'] },
          Targets: [{ Id: 'q', Arn: { 'Fn::GetAtt': ['Queue', 'Arn'] } }],
        },
      },
      Fn: {
        Type: 'AWS::Lambda::Function',
        Metadata: { 'aws:asset:path': 'asset.handler' },
        Properties: { FunctionName: 'bench', Handler: 'index.handler', Timeout: 30 },
      },
      Esm: {
        Type: 'AWS::Lambda::EventSourceMapping',
        Properties: {
          FunctionName: { Ref: 'Fn' },
          EventSourceArn: { 'Fn::GetAtt': ['Queue', 'Arn'] },
          BatchSize: 10,
          FunctionResponseTypes: ['ReportBatchItemFailures'],
          ScalingConfig: { MaximumConcurrency: concurrency },
        },
      },
    },
  };
  writeFileSync(path.join(dir, 'Bench.template.json'), JSON.stringify(template));
  return dir;
}

/** The load generator: its own thread, SDK v3 EventBridge client, `sent` stamped into each event. */
const GENERATOR = String.raw`
const emitWarning = process.emitWarning.bind(process);
process.emitWarning = (w, ...rest) => { if (!String(w && w.message ? w.message : w).startsWith('NodeVersionSupportWarning')) emitWarning(w, ...rest); };
const { parentPort, workerData } = require('node:worker_threads');
const { createRequire } = require('node:module');
const { EventBridgeClient, PutEventsCommand } = createRequire(workerData.from)('@aws-sdk/client-eventbridge');
const { Agent } = require('node:http');
const { NodeHttpHandler } = createRequire(workerData.from)('@smithy/node-http-handler');
const client = new EventBridgeClient({ endpoint: workerData.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'b', secretAccessKey: 'b' }, maxAttempts: 1,
  requestHandler: new NodeHttpHandler({ httpAgent: new Agent({ keepAlive: true, maxSockets: 64 }) }) });
const entries = (n) => Array.from({ length: n }, () => ({ EventBusName: 'bench', Source: 'bench', DetailType: 'Tick', Detail: JSON.stringify({ sent: Date.now() }) }));
let failed = 0;
// Raw mode: the same AWS JSON 1.1 request without the SDK's per-request signing and middleware,
// so that one generator thread can offer more load than the runtime takes.
const agent = new Agent({ keepAlive: true, maxSockets: 64 });
const url = new URL(workerData.endpoint);
function rawPut(n) {
  const body = JSON.stringify({ Entries: entries(n) });
  return new Promise((resolve, reject) => {
    const req = require('node:http').request({ host: url.hostname, port: url.port, method: 'POST', path: '/', agent,
      headers: { 'Content-Type': 'application/x-amz-json-1.1', 'X-Amz-Target': 'AWSEvents.PutEvents', 'Content-Length': Buffer.byteLength(body) } }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => (res.statusCode === 200 ? resolve(JSON.parse(text)) : reject(new Error(text))));
    });
    req.on('error', reject);
    req.end(body);
  });
}
async function put(n) {
  const r = workerData.raw ? await rawPut(n) : await client.send(new PutEventsCommand({ Entries: entries(n) }));
  failed += r.FailedEntryCount;
}
async function main() {
  const { mode, total, perTick, tickMs, inflight } = workerData;
  let sent = 0;
  if (mode === 'throughput') {
    const lanes = Array.from({ length: inflight }, async () => {
      while (sent < total) { sent += 10; await put(10); }
    });
    await Promise.all(lanes);
  } else {
    const start = Date.now();
    let tick = 0;
    const pending = [];
    while (sent < total) {
      const due = start + tick * tickMs;
      const wait = due - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      pending.push(put(perTick));
      sent += perTick;
      tick++;
    }
    await Promise.all(pending);
  }
  parentPort.postMessage({ sent, failed });
  client.destroy();
  agent.destroy();
}
main().catch((e) => { parentPort.postMessage({ error: String(e && e.stack || e) }); });
`;

function generate(endpoint: string, data: object): Promise<{ sent: number; failed: number }> {
  return new Promise((resolve, reject) => {
    const w = new Worker(GENERATOR, { eval: true, workerData: { endpoint, from: __filename, ...data } });
    w.once('message', (m: { sent: number; failed: number; error?: string }) => (m.error ? reject(new Error(m.error)) : resolve(m)));
    w.once('error', reject);
  });
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

async function startToReady(): Promise<void> {
  const dir = await ensureSynth();
  const once = async () => {
    const t0 = performance.now();
    const rt = await startLocalRuntime({ assemblyDir: dir, port: 0, log: () => undefined, prewarm: false });
    const ms = performance.now() - t0;
    await rt.close();
    return ms;
  };
  const first = await once();
  const { runs, seconds, warmupSeconds } = settings();
  await runFor(warmupSeconds, once);
  const means: number[] = [];
  for (let r = 0; r < runs; r++) {
    const { results } = await runFor(seconds, once);
    means.push(results.reduce((a, b) => a + b, 0) / results.length);
  }
  const ms = (x: number) => `${x.toFixed(0)} ms`;
  console.log(
    `start to ready (LoanEvents app, synth excluded): first ${ms(first)} (includes loading the runtime's modules); later starts ${spread(runsOf(means), ms)}  [target <= 1000 ms]; ${load()}`,
  );
}

async function flow(mode: 'throughput' | 'latency'): Promise<void> {
  const dir = benchApp(mode === 'throughput' ? 2 : 2);
  const handled: number[] = [];
  const latencies: number[] = [];
  let last = 0;
  const rt = await startLocalRuntime({
    assemblyDir: dir,
    port: 0,
    quiet: true,
    log: (line) => {
      const m = /^\[bench\] BENCH (\d+) (.*)$/.exec(line);
      if (!m) return;
      const t = Number(m[1]);
      for (const s of (m[2] ?? '').split(',')) {
        handled.push(t);
        latencies.push(t - Number(s));
      }
      last = Math.max(last, t);
    },
  });
  const { runs, seconds, warmupSeconds } = settings();
  try {
    // Warm up: the worker loads and the JIT settles.
    await runFor(warmupSeconds, async () => {
      handled.length = 0;
      await generate(rt.endpoint, { mode: 'throughput', total: 2000, inflight: 4 });
      await waitUntil(() => handled.length >= 2000);
    });
    for (const raw of [false, true]) {
      const client = raw ? 'raw HTTP client' : 'SDK v3 client';
      if (mode === 'throughput') {
        // A run repeats bursts of BURST events for at least its time; its rate is the events
        // the handler saw over the time from the first send to the last one handled.
        const rates: number[] = [];
        let failedTotal = 0;
        for (let r = 0; r < runs; r++) {
          let events = 0;
          const t0 = Date.now();
          await runFor(seconds, async () => {
            handled.length = 0;
            const g = await generate(rt.endpoint, { mode, total: BURST, inflight: 8, raw });
            failedTotal += g.failed;
            await waitUntil(() => handled.length >= g.sent - g.failed);
            events += handled.length;
          });
          rates.push(events / ((last - t0) / 1000));
        }
        console.log(
          `publish-to-handler throughput (${client}, bursts of ${BURST}, ${failedTotal} failed): ${spread(runsOf(rates), (x) => Math.round(x).toLocaleString('en-US'))} events/s  [target >= 5000]; ${load()}`,
        );
      } else {
        const p50: number[] = [];
        const p99: number[] = [];
        const max: number[] = [];
        for (let r = 0; r < runs; r++) {
          handled.length = 0;
          latencies.length = 0;
          const g = await generate(rt.endpoint, { mode, total: RATE * LATENCY_SECONDS, perTick: 5, tickMs: 10, raw });
          await waitUntil(() => handled.length >= g.sent - g.failed);
          const sorted = [...latencies].sort((a, b) => a - b);
          p50.push(pct(sorted, 50));
          p99.push(pct(sorted, 99));
          max.push(sorted[sorted.length - 1] ?? NaN);
        }
        const ms = (x: number) => `${x} ms`;
        console.log(
          `publish-to-handler latency at ${RATE} events/s, runs of ${LATENCY_SECONDS} s (${client}): p50 ${spread(runsOf(p50), ms)}, p99 ${spread(runsOf(p99), ms)}, max ${ms(median(max))}  [target p99 <= 25 ms]; ${load()}`,
        );
      }
    }
  } finally {
    await rt.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function waitUntil(cond: () => boolean, timeoutMs = 120000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('benchmark timed out waiting for the handler');
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function main(): Promise<void> {
  console.log(header());
  await startToReady();
  await flow('throughput');
  await flow('latency');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
