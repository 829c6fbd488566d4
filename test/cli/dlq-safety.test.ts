/**
 * `dlq redrive` refuses messages that would fail the same way again, `dlq show` says why each
 * message failed, and `dlq list` survives a missing queue: against aws-sdk-client-mock, with the
 * project's catalog as the CLI loads it.
 */
import { DescribeEventBusCommand, EventBridgeClient, ListRulesCommand, ListTargetsByRuleCommand } from '@aws-sdk/client-eventbridge';
import {
  ChangeMessageVisibilityBatchCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ListMessageMoveTasksCommand,
  ListQueuesCommand,
  QueueDoesNotExist,
  ReceiveMessageCommand,
  SQSClient,
  StartMessageMoveTaskCommand,
  type Message,
} from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { app } from '../../catalog';
import { BUS_ENV, STACK_ENV } from '../../cli/app-names';
import { consumerOfResource, wouldFailAgain } from '../../cli/dlq-check';
import { submittedData } from '../sdk/factories';
import { json, runCli } from './helpers';

const eb = mockClient(EventBridgeClient);
const sqs = mockClient(SQSClient);
const ENV = {
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
  AWS_SECRET_ACCESS_KEY: 'secret',
  [BUS_ENV]: 'bus',
  [STACK_ENV]: 'App',
};
const ACCOUNT = '111122223333';
const qArn = (name: string) => `arn:aws:sqs:us-east-1:${ACCOUNT}:${name}`;
const qUrl = (name: string) => `https://sqs.us-east-1.amazonaws.com/${ACCOUNT}/${name}`;
const nameOfUrl = (url?: string) => (url ?? '').split('/').pop() ?? '';

const catalog = app.catalog;
// The consumer under test and an event type it does not subscribe to, taken from the catalog.
const consumer = catalog.consumers.find((c) => c.subscriptions.length > 0 && c.subscriptions.length < catalog.events.length)!;
const subscribed = consumer.subscriptions[0]!.event;
const notSubscribed = catalog.events.find((e) => !consumer.subscriptions.some((s) => s.event === e))!;
const prefix = `App-${consumer.name}`;
const DLQ = `${prefix}-dlq`;

/** One consumer's rule, buffer queue and DLQ; `missing` queues answer QueueDoesNotExist. */
function deployed(missing: string[] = []): void {
  eb.on(DescribeEventBusCommand).resolves({ Name: 'bus', Arn: `arn:aws:events:us-east-1:${ACCOUNT}:event-bus/bus` });
  eb.on(ListRulesCommand).resolves({ Rules: [{ Name: prefix, EventBusName: 'bus' }] });
  eb.on(ListTargetsByRuleCommand).resolves({
    Targets: [{ Id: 'T', Arn: qArn(prefix), DeadLetterConfig: { Arn: qArn(`${prefix}-delivery-dlq`) } }],
  });
  sqs.on(GetQueueUrlCommand).callsFake((input: { QueueName: string }) => {
    if (missing.includes(input.QueueName)) throw new QueueDoesNotExist({ message: 'The specified queue does not exist.', $metadata: {} });
    return { QueueUrl: qUrl(input.QueueName) };
  });
  sqs.on(ListQueuesCommand).resolves({ QueueUrls: [] });
  sqs.on(GetQueueAttributesCommand).callsFake((input: { QueueUrl: string }) => {
    const name = nameOfUrl(input.QueueUrl);
    return {
      Attributes: {
        QueueArn: qArn(name),
        ...(name === prefix ? { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: qArn(DLQ), maxReceiveCount: 5 }) } : {}),
        ApproximateNumberOfMessages: name === DLQ ? '2' : '0',
        ApproximateNumberOfMessagesNotVisible: '0',
      },
    };
  });
  sqs.on(ChangeMessageVisibilityBatchCommand).resolves({});
  sqs.on(StartMessageMoveTaskCommand).resolves({ TaskHandle: 'task-1' });
  sqs.on(ListMessageMoveTasksCommand).resolves({
    Results: [{ TaskHandle: 'task-1', Status: 'COMPLETED', ApproximateNumberOfMessagesMoved: 2, ApproximateNumberOfMessagesToMove: 2 }],
  });
}

const envelope = (id: string, event: { source: string; detailType: string }, detail: unknown) => ({
  version: '0',
  id,
  source: event.source,
  'detail-type': event.detailType,
  account: ACCOUNT,
  time: '2026-01-15T10:00:00Z',
  region: 'us-east-1',
  resources: [],
  detail,
});
const message = (id: string, body: unknown): Message => ({
  MessageId: `m-${id}`,
  ReceiptHandle: `h-${id}`,
  Body: JSON.stringify(body),
  Attributes: { SentTimestamp: '1768471200000', ApproximateReceiveCount: '5', DeadLetterQueueSourceArn: qArn(prefix) },
});
const inDlq = (...messages: Message[]) =>
  sqs
    .on(ReceiveMessageCommand, { QueueUrl: qUrl(DLQ) })
    .resolvesOnce({ Messages: messages })
    .resolves({ Messages: [] });

/** A detail that passes the schema of `subscribed` (the loan catalog's submitted event). */
const validDetail = { metadata: { correlationId: 'c-1', schemaVersion: '1' }, data: submittedData({ applicationId: 'app-ok' }) };

beforeEach(() => {
  eb.reset();
  sqs.reset();
});

describe('wouldFailAgain', () => {
  test('passes an event the consumer subscribes to whose detail fits the schema', () => {
    expect(consumerOfResource(catalog, prefix)).toBe(consumer);
    expect(subscribed.detail.safeParse(validDetail).success).toBe(true);
    expect(wouldFailAgain(catalog, consumer, envelope('e', subscribed, validDetail))).toBeUndefined();
  });

  test('names the field and the schema when the detail is invalid', () => {
    const bad = { ...validDetail, data: { ...validDetail.data, applicationId: 42 } };
    expect(wouldFailAgain(catalog, consumer, envelope('e', subscribed, bad))).toBe(
      `detail.data.applicationId: ${(subscribed.detail.safeParse(bad).error?.issues[0]?.message ?? '') as string} (schema of ${subscribed.detailType})`,
    );
  });

  test('refuses an event type the consumer does not subscribe to, one not in the catalog, and a body that is no event', () => {
    expect(wouldFailAgain(catalog, consumer, envelope('e', notSubscribed, {}))).toBe(
      `consumer '${consumer.name}' does not subscribe to ${notSubscribed.source} / ${notSubscribed.detailType}`,
    );
    expect(wouldFailAgain(catalog, consumer, envelope('e', { source: 'x.y', detailType: 'Nope' }, {}))).toBe(
      'event type x.y / Nope is not in the catalog',
    );
    expect(wouldFailAgain(catalog, consumer, 'plain text')).toBe('the body is not an EventBridge event (no source and detail-type)');
  });
});

describe('dlq redrive checks before it moves', () => {
  test('refuses when a message would fail the same way, lists it, and moves nothing', async () => {
    // GIVEN one valid message and one with an invalid detail
    deployed();
    inDlq(message('ok', envelope('e-ok', subscribed, validDetail)), message('bad', envelope('e-bad', subscribed, { metadata: {} })));
    // WHEN
    const r = await runCli(['dlq', 'redrive', DLQ, '--poll-ms', '10'], { env: ENV });
    // THEN
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('m-bad (event e-bad): detail.');
    expect(r.stdout).not.toContain('m-ok');
    expect(r.stderr).toContain(`1 message(s) in ${DLQ} would fail the same way again in consumer '${consumer.name}'; nothing was moved`);
    expect(sqs.commandCalls(StartMessageMoveTaskCommand)).toHaveLength(0);
  });

  test('refuses an event type the consumer does not subscribe to, in --json too', async () => {
    deployed();
    inDlq(message('other', envelope('e-other', notSubscribed, {})));
    const r = await runCli(['--json', 'dlq', 'redrive', DLQ, '--poll-ms', '10'], { env: ENV });
    expect(r.code).toBe(1);
    expect(json<{ wouldFailAgain: unknown[] }>(r).wouldFailAgain).toEqual([
      {
        messageId: 'm-other',
        eventId: 'e-other',
        reason: `consumer '${consumer.name}' does not subscribe to ${notSubscribed.source} / ${notSubscribed.detailType}`,
      },
    ]);
    expect(sqs.commandCalls(StartMessageMoveTaskCommand)).toHaveLength(0);
  });

  test('moves valid messages, and with --force moves the others too', async () => {
    deployed();
    inDlq(message('ok', envelope('e-ok', subscribed, validDetail)));
    expect((await runCli(['dlq', 'redrive', DLQ, '--poll-ms', '10'], { env: ENV })).code).toBe(0);
    expect(sqs.commandCalls(StartMessageMoveTaskCommand)).toHaveLength(1);

    sqs.reset();
    eb.reset();
    deployed();
    inDlq(message('other', envelope('e-other', notSubscribed, {})));
    const forced = await runCli(['dlq', 'redrive', DLQ, '--force', '--poll-ms', '10'], { env: ENV });
    expect(forced.code).toBe(0);
    expect(sqs.commandCalls(StartMessageMoveTaskCommand)).toHaveLength(1);
    // --force does not even read the queue first
    expect(sqs.commandCalls(ReceiveMessageCommand)).toHaveLength(0);
  });
});

describe('dlq show and list', () => {
  test('show says where each message failed, its receive count, the redrive check and its body', async () => {
    deployed();
    inDlq(message('other', envelope('e-other', notSubscribed, { marker: 'body-shown' })));
    const r = await runCli(['dlq', 'show', DLQ], { env: ENV });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`${DLQ}: the consumer of queue ${prefix} failed it on every receive (consumer ${consumer.name})`);
    expect(r.stdout).toContain('receives 5');
    expect(r.stdout).toContain(`would fail again: consumer '${consumer.name}' does not subscribe to`);
    expect(r.stdout).toContain('"marker": "body-shown"');
  });

  test('list shows the other queues when one is missing, and names the missing one', async () => {
    deployed([`${prefix}-delivery-dlq`]);
    const r = await runCli(['--json', 'dlq', 'list', '--sample', '0'], { env: ENV });
    expect(r.code).toBe(1);
    const rows = json<{ deadLetterQueues: Array<{ name: string; depth: number; error?: string }> }>(r).deadLetterQueues;
    expect(rows.map((x) => [x.name, x.depth, x.error])).toEqual([
      [`${prefix}-delivery-dlq`, 0, `queue ${prefix}-delivery-dlq does not exist (${qArn(`${prefix}-delivery-dlq`)})`],
      [DLQ, 2, undefined],
    ]);
    expect(r.stderr).toContain(`${prefix}-delivery-dlq: queue ${prefix}-delivery-dlq does not exist`);
  });

  test('show of a missing queue says which queue is missing', async () => {
    deployed([DLQ]);
    const r = await runCli(['dlq', 'show', DLQ], { env: ENV });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`dead-letter queue ${DLQ}: queue ${DLQ} does not exist`);
  });
});
