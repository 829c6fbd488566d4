/**
 * The publisher through the real SDK client and HTTP stack, against the local PutEvents
 * server: the JSON protocol, the endpoint taken from AWS_ENDPOINT_URL_EVENTBRIDGE, and
 * failures as EventBridge reports them on the wire.
 */
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { loanCatalog } from '../../catalog/loans';
import { EventPublisher } from '../../sdk';
import { startPutEventsServer, type PutEventsServer } from '../../sdk/testing/put-events-server';
import { seededRandom, submittedEntry } from './factories';

let server: PutEventsServer;
let client: EventBridgeClient;

beforeAll(async () => {
  server = await startPutEventsServer();
  Object.assign(process.env, {
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_ENDPOINT_URL_EVENTBRIDGE: server.endpoint,
  });
  // No endpoint in the code: the SDK must take it from AWS_ENDPOINT_URL_EVENTBRIDGE.
  client = new EventBridgeClient({});
});
afterAll(async () => {
  client.destroy();
  await server.close();
});
beforeEach(() => {
  server.accepted.length = 0;
  server.failEntry = undefined;
  server.failRequest = undefined;
});

test('sends entries over HTTP with Time and Resources, and returns the ids the server gave', async () => {
  const time = new Date('2026-01-15T10:00:00Z');
  const result = await new EventPublisher({ eventBusName: 'loans', catalog: loanCatalog, client }).publish([
    { ...submittedEntry(1), time, resources: ['arn:aws:s3:::b'] },
    submittedEntry(2),
  ]);
  expect(result.successCount).toBe(2);
  expect(server.accepted.map((e) => e.EventId)).toEqual(result.outcomes.map((o) => o.eventId));
  expect(server.accepted[0]).toMatchObject({ EventBusName: 'loans', Time: time.getTime() / 1000, Resources: ['arn:aws:s3:::b'] });
});

test('500 events with a fifth of the entries throttled at random arrive once each', async () => {
  const random = seededRandom(7);
  server.failEntry = () => (random() < 0.2 ? 'ThrottlingException' : undefined);
  const result = await new EventPublisher({ eventBusName: 'loans', catalog: loanCatalog, client, baseDelayMs: 1, maxAttempts: 20 }).publish(
    Array.from({ length: 500 }, (_, i) => submittedEntry(i)),
  );
  expect(result).toMatchObject({ successCount: 500, failedCount: 0 });
  const ids = server.accepted.map((e) => JSON.parse(e.Detail ?? '').data.applicationId);
  expect(ids.sort()).toEqual(Array.from({ length: 500 }, (_, i) => `app-${i}`).sort());
});

test('reports a whole-request authorisation failure for each entry', async () => {
  server.failRequest = { status: 400, type: 'AccessDeniedException', message: 'User is not authorized to perform: events:PutEvents' };
  const result = await new EventPublisher({ eventBusName: 'loans', catalog: loanCatalog, client }).publish([
    submittedEntry(1),
    submittedEntry(2),
  ]);
  expect(result.outcomes).toEqual(
    [0, 1].map((index) => ({
      index,
      errorCode: 'AccessDeniedException',
      errorMessage: 'User is not authorized to perform: events:PutEvents',
    })),
  );
});

test('publishing nothing sends nothing', async () => {
  const before = server.requests;
  expect(await new EventPublisher({ eventBusName: 'loans', catalog: loanCatalog, client }).publish([])).toEqual({
    outcomes: [],
    successCount: 0,
    failedCount: 0,
  });
  expect(server.requests).toBe(before);
});
