/**
 * Every AWS-facing command against the local runtime running the synthesized app: the same
 * code path as against AWS, selected by one variable (AWS_ENDPOINT_URL), with no region or keys.
 */
import { app } from '../../catalog';
import { detailJsonSchema } from '../../sdk/catalog';
import { sampleOf } from '../../cli/sample';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { EventBridgeClient, ListRulesCommand, ListTargetsByRuleCommand } from '@aws-sdk/client-eventbridge';
import {
  CreateQueueCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ListQueuesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SetQueueAttributesCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { startLocalRuntime, type LocalRuntime } from '../../runtime';
import { runtimeActivity } from '../../runtime/stream';
import type { CliClock } from '../../cli/io';
import { ensureSynth } from '../../assembly';
import { loadTopology, type Topology } from '../../cli/topology';
import { appPrefix, assemblyStacks } from '../../cli/app-names';
import { TAIL_PREFIX } from '../../cli/discovery';
import { submittedData } from '../sdk/factories';
import { json, runCli, type CliResult } from './helpers';

let rt: LocalRuntime;
let activity: ReturnType<typeof runtimeActivity>;
let env: Record<string, string>;
let topology: Topology;
let eb: EventBridgeClient;
let sqs: SQSClient;

const submitted = (applicationId: string, amount = 10_000) => ({
  source: 'com.example.loans.intake',
  detailType: 'LoanApplicationSubmitted',
  detail: { data: submittedData({ applicationId, amount }) },
});

const url = async (name: string) => (await sqs.send(new GetQueueUrlCommand({ QueueName: name }))).QueueUrl!;
const depth = async (name: string) =>
  Number(
    (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: await url(name), AttributeNames: ['ApproximateNumberOfMessages'] })))
      .Attributes?.ApproximateNumberOfMessages,
  );

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Real time without anything happening in the runtime that counts as idle. */
const QUIET_MS = 100;

/**
 * The time replay waits on (its polls of the replay state and the settling of its counts), which
 * passes only while the app is idle: a sleep returns once no event has happened in the runtime
 * and no function has run for QUIET_MS of real time, and then counts as the time it asked for. The
 * counts then settle once the consumers are done with the replayed events, not after the two
 * seconds of wall-clock time a stable count needs, and never while a consumer still runs.
 */
function idleTime(): CliClock {
  let now = Date.now();
  return {
    now: () => now,
    sleep: async (ms, signal) => {
      for (let seq = -1; !signal?.aborted && (activity.seq !== seq || activity.busy > 0); ) {
        seq = activity.seq;
        await new Promise((r) => setTimeout(r, QUIET_MS));
      }
      now += ms;
    },
  };
}

/** Starts `tail`, waits until its rule delivers to its queue, runs `during`, and returns tail's result. */
async function tailWhile(args: string[], during: () => Promise<void>): Promise<CliResult> {
  const tail = runCli(['--json', 'tail', ...args], { env });
  // Events put before the rule has its target would be lost, so wait for the target.
  await waitFor(
    'the tail rule and its target',
    async () => {
      const rules = (await eb.send(new ListRulesCommand({ EventBusName: topology.busName, NamePrefix: TAIL_PREFIX }))).Rules ?? [];
      if (rules.length === 0) return undefined;
      const targets = (await eb.send(new ListTargetsByRuleCommand({ Rule: rules[0]!.Name, EventBusName: topology.busName }))).Targets ?? [];
      return targets.length > 0 ? true : undefined;
    },
    60_000,
  );
  await during();
  return tail;
}

beforeAll(async () => {
  const assembly = await ensureSynth();
  // The whole app: the router stack and every consumer stack.
  topology = loadTopology({ assembly, stack: appPrefix(assemblyStacks(assembly)) ?? '', cwd: process.cwd() });
  rt = await startLocalRuntime({ assemblyDir: assembly, port: 0, host: '127.0.0.1', quiet: true, log: () => undefined, prewarm: false });
  activity = runtimeActivity(rt.stream);
  env = { AWS_ENDPOINT_URL: rt.endpoint };
  const config = { endpoint: rt.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };
  eb = new EventBridgeClient(config);
  sqs = new SQSClient(config);
}, 600_000);

afterAll(async () => {
  activity?.stop();
  eb?.destroy();
  sqs?.destroy();
  await rt?.close();
});

describe('against the local runtime', () => {
  // First, while no earlier test's events keep the runtime busy: this test starts a process.
  test('Ctrl-C (SIGINT) to the installed command removes the temporary rule and queue', async () => {
    // GIVEN a real `tail` process of the installed command, which finds the bus in ./cdk.out
    const child = spawn(process.execPath, [join(__dirname, '..', '..', 'cli', 'bin.cjs'), 'tail'], {
      env: { PATH: process.env.PATH, NO_COLOR: '1', AWS_ENDPOINT_URL: rt.endpoint },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    // tail says it is listening once its rule, queue and target are in place
    await waitFor('tail to listen', async () => (stderr.includes('Ctrl-C to stop') ? true : undefined), 60_000);
    // WHEN
    child.kill('SIGINT');
    // THEN
    expect(await exited).toBe(0);
    expect(stderr).toMatch(new RegExp(`removed rule ${TAIL_PREFIX}[0-9a-f]{8} and queue ${TAIL_PREFIX}[0-9a-f]{8}`));
    expect((await eb.send(new ListRulesCommand({ EventBusName: topology.busName, NamePrefix: TAIL_PREFIX }))).Rules ?? []).toHaveLength(0);
    expect((await sqs.send(new ListQueuesCommand({ QueueNamePrefix: TAIL_PREFIX }))).QueueUrls ?? []).toHaveLength(0);
  }, 90_000);

  test('publish prints the id the runtime assigned to each event', async () => {
    const one = await runCli(['publish', '--file', '-'], { env, stdin: JSON.stringify(submitted('app-pub-1')) });
    expect(one.code).toBe(0);
    expect(one.stdout.trim()).toMatch(/^[0-9a-f-]{36}$/);

    // Many events of a type no consumer subscribes to: enough for three PutEvents calls, and no
    // function runs for them (that would only keep the runtime busy during the next tests).
    const unconsumed = app.catalog.events.find(
      (e) => !app.catalog.consumers.some((c) => c.subscriptions.some((sub) => sub.event.detailType === e.detailType)),
    );
    if (!unconsumed) throw new Error('this test needs a catalog event type that no consumer subscribes to');
    const { data } = sampleOf(detailJsonSchema(unconsumed, 'draft-2020-12')) as { data: unknown };
    const entry = { source: unconsumed.source, detailType: unconsumed.detailType, detail: { data } };
    const lines = Array.from({ length: 25 }, () => JSON.stringify(entry)).join('\n');
    const many = await runCli(['--json', 'publish', '--jsonl', '-'], { env, stdin: lines });
    const body = json<{ successCount: number; outcomes: { eventId?: string }[] }>(many);
    expect(body.successCount).toBe(25);
    expect(new Set(body.outcomes.map((o) => o.eventId)).size).toBe(25);
    expect(many.code).toBe(0);
  });

  test('tail streams matching events, then removes its rule and queue', async () => {
    // WHEN two of three published events match the tail pattern
    // (underwriting answers each with a decision carrying the same applicationId; the detail-type keeps those out)
    const pattern = { 'detail-type': ['LoanApplicationSubmitted'], detail: { data: { applicationId: ['app-tail-1', 'app-tail-2'] } } };
    const result = await tailWhile(['-p', JSON.stringify(pattern), '--count', '2', '--duration', '60'], async () => {
      const r = await runCli(['publish', '--jsonl', '-'], {
        env,
        stdin: ['app-tail-0', 'app-tail-1', 'app-tail-2'].map((id) => JSON.stringify(submitted(id))).join('\n'),
      });
      expect(r.code).toBe(0);
    });
    // THEN
    expect(result.code).toBe(0);
    const events = result.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(events.map((e) => e.detail.data.applicationId).sort()).toEqual(['app-tail-1', 'app-tail-2']);
    expect(events[0]['detail-type']).toBe('LoanApplicationSubmitted');
    expect((await eb.send(new ListRulesCommand({ EventBusName: topology.busName, NamePrefix: TAIL_PREFIX }))).Rules ?? []).toHaveLength(0);
    expect((await sqs.send(new ListQueuesCommand({ QueueNamePrefix: TAIL_PREFIX }))).QueueUrls ?? []).toHaveLength(0);
  });

  test('dlq list finds the bus DLQ and both DLQs of every consumer the template declares', async () => {
    const r = await runCli(['--json', 'dlq', 'list'], { env });
    expect(r.code).toBe(0);
    const rows = json<{ deadLetterQueues: { kind: string; name: string; source: string; depth: number }[] }>(r).deadLetterQueues;
    const expected = topology.rules.flatMap((rule) => {
      const t = rule.targets[0]!;
      const queue = topology.queues.get(t.queueId!)!;
      return [
        ['delivery', topology.queues.get(t.deadLetterQueueId!)!.name, `rule ${rule.name}`],
        ['redrive', topology.queues.get(queue.redrive!.deadLetterQueueId)!.name, `queue ${queue.name}`],
      ];
    });
    expect(
      rows
        .filter((x) => x.kind !== 'bus')
        .map((x) => [x.kind, x.name, x.source])
        .sort(),
    ).toEqual(expected.sort());
    expect(rows.filter((x) => x.kind === 'bus')).toHaveLength(1);
  });

  test('a message received too often moves to its DLQ; show names its source; redrive moves it back', async () => {
    // GIVEN a queue pair of the stack that no rule targets (found through ListQueues by the stack
    // prefix), and a message received more than maxReceiveCount times, so SQS moves it to the DLQ
    const dlqUrl = (await sqs.send(new CreateQueueCommand({ QueueName: 'LoanEvents-cli-test-dlq' }))).QueueUrl!;
    const dlqArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['QueueArn'] }))).Attributes!.QueueArn;
    const sourceUrl = (
      await sqs.send(
        new CreateQueueCommand({
          QueueName: 'LoanEvents-cli-test',
          Attributes: { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: 1 }) },
        }),
      )
    ).QueueUrl!;
    await sqs.send(new SendMessageCommand({ QueueUrl: sourceUrl, MessageBody: '{"not":"an EventBridge event"}' }));
    for (let i = 0; i < 3; i++)
      await sqs.send(new ReceiveMessageCommand({ QueueUrl: sourceUrl, VisibilityTimeout: 0, WaitTimeSeconds: 0 }));
    await waitFor('a message in the DLQ', async () => ((await depth('LoanEvents-cli-test-dlq')) > 0 ? true : undefined));
    // WHEN
    const show = await runCli(['--json', 'dlq', 'show', 'LoanEvents-cli-test-dlq'], { env });
    // THEN
    const messages = json<{ source: string; messages: { deadLetterQueueSourceArn?: string; body: unknown }[] }>(show).messages;
    expect(messages).toHaveLength(1);
    expect(messages[0]?.deadLetterQueueSourceArn?.endsWith(':LoanEvents-cli-test')).toBe(true);
    expect(messages[0]?.body).toEqual({ not: 'an EventBridge event' });
    expect(await depth('LoanEvents-cli-test-dlq')).toBe(1); // show does not consume

    // WHEN redriven: refused, as the body is no event and would fail again; then forced
    const refused = await runCli(['dlq', 'redrive', 'LoanEvents-cli-test-dlq', '--poll-ms', '50'], { env });
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain('the body is not an EventBridge event');
    expect(await depth('LoanEvents-cli-test-dlq')).toBe(1);
    const redrive = await runCli(['dlq', 'redrive', 'LoanEvents-cli-test-dlq', '--force', '--poll-ms', '50'], { env });
    // THEN
    expect(redrive.stdout).toContain('moved 1 message(s) from LoanEvents-cli-test-dlq to LoanEvents-cli-test');
    expect(redrive.code).toBe(0);
    expect(await depth('LoanEvents-cli-test-dlq')).toBe(0);
    expect(await depth('LoanEvents-cli-test')).toBe(1);
    await sqs.send(new DeleteQueueCommand({ QueueUrl: sourceUrl }));
    await sqs.send(new DeleteQueueCommand({ QueueUrl: dlqUrl }));
  });

  test('a rule DLQ shows the EventBridge error attributes and its redrive sends the event to the rule target', async () => {
    // GIVEN an event EventBridge could not deliver (as EventBridge writes it to the rule DLQ)
    const rule = topology.rules.find((x) => x.name.endsWith('notifications'))!;
    const dlqName = topology.queues.get(rule.targets[0]!.deadLetterQueueId!)!.name;
    const target = topology.queues.get(rule.targets[0]!.queueId!)!.name;
    await sqs.send(new SetQueueAttributesCommand({ QueueUrl: await url(target), Attributes: { VisibilityTimeout: '180' } }));
    const event = {
      version: '0',
      id: 'e-dead-1',
      'detail-type': 'LoanApplicationApproved',
      source: 'com.example.loans.underwriting',
      detail: {},
    };
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: await url(dlqName),
        MessageBody: JSON.stringify(event),
        MessageAttributes: {
          ERROR_CODE: { DataType: 'String', StringValue: 'SQSKMSAccessDenied' },
          RETRY_ATTEMPTS: { DataType: 'String', StringValue: '185' },
        },
      }),
    );
    // WHEN
    const show = await runCli(['dlq', 'show', dlqName], { env });
    // (detail {} fails the catalog schema: forced, this test is about where the event goes)
    const redrive = await runCli(['dlq', 'redrive', dlqName, '--force'], { env });
    // THEN
    expect(show.stdout).toContain('LoanApplicationApproved from com.example.loans.underwriting (event e-dead-1)');
    expect(show.stdout).toContain('ERROR_CODE: SQSKMSAccessDenied');
    expect(show.stdout).toContain('RETRY_ATTEMPTS: 185');
    expect(redrive.stdout).toContain(`moved 1 message(s) from ${dlqName} to ${target}`);
    expect(redrive.code).toBe(0);
    expect(await depth(dlqName)).toBe(0);
  });

  test('replay re-delivers archived events of a window to the bus, where a tail sees them', async () => {
    // GIVEN two archived events
    const from = new Date(Date.now() - 1000).toISOString();
    const published = await runCli(['publish', '--jsonl', '-'], {
      env,
      stdin: ['app-replay-1', 'app-replay-2'].map((id) => JSON.stringify(submitted(id))).join('\n'),
    });
    expect(published.code).toBe(0);
    await new Promise((r) => setTimeout(r, 50));
    const to = new Date().toISOString();
    // WHEN they are replayed to every rule while a tail listens for replayed events only
    const pattern = {
      'replay-name': [{ exists: true }],
      'detail-type': ['LoanApplicationSubmitted'],
      detail: { data: { applicationId: [{ prefix: 'app-replay-' }] } },
    };
    let replay: CliResult | undefined;
    const tail = await tailWhile(['-p', JSON.stringify(pattern), '--count', '2', '--duration', '60'], async () => {
      replay = await runCli(['--json', 'replay', '--from', from, '--to', to, '--name', 'cli-test-replay', '--poll-ms', '50'], {
        env,
        clock: idleTime(),
      });
    });
    // THEN
    expect(replay?.code).toBe(0);
    expect(json<{ state: string }>(replay!).state).toBe('COMPLETED');
    const events = tail.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(events.map((e) => e.detail.data.applicationId).sort()).toEqual(['app-replay-1', 'app-replay-2']);
    expect(events.every((e) => e['replay-name'] === 'cli-test-replay')).toBe(true);
    // The consumers processed the replayed events again rather than skipping them as duplicates,
    // and replay counted it from their logs.
    const underwriting = topology.rules.find((x) => x.name.endsWith('underwriting'))!.name;
    const consumers = json<{ consumers: Array<{ function: string; processed: number; skipped: number }> }>(replay!).consumers;
    expect(consumers.find((c) => c.function === underwriting)).toEqual({ function: underwriting, processed: 2, skipped: 0, failed: 0 });
  }, 120_000);

  test('replay to one rule re-delivers the window to that rule only', async () => {
    // GIVEN an archived large application, which both underwriting's and manual review's rules match
    const from = new Date(Date.now() - 1000).toISOString();
    const published = await runCli(['publish', '--file', '-'], { env, stdin: JSON.stringify(submitted('app-replay-rule-1', 300_000)) });
    expect(published.code).toBe(0);
    await new Promise((r) => setTimeout(r, 50));
    const to = new Date().toISOString();
    const manualReview = topology.rules.find((x) => x.name.endsWith('manual-review'))!.name;
    const underwriting = topology.rules.find((x) => x.name.endsWith('underwriting'))!.name;
    // WHEN it is replayed to manual review's rule alone
    const r = await runCli(['replay', '--from', from, '--to', to, '--rule', manualReview, '--poll-ms', '50'], { env, clock: idleTime() });
    // THEN the replay completes, and only manual review's function processed the replayed event
    expect(r.stdout).toContain(': COMPLETED');
    expect(r.stdout).toMatch(new RegExp(`^${manualReview}\\s+1\\s+0\\s+0$`, 'm'));
    expect(r.stdout).not.toContain(underwriting);
    expect(r.code).toBe(0);
  });

  test('invoke runs a consumer with a catalog sample through Lambda Invoke and prints its result and logs', async () => {
    // GIVEN a consumer of the catalog and an event type it subscribes to
    const consumer = app.catalog.consumers.find((c) => c.subscriptions.length > 0)!;
    const detailType = consumer.subscriptions[0]!.event.detailType;
    // WHEN
    const r = await runCli(['--json', 'invoke', consumer.name, '--sample', detailType], { env });
    // THEN the function processed the one record and logged it
    const body = json<{ function: string; result: { batchItemFailures: unknown[] }; logs: string[] }>(r);
    expect(body.result).toEqual({ batchItemFailures: [] });
    expect(body.logs.some((l) => l.includes('Event processed'))).toBe(true);
    expect(r.code).toBe(0);
  });

  test('invoke of an event the consumer cannot process exits 1 with the function error and the reason in the logs', async () => {
    const consumer = app.catalog.consumers.find((c) => c.subscriptions.length > 0)!;
    const event = consumer.subscriptions[0]!.event;
    const bad = JSON.stringify({
      version: '0',
      id: 'e-inv',
      source: event.source,
      'detail-type': event.detailType,
      account: '000000000000',
      time: new Date().toISOString(),
      region: 'us-east-1',
      resources: [],
      detail: {},
    });
    const r = await runCli(['--json', 'invoke', consumer.name, '--event', '-'], { env, stdin: bad });
    // Its only record failed, so the batch fails as a whole (FullBatchFailureError), a function error.
    const body = json<{ result: { errorType: string }; functionError?: string; logs: string[] }>(r);
    expect(body.functionError).toBe('Unhandled');
    expect(body.result.errorType).toBe('FullBatchFailureError');
    expect(body.logs.some((l) => l.includes('Event can never be processed'))).toBe(true);
    expect(r.code).toBe(1);
  });

  test('Lambda Invoke answers bad requests with the status codes and error types of Lambda', async () => {
    const fn = topology.rules.find((x) => x.name.endsWith('underwriting'))!.name;
    const post = (name: string, body: string, headers: Record<string, string> = {}) =>
      fetch(`${rt.endpoint}/2015-03-31/functions/${name}/invocations`, { method: 'POST', body, headers });
    const missing = await post('no-such-function', '{}');
    expect([missing.status, missing.headers.get('x-amzn-errortype')]).toEqual([404, 'ResourceNotFoundException']);
    const badJson = await post(fn, '{not json');
    expect([badJson.status, badJson.headers.get('x-amzn-errortype')]).toEqual([400, 'InvalidRequestContentException']);
    const badName = await post('%E0%A4%A', '{}');
    expect(badName.status).toBe(400);
    const asyncCall = await post(fn, '{}', { 'X-Amz-Invocation-Type': 'Event' });
    expect(asyncCall.status).toBe(400);
    const dry = await post(fn, '{}', { 'X-Amz-Invocation-Type': 'DryRun' });
    expect(dry.status).toBe(204);
  });

  test('invoke with a directory as the event file is a usage error', async () => {
    const r = await runCli(['invoke', 'x', '--event', '.'], { env });
    expect(r.stderr).toContain("--event: '.' is a directory");
    expect(r.code).toBe(2);
  });

  test('a bus that does not exist is named in the error', async () => {
    const r = await runCli(['--bus', 'no-such-bus', 'dlq', 'list'], { env });
    expect(r.stderr).toContain("event bus 'no-such-bus' not found");
    expect(r.code).toBe(1);
  });
});
