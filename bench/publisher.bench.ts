/**
 * Publisher throughput against a local HTTP server speaking PutEvents' JSON protocol,
 * beside a bare loop that sends the same entries, pre-serialised and pre-chunked by ten,
 * with the same client and the same concurrency. The difference is what the publisher
 * adds: validation against the catalog, metadata, JSON serialisation, size-aware packing
 * and outcome bookkeeping.
 * Targets: at least 9.9 entries per request in bulk; overhead at most 10 % over the bare loop.
 */
import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { LoanApplicationSubmitted } from '../catalog/loans';
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
        applicant: { applicantId: `applicant-${i}`, name: 'Ada Lovelace', email: 'ada@example.com', annualIncome: 90_000 + (i % 1000), creditScore: 600 + (i % 250) },
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

async function bareLoop(client: EventBridgeClient, requests: PutEventsRequestEntry[][]): Promise<number> {
  let next = 0;
  let failed = 0;
  const worker = async () => {
    while (next < requests.length) {
      const response = await client.send(new PutEventsCommand({ Entries: requests[next++] }));
      failed += response.FailedEntryCount ?? 0;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return failed;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  const server = await startPutEventsServer({ keepEntries: false });
  const client = new EventBridgeClient({ endpoint: server.endpoint, region: 'eu-west-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  const publisher = new EventPublisher({ eventBusName: 'loans', client, maxConcurrency: CONCURRENCY });
  const input = entries(EVENTS);
  // What the bare loop sends: the same details, already complete and serialised.
  const bareEntries: PutEventsRequestEntry[] = input.map((e) => ({
    Source: e.source,
    DetailType: e.detailType,
    Detail: JSON.stringify({ metadata: { ...(e.detail as { metadata: object }).metadata, schemaVersion: '1' }, data: (e.detail as { data: unknown }).data }),
    EventBusName: 'loans',
  }));
  const bareRequests = Array.from({ length: Math.ceil(EVENTS / 10) }, (_, i) => bareEntries.slice(i * 10, i * 10 + 10));

  // Warm up both paths (connections, JIT, zod's compiled parsers).
  await bareLoop(client, bareRequests.slice(0, 100));
  await publisher.publish(input.slice(0, 1000));

  const bare: number[] = [];
  const published: number[] = [];
  let requestsPerPublish = 0;
  for (let round = 0; round < ROUNDS; round++) {
    let t = performance.now();
    const failed = await bareLoop(client, bareRequests);
    bare.push(performance.now() - t);
    if (failed > 0) throw new Error(`bare loop: ${failed} entries failed`);

    const before = server.requests;
    t = performance.now();
    const result = await publisher.publish(input);
    published.push(performance.now() - t);
    requestsPerPublish = server.requests - before;
    if (result.successCount !== EVENTS) throw new Error(`publisher: ${result.failedCount} entries failed`);
  }
  await server.close();
  client.destroy();

  const bareMs = median(bare);
  const pubMs = median(published);
  // Each round runs both back to back; the median of per-round ratios resists changes in machine load.
  const overhead = (median(published.map((p, i) => p / bare[i])) - 1) * 100;
  const perRequest = EVENTS / requestsPerPublish;
  const rate = (ms: number) => `${Math.round((EVENTS / ms) * 1000).toLocaleString('en-US')} events/s`;
  console.log(`Publisher throughput: ${EVENTS.toLocaleString('en-US')} LoanApplicationSubmitted events, concurrency ${CONCURRENCY}, median of ${ROUNDS} rounds`);
  console.log(`bare PutEvents loop | ${bareMs.toFixed(0).padStart(6)} ms | ${rate(bareMs)}`);
  console.log(`EventPublisher      | ${pubMs.toFixed(0).padStart(6)} ms | ${rate(pubMs)}`);
  console.log(`entries per request: ${perRequest.toFixed(2)} (target >= 9.9: ${perRequest >= 9.9 ? 'ok' : 'MISSED'})`);
  console.log(`publisher overhead (median of per-round ratios): ${overhead.toFixed(1)} % (target <= 10 %: ${overhead <= 10 ? 'ok' : 'MISSED'})`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
