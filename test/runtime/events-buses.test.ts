/**
 * Scratch buses and archives for scripts and tests: CreateEventBus, DeleteEventBus,
 * CreateArchive, UpdateArchive and DeleteArchive, with EventBridge's validation and errors, from
 * the SDK and from the AWS CLI. A bus made at run time routes and archives like the template's.
 */
import { CreateQueueCommand, SetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import {
  CreateArchiveCommand,
  CreateEventBusCommand,
  DeleteArchiveCommand,
  DeleteEventBusCommand,
  DescribeArchiveCommand,
  DescribeEventBusCommand,
  ListArchivesCommand,
  ListEventBusesCommand,
  ListRulesCommand,
  PutEventsCommand,
  PutRuleCommand,
  PutTargetsCommand,
  UpdateArchiveCommand,
} from '@aws-sdk/client-eventbridge';
import { MAX_EVENT_BUSES } from '../../runtime/events';
import { MAX_ARCHIVE_NAME } from '../../runtime/events-archive';
import { ACCOUNT, EMPTY_APP, Harness, REGION, aws, drain, inMemory, startHarness } from './helpers';

jest.setTimeout(120_000);

let h: Harness;
beforeAll(async () => {
  h = await startHarness(EMPTY_APP, { quiet: true });
});
afterAll(async () => h.close());

let n = 0;
const unique = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${++n}`;
const busArn = (name: string) => `arn:aws:events:${REGION}:${ACCOUNT}:event-bus/${name}`;
const event = (bus: string, detail: object, source = 'scratch') => ({
  EventBusName: bus,
  Source: source,
  DetailType: 'T',
  Detail: JSON.stringify(detail),
});

describe('CreateEventBus and DeleteEventBus', () => {
  test('a bus created at run time is listed, described, routes to its rules and is archived', async () => {
    // GIVEN a scratch bus with a rule to a queue that admits it, and an archive of half its events
    const name = unique('scratch');
    const created = await h.events.send(new CreateEventBusCommand({ Name: name, Description: 'for one test' }));
    expect(created.EventBusArn).toBe(busArn(name));
    const described = await h.events.send(new DescribeEventBusCommand({ Name: name }));
    expect(described).toMatchObject({ Name: name, Arn: busArn(name), Description: 'for one test' });
    const listed = await h.events.send(new ListEventBusesCommand({ NamePrefix: name }));
    expect(listed.EventBuses?.map((b) => b.Name)).toEqual([name]);
    const queue = unique('scratch-sink');
    const queueUrl = (await h.sqs.send(new CreateQueueCommand({ QueueName: queue }))).QueueUrl!;
    const ruleArn = (await h.events.send(new PutRuleCommand({ Name: 'all', EventBusName: name, EventPattern: '{"source":["scratch"]}' })))
      .RuleArn!;
    const queueArn = `arn:aws:sqs:${REGION}:${ACCOUNT}:${queue}`;
    await h.sqs.send(
      new SetQueueAttributesCommand({
        QueueUrl: queueUrl,
        Attributes: {
          Policy: JSON.stringify({
            Version: '2012-10-17',
            Statement: [
              {
                Effect: 'Allow',
                Principal: { Service: 'events.amazonaws.com' },
                Action: 'sqs:SendMessage',
                Resource: queueArn,
                Condition: { ArnEquals: { 'aws:SourceArn': ruleArn } },
              },
            ],
          }),
        },
      }),
    );
    await h.events.send(new PutTargetsCommand({ Rule: 'all', EventBusName: name, Targets: [{ Id: 'q', Arn: queueArn }] }));
    const archive = unique('scratch-archive');
    const a = await h.events.send(
      new CreateArchiveCommand({ ArchiveName: archive, EventSourceArn: busArn(name), EventPattern: '{"detail":{"keep":[true]}}' }),
    );
    expect(a).toMatchObject({ ArchiveArn: `arn:aws:events:${REGION}:${ACCOUNT}:archive/${archive}`, State: 'ENABLED' });
    // WHEN
    const put = await h.events.send(
      new PutEventsCommand({ Entries: [event(name, { keep: true }), event(name, { keep: false }), event(name, { keep: true })] }),
    );
    expect(put.FailedEntryCount).toBe(0);
    // THEN every event reached the rule's queue, and the archive kept the two its pattern selects
    const delivered = await drain(h.sqs, queueUrl, 3);
    expect(delivered.map((m) => JSON.parse(m.body).id).sort()).toEqual(put.Entries!.map((e) => e.EventId).sort());
    expect(h.recorded.of('delivery.unauthorized', (p) => p.ruleArn === ruleArn)).toEqual([]);
    expect((await h.events.send(new DescribeArchiveCommand({ ArchiveName: archive }))).EventCount).toBe(2);
  });

  test('deleting a bus deletes its rules; its name is free again and events to it are refused', async () => {
    // GIVEN
    const name = unique('doomed');
    await h.events.send(new CreateEventBusCommand({ Name: name }));
    await h.events.send(new PutRuleCommand({ Name: 'r1', EventBusName: name, EventPattern: '{"source":["x"]}' }));
    // WHEN
    await h.events.send(new DeleteEventBusCommand({ Name: name }));
    // THEN
    expect((await h.events.send(new ListEventBusesCommand({ NamePrefix: name }))).EventBuses).toEqual([]);
    await expect(h.events.send(new ListRulesCommand({ EventBusName: name }))).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    expect(h.recorded.of('rule.deleted', (p) => p.busName === name).map((p) => p.ruleName)).toEqual(['r1']);
    const put = await h.events.send(new PutEventsCommand({ Entries: [event(name, {})] }));
    expect(put.Entries?.[0]?.ErrorCode).toBe('ResourceNotFoundException');
    // a bus of that name can be made again, without the old rules
    await h.events.send(new CreateEventBusCommand({ Name: name }));
    expect((await h.events.send(new ListRulesCommand({ EventBusName: name }))).Rules).toEqual([]);
    await h.events.send(new DeleteEventBusCommand({ Name: name }));
  });

  test('deleting a bus that does not exist succeeds; deleting the default bus does not', async () => {
    await expect(h.events.send(new DeleteEventBusCommand({ Name: unique('never') }))).resolves.toBeDefined();
    await expect(h.events.send(new DeleteEventBusCommand({ Name: 'default' }))).rejects.toMatchObject({
      name: 'ValidationException',
      message: 'Cannot delete event bus default.',
    });
  });

  test.each([
    ['an existing name', 'default', 'ResourceAlreadyExistsException', /Event bus default already exists/],
    ['a name with a slash', 'aws.partner/x', 'ValidationException', /must not contain '\/'/],
    ['a name with a space', 'has space', 'ValidationException', /at 'name' failed to satisfy constraint/],
    ['a name too long', 'x'.repeat(257), 'ValidationException', /at 'name' .* length between 1 and 256/],
  ])('refuses %s', async (_what, name, code, message) => {
    await expect(h.events.send(new CreateEventBusCommand({ Name: name }))).rejects.toMatchObject({
      name: code,
      message: expect.stringMatching(message),
    });
  });

  test('refuses a description too long and a dead-letter target that is not a queue, naming the field', async () => {
    await expect(h.events.send(new CreateEventBusCommand({ Name: unique('d'), Description: 'd'.repeat(513) }))).rejects.toMatchObject({
      name: 'ValidationException',
      message: expect.stringContaining("at 'description'"),
    });
    await expect(
      h.events.send(new CreateEventBusCommand({ Name: unique('d'), DeadLetterConfig: { Arn: 'arn:aws:sns:us-east-1:000000000000:t' } })),
    ).rejects.toMatchObject({ name: 'ValidationException', message: expect.stringContaining('DeadLetterConfig.Arn') });
  });

  test(`refuses a bus past the quota of ${MAX_EVENT_BUSES} per account, and changes nothing`, () => {
    const m = inMemory();
    try {
      // The default bus counts.
      for (let i = 1; i < MAX_EVENT_BUSES; i++) m.events.createEventBus({ name: `b${i}` });
      expect(() => m.events.createEventBus({ name: 'one-too-many' })).toThrow(expect.objectContaining({ code: 'LimitExceededException' }));
      expect(m.events.buses.size).toBe(MAX_EVENT_BUSES);
      expect(m.events.buses.has('one-too-many')).toBe(false);
    } finally {
      m.close();
    }
  });
});

describe('CreateArchive, UpdateArchive and DeleteArchive', () => {
  test('an update changes what is archived from then on, and a delete removes the archive', async () => {
    // GIVEN an archive of the default bus that keeps source "a"
    const name = unique('arch');
    await h.events.send(
      new CreateArchiveCommand({ ArchiveName: name, EventSourceArn: busArn('default'), EventPattern: '{"source":["a"]}' }),
    );
    await h.events.send(new PutEventsCommand({ Entries: [event('default', {}, 'a'), event('default', {}, 'b')] }));
    expect((await h.events.send(new DescribeArchiveCommand({ ArchiveName: name }))).EventCount).toBe(1);
    // WHEN its pattern and retention change
    const updated = await h.events.send(
      new UpdateArchiveCommand({ ArchiveName: name, EventPattern: '{"source":["b"]}', RetentionDays: 3, Description: 'now b' }),
    );
    expect(updated).toMatchObject({ State: 'ENABLED', ArchiveArn: `arn:aws:events:${REGION}:${ACCOUNT}:archive/${name}` });
    await h.events.send(new PutEventsCommand({ Entries: [event('default', {}, 'a'), event('default', {}, 'b')] }));
    // THEN
    const described = await h.events.send(new DescribeArchiveCommand({ ArchiveName: name }));
    expect(described).toMatchObject({ EventCount: 2, RetentionDays: 3, Description: 'now b', EventPattern: '{"source":["b"]}' });
    // WHEN deleted
    await h.events.send(new DeleteArchiveCommand({ ArchiveName: name }));
    // THEN
    expect((await h.events.send(new ListArchivesCommand({ NamePrefix: name }))).Archives).toEqual([]);
    await expect(h.events.send(new DescribeArchiveCommand({ ArchiveName: name }))).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
  });

  test.each([
    ['a name in use', (name: string) => ({ ArchiveName: name }), 'ResourceAlreadyExistsException', /already exists/],
    [
      'a bus that does not exist',
      () => ({ EventSourceArn: busArn('no-such-bus') }),
      'ResourceNotFoundException',
      /no-such-bus does not exist/,
    ],
    [
      'a source that is not a bus',
      () => ({ EventSourceArn: 'arn:aws:sqs:us-east-1:000000000000:q' }),
      'ValidationException',
      /EventSourceArn/,
    ],
    ['a name too long', () => ({ ArchiveName: 'a'.repeat(MAX_ARCHIVE_NAME + 1) }), 'ValidationException', /at 'archiveName'/],
    ['a name with a slash', () => ({ ArchiveName: 'a/b' }), 'ValidationException', /at 'archiveName'/],
    ['an invalid pattern', () => ({ EventPattern: '{"source":"not-a-list"}' }), 'InvalidEventPatternException', /./],
    ['a negative retention', () => ({ RetentionDays: -1 }), 'ValidationException', /at 'retentionDays'/],
    ['a description too long', () => ({ Description: 'd'.repeat(513) }), 'ValidationException', /at 'description'/],
  ])('CreateArchive refuses %s', async (_what, change, code, message) => {
    const existing = unique('taken');
    await h.events.send(new CreateArchiveCommand({ ArchiveName: existing, EventSourceArn: busArn('default') }));
    const input = { ArchiveName: unique('new'), EventSourceArn: busArn('default'), ...change(existing) };
    await expect(h.events.send(new CreateArchiveCommand(input))).rejects.toMatchObject({
      name: code,
      message: expect.stringMatching(message),
    });
    expect((await h.events.send(new ListArchivesCommand({ NamePrefix: input.ArchiveName }))).Archives?.length ?? 0).toBe(
      input.ArchiveName === existing ? 1 : 0,
    );
  });

  test('UpdateArchive and DeleteArchive of an archive that does not exist are ResourceNotFoundException', async () => {
    await expect(h.events.send(new UpdateArchiveCommand({ ArchiveName: unique('none'), RetentionDays: 1 }))).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
    await expect(h.events.send(new DeleteArchiveCommand({ ArchiveName: unique('none') }))).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
  });

  test('a bad update changes nothing', async () => {
    const name = unique('keep');
    await h.events.send(new CreateArchiveCommand({ ArchiveName: name, EventSourceArn: busArn('default'), RetentionDays: 7 }));
    await expect(
      h.events.send(new UpdateArchiveCommand({ ArchiveName: name, RetentionDays: 1, EventPattern: '{"bad":' })),
    ).rejects.toMatchObject({ name: 'InvalidEventPatternException' });
    expect((await h.events.send(new DescribeArchiveCommand({ ArchiveName: name }))).RetentionDays).toBe(7);
  });
});

test('the AWS CLI creates, updates and deletes a scratch bus and its archive', async () => {
  const bus = unique('cli-bus');
  const archive = unique('cli-archive');
  const created = await aws(h.endpoint, 'events', 'create-event-bus', '--name', bus);
  expect(created.code).toBe(0);
  expect(created.json).toEqual({ EventBusArn: busArn(bus) });
  const a = await aws(h.endpoint, 'events', 'create-archive', '--archive-name', archive, '--event-source-arn', busArn(bus));
  expect(a.json).toMatchObject({ ArchiveArn: `arn:aws:events:${REGION}:${ACCOUNT}:archive/${archive}`, State: 'ENABLED' });
  const again = await aws(h.endpoint, 'events', 'create-archive', '--archive-name', archive, '--event-source-arn', busArn(bus));
  expect(again.code).not.toBe(0);
  expect(again.stderr).toContain('ResourceAlreadyExistsException');
  const u = await aws(h.endpoint, 'events', 'update-archive', '--archive-name', archive, '--retention-days', '2');
  expect(u.code).toBe(0);
  expect((await h.events.send(new DescribeArchiveCommand({ ArchiveName: archive }))).RetentionDays).toBe(2);
  expect((await aws(h.endpoint, 'events', 'delete-archive', '--archive-name', archive)).code).toBe(0);
  expect((await aws(h.endpoint, 'events', 'delete-event-bus', '--name', bus)).code).toBe(0);
  expect((await h.events.send(new ListEventBusesCommand({ NamePrefix: bus }))).EventBuses).toEqual([]);
});
