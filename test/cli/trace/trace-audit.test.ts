/**
 * `trace` and `audit` on the AWS path, against aws-sdk-client-mock answering with recorded
 * shapes: CloudTrail records as the trail delivers them to CloudWatch Logs, and Powertools JSON
 * lines of the consumers. FilterLogEvents applies the filter pattern the command sent with the
 * runtime's matcher, so a pattern CloudWatch Logs would reject fails here too.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudWatchLogsClient, DescribeLogGroupsCommand, FilterLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import {
  DescribeEventBusCommand,
  EventBridgeClient,
  ListRulesCommand,
  ListTargetsByRuleCommand,
  TestEventPatternCommand,
} from '@aws-sdk/client-eventbridge';
import {
  ChangeMessageVisibilityBatchCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ListQueuesCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { AUDIT_FILTER_PATTERN } from '../../../cli/commands/audit';
import { compileFilterPattern } from '../../../runtime/cloudwatch/filter-pattern';
import { testEventPattern } from '../../../engine';
import { json, runCli } from '../helpers';

const logs = mockClient(CloudWatchLogsClient);
const eb = mockClient(EventBridgeClient);
const sqs = mockClient(SQSClient);
/** Names from the environment, not from whatever cdk.out the working folder holds: the commands run in an empty folder. */
const ENV = {
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
  AWS_SECRET_ACCESS_KEY: 'secret',
  EVENT_BUS_NAME: 'loan-events',
  EVENTS_STACK_NAME: 'LoanEvents',
};
// Made when the file runs, not when it loads: a run that filters the file out leaves nothing.
let CWD: string;
beforeAll(() => {
  CWD = mkdtempSync(join(tmpdir(), 'cli-trace-'));
});
afterAll(() => rmSync(CWD, { recursive: true, force: true }));
const ACCOUNT = '111122223333';
const BUS_ARN = `arn:aws:events:us-east-1:${ACCOUNT}:event-bus/loan-events`;
const TRAIL_GROUP = '/aws/cloudtrail/LoanEvents-audit';
const T = (s: number) => Date.parse('2026-11-29T12:00:00Z') + s * 1000;
const iso = (s: number) => new Date(T(s)).toISOString().replace(/\.\d{3}Z$/, 'Z');

const CORRELATION = '5d1c3f3e-8f6b-4a36-9d57-1f0c5a9e2b11';
const SUBMITTED = 'a7b8c9d0-0000-4000-8000-000000000001';
const APPROVED = 'a7b8c9d0-0000-4000-8000-000000000002';
const OTHER = 'a7b8c9d0-0000-4000-8000-000000000099';

const role = (name: string, session: string) => ({
  type: 'AssumedRole',
  principalId: `AROAEXAMPLE${name.length}:${session}`,
  arn: `arn:aws:sts::${ACCOUNT}:assumed-role/${name}/${session}`,
  accountId: ACCOUNT,
  accessKeyId: 'ASIAEXAMPLE',
  sessionContext: {
    sessionIssuer: {
      type: 'Role',
      principalId: `AROAEXAMPLE${name.length}`,
      arn: `arn:aws:iam::${ACCOUNT}:role/${name}`,
      accountId: ACCOUNT,
      userName: name,
    },
    attributes: { creationDate: '2026-11-29T11:00:00Z', mfaAuthenticated: 'false' },
  },
});

/** A CloudTrail record as the trail writes it to CloudWatch Logs. */
function record(s: number, eventName: string, fields: Record<string, unknown>): string {
  return JSON.stringify({
    eventVersion: '1.11',
    userIdentity: role('LoanEvents-intake-publisher', 'intake'),
    eventTime: iso(s),
    eventSource: 'events.amazonaws.com',
    eventName,
    awsRegion: 'us-east-1',
    sourceIPAddress: '198.51.100.7',
    userAgent: 'aws-sdk-js/3.1169.0',
    requestParameters: null,
    responseElements: null,
    requestID: `req-${s}`,
    eventID: `evt-${s}`,
    readOnly: false,
    eventType: 'AwsApiCall',
    managementEvent: eventName !== 'PutEvents',
    recipientAccountId: ACCOUNT,
    eventCategory: eventName === 'PutEvents' ? 'Data' : 'Management',
    ...(eventName === 'PutEvents' ? { resources: [{ accountId: ACCOUNT, type: 'AWS::Events::EventBus', ARN: BUS_ARN }] } : {}),
    ...fields,
  });
}

const putEvents = (s: number, identity: unknown, entries: { source: string; detailType: string; detail?: unknown }[], ids: string[]) =>
  record(s, 'PutEvents', {
    userIdentity: identity,
    requestParameters: { entries: entries.map((e) => ({ ...e, eventBusName: 'loan-events', detail: JSON.stringify(e.detail ?? {}) })) },
    responseElements: { failedEntryCount: 0, entries: ids.map((eventId) => ({ eventId })) },
  });

/** A Powertools Logger line of the consumer library (sdk/consumer). */
function line(s: number, level: string, message: string, keys: Record<string, unknown>): string {
  return JSON.stringify({
    level,
    message,
    timestamp: new Date(T(s)).toISOString(),
    service: 'loan-events',
    cold_start: false,
    function_arn: `arn:aws:lambda:us-east-1:${ACCOUNT}:function:x`,
    function_memory_size: '256',
    function_name: 'x',
    function_request_id: `lambda-req-${s}`,
    sampling_rate: 0,
    ...keys,
  });
}

const submittedKeys = {
  correlationId: CORRELATION,
  eventId: SUBMITTED,
  detailType: 'LoanApplicationSubmitted',
  messageId: 'msg-1',
  receiveCount: 1,
};
const approvedKeys = (receiveCount: number) => ({
  correlationId: CORRELATION,
  causationId: SUBMITTED,
  eventId: APPROVED,
  detailType: 'LoanApplicationApproved',
  messageId: 'msg-2',
  receiveCount,
});

const STORE: Record<string, { timestamp: number; message: string }[]> = {
  [TRAIL_GROUP]: [
    {
      timestamp: T(0),
      message: putEvents(
        0,
        role('LoanEvents-intake-publisher', 'intake'),
        [
          {
            source: 'com.example.loans.intake',
            detailType: 'LoanApplicationSubmitted',
            detail: { metadata: { correlationId: CORRELATION } },
          },
        ],
        [SUBMITTED],
      ),
    },
    {
      timestamp: T(2),
      message: putEvents(
        2,
        role('LoanEvents-underwriting-role', 'LoanEvents-underwriting'),
        [
          {
            source: 'com.example.loans.underwriting',
            detailType: 'LoanApplicationApproved',
            detail: { metadata: { correlationId: CORRELATION, causationId: SUBMITTED } },
          },
        ],
        [APPROVED],
      ),
    },
    {
      timestamp: T(3),
      message: putEvents(
        3,
        role('LoanEvents-intake-publisher', 'intake'),
        [{ source: 'com.example.loans.intake', detailType: 'LoanApplicationSubmitted' }],
        [OTHER],
      ),
    },
    {
      timestamp: T(4),
      message: record(4, 'PutEvents', {
        userIdentity: {
          type: 'IAMUser',
          principalId: 'AIDAROGUE',
          arn: `arn:aws:iam::${ACCOUNT}:user/rogue`,
          accountId: ACCOUNT,
          userName: 'rogue',
        },
        errorCode: 'AccessDeniedException',
        errorMessage: `User: arn:aws:iam::${ACCOUNT}:user/rogue is not authorized to perform: events:PutEvents on resource: ${BUS_ARN} because no identity-based policy allows the events:PutEvents action`,
        requestParameters: {
          entries: [{ source: 'com.example.loans.underwriting', detailType: 'LoanApplicationApproved', eventBusName: 'loan-events' }],
        },
      }),
    },
    {
      timestamp: T(5),
      message: record(5, 'PutRule', {
        userIdentity: role('Admin', 'alice'),
        requestParameters: { name: 'LoanEvents-underwriting', eventBusName: 'loan-events', eventPattern: '{}' },
      }),
    },
    {
      timestamp: T(6),
      message: record(6, 'PutTargets', {
        userIdentity: role('Admin', 'alice'),
        requestParameters: { rule: 'LoanEvents-underwriting', targets: [] },
      }),
    },
    {
      timestamp: T(7),
      message: record(7, 'StartReplay', { userIdentity: role('Admin', 'bob'), requestParameters: { replayName: 'replay-1' } }),
    },
    {
      timestamp: T(8),
      message: record(8, 'DescribeRule', {
        readOnly: true,
        userIdentity: role('Admin', 'bob'),
        requestParameters: { name: 'LoanEvents-underwriting' },
      }),
    },
    {
      timestamp: T(9),
      message: record(9, 'SetQueueAttributes', {
        eventSource: 'sqs.amazonaws.com',
        userIdentity: role('Admin', 'bob'),
        errorCode: 'AccessDenied',
        errorMessage: 'Access to the resource is denied.',
      }),
    },
  ],
  '/aws/lambda/LoanEvents-underwriting': [
    { timestamp: T(1), message: line(1, 'INFO', 'Application approved', { ...submittedKeys, applicationId: 'app-1' }) },
    { timestamp: T(1.2), message: line(1.2, 'INFO', 'Event processed', submittedKeys) },
    { timestamp: T(3.5), message: line(3.5, 'INFO', 'Event processed', { ...submittedKeys, correlationId: 'other', eventId: OTHER }) },
  ],
  '/aws/lambda/LoanEvents-notifications': [
    { timestamp: T(2.5), message: line(2.5, 'ERROR', 'Event failed; it will be retried', approvedKeys(1)) },
    { timestamp: T(32.5), message: line(32.5, 'INFO', 'Applicant notified', approvedKeys(2)) },
    { timestamp: T(32.6), message: line(32.6, 'INFO', 'Event processed', approvedKeys(2)) },
    { timestamp: T(33), message: 'REPORT RequestId: 1 Duration: 12.3 ms' },
  ],
};

const sentPatterns: string[] = [];

beforeEach(() => {
  logs.reset();
  eb.reset();
  sqs.reset();
  sentPatterns.length = 0;
  logs.on(DescribeLogGroupsCommand).callsFake((input: { logGroupNamePrefix?: string }) => ({
    logGroups: Object.keys(STORE)
      .filter((g) => g.startsWith(input.logGroupNamePrefix ?? ''))
      .map((logGroupName) => ({ logGroupName })),
  }));
  logs
    .on(FilterLogEventsCommand)
    .callsFake(
      (input: {
        logGroupName: string;
        filterPattern?: string;
        startTime?: number;
        endTime?: number;
        limit?: number;
        nextToken?: string;
      }) => {
        const match = compileFilterPattern(input.filterPattern ?? '');
        if (input.filterPattern) sentPatterns.push(input.filterPattern);
        const all = (STORE[input.logGroupName] ?? []).filter(
          (e) =>
            match(e.message) &&
            (input.startTime === undefined || e.timestamp >= input.startTime) &&
            (input.endTime === undefined || e.timestamp < input.endTime),
        );
        // Two events per page, so the commands must follow nextToken.
        const from = Number(input.nextToken ?? 0);
        const page = all.slice(from, from + 2);
        return {
          events: page.map((e, i) => ({
            logStreamName: `${ACCOUNT}_CloudTrail_us-east-1`,
            timestamp: e.timestamp,
            message: e.message,
            eventId: String(from + i),
          })),
          ...(from + 2 < all.length ? { nextToken: String(from + 2) } : {}),
        };
      },
    );
});

const window = ['--since', '2026-11-29T11:00:00Z', '--until', '2026-11-29T13:00:00Z'];

interface TraceJson {
  correlationId: string;
  eventCount: number;
  roots: {
    eventId: string;
    detailType: string;
    publishedBy: string;
    latencyMs: number;
    attempts: { consumer: string; outcome: string; receiveCount: number; lines: { message: string }[] }[];
    rules?: { name: string; targets: string[] }[];
    deadLettered: string[];
    caused: {
      eventId: string;
      publishedBy: string;
      attempts: { outcome: string; receiveCount: number; durationMs: number }[];
      rules?: { name: string; targets: string[] }[];
      latencyMs: number;
    }[];
  }[];
}

/** The bus's rules, as ListRules answers; TestEventPattern answers with the project's pattern engine. */
const RULES: { Name: string; EventPattern: string; State: 'ENABLED' | 'DISABLED' }[] = [
  { Name: 'LoanEvents-underwriting', EventPattern: '{"detail-type":["LoanApplicationSubmitted"]}', State: 'ENABLED' },
  {
    Name: 'LoanEvents-notifications',
    EventPattern: '{"detail-type":["LoanApplicationApproved","LoanApplicationRejected"]}',
    State: 'ENABLED',
  },
  { Name: 'LoanEvents-disabled', EventPattern: '{"detail-type":["LoanApplicationSubmitted"]}', State: 'DISABLED' },
];
const queueArn = (name: string) => `arn:aws:sqs:us-east-1:${ACCOUNT}:${name}`;
const testedEvents: Record<string, unknown>[] = [];

function mockRules(): void {
  testedEvents.length = 0;
  eb.on(ListRulesCommand).resolves({ Rules: RULES });
  eb.on(TestEventPatternCommand).callsFake((input: { EventPattern: string; Event: string }) => {
    const event = JSON.parse(input.Event) as Record<string, unknown>;
    testedEvents.push(event);
    return { Result: testEventPattern(input.EventPattern, input.Event) };
  });
  eb.on(ListTargetsByRuleCommand).callsFake((input: { Rule: string }) => ({ Targets: [{ Id: 'q', Arn: queueArn(input.Rule) }] }));
}

describe('trace', () => {
  test('by correlation id: the tree of publications, attempts and caused events', async () => {
    mockRules();
    const r = await runCli(['trace', CORRELATION, ...window, '--no-dlq', '--json'], { env: ENV, cwd: CWD });
    expect(r.code).toBe(0);
    const t = json<TraceJson>(r);
    expect(t.correlationId).toBe(CORRELATION);
    expect(t.eventCount).toBe(2);
    expect(t.roots).toHaveLength(1);
    const root = t.roots[0]!;
    expect(root).toMatchObject({
      eventId: SUBMITTED,
      detailType: 'LoanApplicationSubmitted',
      publishedBy: `arn:aws:sts::${ACCOUNT}:assumed-role/LoanEvents-intake-publisher/intake`,
      latencyMs: 1000,
      deadLettered: [],
    });
    expect(root.attempts.map((a) => [a.consumer, a.receiveCount, a.outcome])).toEqual([['LoanEvents-underwriting', 1, 'processed']]);
    expect(root.attempts[0]!.lines.map((l) => l.message)).toEqual(['Application approved', 'Event processed']);
    expect(root.caused).toHaveLength(1);
    expect(root.caused[0]).toMatchObject({
      eventId: APPROVED,
      publishedBy: `arn:aws:sts::${ACCOUNT}:assumed-role/LoanEvents-underwriting-role/LoanEvents-underwriting`,
      latencyMs: 30_500,
    });
    expect(root.caused[0]!.attempts.map((a) => [a.receiveCount, a.outcome])).toEqual([
      [1, 'failed'],
      [2, 'processed'],
    ]);
    // The other application's event shares no id with this transaction.
    expect(JSON.stringify(t)).not.toContain(OTHER);
    // The rules that match each event now, asked of the bus with the event rebuilt from its PutEvents record.
    expect(root.rules).toEqual([{ name: 'LoanEvents-underwriting', targets: [queueArn('LoanEvents-underwriting')] }]);
    expect(root.caused[0]!.rules).toEqual([{ name: 'LoanEvents-notifications', targets: [queueArn('LoanEvents-notifications')] }]);
    expect(testedEvents.find((e) => e.id === SUBMITTED)).toMatchObject({
      source: 'com.example.loans.intake',
      'detail-type': 'LoanApplicationSubmitted',
      account: ACCOUNT,
      region: 'us-east-1',
      time: iso(0),
      detail: { metadata: { correlationId: CORRELATION } },
    });
  });

  test('by event id: follows the event to its correlation id; text output shows the tree', async () => {
    mockRules();
    const r = await runCli(['trace', APPROVED, ...window, '--no-dlq'], { env: ENV, cwd: CWD });
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe(`correlation ${CORRELATION}: 2 event(s)`);
    expect(lines[1]).toBe(
      `LoanApplicationSubmitted ${SUBMITTED} published ${new Date(T(0)).toISOString()} by arn:aws:sts::${ACCOUNT}:assumed-role/LoanEvents-intake-publisher/intake`,
    );
    expect(r.stdout).toContain('  LoanEvents-notifications receive 1: failed at');
    expect(lines[2]).toBe('  rule LoanEvents-underwriting -> LoanEvents-underwriting');
    expect(r.stdout).toMatch(/^ {2}LoanApplicationApproved a7b8c9d0-0000-4000-8000-000000000002 published/m);
    expect(sentPatterns).toContain(`{ $.correlationId = "${CORRELATION}" }`);
  });

  test('dead-lettered copies of the events are shown', async () => {
    eb.on(DescribeEventBusCommand).resolves({ Name: 'loan-events', Arn: BUS_ARN });
    eb.on(ListRulesCommand).resolves({ Rules: [] });
    eb.on(ListTargetsByRuleCommand).resolves({ Targets: [] });
    const dlqUrl = `https://sqs.us-east-1.amazonaws.com/${ACCOUNT}/LoanEvents-notifications-dlq`;
    const queueUrl = `https://sqs.us-east-1.amazonaws.com/${ACCOUNT}/LoanEvents-notifications`;
    sqs.on(ListQueuesCommand).resolves({ QueueUrls: [queueUrl, dlqUrl] });
    sqs.on(GetQueueUrlCommand).resolves({ QueueUrl: dlqUrl });
    sqs.on(GetQueueAttributesCommand).callsFake((input: { QueueUrl: string }) => ({
      Attributes: {
        QueueArn: `arn:aws:sqs:us-east-1:${ACCOUNT}:${input.QueueUrl.split('/').pop()}`,
        ...(input.QueueUrl === queueUrl
          ? {
              RedrivePolicy: JSON.stringify({
                deadLetterTargetArn: `arn:aws:sqs:us-east-1:${ACCOUNT}:LoanEvents-notifications-dlq`,
                maxReceiveCount: 5,
              }),
            }
          : {}),
      },
    }));
    sqs
      .on(ReceiveMessageCommand)
      .resolvesOnce({
        Messages: [
          {
            MessageId: 'dl-1',
            ReceiptHandle: 'h',
            Body: JSON.stringify({
              id: APPROVED,
              'detail-type': 'LoanApplicationApproved',
              source: 's',
              detail: { metadata: { correlationId: CORRELATION } },
            }),
          },
        ],
      })
      .resolves({ Messages: [] });
    sqs.on(ChangeMessageVisibilityBatchCommand).resolves({});
    const r = await runCli(['trace', CORRELATION, ...window, '--json'], { env: ENV, cwd: CWD });
    expect(r.code).toBe(0);
    expect(json<TraceJson>(r).roots[0]!.caused[0]).toMatchObject({ eventId: APPROVED, deadLettered: ['LoanEvents-notifications-dlq'] });
  });

  test.each([
    ['an id that would change the filter pattern', ['trace', 'x" } || { $.a = "b', '--no-dlq'], 2, /is not an id/],
    ['an unknown id', ['trace', 'no-such-id', ...window, '--no-dlq'], 1, /no events found for no-such-id/],
    ['a bad time', ['trace', CORRELATION, '--since', 'yesterday', '--no-dlq'], 2, /--since: 'yesterday' is not a time/],
  ])('%s', async (_name, args, code, message) => {
    const r = await runCli(args, { env: ENV, cwd: CWD });
    expect(r.code).toBe(code);
    expect(r.stdout + r.stderr).toMatch(message);
  });
});

describe('audit', () => {
  interface AuditJson {
    records: number;
    publishers: { principal: string; eventTypes: { source: string; detailType: string; count: number }[] }[];
    denied: { principal: string; eventName: string; errorCode: string; count: number; example?: string }[];
    changes: { principal: string; eventName: string; target?: string }[];
  }

  test('publishers by role, denied calls by principal, and changes, from the trail log group', async () => {
    const r = await runCli(['audit', '--from', '2026-11-29T11:00:00Z', '--to', '2026-11-29T13:00:00Z', '--json'], { env: ENV, cwd: CWD });
    expect(r.code).toBe(0);
    const a = json<AuditJson>(r);
    expect(new Set(sentPatterns)).toEqual(new Set([AUDIT_FILTER_PATTERN]));
    expect(a.records).toBe(STORE[TRAIL_GROUP]!.length);
    expect(a.publishers).toEqual([
      {
        principal: `arn:aws:iam::${ACCOUNT}:role/LoanEvents-intake-publisher`,
        eventTypes: [{ source: 'com.example.loans.intake', detailType: 'LoanApplicationSubmitted', count: 2, failed: 0 }],
      },
      {
        principal: `arn:aws:iam::${ACCOUNT}:role/LoanEvents-underwriting-role`,
        eventTypes: [{ source: 'com.example.loans.underwriting', detailType: 'LoanApplicationApproved', count: 1, failed: 0 }],
      },
    ]);
    expect(a.denied.map((d) => [d.principal, d.eventName, d.errorCode, d.count])).toEqual([
      [`arn:aws:iam::${ACCOUNT}:role/Admin`, 'SetQueueAttributes', 'AccessDenied', 1],
      [`arn:aws:iam::${ACCOUNT}:user/rogue`, 'PutEvents', 'AccessDeniedException', 1],
    ]);
    expect(a.denied[1]!.example).toMatch(/not authorized to perform: events:PutEvents/);
    expect(a.changes.map((c) => [c.eventName, c.target, c.principal.split('/').pop()])).toEqual([
      ['PutRule', 'LoanEvents-underwriting', 'alice'],
      ['PutTargets', 'LoanEvents-underwriting', 'alice'],
      ['StartReplay', 'replay-1', 'bob'],
    ]);
  });

  test('text output has the three sections', async () => {
    const r = await runCli(['audit', '--from', '2026-11-29T11:00:00Z', '--to', '2026-11-29T13:00:00Z'], { env: ENV, cwd: CWD });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Publishers$/m);
    expect(r.stdout).toMatch(/^Denied calls$/m);
    expect(r.stdout).toMatch(/arn:aws:iam::111122223333:user\/rogue\s+events:PutEvents\s+AccessDeniedException\s+1/);
    expect(r.stdout).toMatch(/^Changes to rules, targets, bus policy, archives and replays$/m);
  });

  test('an empty window and a reversed window', async () => {
    const empty = await runCli(['audit', '--from', '2026-11-28T00:00:00Z', '--to', '2026-11-28T01:00:00Z'], { env: ENV, cwd: CWD });
    expect(empty.code).toBe(0);
    expect(empty.stdout).toContain('no PutEvents in the window');
    const reversed = await runCli(['audit', '--from', 'now', '--to', '-1h'], { env: ENV, cwd: CWD });
    expect(reversed.code).toBe(2);
    expect(reversed.stderr).toMatch(/must be before --to/);
  });
});
