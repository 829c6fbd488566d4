/**
 * The HTTP edge under hostile input: each test is one attack that used to crash, pollute,
 * hang or change state, and now gets an AWS-shaped refusal while the runtime keeps serving.
 */
import { CreateQueueCommand, GetQueueAttributesCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { FIXTURE_APP, Harness, startHarness } from './helpers';
import { awsJson, dynamo, query, raw } from './raw-http';
import { DYNAMODB_MAX_EXPRESSION_BYTES } from '../../runtime/http/dynamodb';

let h: Harness;
let table: string;
let n = 0;
const fresh = () => `hostile${++n}-${Date.now()}`;
const proto = Object.prototype as Record<string, unknown>;

beforeAll(async () => {
  // No test runs a function: a prewarmed environment would only cost its start.
  h = await startHarness(FIXTURE_APP, { quiet: false, prewarm: false });
  const r = await dynamo(h.endpoint, 'ListTables', {});
  table = JSON.parse(r.body).TableNames[0];
});
afterAll(async () => h.close());
afterEach(() => {
  // A failing test must not leave the pollution behind for the next one.
  delete proto.polluted;
});

async function visible(url: string): Promise<number> {
  const r = await h.sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages'] }));
  return Number(r.Attributes!.ApproximateNumberOfMessages);
}

/** The runtime still serves: a trivial call on each protocol answers 200. */
async function stillServing(): Promise<void> {
  expect((await awsJson(h.endpoint, 'AWSEvents.ListEventBuses', {})).status).toBe(200);
  expect((await awsJson(h.endpoint, 'AmazonSQS.ListQueues', {})).status).toBe(200);
  expect((await dynamo(h.endpoint, 'ListTables', {})).status).toBe(200);
}

describe('prototype pollution', () => {
  test.each(['__proto__.polluted', 'constructor.prototype.polluted', 'Attribute.1.__proto__.polluted'])(
    'the query parameter %s is refused, naming the field, and writes nothing onto Object.prototype',
    async (key) => {
      // WHEN
      const get = await raw(h.endpoint, { method: 'GET', path: `/?Action=ListQueues&${encodeURIComponent(key)}=yes` });
      const post = await query(h.endpoint, { Action: 'ListQueues', [key]: 'yes' });
      // THEN
      for (const r of [get, post]) {
        expect(r.status).toBe(400);
        expect(r.body).toContain('<Code>InvalidParameterValue</Code>');
        expect(r.body).toContain(key.split('.').find((s) => s === '__proto__' || s === 'constructor'));
      }
      expect(proto.polluted).toBeUndefined();
      await stillServing();
    },
  );

  test('a __proto__ key in an SQS JSON attribute map is refused with the field named', async () => {
    // GIVEN
    const { QueueUrl } = await h.sqs.send(new CreateQueueCommand({ QueueName: fresh() }));
    // WHEN
    const r = await awsJson(
      h.endpoint,
      'AmazonSQS.SendMessage',
      `{"QueueUrl":"${QueueUrl}","MessageBody":"x","MessageAttributes":{"__proto__":{"DataType":"String","StringValue":"v"}}}`,
    );
    // THEN
    expect(r.status).toBe(400);
    expect(JSON.parse(r.body).message).toContain('MessageAttributes.__proto__');
    expect(await visible(QueueUrl!)).toBe(0);
  });

  test.each([
    [
      'AWSEvents.PutEvents',
      'Entries.0.__proto__',
      '{"Entries":[{"Source":"s","DetailType":"d","Detail":"{}","__proto__":{"EventBusName":"x"}}]}',
    ],
    ['AWSEvents.ListRules', 'constructor', '{"constructor":{"prototype":{"polluted":1}}}'],
    ['AmazonSQS.CreateQueue', 'Attributes.__proto__', '{"QueueName":"x","Attributes":{"__proto__":{"polluted":"1"}}}'],
  ])('%s with a pollution key in its JSON body is a validation error naming %s', async (target, field, body) => {
    const r = await awsJson(h.endpoint, target, body);
    expect(r.status).toBe(400);
    expect(JSON.parse(r.body).message).toContain(field);
    expect(proto.polluted).toBeUndefined();
  });

  test('a DynamoDB item with a __proto__ attribute is refused before dynalite sees it', async () => {
    const r = await dynamo(h.endpoint, 'PutItem', `{"TableName":"${table}","Item":{"pk":{"S":"a"},"sk":{"S":"b"},"__proto__":{"S":"x"}}}`);
    expect(r.status).toBe(400);
    expect(JSON.parse(r.body).__type).toBe('com.amazon.coral.validate#ValidationException');
    expect(JSON.parse(r.body).message).toContain('Item.__proto__');
  });

  test.each([
    [{ UpdateExpression: 'SET #a = :v', ExpressionAttributeNames: { '#a': '__proto__' } }, 'ExpressionAttributeNames.#a'],
    [{ UpdateExpression: 'SET __proto__ = :v' }, 'UpdateExpression'],
  ])('a DynamoDB update naming __proto__ (%j) is refused, naming %s', async (update, field) => {
    const r = await dynamo(h.endpoint, 'UpdateItem', {
      TableName: table,
      Key: { pk: { S: 'u' }, sk: { S: 'u' } },
      ExpressionAttributeValues: { ':v': { S: 'x' } },
      ...update,
    });
    expect(r.status).toBe(400);
    expect(JSON.parse(r.body).__type).toBe('com.amazon.coral.validate#ValidationException');
    expect(JSON.parse(r.body).message).toContain(field);
  });
});

describe('operation names that are object members', () => {
  const names = ['constructor', 'toString', '__proto__', 'hasOwnProperty', 'valueOf'];

  test.each(names)('AWSEvents.%s is UnknownOperationException', async (name) => {
    const r = await awsJson(h.endpoint, `AWSEvents.${name}`, {});
    expect(r.status).toBe(400);
    expect(JSON.parse(r.body).__type).toBe('UnknownOperationException');
  });

  test.each(names)('AmazonSQS.%s is UnknownOperationException', async (name) => {
    const r = await awsJson(h.endpoint, `AmazonSQS.${name}`, {});
    expect(r.status).toBe(400);
    expect(JSON.parse(r.body).__type).toBe('com.amazonaws.sqs#UnknownOperationException');
  });

  test.each(names)('Action=%s over the query protocol is InvalidAction', async (name) => {
    const r = await query(h.endpoint, { Action: name });
    expect(r.status).toBe(400);
    expect(r.body).toContain('<Code>InvalidAction</Code>');
  });
});

describe('DynamoDB nesting', () => {
  const nested = (levels: number) => {
    // `levels` maps, the innermost holding a string: DynamoDB counts the top-level attribute as level 1.
    let v = '{"S":"leaf"}';
    for (let i = 0; i < levels; i++) v = `{"M":{"a":${v}}}`;
    return v;
  };

  test('31 nested maps are stored', async () => {
    const r = await dynamo(h.endpoint, 'PutItem', `{"TableName":"${table}","Item":{"pk":{"S":"n"},"sk":{"S":"31"},"deep":${nested(31)}}}`);
    expect(r.status).toBe(200);
  });

  test.each([32, 5000])('%i nested maps are a ValidationException, and the runtime keeps serving', async (levels) => {
    const r = await dynamo(
      h.endpoint,
      'PutItem',
      `{"TableName":"${table}","Item":{"pk":{"S":"n"},"sk":{"S":"x"},"deep":${nested(levels)}}}`,
    );
    expect(r.status).toBe(400);
    expect(JSON.parse(r.body)).toEqual({
      __type: 'com.amazon.coral.validate#ValidationException',
      message: 'Nesting Levels have exceeded supported limits: Attributes in the item have nested levels beyond supported limit',
    });
    await stillServing();
  });
});

describe('DynamoDB expression size (found by the fuzzer: dynalite parsed a 1 MB expression for 18 s)', () => {
  const tooLong = (member: string, bytes: number) => ({
    __type: 'com.amazon.coral.validate#ValidationException',
    message: `Invalid ${member}: Expression size has exceeded the maximum allowed size of ${DYNAMODB_MAX_EXPRESSION_BYTES} bytes; expression size: ${bytes}`,
  });
  // `pk = :v` padded with spaces to exactly `bytes` bytes: valid, whatever its length.
  const padded = (bytes: number) => `pk = :v${' '.repeat(bytes - 'pk = :v'.length)}`;
  const queryWith = (expression: string) => ({
    TableName: table,
    KeyConditionExpression: expression,
    ExpressionAttributeValues: { ':v': { S: 'none' } },
  });

  test('an expression of exactly the limit is run', async () => {
    const r = await dynamo(h.endpoint, 'Query', queryWith(padded(DYNAMODB_MAX_EXPRESSION_BYTES)));
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toMatchObject({ Count: 0 });
  });

  test.each([DYNAMODB_MAX_EXPRESSION_BYTES + 1, 1024 * 1024])(
    'an expression of %i bytes is a ValidationException naming the member, and the runtime keeps serving',
    async (bytes) => {
      const r = await dynamo(h.endpoint, 'Query', queryWith(padded(bytes)));
      expect(r.status).toBe(400);
      expect(JSON.parse(r.body)).toEqual(tooLong('KeyConditionExpression', bytes));
      await stillServing();
    },
  );

  test('the limit counts UTF-8 bytes, and applies inside transaction entries', async () => {
    // 1,406 UTF-16 code units, far under 4,096, but 4,138 bytes in UTF-8 (each '€' is three).
    const condition = `attribute_not_exists(pk) OR pk <> :x${' '.repeat(4)}${'€'.repeat(1366)}`;
    const bytes = Buffer.byteLength(condition, 'utf8');
    expect(condition.length).toBeLessThan(DYNAMODB_MAX_EXPRESSION_BYTES);
    const r = await dynamo(h.endpoint, 'TransactWriteItems', {
      TransactItems: [
        {
          Put: {
            TableName: table,
            Item: { pk: { S: 't' }, sk: { S: 't' } },
            ConditionExpression: condition,
            ExpressionAttributeValues: { ':x': { S: 'x' } },
          },
        },
      ],
    });
    expect(r.status).toBe(400);
    expect(JSON.parse(r.body)).toEqual(tooLong('ConditionExpression', bytes));
  });
});

describe('request size', () => {
  test('a body over the limit is answered 413 with an AWS-shaped body, not a reset connection', async () => {
    // 9 MiB, over the 8 MiB limit (a string: awsJson would send a Buffer as its 36 MB JSON form)
    const body = 'a'.repeat(9 * 1024 * 1024);
    const r = await awsJson(h.endpoint, 'AWSEvents.PutEvents', body);
    expect(r.status).toBe(413);
    expect(JSON.parse(r.body).__type).toBe('RequestEntityTooLargeException');
    await stillServing();
  });
});

describe('browsers', () => {
  let port: string;
  beforeAll(() => {
    port = new URL(h.endpoint).port;
  });

  test('a cross-site form POST cannot purge a queue', async () => {
    // GIVEN
    const { QueueUrl } = await h.sqs.send(new CreateQueueCommand({ QueueName: fresh() }));
    await h.sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: 'keep me' }));
    // WHEN
    const r = await query(h.endpoint, { Action: 'PurgeQueue', QueueUrl: QueueUrl! }, { Origin: 'https://evil.example' });
    // THEN
    expect(r.status).toBe(403);
    expect(r.body).toContain('https://evil.example');
    expect(r.headers['access-control-allow-origin']).toBeUndefined();
    expect(await visible(QueueUrl!)).toBe(1);
  });

  test('a cross-site GET navigation without Origin cannot delete a queue', async () => {
    const { QueueUrl } = await h.sqs.send(new CreateQueueCommand({ QueueName: fresh() }));
    const r = await raw(h.endpoint, {
      method: 'GET',
      path: `/?Action=DeleteQueue&QueueUrl=${encodeURIComponent(QueueUrl!)}`,
      headers: { 'Sec-Fetch-Site': 'cross-site', Referer: 'https://evil.example/page' },
    });
    expect(r.status).toBe(403);
    expect(await visible(QueueUrl!)).toBe(0); // the queue still exists
  });

  test('a request whose Host is another name (DNS rebinding) is refused', async () => {
    const r = await awsJson(h.endpoint, 'AWSEvents.ListEventBuses', {}, { Host: `rebind.evil.example:${port}` });
    expect(r.status).toBe(403);
    expect(JSON.parse(r.body).message).toContain('rebind.evil.example');
  });

  test.each(['127.0.0.1', 'localhost', '[::1]'])('Host %s is served', async (host) => {
    const r = await awsJson(h.endpoint, 'AWSEvents.ListEventBuses', {}, { Host: `${host}:${port}` });
    expect(r.status).toBe(200);
  });

  test('a preflight from the runtime’s own origin is answered with CORS headers', async () => {
    const origin = `http://localhost:${port}`;
    const r = await raw(h.endpoint, {
      method: 'OPTIONS',
      headers: { Origin: origin, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type,x-amz-target' },
    });
    expect(r.status).toBe(204);
    expect(r.headers['access-control-allow-origin']).toBe(origin);
    expect(String(r.headers['access-control-allow-headers'])).toContain('x-amz-target');
    const call = await awsJson(h.endpoint, 'AWSEvents.ListEventBuses', {}, { Origin: origin });
    expect(call.status).toBe(200);
    expect(call.headers['access-control-allow-origin']).toBe(origin);
  });

  test('a preflight from another origin is refused', async () => {
    const r = await raw(h.endpoint, {
      method: 'OPTIONS',
      headers: { Origin: 'https://evil.example', 'Access-Control-Request-Method': 'POST' },
    });
    expect(r.status).toBe(403);
    expect(r.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('EventBridge inputs', () => {
  test('PutRule with an EventPattern that is a JSON object, not a string, is a ValidationException', async () => {
    const r = await awsJson(h.endpoint, 'AWSEvents.PutRule', {
      Name: fresh(),
      EventBusName: 'fixture-bus',
      EventPattern: { source: ['x'] },
    });
    expect(r.status).toBe(400);
    expect(JSON.parse(r.body).__type).toBe('ValidationException');
    expect(JSON.parse(r.body).message).toContain('eventPattern');
  });

  test.each([['$.detail['], [5], ['$..x']])('an invalid InputPath %j is a ValidationException naming the target', async (inputPath) => {
    const rule = fresh();
    await awsJson(h.endpoint, 'AWSEvents.PutRule', { Name: rule, EventBusName: 'fixture-bus', EventPattern: '{"source":["x"]}' });
    const r = await awsJson(h.endpoint, 'AWSEvents.PutTargets', {
      Rule: rule,
      EventBusName: 'fixture-bus',
      Targets: [{ Id: 'Bad', Arn: 'arn:aws:sqs:us-east-1:000000000000:fixture-seen', InputPath: inputPath }],
    });
    expect(r.status).toBe(400);
    expect(JSON.parse(r.body).__type).toBe('ValidationException');
    expect(JSON.parse(r.body).message).toContain('Bad');
  });

  test('control characters in Source and DetailType reach the log escaped', async () => {
    const before = h.lines.length;
    const r = await awsJson(h.endpoint, 'AWSEvents.PutEvents', {
      Entries: [{ EventBusName: 'fixture-bus', Source: 'evil\u001b[2J\u0007', DetailType: 'x\r\nforged line', Detail: '{}' }],
    });
    expect(r.status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const logged = h.lines.slice(before).join('\n');
    expect(logged).toContain('publish');
    // eslint-disable-next-line no-control-regex -- matching control characters is the point
    expect(logged).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/);
    expect(h.lines.slice(before).some((l) => l.startsWith('forged line'))).toBe(false);
  });
});

describe('members of the wrong type (found by the fuzzer)', () => {
  test.each([
    ['AmazonSQS.PurgeQueue', { QueueUrl: {} }, 'QueueUrl'],
    ['AmazonSQS.SendMessage', { QueueUrl: 'x', MessageBody: { a: 1 } }, 'MessageBody'],
    ['AmazonSQS.CreateQueue', { QueueName: 'x', Attributes: { VisibilityTimeout: {} } }, 'Attributes'],
    [
      'AmazonSQS.StartMessageMoveTask',
      { SourceArn: 'arn:aws:sqs:us-east-1:000000000000:x', MaxNumberOfMessagesPerSecond: {} },
      'MaxNumberOfMessagesPerSecond',
    ],
    ['AWSEvents.ListEventBuses', { Limit: {} }, "'limit'"],
    ['AWSEvents.DescribeEventBus', { Name: { DataType: 'Number' } }, "'name'"],
    ['AWSEvents.PutEvents', { Entries: [{ Source: 's', DetailType: 'd', Detail: '{}', Time: {} }] }, "'entries.0.time'"],
  ])('%s with %j is a 400 naming %s', async (target, body, field) => {
    const r = await awsJson(h.endpoint, target, body);
    expect(r.status).toBe(400);
    expect(JSON.parse(r.body).message).toContain(field);
  });

  test('ReceiveMessage with AttributeNames that is not a list refuses before taking a message', async () => {
    // GIVEN
    const { QueueUrl } = await h.sqs.send(new CreateQueueCommand({ QueueName: fresh() }));
    await h.sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: 'keep me' }));
    // WHEN
    const r = await raw(h.endpoint, {
      method: 'GET',
      path: `/?Action=ReceiveMessage&QueueUrl=${encodeURIComponent(QueueUrl!)}&AttributeNames.member.1=All`,
    });
    // THEN
    expect(r.status).toBe(400);
    expect(r.body).toContain('AttributeNames');
    expect(await visible(QueueUrl!)).toBe(1);
  });

  test.each([
    ['GetItem', 'Key.sk', { Key: { pk: { S: 'a' }, sk: null } }],
    ['PutItem', 'Item.x', { Item: { pk: { S: 'a' }, sk: { S: 'b' }, x: null } }],
  ])('DynamoDB %s with a null attribute value is a 400 naming %s', async (action, field, body) => {
    const r = await dynamo(h.endpoint, action, { TableName: table, ...body });
    expect(r.status).toBe(400);
    expect(JSON.parse(r.body).message).toContain(field);
    await stillServing();
  });

  test.each(['null', '[]', '"x"', '7'])('a DynamoDB body %s that is not an object is a 400', async (body) => {
    const r = await dynamo(h.endpoint, 'GetItem', body);
    expect(r.status).toBe(400);
    expect(JSON.parse(r.body).__type).toContain('SerializationException');
  });
});
