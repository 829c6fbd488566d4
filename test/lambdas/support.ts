/**
 * Test support for consumers: dynalite (a real DynamoDB implementation) started in-process,
 * the local PutEvents server, and factories for the SQS records EventBridge rules deliver.
 * Clients reach both through AWS_ENDPOINT_URL_DYNAMODB / AWS_ENDPOINT_URL_EVENTBRIDGE, the
 * same standard variables the local runtime sets, so handlers run exactly as deployed.
 */
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CreateTableCommand, DynamoDBClient, type CreateTableCommandInput } from '@aws-sdk/client-dynamodb';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { EventDefinition } from '../../sdk/catalog';
import { startPutEventsServer, type PutEventsServer } from '../../sdk/testing/put-events-server';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const dynalite: (options: Record<string, number>) => Server = require('dynalite');

export interface LocalAws {
  readonly dynamodb: DynamoDBClient;
  readonly eventBridge: PutEventsServer;
  close(): Promise<void>;
}

const idempotencyTable = (TableName: string): CreateTableCommandInput => ({
  TableName,
  KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
  AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
  BillingMode: 'PAY_PER_REQUEST',
});

const stateTable = (TableName: string): CreateTableCommandInput => ({
  TableName,
  KeySchema: [
    { AttributeName: 'pk', KeyType: 'HASH' },
    { AttributeName: 'sk', KeyType: 'RANGE' },
  ],
  AttributeDefinitions: [
    { AttributeName: 'pk', AttributeType: 'S' },
    { AttributeName: 'sk', AttributeType: 'S' },
  ],
  BillingMode: 'PAY_PER_REQUEST',
});

/**
 * Starts dynalite and the PutEvents server, creates an idempotency and a state table,
 * and sets the environment a consumer function gets from the stack.
 */
export async function startLocalAws(consumerName: string): Promise<LocalAws> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const eventBridge = await startPutEventsServer();
  Object.assign(process.env, {
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_ENDPOINT_URL_DYNAMODB: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    AWS_ENDPOINT_URL_EVENTBRIDGE: eventBridge.endpoint,
    EVENT_BUS_NAME: 'loans',
    IDEMPOTENCY_TABLE_NAME: `${consumerName}-idempotency`,
    STATE_TABLE_NAME: `${consumerName}-state`,
    CONSUMER_NAME: consumerName,
    POWERTOOLS_SERVICE_NAME: consumerName,
    POWERTOOLS_METRICS_NAMESPACE: 'LoanEvents',
    POWERTOOLS_LOG_LEVEL: 'INFO',
  });
  delete process.env.AWS_PROFILE;
  // No endpoint here: the client must find dynalite through AWS_ENDPOINT_URL_DYNAMODB.
  const dynamodb = new DynamoDBClient({});
  await dynamodb.send(new CreateTableCommand(idempotencyTable(`${consumerName}-idempotency`)));
  await dynamodb.send(new CreateTableCommand(stateTable(`${consumerName}-state`)));
  return {
    dynamodb,
    eventBridge,
    close: async () => {
      dynamodb.destroy();
      await eventBridge.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The EventBridge event a rule delivers for `definition` with this detail. */
export function eventBridgeEvent(definition: EventDefinition, detail: unknown, id: string = randomUUID()) {
  return {
    version: '0',
    id,
    'detail-type': definition.detailType,
    source: definition.source,
    account: '123456789012',
    time: '2026-01-15T10:00:00Z',
    region: 'eu-west-1',
    resources: [],
    detail,
  };
}

/** An SQS record carrying `body` (an object is serialised as the rule's SQS target does). */
export function sqsRecord(body: unknown, overrides: Partial<SQSRecord> = {}): SQSRecord {
  return {
    messageId: randomUUID(),
    receiptHandle: 'handle',
    body: typeof body === 'string' ? body : JSON.stringify(body),
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: '1768471200000',
      SenderId: 'AIDAEXAMPLE',
      ApproximateFirstReceiveTimestamp: '1768471200000',
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:eu-west-1:123456789012:consumer',
    awsRegion: 'eu-west-1',
    ...overrides,
  };
}

export const sqsEvent = (...records: SQSRecord[]): SQSEvent => ({ Records: records });

export function lambdaContext(functionName = 'consumer'): Context {
  const deadline = Date.now() + 30_000;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:eu-west-1:123456789012:function:${functionName}`,
    memoryLimitInMB: '256',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'stream',
    getRemainingTimeInMillis: () => deadline - Date.now(),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** Captures the JSON log lines and EMF blobs written to stdout and stderr while `fn` runs. */
export async function captureOutput<T>(fn: () => Promise<T>): Promise<{ result: T; lines: Array<Record<string, unknown>> }> {
  const chunks: string[] = [];
  const streams = [process.stdout, process.stderr];
  const originals = streams.map((s) => s.write.bind(s));
  for (const stream of streams) {
    stream.write = ((chunk: string | Uint8Array) => {
      chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return true;
    }) as typeof stream.write;
  }
  const lines = () =>
    chunks
      .join('')
      .split('\n')
      .filter((l) => l.trim().startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  try {
    return { result: await fn(), lines: lines() };
  } catch (error) {
    throw Object.assign(error as Error, { lines: lines() });
  } finally {
    streams.forEach((stream, i) => (stream.write = originals[i] as typeof stream.write));
  }
}

type SqsHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

/**
 * Registers beforeAll/afterAll that start local AWS for `consumerName` and then load its
 * function module (so the module sees the environment), and returns how to invoke it.
 */
export function useConsumerFunction(consumerName: string, load: () => Promise<{ handler: SqsHandler }>) {
  let aws: LocalAws | undefined;
  let handler: SqsHandler | undefined;
  beforeAll(async () => {
    aws = await startLocalAws(consumerName);
    ({ handler } = await load());
  });
  afterAll(async () => {
    await aws?.close();
  });
  return {
    get aws(): LocalAws {
      if (!aws) throw new Error('local AWS is not started yet');
      return aws;
    },
    invoke(event: SQSEvent) {
      if (!handler) throw new Error(`${consumerName} is not loaded yet`);
      const h = handler;
      return captureOutput(() => h(event, lambdaContext(consumerName)));
    },
  };
}
