/**
 * `access` over the example app as `cdk synth` leaves it in cdk.out (synthesized when stale and
 * shared with the other suites that read it, as in diagram.test.ts): the surface the evaluator derives
 * from the app's policies must match what the catalog says (each publisher publishes exactly its
 * own event types, each consumer reads only its own queue and uses only its own key, a principal
 * the app does not name gets nothing from the app's policies), and `access check` must decide,
 * explain and exit as documented. Names and counts come from the catalog, never from this file.
 */
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureSynth } from '../../assembly';
import { app as loanApp } from '../../catalog';
import { names, type EventDefinition } from '../../sdk/catalog';
import { accessCheckSchema, surfaceSchema, type SurfaceJson } from './access-schema';
import { json, runCli } from './helpers';

jest.setTimeout(240_000);

const ACCOUNT = '123456789012';
const REGION = 'eu-west-2';
const catalog = loanApp.catalog;
const role = (name: string) => `arn:aws:iam::${ACCOUNT}:role/${name}`;
const publisherRole = (name: string) => role(names.publisherRole(loanApp, name));
const consumerRole = (name: string) => role(names.consumerRole(loanApp, name));
const queueArn = (name: string) => `arn:aws:sqs:${REGION}:${ACCOUNT}:${name}`;
const busArn = `arn:aws:events:${REGION}:${ACCOUNT}:event-bus/${loanApp.eventBusName}`;
const ruleArn = (consumer: string) => `${busArn.replace(':event-bus/', ':rule/')}/${names.consumerPrefix(loanApp, consumer)}`;
const typesOf = (events: readonly EventDefinition[]) => events.map((e) => `${e.source} ${e.detailType}`).sort();

/** Same-account publishers and the consumers that publish, with the role the app gives each. */
const publishers = [
  ...catalog.publishers
    .filter((p) => p.account === undefined)
    .map((p) => ({ name: p.name, role: publisherRole(p.name), publishes: p.publishes })),
  ...catalog.consumers
    .filter((c) => c.publishes.length > 0)
    .map((c) => ({ name: c.name, role: consumerRole(c.name), publishes: c.publishes })),
];

let dir: string;
let surface: SurfaceJson;
const env = ['--account', ACCOUNT, '--region', REGION];
const access = (...args: string[]) => runCli(['access', ...args, ...env], { cwd: dir });
const check = (...args: string[]) => runCli(['access', 'check', ...args, ...env], { cwd: dir });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cli-access-'));
  symlinkSync(await ensureSynth(), join(dir, 'cdk.out'));
  const r = await access('--json');
  expect(r.code).toBe(0);
  surface = surfaceSchema.parse(json(r));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const grantsOf = (principal: string) =>
  [...surface.publish, ...surface.subscribe, ...surface.queues, ...surface.keys].filter((g) => g.principal === principal);
const principalsOfKind = (kind: string) => surface.principals.filter((p) => p.kind === kind);

describe('access (the surface)', () => {
  test('reads every stack of the app in the account and Region given', () => {
    expect(surface.stacks).toEqual(
      expect.arrayContaining([names.routerStack(loanApp), ...catalog.consumers.map((c) => names.consumerStack(loanApp, c.name))]),
    );
    expect(surface.environment).toEqual({ accounts: [ACCOUNT], regions: [REGION], agnostic: true });
    expect(surface.resources.buses).toEqual([busArn]);
  });

  test('asks about every role of the app, an unlisted principal of its account, an unlisted account and an anonymous caller', () => {
    const ids = surface.principals.map((p) => p.id);
    for (const p of publishers) expect(ids).toContain(p.role);
    for (const c of catalog.consumers) expect(ids).toContain(consumerRole(c.name));
    expect(principalsOfKind('unlisted-principal').map((p) => p.id)).toEqual([expect.stringContaining(`:iam::${ACCOUNT}:role/`)]);
    expect(principalsOfKind('unlisted-account')).toHaveLength(1);
    expect(principalsOfKind('anonymous')).toHaveLength(1);
  });

  test.each(publishers.map((p) => [p.name, p] as const))('%s may publish exactly its catalog event types', (_name, p) => {
    const grants = surface.publish.filter((g) => g.principal === p.role);
    expect(grants.every((g) => g.resource === busArn && !g.ifIdentityAllows)).toBe(true);
    expect(grants.map((g) => `${g.source} ${g.detailType}`).sort()).toEqual(typesOf(p.publishes));
  });

  test('a consumer that publishes nothing may publish nothing', () => {
    const silent = catalog.consumers.filter((c) => c.publishes.length === 0);
    expect(silent.length).toBeGreaterThan(0);
    for (const c of silent) expect(surface.publish.filter((g) => g.principal === consumerRole(c.name))).toEqual([]);
  });

  test('every event type of the catalog is a candidate, so a grant of one another publisher owns would show', () => {
    expect(surface.eventTypes.sources).toEqual(expect.arrayContaining([...new Set(catalog.events.map((e) => e.source))]));
    expect(surface.eventTypes.detailTypes).toEqual(expect.arrayContaining(catalog.events.map((e) => e.detailType)));
  });

  test('a principal the app does not define gets nothing from the app’s policies alone', () => {
    const outsiders = surface.principals.filter((p) => p.assumesIdentityAllow);
    expect(outsiders.length).toBeGreaterThan(0);
    for (const p of outsiders) expect(grantsOf(p.id).filter((g) => !g.ifIdentityAllows)).toEqual([]);
    // The unlisted principal of the account may neither publish nor subscribe, even with every IAM permission.
    for (const p of principalsOfKind('unlisted-principal')) {
      expect(surface.publish.filter((g) => g.principal === p.id)).toEqual([]);
      expect(surface.subscribe.filter((g) => g.principal === p.id)).toEqual([]);
    }
  });

  test('an unlisted account and an anonymous caller may do nothing at all', () => {
    for (const p of [...principalsOfKind('unlisted-account'), ...principalsOfKind('anonymous')]) expect(grantsOf(p.id)).toEqual([]);
  });

  test('no role of the app may manage the bus’s rules', () => {
    const roles = new Set(principalsOfKind('role').map((p) => p.id));
    expect(surface.subscribe.filter((g) => roles.has(g.principal))).toEqual([]);
    expect(surface.subscribe.every((g) => g.ifIdentityAllows)).toBe(true);
  });

  test.each(catalog.consumers.map((c) => [c.name] as const))(
    "%s's role reads and deletes from its own buffer queue only, and sends to none",
    (name) => {
      const grants = surface.queues.filter((g) => g.principal === consumerRole(name));
      const own = queueArn(names.consumerPrefix(loanApp, name));
      expect(surface.resources.queues).toContain(own);
      expect(grants.map((g) => `${g.action} ${g.resource}`).sort()).toEqual([`sqs:DeleteMessage ${own}`, `sqs:ReceiveMessage ${own}`]);
      expect(grants.every((g) => g.tlsOnly)).toBe(true);
    },
  );

  test.each(catalog.consumers.map((c) => [c.name] as const))(
    "EventBridge may send to %s's buffer queue only from that consumer's rule",
    (name) => {
      const own = queueArn(names.consumerPrefix(loanApp, name));
      const sends = surface.queues.filter((g) => g.principal === 'events.amazonaws.com' && g.resource === own);
      expect(sends.map((g) => [g.action, g.when['aws:SourceArn']])).toEqual([['sqs:SendMessage', ruleArn(name)]]);
      expect(sends[0]?.decidedBy?.kind).toBe('resource');
    },
  );

  test.each(catalog.consumers.map((c) => [c.name] as const))(
    "%s's role uses a key only through SQS or DynamoDB, for its own queues and tables",
    (name) => {
      const prefix = names.consumerPrefix(loanApp, name);
      const grants = surface.keys.filter((g) => g.principal === consumerRole(name));
      expect(grants.length).toBeGreaterThan(0);
      for (const g of grants) {
        expect(g.when['kms:ViaService']).toMatch(new RegExp(`^(sqs|dynamodb)\\.${REGION}\\.amazonaws\\.com$`));
        const names = Object.entries(g.when)
          .filter(([k]) => k.startsWith('kms:EncryptionContext:'))
          .map(([, v]) => String(v).split(':').pop());
        expect(names.length).toBeGreaterThan(0);
        for (const n of names) expect(n?.startsWith(prefix)).toBe(true);
      }
      // Decrypting is for the buffer queue; the dead-letter queue is only written to.
      const decryptsFromSqs = grants.filter((g) => g.action === 'kms:Decrypt' && g.when['kms:ViaService']?.toString().startsWith('sqs.'));
      expect(decryptsFromSqs.map((g) => g.when['kms:EncryptionContext:aws:sqs:arn'])).toEqual([queueArn(prefix)]);
    },
  );

  test('prints one table per question, naming every publisher role', async () => {
    const r = await access();
    expect(r.code).toBe(0);
    for (const title of ['Who may publish', 'Who may subscribe', 'Who may use which queue', 'Who may use which key'])
      expect(r.stdout).toContain(title);
    for (const p of publishers) expect(r.stdout).toContain(p.role.split('/').pop());
    expect(r.stderr).toBe('');
  });

  test('without --account and --region, says which it assumed for the environment-agnostic app', async () => {
    const r = await runCli(['access', '--json'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('the app is environment-agnostic');
    expect(surfaceSchema.parse(json(r)).environment.agnostic).toBe(true);
  });

  test('without a synthesized app, says to synthesize it (exit 2)', async () => {
    const r = await runCli(['access'], { cwd: tmpdir() });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('run cdk synth');
  });

  test('rejects a malformed --account (exit 2)', async () => {
    const r = await runCli(['access', '--account', '12345'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('must be a 12-digit account id');
  });
});

describe('access check', () => {
  const [first] = publishers;
  if (!first) throw new Error('the catalog has no same-account publisher');
  const own = first.publishes[0] as EventDefinition;
  const foreign = catalog.events.find((e) => !first.publishes.includes(e)) as EventDefinition;
  const putEvents = (e: EventDefinition) => [`events:source=${e.source}`, `events:detail-type=${e.detailType}`];

  test("allows a publisher its own event type (exit 0), naming its identity policy's statement", async () => {
    const r = await check(first.name, 'events:PutEvents', loanApp.eventBusName, ...putEvents(own), '--json');
    const result = accessCheckSchema.parse(json(r));
    expect(r.code).toBe(0);
    expect(result).toMatchObject({ decision: 'Allow', principal: first.role, resource: busArn, message: null, exitCode: 0 });
    expect(result.statements.map((s) => s.kind)).toContain('identity');
    expect(result.statements.every((s) => s.effect === 'Allow')).toBe(true);
  });

  test("denies a publisher another publisher's event type (exit 1), with AWS's message", async () => {
    const r = await check(first.name, 'events:PutEvents', loanApp.eventBusName, ...putEvents(foreign), '--json');
    const result = accessCheckSchema.parse(json(r));
    expect(r.code).toBe(1);
    expect(result.decision).toBe('ImplicitDeny');
    expect(result.message).toBe(
      `User: ${first.role} is not authorized to perform: events:PutEvents on resource: ${busArn} because no identity-based policy allows the events:PutEvents action`,
    );
  });

  test('denies a role the app does not name with an explicit deny of the bus policy, even with every IAM permission', async () => {
    const stranger = role('not-in-the-catalog');
    const r = await check(stranger, 'events:PutEvents', busArn, ...putEvents(own), '--assume-identity-allow', '--json');
    const result = accessCheckSchema.parse(json(r));
    expect(r.code).toBe(1);
    expect(result.decision).toBe('ExplicitDeny');
    expect(result.decidedBy).toMatchObject({ effect: 'Deny', kind: 'resource' });
    expect(result.message).toBe(
      `User: ${stranger} is not authorized to perform: events:PutEvents on resource: ${busArn} with an explicit deny in a resource-based policy`,
    );
  });

  test("denies a consumer's role another consumer's queue, and prints the decision as text", async () => {
    const [mine, theirs] = catalog.consumers;
    if (!mine || !theirs) throw new Error('the catalog needs two consumers');
    const r = await check(mine.name, 'sqs:ReceiveMessage', names.consumerPrefix(loanApp, theirs.name));
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('Implicit deny');
    expect(r.stdout).toContain(
      `User: ${consumerRole(mine.name)} is not authorized to perform: sqs:ReceiveMessage on resource: ${queueArn(names.consumerPrefix(loanApp, theirs.name))}`,
    );
  });

  test('takes the principal as a catalog name, a role name or an ARN', async () => {
    const decided = async (principal: string) =>
      accessCheckSchema.parse(json(await check(principal, 'events:PutEvents', busArn, ...putEvents(own), '--json')));
    const byName = await decided(first.name);
    expect(await decided(first.role.split('/').pop() as string)).toEqual(byName);
    expect(await decided(first.role)).toEqual(byName);
  });

  test.each([
    ['a principal the app does not have', ['x', 'events:PutEvents', busArn], 'is not an ARN, a service principal'],
    ['an action without a service', [publishers[0]!.role, 'PutEvents', busArn], 'must look like service:Action'],
    [
      'a resource the app does not have',
      [publishers[0]!.role, 'events:PutEvents', 'no-such-bus'],
      "'no-such-bus' is not an ARN nor the name",
    ],
    ['a context entry without =', [publishers[0]!.role, 'events:PutEvents', busArn, 'events:source'], 'must be key=value'],
    ['a context key with spaces', [publishers[0]!.role, 'events:PutEvents', busArn, 'bad key=1'], 'must be 1-256 letters'],
  ])('rejects %s (exit 2)', async (_what, args, message) => {
    const r = await check(...args);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
  });

  test('treats hostile context keys as plain keys: no crash, no prototype write', async () => {
    const r = await check(first.role, 'events:PutEvents', busArn, '__proto__=polluted', 'constructor=x', ...putEvents(own), '--json');
    expect(r.code).toBe(0);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const raw = json<{ context: Record<string, unknown> }>(r);
    expect(Object.keys(raw.context)).toEqual(expect.arrayContaining(['__proto__', 'constructor']));
    expect(raw.context.constructor).toBe('x');
  });

  test('repeats a key to give a list', async () => {
    const r = await check(first.role, 'events:PutEvents', busArn, ...putEvents(own), `events:detail-type=${foreign.detailType}`, '--json');
    const result = accessCheckSchema.parse(json(r));
    expect(result.context['events:detail-type']).toEqual([own.detailType, foreign.detailType]);
    // ForAllValues: every detail-type in the request must be allowed.
    expect(result.decision).not.toBe('Allow');
    expect(r.code).toBe(1);
  });
});
