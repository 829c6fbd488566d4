/**
 * Publisher throughput against a local HTTP server speaking PutEvents' JSON protocol (in a
 * child process, as a real endpoint is elsewhere), beside a bare loop that chunks the same
 * events by ten, serialises them and sends them with the same client and concurrency. The
 * difference is what the publisher adds: validation against the catalog, metadata, size
 * measurement and packing, per-entry outcome bookkeeping.
 * Targets: at least 9.9 entries per request in bulk; overhead at most 10 % over the bare loop,
 * judged on client CPU time (wall time on a shared machine mostly measures the neighbours).
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { LoanApplicationSubmitted, loanCatalog } from '../catalog/loans';
import { EventPublisher, type PublishEntry } from '../sdk';
import { startPutEventsServer } from '../sdk/testing/put-events-server';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 10_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const CONCURRENCY = 4;

function entries(n: number): PublishEntry[] {
  return Array.from({ length: n }, (_, i) => ({
    source: LoanApplicationSubmitted.source,
    detailType: LoanApplicationSubmitted.detailType,
    detail: {
      metadata: { correlationId: `corr-${i}` },
      data: {
        applicationId: `app-${i}`,
        applicant: {
          applicantId: `applicant-${i}`,
          name: 'Ada Lovelace',
          email: 'ada@example.com',
          annualIncome: 90_000 + (i % 1000),
          creditScore: 600 + (i % 250),
        },
        amount: 50_000 + (i % 400_000),
        currency: 'EUR',
        termMonths: 120 + (i % 240),
        purpose: 'home',
        channel: 'web',
        submittedAt: '2026-01-15T10:00:00.000Z',
      },
    },
  }));
}

/**
 * What a hand-written publisher does: chunk by ten, serialise each detail, send, count
 * FailedEntryCount. No validation, no size check, no retries, no per-entry outcomes.
 */
async function bareLoop(client: EventBridgeClient, input: readonly PublishEntry[]): Promise<number> {
  let next = 0;
  let failed = 0;
  const worker = async () => {
    while (next < input.length) {
      const chunk = input.slice(next, next + 10);
      next += 10;
      const Entries: PutEventsRequestEntry[] = chunk.map((e) => {
        const detail = e.detail as { metadata: object; data: unknown };
        return {
          Source: e.source,
          DetailType: e.detailType,
          Detail: JSON.stringify({ metadata: { ...detail.metadata, schemaVersion: '1' }, data: detail.data }),
          EventBusName: 'loans',
        };
      });
      const response = await client.send(new PutEventsCommand({ Entries }));
      failed += response.FailedEntryCount ?? 0;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return failed;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Starts the PutEvents server in a child process (this file with `--server`); resolves its endpoint. */
async function startServerProcess(): Promise<{ endpoint: string; stop: () => void }> {
  const child = spawn(process.execPath, ['--import', 'tsx', __filename, '--server'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const endpoint = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`PutEvents server exited with ${code}`)));
  });
  return { endpoint, stop: () => child.kill() };
}

async function main() {
  const server = await startServerProcess();
  const client = new EventBridgeClient({
    endpoint: server.endpoint,
    region: 'eu-west-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  // Counts PutEvents calls as the caller makes them (SDK-level retries would sit below).
  let sentRequests = 0;
  client.middlewareStack.add(
    (next) => async (args) => {
      sentRequests++;
      return next(args);
    },
    { step: 'initialize', name: 'countRequests' },
  );
  const publisher = new EventPublisher({ eventBusName: 'loans', catalog: loanCatalog, client, maxConcurrency: CONCURRENCY });
  const input = entries(EVENTS);
  // Warm up both paths (connections, JIT, zod's compiled parsers).
  await bareLoop(client, input.slice(0, 1000));
  await publisher.publish(input.slice(0, 1000));

  const bare: number[] = [];
  const published: number[] = [];
  // CPU time of this (client) process: what the publisher adds, and far less sensitive than
  // wall time to other processes on a shared machine.
  const bareCpu: number[] = [];
  const publishedCpu: number[] = [];
  const cpuMs = (since: NodeJS.CpuUsage) => {
    const used = process.cpuUsage(since);
    return (used.user + used.system) / 1000;
  };
  let requestsPerPublish = 0;
  for (let round = 0; round < ROUNDS; round++) {
    let cpu = process.cpuUsage();
    let t = performance.now();
    const failed = await bareLoop(client, input);
    bare.push(performance.now() - t);
    bareCpu.push(cpuMs(cpu));
    if (failed > 0) throw new Error(`bare loop: ${failed} entries failed`);

    const before = sentRequests;
    cpu = process.cpuUsage();
    t = performance.now();
    const result = await publisher.publish(input);
    published.push(performance.now() - t);
    publishedCpu.push(cpuMs(cpu));
    requestsPerPublish = sentRequests - before;
    if (result.successCount !== EVENTS) throw new Error(`publisher: ${result.failedCount} entries failed`);
  }
  server.stop();
  client.destroy();

  const perRequest = EVENTS / requestsPerPublish;
  const rate = (ms: number) => `${Math.round((EVENTS / ms) * 1000).toLocaleString('en-US')} events/s`;
  const row = (name: string, wall: number[], cpu: number[]) =>
    `${name.padEnd(19)} | ${Math.min(...wall)
      .toFixed(0)
      .padStart(
        6,
      )} ms | ${median(wall).toFixed(0).padStart(6)} ms | ${rate(Math.min(...wall)).padStart(15)} | ${median(cpu).toFixed(0).padStart(6)} ms`;
  // Overhead by client CPU (median of each); wall-time ratios shown beside it.
  const cpuOverhead = (median(publishedCpu) / median(bareCpu) - 1) * 100;
  const wallOverhead = (Math.min(...published) / Math.min(...bare) - 1) * 100;
  const pairedOverhead = (median(published.map((p, i) => p / bare[i])) - 1) * 100;
  console.log(
    `Publisher throughput: ${EVENTS.toLocaleString('en-US')} LoanApplicationSubmitted events, concurrency ${CONCURRENCY}, ${ROUNDS} rounds; server in a child process`,
  );
  console.log(`                    | wall fastest | wall median | rate (fastest)  | client CPU (median)`);
  console.log(row('bare PutEvents loop', bare, bareCpu));
  console.log(row('EventPublisher', published, publishedCpu));
  console.log(`entries per request: ${perRequest.toFixed(2)} (target >= 9.9: ${perRequest >= 9.9 ? 'ok' : 'MISSED'})`);
  console.log(`publisher overhead, client CPU: ${cpuOverhead.toFixed(1)} % (target <= 10 %: ${cpuOverhead <= 10 ? 'ok' : 'MISSED'})`);
  console.log(
    `publisher overhead, wall time: ${wallOverhead.toFixed(1)} % fastest vs fastest, ${pairedOverhead.toFixed(1)} % median of per-round ratios`,
  );
}

if (process.argv[2] === '--server') {
  startPutEventsServer({ keepEntries: false }).then((s) => console.log(s.endpoint));
} else {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
