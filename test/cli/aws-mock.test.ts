/**
 * The AWS path of every command that calls AWS, against aws-sdk-client-mock: the requests each
 * command sends and what it makes of the answers.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DeleteRuleCommand,
  DescribeEventBusCommand,
  DescribeReplayCommand,
  DescribeRuleCommand,
  EventBridgeClient,
  ListArchivesCommand,
  ListRulesCommand,
  ListTargetsByRuleCommand,
  PutEventsCommand,
  PutRuleCommand,
  PutTargetsCommand,
  RemoveTargetsCommand,
  StartReplayCommand,
} from '@aws-sdk/client-eventbridge';
import {
  ChangeMessageVisibilityBatchCommand,
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ListMessageMoveTasksCommand,
  ListQueuesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SetQueueAttributesCommand,
  SQSClient,
  StartMessageMoveTaskCommand,
} from '@aws-sdk/client-sqs';
import { CloudWatchLogsClient, DescribeLogGroupsCommand, FilterLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { mockClient } from 'aws-sdk-client-mock';
import { OUTCOME_MESSAGES } from '../../cli/replay-count';
import { BUS_ENV, STACK_ENV } from '../../cli/app-names';
import { clientConfig } from '../../cli/aws';
import { LEGACY_TAIL_PREFIXES, TAIL_PREFIX } from '../../cli/discovery';
import { submittedData } from '../sdk/factories';
import { json, runCli, steppingClock } from './helpers';

const eb = mockClient(EventBridgeClient);
const sqs = mockClient(SQSClient);
const cwLogs = mockClient(CloudWatchLogsClient);
/** The mocked deployment's bus and stack, named to the CLI through the environment. */
const BUS = 'loan-events';
const STACK = 'LoanEvents';
const ENV = {
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
  AWS_SECRET_ACCESS_KEY: 'secret',
  [BUS_ENV]: BUS,
  [STACK_ENV]: STACK,
};
const ACCOUNT = '111122223333';
const BUS_ARN = `arn:aws:events:us-east-1:${ACCOUNT}:event-bus/${BUS}`;
const qArn = (name: string) => `arn:aws:sqs:us-east-1:${ACCOUNT}:${name}`;
const qUrl = (name: string) => `https://sqs.us-east-1.amazonaws.com/${ACCOUNT}/${name}`;
const nameOfUrl = (url?: string) => (url ?? '').split('/').pop() ?? '';

const submittedEvent = (i: number) => ({
  source: 'com.example.loans.intake',
  detailType: 'LoanApplicationSubmitted',
  detail: { data: submittedData({ applicationId: `app-${i}` }) },
});

/** A deployed stack as the APIs describe it: one consumer with both DLQs, plus the bus DLQ. */
function deployedStack(depths: Record<string, number> = {}): void {
  eb.on(DescribeEventBusCommand).resolves({ Name: 'loan-events', Arn: BUS_ARN, DeadLetterConfig: { Arn: qArn('LoanEvents-BusDlq-X1') } });
  eb.on(ListRulesCommand).resolves({
    Rules: [
      { Name: 'LoanEvents-underwriting', EventBusName: 'loan-events' },
      { Name: `${TAIL_PREFIX}0000`, EventBusName: 'loan-events' },
    ],
  });
  eb.on(ListTargetsByRuleCommand, { Rule: 'LoanEvents-underwriting' }).resolves({
    Targets: [
      { Id: 'Target0', Arn: qArn('LoanEvents-underwriting'), DeadLetterConfig: { Arn: qArn('LoanEvents-underwriting-delivery-dlq') } },
    ],
  });
  sqs.on(GetQueueUrlCommand).callsFake((input: { QueueName: string }) => ({ QueueUrl: qUrl(input.QueueName) }));
  sqs.on(ListQueuesCommand).resolves({ QueueUrls: [qUrl('LoanEvents-underwriting'), qUrl('LoanEvents-underwriting-dlq')] });
  sqs.on(GetQueueAttributesCommand).callsFake((input: { QueueUrl: string }) => {
    const name = nameOfUrl(input.QueueUrl);
    return {
      Attributes: {
        QueueArn: qArn(name),
        ...(name === 'LoanEvents-underwriting'
          ? { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: qArn('LoanEvents-underwriting-dlq'), maxReceiveCount: 5 }) }
          : {}),
        ApproximateNumberOfMessages: String(depths[name] ?? 0),
        ApproximateNumberOfMessagesNotVisible: '0',
      },
    };
  });
}

beforeEach(() => {
  eb.reset();
  sqs.reset();
  cwLogs.reset();
});

describe('client configuration', () => {
  test('AWS_ENDPOINT_URL points every client at the local runtime, with a region and no keys needed', () => {
    const c = clientConfig('SQS', {}, { AWS_ENDPOINT_URL: 'http://127.0.0.1:4566' });
    expect(c).toEqual({
      endpoint: 'http://127.0.0.1:4566',
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
  });

  test('a service-specific endpoint and --endpoint-url win, in the AWS CLI order', () => {
    const env = { AWS_ENDPOINT_URL: 'http://127.0.0.1:1', AWS_ENDPOINT_URL_SQS: 'http://127.0.0.1:2', AWS_REGION: 'eu-west-1' };
    expect(clientConfig('SQS', {}, env).endpoint).toBe('http://127.0.0.1:2');
    expect(clientConfig('EVENTBRIDGE', {}, env).endpoint).toBe('http://127.0.0.1:1');
    expect(clientConfig('SQS', { endpointUrl: 'http://127.0.0.1:3' }, env).endpoint).toBe('http://127.0.0.1:3');
    expect(clientConfig('SQS', { region: 'ap-south-1' }, env).region).toBe('ap-south-1');
  });

  test('a profile is passed to the SDK and no keys are invented for a remote endpoint', () => {
    const c = clientConfig('EVENTBRIDGE', { profile: 'ops' }, { AWS_REGION: 'us-west-2' });
    expect(c).toEqual({ profile: 'ops', region: 'us-west-2' });
  });

  test('a malformed endpoint is a usage error naming the option', async () => {
    const r = await runCli(['--endpoint-url', 'not a url', 'dlq', 'list'], { env: ENV });
    expect(r.stderr).toContain("--endpoint-url: 'not a url' is not a URL");
    expect(r.code).toBe(2);
  });
});

describe('publish (AWS path)', () => {
  test('publishes one event from flags and prints its id', async () => {
    // GIVEN
    eb.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'evt-1' }] });
    // WHEN
    const r = await runCli(
      [
        'publish',
        '--source',
        'com.example.loans.intake',
        '--detail-type',
        'LoanApplicationSubmitted',
        '--detail',
        JSON.stringify(submittedEvent(1).detail),
      ],
      { env: ENV },
    );
    // THEN
    expect(r.stdout.trim()).toBe('evt-1');
    expect(r.code).toBe(0);
    const entry = eb.commandCalls(PutEventsCommand)[0]!.args[0].input.Entries![0];
    expect(entry).toMatchObject({
      EventBusName: 'loan-events',
      Source: 'com.example.loans.intake',
      DetailType: 'LoanApplicationSubmitted',
    });
    expect(JSON.parse(entry!.Detail!).data.applicationId).toBe('app-1');
  });

  test('publishes JSON Lines from stdin in batches of 10 and reports each outcome', async () => {
    // GIVEN every 7th entry fails permanently
    eb.on(PutEventsCommand).callsFake((input: { Entries: { Detail: string }[] }) => ({
      Entries: input.Entries.map((e) => {
        const n = Number(JSON.parse(e.Detail).data.applicationId.slice(4));
        return n % 7 === 0 ? { ErrorCode: 'MalformedDetail', ErrorMessage: 'bad' } : { EventId: `evt-${n}` };
      }),
    }));
    const lines = Array.from({ length: 25 }, (_, i) => JSON.stringify(submittedEvent(i + 1))).join('\n');
    // WHEN
    const r = await runCli(['--json', '--bus', 'other-bus', 'publish', '--jsonl', '-'], { env: ENV, stdin: lines });
    // THEN
    const body = json<{ successCount: number; failedCount: number; outcomes: { index: number; eventId?: string; errorCode?: string }[] }>(
      r,
    );
    expect(body.successCount).toBe(22);
    expect(body.failedCount).toBe(3);
    expect(body.outcomes[6]).toEqual({ index: 6, errorCode: 'MalformedDetail', errorMessage: 'bad' });
    expect(body.outcomes[0]?.eventId).toBe('evt-1');
    expect(eb.commandCalls(PutEventsCommand).map((c) => c.args[0].input.Entries!.length)).toEqual([10, 10, 5]);
    expect(eb.commandCalls(PutEventsCommand)[0]!.args[0].input.Entries![0]?.EventBusName).toBe('other-bus');
    expect(r.stderr).toContain('publish [');
    expect(r.code).toBe(1);
  });

  test('an event that fails the catalog is a usage error naming the line and field, and nothing is sent', async () => {
    const bad = { ...submittedEvent(2), detail: { data: { ...submittedData(), amount: -5 } } };
    const r = await runCli(['publish', '--jsonl', '-'], {
      env: ENV,
      stdin: `${JSON.stringify(submittedEvent(1))}\n${JSON.stringify(bad)}\n`,
    });
    expect(r.stderr).toContain('line 2');
    expect(r.stderr).toContain('detail.data.amount');
    expect(r.stderr).toContain('nothing was published');
    expect(r.code).toBe(2);
    expect(eb.commandCalls(PutEventsCommand)).toHaveLength(0);
  });

  test('a line that is not JSON is a usage error naming the line', async () => {
    const r = await runCli(['publish', '--jsonl', '-'], { env: ENV, stdin: `${JSON.stringify(submittedEvent(1))}\n{oops\n` });
    expect(r.stderr).toContain('--jsonl: line 2 is not valid JSON');
    expect(r.code).toBe(2);
  });

  test('mixing input modes is a usage error', async () => {
    const r = await runCli(['publish', '--file', 'a.json', '--jsonl', 'b.jsonl'], { env: ENV });
    expect(r.stderr).toContain('give exactly one of');
    expect(r.code).toBe(2);
  });
});

describe('dlq (AWS path)', () => {
  test('list finds every DLQ through the bus, the rules, the targets and the redrive policies', async () => {
    // GIVEN
    deployedStack({ 'LoanEvents-underwriting-dlq': 2 });
    const sent = Date.now() - 3 * 3600 * 1000;
    sqs
      .on(ReceiveMessageCommand, { QueueUrl: qUrl('LoanEvents-underwriting-dlq') })
      .resolvesOnce({
        Messages: [
          { MessageId: 'm1', ReceiptHandle: 'h1', Body: '{}', Attributes: { SentTimestamp: String(sent) } },
          { MessageId: 'm2', ReceiptHandle: 'h2', Body: '{}', Attributes: { SentTimestamp: String(Date.now()) } },
        ],
      })
      .resolves({ Messages: [] });
    // WHEN
    const r = await runCli(['--json', 'dlq', 'list'], { env: ENV });
    // THEN
    expect(r.code).toBe(0);
    const rows = json<{ deadLetterQueues: { kind: string; name: string; source: string; depth: number; oldestAgeSeconds?: number }[] }>(
      r,
    ).deadLetterQueues;
    expect(rows.map((x) => [x.kind, x.name, x.source])).toEqual([
      ['bus', 'LoanEvents-BusDlq-X1', 'bus loan-events'],
      ['delivery', 'LoanEvents-underwriting-delivery-dlq', 'rule LoanEvents-underwriting'],
      ['redrive', 'LoanEvents-underwriting-dlq', 'queue LoanEvents-underwriting'],
    ]);
    const dlq = rows[2]!;
    expect(dlq.depth).toBe(2);
    expect(dlq.oldestAgeSeconds).toBeGreaterThanOrEqual(3 * 3600 - 5);
    expect(dlq.oldestAgeSeconds).toBeLessThan(3 * 3600 + 60);
    // Peeked messages are made visible again at once.
    expect(
      sqs.commandCalls(ChangeMessageVisibilityBatchCommand)[0]!.args[0].input.Entries!.map((e) => [e.ReceiptHandle, e.VisibilityTimeout]),
    ).toEqual([
      ['h1', 0],
      ['h2', 0],
    ]);
    // tail's temporary rules are not part of the stack.
    expect(eb.commandCalls(ListTargetsByRuleCommand).map((c) => c.args[0].input.Rule)).toEqual(['LoanEvents-underwriting']);
  });

  test('show prints the error attributes EventBridge attached', async () => {
    deployedStack({ 'LoanEvents-underwriting-delivery-dlq': 1 });
    const event = { id: 'e-1', 'detail-type': 'LoanApplicationSubmitted', source: 'com.example.loans.intake', detail: {} };
    sqs
      .on(ReceiveMessageCommand)
      .resolvesOnce({
        Messages: [
          {
            MessageId: 'm1',
            ReceiptHandle: 'h1',
            Body: JSON.stringify(event),
            Attributes: { SentTimestamp: '1768471200000', ApproximateReceiveCount: '1' },
            MessageAttributes: {
              ERROR_CODE: { DataType: 'String', StringValue: 'SQSKMSAccessDenied' },
              ERROR_MESSAGE: { DataType: 'String', StringValue: 'KMS denied' },
            },
          },
        ],
      })
      .resolves({ Messages: [] });
    const r = await runCli(['dlq', 'show', 'LoanEvents-underwriting-delivery-dlq'], { env: ENV });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('LoanApplicationSubmitted from com.example.loans.intake (event e-1)');
    expect(r.stdout).toContain('ERROR_CODE: SQSKMSAccessDenied');
    expect(r.stdout).toContain('ERROR_MESSAGE: KMS denied');
    expect(r.stdout).toContain('sent 2026-01-15T10:00:00.000Z');
  });

  test('show names the DLQs there are when the name is wrong', async () => {
    deployedStack();
    const r = await runCli(['dlq', 'show', 'nope'], { env: ENV });
    expect(r.stderr).toContain(
      "'nope' is not a dead-letter queue of the stack; choose one of: LoanEvents-BusDlq-X1, LoanEvents-underwriting-delivery-dlq, LoanEvents-underwriting-dlq",
    );
    expect(r.code).toBe(2);
  });

  test('redrive of a consumer DLQ starts a move task back to its source and follows it', async () => {
    // GIVEN
    deployedStack({ 'LoanEvents-underwriting-dlq': 4 });
    sqs.on(StartMessageMoveTaskCommand).resolves({ TaskHandle: 'task-1' });
    sqs
      .on(ListMessageMoveTasksCommand)
      .resolvesOnce({
        Results: [{ TaskHandle: 'task-1', Status: 'RUNNING', ApproximateNumberOfMessagesMoved: 1, ApproximateNumberOfMessagesToMove: 4 }],
      })
      .resolves({
        Results: [{ TaskHandle: 'task-1', Status: 'COMPLETED', ApproximateNumberOfMessagesMoved: 4, ApproximateNumberOfMessagesToMove: 4 }],
      });
    // WHEN
    const r = await runCli(['dlq', 'redrive', 'LoanEvents-underwriting-dlq', '--force', '--poll-ms', '10'], { env: ENV });
    // THEN
    expect(r.code).toBe(0);
    expect(sqs.commandCalls(StartMessageMoveTaskCommand)[0]!.args[0].input).toEqual({ SourceArn: qArn('LoanEvents-underwriting-dlq') });
    expect(r.stdout).toContain('moved 4 message(s) from LoanEvents-underwriting-dlq to LoanEvents-underwriting');
    expect(r.stderr).toContain('1/4');
    expect(r.stderr).toContain('4/4');
  });

  test('a failed move task exits 1 with its reason', async () => {
    deployedStack({ 'LoanEvents-underwriting-dlq': 4 });
    sqs.on(StartMessageMoveTaskCommand).resolves({ TaskHandle: 'task-1' });
    sqs.on(ListMessageMoveTasksCommand).resolves({
      Results: [
        {
          TaskHandle: 'task-1',
          Status: 'FAILED',
          FailureReason: 'AccessDenied',
          ApproximateNumberOfMessagesMoved: 1,
          ApproximateNumberOfMessagesToMove: 4,
        },
      ],
    });
    const r = await runCli(['dlq', 'redrive', 'LoanEvents-underwriting-dlq', '--force', '--poll-ms', '10'], { env: ENV });
    expect(r.stderr).toContain('move task failed: AccessDenied');
    expect(r.code).toBe(1);
  });

  test('redrive of a rule DLQ sends its events to the rule target queue and deletes only what was sent', async () => {
    // GIVEN two events, of which the target queue accepts one
    deployedStack({ 'LoanEvents-underwriting-delivery-dlq': 2 });
    sqs
      .on(ReceiveMessageCommand)
      .resolvesOnce({
        Messages: [
          { MessageId: 'a', ReceiptHandle: 'ha', Body: '{"id":"1"}' },
          { MessageId: 'b', ReceiptHandle: 'hb', Body: '{"id":"2"}' },
        ],
      })
      .resolves({ Messages: [] });
    sqs.on(SendMessageBatchCommand).resolves({
      Successful: [{ Id: '0', MessageId: 'x', MD5OfMessageBody: '' }],
      Failed: [{ Id: '1', Code: 'KMS.AccessDenied', SenderFault: true }],
    });
    sqs.on(DeleteMessageBatchCommand).resolves({ Successful: [{ Id: '0' }] });
    // WHEN
    const r = await runCli(['dlq', 'redrive', 'LoanEvents-underwriting-delivery-dlq', '--force'], { env: ENV });
    // THEN
    const send = sqs.commandCalls(SendMessageBatchCommand)[0]!.args[0].input;
    expect(send.QueueUrl).toBe(qUrl('LoanEvents-underwriting'));
    expect(send.Entries!.map((e) => e.MessageBody)).toEqual(['{"id":"1"}', '{"id":"2"}']);
    expect(sqs.commandCalls(DeleteMessageBatchCommand)[0]!.args[0].input.Entries!.map((e) => e.ReceiptHandle)).toEqual(['ha']);
    expect(r.stdout).toContain('moved 1 message(s)');
    expect(r.stdout).toContain('1 failed');
    expect(r.code).toBe(1);
    expect(sqs.commandCalls(StartMessageMoveTaskCommand)).toHaveLength(0);
  });
});

test('redrive of the bus DLQ puts its events on the bus again and leaves what is not an event', async () => {
  // GIVEN an event the bus could not encrypt, and a message that is not an event
  deployedStack({ 'LoanEvents-BusDlq-X1': 2 });
  const event = {
    id: 'e-1',
    time: '2026-01-15T10:00:00Z',
    'detail-type': 'LoanApplicationSubmitted',
    source: 'com.example.loans.intake',
    resources: [],
    detail: { data: { applicationId: 'app-1' } },
  };
  sqs
    .on(ReceiveMessageCommand)
    .resolvesOnce({
      Messages: [
        { MessageId: 'x', ReceiptHandle: 'hx', Body: 'garbage' },
        { MessageId: 'a', ReceiptHandle: 'ha', Body: JSON.stringify(event) },
      ],
    })
    .resolves({ Messages: [] });
  eb.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'new-1' }] });
  sqs.on(DeleteMessageBatchCommand).resolves({ Successful: [{ Id: '0' }] });
  // WHEN
  const r = await runCli(['dlq', 'redrive', 'LoanEvents-BusDlq-X1', '--force'], { env: ENV });
  // THEN
  expect(r.code).toBe(1);
  expect(r.stdout).toContain('; 1 failed');
  expect(eb.commandCalls(PutEventsCommand)[0]!.args[0].input.Entries).toEqual([
    {
      EventBusName: 'loan-events',
      Source: 'com.example.loans.intake',
      DetailType: 'LoanApplicationSubmitted',
      Detail: JSON.stringify(event.detail),
      Resources: [],
      Time: new Date('2026-01-15T10:00:00Z'),
    },
  ]);
  expect(sqs.commandCalls(DeleteMessageBatchCommand)[0]!.args[0].input.Entries!.map((e) => e.ReceiptHandle)).toEqual(['ha']);
  expect(r.stdout).toContain('moved 1 message(s) from LoanEvents-BusDlq-X1 to bus loan-events');
});

describe('replay (AWS path)', () => {
  function archived(): void {
    eb.on(DescribeEventBusCommand).resolves({ Name: 'loan-events', Arn: BUS_ARN });
    eb.on(ListArchivesCommand).resolves({ Archives: [{ ArchiveName: 'LoanEventsArchive', EventSourceArn: BUS_ARN }] });
    eb.on(DescribeRuleCommand).resolves({
      Name: 'LoanEvents-underwriting',
      Arn: `arn:aws:events:us-east-1:${ACCOUNT}:rule/loan-events/LoanEvents-underwriting`,
    });
    eb.on(StartReplayCommand).resolves({ State: 'STARTING' });
  }

  test('replays a window of the archive to one rule and follows it to the end', async () => {
    // GIVEN
    archived();
    eb.on(DescribeReplayCommand)
      .resolvesOnce({ State: 'RUNNING', EventLastReplayedTime: new Date('2026-01-15T10:30:00Z') })
      .resolves({ State: 'COMPLETED', EventLastReplayedTime: new Date('2026-01-15T11:00:00Z') });
    // and the consumers' log lines for the replay: one processed and one duplicate in underwriting
    const line = (message: string) => ({ message: JSON.stringify({ level: 'INFO', message, replayName: 'r1' }), timestamp: 1 });
    cwLogs.on(DescribeLogGroupsCommand).resolves({
      logGroups: [{ logGroupName: '/aws/lambda/LoanEvents-underwriting' }, { logGroupName: '/aws/lambda/LoanEvents-notifications' }],
    });
    cwLogs.on(FilterLogEventsCommand).resolves({ events: [] });
    cwLogs
      .on(FilterLogEventsCommand, { logGroupName: '/aws/lambda/LoanEvents-underwriting' })
      .resolves({ events: [line(OUTCOME_MESSAGES.processed), line(OUTCOME_MESSAGES.skipped), line('handling')] });
    // WHEN
    const r = await runCli(
      [
        'replay',
        '--from',
        '2026-01-15T10:00:00Z',
        '--to',
        '2026-01-15T11:00:00Z',
        '--rule',
        'LoanEvents-underwriting',
        '--name',
        'r1',
        '--poll-ms',
        '10',
        '--count-wait',
        '5',
      ],
      // The two seconds the counts must stay unchanged pass on a clock that moves when slept on.
      { env: ENV, clock: steppingClock() },
    );
    // THEN
    expect(r.code).toBe(0);
    expect(eb.commandCalls(StartReplayCommand)[0]!.args[0].input).toMatchObject({
      ReplayName: 'r1',
      EventSourceArn: `arn:aws:events:us-east-1:${ACCOUNT}:archive/LoanEventsArchive`,
      EventStartTime: new Date('2026-01-15T10:00:00Z'),
      EventEndTime: new Date('2026-01-15T11:00:00Z'),
      Destination: { Arn: BUS_ARN, FilterArns: [`arn:aws:events:us-east-1:${ACCOUNT}:rule/loan-events/LoanEvents-underwriting`] },
    });
    expect(r.stderr).toContain('50%');
    expect(r.stdout).toContain('replay r1: COMPLETED');
    expect(cwLogs.commandCalls(FilterLogEventsCommand)[0]!.args[0].input.filterPattern).toBe('{ $.replayName = "r1" }');
    expect(r.stdout).toMatch(/LoanEvents-underwriting\s+1\s+1\s+0/);
    expect(r.stdout).not.toContain('LoanEvents-notifications');
  }, 30_000);

  test('a failed replay exits 1 with its reason', async () => {
    archived();
    eb.on(DescribeReplayCommand).resolves({ State: 'FAILED', StateReason: 'KMS key disabled' });
    const r = await runCli(['replay', '--from', '2026-01-15T10:00:00Z', '--to', '2026-01-15T11:00:00Z', '--poll-ms', '10'], { env: ENV });
    expect(r.stderr).toContain('KMS key disabled');
    expect(r.code).toBe(1);
    expect(eb.commandCalls(StartReplayCommand)[0]!.args[0].input.Destination).toEqual({ Arn: BUS_ARN });
  });

  test.each([
    [['--from', '2026-01-15T11:00:00Z', '--to', '2026-01-15T10:00:00Z'], 'must be before --to'],
    [['--from', 'yesterday'], "--from: 'yesterday' is not a time"],
    [['--from', '-1h', '--name', 'bad name'], "--name 'bad name' must be 1 to 64"],
  ])('rejects %j as a usage error', async (args, message) => {
    const r = await runCli(['replay', ...args], { env: ENV });
    expect(r.stderr).toContain(message);
    expect(r.code).toBe(2);
    expect(eb.commandCalls(StartReplayCommand)).toHaveLength(0);
  });
});

describe('tail (AWS path)', () => {
  function tailable(): void {
    eb.on(DescribeEventBusCommand).resolves({ Name: 'loan-events', Arn: BUS_ARN });
    sqs.on(CreateQueueCommand).callsFake((input: { QueueName: string }) => ({ QueueUrl: qUrl(input.QueueName) }));
    sqs
      .on(GetQueueAttributesCommand)
      .callsFake((input: { QueueUrl: string }) => ({ Attributes: { QueueArn: qArn(nameOfUrl(input.QueueUrl)) } }));
    eb.on(PutRuleCommand).callsFake((input: { Name: string }) => ({
      RuleArn: `arn:aws:events:us-east-1:${ACCOUNT}:rule/loan-events/${input.Name}`,
    }));
    eb.on(PutTargetsCommand).resolves({ FailedEntryCount: 0 });
    sqs.on(SetQueueAttributesCommand).resolves({});
    sqs.on(DeleteMessageBatchCommand).resolves({});
  }
  const busEvent = (id: string) =>
    JSON.stringify({
      id: id,
      time: '2026-01-15T10:00:00Z',
      'detail-type': 'LoanApplicationSubmitted',
      source: 'com.example.loans.intake',
      detail: { metadata: { correlationId: 'c-1' } },
    });

  test('creates a rule with the pattern and an encrypted queue, prints events, and removes both', async () => {
    // GIVEN
    tailable();
    sqs.on(ReceiveMessageCommand).resolvesOnce({
      Messages: [
        { MessageId: '1', ReceiptHandle: 'h1', Body: busEvent('e-1') },
        { MessageId: '2', ReceiptHandle: 'h2', Body: busEvent('e-2') },
      ],
    });
    const pattern = { 'detail-type': ['LoanApplicationSubmitted'] };
    // WHEN
    const r = await runCli(['--json', 'tail', '-p', JSON.stringify(pattern), '--count', '2'], { env: ENV });
    // THEN
    expect(r.code).toBe(0);
    expect(
      r.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).id),
    ).toEqual(['e-1', 'e-2']);
    const queue = sqs.commandCalls(CreateQueueCommand)[0]!.args[0].input;
    expect(queue.QueueName).toMatch(new RegExp(`^${TAIL_PREFIX}[0-9a-f]{8}$`));
    expect(queue.Attributes?.SqsManagedSseEnabled).toBe('true');
    const rule = eb.commandCalls(PutRuleCommand)[0]!.args[0].input;
    expect(JSON.parse(rule.EventPattern!)).toEqual(pattern);
    expect(rule.EventBusName).toBe('loan-events');
    const policy = JSON.parse(sqs.commandCalls(SetQueueAttributesCommand)[0]!.args[0].input.Attributes!.Policy!);
    expect(policy.Statement[0].Condition.ArnEquals['aws:SourceArn']).toBe(
      `arn:aws:events:us-east-1:${ACCOUNT}:rule/loan-events/${rule.Name}`,
    );
    expect(eb.commandCalls(PutTargetsCommand)[0]!.args[0].input.Targets![0]?.Arn).toBe(qArn(queue.QueueName!));
    expect(eb.commandCalls(RemoveTargetsCommand)[0]!.args[0].input).toEqual({
      Rule: rule.Name,
      EventBusName: 'loan-events',
      Ids: ['tail'],
    });
    expect(eb.commandCalls(DeleteRuleCommand)[0]!.args[0].input).toEqual({ Name: rule.Name, EventBusName: 'loan-events' });
    expect(sqs.commandCalls(DeleteQueueCommand)[0]!.args[0].input).toEqual({ QueueUrl: qUrl(queue.QueueName!) });
  });

  test('Ctrl-C while waiting for events still removes the rule and the queue', async () => {
    // GIVEN a long poll that only ends when Ctrl-C aborts it
    tailable();
    let interrupt: (() => void) | undefined;
    sqs.on(ReceiveMessageCommand).callsFake(
      () =>
        new Promise((_, reject) => {
          setTimeout(() => interrupt?.(), 10);
          setTimeout(() => reject(Object.assign(new Error('aborted'), { name: 'AbortError' })), 20);
        }),
    );
    // WHEN
    const r = await runCli(['tail'], { env: ENV, onInterrupt: (h) => (interrupt = h) });
    // THEN
    expect(r.code).toBe(0);
    expect(JSON.parse(eb.commandCalls(PutRuleCommand)[0]!.args[0].input.EventPattern!)).toEqual({ source: [{ prefix: '' }] });
    expect(eb.commandCalls(DeleteRuleCommand)).toHaveLength(1);
    expect(sqs.commandCalls(DeleteQueueCommand)).toHaveLength(1);
    expect(r.stderr).toContain(`removed rule ${TAIL_PREFIX}`);
  });

  test('a failure while setting up removes what was created and exits 1', async () => {
    tailable();
    eb.on(PutTargetsCommand).rejects(
      Object.assign(new Error('User is not authorized to perform: events:PutTargets'), { name: 'AccessDeniedException' }),
    );
    const r = await runCli(['tail'], { env: ENV });
    expect(r.stderr).toContain('not authorized to perform: events:PutTargets');
    expect(r.code).toBe(1);
    expect(eb.commandCalls(DeleteRuleCommand)).toHaveLength(1);
    expect(sqs.commandCalls(DeleteQueueCommand)).toHaveLength(1);
  });

  test('an invalid pattern is rejected before anything is created', async () => {
    tailable();
    const r = await runCli(['tail', '-p', '{"source":"x"}'], { env: ENV });
    expect(r.stderr).toContain('--pattern: Event pattern is not valid. Reason:');
    expect(r.code).toBe(2);
    expect(sqs.commandCalls(CreateQueueCommand)).toHaveLength(0);
  });

  test('finds the bus in the synthesized app of the working directory when none is named', async () => {
    // GIVEN an assembly whose router stack names its bus, and no bus in the options or environment
    const cwd = mkdtempSync(join(tmpdir(), 'cli-assembly-'));
    try {
      mkdirSync(join(cwd, 'cdk.out'));
      const router = { Resources: { Bus: { Type: 'AWS::Events::EventBus', Properties: { Name: 'from-assembly' } } } };
      writeFileSync(join(cwd, 'cdk.out', 'Router.template.json'), JSON.stringify(router));
      eb.on(ListRulesCommand).resolves({ Rules: [] });
      sqs.on(ListQueuesCommand).resolves({ QueueUrls: [] });
      const { [BUS_ENV]: _bus, [STACK_ENV]: _stack, ...noNames } = ENV;
      // WHEN
      const r = await runCli(['tail', '--cleanup'], { env: noNames, cwd });
      // THEN
      expect(r.code).toBe(0);
      expect(eb.commandCalls(ListRulesCommand)[0]?.args[0].input.EventBusName).toBe('from-assembly');
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });

  test('without a bus anywhere, exits 2 and says how to name one', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'cli-empty-'));
    try {
      const { [BUS_ENV]: _bus, [STACK_ENV]: _stack, ...noNames } = ENV;
      const r = await runCli(['tail', '--cleanup'], { env: noNames, cwd });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`run 'npx cdk synth' first, or pass --template <file>, or name them with --stack and --bus`);
      expect(eb.commandCalls(ListRulesCommand)).toHaveLength(0);
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });

  test('--cleanup removes temporary rules and queues left behind, also under the earlier prefix', async () => {
    // GIVEN one leftover rule and queue under the current prefix and one under the earlier one
    const [legacy] = LEGACY_TAIL_PREFIXES;
    eb.on(ListRulesCommand).resolves({ Rules: [] });
    eb.on(ListRulesCommand, { NamePrefix: TAIL_PREFIX }).resolves({ Rules: [{ Name: `${TAIL_PREFIX}dead0001` }] });
    eb.on(ListRulesCommand, { NamePrefix: legacy }).resolves({ Rules: [{ Name: `${legacy}dead0002` }] });
    sqs.on(ListQueuesCommand).resolves({ QueueUrls: [] });
    sqs.on(ListQueuesCommand, { QueueNamePrefix: TAIL_PREFIX }).resolves({ QueueUrls: [qUrl(`${TAIL_PREFIX}dead0001`)] });
    sqs.on(ListQueuesCommand, { QueueNamePrefix: legacy }).resolves({ QueueUrls: [qUrl(`${legacy}dead0002`)] });
    // WHEN
    const r = await runCli(['tail', '--cleanup'], { env: ENV });
    // THEN
    expect(r.code).toBe(0);
    expect(eb.commandCalls(ListRulesCommand).map((c) => c.args[0].input)).toEqual([
      { EventBusName: BUS, NamePrefix: TAIL_PREFIX },
      { EventBusName: BUS, NamePrefix: legacy },
    ]);
    expect(eb.commandCalls(DeleteRuleCommand).map((c) => c.args[0].input.Name)).toEqual([`${TAIL_PREFIX}dead0001`, `${legacy}dead0002`]);
    expect(sqs.commandCalls(DeleteQueueCommand).map((c) => c.args[0].input.QueueUrl)).toEqual([
      qUrl(`${TAIL_PREFIX}dead0001`),
      qUrl(`${legacy}dead0002`),
    ]);
  });
});
