/**
 * Identities in the local runtime: STS AssumeRole / GetSessionToken / GetCallerIdentity with the
 * SDK v3 and the AWS CLI, access keys mapped to principals, sessions expiring on the runtime's
 * clock, SigV4 checked with --verify-signatures, and hostile credentials answered in AWS's
 * shapes. Roles come from the synthesized app and the catalog.
 */
import { request } from 'node:http';
import { EventBridgeClient, ListEventBusesCommand, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { ListQueuesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { AssumeRoleCommand, GetCallerIdentityCommand, GetSessionTokenCommand, STSClient } from '@aws-sdk/client-sts';
import { app } from '../../catalog';
import { ensureSynth } from '../../assembly';
import { names, PUBLISHER_TAG_KEY } from '../../sdk/catalog';
import { VirtualClock } from '../../runtime/clock';
import { checkUsers, CredentialStore, type UserConfig } from '../../runtime/identity';
import { principalOf } from '../../iam';
import { MAX_SESSIONS } from '../../runtime/identity/credentials';
import { runtimeAccount } from '../../runtime/template';
import { awsWith, REGION, startHarness, type Harness } from './helpers';

jest.setTimeout(120_000);

const [intake] = app.catalog.publishers;
const [consumer] = app.catalog.consumers;
if (!intake || !consumer) throw new Error('the catalog needs a publisher and a consumer for these tests');

type Credentials = { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
const ROOT_KEY: Credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

let dir: string;
let h: Harness;
let clock: VirtualClock;
let account: string;

const NOBODY: UserConfig = { accessKeyId: 'NOBODY', secretAccessKey: 'nobody-secret', arn: '' };
/** A developer allowed to assume the account's roles, as an administrator would grant it; their trust policies still decide. */
const DEVELOPER: UserConfig = { accessKeyId: 'DEVELOPER', secretAccessKey: 'developer-secret', arn: '' };
const DEVELOPER_KEY: Credentials = { accessKeyId: DEVELOPER.accessKeyId, secretAccessKey: DEVELOPER.secretAccessKey };

const sts = (credentials: Credentials = ROOT_KEY) => new STSClient({ endpoint: h.endpoint, region: REGION, credentials, maxAttempts: 1 });
const roleArn = (name: string) => `arn:aws:iam::${account}:role/${name}`;
const publisherRole = () => roleArn(names.publisherRole(app, intake.name));

async function assume(params: { RoleArn?: string; RoleSessionName?: string; DurationSeconds?: number }, as: Credentials = DEVELOPER_KEY) {
  const client = sts(as);
  try {
    return await client.send(new AssumeRoleCommand({ RoleArn: publisherRole(), RoleSessionName: 'identity-test', ...params }));
  } finally {
    client.destroy();
  }
}

const credentialsOf = (r: Awaited<ReturnType<typeof assume>>): Credentials => ({
  accessKeyId: r.Credentials!.AccessKeyId!,
  secretAccessKey: r.Credentials!.SecretAccessKey!,
  sessionToken: r.Credentials!.SessionToken!,
});

async function callerOf(credentials: Credentials) {
  const client = sts(credentials);
  try {
    return await client.send(new GetCallerIdentityCommand({}));
  } finally {
    client.destroy();
  }
}

beforeAll(async () => {
  dir = await ensureSynth();
  clock = new VirtualClock(Date.UTC(2026, 0, 1));
  // The account the runtime runs the app in; the first STS test checks that the default key is that account's root user.
  account = runtimeAccount(dir);
  NOBODY.arn = `arn:aws:iam::${account}:user/nobody`;
  DEVELOPER.arn = `arn:aws:iam::${account}:user/developer`;
  // The intake publisher's role trusts principals of the account tagged as that publisher.
  DEVELOPER.tags = { [PUBLISHER_TAG_KEY]: intake.name };
  DEVELOPER.policies = [
    { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole', Resource: `arn:aws:iam::${account}:role/*` }] },
  ];
  h = await startHarness(dir, { iam: 'enforce', clock, prewarm: false, users: [NOBODY, DEVELOPER] });
});
afterAll(async () => h?.close());

describe('STS', () => {
  test('the default key is the account’s root user', async () => {
    const me = await callerOf(ROOT_KEY);
    expect(me).toMatchObject({ Arn: `arn:aws:iam::${account}:root`, UserId: account, Account: account });
  });

  test('AssumeRole issues temporary credentials on the runtime clock, and they name the session', async () => {
    const r = await assume({});
    expect(r.Credentials?.AccessKeyId).toMatch(/^ASIA[A-Z2-7]{16}$/);
    expect(r.Credentials?.SessionToken).toBeTruthy();
    // One hour by default, from the runtime's (virtual) clock.
    expect(r.Credentials?.Expiration?.getTime()).toBe(clock.now() + 3600_000);
    const session = `arn:aws:sts::${account}:assumed-role/${names.publisherRole(app, intake.name)}/identity-test`;
    expect(r.AssumedRoleUser?.Arn).toBe(session);
    const me = await callerOf(credentialsOf(r));
    expect(me.Arn).toBe(session);
    expect(me.UserId).toMatch(/^AROA[A-Z2-7]{17}:identity-test$/);
  });

  test('the trust policy decides: a role that trusts only Lambda cannot be assumed, with AWS’s message', async () => {
    const role = roleArn(names.consumerRole(app, consumer.name));
    const err = await assume({ RoleArn: role }).catch((e: Error) => e);
    expect((err as Error).name).toBe('AccessDenied');
    expect((err as Error).message).toBe(`User: ${DEVELOPER.arn} is not authorized to perform: sts:AssumeRole on resource: ${role}`);
  });

  test('the root user may not assume roles', async () => {
    const err = await assume({}, ROOT_KEY).catch((e: Error) => e);
    expect((err as Error).name).toBe('AccessDenied');
    expect((err as Error).message).toBe('Roles may not be assumed by root accounts.');
  });

  test('a trust policy that names the account needs the caller’s own permission too', async () => {
    const err = await assume({}, { accessKeyId: NOBODY.accessKeyId, secretAccessKey: NOBODY.secretAccessKey }).catch((e: Error) => e);
    expect((err as Error).name).toBe('AccessDenied');
    expect((err as Error).message).toBe(`User: ${NOBODY.arn} is not authorized to perform: sts:AssumeRole on resource: ${publisherRole()}`);
  });

  test('a role the app does not define is refused as AWS refuses it', async () => {
    const missing = roleArn('not-in-this-app');
    const err = await assume({ RoleArn: missing }).catch((e: Error) => e);
    expect((err as Error).name).toBe('AccessDenied');
    expect((err as Error).message).toContain(`sts:AssumeRole on resource: ${missing}`);
  });

  test.each([
    [
      { DurationSeconds: 899 },
      "Value '899' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900",
    ],
    [
      { DurationSeconds: 43201 },
      "Value '43201' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to 43200",
    ],
    [{ DurationSeconds: 7200 }, 'The requested DurationSeconds exceeds the MaxSessionDuration set for this role.'],
    [
      { RoleSessionName: 'x' },
      "Value 'x' at 'roleSessionName' failed to satisfy constraint: Member must have length greater than or equal to 2",
    ],
    [
      { RoleSessionName: 'a'.repeat(65) },
      "at 'roleSessionName' failed to satisfy constraint: Member must have length less than or equal to 64",
    ],
    [{ RoleSessionName: 'has space' }, "at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern"],
    [{ RoleArn: 'short' }, "at 'roleArn' failed to satisfy constraint"],
  ])('AssumeRole %j is a ValidationError', async (params, message) => {
    const err = await assume(params).catch((e: Error) => e);
    expect((err as Error).name).toBe('ValidationError');
    expect((err as Error).message).toContain(message);
  });

  test('a huge session name is refused with a bounded answer', async () => {
    const err = await assume({ RoleSessionName: 'a'.repeat(200_000) }).catch((e: Error) => e);
    expect((err as Error).name).toBe('ValidationError');
    expect((err as Error).message.length).toBeLessThan(400);
  });

  test('an expired session gets ExpiredToken, in each protocol', async () => {
    const session = credentialsOf(await assume({ DurationSeconds: 900 }));
    const eb = new EventBridgeClient({ endpoint: h.endpoint, region: REGION, credentials: session, maxAttempts: 1 });
    const sqs = new SQSClient({ endpoint: h.endpoint, region: REGION, credentials: session, maxAttempts: 1 });
    await expect(callerOf(session)).resolves.toBeDefined();
    clock.advance(900_000);
    await expect(callerOf(session)).rejects.toMatchObject({ name: 'ExpiredToken' });
    await expect(eb.send(new ListEventBusesCommand({}))).rejects.toMatchObject({
      name: 'ExpiredTokenException',
      message: 'The security token included in the request is expired',
    });
    await expect(sqs.send(new ListQueuesCommand({}))).rejects.toMatchObject({ name: 'ExpiredToken' });
    eb.destroy();
    sqs.destroy();
  });

  test('a session key without its token, or one this runtime never issued, is an invalid token', async () => {
    const session = credentialsOf(await assume({}));
    const eb = (c: Credentials) => new EventBridgeClient({ endpoint: h.endpoint, region: REGION, credentials: c, maxAttempts: 1 });
    for (const c of [
      { accessKeyId: session.accessKeyId, secretAccessKey: session.secretAccessKey },
      { ...session, sessionToken: `${session.sessionToken}x` },
      { accessKeyId: 'ASIAAAAAAAAAAAAAAAAA', secretAccessKey: 'x', sessionToken: 'y' },
    ]) {
      const client = eb(c);
      await expect(client.send(new ListEventBusesCommand({}))).rejects.toMatchObject({
        name: 'UnrecognizedClientException',
        message: 'The security token included in the request is invalid.',
      });
      client.destroy();
    }
  });

  test('GetSessionToken: the root user gets at most an hour; a session may not call it', async () => {
    const client = sts();
    const r = await client.send(new GetSessionTokenCommand({}));
    client.destroy();
    expect(r.Credentials?.AccessKeyId).toMatch(/^ASIA/);
    expect(r.Credentials?.Expiration?.getTime()).toBe(clock.now() + 3600_000);
    const temp = {
      accessKeyId: r.Credentials!.AccessKeyId!,
      secretAccessKey: r.Credentials!.SecretAccessKey!,
      sessionToken: r.Credentials!.SessionToken!,
    };
    expect((await callerOf(temp)).Arn).toBe(`arn:aws:iam::${account}:root`);
    const again = sts(temp);
    await expect(again.send(new GetSessionTokenCommand({}))).rejects.toMatchObject({
      name: 'AccessDenied',
      message: 'Cannot call GetSessionToken with session credentials',
    });
    again.destroy();
  });

  test('the AWS CLI assumes the role and publishes with the session from its environment', async () => {
    const developer = { AWS_ACCESS_KEY_ID: DEVELOPER.accessKeyId, AWS_SECRET_ACCESS_KEY: DEVELOPER.secretAccessKey };
    const assumed = await awsWith(
      h.endpoint,
      developer,
      'sts',
      'assume-role',
      '--role-arn',
      publisherRole(),
      '--role-session-name',
      'cli-session',
    );
    expect(assumed.stderr).toBe('');
    const c = assumed.json.Credentials;
    const env = { AWS_ACCESS_KEY_ID: c.AccessKeyId, AWS_SECRET_ACCESS_KEY: c.SecretAccessKey, AWS_SESSION_TOKEN: c.SessionToken };
    const who = await awsWith(h.endpoint, env, 'sts', 'get-caller-identity');
    expect(who.json.Arn).toBe(`arn:aws:sts::${account}:assumed-role/${names.publisherRole(app, intake.name)}/cli-session`);
    const own = intake.publishes[0]!;
    const entry = (e: { source: string; detailType: string }) =>
      JSON.stringify([{ EventBusName: app.eventBusName, Source: e.source, DetailType: e.detailType, Detail: '{}' }]);
    const ok = await awsWith(h.endpoint, env, 'events', 'put-events', '--entries', entry(own));
    expect(ok.code).toBe(0);
    expect(ok.json.FailedEntryCount).toBe(0);
    const forged = app.catalog.events.find((e) => e.source !== own.source)!;
    const denied = await awsWith(h.endpoint, env, 'events', 'put-events', '--entries', entry(forged));
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toContain('AccessDeniedException');
    expect(denied.stderr).toContain('events:PutEvents');
  });
});

/** One raw request to the endpoint: status, headers and body as sent back. */
function raw(path: string, headers: Record<string, string>, body: string): Promise<{ status: number; body: string }> {
  const url = new URL(path, h.endpoint);
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { 'Content-Length': Buffer.byteLength(body), ...headers } }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString('utf8')));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('hostile credentials', () => {
  const target = { 'X-Amz-Target': 'AWSEvents.ListEventBuses', 'Content-Type': 'application/x-amz-json-1.1' };
  const scope = '20260101/us-east-1/events/aws4_request';
  const sig = 'a'.repeat(64);

  test.each([
    ['no Authorization header', {}, 'MissingAuthenticationTokenException'],
    ['another scheme', { Authorization: 'Basic dXNlcjpwYXNz' }, 'IncompleteSignatureException'],
    ['no Credential', { Authorization: `AWS4-HMAC-SHA256 SignedHeaders=host, Signature=${sig}` }, 'IncompleteSignatureException'],
    [
      'a short scope',
      { Authorization: `AWS4-HMAC-SHA256 Credential=test/20260101, SignedHeaders=host, Signature=${sig}` },
      'IncompleteSignatureException',
    ],
    [
      'a bad signature',
      { Authorization: `AWS4-HMAC-SHA256 Credential=test/${scope}, SignedHeaders=host, Signature=zz` },
      'IncompleteSignatureException',
    ],
    [
      'a huge header',
      { Authorization: `AWS4-HMAC-SHA256 Credential=${'A'.repeat(7000)}/${scope}, SignedHeaders=host, Signature=${sig}` },
      'IncompleteSignatureException',
    ],
    [
      'an unknown session key',
      { Authorization: `AWS4-HMAC-SHA256 Credential=ASIAZZZZZZZZZZZZZZZZ/${scope}, SignedHeaders=host, Signature=${sig}` },
      'UnrecognizedClientException',
    ],
  ])('%s: refused in AWS’s shape, and the runtime keeps serving', async (_what, headers, code) => {
    const r = await raw('/', { ...target, ...headers }, '{}');
    expect(r.status).toBe(400);
    expect(JSON.parse(r.body)).toMatchObject({ __type: code });
    expect((await callerOf(ROOT_KEY)).Account).toBe(account);
  });

  test('over the query protocol the same refusals are XML with the query code', async () => {
    const r = await raw('/', { 'Content-Type': 'application/x-www-form-urlencoded' }, 'Action=ListQueues&Version=2012-11-05');
    expect(r.status).toBe(403);
    expect(r.body).toContain('<Code>MissingAuthenticationToken</Code>');
  });
});

describe('--verify-signatures', () => {
  let v: Harness;
  const SIGNER: UserConfig = { accessKeyId: 'SIGNER', secretAccessKey: 'signer-secret', arn: '' };
  beforeAll(async () => {
    SIGNER.arn = DEVELOPER.arn;
    SIGNER.policies = DEVELOPER.policies;
    SIGNER.tags = DEVELOPER.tags;
    v = await startHarness(dir, { iam: 'enforce', verifySignatures: true, prewarm: false, users: [SIGNER] });
  });
  afterAll(async () => v?.close());

  const client = (credentials: Credentials) => new STSClient({ endpoint: v.endpoint, region: REGION, credentials, maxAttempts: 1 });

  test('signatures of configured users and issued sessions are checked; the SDK’s and the CLI’s pass', async () => {
    const signer = { accessKeyId: SIGNER.accessKeyId, secretAccessKey: SIGNER.secretAccessKey };
    const c = client(signer);
    const r = await c.send(new AssumeRoleCommand({ RoleArn: publisherRole(), RoleSessionName: 'verified' }));
    c.destroy();
    const session = credentialsOf(r);
    const eb = new EventBridgeClient({ endpoint: v.endpoint, region: REGION, credentials: session, maxAttempts: 1 });
    const own = intake.publishes[0]!;
    const ok = await eb.send(
      new PutEventsCommand({ Entries: [{ EventBusName: app.eventBusName, Source: own.source, DetailType: own.detailType, Detail: '{}' }] }),
    );
    eb.destroy();
    expect(ok.FailedEntryCount).toBe(0);
    const cli = await awsWith(
      v.endpoint,
      { AWS_ACCESS_KEY_ID: signer.accessKeyId, AWS_SECRET_ACCESS_KEY: signer.secretAccessKey },
      'sts',
      'get-caller-identity',
    );
    expect(cli.stderr).toBe('');
    expect(cli.json.Arn).toBe(SIGNER.arn);
  });

  test('a wrong secret is InvalidSignatureException (JSON) or SignatureDoesNotMatch (query)', async () => {
    const wrong = { accessKeyId: SIGNER.accessKeyId, secretAccessKey: 'not-the-secret' };
    const eb = new EventBridgeClient({ endpoint: v.endpoint, region: REGION, credentials: wrong, maxAttempts: 1 });
    await expect(eb.send(new ListEventBusesCommand({}))).rejects.toMatchObject({ name: 'InvalidSignatureException' });
    eb.destroy();
    const c = client(wrong);
    await expect(c.send(new GetCallerIdentityCommand({}))).rejects.toMatchObject({ name: 'SignatureDoesNotMatch' });
    c.destroy();
  });

  test('a key the runtime has no secret for is refused', async () => {
    const c = client(ROOT_KEY);
    await expect(c.send(new GetCallerIdentityCommand({}))).rejects.toMatchObject({ name: 'InvalidClientTokenId' });
    c.destroy();
  });
});

describe('users configuration', () => {
  test.each([
    [{}, 'expected { "users"'],
    [
      { users: [{ accessKeyId: 'A', secretAccessKey: 's', arn: 'arn:aws:iam::111111111111:role/r' }] },
      'users[0].arn must be a user, root or assumed-role ARN',
    ],
    [{ users: [{ accessKeyId: 'ASIAX', secretAccessKey: 's', arn: 'arn:aws:iam::111111111111:root' }] }, 'must not start with ASIA'],
    [{ users: [{ accessKeyId: 'a b', secretAccessKey: 's', arn: 'arn:aws:iam::111111111111:root' }] }, 'users[0].accessKeyId'],
    [{ users: [{ accessKeyId: 'A', secretAccessKey: '', arn: 'arn:aws:iam::111111111111:root' }] }, 'users[0].secretAccessKey'],
  ])('%j is refused, naming the field', (value, message) => {
    expect(() => checkUsers(value)).toThrow(message);
  });

  test('sessions are capped, so a loop of AssumeRole cannot grow memory without bound; functions’ sessions stay', () => {
    const store = new CredentialStore({ accountId: '111111111111' });
    const fn = store.issue(principalOf('arn:aws:sts::111111111111:assumed-role/fn-role/fn'), { now: 0, expiresAt: undefined });
    const first = store.issue(principalOf('arn:aws:sts::111111111111:assumed-role/r/s0'), { now: 0, expiresAt: 3600_000 });
    for (let i = 1; i <= MAX_SESSIONS; i++) {
      store.issue(principalOf(`arn:aws:sts::111111111111:assumed-role/r/s${i}`), { now: 0, expiresAt: 3600_000 });
    }
    expect(store.sessionCount).toBe(MAX_SESSIONS);
    expect(store.resolve(first.session!.accessKeyId, first.session!.sessionToken, 1)).toBe('unknown-session');
    expect(store.resolve(fn.session!.accessKeyId, fn.session!.sessionToken, 1)).toBe(fn);
  });
});
