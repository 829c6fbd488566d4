/** Shared set-up for runtime tests: start on a free port, real clients, the real AWS CLI. */
import '../support/sdk-warning';
import * as path from 'node:path';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { ReceiveMessageCommand, DeleteMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LocalRuntimeOptions, startLocalRuntime } from '../../runtime';
import { EventBroker, type DeliveryRetryOptions, type FunctionInvoker } from '../../runtime/events';
import { SqsBroker } from '../../runtime/sqs';
import {
  EventStream,
  runtimeActivity,
  type AnyRuntimeEvent,
  type RuntimeEvent,
  type RuntimeEventType,
  type RuntimeEvents,
} from '../../runtime/stream';
import { waitFor } from '../support/wait';
import { runAwsCli } from './aws-cli';
import { VirtualClock, driveWhenIdle } from '../../runtime/clock';

export { waitFor };

export const FIXTURE_APP = path.join(__dirname, 'fixtures', 'app');
export const EMPTY_APP = path.join(__dirname, 'fixtures', 'empty');
export const ACCOUNT = '000000000000';
export const REGION = 'us-east-1';

/** The key the harness's clients sign with (the account's root, unless `users` names it). */
export const HARNESS_CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };
const credentials = HARNESS_CREDENTIALS;

export interface Harness {
  endpoint: string;
  /** The runtime's typed events, recorded since start. */
  recorded: Recorder;
  stream: EventStream;
  clock: LocalRuntimeOptions['clock'];
  events: EventBridgeClient;
  sqs: SQSClient;
  dynamodb: DynamoDBClient;
  lines: string[];
  queueUrl(name: string): string;
  close(): Promise<void>;
}

/** Starts the runtime on 127.0.0.1, port 0, collecting its output lines. */
export async function startHarness(assemblyDir: string, options: Partial<LocalRuntimeOptions> = {}): Promise<Harness> {
  const lines: string[] = [];
  const rt = await startLocalRuntime({ assemblyDir, port: 0, host: '127.0.0.1', log: (l) => lines.push(l), ...options });
  const recorded = record(rt.stream);
  const config = { endpoint: rt.endpoint, region: REGION, credentials, maxAttempts: 1 };
  const events = new EventBridgeClient(config);
  const sqs = new SQSClient(config);
  const dynamodb = new DynamoDBClient(config);
  return {
    endpoint: rt.endpoint,
    recorded,
    stream: rt.stream,
    clock: rt.clock,
    events,
    sqs,
    dynamodb,
    lines,
    queueUrl: (name) => `${rt.endpoint}/${ACCOUNT}/${name}`,
    close: async () => {
      events.destroy();
      sqs.destroy();
      dynamodb.destroy();
      await rt.close();
      recorded.stop();
    },
  };
}

/**
 * A harness on a virtual clock that jumps to its next timer whenever the app is idle: batching
 * windows, visibility timeouts and retries pass without waiting, and a handler still running
 * holds time still. `idleMs` is the real time without an event or a running function that counts
 * as idle (driveWhenIdle's default unless given): a flow of many jumps (a poison message's
 * receives, alarm periods) is mostly those waits, so such suites pass 5. `close()` stops the
 * driving first.
 */
export async function startIdleDrivenHarness(
  assemblyDir: string,
  options: Partial<LocalRuntimeOptions> = {},
  idleMs?: number,
): Promise<Harness> {
  const clock = new VirtualClock();
  const h = await startHarness(assemblyDir, { ...options, clock });
  const activity = runtimeActivity(h.stream);
  const driver = driveWhenIdle(clock, activity, idleMs);
  return {
    ...h,
    close: async () => {
      driver.stop();
      activity.stop();
      await h.close();
    },
  };
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  json?: any;
}

/** Runs the AWS CLI (awscli v1: SQS over the query protocol) against the endpoint; see aws-cli.ts. */
export async function aws(endpoint: string, ...args: string[]): Promise<CliResult> {
  return awsWith(endpoint, {}, ...args);
}

/** The AWS CLI with other credentials (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`). */
export async function awsWith(endpoint: string, credentials: Record<string, string>, ...args: string[]): Promise<CliResult> {
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/tmp',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_DEFAULT_REGION: REGION,
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    AWS_MAX_ATTEMPTS: '1',
    ...credentials,
  };
  const r = await runAwsCli(['--endpoint-url', endpoint, '--output', 'json', ...args], env);
  if (r.code !== 0) return r;
  return { ...r, json: r.stdout.trim() ? JSON.parse(r.stdout) : undefined };
}

/** Receives and deletes every message of a queue until `count` arrived (or more, which the caller then sees). */
export async function drain(
  sqs: SQSClient,
  queueUrl: string,
  count: number,
  timeoutMs = 20000,
): Promise<
  { body: string; attributes: Record<string, string>; messageAttributes: Record<string, { StringValue?: string; DataType?: string }> }[]
> {
  const out: {
    body: string;
    attributes: Record<string, string>;
    messageAttributes: Record<string, { StringValue?: string; DataType?: string }>;
  }[] = [];
  const deadline = Date.now() + timeoutMs;
  while (out.length < count) {
    if (Date.now() > deadline)
      throw new Error(
        `Timed out waiting for ${count} messages on ${queueUrl}; got ${out.length}: ${JSON.stringify(out.map((m) => m.body))}`,
      );
    const r = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
        MessageSystemAttributeNames: ['All'],
        MessageAttributeNames: ['All'],
      }),
    );
    const msgs = r.Messages ?? [];
    if (msgs.length === 0) {
      // Polled on real time, so it works whatever clock the runtime runs on.
      await new Promise((resolve) => setTimeout(resolve, 20));
      continue;
    }
    for (const m of msgs)
      out.push({
        body: m.Body ?? '',
        attributes: (m.Attributes ?? {}) as Record<string, string>,
        messageAttributes: (m.MessageAttributes ?? {}) as Record<string, { StringValue?: string; DataType?: string }>,
      });
    await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: msgs.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })),
      }),
    );
  }
  return out;
}

/** Every event of a stream, in order, with typed accessors. */
export interface Recorder {
  readonly all: AnyRuntimeEvent[];
  /** Payloads of one event type, optionally filtered. */
  of<T extends RuntimeEventType>(type: T, where?: (p: RuntimeEvents[T]) => boolean): RuntimeEvents[T][];
  /** Events of one type with their envelope (time, request). */
  envelopes<T extends RuntimeEventType>(type: T): RuntimeEvent<T>[];
  clear(): void;
  stop(): void;
}

export function record(stream: EventStream): Recorder {
  const all: AnyRuntimeEvent[] = [];
  const sub = stream.subscribeAll((e) => all.push(e));
  const envelopes = <T extends RuntimeEventType>(type: T) =>
    all.filter((e): e is RuntimeEvent<T> & AnyRuntimeEvent => e.type === type) as RuntimeEvent<T>[];
  return {
    all,
    envelopes,
    of: (type, where) =>
      envelopes(type)
        .map((e) => e.properties)
        .filter((p) => !where || where(p)),
    clear: () => {
      all.length = 0;
    },
    stop: () => sub.unsubscribe(),
  };
}

/** SQS and EventBridge in memory on a virtual clock, without HTTP: for unit tests of the state machines. */
export function inMemory(
  options: {
    functions?: FunctionInvoker;
    deliveryRetry?: DeliveryRetryOptions;
    archiveLimits?: { maxEvents?: number; maxBytes?: number };
  } = {},
) {
  const clock = new VirtualClock(Date.UTC(2026, 0, 1));
  const stream = new EventStream(clock, ACCOUNT, REGION);
  const recorded = record(stream);
  const sqs = new SqsBroker({ clock, stream, region: REGION, accountId: ACCOUNT, endpoint: 'http://127.0.0.1:1' });
  const events = new EventBroker({ clock, stream, sqs, region: REGION, accountId: ACCOUNT, ...options });
  return {
    clock,
    stream,
    recorded,
    sqs,
    events,
    close: () => {
      events.close();
      sqs.close();
      recorded.stop();
    },
  };
}
