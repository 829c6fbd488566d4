import { CloudTrailRecorder, EventHistory, handleCloudTrailRequest } from '../../../runtime/cloudtrail/lookup';
import { buildCloudTrailRecord, EVENT_VERSION, type CallerIdentity, type ServedCall } from '../../../runtime/cloudtrail/record';
import { isSelected, selectorsFromTrailProperties, type TrailSelectors } from '../../../runtime/cloudtrail/selectors';
import { LogStore } from '../../../runtime/cloudwatch/log-store';
import { handleLogsRequest } from '../../../runtime/cloudwatch/logs-api';
import { buildStack, resourcesOf } from '../../lib/helpers';

const ACCOUNT = '111122223333';
const REGION = 'us-east-1';
const BUS_ARN = `arn:aws:events:${REGION}:${ACCOUNT}:event-bus/loan-events`;
const QUEUE_ARN = `arn:aws:sqs:${REGION}:${ACCOUNT}:LoanEvents-underwriting`;
const T0 = Date.parse('2026-11-29T12:00:00Z');

const intake: CallerIdentity = {
  type: 'AssumedRole',
  accountId: ACCOUNT,
  roleName: 'LoanEvents-IntakePublisher',
  sessionName: 'intake-1',
  accessKeyId: 'ASIAINTAKE',
  sessionCreated: T0 - 60_000,
};

function call(partial: Partial<ServedCall> & Pick<ServedCall, 'service' | 'operation'>): ServedCall {
  return {
    requestId: 'req-1',
    time: T0,
    region: REGION,
    recipientAccountId: ACCOUNT,
    sourceIPAddress: '127.0.0.1',
    userAgent: 'aws-sdk-js/3',
    ...partial,
  };
}

let ids = 0;
const newId = () => `00000000-0000-4000-8000-${String(++ids).padStart(12, '0')}`;

const PSEUDO: Record<string, string> = { 'AWS::Partition': 'aws', 'AWS::Region': REGION, 'AWS::AccountId': ACCOUNT };

/** Resolves the pseudo parameters and joins the template uses in the trail's selectors, as the runtime will. */
function resolve(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(resolve);
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if (typeof o.Ref === 'string' && o.Ref in PSEUDO) return PSEUDO[o.Ref];
    if (Array.isArray(o['Fn::Join'])) {
      const [sep, parts] = o['Fn::Join'] as [string, unknown[]];
      return parts.map((x) => String(resolve(x))).join(sep);
    }
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, resolve(x)]));
  }
  return v;
}

describe('CloudTrail records', () => {
  test('a PutEvents call by an assumed role becomes a data event in AWS record format', () => {
    const r = buildCloudTrailRecord(
      call({
        service: 'events',
        operation: 'PutEvents',
        identity: intake,
        requestParameters: {
          Entries: [{ Source: 'com.example.loans.intake', DetailType: 'LoanApplicationSubmitted', EventBusName: 'loan-events' }],
        },
        responseElements: { FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] },
        resources: [{ type: 'AWS::Events::EventBus', arn: BUS_ARN }],
      }),
      newId,
    );
    expect(r).toEqual({
      eventVersion: EVENT_VERSION,
      userIdentity: {
        type: 'AssumedRole',
        principalId: expect.stringMatching(/^AROA[A-Z2-7]{17}:intake-1$/),
        arn: `arn:aws:sts::${ACCOUNT}:assumed-role/LoanEvents-IntakePublisher/intake-1`,
        accountId: ACCOUNT,
        accessKeyId: 'ASIAINTAKE',
        sessionContext: {
          sessionIssuer: {
            type: 'Role',
            principalId: expect.stringMatching(/^AROA/),
            arn: `arn:aws:iam::${ACCOUNT}:role/LoanEvents-IntakePublisher`,
            accountId: ACCOUNT,
            userName: 'LoanEvents-IntakePublisher',
          },
          attributes: { creationDate: '2026-11-29T11:59:00Z', mfaAuthenticated: 'false' },
        },
      },
      eventTime: '2026-11-29T12:00:00Z',
      eventSource: 'events.amazonaws.com',
      eventName: 'PutEvents',
      awsRegion: REGION,
      sourceIPAddress: '127.0.0.1',
      userAgent: 'aws-sdk-js/3',
      requestParameters: {
        entries: [{ source: 'com.example.loans.intake', detailType: 'LoanApplicationSubmitted', eventBusName: 'loan-events' }],
      },
      responseElements: { failedEntryCount: 0, entries: [{ eventId: 'e-1' }] },
      requestID: 'req-1',
      eventID: expect.stringMatching(/^00000000-/),
      readOnly: false,
      resources: [{ accountId: ACCOUNT, type: 'AWS::Events::EventBus', ARN: BUS_ARN }],
      eventType: 'AwsApiCall',
      managementEvent: false,
      recipientAccountId: ACCOUNT,
      eventCategory: 'Data',
    });
  });

  test.each([
    ['events', 'PutEvents', 'Data', false],
    ['events', 'PutRule', 'Management', false],
    ['events', 'DescribeRule', 'Management', true],
    ['events', 'StartReplay', 'Management', false],
    ['sqs', 'SendMessage', 'Data', false],
    ['sqs', 'ReceiveMessage', 'Data', true],
    ['sqs', 'SetQueueAttributes', 'Management', false],
    ['sqs', 'GetQueueAttributes', 'Management', true],
    ['dynamodb', 'PutItem', 'Data', false],
    ['logs', 'FilterLogEvents', 'Management', true],
    ['cloudtrail', 'LookupEvents', 'Management', true],
  ])('%s:%s is a %s event, readOnly %s', (service, operation, category, readOnly) => {
    const r = buildCloudTrailRecord(call({ service, operation }), newId);
    expect(r).toMatchObject({
      eventCategory: category,
      managementEvent: category === 'Management',
      readOnly,
      eventSource: `${service}.amazonaws.com`,
    });
  });

  test('PutLogEvents is not recorded, as on AWS', () => {
    expect(buildCloudTrailRecord(call({ service: 'logs', operation: 'PutLogEvents' }))).toBeUndefined();
  });

  test('the default identity is the account root; a denied call carries its error and no response', () => {
    const r = buildCloudTrailRecord(
      call({
        service: 'events',
        operation: 'PutRule',
        error: { code: 'AccessDeniedException', message: 'User is not authorized' },
        responseElements: { RuleArn: 'x' },
      }),
    )!;
    expect(r.userIdentity).toEqual({ type: 'Root', principalId: ACCOUNT, arn: `arn:aws:iam::${ACCOUNT}:root`, accountId: ACCOUNT });
    expect(r).toMatchObject({ errorCode: 'AccessDeniedException', errorMessage: 'User is not authorized', responseElements: null });
  });

  test('a service calling on its own behalf is an AWSService identity with the service as source', () => {
    const r = buildCloudTrailRecord(
      call({ service: 'sqs', operation: 'SendMessage', identity: { type: 'AWSService', invokedBy: 'events.amazonaws.com' } }),
    )!;
    expect(r).toMatchObject({
      userIdentity: { type: 'AWSService', invokedBy: 'events.amazonaws.com' },
      sourceIPAddress: 'events.amazonaws.com',
      userAgent: 'events.amazonaws.com',
    });
  });

  test('hostile parameters: no prototype keys, oversized elements omitted', () => {
    const params = JSON.parse('{"__proto__": {"polluted": true}, "Entries": [{"Detail": "x"}]}') as unknown;
    const r = buildCloudTrailRecord(call({ service: 'events', operation: 'PutEvents', requestParameters: params }))!;
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.keys(r.requestParameters as object)).toEqual(['entries']);
    const big = buildCloudTrailRecord(
      call({ service: 'events', operation: 'PutEvents', requestParameters: { Entries: [{ Detail: 'x'.repeat(200_000) }] } }),
    )!;
    expect(big.requestParameters).toBeNull();
  });
});

describe('trail selectors, from the synthesized stack', () => {
  let advanced: TrailSelectors;
  let managementOnly: TrailSelectors;
  beforeAll(() => {
    const trails = resourcesOf(buildStack().template, 'AWS::CloudTrail::Trail');
    expect(trails).toHaveLength(1);
    advanced = selectorsFromTrailProperties(resolve(trails[0]![1]) as Record<string, unknown>);
    const quiet = resourcesOf(buildStack({ logPutEvents: false }).template, 'AWS::CloudTrail::Trail');
    managementOnly = selectorsFromTrailProperties(quiet[0]![1]);
  });

  const put = (arn: string) =>
    buildCloudTrailRecord(call({ service: 'events', operation: 'PutEvents', resources: [{ type: 'AWS::Events::EventBus', arn }] }))!;

  test('the stack selects advanced selectors', () => {
    expect(advanced.kind).toBe('advanced');
  });

  test.each([
    ['PutEvents on the bus', () => put(BUS_ARN), true, false],
    ['PutEvents on another bus', () => put(`arn:aws:events:${REGION}:${ACCOUNT}:event-bus/default`), false, false],
    ['PutRule (management)', () => buildCloudTrailRecord(call({ service: 'events', operation: 'PutRule' }))!, true, true],
    [
      'SendMessage (data, not selected)',
      () =>
        buildCloudTrailRecord(
          call({ service: 'sqs', operation: 'SendMessage', resources: [{ type: 'AWS::SQS::Queue', arn: QUEUE_ARN }] }),
        )!,
      false,
      false,
    ],
  ])('%s: selected %s (with PutEvents logging), %s (without)', (_name, make, withPutEvents, without) => {
    expect(isSelected(advanced, make())).toBe(withPutEvents);
    expect(isSelected(managementOnly, make())).toBe(without);
  });

  test.each([
    [{ EventSelectors: [{ ReadWriteType: 'WriteOnly', IncludeManagementEvents: true }] }, 'DescribeRule', false],
    [{ EventSelectors: [{ ReadWriteType: 'WriteOnly', IncludeManagementEvents: true }] }, 'PutRule', true],
    [{ EventSelectors: [{ ReadWriteType: 'All', IncludeManagementEvents: false }] }, 'PutRule', false],
    [{}, 'PutRule', true],
    [
      {
        AdvancedEventSelectors: [
          {
            FieldSelectors: [
              { Field: 'eventCategory', Equals: ['Management'] },
              { Field: 'readOnly', Equals: ['false'] },
            ],
          },
        ],
      },
      'DescribeRule',
      false,
    ],
    [
      {
        AdvancedEventSelectors: [
          {
            FieldSelectors: [
              { Field: 'eventCategory', Equals: ['Management'] },
              { Field: 'eventName', NotStartsWith: ['Describe'] },
            ],
          },
        ],
      },
      'DescribeRule',
      false,
    ],
    [
      {
        AdvancedEventSelectors: [
          {
            FieldSelectors: [
              { Field: 'eventCategory', Equals: ['Management'] },
              { Field: 'eventName', NotStartsWith: ['Describe'] },
            ],
          },
        ],
      },
      'PutRule',
      true,
    ],
  ])('%j selects %s: %s', (props, operation, expected) => {
    expect(isSelected(selectorsFromTrailProperties(props), buildCloudTrailRecord(call({ service: 'events', operation }))!)).toBe(expected);
  });

  test('basic data resources select by ARN prefix', () => {
    const s = selectorsFromTrailProperties({
      EventSelectors: [{ DataResources: [{ Type: 'AWS::SQS::Queue', Values: [`arn:aws:sqs:${REGION}:${ACCOUNT}:LoanEvents-`] }] }],
    });
    const send = (arn: string) =>
      buildCloudTrailRecord(call({ service: 'sqs', operation: 'SendMessage', resources: [{ type: 'AWS::SQS::Queue', arn }] }))!;
    expect(isSelected(s, send(QUEUE_ARN))).toBe(true);
    expect(isSelected(s, send(`arn:aws:sqs:${REGION}:${ACCOUNT}:Other`))).toBe(false);
  });
});

describe('LookupEvents and delivery to the trail log group', () => {
  function setup() {
    let now = T0;
    const history = new EventHistory({ now: () => now });
    const logs = new LogStore({ now: () => now, accountId: ACCOUNT });
    const trail: TrailSelectors = {
      kind: 'advanced',
      selectors: [
        { FieldSelectors: [{ Field: 'eventCategory', Equals: ['Management'] }] },
        {
          FieldSelectors: [
            { Field: 'eventCategory', Equals: ['Data'] },
            { Field: 'resources.ARN', Equals: [BUS_ARN] },
          ],
        },
      ],
    };
    const recorder = new CloudTrailRecorder({
      history,
      trails: [{ logGroupName: '/aws/cloudtrail/loan-events', selectors: trail }],
      writeLog: (g, s, m, t) => logs.write(g, s, m, t),
      newId,
    });
    const ops = ['PutRule', 'PutTargets', 'DescribeRule', 'PutEvents', 'PutPermission', 'DeleteRule', 'StartReplay'];
    ops.forEach((operation, i) =>
      recorder.record(
        call({
          service: 'events',
          operation,
          time: T0 + i * 1000,
          requestId: `r${i}`,
          identity: i % 2 ? intake : undefined,
          resources: operation === 'PutEvents' ? [{ type: 'AWS::Events::EventBus', arn: BUS_ARN }] : [],
        }),
      ),
    );
    return { history, logs, advance: (ms: number) => (now += ms), ops };
  }
  type Page = { Events: { EventName: string; Username?: string; CloudTrailEvent: string; EventTime: Date }[]; NextToken?: string };

  test('management events only, newest first, paged', () => {
    const s = setup();
    const first = handleCloudTrailRequest(s.history, 'LookupEvents', { MaxResults: 4 }) as Page;
    const second = handleCloudTrailRequest(s.history, 'LookupEvents', { MaxResults: 4, NextToken: first.NextToken }) as Page;
    const names = [...first.Events, ...second.Events].map((e) => e.EventName);
    expect(names).toEqual(s.ops.filter((o) => o !== 'PutEvents').reverse());
    expect(second.NextToken).toBeUndefined();
    expect(JSON.parse(first.Events[0]!.CloudTrailEvent)).toMatchObject({ eventName: 'StartReplay', eventVersion: EVENT_VERSION });
  });

  test.each([
    [{ AttributeKey: 'EventName', AttributeValue: 'PutTargets' }, ['PutTargets']],
    [{ AttributeKey: 'Username', AttributeValue: 'intake-1' }, ['PutTargets', 'DeleteRule']],
    [{ AttributeKey: 'Username', AttributeValue: 'root' }, ['PutRule', 'DescribeRule', 'PutPermission', 'StartReplay']],
    [{ AttributeKey: 'ReadOnly', AttributeValue: 'true' }, ['DescribeRule']],
    [{ AttributeKey: 'EventSource', AttributeValue: 'sqs.amazonaws.com' }, []],
    [{ AttributeKey: 'AccessKeyId', AttributeValue: 'ASIAINTAKE' }, ['PutTargets', 'DeleteRule']],
    [{ AttributeKey: 'EventName', AttributeValue: 'PutEvents' }, []],
  ])('lookup attribute %j', (attribute, expected) => {
    const s = setup();
    const r = handleCloudTrailRequest(s.history, 'LookupEvents', { LookupAttributes: [attribute] }) as Page;
    expect(r.Events.map((e) => e.EventName).reverse()).toEqual(expected);
  });

  test('the time range, and 90 days of history on the clock', () => {
    const s = setup();
    const r = handleCloudTrailRequest(s.history, 'LookupEvents', { StartTime: (T0 + 1000) / 1000, EndTime: (T0 + 2000) / 1000 }) as Page;
    expect(r.Events.map((e) => e.EventName)).toEqual(['DescribeRule', 'PutTargets']);
    s.advance(91 * 86_400_000);
    expect((handleCloudTrailRequest(s.history, 'LookupEvents', {}) as Page).Events).toEqual([]);
  });

  test('data events are visible in the trail log group only', () => {
    const s = setup();
    const r = handleLogsRequest(s.logs, 'FilterLogEvents', {
      logGroupName: '/aws/cloudtrail/loan-events',
      filterPattern: '{ $.eventCategory = "Data" }',
    }) as {
      events: { message: string; logStreamName: string }[];
    };
    expect(r.events).toHaveLength(1);
    expect(r.events[0]!.logStreamName).toBe(`${ACCOUNT}_CloudTrail_${REGION}`);
    expect(JSON.parse(r.events[0]!.message)).toMatchObject({ eventName: 'PutEvents', userIdentity: { type: 'AssumedRole' } });
  });

  test.each([
    [
      {
        LookupAttributes: [
          { AttributeKey: 'EventName', AttributeValue: 'a' },
          { AttributeKey: 'EventName', AttributeValue: 'b' },
        ],
      },
      'InvalidLookupAttributesException',
    ],
    [{ LookupAttributes: [{ AttributeKey: 'Color', AttributeValue: 'a' }] }, 'InvalidLookupAttributesException'],
    [{ StartTime: 10, EndTime: 5 }, 'InvalidTimeRangeException'],
    [{ MaxResults: 51 }, 'InvalidMaxResultsException'],
    [{ NextToken: 'nope' }, 'InvalidNextTokenException'],
    [{ EventCategory: 'insight' }, 'InvalidEventCategoryException'],
  ])('%j fails with %s', (input, code) => {
    expect(() => handleCloudTrailRequest(setup().history, 'LookupEvents', input)).toThrow(expect.objectContaining({ code }));
  });
});
