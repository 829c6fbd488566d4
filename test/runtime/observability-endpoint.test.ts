/**
 * The endpoint's routing of CloudWatch Logs, CloudTrail and CloudWatch (all three of its wire
 * protocols), CloudTrail records for every service the endpoint serves, and hostile input to the
 * new targets: AWS-shaped errors, no crash, no prototype write.
 */
import * as http from 'node:http';
import { cbor } from '@smithy/core/cbor';
import { CloudTrailClient, LookupEventsCommand } from '@aws-sdk/client-cloudtrail';
import { CloudWatchLogsClient, DescribeLogGroupsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { ListEventBusesCommand } from '@aws-sdk/client-eventbridge';
import { ListQueuesCommand } from '@aws-sdk/client-sqs';
import { FIXTURE_APP, REGION, aws, startHarness, type Harness } from './helpers';
import { awsJson, query, raw } from './raw-http';

jest.setTimeout(120_000);

let h: Harness;
let trail: CloudTrailClient;
let logs: CloudWatchLogsClient;

beforeAll(async () => {
  h = await startHarness(FIXTURE_APP, { quiet: true, prewarm: false });
  const config = { endpoint: h.endpoint, region: REGION, credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 };
  trail = new CloudTrailClient(config);
  logs = new CloudWatchLogsClient(config);
});
afterAll(async () => {
  trail?.destroy();
  logs?.destroy();
  await h?.close();
});

/** A Smithy RPC v2 CBOR request, as @aws-sdk/client-cloudwatch sends it; the answer decoded. */
function cborCall(
  operation: string,
  input: unknown,
  body?: Buffer,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: any }> {
  const url = new URL(h.endpoint);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        method: 'POST',
        path: `/service/GraniteServiceVersion20100801/operation/${operation}`,
        headers: { 'Content-Type': 'application/cbor', Accept: 'application/cbor', 'smithy-protocol': 'rpc-v2-cbor' },
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const bytes = Buffer.concat(chunks);
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: bytes.length ? cbor.deserialize(new Uint8Array(bytes)) : undefined,
          });
        });
      },
    );
    req.on('error', reject);
    req.end(body ?? Buffer.from(cbor.serialize(input)));
  });
}

test('every service the endpoint serves is recorded in CloudTrail event history, failures included', async () => {
  // GIVEN one call to each service, in each protocol
  await h.events.send(new ListEventBusesCommand({}));
  await h.sqs.send(new ListQueuesCommand({}));
  expect((await query(h.endpoint, { Action: 'ListQueues', Version: '2012-11-05' })).status).toBe(200);
  expect((await aws(h.endpoint, 'sts', 'get-caller-identity')).code).toBe(0);
  await logs.send(new DescribeLogGroupsCommand({}));
  expect((await aws(h.endpoint, 'cloudwatch', 'describe-alarms')).code).toBe(0);
  const listed = await cborCall('ListMetrics', {});
  expect(listed.status).toBe(200);
  expect(listed.headers['smithy-protocol']).toBe('rpc-v2-cbor');
  expect(listed.body).toEqual(expect.objectContaining({ Metrics: expect.any(Array) }));
  expect((await query(h.endpoint, { Action: 'ListMetrics', Version: '2010-08-01' })).body).toMatch(/^<ListMetricsResponse/);
  const failed = await awsJson(h.endpoint, 'Logs_20140328.DescribeLogStreams', { logGroupName: '/no/such/group' });
  expect(failed.status).toBe(400);
  // WHEN
  const names = async (source: string) => {
    const r = await trail.send(new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: 'EventSource', AttributeValue: source }] }));
    return (r.Events ?? []).map((e) => e.EventName);
  };
  // THEN
  expect(await names('events.amazonaws.com')).toContain('ListEventBuses');
  expect((await names('sqs.amazonaws.com')).filter((n) => n === 'ListQueues')).toHaveLength(2);
  expect(await names('sts.amazonaws.com')).toContain('GetCallerIdentity');
  expect(await names('logs.amazonaws.com')).toEqual(expect.arrayContaining(['DescribeLogGroups', 'DescribeLogStreams']));
  expect(await names('monitoring.amazonaws.com')).toEqual(expect.arrayContaining(['DescribeAlarms', 'ListMetrics', 'ListMetrics']));
  expect(await names('cloudtrail.amazonaws.com')).toContain('LookupEvents');
  const notFound = await trail.send(
    new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'DescribeLogStreams' }] }),
  );
  expect(JSON.parse(notFound.Events![0]!.CloudTrailEvent!)).toMatchObject({
    errorCode: 'ResourceNotFoundException',
    requestParameters: { logGroupName: '/no/such/group' },
  });
});

describe('hostile input to the new endpoints', () => {
  const json11 = (target: string, body: string) =>
    raw(h.endpoint, { headers: { 'Content-Type': 'application/x-amz-json-1.1', 'X-Amz-Target': target }, body });

  test.each([
    ['Logs: a body that is not JSON', () => json11('Logs_20140328.DescribeLogGroups', '{'), 'SerializationException'],
    [
      'Logs: a __proto__ member',
      () => json11('Logs_20140328.DescribeLogGroups', '{"__proto__":{"polluted":1}}'),
      'InvalidParameterException',
    ],
    ['Logs: an operation named constructor', () => json11('Logs_20140328.constructor', '{}'), 'UnknownOperationException'],
    [
      'Logs: a filter pattern over 1,024 characters',
      async () => {
        await json11('Logs_20140328.CreateLogGroup', '{"logGroupName":"/hostile/group"}');
        return json11('Logs_20140328.FilterLogEvents', JSON.stringify({ logGroupName: '/hostile/group', filterPattern: 'x'.repeat(1025) }));
      },
      'InvalidParameterException',
    ],
    [
      'Logs: nesting past the limit',
      () => json11('Logs_20140328.DescribeLogGroups', '{"a":'.repeat(40) + '1' + '}'.repeat(40)),
      'InvalidParameterException',
    ],
    ['CloudTrail: an operation named __proto__', () => json11('CloudTrail_20131101.__proto__', '{}'), 'UnknownOperationException'],
    [
      'CloudTrail: MaxResults as an object',
      () => json11('CloudTrail_20131101.LookupEvents', '{"MaxResults":{}}'),
      'InvalidMaxResultsException',
    ],
    ['CloudTrail: a body that is a list', () => json11('CloudTrail_20131101.LookupEvents', '[]'), 'SerializationException'],
  ])('%s: a 400 with the error in __type', async (_name, send, code) => {
    const r = await send();
    expect(r.status).toBe(400);
    expect(r.headers['content-type']).toBe('application/x-amz-json-1.1');
    expect(JSON.parse(r.body)).toEqual({ __type: code, message: expect.any(String) });
  });

  test('CloudWatch: a CBOR body that does not parse, a JSON 1.0 body that does not parse, a query key that would reach a prototype', async () => {
    const c = await cborCall('ListMetrics', undefined, Buffer.from([0xff, 0x00, 0x9f]));
    expect(c.status).toBe(400);
    expect(c.headers['x-amzn-query-error']).toMatch(/^SerializationException;Sender$/);
    const j = await raw(h.endpoint, {
      headers: { 'Content-Type': 'application/x-amz-json-1.0', 'X-Amz-Target': 'GraniteServiceVersion20100801.ListMetrics' },
      body: '{',
    });
    expect(j.status).toBe(400);
    expect(JSON.parse(j.body).__type).toBe('com.amazonaws.cloudwatch#SerializationException');
    const q = await query(h.endpoint, { Action: 'ListMetrics', Version: '2010-08-01', '__proto__.polluted': '1' });
    expect(q.status).toBe(400);
    expect(q.body).toMatch(/<Code>InvalidParameterValue<\/Code>/);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    // And the endpoint still answers.
    expect((await cborCall('ListMetrics', {})).status).toBe(200);
  });
});
