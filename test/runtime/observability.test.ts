/**
 * CloudTrail and CloudWatch Logs served by the runtime running the real app, driven with the SDK
 * v3 clients, the unmodified AWS CLI and the project's `trace` and `audit` commands: what a
 * published application leaves in the trail's log group, event history and the functions' log
 * groups, and the transaction tree `trace` rebuilds from them.
 */
import * as http from 'node:http';
import * as path from 'node:path';
import { CloudTrailClient, LookupEventsCommand } from '@aws-sdk/client-cloudtrail';
import {
  CloudWatchLogsClient,
  DescribeLogGroupsCommand,
  DescribeLogStreamsCommand,
  FilterLogEventsCommand,
  GetLogEventsCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import { DescribeRuleCommand, PutRuleCommand } from '@aws-sdk/client-eventbridge';
import { GetQueueAttributesCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import {
  ApplicantNotified,
  LoanApplicationApproved,
  LoanApplicationSubmitted,
  loanCatalog,
  notifications,
  underwriting,
} from '../../catalog/loans';
import { app } from '../../catalog';
import { ensureSynth } from '../../assembly';
import { loadTopology, type Topology } from '../../runtime/template';
import { EventPublisher } from '../../sdk';
import { names, type DataOf } from '../../sdk/catalog';
import { json, runCli } from '../cli/helpers';
import { ACCOUNT, REGION, aws, startIdleDrivenHarness, waitFor, type Harness } from './helpers';

jest.setTimeout(240_000);

const CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };
const ROOT = `arn:aws:iam::${ACCOUNT}:root`;
/** A consumer's function publishes as a session of its execution role, as on Lambda. */
const sessionArnOf = (consumer: string) => `arn:aws:sts::${ACCOUNT}:assumed-role/${names.consumerRole(app, consumer)}/`;
/** `audit` groups a role's sessions under the role. */
const isRoleOf = (consumer: string) => (principal: string) =>
  principal === `arn:aws:iam::${ACCOUNT}:role/${names.consumerRole(app, consumer)}` || principal.startsWith(sessionArnOf(consumer));
const sessionOf = (consumer: string) => expect.stringContaining(sessionArnOf(consumer));
const TRAIL_STREAM = `${ACCOUNT}_CloudTrail_${REGION}`;

let h: Harness;
let topo: Topology;
let logs: CloudWatchLogsClient;
let trail: CloudTrailClient;
let trailGroup: string;
let started: number;
let correlationId: string;
let submittedId: string;
/** The project folder: the CLI finds the synthesized app in its cdk.out. */
let cwd: string;

function application(id: string): DataOf<typeof LoanApplicationSubmitted> {
  return {
    applicationId: id,
    applicant: { applicantId: `applicant-${id}`, name: 'Ada Lovelace', email: 'ada@example.com', annualIncome: 150_000, creditScore: 780 },
    amount: 200_000,
    currency: 'USD',
    termMonths: 360,
    purpose: 'home',
    channel: 'web',
    submittedAt: new Date().toISOString(),
  };
}

/** Every event of a FilterLogEvents query, following nextToken. */
async function filterAll(logGroupName: string, filterPattern?: string): Promise<{ logStreamName?: string; message?: string }[]> {
  const out: { logStreamName?: string; message?: string }[] = [];
  let nextToken: string | undefined;
  do {
    const r = await logs.send(new FilterLogEventsCommand({ logGroupName, ...(filterPattern ? { filterPattern } : {}), nextToken }));
    out.push(...(r.events ?? []));
    nextToken = r.nextToken;
  } while (nextToken);
  return out;
}

/** The trail's records in its log group, parsed. */
async function trailRecords(filterPattern?: string): Promise<Record<string, any>[]> {
  return (await filterAll(trailGroup, filterPattern)).map((e) => JSON.parse(e.message!) as Record<string, any>);
}

/** A browser page on another origin calling PutRule: the edge refuses it. */
function refusedPutRule(): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const url = new URL(h.endpoint);
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        method: 'POST',
        path: '/',
        headers: {
          'Content-Type': 'application/x-amz-json-1.1',
          'X-Amz-Target': 'AWSEvents.PutRule',
          Origin: 'http://evil.example',
        },
      },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', reject);
    req.end('{"Name":"x"}');
  });
}

beforeAll(async () => {
  const assembly = await ensureSynth();
  cwd = path.dirname(assembly);
  // The flow below runs underwriting and notifications only: each starts on its first event, and manual review never does.
  h = await startIdleDrivenHarness(assembly, { prewarm: false });
  started = h.clock!.now();
  topo = loadTopology(assembly, { region: REGION, accountId: ACCOUNT, endpoint: h.endpoint });
  trailGroup = topo.trails[0]!.logGroupName;
  const config = { endpoint: h.endpoint, region: REGION, credentials: CREDENTIALS, maxAttempts: 1 };
  logs = new CloudWatchLogsClient(config);
  trail = new CloudTrailClient(config);
  // GIVEN one approved application, published with the project's publisher
  const publisher = new EventPublisher({ eventBusName: 'loan-events', catalog: loanCatalog, client: h.events });
  correlationId = `corr-${Date.now().toString(36)}`;
  submittedId = await publisher.publishEvent(LoanApplicationSubmitted, application(`app-trail-${correlationId}`), { correlationId });
  // WHEN the flow has run to its end: the applicant was notified
  await waitFor(
    'ApplicantNotified',
    () => (h.recorded.of('event.published', (p) => p.detailType === ApplicantNotified.detailType).length > 0 ? true : undefined),
    120_000,
  );
});

afterAll(async () => {
  logs?.destroy();
  trail?.destroy();
  await h?.close();
});

describe('CloudWatch Logs', () => {
  test("the stack's log groups exist with their retention, and functions write to their LoggingConfig group", async () => {
    const groups = (await logs.send(new DescribeLogGroupsCommand({}))).logGroups ?? [];
    const byName = new Map(groups.map((g) => [g.logGroupName, g]));
    expect(topo.logGroups.length).toBeGreaterThan(0);
    for (const g of topo.logGroups) expect(byName.get(g.name)?.retentionInDays).toBe(g.retentionInDays);
    // Each function of the template writes to the group its LoggingConfig names.
    for (const f of topo.functions) expect(byName.has(f.logging?.logGroup ?? `/aws/lambda/${f.name}`)).toBe(true);
  });

  test("a function's streams are named as Lambda names them and hold the handler's Powertools lines", async () => {
    const underwriting = topo.functions.find((f) => f.name.endsWith('-underwriting'))!;
    const group = underwriting.logging?.logGroup ?? `/aws/lambda/${underwriting.name}`;
    const streams = (await logs.send(new DescribeLogStreamsCommand({ logGroupName: group }))).logStreams ?? [];
    expect(streams.length).toBeGreaterThan(0);
    for (const s of streams) expect(s.logStreamName).toMatch(/^\d{4}\/\d{2}\/\d{2}\/\[\$LATEST\][0-9a-f]{32}$/);
    const lines = (await filterAll(group, `{ $.correlationId = "${correlationId}" }`)).map((e) => JSON.parse(e.message!));
    expect(lines.map((l) => l.message)).toContain('Event processed');
    expect(lines.every((l) => l.correlationId === correlationId && l.eventId === submittedId)).toBe(true);
    // GetLogEvents reads one stream from its head.
    const stream = streams.find((s) => (s.lastEventTimestamp ?? 0) > 0)!;
    const events = await logs.send(
      new GetLogEventsCommand({ logGroupName: group, logStreamName: stream.logStreamName, startFromHead: true }),
    );
    expect(events.events!.length).toBeGreaterThan(0);
  });
});

describe('CloudTrail', () => {
  test('the PutEvents data event is in the trail log group, with the caller, the entries and the event ids', async () => {
    const puts = await trailRecords('{ $.eventName = "PutEvents" }');
    const mine = puts.find((r) => r.responseElements?.entries?.some((e: { eventId?: string }) => e.eventId === submittedId));
    expect(mine).toMatchObject({
      eventVersion: '1.11',
      eventSource: 'events.amazonaws.com',
      eventName: 'PutEvents',
      awsRegion: REGION,
      userIdentity: { type: 'Root', arn: ROOT, accountId: ACCOUNT },
      eventCategory: 'Data',
      managementEvent: false,
      readOnly: false,
      recipientAccountId: ACCOUNT,
      resources: [{ type: 'AWS::Events::EventBus', ARN: `arn:aws:events:${REGION}:${ACCOUNT}:event-bus/loan-events` }],
    });
    expect(mine!.requestParameters.entries[0]).toMatchObject({
      source: LoanApplicationSubmitted.source,
      detailType: LoanApplicationSubmitted.detailType,
      eventBusName: 'loan-events',
    });
    const streams = (await logs.send(new DescribeLogStreamsCommand({ logGroupName: trailGroup }))).logStreams ?? [];
    expect(streams.map((s) => s.logStreamName)).toEqual([TRAIL_STREAM]);
  });

  test('data events the trail does not select (SQS) are not delivered, and LookupEvents never returns data events', async () => {
    // GIVEN an SQS data event and a management event of the same queue
    const queueUrl = h.queueUrl(topo.queues[0]!.name);
    await h.sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'not a loan event' }));
    await h.sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }));
    // THEN the trail delivers the management event only
    const records = await trailRecords('{ $.eventSource = "sqs.amazonaws.com" }');
    expect(records.map((r) => r.eventName)).toContain('GetQueueAttributes');
    expect(records.map((r) => r.eventName)).not.toContain('SendMessage');
    // and event history holds no data event: neither PutEvents nor SendMessage
    for (const name of ['PutEvents', 'SendMessage']) {
      const lookup = await trail.send(new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: name }] }));
      expect(lookup.Events).toEqual([]);
    }
    const managed = await trail.send(
      new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'GetQueueAttributes' }] }),
    );
    expect(managed.Events!.length).toBeGreaterThan(0);
  });

  test('a failed management call is in event history and in the trail with its error, and pages follow NextToken', async () => {
    // GIVEN a call that fails
    await expect(h.events.send(new DescribeRuleCommand({ Name: 'no-such-rule', EventBusName: 'loan-events' }))).rejects.toThrow();
    // THEN
    const r = await trail.send(
      new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'DescribeRule' }] }),
    );
    expect(r.Events).toHaveLength(1);
    const e = r.Events![0]!;
    expect(e).toMatchObject({ EventName: 'DescribeRule', EventSource: 'events.amazonaws.com', ReadOnly: 'true', Username: 'root' });
    expect(e.EventTime).toBeInstanceOf(Date);
    const record = JSON.parse(e.CloudTrailEvent!);
    expect(record).toMatchObject({
      errorCode: 'ResourceNotFoundException',
      requestParameters: { name: 'no-such-rule', eventBusName: 'loan-events' },
      responseElements: null,
      eventCategory: 'Management',
    });
    expect((await trailRecords('{ $.errorCode = "ResourceNotFoundException" }')).map((x) => x.eventID)).toContain(record.eventID);
    // Paging: one event per page, no event twice.
    const seen: string[] = [];
    let token: string | undefined;
    for (let i = 0; i < 3; i++) {
      const page = await trail.send(new LookupEventsCommand({ MaxResults: 1, NextToken: token }));
      expect(page.Events).toHaveLength(1);
      seen.push(page.Events![0]!.EventId!);
      token = page.NextToken;
      expect(token).toBeDefined();
    }
    expect(new Set(seen).size).toBe(3);
  });

  test('a request the edge refuses is recorded as denied', async () => {
    // GIVEN a browser page on another origin calling PutRule
    const status = await refusedPutRule();
    expect(status).toBe(403);
    const denied = await trailRecords('{ $.errorCode = "AccessDenied*" }');
    expect(denied.some((r) => r.eventName === 'PutRule' && r.errorCode === 'AccessDeniedException')).toBe(true);
  });

  test('the unmodified AWS CLI reads event history and the trail log group', async () => {
    const lookup = await aws(
      h.endpoint,
      'cloudtrail',
      'lookup-events',
      '--lookup-attributes',
      'AttributeKey=EventSource,AttributeValue=logs.amazonaws.com',
    );
    expect(lookup.code).toBe(0);
    expect(lookup.json.Events.length).toBeGreaterThan(0);
    expect(lookup.json.Events.every((e: { EventSource: string }) => e.EventSource === 'logs.amazonaws.com')).toBe(true);
    const filtered = await aws(
      h.endpoint,
      'logs',
      'filter-log-events',
      '--log-group-name',
      trailGroup,
      '--filter-pattern',
      `"${submittedId}"`,
    );
    expect(filtered.code).toBe(0);
    const records = filtered.json.events.map((e: { message: string }) => JSON.parse(e.message));
    expect(records.some((r: { eventName: string }) => r.eventName === 'PutEvents')).toBe(true);
  });
});

describe('trace and audit against the runtime', () => {
  const env = () => ({
    AWS_ENDPOINT_URL: h.endpoint,
    AWS_REGION: REGION,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
  });
  // The runtime runs on its own (virtual) clock; the window is taken from it.
  const window = (from: string, to: string) => [
    from,
    new Date(started - 60_000).toISOString(),
    to,
    new Date(h.clock!.now() + 3_600_000).toISOString(),
  ];

  interface TraceNode {
    eventId: string;
    detailType?: string;
    publishedBy?: string;
    attempts: { consumer: string; outcome: string; lines: { message: string }[] }[];
    rules?: { name: string; targets: string[] }[];
    caused: TraceNode[];
  }

  test('trace <event id> rebuilds the flow: publisher, handler runs with their lines, and the events it caused', async () => {
    const r = await runCli(['trace', submittedId, ...window('--since', '--until'), '--no-dlq', '--json'], { env: env(), cwd });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const t = json<{ correlationId: string; eventCount: number; roots: TraceNode[] }>(r);
    expect(t.correlationId).toBe(correlationId);
    // Submitted -> Approved (underwriting) -> ApplicantNotified (notifications)
    expect(t.eventCount).toBe(3);
    const root = t.roots[0]!;
    expect(root).toMatchObject({ eventId: submittedId, detailType: LoanApplicationSubmitted.detailType, publishedBy: ROOT });
    expect(root.attempts.map((a) => [a.consumer, a.outcome])).toEqual([['LoanEvents-underwriting', 'processed']]);
    expect(root.attempts[0]!.lines.map((l) => l.message)).toContain('Event processed');
    const approved = root.caused[0]!;
    expect(approved).toMatchObject({ detailType: LoanApplicationApproved.detailType, publishedBy: sessionOf(underwriting.name) });
    expect(approved.attempts.map((a) => [a.consumer, a.outcome])).toEqual([['LoanEvents-notifications', 'processed']]);
    expect(approved.caused.map((c) => [c.detailType, c.publishedBy])).toEqual([
      [ApplicantNotified.detailType, sessionOf(notifications.name)],
    ]);
    // The rules that match each event, with their targets: the consumers' buffer queues (manual review's
    // content filter leaves this amount out); nobody consumes ApplicantNotified.
    const ruleOf = (consumer: string) => topo.rules.find((x) => x.name === `LoanEvents-${consumer}`)!;
    const expected = (consumer: string) => ({ name: ruleOf(consumer).name, targets: ruleOf(consumer).targets.map((x) => x.arn) });
    expect(root.rules).toEqual([expected(underwriting.name)]);
    expect(approved.rules).toEqual([expected(notifications.name)]);
    expect(approved.caused[0]!.rules).toEqual([]);
  });

  test('audit lists the publishers by principal and the rule changes', async () => {
    // GIVEN a refused call and a rule change
    expect(await refusedPutRule()).toBe(403);
    await h.events.send(
      new PutRuleCommand({
        Name: 'audit-test-rule',
        EventBusName: 'loan-events',
        EventPattern: '{"source":["audit.test"]}',
        State: 'DISABLED',
      }),
    );
    const r = await runCli(['audit', ...window('--from', '--to'), '--json'], { env: env(), cwd });
    expect(r.code).toBe(0);
    const a = json<{
      publishers: { principal: string; eventTypes: { detailType: string; count: number }[] }[];
      changes: { eventName: string; target?: string; principal: string }[];
      denied: { eventName: string; errorCode: string }[];
    }>(r);
    const published = (principal: (arn: string) => boolean, detailType: string) =>
      a.publishers
        .filter((p) => principal(p.principal))
        .flatMap((p) => p.eventTypes)
        .filter((t) => t.detailType === detailType)
        .reduce((n, t) => n + t.count, 0);
    expect(published((p) => p === ROOT, LoanApplicationSubmitted.detailType)).toBeGreaterThanOrEqual(1);
    expect(published(isRoleOf(underwriting.name), LoanApplicationApproved.detailType)).toBeGreaterThanOrEqual(1);
    expect(published(isRoleOf(notifications.name), ApplicantNotified.detailType)).toBeGreaterThanOrEqual(1);
    expect(a.changes).toContainEqual(expect.objectContaining({ eventName: 'PutRule', target: 'audit-test-rule', principal: ROOT }));
    expect(a.denied).toContainEqual(expect.objectContaining({ eventName: 'PutRule', errorCode: 'AccessDeniedException' }));
  });
});
