/**
 * An error while serving one request costs that request alone: the server answers 500
 * InternalFailure in the caller's protocol (or closes that connection when the answer had
 * started) and goes on serving. The services here are stand-ins that fail on purpose.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { EventBroker } from '../../runtime/events';
import { RuntimeLog } from '../../runtime/log';
import { createHandler, type Services } from '../../runtime/server';
import type { SqsBroker } from '../../runtime/sqs';
import { awsJson, dynamo, query, raw } from './raw-http';

let server: http.Server;
let endpoint: string;
const lines: string[] = [];
let dynamoMode: 'throw' | 'throw-after-head' = 'throw';

// EventBridge: reading the buses throws; SQS: a queue whose receive rejects later.
const failing = {
  get buses(): never {
    throw new TypeError('stand-in broker: buses fails');
  },
};
const rejecting = {
  log: { event: () => undefined },
  byUrl: () => ({
    receive: async () => {
      await new Promise((resolve) => setTimeout(resolve, 10));
      throw new Error('stand-in broker: receive rejects');
    },
  }),
};

beforeAll(async () => {
  const services: Services = {
    log: new RuntimeLog((l) => lines.push(l), false),
    sqs: rejecting as unknown as SqsBroker,
    events: failing as unknown as EventBroker,
    accountId: '000000000000',
    ready: Promise.resolve(),
    dynamodb: (_req, res) => {
      if (dynamoMode === 'throw-after-head') {
        res.writeHead(200, { 'Content-Type': 'application/x-amz-json-1.0' });
        res.write('{"Ta');
      }
      throw new Error('dynalite stand-in throws');
    },
  };
  server = http.createServer(createHandler(services));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => new Promise<void>((resolve) => server.close(() => resolve())));

test('a service throwing synchronously answers 500 InternalFailure in EventBridge JSON', async () => {
  const r = await awsJson(endpoint, 'AWSEvents.ListEventBuses', {});
  expect(r.status).toBe(500);
  expect(JSON.parse(r.body).__type).toBe('InternalFailure');
  expect(lines.join('\n')).toContain('stand-in broker');
});

test('a service rejecting asynchronously answers 500 InternalFailure in the query protocol', async () => {
  const r = await query(endpoint, { Action: 'ReceiveMessage', QueueUrl: 'http://x/000000000000/q' });
  expect(r.status).toBe(500);
  expect(r.body).toContain('<Code>InternalFailure</Code>');
});

test('dynalite throwing while it handles the request answers 500 and the server goes on', async () => {
  dynamoMode = 'throw';
  const r = await dynamo(endpoint, 'ListTables', {});
  expect(r.status).toBe(500);
  expect(JSON.parse(r.body).__type).toContain('InternalFailure');
  expect((await awsJson(endpoint, 'AWSEvents.ListEventBuses', {})).status).toBe(500);
});

test('an error after the answer started closes that connection only', async () => {
  dynamoMode = 'throw-after-head';
  await expect(dynamo(endpoint, 'ListTables', {})).rejects.toThrow();
  const r = await raw(endpoint, { method: 'GET', path: '/?Action=GetCallerIdentity' });
  expect(r.status).toBe(200);
});
