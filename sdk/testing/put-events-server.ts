/**
 * A local HTTP server that answers EventBridge PutEvents in its JSON protocol
 * (awsJson1_1, `X-Amz-Target: AWSEvents.PutEvents`), for tests and benchmarks of code that
 * publishes through the real SDK client. Point a client at it with `endpoint` or with
 * AWS_ENDPOINT_URL_EVENTBRIDGE. It keeps what it accepted and can fail entries on demand.
 * @see https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedEntry {
  readonly Source: string;
  readonly DetailType: string;
  readonly Detail?: string;
  readonly EventBusName?: string;
  readonly Resources?: string[];
  /** Epoch seconds, as the JSON protocol sends timestamps. */
  readonly Time?: number;
}

/** Decides the fate of one entry: undefined accepts it, an error code fails it. */
export type EntryFailure = (entry: ReceivedEntry, attempt: number) => string | undefined;

export interface PutEventsServer {
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string;
  /** Entries accepted so far, with the event id given to each. */
  readonly accepted: Array<ReceivedEntry & { EventId: string }>;
  /** Number of PutEvents requests answered. */
  requests: number;
  /** Set to fail entries; receives the entry and how many times an equal Detail was seen. */
  failEntry?: EntryFailure;
  /** Set to answer whole requests with this HTTP status and error type instead. */
  failRequest?: { status: number; type: string; message: string };
  /** Set to keep answers in memory only as counts (for benchmarks). */
  keepEntries: boolean;
  close(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function startPutEventsServer(options: { keepEntries?: boolean } = {}): Promise<PutEventsServer> {
  const seen = new Map<string, number>();
  // eslint-disable-next-line prefer-const -- assigned once the request handler below exists
  let server: Server;
  const state: PutEventsServer = {
    endpoint: '',
    accepted: [],
    requests: 0,
    keepEntries: options.keepEntries ?? true,
    close: () => new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve()))),
  };
  server = createServer(async (req, res) => {
    const body = await readBody(req);
    const reply = (status: number, payload: unknown) => {
      res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': randomUUID() });
      res.end(JSON.stringify(payload));
    };
    if (req.headers['x-amz-target'] !== 'AWSEvents.PutEvents') {
      return reply(400, { __type: 'UnknownOperationException', message: `Unsupported target ${String(req.headers['x-amz-target'])}` });
    }
    state.requests++;
    if (state.failRequest) {
      return reply(state.failRequest.status, { __type: state.failRequest.type, message: state.failRequest.message });
    }
    const { Entries = [] } = JSON.parse(body) as { Entries?: ReceivedEntry[] };
    let failed = 0;
    const results = Entries.map((entry) => {
      let code: string | undefined;
      if (state.failEntry) {
        const key = entry.Detail ?? '';
        const attempt = (seen.get(key) ?? 0) + 1;
        seen.set(key, attempt);
        code = state.failEntry(entry, attempt);
      }
      if (code) {
        failed++;
        return { ErrorCode: code, ErrorMessage: `${code} (injected by the local PutEvents server)` };
      }
      const EventId = randomUUID();
      if (state.keepEntries) state.accepted.push({ ...entry, EventId });
      return { EventId };
    });
    reply(200, { FailedEntryCount: failed, Entries: results });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  (state as { endpoint: string }).endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return state;
}
