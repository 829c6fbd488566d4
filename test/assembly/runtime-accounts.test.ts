/**
 * The local runtime on an app whose consumer lives in another account: the router stack (account
 * A) holds the bus, the subscription rule and the delivery dead-letter queue; the consumer stack
 * (account B) holds the queue the rule targets by ARN and the function that consumes it. This is
 * EventBridge's direct cross-account delivery to SQS, run on one machine.
 */
import '../support/sdk-warning';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GetQueueUrlCommand, ListQueuesCommand, ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { startLocalRuntime, type LocalRuntime } from '../../runtime';
import { VirtualClock, driveWhenIdle } from '../../runtime/clock';
import { runtimeActivity } from '../../runtime/stream';
import { arns, partitionOf } from '../../assembly/arn';
import { record, waitFor, type Recorder } from '../runtime/helpers';
import { cleanUp, writeAssembly } from './helpers';

jest.setTimeout(60_000);

const A = '111111111111';
const B = '222222222222';
const REGION = 'eu-west-1';
const envA = { partition: partitionOf(REGION), account: A, region: REGION };
const envB = { partition: partitionOf(REGION), account: B, region: REGION };
const BUS = 'orders';
const QUEUE = 'orders-billing';
const MISSING = 'orders-gone';
const SHARED = 'shared';
const DLQ = 'orders-billing-delivery-dlq';
const FUNCTION = 'billing-consumer';

const consumerCode = `exports.handler = async (event, context) => {
  console.log('CONSUMED ' + JSON.stringify({
    region: process.env.AWS_REGION,
    functionArn: context.invokedFunctionArn,
    records: event.Records.map((r) => ({ source: r.eventSourceARN, region: r.awsRegion, event: JSON.parse(r.body) })),
  }));
  return { batchItemFailures: [] };
};`;

const subscription = (name: string, source: string, queueArn: string) => ({
  Type: 'AWS::Events::Rule',
  Properties: {
    Name: name,
    EventBusName: { Ref: 'Bus' },
    EventPattern: { source: [source] },
    Targets: [{ Id: 'queue', Arn: queueArn, DeadLetterConfig: { Arn: { 'Fn::GetAtt': ['DeliveryDlq', 'Arn'] } } }],
  },
});

const stacks = [
  {
    id: 'Router',
    environment: `aws://${A}/${REGION}`,
    template: {
      Resources: {
        Bus: { Type: 'AWS::Events::EventBus', Properties: { Name: BUS } },
        DeliveryDlq: { Type: 'AWS::SQS::Queue', Properties: { QueueName: DLQ } },
        Shared: { Type: 'AWS::SQS::Queue', Properties: { QueueName: SHARED } },
        Billing: subscription('billing', 'shop', arns.queue(envB, QUEUE)),
        Gone: subscription('gone', 'shop.gone', arns.queue(envB, MISSING)),
      },
    },
  },
  {
    id: 'Billing',
    environment: `aws://${B}/${REGION}`,
    dependencies: ['Router'],
    template: {
      Resources: {
        Queue: { Type: 'AWS::SQS::Queue', Properties: { QueueName: QUEUE, VisibilityTimeout: 30 } },
        Shared: { Type: 'AWS::SQS::Queue', Properties: { QueueName: SHARED } },
        Consumer: {
          Type: 'AWS::Lambda::Function',
          Properties: { FunctionName: FUNCTION, Handler: 'index.handler', Runtime: 'nodejs20.x', Code: { ZipFile: consumerCode } },
        },
        Mapping: {
          Type: 'AWS::Lambda::EventSourceMapping',
          Properties: {
            EventSourceArn: { 'Fn::GetAtt': ['Queue', 'Arn'] },
            FunctionName: { Ref: 'Consumer' },
            BatchSize: 10,
            FunctionResponseTypes: ['ReportBatchItemFailures'],
          },
        },
      },
    },
  },
];

let rt: LocalRuntime;
let recorded: Recorder;
let events: EventBridgeClient;
let sqs: SQSClient;
const lines: string[] = [];
let stopDriving: () => void = () => undefined;

beforeAll(async () => {
  // Long polls and visibility timeouts pass on a clock that jumps whenever the runtime is idle.
  const clock = new VirtualClock();
  rt = await startLocalRuntime({ assemblyDir: writeAssembly(stacks), port: 0, log: (l) => lines.push(l), clock, prewarm: false });
  recorded = record(rt.stream);
  const activity = runtimeActivity(rt.stream);
  const driver = driveWhenIdle(clock, activity);
  stopDriving = () => {
    driver.stop();
    activity.stop();
  };
  const config = { endpoint: rt.endpoint, region: REGION, credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 };
  events = new EventBridgeClient(config);
  sqs = new SQSClient(config);
});

afterAll(async () => {
  stopDriving();
  events?.destroy();
  sqs?.destroy();
  await rt?.close();
  recorded?.stop();
  cleanUp();
});

const url = (account: string, name: string) => `${rt.endpoint}/${account}/${name}`;

test("an event put on account A's bus is delivered to account B's queue and consumed by B's function", async () => {
  // WHEN
  const put = await events.send(
    new PutEventsCommand({ Entries: [{ EventBusName: BUS, Source: 'shop', DetailType: 'OrderPaid', Detail: '{"orderId":"o-1"}' }] }),
  );
  // THEN
  expect(put.FailedEntryCount).toBe(0);
  const line = await waitFor('the consumer in account B', () => lines.find((l) => l.includes('CONSUMED ')));
  const seen = JSON.parse(line.slice(line.indexOf('CONSUMED ') + 'CONSUMED '.length));
  expect(seen).toEqual({
    region: REGION,
    functionArn: arns.function(envB, FUNCTION),
    records: [
      {
        source: arns.queue(envB, QUEUE),
        region: REGION,
        // The event keeps the sender's account; the rule that matched it is in the bus's account.
        event: expect.objectContaining({ account: A, region: REGION, source: 'shop', detail: { orderId: 'o-1' } }),
      },
    ],
  });
  expect(recorded.of('target.delivered', (d) => d.targetArn === arns.queue(envB, QUEUE))).toEqual([
    expect.objectContaining({ ruleArn: arns.rule(envA, BUS, 'billing') }),
  ]);
});

test('queues of the same name in two accounts stay separate, and the URL path chooses the account', async () => {
  // WHEN
  await sqs.send(new SendMessageCommand({ QueueUrl: url(B, SHARED), MessageBody: 'for B' }));
  // THEN
  const inA = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url(A, SHARED), WaitTimeSeconds: 0 }));
  const inB = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url(B, SHARED), WaitTimeSeconds: 0 }));
  expect(inA.Messages ?? []).toEqual([]);
  expect(inB.Messages?.map((m) => m.Body)).toEqual(['for B']);
});

test("GetQueueUrl finds another account's queue with QueueOwnerAWSAccountId, and ListQueues lists the caller's account", async () => {
  // The caller is the router's account (the first stack) until requests carry identities.
  const own = await sqs.send(new GetQueueUrlCommand({ QueueName: SHARED }));
  const other = await sqs.send(new GetQueueUrlCommand({ QueueName: SHARED, QueueOwnerAWSAccountId: B }));
  expect(own.QueueUrl).toBe(url(A, SHARED));
  expect(other.QueueUrl).toBe(url(B, SHARED));
  await expect(sqs.send(new GetQueueUrlCommand({ QueueName: QUEUE }))).rejects.toMatchObject({ name: 'QueueDoesNotExist' });
  const listed = await sqs.send(new ListQueuesCommand({}));
  const routerQueues = stacks[0]!.template.Resources;
  const expected = Object.values(routerQueues)
    .filter((r) => r.Type === 'AWS::SQS::Queue')
    .map((r) => url(A, (r.Properties as { QueueName: string }).QueueName));
  expect([...(listed.QueueUrls ?? [])].sort()).toEqual(expected.sort());
});

test("a target naming a missing queue in another account fails to the target's dead-letter queue", async () => {
  // WHEN
  const put = await events.send(
    new PutEventsCommand({ Entries: [{ EventBusName: BUS, Source: 'shop.gone', DetailType: 'OrderPaid', Detail: '{"orderId":"o-2"}' }] }),
  );
  // THEN
  expect(put.FailedEntryCount).toBe(0);
  const dead = recorded.of('target.dead-lettered', (d) => d.targetArn === arns.queue(envB, MISSING));
  expect(dead).toEqual([
    expect.objectContaining({
      ruleArn: arns.rule(envA, BUS, 'gone'),
      deadLetterQueueArn: arns.queue(envA, DLQ),
      errorCode: 'SQS.NonExistentQueue',
      retryAttempts: 0,
    }),
  ]);
  const got = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url(A, DLQ), WaitTimeSeconds: 0, MessageAttributeNames: ['All'] }));
  expect(got.Messages?.map((m) => JSON.parse(m.Body ?? '{}').detail)).toEqual([{ orderId: 'o-2' }]);
});

test("EventBusName as the ARN of a bus resolves to that account's bus, and to nothing when no such bus runs locally", async () => {
  const put = await events.send(
    new PutEventsCommand({
      Entries: [
        { EventBusName: arns.eventBus(envA, BUS), Source: 'shop.gone', DetailType: 'OrderPaid', Detail: '{"orderId":"o-3"}' },
        { EventBusName: arns.eventBus(envB, BUS), Source: 'shop', DetailType: 'OrderPaid', Detail: '{"orderId":"o-4"}' },
      ],
    }),
  );
  expect(put.Entries?.map((e) => e.ErrorCode)).toEqual([undefined, 'ResourceNotFoundException']);
  const id = put.Entries?.[0]?.EventId;
  expect(recorded.of('event.published', (e) => e.eventId === id).map((e) => e.busArn)).toEqual([arns.eventBus(envA, BUS)]);
});

test('two accounts defining the same table name are refused at start, naming both', async () => {
  const table = (account: string, id: string) => ({
    id,
    environment: `aws://${account}/${REGION}`,
    template: {
      Resources: {
        Table: {
          Type: 'AWS::DynamoDB::Table',
          Properties: {
            TableName: 'ledger',
            KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
            AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
          },
        },
      },
    },
  });
  await expect(
    startLocalRuntime({ assemblyDir: writeAssembly([table(A, 'One'), table(B, 'Two')]), port: 0, log: () => undefined, prewarm: false }),
  ).rejects.toThrow(new RegExp(`Table ledger is defined in ${A}/${REGION} \\(stack One\\) and in ${B}/${REGION} \\(stack Two\\)`));
});
