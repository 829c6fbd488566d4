/**
 * The real app in `--iam enforce`, `warn` and `off`: publishers assume their roles through STS
 * and publish; the bus policy and the roles' policies refuse what AWS would refuse, in AWS's
 * words. Principals, roles, sources, detail types and queues come from the catalog and the
 * synthesized assembly, never from constants here.
 */
import { EventBridgeClient, PutEventsCommand, PutRuleCommand, DeleteRuleCommand } from '@aws-sdk/client-eventbridge';
import { ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { app } from '../../catalog';
import { ensureSynth } from '../../assembly';
import { names, PUBLISHER_TAG_KEY } from '../../sdk/catalog';
import { loadAppPolicies } from '../../runtime/identity';
import type { UserConfig } from '../../runtime/identity';
import type { IamMode } from '../../runtime/iam-mode';
import { runtimeAccount } from '../../runtime/template';
import { awsWith, REGION, startHarness, type Harness } from './helpers';
import { runCli } from '../cli/helpers';

jest.setTimeout(120_000);

const catalog = app.catalog;
const [intake] = catalog.publishers;
const [consumerA, consumerB] = catalog.consumers;
if (!intake || !consumerA || !consumerB) throw new Error('the catalog needs a publisher and two consumers for these tests');

let dir: string;
let account: string;

type Credentials = { accessKeyId: string; secretAccessKey: string; sessionToken?: string };

/** A session of the role, through the runtime's STS, as the caller `as`. */
async function assume(h: Harness, roleName: string, as: Credentials = developerFor(roleName)): Promise<Credentials> {
  const sts = new STSClient({ endpoint: h.endpoint, region: REGION, credentials: as, maxAttempts: 1 });
  try {
    const r = await sts.send(
      new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${account}:role/${roleName}`, RoleSessionName: 'enforcement-test' }),
    );
    return {
      accessKeyId: r.Credentials!.AccessKeyId!,
      secretAccessKey: r.Credentials!.SecretAccessKey!,
      sessionToken: r.Credentials!.SessionToken!,
    };
  } finally {
    sts.destroy();
  }
}

const eventBridge = (h: Harness, credentials: Credentials) =>
  new EventBridgeClient({ endpoint: h.endpoint, region: REGION, credentials, maxAttempts: 1 });
const sqsAs = (h: Harness, credentials: Credentials) =>
  new SQSClient({ endpoint: h.endpoint, region: REGION, credentials, maxAttempts: 1 });

const busArn = () => `arn:aws:events:${REGION}:${account}:event-bus/${app.eventBusName}`;
const sessionArn = (role: string) => `arn:aws:sts::${account}:assumed-role/${role}/enforcement-test`;

/** The principal ARNs the bus policy exempts from its deny on rule management: the app's rule managers. */
function ruleManagers(): string[] {
  const policies = loadAppPolicies(dir, { region: REGION, accountId: account, endpoint: 'http://127.0.0.1:1' });
  const bus = policies.model.resource[busArn()];
  for (const st of bus?.document.Statement ?? []) {
    const actions = ([] as string[]).concat(st.Action ?? []);
    const exempt = st.Condition?.ArnNotLike?.['aws:PrincipalArn'];
    if (st.Effect === 'Deny' && actions.includes('events:PutRule') && exempt) return ([] as string[]).concat(exempt as string[]);
  }
  throw new Error('the bus policy has no deny on events:PutRule with exempted principals');
}

/** A key acting as a session of a role the runtime does not issue itself (a consumer's execution role, a deployment role). */
const sessionUser = (accessKeyId: string, roleArn: string, policies?: unknown[]): UserConfig => {
  const [, , , , acct, rest] = roleArn.split(':');
  return {
    accessKeyId,
    secretAccessKey: `${accessKeyId}-secret`,
    arn: `arn:aws:sts::${acct}:assumed-role/${rest?.slice('role/'.length)}/enforcement-test`,
    ...(policies ? { policies } : {}),
  };
};

/** Publisher roles trust principals of the account tagged as their publisher: one developer per publisher. */
const publisherDeveloperKey = (publisher: string) => `DEVELOPER-${publisher}`;
function developerFor(roleName: string): Credentials {
  const publisher = catalog.publishers.find((p) => names.publisherRole(app, p.name) === roleName);
  return publisher
    ? { accessKeyId: publisherDeveloperKey(publisher.name), secretAccessKey: 'developer-secret' }
    : { accessKeyId: 'DEVELOPER', secretAccessKey: 'developer-secret' };
}

const users = (): UserConfig[] => [
  ...catalog.publishers.map((p) => ({
    accessKeyId: publisherDeveloperKey(p.name),
    secretAccessKey: 'developer-secret',
    arn: `arn:aws:iam::${account}:user/developer-${p.name}`,
    tags: { [PUBLISHER_TAG_KEY]: p.name },
    policies: [
      { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole', Resource: `arn:aws:iam::${account}:role/*` }] },
    ],
  })),
  {
    // Allowed to assume the account's roles; each role's trust policy still decides.
    accessKeyId: 'DEVELOPER',
    secretAccessKey: 'developer-secret',
    arn: `arn:aws:iam::${account}:user/developer`,
    policies: [
      { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole', Resource: `arn:aws:iam::${account}:role/*` }] },
    ],
  },
  sessionUser('CONSUMERA', `arn:aws:iam::${account}:role/${names.consumerRole(app, consumerA.name)}`),
  sessionUser('RULEMANAGER', ruleManagers().find((a) => !a.includes('*')) ?? '', [
    { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['events:*', 'sqs:*'], Resource: '*' }] },
  ]),
  {
    accessKeyId: 'UNLISTED',
    secretAccessKey: 'unlisted-secret',
    arn: `arn:aws:iam::${account}:user/unlisted`,
    policies: [{ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'events:PutEvents', Resource: '*' }] }],
  },
];

beforeAll(async () => {
  dir = await ensureSynth();
  // The account the runtime runs the app in (each harness checks that STS tells the default key the same).
  account = runtimeAccount(dir);
});

async function start(iam: IamMode): Promise<Harness> {
  const h = await startHarness(dir, { iam, users: users(), prewarm: false });
  const sts = new STSClient({ endpoint: h.endpoint, region: REGION, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  const root = await sts.send(new GetCallerIdentityCommand({}));
  sts.destroy();
  expect(root.Arn).toBe(`arn:aws:iam::${account}:root`);
  return h;
}

describe('--iam enforce', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await start('enforce');
  });
  afterAll(async () => h?.close());

  test('each publisher publishes its own events with its role session', async () => {
    for (const publisher of catalog.publishers) {
      const eb = eventBridge(h, await assume(h, names.publisherRole(app, publisher.name)));
      const r = await eb.send(
        new PutEventsCommand({
          Entries: publisher.publishes.map((e) => ({
            EventBusName: app.eventBusName,
            Source: e.source,
            DetailType: e.detailType,
            Detail: '{}',
          })),
        }),
      );
      eb.destroy();
      expect(r.FailedEntryCount).toBe(0);
      expect(r.Entries).toHaveLength(publisher.publishes.length);
    }
  });

  test('a publisher is denied another publisher’s source, in AWS’s words', async () => {
    const role = names.publisherRole(app, intake.name);
    const eb = eventBridge(h, await assume(h, role));
    const forged = catalog.events.find((e) => !intake.publishes.some((own) => own.source === e.source));
    if (!forged) throw new Error('the catalog has no event under another source');
    const published = h.recorded.of('event.published').length;
    const err = await eb
      .send(
        new PutEventsCommand({
          Entries: [{ EventBusName: app.eventBusName, Source: forged.source, DetailType: forged.detailType, Detail: '{}' }],
        }),
      )
      .catch((e: Error) => e);
    eb.destroy();
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).name).toBe('AccessDeniedException');
    expect((err as Error).message).toMatch(
      new RegExp(
        `^User: ${sessionArn(role).replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} is not authorized to perform: events:PutEvents on resource: ${busArn().replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} `,
      ),
    );
    // Nothing of the refused call reached the bus.
    expect(h.recorded.of('event.published')).toHaveLength(published);
    expect(h.recorded.of('access.denied').at(-1)).toMatchObject({ mode: 'enforce', action: 'events:PutEvents', resource: busArn() });
  });

  test('a publisher is denied a detail type its catalog entry does not list, even under its own source', async () => {
    const own = intake.publishes[0]!;
    const eb = eventBridge(h, await assume(h, names.publisherRole(app, intake.name)));
    const detailType = `${own.detailType}Forged`;
    const err = await eb
      .send(
        new PutEventsCommand({ Entries: [{ EventBusName: app.eventBusName, Source: own.source, DetailType: detailType, Detail: '{}' }] }),
      )
      .catch((e: Error) => e);
    eb.destroy();
    expect((err as Error).name).toBe('AccessDeniedException');
    expect((err as Error).message).toContain('events:PutEvents');
  });

  test('a mixed call is refused whole: no entry of it is accepted', async () => {
    const own = intake.publishes[0]!;
    const forged = catalog.events.find((e) => e.source !== own.source)!;
    const eb = eventBridge(h, await assume(h, names.publisherRole(app, intake.name)));
    const published = h.recorded.of('event.published').length;
    const err = await eb
      .send(
        new PutEventsCommand({
          Entries: [own, forged].map((e) => ({ EventBusName: app.eventBusName, Source: e.source, DetailType: e.detailType, Detail: '{}' })),
        }),
      )
      .catch((e: Error) => e);
    eb.destroy();
    expect((err as Error).name).toBe('AccessDeniedException');
    expect(h.recorded.of('event.published')).toHaveLength(published);
  });

  test('an unlisted principal with PutEvents on * is refused by an explicit deny in the bus policy', async () => {
    const eb = eventBridge(h, { accessKeyId: 'UNLISTED', secretAccessKey: 'unlisted-secret' });
    const own = intake.publishes[0]!;
    const err = await eb
      .send(
        new PutEventsCommand({
          Entries: [{ EventBusName: app.eventBusName, Source: own.source, DetailType: own.detailType, Detail: '{}' }],
        }),
      )
      .catch((e: Error) => e);
    eb.destroy();
    expect((err as Error).name).toBe('AccessDeniedException');
    expect((err as Error).message).toBe(
      `User: arn:aws:iam::${account}:user/unlisted is not authorized to perform: events:PutEvents on resource: ${busArn()} with an explicit deny in a resource-based policy`,
    );
  });

  test('a consumer role reads its own encrypted queue but is denied another consumer’s (SDK, JSON protocol)', async () => {
    const sqs = sqsAs(h, { accessKeyId: 'CONSUMERA', secretAccessKey: 'CONSUMERA-secret' });
    const url = (c: { name: string }) => h.queueUrl(names.consumerPrefix(app, c.name));
    // Its own queue: the queue policy or its role allows ReceiveMessage, and its key statements allow Decrypt through SQS.
    await expect(sqs.send(new ReceiveMessageCommand({ QueueUrl: url(consumerA) }))).resolves.toBeDefined();
    const err = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url(consumerB) })).catch((e: Error) => e);
    sqs.destroy();
    expect((err as Error).name).toBe('AccessDenied');
    const queueArn = `arn:aws:sqs:${REGION}:${account}:${names.consumerPrefix(app, consumerB.name)}`;
    expect((err as Error).message).toContain(`is not authorized to perform: sqs:ReceiveMessage on resource: ${queueArn}`);
  });

  test('the same refusal over the query protocol (AWS CLI)', async () => {
    const r = await awsWith(
      h.endpoint,
      { AWS_ACCESS_KEY_ID: 'CONSUMERA', AWS_SECRET_ACCESS_KEY: 'CONSUMERA-secret' },
      'sqs',
      'receive-message',
      '--queue-url',
      h.queueUrl(names.consumerPrefix(app, consumerB.name)),
    );
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('(AccessDenied)');
    expect(r.stderr).toContain('sqs:ReceiveMessage');
  });

  test('`tail` is denied without a rule-manager role, and leaves nothing behind', async () => {
    const rulesBefore = h.recorded.of('rule.put').length;
    const r = await runCli(['tail', '--count', '1'], { env: { AWS_ENDPOINT_URL: h.endpoint } });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('events:PutRule');
    expect(r.stderr).toContain('explicit deny');
    expect(h.recorded.of('rule.put')).toHaveLength(rulesBefore);
    // The queue tail created before its rule was refused is removed again.
    const created = h.recorded.envelopes('queue.created').filter((e) => e.request).length;
    expect(created).toBeGreaterThan(0);
    expect(h.recorded.of('queue.deleted')).toHaveLength(created);
  });

  test('the rule manager the bus policy names may add a rule', async () => {
    const eb = eventBridge(h, { accessKeyId: 'RULEMANAGER', secretAccessKey: 'RULEMANAGER-secret' });
    const name = 'enforcement-rule-manager';
    const pattern = JSON.stringify({ source: [intake.publishes[0]!.source] });
    await expect(eb.send(new PutRuleCommand({ Name: name, EventBusName: app.eventBusName, EventPattern: pattern }))).resolves.toBeDefined();
    await eb.send(new DeleteRuleCommand({ Name: name, EventBusName: app.eventBusName }));
    eb.destroy();
  });
});

describe.each<[IamMode, boolean]>([
  ['warn', true],
  ['off', false],
])('--iam %s', (mode, reports) => {
  let h: Harness;
  beforeAll(async () => {
    h = await start(mode);
  });
  afterAll(async () => h?.close());

  test(`a forged publish is accepted${reports ? ', logged and reported with the deciding statement' : ' silently'}`, async () => {
    const role = names.publisherRole(app, intake.name);
    const eb = eventBridge(h, await assume(h, role));
    const forged = catalog.events.find((e) => !intake.publishes.some((own) => own.source === e.source))!;
    const r = await eb.send(
      new PutEventsCommand({
        Entries: [{ EventBusName: app.eventBusName, Source: forged.source, DetailType: forged.detailType, Detail: '{}' }],
      }),
    );
    eb.destroy();
    expect(r.FailedEntryCount).toBe(0);
    const denied = h.recorded.of('access.denied', (p) => p.action === 'events:PutEvents');
    if (reports) {
      expect(denied).toEqual([expect.objectContaining({ mode: 'warn', principalArn: sessionArn(role), resource: busArn() })]);
      await new Promise((r) => setImmediate(r));
      expect(h.lines.some((l) => l.includes('iam-warn') && l.includes('events:PutEvents') && l.includes(sessionArn(role)))).toBe(true);
    } else {
      expect(denied).toEqual([]);
      expect(h.lines.some((l) => l.includes('iam-'))).toBe(false);
    }
  });
});
