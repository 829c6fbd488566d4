/**
 * The runtime's wiring of CloudTrail and CloudWatch Logs (runtime/observability.ts) without HTTP:
 * `api.called` events in, records out, under the memory caps, with the caller taken from the
 * request's principal.
 */
import { VirtualClock } from '../../../runtime/clock';
import { Observability, callerIdentityOf } from '../../../runtime/observability';
import { EventStream, withRequest, type Principal } from '../../../runtime/stream';
import type { TrailDef } from '../../../runtime/template';

const ACCOUNT = '111122223333';
const REGION = 'eu-west-1';
const GROUP = '/aws/cloudtrail/Test-audit';
const BUS = `arn:aws:events:${REGION}:${ACCOUNT}:event-bus/orders`;

const trail = (properties: Record<string, unknown>): TrailDef => ({ name: 'Test-audit', logGroupName: GROUP, properties });
/** The stack's selectors: management events, and PutEvents on its bus. */
const STACK_SELECTORS = {
  AdvancedEventSelectors: [
    { Name: 'Management events', FieldSelectors: [{ Field: 'eventCategory', Equals: ['Management'] }] },
    {
      Name: 'PutEvents on the event bus',
      FieldSelectors: [
        { Field: 'eventCategory', Equals: ['Data'] },
        { Field: 'resources.type', Equals: ['AWS::Events::EventBus'] },
        { Field: 'eventName', Equals: ['PutEvents'] },
        { Field: 'resources.ARN', Equals: [BUS] },
      ],
    },
  ],
};

function setUp(limits?: ConstructorParameters<typeof Observability>[0]['limits']) {
  const clock = new VirtualClock(Date.UTC(2026, 10, 29, 12));
  const stream = new EventStream(clock, ACCOUNT, REGION);
  const o = new Observability({ clock, accountId: ACCOUNT, region: REGION, limits });
  o.load({ logGroups: [{ name: GROUP, retentionInDays: 7 }], trails: [trail(STACK_SELECTORS)] });
  o.attach(stream);
  const root: Principal = { type: 'Root', arn: `arn:aws:iam::${ACCOUNT}:root`, accountId: ACCOUNT };
  const call = (operation: string, input: unknown, output: unknown = {}, principal: Principal = root) =>
    withRequest({ requestId: `req-${operation}`, principal, sourceIp: '::ffff:10.0.0.7' }, () =>
      stream.publish('api.called', { service: 'events', operation, input, output, status: 200, userAgent: 'test/1', durationMs: 1 }),
    );
  const trailLines = () => [...o.logs.scan(o.logs.group(GROUP), {})].map((x) => JSON.parse(x.event.message) as Record<string, any>);
  return { clock, stream, o, call, trailLines };
}

test("a PutEvents on the stack's bus and a management call reach the trail; a PutEvents on another bus does not", () => {
  // GIVEN
  const { call, trailLines, o } = setUp();
  // WHEN
  call(
    'PutEvents',
    { Entries: [{ EventBusName: 'orders', Source: 's', DetailType: 'd', Detail: '{}' }] },
    { Entries: [{ EventId: 'e1' }] },
  );
  call('PutEvents', { Entries: [{ EventBusName: 'other', Source: 's', DetailType: 'd', Detail: '{}' }] }, { Entries: [{ EventId: 'e2' }] });
  call('PutRule', { Name: 'r', EventBusName: 'orders' }, { RuleArn: 'arn' });
  // THEN
  const lines = trailLines();
  expect(lines.map((l) => [l.eventName, l.eventCategory])).toEqual([
    ['PutEvents', 'Data'],
    ['PutRule', 'Management'],
  ]);
  expect(lines[0]).toMatchObject({
    resources: [{ type: 'AWS::Events::EventBus', ARN: BUS, accountId: ACCOUNT }],
    responseElements: { entries: [{ eventId: 'e1' }] },
    sourceIPAddress: '10.0.0.7',
    userAgent: 'test/1',
    requestID: 'req-PutEvents',
    awsRegion: REGION,
  });
  expect([...o.logs.group(GROUP).streams.keys()]).toEqual([`${ACCOUNT}_CloudTrail_${REGION}`]);
  expect(o.history.size.events).toBe(1);
});

test('the caller of a record is the request principal: an assumed role or an IAM user when the request carries one', () => {
  const role = {
    type: 'AssumedRole',
    arn: `arn:aws:sts::${ACCOUNT}:assumed-role/Publisher/intake`,
    accountId: ACCOUNT,
  } as unknown as Principal;
  const user = { type: 'IAMUser', arn: `arn:aws:iam::${ACCOUNT}:user/ops/alice`, accountId: ACCOUNT } as unknown as Principal;
  expect(callerIdentityOf(role, ACCOUNT)).toEqual({
    type: 'AssumedRole',
    accountId: ACCOUNT,
    roleName: 'Publisher',
    sessionName: 'intake',
  });
  expect(callerIdentityOf(user, ACCOUNT)).toEqual({ type: 'IAMUser', accountId: ACCOUNT, userName: 'alice' });
  expect(callerIdentityOf(undefined, ACCOUNT)).toEqual({ type: 'Root', accountId: ACCOUNT });
  // And through the stream into the trail.
  const { call, trailLines } = setUp();
  call('PutRule', { Name: 'r' }, {}, role);
  expect(trailLines()[0]!.userIdentity).toMatchObject({
    type: 'AssumedRole',
    arn: `arn:aws:sts::${ACCOUNT}:assumed-role/Publisher/intake`,
    sessionContext: { sessionIssuer: { arn: `arn:aws:iam::${ACCOUNT}:role/Publisher` } },
  });
});

test('log events and event history stay under their caps however many calls come', () => {
  // GIVEN small caps
  const limits = { maxLogBytes: 200_000, maxTrailEvents: 1_000, maxTrailBytes: 150_000 };
  const { call, o } = setUp(limits);
  // WHEN 5,000 management calls with 2 KB parameters each (about 10 MB of records)
  for (let i = 0; i < 5_000; i++) call('PutRule', { Name: `r${i}`, Description: 'x'.repeat(2_000) });
  // THEN
  expect(o.logs.totalStoredBytes).toBeLessThanOrEqual(limits.maxLogBytes);
  expect(o.logs.totalStoredBytes).toBeGreaterThan(limits.maxLogBytes / 2);
  expect(o.history.size.bytes).toBeLessThanOrEqual(limits.maxTrailBytes);
  expect(o.history.size.events).toBeLessThanOrEqual(limits.maxTrailEvents);
  // the newest are the ones kept
  const names = [...o.logs.scan(o.logs.group(GROUP), {})].map((x) => JSON.parse(x.event.message).requestParameters.name as string);
  expect(names[names.length - 1]).toBe('r4999');
});

test('a function line over the CloudWatch Logs event size is cut to it, not dropped', () => {
  const { o } = setUp();
  o.functionLogs.write('/aws/lambda/f', 's', 'é'.repeat(200_000), o.functionLogs.now());
  const [big] = [...o.logs.scan(o.logs.group('/aws/lambda/f'), {})].map((x) => x.event);
  expect(big!.bytes).toBeLessThanOrEqual(262_144);
  expect(big!.bytes).toBeGreaterThan(262_144 - 4);
  expect(/^é+$/.test(big!.message)).toBe(true);
});

test('a log group CloudWatch Logs would refuse is skipped with a warning, and the others are created', () => {
  const clock = new VirtualClock();
  const o = new Observability({ clock, accountId: ACCOUNT, region: REGION });
  const warnings = o.load({
    logGroups: [{ name: 'bad name with spaces' }, { name: '/ok', retentionInDays: 2 }, { name: '/ok-too', retentionInDays: 14 }],
    trails: [],
  });
  expect(warnings).toEqual([
    expect.stringMatching(/^log group bad name with spaces is not created: logGroupName/),
    expect.stringMatching(/^log group \/ok is not created: retentionInDays must be one of/),
  ]);
  expect(o.logs.listGroups().map((g) => g.name)).toEqual(['/ok-too']);
});
