/**
 * Reloading a changed cloud assembly into the running runtime: what a template edit adds,
 * removes and changes, and that everything else keeps its state (messages, in-flight receipts,
 * archived events, DynamoDB items, rules made at run time). Each test starts on a copy of the
 * fixture app and reloads a variant of it written by hand, as `cdk synth` would lay it out.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  DescribeArchiveCommand,
  EventBridgeClient,
  ListRulesCommand,
  ListTargetsByRuleCommand,
  PutEventsCommand,
  PutRuleCommand,
  PutTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import {
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ListQueuesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { ACCOUNT, FIXTURE_APP, HARNESS_CREDENTIALS, REGION, drain, record, waitFor, type Recorder } from './helpers';
import { VirtualClock } from '../../runtime/clock';
import { startLocalRuntime, type LocalRuntime } from '../../runtime';

type Template = { Resources: Record<string, { Type: string; Properties?: Record<string, any>; Metadata?: object }> };

const TEMPLATE = 'Fixture.template.json';
const fixture = (): Template => JSON.parse(fs.readFileSync(path.join(FIXTURE_APP, TEMPLATE), 'utf8'));

const dirs: string[] = [];
let open: Running[] = [];

/** A copy of the fixture app with `edit` applied to its template. */
function variant(edit: (t: Template) => void = () => undefined): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'reload-app-'));
  dirs.push(dir);
  fs.cpSync(FIXTURE_APP, dir, { recursive: true });
  const t = fixture();
  edit(t);
  fs.writeFileSync(path.join(dir, TEMPLATE), JSON.stringify(t));
  return dir;
}

/** One more consumer: a queue, a rule on the bus sending `Audit` events to it, a function polling it. */
function addAuditConsumer(t: Template): void {
  t.Resources.AuditQueue = { Type: 'AWS::SQS::Queue', Properties: { QueueName: 'fixture-audit', VisibilityTimeout: 10 } };
  t.Resources.AuditRule = {
    Type: 'AWS::Events::Rule',
    Properties: {
      Name: 'fixture-audit',
      EventBusName: { Ref: 'Bus' },
      EventPattern: { source: ['fixture'], 'detail-type': ['Audit'] },
      Targets: [{ Id: 'Audit', Arn: { 'Fn::GetAtt': ['AuditQueue', 'Arn'] } }],
    },
  };
  const consumer = t.Resources.Consumer!;
  t.Resources.Auditor = {
    ...consumer,
    Properties: { ...consumer.Properties, FunctionName: 'fixture-auditor' },
  };
  t.Resources.AuditorMapping = {
    Type: 'AWS::Lambda::EventSourceMapping',
    Properties: {
      FunctionName: { Ref: 'Auditor' },
      EventSourceArn: { 'Fn::GetAtt': ['AuditQueue', 'Arn'] },
      BatchSize: 1,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    },
  };
}

interface Running {
  rt: LocalRuntime;
  recorded: Recorder;
  lines: string[];
  events: EventBridgeClient;
  sqs: SQSClient;
  dynamodb: DynamoDBClient;
  url(name: string): string;
  close(): Promise<void>;
}

/**
 * The runtime on `assemblyDir`. `prewarm: false` for tests in which no function runs: a warm
 * environment would only cost its start (a worker thread loading the handler and the SDK).
 */
async function start(assemblyDir: string, options: { stateDir?: string; iam?: 'enforce'; prewarm?: false } = {}): Promise<Running> {
  const lines: string[] = [];
  const rt = await startLocalRuntime({
    assemblyDir,
    port: 0,
    log: (l) => lines.push(l),
    clock: new VirtualClock(Date.UTC(2026, 0, 1)),
    ...options,
  });
  const recorded = record(rt.stream);
  const config = { endpoint: rt.endpoint, region: REGION, credentials: HARNESS_CREDENTIALS, maxAttempts: 1 };
  const r: Running = {
    rt,
    recorded,
    lines,
    events: new EventBridgeClient(config),
    sqs: new SQSClient(config),
    dynamodb: new DynamoDBClient(config),
    url: (name) => `${rt.endpoint}/${ACCOUNT}/${name}`,
    close: async () => {
      open = open.filter((x) => x !== r);
      r.events.destroy();
      r.sqs.destroy();
      r.dynamodb.destroy();
      await rt.close();
      recorded.stop();
    },
  };
  open.push(r);
  return r;
}

afterEach(async () => {
  await Promise.all(open.map((r) => r.close()));
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

const publish = (r: Running, detailType: string, detail: object) =>
  r.events.send(
    new PutEventsCommand({
      Entries: [{ EventBusName: 'fixture-bus', Source: 'fixture', DetailType: detailType, Detail: JSON.stringify(detail) }],
    }),
  );

async function queueCounts(r: Running, name: string) {
  const a = (await r.sqs.send(new GetQueueAttributesCommand({ QueueUrl: r.url(name), AttributeNames: ['All'] }))).Attributes ?? {};
  return { ready: Number(a.ApproximateNumberOfMessages), inflight: Number(a.ApproximateNumberOfMessagesNotVisible), attributes: a };
}

/** Names of the rules that matched since the recorder held `mark` events. */
const matchesSince = (r: Running, mark: number) =>
  r.recorded.all.slice(mark).flatMap((e) => (e.type === 'rule.matched' ? [e.properties.ruleName] : []));

const tableName = (r: Running) => {
  const t = r.lines.find((l) => /^\s+table /.test(l));
  if (!t) throw new Error(`no table in the topology: ${r.lines.join('\n')}`);
  return t.trim().slice('table '.length);
};

/** State that every reload must keep: a message ready and one in flight, an item, an archived event, a rule made at run time. */
async function seed(r: Running) {
  await r.sqs.send(new SendMessageCommand({ QueueUrl: r.url('fixture-work-dlq'), MessageBody: 'ready' }));
  await r.sqs.send(new SendMessageCommand({ QueueUrl: r.url('fixture-work-dlq'), MessageBody: 'in flight' }));
  const received = await r.sqs.send(
    new ReceiveMessageCommand({ QueueUrl: r.url('fixture-work-dlq'), MaxNumberOfMessages: 1, VisibilityTimeout: 600 }),
  );
  const inflight = received.Messages?.[0];
  if (!inflight?.ReceiptHandle) throw new Error('nothing received');
  const table = tableName(r);
  await r.dynamodb.send(new PutItemCommand({ TableName: table, Item: { pk: { S: 'loan-1' }, sk: { S: 'v1' }, amount: { N: '42' } } }));
  await r.events.send(
    new PutRuleCommand({ Name: 'made-at-run-time', EventBusName: 'fixture-bus', EventPattern: JSON.stringify({ source: ['tooling'] }) }),
  );
  await r.events.send(
    new PutTargetsCommand({
      Rule: 'made-at-run-time',
      EventBusName: 'fixture-bus',
      Targets: [{ Id: 'ToDlq', Arn: `arn:aws:sqs:${REGION}:${ACCOUNT}:fixture-work-dlq` }],
    }),
  );
  // The fixture's archive keeps every event of the bus.
  await publish(r, 'Nobody', { id: 'archived-1' });
  const archived = r.recorded.of('archive.stored').length;
  expect(archived).toBe(1);
  return { inflight, table, archived };
}

async function expectKept(r: Running, s: Awaited<ReturnType<typeof seed>>) {
  expect(await queueCounts(r, 'fixture-work-dlq')).toMatchObject({ ready: 1, inflight: 1 });
  // The receipt handle taken before the reload still deletes its message.
  await r.sqs.send(new DeleteMessageCommand({ QueueUrl: r.url('fixture-work-dlq'), ReceiptHandle: s.inflight.ReceiptHandle }));
  expect(await queueCounts(r, 'fixture-work-dlq')).toMatchObject({ ready: 1, inflight: 0 });
  const item = await r.dynamodb.send(new GetItemCommand({ TableName: s.table, Key: { pk: { S: 'loan-1' }, sk: { S: 'v1' } } }));
  expect(item.Item?.amount).toEqual({ N: '42' });
  const targets = await r.events.send(new ListTargetsByRuleCommand({ Rule: 'made-at-run-time', EventBusName: 'fixture-bus' }));
  expect(targets.Targets?.map((x) => x.Id)).toEqual(['ToDlq']);
  // The archive keeps what it had: every event the bus accepted since start.
  const archive = await r.events.send(new DescribeArchiveCommand({ ArchiveName: 'fixture-archive' }));
  expect(archive.EventCount).toBe(r.recorded.of('archive.stored').length);
  expect(archive.EventCount).toBeGreaterThanOrEqual(s.archived);
}

describe('reload', () => {
  test('a consumer added to the template receives the events published after the reload; state is kept', async () => {
    // GIVEN
    const r = await start(variant());
    const s = await seed(r);
    const next = variant(addAuditConsumer);

    // WHEN
    const report = await r.rt.reload(next);

    // THEN
    expect(report.lines).toEqual(
      expect.arrayContaining([
        '+ queue fixture-audit',
        '+ rule fixture-audit',
        '+ function fixture-auditor',
        '+ mapping Fixture-AuditorMapping',
      ]),
    );
    expect(report).toMatchObject({ added: 4, changed: 0, removed: 0 });
    expect(report.summary).toMatch(/^reloaded in \d+ ms: \+1 queue, \+1 rule, \+1 function, \+1 mapping, -0$/);
    expect(r.lines).toContain(report.summary);
    expect(r.recorded.of('runtime.reloaded')).toEqual([expect.objectContaining({ added: 4, changed: 0, removed: 0 })]);
    await publish(r, 'Audit', { id: 'audit-1', kind: 'ok' });
    const [seen] = await drain(r.sqs, r.url('fixture-seen'), 1);
    expect(JSON.parse(seen!.body)).toMatchObject({ id: 'audit-1', functionName: 'fixture-auditor' });
    await expectKept(r, s);
    // The archive kept the event from before the reload and archives the new ones.
    expect(r.recorded.of('archive.evicted')).toEqual([]);
  });

  test('a consumer removed from the template stops matching and its queue is deleted with its messages', async () => {
    // GIVEN
    const r = await start(variant(), { prewarm: false });
    const s = await seed(r);
    await publish(r, 'Transform', { id: 't1', amount: 100 });
    await publish(r, 'Transform', { id: 't2', amount: 200 });
    const queues = await r.sqs.send(new ListQueuesCommand({}));
    const transformed = queues.QueueUrls?.find((u) => u.includes('TransformedQueue'));
    expect(transformed).toBeDefined();
    const name = transformed!.split('/').pop()!;
    await waitFor('two transformed messages', async () => ((await queueCounts(r, name)).ready === 2 ? true : undefined));

    // WHEN
    const report = await r.rt.reload(
      variant((t) => {
        delete t.Resources.TransformRule;
        delete t.Resources.TransformedQueue;
      }),
    );

    // THEN
    expect(report.lines).toContain(`- queue ${name} (deleted with its 2 message(s), as a stack update deletes it)`);
    expect(report.lines.filter((l) => l.startsWith('- rule'))).toHaveLength(1);
    expect(report).toMatchObject({ added: 0, changed: 0, removed: 2 });
    await expect(r.sqs.send(new GetQueueUrlCommand({ QueueName: name }))).rejects.toThrow(/does not exist/);
    const rules = await r.events.send(new ListRulesCommand({ EventBusName: 'fixture-bus' }));
    expect(rules.Rules?.map((x) => x.Name)).not.toContain(expect.stringContaining('TransformRule'));
    const mark = r.recorded.all.length;
    await publish(r, 'Transform', { id: 't3', amount: 300 });
    expect(matchesSince(r, mark)).toEqual([]);
    await expectKept(r, s);
  });

  test('a changed pattern matches the new events and no longer the old ones', async () => {
    // GIVEN
    const r = await start(variant());
    await seed(r);

    // WHEN
    const report = await r.rt.reload(
      variant((t) => {
        t.Resources.DirectRule!.Properties!.EventPattern = { source: ['fixture'], 'detail-type': ['DirectV2'] };
      }),
    );

    // THEN
    expect(report.lines).toEqual(['~ rule fixture-direct (pattern)']);
    const mark = r.recorded.all.length;
    await publish(r, 'Direct', { id: 'old-shape', kind: 'ok' });
    expect(matchesSince(r, mark)).toEqual([]);
    await publish(r, 'DirectV2', { id: 'new-shape', kind: 'ok' });
    expect(matchesSince(r, mark)).toEqual(['fixture-direct']);
    const [seen] = await drain(r.sqs, r.url('fixture-seen'), 1);
    expect(JSON.parse(seen!.body)).toMatchObject({ id: 'new-shape' });
    // The rule made at run time is still there and still matches.
    await publish(r, 'Anything', {});
    expect(r.recorded.of('rule.matched', (m) => m.ruleName === 'made-at-run-time')).toEqual([]);
    await r.events.send(
      new PutEventsCommand({ Entries: [{ EventBusName: 'fixture-bus', Source: 'tooling', DetailType: 'x', Detail: '{}' }] }),
    );
    expect(r.recorded.of('rule.matched', (m) => m.ruleName === 'made-at-run-time')).toHaveLength(1);
  });

  test('a changed queue attribute applies to the queue in place; its messages and receipts stay', async () => {
    // GIVEN
    const r = await start(variant(), { prewarm: false });
    const s = await seed(r);

    // WHEN
    const report = await r.rt.reload(
      variant((t) => {
        t.Resources.WorkDlq!.Properties = { ...t.Resources.WorkDlq!.Properties, VisibilityTimeout: 77, MessageRetentionPeriod: 1209600 };
      }),
    );

    // THEN
    expect(report.lines).toEqual(['~ queue fixture-work-dlq (MessageRetentionPeriod, VisibilityTimeout; messages kept)']);
    const after = await queueCounts(r, 'fixture-work-dlq');
    expect(after.attributes).toMatchObject({ VisibilityTimeout: '77', MessageRetentionPeriod: '1209600' });
    expect(r.recorded.of('queue.attributes-set')).toEqual([
      expect.objectContaining({ queueName: 'fixture-work-dlq', names: ['MessageRetentionPeriod', 'VisibilityTimeout'] }),
    ]);
    await expectKept(r, s);
    // Removed from the template again, the attribute goes back to SQS's default.
    await r.rt.reload(variant());
    expect((await queueCounts(r, 'fixture-work-dlq')).attributes).toMatchObject({
      VisibilityTimeout: '30',
      MessageRetentionPeriod: '345600',
    });
  });

  test("a changed function environment is seen by the function's next invocation", async () => {
    // GIVEN: a warm worker of the old definition
    const r = await start(variant());
    await publish(r, 'Direct', { id: 'before', kind: 'ok' });
    const [before] = await drain(r.sqs, r.url('fixture-seen'), 1);
    expect(JSON.parse(before!.body)).toMatchObject({ id: 'before', custom: 'configured' });

    // WHEN
    const report = await r.rt.reload(
      variant((t) => {
        t.Resources.Consumer!.Properties!.Environment.Variables.CUSTOM_SETTING = 'reconfigured';
      }),
    );

    // THEN
    expect(report.lines).toEqual(['~ function fixture-consumer (environment)']);
    await publish(r, 'Direct', { id: 'after', kind: 'ok' });
    const [after] = await drain(r.sqs, r.url('fixture-seen'), 1);
    // A new execution environment: its module state starts again.
    expect(JSON.parse(after!.body)).toMatchObject({ id: 'after', custom: 'reconfigured', invocations: 1 });
  });

  test('a broken assembly changes nothing, names the resource, and the app keeps serving', async () => {
    // GIVEN
    const r = await start(variant());
    const s = await seed(r);
    const broken = variant((t) => {
      addAuditConsumer(t);
      t.Resources.AuditRule!.Properties!.EventPattern = { source: 'fixture' };
    });

    // WHEN / THEN
    await expect(r.rt.reload(broken)).rejects.toThrow(/^Rule fixture-audit: .*/);
    expect(r.recorded.of('runtime.reload-failed')).toEqual([
      expect.objectContaining({ message: expect.stringMatching(/^Rule fixture-audit/) }),
    ]);
    expect(r.lines.some((l) => l.startsWith('reload refused, the running app is unchanged: Rule fixture-audit'))).toBe(true);
    await expect(r.sqs.send(new GetQueueUrlCommand({ QueueName: 'fixture-audit' }))).rejects.toThrow(/does not exist/);
    expect(r.recorded.of('queue.created')).toEqual([]);
    const unreadable = variant();
    fs.writeFileSync(path.join(unreadable, TEMPLATE), '{ "Resources": ');
    await expect(r.rt.reload(unreadable)).rejects.toThrow(/Fixture/);
    await expectKept(r, s);
    await publish(r, 'Direct', { id: 'still-serving', kind: 'ok' });
    const [seen] = await drain(r.sqs, r.url('fixture-seen'), 1);
    expect(JSON.parse(seen!.body)).toMatchObject({ id: 'still-serving' });
    // The next good assembly applies as usual.
    expect((await r.rt.reload(variant(addAuditConsumer))).added).toBe(4);
  });

  test('with a state directory, a restart after a reload comes back in the reloaded shape with its messages', async () => {
    // GIVEN
    const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'reload-state-'));
    dirs.push(stateDir);
    const first = await start(variant(), { stateDir, prewarm: false });
    await first.sqs.send(new SendMessageCommand({ QueueUrl: first.url('fixture-work-dlq'), MessageBody: 'kept' }));
    const next = variant((t) => {
      addAuditConsumer(t);
      delete t.Resources.AuditorMapping; // nothing takes the audit queue's messages
      delete t.Resources.TransformRule;
      delete t.Resources.TransformedQueue;
    });
    await first.rt.reload(next);
    await first.sqs.send(new SendMessageCommand({ QueueUrl: first.url('fixture-audit'), MessageBody: 'after reload' }));
    const transformed = first.recorded.of('queue.deleted').map((q) => q.queueName);
    expect(transformed).toEqual([expect.stringContaining('TransformedQueue')]);
    await first.close();

    // WHEN
    const second = await start(next, { stateDir, prewarm: false });

    // THEN
    expect(await queueCounts(second, 'fixture-work-dlq')).toMatchObject({ ready: 1 });
    expect(await queueCounts(second, 'fixture-audit')).toMatchObject({ ready: 1 });
    const urls = (await second.sqs.send(new ListQueuesCommand({}))).QueueUrls ?? [];
    expect(urls.filter((u) => u.includes('TransformedQueue'))).toEqual([]);
    const rules = (await second.events.send(new ListRulesCommand({ EventBusName: 'fixture-bus' }))).Rules?.map((x) => x.Name) ?? [];
    expect(rules).toContain('fixture-audit');
    expect(rules.filter((n) => n?.includes('TransformRule'))).toEqual([]);
  });

  test('with --iam enforce, calls after a reload are decided by the reloaded policies', async () => {
    // GIVEN
    // The fixture's role has an empty trust policy, which enforce mode refuses to start with.
    const trusted = (t: Template) => {
      t.Resources.ConsumerRole!.Properties!.AssumeRolePolicyDocument = {
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }],
      };
    };
    const r = await start(variant(trusted), { iam: 'enforce', prewarm: false });
    const send = () => r.sqs.send(new SendMessageCommand({ QueueUrl: r.url('fixture-seen'), MessageBody: 'hello' }));
    await expect(send()).resolves.toBeDefined();
    const denying = variant((t) => {
      trusted(t);
      t.Resources.SeenQueuePolicy = {
        Type: 'AWS::SQS::QueuePolicy',
        Properties: {
          Queues: [{ Ref: 'SeenQueue' }],
          PolicyDocument: {
            Version: '2012-10-17',
            Statement: [
              {
                Sid: 'NoSends',
                Effect: 'Deny',
                Principal: '*',
                Action: 'sqs:SendMessage',
                Resource: { 'Fn::GetAtt': ['SeenQueue', 'Arn'] },
              },
            ],
          },
        },
      };
    });

    // WHEN
    const report = await r.rt.reload(denying);

    // THEN
    expect(report.lines).toEqual(['~ policy set of the app']);
    await expect(send()).rejects.toThrow(/not authorized to perform: sqs:SendMessage/);
    await r.rt.reload(variant(trusted));
    await expect(send()).resolves.toBeDefined();
    expect(await queueCounts(r, 'fixture-seen')).toMatchObject({ ready: 2 });
  });

  test('a changed batch size applies to the running mapping from its next batch', async () => {
    // GIVEN
    const r = await start(variant());

    // WHEN
    const report = await r.rt.reload(
      variant((t) => {
        t.Resources.ConsumerMapping!.Properties!.BatchSize = 1;
      }),
    );

    // THEN
    expect(report.lines).toEqual(['~ mapping Fixture-ConsumerMapping (batch 1, window 0s, concurrency 2)']);
    await r.events.send(
      new PutEventsCommand({
        Entries: ['w1', 'w2', 'w3'].map((id) => ({
          EventBusName: 'fixture-bus',
          Source: 'fixture',
          DetailType: 'Work',
          Detail: JSON.stringify({ id, kind: 'ok' }),
        })),
      }),
    );
    const seen = (await drain(r.sqs, r.url('fixture-seen'), 3)).map((m) => JSON.parse(m.body));
    expect(seen.map((m) => m.id).sort()).toEqual(['w1', 'w2', 'w3']);
    expect(seen.map((m) => m.batchSize)).toEqual([1, 1, 1]);
  });

  test('a removed table is deleted with its items, unless its DeletionPolicy keeps it', async () => {
    for (const policy of ['Delete', 'Retain']) {
      // GIVEN
      const r = await start(
        variant((t) => {
          (t.Resources.Table as { DeletionPolicy?: string }).DeletionPolicy = policy;
        }),
        { prewarm: false },
      );
      const table = tableName(r);
      await r.dynamodb.send(new PutItemCommand({ TableName: table, Item: { pk: { S: 'p' }, sk: { S: 's' } } }));

      // WHEN
      const report = await r.rt.reload(variant((t) => delete t.Resources.Table));

      // THEN
      const get = () => r.dynamodb.send(new GetItemCommand({ TableName: table, Key: { pk: { S: 'p' }, sk: { S: 's' } } }));
      if (policy === 'Retain') {
        expect(report.lines).toEqual([`- table ${table} (DeletionPolicy Retain: the table and its items are kept)`]);
        expect((await get()).Item).toEqual({ pk: { S: 'p' }, sk: { S: 's' } });
      } else {
        expect(report.lines).toEqual([`- table ${table} (deleted with its items)`]);
        await expect(get()).rejects.toThrow(/not found/);
      }
      await r.close();
    }
  });

  test('an invocation in flight when its function is redefined finishes on the old definition and is not run again', async () => {
    // GIVEN: a batch being handled (the fixture's "slow" record holds it for 300 ms)
    const r = await start(variant());
    await publish(r, 'Work', { id: 'in-flight', kind: 'slow' });
    await waitFor('the slow batch to start', () => (r.recorded.of('function.invoked').length > 0 ? true : undefined));

    // WHEN
    await r.rt.reload(
      variant((t) => {
        t.Resources.Consumer!.Properties!.Environment.Variables.CUSTOM_SETTING = 'reconfigured';
      }),
    );

    // THEN
    const [first] = await drain(r.sqs, r.url('fixture-seen'), 1);
    expect(JSON.parse(first!.body)).toMatchObject({ id: 'in-flight', custom: 'configured', receiveCount: 1 });
    await waitFor('the batch to complete', () => (r.recorded.of('function.completed').length > 0 ? true : undefined));
    expect(r.recorded.of('function.completed')).toEqual([expect.objectContaining({ ok: 1, failed: 0 })]);
    expect(await queueCounts(r, 'fixture-work')).toMatchObject({ ready: 0, inflight: 0 });
    await publish(r, 'Work', { id: 'next', kind: 'ok' });
    const [next] = await drain(r.sqs, r.url('fixture-seen'), 1);
    expect(JSON.parse(next!.body)).toMatchObject({ id: 'next', custom: 'reconfigured' });
    expect(r.recorded.of('function.invoked')).toHaveLength(2);
  });
});
