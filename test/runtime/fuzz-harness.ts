/**
 * A seeded fuzzer for the runtime's HTTP endpoint. It builds a valid request for every
 * operation the runtime serves (EventBridge JSON, SQS JSON and query, DynamoDB), mutates it
 * (types, nesting, sizes, encodings, names, protocols, browser headers) and checks, after each:
 * - the process answers (no reset, no timeout) with a well-formed body in the caller's protocol;
 * - no 5xx other than a 500 InternalFailure (counted and reported separately);
 * - nothing is half-applied: a request answered with an error adds no message to the lane's
 *   queue, and a PutEvents/SendMessage answered 200 adds at most what it reports as accepted;
 * - nothing was written onto Object.prototype (the runtime runs in this process);
 * - a canary flow (PutEvents -> rule -> queue -> ReceiveMessage) delivers exactly once.
 * Lanes run in parallel, each on its own queue and rule, each one request at a time, so that
 * the half-apply check is exact. The same seed gives the same requests.
 */
import * as http from 'node:http';

/** mulberry32: a small, fast, seedable PRNG; the same seed gives the same sequence. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface FuzzOptions {
  endpoint: string;
  seed: number;
  /** Requests to send in all (canary and oracle requests not counted). */
  requests: number;
  /** Independent lanes, each sequential. @default 12 */
  lanes?: number;
  /** Stop early after this long, reporting what was done. @default Infinity */
  maxMs?: number;
  /** Run the canary flow every this many requests (per run, not per lane). @default 2500 */
  canaryEvery?: number;
  /** The DynamoDB table of the app under test. */
  table: string;
}

export interface Violation {
  /** Which request (0-based) of the run, and how to reproduce it. */
  index: number;
  op: string;
  invariant: string;
  detail: string;
  request: string;
}

export interface FuzzReport {
  seed: number;
  sent: number;
  elapsedMs: number;
  statuses: Record<string, number>;
  internalFailures: { index: number; op: string; request: string; body: string }[];
  violations: Violation[];
  canaries: number;
}

type Json = Record<string, unknown>;
type Protocol = 'events' | 'sqs' | 'query' | 'dynamodb';

interface Req {
  op: string;
  protocol: Protocol;
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string;
  /** The lane queue this request may add messages to, with the most it may add on success. */
  adds?: { kind: 'events' | 'sqs-one' | 'sqs-batch' };
  /** Sent with a foreign Origin or Host: must be refused with 403. */
  hostile?: boolean;
}

interface Res {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

const PROTO_KEYS = ['__proto__', 'constructor', 'prototype'];
/** The fixture function's log group (it has no LoggingConfig, so Lambda's default name). */
const FUZZ_LOG_GROUP = '/aws/lambda/fixture-consumer';
const ODD_STRINGS = [
  '',
  ' ',
  '\u0000',
  '\u001b[2J',
  '\r\nInjected: 1',
  '\ud800',
  '💥',
  'a'.repeat(300),
  '../../etc/passwd',
  '<x>&amp;</x>',
  '${x}',
  '\'"',
  'null',
  '[]',
  '{}',
  '1e400',
  'constructor',
  '__proto__',
  'hasOwnProperty',
  'toString',
  'arn:aws:sqs:us-east-1:000000000000:nope',
  'http://127.0.0.1:1/000000000000/nope',
];
// No valid long-poll wait among them: a 20 s ReceiveMessage would hold a lane, not test anything.
const ODD_NUMBERS = [0, -1, 1, 1e20, -1e20, 1e308, 2 ** 53 + 1, 0.5, -0, 4294967296, 43201, 901, 21];

export class Fuzzer {
  private readonly rnd: () => number;
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  private readonly url: URL;
  private readonly protoKeys = new Set(Object.getOwnPropertyNames(Object.prototype));
  private index = 0;
  private canaryN = 0;
  readonly report: FuzzReport;
  private lanesReady: Lane[] = [];

  constructor(private readonly o: FuzzOptions) {
    this.rnd = prng(o.seed);
    this.url = new URL(o.endpoint);
    this.report = { seed: o.seed, sent: 0, elapsedMs: 0, statuses: {}, internalFailures: [], violations: [], canaries: 0 };
  }

  /** The app's DynamoDB table, and the endpoint queue URLs start with. */
  get table(): string {
    return this.o.table;
  }
  get endpointBase(): string {
    return this.o.endpoint;
  }

  // ---- random helpers (all from the seeded PRNG) ----
  int(n: number): number {
    return Math.floor(this.rnd() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  chance(p: number): boolean {
    return this.rnd() < p;
  }

  async run(): Promise<FuzzReport> {
    const started = Date.now();
    const laneCount = this.o.lanes ?? 12;
    const runTag = `s${this.o.seed.toString(36)}`;
    this.lanesReady = [];
    for (let i = 0; i < laneCount; i++) this.lanesReady.push(await this.setUpLane(`${runTag}-${i}`, i));
    const canary = await this.setUpCanary(runTag);
    const every = this.o.canaryEvery ?? 2500;
    const deadline = started + (this.o.maxMs ?? Infinity);
    let nextCanary = every;
    while (this.index < this.o.requests && Date.now() < deadline) {
      const batchEnd = Math.min(this.o.requests, nextCanary);
      await Promise.all(
        this.lanesReady.map(async (lane) => {
          while (this.index < batchEnd && Date.now() < deadline) {
            // Requests are generated in lane order from one PRNG; JavaScript runs them one at a
            // time, so generation order depends only on the order answers come back in. The seed
            // reproduces the generated requests; `index` in a violation names the one to look at.
            const i = this.index++;
            await this.one(lane, i);
          }
        }),
      );
      nextCanary += every;
      await this.checkCanary(canary);
      // Empty the lane queues between batches, so their size stays small; check nothing else moved them.
      for (const lane of this.lanesReady) {
        const now = await this.laneCount(lane);
        if (now !== lane.count)
          this.violation(
            this.index,
            'lane',
            'only requests that add messages change a queue',
            `lane ${lane.tag}: ${lane.count} expected, ${now} found`,
            '',
          );
        await this.call('AmazonSQS.PurgeQueue', { QueueUrl: lane.queueUrl });
        lane.count = 0;
      }
      this.checkPrototype('after request batch');
    }
    this.report.elapsedMs = Date.now() - started;
    this.agent.destroy();
    return this.report;
  }

  // ---- HTTP ----
  private send(r: Req): Promise<Res> {
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          host: this.url.hostname,
          port: this.url.port,
          method: r.method,
          path: r.path,
          headers: { ...r.headers, 'Content-Length': Buffer.byteLength(r.body) },
          agent: this.agent,
          timeout: 15000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error('no answer within 15 s')));
      req.on('error', reject);
      req.end(r.body);
    });
  }

  private json(target: string, body: unknown): Req {
    const protocol: Protocol = target.startsWith('AWSEvents.') ? 'events' : target.startsWith('DynamoDB_') ? 'dynamodb' : 'sqs';
    const headers: Record<string, string> = {
      'Content-Type': protocol === 'events' ? 'application/x-amz-json-1.1' : 'application/x-amz-json-1.0',
      'X-Amz-Target': target,
    };
    if (protocol === 'dynamodb') {
      headers['X-Amz-Date'] = '20260101T000000Z';
      headers.Authorization = 'AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0';
    }
    return { op: target, protocol, method: 'POST', path: '/', headers, body: JSON.stringify(body) };
  }

  private async call(target: string, body: unknown): Promise<Json> {
    const r = await this.send(this.json(target, body));
    if (r.status !== 200) throw new Error(`${target} answered ${r.status}: ${r.body.slice(0, 300)}`);
    return JSON.parse(r.body) as Json;
  }

  // ---- fixtures: lanes and canary ----
  private async setUpLane(tag: string, n: number): Promise<Lane> {
    const queueName = `fz-${tag}`;
    const { QueueUrl } = (await this.call('AmazonSQS.CreateQueue', { QueueName: queueName })) as { QueueUrl: string };
    const queueArn = `arn:aws:sqs:us-east-1:000000000000:${queueName}`;
    const source = `fz.lane${n}.${tag}`;
    const rule = `fz-rule-${tag}`;
    await this.call('AWSEvents.PutRule', { Name: rule, EventPattern: JSON.stringify({ source: [source] }) });
    await this.call('AWSEvents.PutTargets', { Rule: rule, Targets: [{ Id: 'lane', Arn: queueArn }] });
    return { tag, queueUrl: QueueUrl, queueArn, source, rule, scratch: [], count: 0 };
  }

  private async setUpCanary(tag: string): Promise<Canary> {
    const queueName = `canary-${tag}`;
    const { QueueUrl } = (await this.call('AmazonSQS.CreateQueue', { QueueName: queueName })) as { QueueUrl: string };
    const source = `canary.${tag}`;
    await this.call('AWSEvents.PutRule', {
      Name: `canary-${tag}`,
      EventPattern: JSON.stringify({ source: [source], 'detail-type': ['Canary'] }),
    });
    await this.call('AWSEvents.PutTargets', {
      Rule: `canary-${tag}`,
      Targets: [{ Id: 'canary', Arn: `arn:aws:sqs:us-east-1:000000000000:${queueName}` }],
    });
    return { queueUrl: QueueUrl, source, seen: new Set() };
  }

  /** Publishes one canary event and receives it: exactly once, and nothing seen before comes back. */
  private async checkCanary(c: Canary): Promise<void> {
    const n = ++this.canaryN;
    this.report.canaries++;
    const put = await this.call('AWSEvents.PutEvents', {
      Entries: [{ Source: c.source, DetailType: 'Canary', Detail: JSON.stringify({ n }) }],
    });
    if (put.FailedEntryCount !== 0) {
      this.violation(-1, 'canary', 'canary accepted', JSON.stringify(put), '');
      return;
    }
    const got: number[] = [];
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline) {
      const r = (await this.call('AmazonSQS.ReceiveMessage', {
        QueueUrl: c.queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: got.length > 0 ? 0 : 1,
      })) as {
        Messages?: { Body: string; ReceiptHandle: string }[];
      };
      const msgs = r.Messages ?? [];
      for (const m of msgs) {
        got.push((JSON.parse(m.Body) as { detail: { n: number } }).detail.n);
        await this.call('AmazonSQS.DeleteMessage', { QueueUrl: c.queueUrl, ReceiptHandle: m.ReceiptHandle });
      }
      if (got.includes(n) && msgs.length === 0) break;
    }
    const mine = got.filter((x) => x === n).length;
    const old = got.filter((x) => x !== n);
    if (mine !== 1 || old.length > 0)
      this.violation(-1, 'canary', 'canary delivered exactly once', `canary ${n}: received ${JSON.stringify(got)}`, '');
  }

  private checkPrototype(when: string): void {
    const now = Object.getOwnPropertyNames(Object.prototype).filter((k) => !this.protoKeys.has(k));
    if (now.length > 0) {
      this.violation(this.index, 'prototype', 'nothing written onto Object.prototype', `${when}: ${now.join(', ')}`, '');
      for (const k of now) delete (Object.prototype as Record<string, unknown>)[k];
    }
  }

  private violation(index: number, op: string, invariant: string, detail: string, request: string): void {
    if (this.report.violations.length < 200) this.report.violations.push({ index, op, invariant, detail, request: request.slice(0, 2000) });
  }

  // ---- one request ----
  private async one(lane: Lane, index: number): Promise<void> {
    const req = this.mutate(this.generate(lane), lane);
    // Only this lane's requests that add messages change its queue's total (visible, in flight,
    // delayed), so the count after the last such request is the count before this one.
    const before = req.adds ? lane.count : undefined;
    let res: Res;
    try {
      res = await this.send(req);
    } catch (e) {
      this.violation(index, req.op, 'the process answers', (e as Error).message, describe(req));
      return;
    } finally {
      this.report.sent++;
    }
    this.report.statuses[res.status] = (this.report.statuses[res.status] ?? 0) + 1;
    this.checkAnswer(index, req, res);
    if (before !== undefined) {
      const after = await this.laneCount(lane);
      lane.count = after;
      const added = after - before;
      const allowed = res.status === 200 ? accepted(req, res) : 0;
      if (added < 0 || added > allowed)
        this.violation(
          index,
          req.op,
          'no request half-applied',
          `status ${res.status}, ${added} messages added, at most ${allowed} allowed: ${res.body.slice(0, 300)}`,
          describe(req),
        );
    }
    if (index % 97 === 0) this.checkPrototype(`after request ${index}`);
  }

  private async laneCount(lane: Lane): Promise<number> {
    const r = (await this.call('AmazonSQS.GetQueueAttributes', { QueueUrl: lane.queueUrl, AttributeNames: ['All'] })) as {
      Attributes: Record<string, string>;
    };
    const a = r.Attributes;
    return (
      Number(a.ApproximateNumberOfMessages) + Number(a.ApproximateNumberOfMessagesNotVisible) + Number(a.ApproximateNumberOfMessagesDelayed)
    );
  }

  private checkAnswer(index: number, req: Req, res: Res): void {
    const bad = (invariant: string, detail: string) => this.violation(index, req.op, invariant, detail, describe(req));
    if (req.hostile) {
      if (res.status !== 403) bad('browsers from elsewhere are refused', `status ${res.status}`);
      return;
    }
    if (res.status >= 500) {
      const internal = res.status === 500 && /InternalFailure/.test(res.body);
      if (internal) {
        if (this.report.internalFailures.length < 100)
          this.report.internalFailures.push({ index, op: req.op, request: describe(req).slice(0, 2000), body: res.body.slice(0, 500) });
      } else bad('no 5xx other than InternalFailure', `status ${res.status}: ${res.body.slice(0, 300)}`);
    }
    // The body is well-formed for the protocol the client spoke.
    const ct = String(res.headers['content-type'] ?? '');
    if (res.body.length > 0 && ct.includes('json')) {
      try {
        JSON.parse(res.body);
      } catch {
        bad('well-formed answer', `invalid JSON: ${res.body.slice(0, 200)}`);
      }
    } else if (res.body.length > 0 && ct.includes('xml') && !res.body.startsWith('<')) bad('well-formed answer', res.body.slice(0, 200));
  }

  // ---- generation: one valid request per operation ----
  private generate(lane: Lane): Req {
    const g = this.pick(GENERATORS);
    return g(this, lane);
  }

  /** Scratch names this lane created (queues, rules, replays), for operations that need one. */
  scratchQueue(lane: Lane): string {
    if (lane.scratch.length === 0 || this.chance(0.2)) lane.scratch.push(`fz-scratch-${lane.tag}-${this.int(50)}`);
    return this.pick(lane.scratch);
  }

  request(target: string, body: unknown): Req {
    return this.json(target, body);
  }

  // ---- mutation ----
  private mutate(req: Req, lane: Lane): Req {
    const r = { ...req, headers: { ...req.headers } };
    const roll = this.rnd();
    if (roll < 0.25) return r; // a quarter stay valid: the oracle needs successes too
    if (roll < 0.3) return this.browser(r);
    if (roll < 0.38) return this.protocolSwap(r, lane);
    if (roll < 0.42) return this.rawBody(r);
    let body: unknown;
    try {
      body = JSON.parse(r.body);
    } catch {
      return r;
    }
    const n = 1 + this.int(3);
    for (let i = 0; i < n; i++) body = this.mutateValue(body, 0);
    r.body = JSON.stringify(body) ?? 'null';
    if (this.chance(0.1)) r.headers['X-Amz-Target'] = this.mutateTarget(r.headers['X-Amz-Target'] ?? '');
    return r;
  }

  private browser(r: Req): Req {
    const how = this.int(3);
    if (how === 0) r.headers.Origin = this.pick(['https://evil.example', 'null', 'http://localhost.evil.example', 'file://']);
    else if (how === 1) r.headers.Host = this.pick(['evil.example', 'rebind.example:4566', 'localhost.evil.example']);
    else {
      r.headers['Sec-Fetch-Site'] = 'cross-site';
      r.headers.Referer = 'https://evil.example/';
    }
    r.hostile = true;
    r.adds = undefined;
    return r;
  }

  private mutateTarget(t: string): string {
    const op = t.slice(t.indexOf('.') + 1);
    const prefix = t.slice(0, t.indexOf('.') + 1);
    return this.pick([
      `${prefix}${this.pick(['constructor', 'toString', '__proto__', 'hasOwnProperty', 'valueOf', ''])}`,
      `${prefix}${op.toLowerCase()}`,
      `${prefix}${op}.${op}`,
      op,
      `AmazonSQS.${op}`,
      `AWSEvents.${op}`,
      `DynamoDB_20120810.${op}`,
      `${prefix}${op} `,
    ]);
  }

  /** The same operation over another protocol, or the query protocol with odd keys. */
  private protocolSwap(r: Req, lane: Lane): Req {
    let body: Json = {};
    try {
      body = JSON.parse(r.body) as Json;
    } catch {
      /* keep empty */
    }
    const op = r.op.slice(r.op.indexOf('.') + 1);
    if (this.chance(0.6)) {
      const params = new URLSearchParams();
      params.append('Action', this.chance(0.9) ? op : this.pick(['constructor', '__proto__', 'toString', '']));
      flatten(body, '', params, this);
      if (this.chance(0.3))
        params.append(this.pick(['__proto__.x', 'constructor.prototype.x', 'Attribute.1.__proto__', 'a.b', 'a', 'a.1.b']), 'v');
      // The lane's own queue, for operations that cannot remove it (the half-apply check needs it).
      if (op !== 'DeleteQueue' && op !== 'PurgeQueue' && this.chance(0.2)) params.append('QueueUrl', lane.queueUrl);
      const asGet = this.chance(0.3);
      return {
        op: `query:${op}`,
        protocol: 'query',
        method: asGet ? 'GET' : 'POST',
        path: asGet ? `/?${params.toString()}` : '/',
        headers: asGet ? {} : { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: asGet ? '' : params.toString(),
        adds:
          r.adds && op === 'SendMessage' ? { kind: 'sqs-one' } : r.adds && op === 'SendMessageBatch' ? { kind: 'sqs-batch' } : undefined,
      };
    }
    // JSON to the other JSON service, or with the other content type.
    const other = this.pick(['AWSEvents.', 'AmazonSQS.', 'DynamoDB_20120810.']);
    // Back to its own service it is the same operation, and may add what it added before.
    return { ...this.json(`${other}${op}`, body), adds: r.op.startsWith(other) ? r.adds : undefined };
  }

  private rawBody(r: Req): Req {
    r.adds = r.adds ? r.adds : undefined;
    const choice = this.int(8);
    if (choice === 0) r.body = r.body.slice(0, this.int(r.body.length + 1));
    else if (choice === 1) r.body = '';
    else if (choice === 2) r.body = '[' + r.body + ']';
    else if (choice === 3) r.body = 'null';
    else if (choice === 4) r.body = '\ufeff' + r.body;
    else if (choice === 5) r.body = '['.repeat(20000) + ']'.repeat(20000);
    else if (choice === 6) r.body = `{"a":${'{"a":'.repeat(3000)}1${'}'.repeat(3000)}}`;
    else r.headers['Content-Type'] = this.pick(['text/plain', 'application/x-www-form-urlencoded', 'application/json', '']);
    return r;
  }

  private mutateValue(v: unknown, depth: number): unknown {
    if (v !== null && typeof v === 'object' && depth < 6 && this.chance(0.7)) {
      if (Array.isArray(v)) {
        if (v.length === 0 || this.chance(0.15)) return this.chance(0.5) ? [...v, this.oddValue()] : [];
        const i = this.int(v.length);
        const copy = [...v];
        copy[i] = this.mutateValue(copy[i], depth + 1);
        if (this.chance(0.05)) return Array.from({ length: 11 + this.int(30) }, () => copy[0]);
        return copy;
      }
      const o = { ...(v as Json) };
      const keys = Object.keys(o);
      const roll = this.rnd();
      if (roll < 0.12 || keys.length === 0) {
        // A pollution key, as JSON.parse would build it: an own property named __proto__.
        const k = this.chance(0.6) ? this.pick(PROTO_KEYS) : this.pick(ODD_STRINGS);
        const out = { ...o };
        Object.defineProperty(out, k, { value: this.oddValue(), enumerable: true, writable: true, configurable: true });
        return out;
      }
      const k = this.pick(keys);
      if (roll < 0.25) {
        delete o[k];
        return o;
      }
      o[k] = this.mutateValue(o[k], depth + 1);
      return o;
    }
    return this.oddValue();
  }

  oddValue(): unknown {
    const roll = this.int(12);
    switch (roll) {
      case 0:
        return this.pick(ODD_STRINGS);
      case 1:
        return this.pick(ODD_NUMBERS);
      case 2:
        return this.chance(0.5);
      case 3:
        return null;
      case 4:
        return {};
      case 5:
        return [];
      case 6:
        return [this.pick(ODD_STRINGS), this.pick(ODD_NUMBERS)];
      case 7: {
        // Deep nesting, sometimes far past every limit.
        const depth = this.pick([5, 31, 32, 33, 100, 2000]);
        let x: unknown = 'leaf';
        for (let i = 0; i < depth; i++) x = this.chance(0.5) ? { M: { a: x } } : [x];
        return x;
      }
      case 8:
        // Past the field limits; rarely past the 1 MiB request limits (each costs a megabyte on the wire).
        return 'x'.repeat(this.chance(0.1) ? this.pick([262145, 1048577]) : this.pick([129, 257, 1025, 2049]));
      case 9:
        return { DataType: this.pick(['String', 'Number', 'Binary', 'Bogus', '']), StringValue: this.pick(ODD_STRINGS) };
      case 10:
        return JSON.stringify({ [this.pick(PROTO_KEYS)]: { polluted: 1 } });
      default:
        return String.fromCharCode(...Array.from({ length: 1 + this.int(20) }, () => this.int(0x3000)));
    }
  }
}

interface Lane {
  tag: string;
  queueUrl: string;
  queueArn: string;
  source: string;
  rule: string;
  scratch: string[];
  /** Messages in the lane queue after the last request that added some. */
  count: number;
}

interface Canary {
  queueUrl: string;
  source: string;
  seen: Set<number>;
}

/** How many messages a 200 answer may have added to the lane queue. */
function accepted(req: Req, res: Res): number {
  if (!req.adds) return 0;
  try {
    if (req.protocol === 'query') {
      if (req.adds.kind === 'sqs-one') return /<MessageId>/.test(res.body) ? 1 : 0;
      return (res.body.match(/<SendMessageBatchResultEntry>/g) ?? []).length;
    }
    const body = JSON.parse(res.body) as Json;
    if (req.adds.kind === 'events') return ((body.Entries as Json[] | undefined) ?? []).filter((e) => typeof e.EventId === 'string').length;
    if (req.adds.kind === 'sqs-one') return typeof body.MessageId === 'string' ? 1 : 0;
    return ((body.Successful as unknown[] | undefined) ?? []).length;
  } catch {
    return 0;
  }
}

function describe(r: Req): string {
  const headers = Object.entries(r.headers)
    .map(([k, v]) => `${k}: ${v}`)
    .join('; ');
  return `${r.method} ${r.path.slice(0, 300)} [${headers}] ${r.body.length > 600 ? `${r.body.slice(0, 600)}... (${r.body.length} chars)` : r.body}`;
}

/** Writes a JSON input as query parameters, the way the query protocol spells lists and maps. */
function flatten(v: unknown, prefix: string, out: URLSearchParams, f: Fuzzer): void {
  if (Array.isArray(v)) {
    v.forEach((x, i) => flatten(x, `${prefix}.member.${i + 1}`.replace(/^\./, ''), out, f));
  } else if (v !== null && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) flatten(x, prefix ? `${prefix}.${k}` : k, out, f);
  } else if (prefix) out.append(prefix, String(v));
}

type Generator = (f: Fuzzer, lane: Lane) => Req;

const laneEvent = (f: Fuzzer, lane: Lane) => ({
  Source: lane.source,
  DetailType: f.pick(['Work', 'Other', 'Δ']),
  Detail: JSON.stringify({ n: f.int(1000), nested: { a: [1, 2, 3] } }),
  ...(f.chance(0.3) ? { Resources: ['arn:aws:s3:::x'] } : {}),
  ...(f.chance(0.2) ? { Time: f.pick([1767225600, '2026-01-01T00:00:00Z']) } : {}),
});

/** One generator per operation the runtime serves: a valid request, before mutation. */
const GENERATORS: Generator[] = [
  // EventBridge
  (f, l) => ({
    ...f.request('AWSEvents.PutEvents', { Entries: Array.from({ length: 1 + f.int(10) }, () => laneEvent(f, l)) }),
    adds: { kind: 'events' },
  }),
  (f) =>
    f.request('AWSEvents.PutEvents', {
      Entries: [{ EventBusName: 'fixture-bus', Source: 'fz.archived', DetailType: 'A', Detail: '{"x":1}' }],
    }),
  (f) =>
    f.request('AWSEvents.TestEventPattern', {
      EventPattern: JSON.stringify({ source: ['a'], detail: { n: [{ numeric: ['>', f.int(10)] }] } }),
      Event: JSON.stringify({
        id: '1',
        account: '000000000000',
        source: 'a',
        time: '2026-01-01T00:00:00Z',
        region: 'us-east-1',
        resources: [],
        'detail-type': 'd',
        detail: { n: 5 },
      }),
    }),
  (f) => f.request('AWSEvents.ListEventBuses', { Limit: 1 + f.int(100) }),
  (f) => f.request('AWSEvents.DescribeEventBus', { Name: f.pick(['default', 'fixture-bus']) }),
  (f) => f.request('AWSEvents.ListRules', { EventBusName: f.pick(['default', 'fixture-bus']), NamePrefix: 'fz', Limit: 5 }),
  (f, l) => f.request('AWSEvents.DescribeRule', { Name: f.chance(0.5) ? l.rule : `fz-x-${l.tag}` }),
  (f, l) => f.request('AWSEvents.ListTargetsByRule', { Rule: l.rule }),
  (f, l) =>
    f.request('AWSEvents.PutRule', {
      Name: `fz-x-${l.tag}-${f.int(5)}`,
      EventPattern: JSON.stringify({ source: [`fz.none.${l.tag}`], detail: { a: [{ prefix: 'x' }] } }),
      State: f.pick(['ENABLED', 'DISABLED']),
      Description: 'fuzz',
    }),
  (f, l) =>
    f.request('AWSEvents.PutTargets', {
      Rule: `fz-x-${l.tag}-${f.int(5)}`,
      Targets: [
        {
          Id: `t${f.int(7)}`,
          Arn: `arn:aws:sqs:us-east-1:000000000000:fz-scratch-${l.tag}-${f.int(50)}`,
          ...f.pick([
            {},
            { InputPath: '$.detail' },
            { Input: '{"k":1}' },
            { InputTransformer: { InputPathsMap: { s: '$.source' }, InputTemplate: '{"s": <s>}' } },
          ]),
          RetryPolicy: { MaximumRetryAttempts: f.int(185), MaximumEventAgeInSeconds: 60 + f.int(1000) },
        },
      ],
    }),
  (f, l) => f.request('AWSEvents.RemoveTargets', { Rule: `fz-x-${l.tag}-${f.int(5)}`, Ids: [`t${f.int(7)}`] }),
  (f, l) => f.request('AWSEvents.DeleteRule', { Name: `fz-x-${l.tag}-${f.int(5)}` }),
  (f) => f.request('AWSEvents.ListArchives', { NamePrefix: f.pick(['', 'fixture']) }),
  (f) => f.request('AWSEvents.DescribeArchive', { ArchiveName: 'fixture-archive' }),
  (f, l) =>
    f.request('AWSEvents.StartReplay', {
      ReplayName: `fz-replay-${l.tag}-${f.int(1000)}`,
      EventSourceArn: 'arn:aws:events:us-east-1:000000000000:archive/fixture-archive',
      EventStartTime: 1767225600,
      EventEndTime: 1767225601,
      Destination: { Arn: 'arn:aws:events:us-east-1:000000000000:event-bus/fixture-bus' },
    }),
  (f, l) => f.request('AWSEvents.DescribeReplay', { ReplayName: `fz-replay-${l.tag}-${f.int(1000)}` }),
  (f) => f.request('AWSEvents.ListReplays', { NamePrefix: 'fz', Limit: 10 }),
  (f, l) => f.request('AWSEvents.CancelReplay', { ReplayName: `fz-replay-${l.tag}-${f.int(1000)}` }),
  // SQS (JSON; the query protocol comes from protocolSwap)
  (f, l) => f.request('AmazonSQS.CreateQueue', { QueueName: f.scratchQueue(l), Attributes: { VisibilityTimeout: String(f.int(100)) } }),
  (f, l) => f.request('AmazonSQS.DeleteQueue', { QueueUrl: `${f.endpointBase}/000000000000/${f.scratchQueue(l)}` }),
  (f, l) => f.request('AmazonSQS.GetQueueUrl', { QueueName: f.chance(0.5) ? f.scratchQueue(l) : `fz-${l.tag}` }),
  (f) => f.request('AmazonSQS.ListQueues', { QueueNamePrefix: 'fz', MaxResults: 1 + f.int(20) }),
  (f, l) =>
    f.request('AmazonSQS.GetQueueAttributes', {
      QueueUrl: l.queueUrl,
      AttributeNames: f.pick([['All'], ['VisibilityTimeout'], ['ApproximateAgeOfOldestMessage']]),
    }),
  (f, l) =>
    f.request('AmazonSQS.SetQueueAttributes', {
      QueueUrl: `${f.endpointBase}/000000000000/${f.scratchQueue(l)}`,
      Attributes: { VisibilityTimeout: String(f.int(50)), DelaySeconds: String(f.int(3)) },
    }),
  (f, l) => f.request('AmazonSQS.PurgeQueue', { QueueUrl: `${f.endpointBase}/000000000000/${f.scratchQueue(l)}` }),
  (f, l) => ({
    ...f.request('AmazonSQS.SendMessage', {
      QueueUrl: l.queueUrl,
      MessageBody: f.pick(['hello', '{"a":1}', 'ü']),
      ...(f.chance(0.5)
        ? { MessageAttributes: { k: { DataType: 'String', StringValue: 'v' }, n: { DataType: 'Number', StringValue: '1' } } }
        : {}),
      ...(f.chance(0.2) ? { DelaySeconds: f.int(3) } : {}),
    }),
    adds: { kind: 'sqs-one' },
  }),
  (f, l) => ({
    ...f.request('AmazonSQS.SendMessageBatch', {
      QueueUrl: l.queueUrl,
      Entries: Array.from({ length: 1 + f.int(10) }, (_, i) => ({ Id: `m${i}`, MessageBody: `b${i}` })),
    }),
    adds: { kind: 'sqs-batch' },
  }),
  (f, l) =>
    f.request('AmazonSQS.ReceiveMessage', {
      QueueUrl: l.queueUrl,
      MaxNumberOfMessages: 1 + f.int(10),
      VisibilityTimeout: f.int(3),
      WaitTimeSeconds: 0,
      ...(f.chance(0.5) ? { MessageAttributeNames: ['All'], MessageSystemAttributeNames: ['All'] } : {}),
      ...(f.chance(0.3) ? { AttributeNames: ['All'] } : {}),
    }),
  (f, l) => f.request('AmazonSQS.DeleteMessage', { QueueUrl: l.queueUrl, ReceiptHandle: f.pick(['bogus', 'AQEB', '']) }),
  (f, l) => f.request('AmazonSQS.DeleteMessageBatch', { QueueUrl: l.queueUrl, Entries: [{ Id: 'a', ReceiptHandle: 'bogus' }] }),
  (f, l) => f.request('AmazonSQS.ChangeMessageVisibility', { QueueUrl: l.queueUrl, ReceiptHandle: 'bogus', VisibilityTimeout: f.int(10) }),
  (f, l) =>
    f.request('AmazonSQS.ChangeMessageVisibilityBatch', {
      QueueUrl: l.queueUrl,
      Entries: [{ Id: 'a', ReceiptHandle: 'bogus', VisibilityTimeout: 1 }],
    }),
  (f) => f.request('AmazonSQS.ListDeadLetterSourceQueues', { QueueUrl: `${f.endpointBase}/000000000000/fixture-work-dlq`, MaxResults: 5 }),
  (f, l) =>
    f.request('AmazonSQS.StartMessageMoveTask', {
      SourceArn: `arn:aws:sqs:us-east-1:000000000000:${f.scratchQueue(l)}`,
      MaxNumberOfMessagesPerSecond: 1 + f.int(10),
    }),
  (f) => f.request('AmazonSQS.CancelMessageMoveTask', { TaskHandle: f.pick(['bogus', 'eyJ0IjoxfQ==']) }),
  (f) => f.request('AmazonSQS.ListMessageMoveTasks', { SourceArn: 'arn:aws:sqs:us-east-1:000000000000:fixture-work-dlq', MaxResults: 3 }),
  (f, l) => f.request('AmazonSQS.ListQueueTags', { QueueUrl: l.queueUrl }),
  // DynamoDB
  (f, l) =>
    f.request('DynamoDB_20120810.PutItem', {
      TableName: f.table,
      Item: { pk: { S: `fz-${l.tag}` }, sk: { S: String(f.int(100)) }, v: { M: { a: { L: [{ N: '1' }, { S: 'x' }] } } } },
    }),
  (f, l) =>
    f.request('DynamoDB_20120810.GetItem', { TableName: f.table, Key: { pk: { S: `fz-${l.tag}` }, sk: { S: String(f.int(100)) } } }),
  (f, l) =>
    f.request('DynamoDB_20120810.UpdateItem', {
      TableName: f.table,
      Key: { pk: { S: `fz-${l.tag}` }, sk: { S: String(f.int(100)) } },
      UpdateExpression: 'SET #a = :v',
      ExpressionAttributeNames: { '#a': f.pick(['a', 'b', '__proto__', 'constructor']) },
      ExpressionAttributeValues: { ':v': { S: 'x' } },
    }),
  (f, l) =>
    f.request('DynamoDB_20120810.Query', {
      TableName: f.table,
      KeyConditionExpression: 'pk = :p',
      ExpressionAttributeValues: { ':p': { S: `fz-${l.tag}` } },
      Limit: 1 + f.int(20),
    }),
  (f) => f.request('DynamoDB_20120810.Scan', { TableName: f.table, Limit: 1 + f.int(20) }),
  (f, l) =>
    f.request('DynamoDB_20120810.DeleteItem', { TableName: f.table, Key: { pk: { S: `fz-${l.tag}` }, sk: { S: String(f.int(100)) } } }),
  (f, l) =>
    f.request('DynamoDB_20120810.BatchWriteItem', {
      RequestItems: { [f.table]: [{ PutRequest: { Item: { pk: { S: `fz-${l.tag}` }, sk: { S: `b${f.int(100)}` } } } }] },
    }),
  (f) => f.request('DynamoDB_20120810.ListTables', {}),
  (f) => f.request('DynamoDB_20120810.DescribeTable', { TableName: f.table }),
  // CloudWatch Logs, CloudTrail and CloudWatch
  (f) => f.request('Logs_20140328.DescribeLogGroups', { logGroupNamePrefix: '/aws', limit: 1 + f.int(50) }),
  (f) => f.request('Logs_20140328.DescribeLogStreams', { logGroupName: FUZZ_LOG_GROUP, orderBy: 'LastEventTime', descending: true }),
  (f) =>
    f.request('Logs_20140328.FilterLogEvents', {
      logGroupName: FUZZ_LOG_GROUP,
      filterPattern: f.pick(['{ $.level = "INFO" }', 'batch', '[a, b, c]', '?x ?y', '{ ($.a = 1) || ($.b > 2) }', '{ $.records = * }']),
      startTime: 0,
      limit: 1 + f.int(100),
    }),
  (f) => f.request('Logs_20140328.GetLogEvents', { logGroupName: FUZZ_LOG_GROUP, logStreamName: 'x', startFromHead: f.chance(0.5) }),
  (f, l) => f.request('Logs_20140328.CreateLogGroup', { logGroupName: `/fz/${l.tag}/${f.int(5)}` }),
  (f, l) => f.request('Logs_20140328.CreateLogStream', { logGroupName: `/fz/${l.tag}/${f.int(5)}`, logStreamName: `s${f.int(3)}` }),
  (f, l) =>
    f.request('Logs_20140328.PutLogEvents', {
      logGroupName: `/fz/${l.tag}/${f.int(5)}`,
      logStreamName: `s${f.int(3)}`,
      logEvents: [{ timestamp: Date.now(), message: JSON.stringify({ level: 'INFO', n: f.int(10) }) }],
    }),
  (f) =>
    f.request('CloudTrail_20131101.LookupEvents', {
      LookupAttributes: [{ AttributeKey: f.pick(['EventName', 'EventSource', 'Username', 'ResourceName']), AttributeValue: 'PutEvents' }],
      MaxResults: 1 + f.int(50),
    }),
  (f) => f.request('com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents', { StartTime: 0, EndTime: 2e9 }),
  (f) => f.request('GraniteServiceVersion20100801.DescribeAlarms', { MaxRecords: 1 + f.int(100) }),
  (f) => f.request('GraniteServiceVersion20100801.ListMetrics', { Namespace: f.pick(['AWS/SQS', 'AWS/Events', 'x']) }),
  (f) =>
    f.request('GraniteServiceVersion20100801.PutMetricData', {
      Namespace: 'Fuzz',
      MetricData: [{ MetricName: 'n', Value: f.int(100), Unit: 'Count', Dimensions: [{ Name: 'd', Value: 'v' }] }],
    }),
];

export const OPERATION_COUNT = GENERATORS.length;
