import {
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ListDeadLetterSourceQueuesCommand,
  ListQueuesCommand,
  ListMessageMoveTasksCommand,
  PurgeQueueCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SetQueueAttributesCommand,
  StartMessageMoveTaskCommand,
} from '@aws-sdk/client-sqs';
import { VirtualClock } from '../../runtime/clock';
import { ACCOUNT, EMPTY_APP, Harness, aws, startHarness, waitFor } from './helpers';

let h: Harness;
let clock: VirtualClock;
let n = 0;
const fresh = () => `q${++n}-${Date.now()}`;

beforeAll(async () => {
  clock = new VirtualClock();
  h = await startHarness(EMPTY_APP, { quiet: true, clock });
});
afterAll(async () => h.close());

async function counts(url: string) {
  const r = await h.sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['All'] }));
  return {
    visible: Number(r.Attributes!.ApproximateNumberOfMessages),
    inflight: Number(r.Attributes!.ApproximateNumberOfMessagesNotVisible),
  };
}

describe('SQS JSON protocol (SDK v3)', () => {
  test('a message sent with attributes is received once with matching MD5s and then deleted', async () => {
    // GIVEN
    const { QueueUrl } = await h.sqs.send(new CreateQueueCommand({ QueueName: fresh() }));
    // WHEN
    const sent = await h.sqs.send(
      new SendMessageCommand({
        QueueUrl,
        MessageBody: 'héllo',
        MessageAttributes: { kind: { DataType: 'String', StringValue: 'greeting' }, n: { DataType: 'Number', StringValue: '7' } },
      }),
    );
    const got = await h.sqs.send(
      new ReceiveMessageCommand({ QueueUrl, MessageAttributeNames: ['All'], MessageSystemAttributeNames: ['All'] }),
    );
    // THEN
    expect(got.Messages).toHaveLength(1);
    const m = got.Messages![0]!;
    expect(m.MessageId).toBe(sent.MessageId);
    expect(m.Body).toBe('héllo');
    expect(m.MD5OfMessageAttributes).toBe(sent.MD5OfMessageAttributes);
    expect(m.MessageAttributes!.kind!.StringValue).toBe('greeting');
    expect(m.Attributes!.ApproximateReceiveCount).toBe('1');
    expect(await counts(QueueUrl!)).toEqual({ visible: 0, inflight: 1 });
    await h.sqs.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: m.ReceiptHandle }));
    expect(await counts(QueueUrl!)).toEqual({ visible: 0, inflight: 0 });
  });

  test('a message not deleted comes back after its visibility timeout with a higher receive count', async () => {
    const { QueueUrl } = await h.sqs.send(new CreateQueueCommand({ QueueName: fresh(), Attributes: { VisibilityTimeout: '1' } }));
    await h.sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: 'again' }));
    const first = await h.sqs.send(new ReceiveMessageCommand({ QueueUrl }));
    expect(first.Messages).toHaveLength(1);
    const hidden = await h.sqs.send(new ReceiveMessageCommand({ QueueUrl }));
    expect(hidden.Messages ?? []).toHaveLength(0);
    await clock.advanceAsync(999);
    expect((await h.sqs.send(new ReceiveMessageCommand({ QueueUrl }))).Messages ?? []).toHaveLength(0);
    await clock.advanceAsync(1);
    const second = await h.sqs.send(new ReceiveMessageCommand({ QueueUrl, MessageSystemAttributeNames: ['ApproximateReceiveCount'] }));
    expect(second.Messages![0]!.MessageId).toBe(first.Messages![0]!.MessageId);
    expect(second.Messages![0]!.Attributes!.ApproximateReceiveCount).toBe('2');
    // The first receipt handle is stale: deleting with it succeeds but deletes nothing, as in SQS.
    await h.sqs.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: first.Messages![0]!.ReceiptHandle }));
    expect(await counts(QueueUrl!)).toEqual({ visible: 0, inflight: 1 });
  });

  test('ChangeMessageVisibility to 0 makes a message visible at once', async () => {
    const { QueueUrl } = await h.sqs.send(new CreateQueueCommand({ QueueName: fresh() }));
    await h.sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: 'x' }));
    const got = await h.sqs.send(new ReceiveMessageCommand({ QueueUrl }));
    await h.sqs.send(
      new ChangeMessageVisibilityCommand({ QueueUrl, ReceiptHandle: got.Messages![0]!.ReceiptHandle, VisibilityTimeout: 0 }),
    );
    const again = await h.sqs.send(new ReceiveMessageCommand({ QueueUrl }));
    expect(again.Messages![0]!.MessageId).toBe(got.Messages![0]!.MessageId);
  });

  test('a long poll returns as soon as a message arrives, and empty when WaitTimeSeconds pass on the clock', async () => {
    const { QueueUrl } = await h.sqs.send(new CreateQueueCommand({ QueueName: fresh() }));
    const before = clock.pending;
    const polling = h.sqs.send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 10 }));
    await waitFor('the poll to wait', () => (clock.pending > before ? true : undefined));
    await h.sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: 'late' }));
    expect((await polling).Messages![0]!.Body).toBe('late');
    // The received message now has a visibility timer; a second poll adds its own.
    const inflight = clock.pending;
    const empty = h.sqs.send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 10 }));
    await waitFor('the poll to wait', () => (clock.pending > inflight ? true : undefined));
    await clock.advanceAsync(10_000);
    expect((await empty).Messages ?? []).toHaveLength(0);
  });

  test('the latest receipt handle deletes a message whose visibility timeout has passed', async () => {
    // GIVEN a message received with a visibility timeout of 0, so it is visible again at once
    const { QueueUrl } = await h.sqs.send(new CreateQueueCommand({ QueueName: fresh() }));
    await h.sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: 'x' }));
    const got = await h.sqs.send(new ReceiveMessageCommand({ QueueUrl, VisibilityTimeout: 0 }));
    await clock.advanceAsync(1);
    expect(await counts(QueueUrl!)).toEqual({ visible: 1, inflight: 0 });
    // WHEN the handle of that last receive deletes it
    await h.sqs.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: got.Messages![0]!.ReceiptHandle }));
    // THEN it is gone, as SQS deletes it
    expect(await counts(QueueUrl!)).toEqual({ visible: 0, inflight: 0 });
  });

  test('a ReceiveMessage with wrongly typed attribute lists is refused before any message is taken', async () => {
    const { QueueUrl } = await h.sqs.send(new CreateQueueCommand({ QueueName: fresh() }));
    await h.sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: 'x' }));
    for (const bad of [{ AttributeNames: 5 }, { MessageAttributeNames: 'All' }, { MessageSystemAttributeNames: [{}] }]) {
      const r = await fetch(h.endpoint, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-amz-json-1.0', 'X-Amz-Target': 'AmazonSQS.ReceiveMessage' },
        body: JSON.stringify({ QueueUrl, ...bad }),
      });
      expect(r.status).toBe(400);
      expect(((await r.json()) as { __type: string }).__type).toBe('com.amazonaws.sqs#InvalidParameterValue');
    }
    expect(await counts(QueueUrl!)).toEqual({ visible: 1, inflight: 0 });
  });

  test('a queue cannot be its own dead-letter queue, so ReceiveMessage can never loop on it', async () => {
    const { QueueUrl } = await h.sqs.send(new CreateQueueCommand({ QueueName: fresh() }));
    const arn = `arn:aws:sqs:us-east-1:${ACCOUNT}:${QueueUrl!.split('/').pop()}`;
    await expect(
      h.sqs.send(
        new SetQueueAttributesCommand({
          QueueUrl,
          Attributes: { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: arn, maxReceiveCount: 1 }) },
        }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidParameterValue', message: expect.stringContaining('can not be the queue itself') });
    await h.sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: 'x' }));
    for (let i = 0; i < 3; i++) {
      await h.sqs.send(new ReceiveMessageCommand({ QueueUrl, VisibilityTimeout: 0 }));
      await clock.advanceAsync(1);
    }
    expect(await counts(QueueUrl!)).toEqual({ visible: 1, inflight: 0 });
  });

  test('a garbage NextToken is refused instead of restarting the listing', async () => {
    for (let i = 0; i < 3; i++) await h.sqs.send(new CreateQueueCommand({ QueueName: `page-${i}-${Date.now()}` }));
    const first = await h.sqs.send(new ListQueuesCommand({ QueueNamePrefix: 'page-', MaxResults: 2 }));
    expect(first.QueueUrls).toHaveLength(2);
    const second = await h.sqs.send(new ListQueuesCommand({ QueueNamePrefix: 'page-', MaxResults: 2, NextToken: first.NextToken }));
    expect(second.QueueUrls).toHaveLength(1);
    for (const token of ['!!!!', 'garbage', Buffer.from('0').toString('base64'), `${first.NextToken}x`]) {
      await expect(h.sqs.send(new ListQueuesCommand({ MaxResults: 2, NextToken: token }))).rejects.toMatchObject({
        name: 'InvalidParameterValue',
        message: 'Invalid NextToken value.',
      });
    }
  });

  test('a message moves to the DLQ after exactly maxReceiveCount receives', async () => {
    const dlq = await h.sqs.send(new CreateQueueCommand({ QueueName: fresh() }));
    const dlqArn = `arn:aws:sqs:us-east-1:${ACCOUNT}:${dlq.QueueUrl!.split('/').pop()}`;
    const { QueueUrl } = await h.sqs.send(
      new CreateQueueCommand({
        QueueName: fresh(),
        Attributes: { VisibilityTimeout: '0', RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: 3 }) },
      }),
    );
    const { MessageId } = await h.sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: 'poison' }));
    const receives: string[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await h.sqs.send(new ReceiveMessageCommand({ QueueUrl, MessageSystemAttributeNames: ['ApproximateReceiveCount'] }));
      for (const m of r.Messages ?? []) receives.push(m.Attributes!.ApproximateReceiveCount!);
    }
    expect(receives).toEqual(['1', '2', '3']);
    const dead = await h.sqs.send(new ReceiveMessageCommand({ QueueUrl: dlq.QueueUrl, MessageSystemAttributeNames: ['All'] }));
    expect(dead.Messages).toHaveLength(1);
    expect(dead.Messages![0]!.MessageId).toBe(MessageId);
    expect(dead.Messages![0]!.Attributes!.DeadLetterQueueSourceArn).toContain(QueueUrl!.split('/').pop());
    const sources = await h.sqs.send(new ListDeadLetterSourceQueuesCommand({ QueueUrl: dlq.QueueUrl }));
    expect(sources.queueUrls).toEqual([QueueUrl]);
  });

  test('StartMessageMoveTask returns DLQ messages to their source queue with a fresh receive count', async () => {
    // GIVEN two messages in a DLQ after two receives each
    const dlq = await h.sqs.send(new CreateQueueCommand({ QueueName: fresh() }));
    const dlqArn = `arn:aws:sqs:us-east-1:${ACCOUNT}:${dlq.QueueUrl!.split('/').pop()}`;
    const { QueueUrl } = await h.sqs.send(
      new CreateQueueCommand({
        QueueName: fresh(),
        Attributes: { VisibilityTimeout: '0', RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: 2 }) },
      }),
    );
    await h.sqs.send(
      new SendMessageBatchCommand({
        QueueUrl,
        Entries: [
          { Id: 'a', MessageBody: 'A' },
          { Id: 'b', MessageBody: 'B' },
        ],
      }),
    );
    for (let i = 0; i < 3; i++) await h.sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10 }));
    expect(await counts(dlq.QueueUrl!)).toEqual({ visible: 2, inflight: 0 });
    // WHEN
    const task = await h.sqs.send(new StartMessageMoveTaskCommand({ SourceArn: dlqArn }));
    expect(task.TaskHandle).toBeTruthy();
    // THEN
    const done = await waitFor('move task completion', async () => {
      const t = await h.sqs.send(new ListMessageMoveTasksCommand({ SourceArn: dlqArn }));
      return t.Results?.[0]?.Status === 'COMPLETED' ? t.Results[0] : undefined;
    });
    expect(done.ApproximateNumberOfMessagesMoved).toBe(2);
    expect(await counts(dlq.QueueUrl!)).toEqual({ visible: 0, inflight: 0 });
    const back = await h.sqs.send(
      new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, MessageSystemAttributeNames: ['ApproximateReceiveCount'] }),
    );
    expect(back.Messages!.map((m) => m.Body).sort()).toEqual(['A', 'B']);
    expect(back.Messages!.map((m) => m.Attributes!.ApproximateReceiveCount)).toEqual(['1', '1']);
  });

  test('StartMessageMoveTask on a queue that is no DLQ is refused', async () => {
    const { QueueUrl } = await h.sqs.send(new CreateQueueCommand({ QueueName: fresh() }));
    const arn = `arn:aws:sqs:us-east-1:${ACCOUNT}:${QueueUrl!.split('/').pop()}`;
    await expect(h.sqs.send(new StartMessageMoveTaskCommand({ SourceArn: arn }))).rejects.toMatchObject({
      name: 'InvalidParameterValue',
      message: expect.stringContaining('Dead Letter Queue'),
    });
  });

  test('FIFO queues keep group order and drop duplicates within the deduplication window', async () => {
    const { QueueUrl } = await h.sqs.send(new CreateQueueCommand({ QueueName: `${fresh()}.fifo`, Attributes: { FifoQueue: 'true' } }));
    for (const [body, dedup] of [
      ['1', 'a'],
      ['2', 'b'],
      ['1-again', 'a'],
      ['3', 'c'],
    ]) {
      await h.sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: body, MessageGroupId: 'g', MessageDeduplicationId: dedup }));
    }
    const got = await h.sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10 }));
    expect(got.Messages!.map((m) => m.Body)).toEqual(['1', '2', '3']);
    // The group is blocked while its messages are in flight.
    const blocked = await h.sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10 }));
    expect(blocked.Messages ?? []).toHaveLength(0);
  });

  test('PurgeQueue empties a queue', async () => {
    const { QueueUrl } = await h.sqs.send(new CreateQueueCommand({ QueueName: fresh() }));
    await h.sqs.send(
      new SendMessageBatchCommand({
        QueueUrl,
        Entries: [
          { Id: '1', MessageBody: 'a' },
          { Id: '2', MessageBody: 'b' },
        ],
      }),
    );
    await h.sqs.send(new PurgeQueueCommand({ QueueUrl }));
    expect(await counts(QueueUrl!)).toEqual({ visible: 0, inflight: 0 });
  });
});

describe('SQS bad requests get AWS-shaped errors and change nothing', () => {
  test('an unknown queue is QueueDoesNotExist', async () => {
    await expect(h.sqs.send(new SendMessageCommand({ QueueUrl: h.queueUrl('nope'), MessageBody: 'x' }))).rejects.toMatchObject({
      name: 'QueueDoesNotExist',
      $metadata: { httpStatusCode: 400 },
    });
  });

  test('a message over 1 MiB is refused naming the limit, and nothing is stored', async () => {
    const { QueueUrl } = await h.sqs.send(new CreateQueueCommand({ QueueName: fresh() }));
    await expect(h.sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: 'x'.repeat(1024 * 1024 + 1) }))).rejects.toMatchObject({
      name: 'InvalidParameterValue',
      message: expect.stringContaining('1048576 bytes'),
    });
    expect(await counts(QueueUrl!)).toEqual({ visible: 0, inflight: 0 });
  });

  test('a batch with repeated ids is refused whole, and nothing is stored', async () => {
    const { QueueUrl } = await h.sqs.send(new CreateQueueCommand({ QueueName: fresh() }));
    await expect(
      h.sqs.send(
        new SendMessageBatchCommand({
          QueueUrl,
          Entries: [
            { Id: 'a', MessageBody: '1' },
            { Id: 'a', MessageBody: '2' },
          ],
        }),
      ),
    ).rejects.toMatchObject({ name: 'BatchEntryIdsNotDistinct' });
    await expect(
      h.sqs.send(
        new SendMessageBatchCommand({ QueueUrl, Entries: Array.from({ length: 11 }, (_, i) => ({ Id: `e${i}`, MessageBody: 'x' })) }),
      ),
    ).rejects.toMatchObject({ name: 'TooManyEntriesInBatchRequest' });
    expect(await counts(QueueUrl!)).toEqual({ visible: 0, inflight: 0 });
  });

  test('a malformed receipt handle is ReceiptHandleIsInvalid', async () => {
    const { QueueUrl } = await h.sqs.send(new CreateQueueCommand({ QueueName: fresh() }));
    await expect(h.sqs.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: 'not-a-handle' }))).rejects.toMatchObject({
      name: 'ReceiptHandleIsInvalid',
    });
  });

  test('malformed JSON is a SerializationException', async () => {
    const r = await fetch(h.endpoint, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-amz-json-1.0', 'X-Amz-Target': 'AmazonSQS.SendMessage' },
      body: '{"QueueUrl": ',
    });
    expect(r.status).toBe(400);
    expect(await r.json()).toMatchObject({ __type: 'com.amazonaws.sqs#SerializationException' });
  });

  test('an unknown query action is InvalidAction in an XML error', async () => {
    const r = await fetch(h.endpoint, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'Action=FlyToTheMoon&Version=2012-11-05',
    });
    expect(r.status).toBe(400);
    const text = await r.text();
    expect(text).toContain('<Code>InvalidAction</Code>');
    expect(text).toContain('<Type>Sender</Type>');
  });
});

describe('SQS query protocol (AWS CLI v1)', () => {
  test('the CLI creates, sends with attributes, receives and deletes', async () => {
    const name = fresh();
    const created = await aws(h.endpoint, 'sqs', 'create-queue', '--queue-name', name, '--attributes', 'VisibilityTimeout=120');
    expect(created.code).toBe(0);
    const url = created.json.QueueUrl as string;
    const sent = await aws(
      h.endpoint,
      'sqs',
      'send-message',
      '--queue-url',
      url,
      '--message-body',
      'from <cli> & co',
      '--message-attributes',
      '{"color":{"DataType":"String","StringValue":"blue"}}',
    );
    expect(sent.code).toBe(0);
    const got = await aws(
      h.endpoint,
      'sqs',
      'receive-message',
      '--queue-url',
      url,
      '--attribute-names',
      'All',
      '--message-attribute-names',
      'All',
    );
    expect(got.code).toBe(0);
    const m = got.json.Messages[0];
    expect(m.MessageId).toBe(sent.json.MessageId);
    expect(m.Body).toBe('from <cli> & co');
    expect(m.MessageAttributes.color.StringValue).toBe('blue');
    expect(m.Attributes.ApproximateReceiveCount).toBe('1');
    const attrs = await aws(h.endpoint, 'sqs', 'get-queue-attributes', '--queue-url', url, '--attribute-names', 'All');
    expect(attrs.json.Attributes).toMatchObject({ VisibilityTimeout: '120', ApproximateNumberOfMessagesNotVisible: '1' });
    expect((await aws(h.endpoint, 'sqs', 'delete-message', '--queue-url', url, '--receipt-handle', m.ReceiptHandle)).code).toBe(0);
    expect(await counts(url)).toEqual({ visible: 0, inflight: 0 });
  });

  test('the CLI sees batch results and per-entry failures', async () => {
    const url = (await h.sqs.send(new CreateQueueCommand({ QueueName: fresh() }))).QueueUrl!;
    const r = await aws(
      h.endpoint,
      'sqs',
      'send-message-batch',
      '--queue-url',
      url,
      '--entries',
      JSON.stringify([
        { Id: 'ok', MessageBody: 'fine' },
        { Id: 'bad', MessageBody: 'x', DelaySeconds: 901 },
      ]),
    );
    expect(r.code).toBe(0);
    expect(r.json.Successful.map((s: { Id: string }) => s.Id)).toEqual(['ok']);
    expect(r.json.Failed).toEqual([expect.objectContaining({ Id: 'bad', Code: 'InvalidParameterValue', SenderFault: true })]);
    const list = await aws(h.endpoint, 'sqs', 'list-queues', '--queue-name-prefix', url.split('/').pop()!);
    expect(list.json.QueueUrls).toEqual([url]);
  });

  test('the CLI gets the query-protocol code for an unknown queue', async () => {
    const r = await aws(h.endpoint, 'sqs', 'get-queue-url', '--queue-name', 'does-not-exist');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('AWS.SimpleQueueService.NonExistentQueue');
  });
});
