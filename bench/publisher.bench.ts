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
import { header, load, median, runFor, runsOf, settings, spread } from './measure';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 10_000);
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
  await runFor(settings().warmupSeconds, () => bareLoop(client, input));
  await runFor(settings().warmupSeconds, () => publisher.publish(input));

  // Runs alternate between the two paths, so both see the same load on a shared machine. Each
  // run repeats its path over all the events for at least the run time; its figures are events
  // per second of wall time and client CPU ms per 1,000 events (this process's CPU: what the
  // publisher adds, and far less sensitive than wall time to other processes).
  const { runs, seconds } = settings();
  const bareRate: number[] = [];
  const pubRate: number[] = [];
  const bareCpu: number[] = [];
  const pubCpu: number[] = [];
  const cpuMs = (since: NodeJS.CpuUsage) => {
    const used = process.cpuUsage(since);
    return (used.user + used.system) / 1000;
  };
  let requestsPerPublish = 0;
  for (let run = 0; run < runs; run++) {
    let cpu = process.cpuUsage();
    const b = await runFor(seconds, async () => {
      const failed = await bareLoop(client, input);
      if (failed > 0) throw new Error(`bare loop: ${failed} entries failed`);
    });
    bareCpu.push((cpuMs(cpu) / (b.results.length * EVENTS)) * 1000);
    bareRate.push((b.results.length * EVENTS) / b.seconds);

    cpu = process.cpuUsage();
    const p = await runFor(seconds, async () => {
      const before = sentRequests;
      const result = await publisher.publish(input);
      requestsPerPublish = sentRequests - before;
      if (result.successCount !== EVENTS) throw new Error(`publisher: ${result.failedCount} entries failed`);
    });
    pubCpu.push((cpuMs(cpu) / (p.results.length * EVENTS)) * 1000);
    pubRate.push((p.results.length * EVENTS) / p.seconds);
  }
  server.stop();
  client.destroy();

  const perRequest = EVENTS / requestsPerPublish;
  const rate = (x: number) => `${Math.round(x).toLocaleString('en-US')}`;
  const ms = (x: number) => `${x.toFixed(0)} ms`;
  const cpuOverhead = (median(pubCpu) / median(bareCpu) - 1) * 100;
  const wallOverhead = (median(bareRate) / median(pubRate) - 1) * 100;
  console.log(header());
  console.log(
    `Publisher: ${EVENTS.toLocaleString('en-US')} LoanApplicationSubmitted events per round, concurrency ${CONCURRENCY}; server in a child process; median (slowest to fastest run)`,
  );
  console.log('| | events/s (wall) | client CPU per 1,000 events |');
  console.log('|---|---:|---:|');
  console.log(`| bare PutEvents loop | ${spread(runsOf(bareRate), rate)} | ${spread(runsOf(bareCpu), ms)} |`);
  console.log(`| EventPublisher | ${spread(runsOf(pubRate), rate)} | ${spread(runsOf(pubCpu), ms)} |`);
  console.log(`entries per request: ${perRequest.toFixed(2)} (target >= 9.9: ${perRequest >= 9.9 ? 'ok' : 'MISSED'})`);
  console.log(`publisher overhead, client CPU: ${cpuOverhead.toFixed(1)} % (target <= 10 %: ${cpuOverhead <= 10 ? 'ok' : 'MISSED'})`);
  console.log(`publisher overhead, wall time: ${wallOverhead.toFixed(1)} % (median rates); ${load()}`);
}

if (process.argv[2] === '--server') {
  startPutEventsServer({ keepEntries: false }).then((s) => console.log(s.endpoint));
} else {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
