/**
 * --state-dir against a real process: `npm start`'s entry point in a child process, under load
 * (SendMessage, PutEvents to a rule that targets the queue, receives and deletes), killed with
 * SIGKILL or stopped with SIGTERM, then a runtime on the same directory. The documented write
 * policy loses nothing acknowledged on either signal: every acknowledged send is still in the
 * queue or was deleted by an acknowledged DeleteMessage, and no acknowledged delete comes back.
 */
import '../support/sdk-warning';
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EventBridgeClient, PutEventsCommand, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import { CreateQueueCommand, DeleteMessageCommand, ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { VirtualClock } from '../../runtime/clock';
import { ACCOUNT, EMPTY_APP, REGION, startHarness, waitFor } from './helpers';

const ROOT = path.join(__dirname, '..', '..');
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
/**
 * The signal comes once this many sends and events, and deletes, were acknowledged: the journal
 * then holds writes of every kind and more are in flight (the load never pauses). A fixed
 * real-time delay (1.5 s) sent as many requests as the machine could serve in it, for nothing more.
 */
const MIN_SENT = 100;
const MIN_DELETED = 10;
let dir: string;
let child: ChildProcess | undefined;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'state-kill-'));
});
afterEach(() => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  child?.stdout?.destroy();
  child?.stderr?.destroy();
  child = undefined;
  fs.rmSync(dir, { recursive: true, force: true });
});

/**
 * Starts `runtime/start.ts` on a free port as `npm start` runs it (node with tsx's require hook, no
 * wrapper process: the tsx command would run the runtime in a child of its own, so the signal
 * would reach the wrapper and not the runtime); resolves with its endpoint once it is ready.
 */
async function spawnRuntime(): Promise<string> {
  const args = ['--require', 'tsx/cjs', 'runtime/start.ts', '--assembly', EMPTY_APP, '--port', '0', '--quiet', '--state-dir', dir];
  child = spawn(process.execPath, args, {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  return new Promise((resolve, reject) => {
    child!.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      const m = /ready on (http:\/\/[\d.]+:\d+)/.exec(out);
      if (m?.[1]) resolve(m[1]);
    });
    child!.stderr!.on('data', (b: Buffer) => (out += b.toString()));
    child!.once('exit', (code) => reject(new Error(`runtime exited (${code}) before it was ready:\n${out}`)));
  });
}

interface Load {
  /** Bodies of acknowledged SendMessage calls and ids of acknowledged PutEvents entries. */
  sent: Set<string>;
  /** Keys (as above) of messages whose DeleteMessage was acknowledged. */
  deleted: Set<string>;
}

/** A message's key: the body of a SendMessage, the event id of a delivered event. */
function keyOf(body: string): string {
  return body.startsWith('{') ? (JSON.parse(body) as { id: string }).id : body;
}

/**
 * Runs senders, an event publisher and a consumer until `stop` resolves, recording into `result`
 * as acknowledgements arrive; requests cut by the signal count as not acknowledged.
 */
async function load(endpoint: string, stop: Promise<void>, result: Load): Promise<Load> {
  const config = { endpoint, region: REGION, credentials, maxAttempts: 1 };
  const sqs = new SQSClient(config);
  const events = new EventBridgeClient(config);
  const url = `${endpoint}/${ACCOUNT}/load`;
  let stopped = false;
  void stop.then(() => (stopped = true));
  const sender = async (worker: number) => {
    for (let i = 0; !stopped; i++) {
      const body = `m-${worker}-${i}`;
      try {
        await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: body }));
        result.sent.add(body);
      } catch {
        return;
      }
    }
  };
  const publisher = async () => {
    while (!stopped) {
      try {
        const r = await events.send(
          new PutEventsCommand({ Entries: [1, 2, 3].map((n) => ({ Source: 'load', DetailType: 'tick', Detail: JSON.stringify({ n }) })) }),
        );
        for (const e of r.Entries ?? []) if (e.EventId) result.sent.add(e.EventId);
      } catch {
        return;
      }
    }
  };
  const consumer = async () => {
    while (!stopped) {
      try {
        const r = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10 }));
        for (const m of r.Messages ?? []) {
          await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: m.ReceiptHandle }));
          result.deleted.add(keyOf(m.Body ?? ''));
        }
      } catch {
        return;
      }
    }
  };
  await Promise.all([sender(1), sender(2), publisher(), consumer()]);
  sqs.destroy();
  events.destroy();
  return result;
}

async function prepare(endpoint: string): Promise<void> {
  const config = { endpoint, region: REGION, credentials, maxAttempts: 1 };
  const sqs = new SQSClient(config);
  const events = new EventBridgeClient(config);
  await sqs.send(new CreateQueueCommand({ QueueName: 'load', Attributes: { VisibilityTimeout: '1' } }));
  await events.send(new PutRuleCommand({ Name: 'load', EventPattern: JSON.stringify({ source: ['load'] }) }));
  await events.send(new PutTargetsCommand({ Rule: 'load', Targets: [{ Id: 'q', Arn: `arn:aws:sqs:${REGION}:${ACCOUNT}:load` }] }));
  sqs.destroy();
  events.destroy();
}

/** What a fresh runtime on the directory has in the queue, once in-flight messages are visible again. */
async function remaining(): Promise<string[]> {
  // On a virtual clock that starts now: one second later every message taken before the signal
  // (visibility timeout 1 s) is visible again, without waiting for it.
  const clock = new VirtualClock();
  const h = await startHarness(EMPTY_APP, { stateDir: dir, clock });
  try {
    await clock.advanceAsync(1100);
    const keys: string[] = [];
    for (;;) {
      const r = await h.sqs.send(
        new ReceiveMessageCommand({ QueueUrl: h.queueUrl('load'), MaxNumberOfMessages: 10, VisibilityTimeout: 60 }),
      );
      if (!r.Messages?.length) return keys;
      for (const m of r.Messages) keys.push(keyOf(m.Body ?? ''));
    }
  } finally {
    await h.close();
  }
}

function check(acked: Load, left: string[]): void {
  const leftSet = new Set(left);
  const lost = [...acked.sent].filter((k) => !leftSet.has(k) && !acked.deleted.has(k));
  const resurrected = left.filter((k) => acked.deleted.has(k));
  expect({ lost, resurrected }).toEqual({ lost: [], resurrected: [] });
  expect(left.length).toBe(new Set(left).size);
}

test.each(['SIGKILL', 'SIGTERM'] as const)(
  '%s mid-load loses no acknowledged send, event or delete',
  async (signal) => {
    // GIVEN a runtime in a child process, a queue and a rule into it, and load running
    const endpoint = await spawnRuntime();
    await prepare(endpoint);
    let fire!: () => void;
    const stop = new Promise<void>((r) => (fire = r));
    const progress: Load = { sent: new Set(), deleted: new Set() };
    const running = load(endpoint, stop, progress);
    // WHEN the process gets the signal while requests are in flight, once each kind of write has
    // been acknowledged many times (sends and events into the journal, deletes out of it)
    await waitFor('acknowledged sends, events and deletes', () =>
      progress.sent.size >= MIN_SENT && progress.deleted.size >= MIN_DELETED ? true : undefined,
    );
    const exited = new Promise((r) => child!.once('exit', r));
    child!.kill(signal);
    await exited;
    fire();
    const acked = await running;
    // THEN a runtime on the same directory has every acknowledged message not deleted, and none deleted
    expect(acked.sent.size).toBeGreaterThanOrEqual(MIN_SENT);
    expect(acked.deleted.size).toBeGreaterThanOrEqual(MIN_DELETED);
    check(acked, await remaining());
  },
  60_000,
);
