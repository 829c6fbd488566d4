/**
 * The local runtime on a split app deployed with an explicit environment: a router stack with the
 * bus and a consumer stack whose rule targets its queue by a deterministic ARN (Fn::Join of pseudo
 * parameters and literal names). The runtime runs in the app's account and region, so those ARNs
 * name its own queues and an event reaches the queue.
 */
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { startLocalRuntime } from '../../runtime';
import { appEnvironment } from '../../runtime/template';
import { cleanUp, writeAssembly } from './helpers';

afterAll(cleanUp);

const ACCOUNT = '111111111111';
const REGION = 'eu-west-1';
const BUS = 'orders';
const QUEUE = 'orders-billing';

const queueArn = { 'Fn::Join': [':', ['arn', { Ref: 'AWS::Partition' }, 'sqs', { Ref: 'AWS::Region' }, { Ref: 'AWS::AccountId' }, QUEUE]] };

const stacks = (consumerEnv: string) => [
  {
    id: 'Router',
    template: { Resources: { Bus: { Type: 'AWS::Events::EventBus', Properties: { Name: BUS } } } },
    environment: `aws://${ACCOUNT}/${REGION}`,
  },
  {
    id: 'Billing',
    environment: consumerEnv,
    dependencies: ['Router'],
    template: {
      Resources: {
        Queue: { Type: 'AWS::SQS::Queue', Properties: { QueueName: QUEUE } },
        Rule: {
          Type: 'AWS::Events::Rule',
          Properties: { Name: 'billing', EventBusName: BUS, EventPattern: { source: ['shop'] }, Targets: [{ Id: 'q', Arn: queueArn }] },
        },
      },
    },
  },
];

test('the app environment is the account and region its stacks agree on, and none when they span accounts', () => {
  expect(appEnvironment(writeAssembly(stacks(`aws://${ACCOUNT}/${REGION}`)))).toEqual({ account: ACCOUNT, region: REGION });
  expect(appEnvironment(writeAssembly(stacks('aws://unknown-account/unknown-region')))).toEqual({ account: ACCOUNT, region: REGION });
  expect(appEnvironment(writeAssembly(stacks(`aws://222222222222/${REGION}`)))).toEqual({ region: REGION });
});

test('an event published to the bus of the router stack reaches the queue the consumer stack names by ARN', async () => {
  // GIVEN
  const rt = await startLocalRuntime({
    assemblyDir: writeAssembly(stacks(`aws://${ACCOUNT}/${REGION}`)),
    port: 0,
    log: () => undefined,
    prewarm: false,
  });
  const config = { endpoint: rt.endpoint, region: REGION, credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 };
  const events = new EventBridgeClient(config);
  const sqs = new SQSClient(config);
  try {
    // WHEN
    const put = await events.send(
      new PutEventsCommand({ Entries: [{ EventBusName: BUS, Source: 'shop', DetailType: 'Paid', Detail: '{"n":1}' }] }),
    );
    // THEN
    expect(put.FailedEntryCount).toBe(0);
    const got = await sqs.send(new ReceiveMessageCommand({ QueueUrl: `${rt.endpoint}/${ACCOUNT}/${QUEUE}`, WaitTimeSeconds: 5 }));
    expect(got.Messages?.map((m) => JSON.parse(m.Body ?? '{}'))).toEqual([
      expect.objectContaining({ account: ACCOUNT, region: REGION, detail: { n: 1 } }),
    ]);
  } finally {
    events.destroy();
    sqs.destroy();
    await rt.close();
  }
});
