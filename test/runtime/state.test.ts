/**
 * --state-dir: what a restart keeps (queues, messages in each state, receive counts, FIFO
 * deduplication, rules and targets made at run time, archives, DynamoDB items), and what a
 * damaged or crafted state file does (a clear error or a recovered prefix, said in the log).
 * Two runtimes on virtual clocks, the second started later in time on the same directory.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  CreateArchiveCommand,
  CreateEventBusCommand,
  DescribeArchiveCommand,
  PutEventsCommand,
  PutRuleCommand,
  PutTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import {
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import { CreateTableCommand, GetItemCommand, ListTablesCommand, PutItemCommand, waitUntilTableExists } from '@aws-sdk/client-dynamodb';
import { ACCOUNT, EMPTY_APP, Harness, REGION, startHarness } from './helpers';
import { VirtualClock } from '../../runtime/clock';
import { startLocalRuntime } from '../../runtime';
import { DYNAMODB_DIR, JOURNAL_FILE, SNAPSHOT_FILE } from '../../runtime/state';
import { StateInUseError } from '../../runtime/dynamodb-store';

const T0 = Date.UTC(2026, 0, 1);
let dir: string;
let open: Harness[] = [];

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'state-'));
});
afterEach(async () => {
  await Promise.all(open.map((h) => h.close()));
  open = [];
  fs.rmSync(dir, { recursive: true, force: true });
});

async function start(at: number, options: { syncIntervalMs?: number } = {}): Promise<{ h: Harness; clock: VirtualClock }> {
  const clock = new VirtualClock(at);
  const h = await startHarness(EMPTY_APP, { clock, stateDir: dir, stateOptions: options });
  open.push(h);
  return { h, clock };
}

async function stop(h: Harness): Promise<void> {
  open = open.filter((x) => x !== h);
  await h.close();
}

async function counts(h: Harness, url: string) {
  const r = await h.sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['All'] }));
  return {
    ready: Number(r.Attributes?.ApproximateNumberOfMessages),
    inflight: Number(r.Attributes?.ApproximateNumberOfMessagesNotVisible),
    delayed: Number(r.Attributes?.ApproximateNumberOfMessagesDelayed),
    visibility: r.Attributes?.VisibilityTimeout,
  };
}

describe('a restart with --state-dir', () => {
  test('keeps a queue made at run time with its ready, in-flight and delayed messages, receive counts and receipt handles', async () => {
    // GIVEN a queue with one message of each state
    const first = await start(T0);
    const { QueueUrl: url } = await first.h.sqs.send(
      new CreateQueueCommand({ QueueName: 'work', Attributes: { VisibilityTimeout: '60' } }),
    );
    for (const body of ['a', 'b']) await first.h.sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: body }));
    await first.h.sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'later', DelaySeconds: 120 }));
    const got = await first.h.sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 1 }));
    const held = got.Messages?.[0];
    expect(held?.Body).toBe('a');
    // WHEN the runtime stops and starts again 10 s later
    await stop(first.h);
    const second = await start(T0 + 10_000);
    // THEN every message is in the state it had, with its deadline
    expect(await counts(second.h, url!)).toEqual({ ready: 1, inflight: 1, delayed: 1, visibility: '60' });
    expect(second.h.lines[0]).toMatch(/state in .*: 3 messages in 1 queues restored/);
    second.clock.advance(50_000);
    expect((await counts(second.h, url!)).ready).toBe(2);
    // AND the handle of the receive before the restart still deletes its message
    await second.h.sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: held?.ReceiptHandle }));
    second.clock.advance(60_000);
    const rest = await second.h.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, MessageSystemAttributeNames: ['ApproximateReceiveCount'] }),
    );
    expect(rest.Messages?.map((m) => [m.Body, m.Attributes?.ApproximateReceiveCount]).sort()).toEqual([
      ['b', '1'],
      ['later', '1'],
    ]);
  });

  test('keeps what the journal holds when the process dies without closing (no snapshot written)', async () => {
    // GIVEN a runtime that journals, and a copy of its directory taken while it runs (as a SIGKILL leaves it)
    const first = await start(T0);
    const { QueueUrl: url } = await first.h.sqs.send(
      new CreateQueueCommand({ QueueName: 'orders.fifo', Attributes: { FifoQueue: 'true' } }),
    );
    const sent = await first.h.sqs.send(
      new SendMessageCommand({ QueueUrl: url, MessageBody: 'one', MessageGroupId: 'g', MessageDeduplicationId: 'd-1' }),
    );
    const got = await first.h.sqs.send(new ReceiveMessageCommand({ QueueUrl: url }));
    await first.h.sqs.send(
      new ChangeMessageVisibilityCommand({ QueueUrl: url, ReceiptHandle: got.Messages?.[0]?.ReceiptHandle, VisibilityTimeout: 300 }),
    );
    const crashed = fs.mkdtempSync(path.join(os.tmpdir(), 'state-crashed-'));
    // A crash leaves the files as they are at this instant. The copy is one too: the DynamoDB store
    // is open before the runtime is ready, and idle after (no table was written).
    fs.cpSync(dir, crashed, { recursive: true });
    await stop(first.h);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.renameSync(crashed, dir);
    // WHEN a runtime starts on the copy 100 s later
    const second = await start(T0 + 100_000);
    // THEN the message is still in flight until its changed deadline, and its deduplication id still holds
    expect(await counts(second.h, url!)).toMatchObject({ ready: 0, inflight: 1 });
    const again = await second.h.sqs.send(
      new SendMessageCommand({ QueueUrl: url, MessageBody: 'one', MessageGroupId: 'g', MessageDeduplicationId: 'd-1' }),
    );
    expect(again.MessageId).toBe(sent.MessageId);
    second.clock.advance(200_000);
    expect(await counts(second.h, url!)).toMatchObject({ ready: 1, inflight: 0 });
  });

  test('is refused while another runtime uses the directory; the first keeps serving, and a start after it stops succeeds', async () => {
    // GIVEN a runtime on the directory
    const first = await start(T0);
    const { QueueUrl: url } = await first.h.sqs.send(new CreateQueueCommand({ QueueName: 'work' }));
    // WHEN a second runtime starts on the same directory
    const second = startLocalRuntime({ assemblyDir: EMPTY_APP, port: 0, log: () => {}, stateDir: dir });
    // THEN it does not start, and says why and what to do
    await expect(second).rejects.toThrow(StateInUseError);
    await expect(second).rejects.toThrow(
      `--state-dir is in use by another local runtime (the DynamoDB store ${path.join(dir, DYNAMODB_DIR)} is locked)`,
    );
    // AND the first still journals messages and serves DynamoDB
    await first.h.sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'kept' }));
    expect((await first.h.dynamodb.send(new ListTablesCommand({}))).TableNames).toEqual([]);
    await stop(first.h);
    // AND once it has stopped, a runtime starts there with its message
    const third = await start(T0 + 1000);
    expect((await counts(third.h, url!)).ready).toBe(1);
  });

  test('keeps a rule and its target made at run time, and DynamoDB items', async () => {
    // GIVEN a rule on the default bus sending to a queue, and a table with one item
    const first = await start(T0);
    const { QueueUrl: url } = await first.h.sqs.send(new CreateQueueCommand({ QueueName: 'audit' }));
    await first.h.events.send(new PutRuleCommand({ Name: 'all-loans', EventPattern: JSON.stringify({ source: ['loans'] }) }));
    await first.h.events.send(
      new PutTargetsCommand({ Rule: 'all-loans', Targets: [{ Id: 'q', Arn: `arn:aws:sqs:${REGION}:${ACCOUNT}:audit` }] }),
    );
    await first.h.dynamodb.send(
      new CreateTableCommand({
        TableName: 'seen',
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    // As on AWS, a new table is CREATING for a moment; on disk dynalite takes a few milliseconds.
    await waitUntilTableExists({ client: first.h.dynamodb, maxWaitTime: 30, minDelay: 1, maxDelay: 1 }, { TableName: 'seen' });
    await first.h.dynamodb.send(new PutItemCommand({ TableName: 'seen', Item: { id: { S: 'loan-1' } } }));
    await stop(first.h);
    // WHEN it starts again and an event is put
    const second = await start(T0 + 1000);
    const put = await second.h.events.send(new PutEventsCommand({ Entries: [{ Source: 'loans', DetailType: 'x', Detail: '{}' }] }));
    // THEN the restored rule delivers it, and the item is there
    expect(put.FailedEntryCount).toBe(0);
    const got = await second.h.sqs.send(new ReceiveMessageCommand({ QueueUrl: url }));
    expect(JSON.parse(got.Messages?.[0]?.Body ?? '{}').id).toBe(put.Entries?.[0]?.EventId);
    const item = await second.h.dynamodb.send(new GetItemCommand({ TableName: 'seen', Key: { id: { S: 'loan-1' } } }));
    expect(item.Item).toEqual({ id: { S: 'loan-1' } });
  });
});

test('keeps a bus and an archive made at run time, with the archived events', async () => {
  // GIVEN a scratch bus with an archive, and two events archived
  const first = await start(T0);
  const bus = await first.h.events.send(new CreateEventBusCommand({ Name: 'scratch' }));
  await first.h.events.send(new CreateArchiveCommand({ ArchiveName: 'scratch-all', EventSourceArn: bus.EventBusArn }));
  const put = await first.h.events.send(
    new PutEventsCommand({ Entries: ['a', 'b'].map((n) => ({ EventBusName: 'scratch', Source: 'loans', DetailType: n, Detail: '{}' })) }),
  );
  expect(put.FailedEntryCount).toBe(0);
  await stop(first.h);
  // WHEN it starts again
  const second = await start(T0 + 1000);
  // THEN the archive is there with its events, and the bus takes events
  const a = await second.h.events.send(new DescribeArchiveCommand({ ArchiveName: 'scratch-all' }));
  expect([a.EventSourceArn, a.EventCount]).toEqual([bus.EventBusArn, 2]);
  const again = await second.h.events.send(
    new PutEventsCommand({ Entries: [{ EventBusName: 'scratch', Source: 'loans', DetailType: 'c', Detail: '{}' }] }),
  );
  expect(again.FailedEntryCount).toBe(0);
});

describe('damaged and crafted state files', () => {
  async function journalOf(): Promise<string[]> {
    const first = await start(T0);
    const { QueueUrl: url } = await first.h.sqs.send(new CreateQueueCommand({ QueueName: 'work' }));
    for (const body of ['a', 'b', 'c']) await first.h.sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: body }));
    const lines = fs.readFileSync(path.join(dir, JOURNAL_FILE), 'utf8').split('\n').filter(Boolean);
    // Keep the journal as a crash would: stop without the final snapshot taking it over.
    const saved = fs.readFileSync(path.join(dir, SNAPSHOT_FILE));
    await stop(first.h);
    fs.writeFileSync(path.join(dir, SNAPSHOT_FILE), saved);
    return lines;
  }

  test('a journal cut short is read up to the damage, and the log says what was dropped', async () => {
    // GIVEN a journal whose last record is cut in the middle
    const lines = await journalOf();
    const sends = lines.filter((l) => JSON.parse(l).t === 'put').length;
    expect(sends).toBe(3);
    const text = lines.join('\n') + '\n';
    fs.writeFileSync(path.join(dir, JOURNAL_FILE), text.slice(0, text.length - 20));
    // WHEN the runtime starts on it
    const second = await start(T0 + 1000);
    // THEN the two whole sends are back and a warning names the damaged record
    expect((await counts(second.h, `${second.h.endpoint}/${ACCOUNT}/work`)).ready).toBe(2);
    expect(second.h.lines.join('\n')).toMatch(
      new RegExp(`journal record ${lines.length} is damaged \\(the last record is cut short\\); kept the ${lines.length - 1} records`),
    );
  });

  test('garbage in the middle of the journal keeps the prefix before it', async () => {
    const lines = await journalOf();
    const at = lines.findIndex((l) => JSON.parse(l).t === 'put') + 1;
    const damaged = [...lines.slice(0, at), '\u0000\u00ff garbage {', ...lines.slice(at)];
    fs.writeFileSync(path.join(dir, JOURNAL_FILE), damaged.join('\n') + '\n');
    const second = await start(T0 + 1000);
    expect((await counts(second.h, `${second.h.endpoint}/${ACCOUNT}/work`)).ready).toBe(1);
    expect(second.h.lines.join('\n')).toMatch(`journal record ${at + 1} is damaged`);
  });

  test('a snapshot that is not one is refused with an error naming the file, and the runtime does not start', async () => {
    fs.writeFileSync(path.join(dir, SNAPSHOT_FILE), '{"format":"loan-events-state","version":1,"queues":[{"name":1}]}');
    await expect(startLocalRuntime({ assemblyDir: EMPTY_APP, port: 0, log: () => {}, stateDir: dir })).rejects.toThrow(
      `State snapshot ${path.join(dir, SNAPSHOT_FILE)} cannot be read (name is not a string of at most 80 characters)`,
    );
    fs.writeFileSync(path.join(dir, SNAPSHOT_FILE), Buffer.from([0x1f, 0x8b, 0, 1, 2, 3]));
    await expect(startLocalRuntime({ assemblyDir: EMPTY_APP, port: 0, log: () => {}, stateDir: dir })).rejects.toThrow(/cannot be read/);
    // AND a start that failed leaves the directory free: with the file moved away, the runtime starts
    fs.rmSync(path.join(dir, SNAPSHOT_FILE));
    await start(T0);
  });

  test('a file larger than the read limit is refused before it is read', async () => {
    fs.writeFileSync(path.join(dir, JOURNAL_FILE), 'x'.repeat(4096));
    await expect(
      startLocalRuntime({ assemblyDir: EMPTY_APP, port: 0, log: () => {}, stateDir: dir, stateOptions: { maxFileBytes: 1024 } }),
    ).rejects.toThrow(`State file ${path.join(dir, JOURNAL_FILE)} is 4096 bytes, more than the 1024 bytes the runtime reads`);
  });

  test('prototype keys in records pollute nothing and are refused as unknown attributes', async () => {
    // GIVEN a journal whose queue record carries __proto__ and constructor keys
    const lines = await journalOf();
    const crafted = lines.map((l) =>
      JSON.parse(l).t === 'q'
        ? l.replace('"attributes":{', '"__proto__":{"polluted":"yes"},"attributes":{"__proto__":{"polluted":"yes"},')
        : l.replace('"attributes":{}', '"attributes":{"constructor":{"DataType":"String","StringValue":"x"}}'),
    );
    fs.writeFileSync(path.join(dir, JOURNAL_FILE), crafted.join('\n') + '\n');
    fs.rmSync(path.join(dir, SNAPSHOT_FILE));
    // WHEN the runtime starts on it
    const second = await start(T0 + 1000);
    // THEN no object gained a property, and the log says which record was refused
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
    expect(second.h.lines.join('\n')).toMatch(/journal record 1 is damaged \(attributes.__proto__ is not a string\)/);
  });
});
