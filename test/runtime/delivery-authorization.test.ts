/**
 * EventBridge's deliveries to queues are checked as AWS checks them: the queue policy must let
 * `events.amazonaws.com` send with the rule as `aws:SourceArn`, and the key of an encrypted queue
 * must let it generate data keys and decrypt. The app as synthesized delivers cleanly in enforce
 * mode; variants of it, each missing one grant, fail the way AWS fails them: no retries, the event
 * in the target's dead-letter queue with the error attributes, or dropped when that queue is
 * refused too.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { app } from '../../catalog';
import { LoanApplicationSubmitted } from '../../catalog/loans';
import { ensureSynth } from '../../assembly';
import { consumerNames } from '../../lib/buffered-consumer';
import { isRemoteConsumer, names, type ConsumerDefinition } from '../../sdk/catalog';
import { EventPublisher } from '../../sdk';
import { NO_PERMISSIONS, EVENTS_SERVICE_PRINCIPAL } from '../../runtime/delivery-authorization';
import type { IamMode } from '../../runtime/iam-mode';
import { SQSClient } from '@aws-sdk/client-sqs';
import { ACCOUNT, drain, Harness, HARNESS_CREDENTIALS, REGION, startIdleDrivenHarness, waitFor } from './helpers';

jest.setTimeout(240_000);

type Json = any;

/** The consumer under test: the first one in the bus's account whose subscription has no data filter. */
const consumer: ConsumerDefinition = (() => {
  const c = app.catalog.consumers.find((x) => !isRemoteConsumer(app, x) && x.subscriptions.some((s) => s.where === undefined));
  if (!c) throw new Error('the catalog has no same-account consumer with an unfiltered subscription');
  return c;
})();
const subscribed = consumer.subscriptions.find((s) => s.where === undefined)!.event;
const queues = consumerNames(app, consumer.name);

let shipped: string;
const copies: string[] = [];

beforeAll(async () => {
  shipped = await ensureSynth();
});
afterAll(() => {
  for (const dir of copies) rmSync(dir, { recursive: true, force: true });
});

/** A copy of the synthesized app with the consumer's stack template changed by `edit`. */
function variant(edit: (template: Json) => void): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'delivery-authz-'));
  copies.push(dir);
  cpSync(shipped, dir, { recursive: true });
  const file = path.join(dir, `${names.consumerStack(app, consumer.name)}.template.json`);
  const template = JSON.parse(readFileSync(file, 'utf8'));
  edit(template);
  writeFileSync(file, JSON.stringify(template));
  return dir;
}

const resources = (t: Json): [string, Json][] => Object.entries(t.Resources as Record<string, Json>);
const grantsToEventBridge = (st: Json) => JSON.stringify(st.Principal ?? {}).includes(EVENTS_SERVICE_PRINCIPAL);

function queueId(t: Json, queueName: string): string {
  const found = resources(t).find(([, r]) => r.Type === 'AWS::SQS::Queue' && r.Properties?.QueueName === queueName);
  if (!found) throw new Error(`no queue named ${queueName} in the consumer's template`);
  return found[0];
}

/** The key policy statements of the consumer's buffer queue's key that name EventBridge. */
function eventBridgeKeyStatements(t: Json): { policy: Json; statements: Json[] } {
  const keyRef = t.Resources[queueId(t, queues.queue)].Properties.KmsMasterKeyId;
  const keyId = keyRef?.['Fn::GetAtt']?.[0];
  if (!keyId) throw new Error(`queue ${queues.queue} is not encrypted with a key of its stack`);
  const policy = t.Resources[keyId].Properties.KeyPolicy;
  const statements = (policy.Statement as Json[]).filter(grantsToEventBridge);
  if (statements.length === 0) throw new Error(`the key of ${queues.queue} has no statement for ${EVENTS_SERVICE_PRINCIPAL}`);
  return { policy, statements };
}

/** The key no longer admits EventBridge at all: neither the buffer queue nor the delivery DLQ can be written. */
const withoutKeyGrant = (t: Json) => {
  const { policy } = eventBridgeKeyStatements(t);
  policy.Statement = (policy.Statement as Json[]).filter((st) => !grantsToEventBridge(st));
};

/** The key's grant names the delivery DLQ but not the buffer queue (a grant scoped to the wrong queue). */
const keyGrantMissingQueue = (t: Json) => {
  const { statements } = eventBridgeKeyStatements(t);
  let removed = 0;
  for (const st of statements) {
    for (const op of Object.values(st.Condition ?? {}) as Json[]) {
      const arns = op['kms:EncryptionContext:aws:sqs:arn'];
      if (!Array.isArray(arns)) continue;
      const kept = arns.filter((a) => !JSON.stringify(a).endsWith(`:${queues.queue}"]]}`));
      removed += arns.length - kept.length;
      op['kms:EncryptionContext:aws:sqs:arn'] = kept;
    }
  }
  if (removed === 0) throw new Error(`no key grant scoped to ${queues.queue} by encryption context was found`);
};

/** The buffer queue's policy no longer lets the rule send. */
const withoutQueueGrant = (t: Json) => {
  const id = queueId(t, queues.queue);
  const policy = resources(t).find(
    ([, r]) => r.Type === 'AWS::SQS::QueuePolicy' && JSON.stringify(r.Properties.Queues) === JSON.stringify([{ Ref: id }]),
  );
  if (!policy) throw new Error(`no queue policy for ${queues.queue}`);
  const doc = policy[1].Properties.PolicyDocument;
  const before = doc.Statement.length;
  doc.Statement = (doc.Statement as Json[]).filter((st) => !grantsToEventBridge(st));
  if (doc.Statement.length === before) throw new Error(`the policy of ${queues.queue} grants nothing to ${EVENTS_SERVICE_PRINCIPAL}`);
};

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/**
 * Starts the runtime; the harness's key signs as a session of the role of the publisher of `publishes`,
 * because in enforce mode the bus policy admits only the catalog's publishers.
 */
async function start(dir: string, iam: IamMode, publishes: { source: string; detailType: string } = subscribed): Promise<Harness> {
  const publisher = app.catalog.publishers.find((p) =>
    p.publishes.some((e) => e.source === publishes.source && e.detailType === publishes.detailType),
  );
  if (!publisher) throw new Error(`no publisher of ${publishes.detailType} in the catalog`);
  const session = `arn:aws:sts::${ACCOUNT}:assumed-role/${names.publisherRole(app, publisher.name)}/delivery-test`;
  h = await startIdleDrivenHarness(dir, {
    iam,
    prewarm: false,
    users: [
      { accessKeyId: HARNESS_CREDENTIALS.accessKeyId, secretAccessKey: HARNESS_CREDENTIALS.secretAccessKey, arn: session },
      // Dead letters are readable through SQS by the deployment role (the keys' DeploymentUsesKeyThroughAwsServices) and
      // named operators only: not by the account's root user, nor by a publisher.
      {
        accessKeyId: READER.accessKeyId,
        secretAccessKey: READER.secretAccessKey,
        arn: `arn:aws:sts::${ACCOUNT}:assumed-role/cdk-hnb659fds-cfn-exec-role-${ACCOUNT}-${REGION}/dead-letter-reader`,
        policies: [{ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['sqs:*', 'kms:Decrypt'], Resource: '*' }] }],
      },
    ],
  });
  reader = new SQSClient({ endpoint: h.endpoint, region: REGION, credentials: READER, maxAttempts: 1 });
  return h;
}

const READER = { accessKeyId: 'DEAD-LETTER-READER', secretAccessKey: 'reader-secret' };
let reader: SQSClient | undefined;
afterEach(() => {
  reader?.destroy();
  reader = undefined;
});

/** Publishes one event the consumer subscribes to; returns its id. */
async function publishSubscribed(harness: Harness): Promise<string> {
  const r = await harness.events.send(
    new PutEventsCommand({
      Entries: [
        {
          EventBusName: app.eventBusName,
          Source: subscribed.source,
          DetailType: subscribed.detailType,
          Detail: JSON.stringify({ probe: true }),
        },
      ],
    }),
  );
  expect(r.FailedEntryCount).toBe(0);
  return r.Entries![0]!.EventId!;
}

/** Waits until `list()` has an entry; returns the list. */
const some = <T>(what: string, list: () => T[]) => waitFor(what, () => (list().length > 0 ? list() : undefined));

const ofEvent = <T extends { eventId: string; ruleName: string }>(list: T[], id: string) =>
  list.filter((p) => p.eventId === id && p.ruleName === queues.rule);

describe('enforce', () => {
  test('a key policy that does not admit the buffer queue sends the event to the delivery DLQ with NO_PERMISSIONS, without retries', async () => {
    // GIVEN the consumer's key grants EventBridge its delivery DLQ only
    const harness = await start(variant(keyGrantMissingQueue), 'enforce');
    // WHEN
    const id = await publishSubscribed(harness);
    // THEN the delivery failed once, was not retried despite the target's retry policy, and was dead-lettered
    const [dead] = await some('the dead-lettering', () => ofEvent(harness.recorded.of('target.dead-lettered'), id));
    const failed = ofEvent(harness.recorded.of('target.failed'), id);
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ attempt: 1, errorCode: NO_PERMISSIONS, retryable: false });
    expect(failed[0]!.errorMessage).toMatch(
      /^KMS\.AccessDeniedException: User: events\.amazonaws\.com is not authorized to perform: kms:GenerateDataKey on resource: arn:aws:kms:/,
    );
    expect(ofEvent(harness.recorded.of('target.retried'), id)).toEqual([]);
    expect(ofEvent(harness.recorded.of('target.delivered'), id)).toEqual([]);
    expect(dead).toMatchObject({ errorCode: NO_PERMISSIONS, retryAttempts: 0, exhaustedRetryCondition: undefined });
    const [denial] = ofEvent(harness.recorded.of('delivery.unauthorized'), id);
    expect(denial).toMatchObject({
      mode: 'enforce',
      purpose: 'target',
      action: 'kms:GenerateDataKey',
      principal: EVENTS_SERVICE_PRINCIPAL,
    });
    expect(denial!.explanation).toMatch(/^implicit deny: no key policy allows kms:GenerateDataKey/);
    // the DLQ message is the event, with the attributes EventBridge adds
    const [m] = await drain(reader!, harness.queueUrl(queues.deliveryDeadLetterQueue), 1);
    expect(JSON.parse(m!.body)).toMatchObject({ id, source: subscribed.source, 'detail-type': subscribed.detailType });
    const attributes = Object.fromEntries(Object.entries(m!.messageAttributes).map(([k, v]) => [k, v.StringValue]));
    expect(attributes).toEqual({
      RULE_ARN: dead!.ruleArn,
      TARGET_ARN: dead!.targetArn,
      ERROR_CODE: NO_PERMISSIONS,
      ERROR_MESSAGE: failed[0]!.errorMessage,
      RETRY_ATTEMPTS: '0',
    });
    expect(dead!.targetArn).toMatch(new RegExp(`:${queues.queue}$`));
  });

  test('a key policy that does not admit EventBridge at all drops the event: its dead-letter queue is refused too', async () => {
    // GIVEN the best-known silent failure: an encrypted queue whose key policy lacks the service
    const harness = await start(variant(withoutKeyGrant), 'enforce');
    // WHEN
    const id = await publishSubscribed(harness);
    // THEN
    const [dropped] = await some('the drop', () => ofEvent(harness.recorded.of('target.dropped'), id));
    expect(dropped).toMatchObject({ errorCode: NO_PERMISSIONS });
    expect(dropped!.reason).toMatch(/refused it: KMS\.AccessDeniedException: /);
    expect(ofEvent(harness.recorded.of('delivery.unauthorized'), id).map((d) => d.purpose)).toEqual(['target', 'dead-letter']);
    expect(ofEvent(harness.recorded.of('target.dead-lettered'), id)).toEqual([]);
    expect(harness.lines.join('\n')).toContain(`DROPPED event ${id} for rule ${queues.rule}`);
  });

  test("a queue policy without the rule's grant fails the delivery with AccessDenied", async () => {
    const harness = await start(variant(withoutQueueGrant), 'enforce');
    const id = await publishSubscribed(harness);
    const [dead] = await some('the dead-lettering', () => ofEvent(harness.recorded.of('target.dead-lettered'), id));
    expect(dead).toMatchObject({ errorCode: NO_PERMISSIONS, retryAttempts: 0 });
    expect(dead!.errorMessage).toMatch(
      /^AccessDenied: User: events\.amazonaws\.com is not authorized to perform: sqs:SendMessage on resource: arn:aws:sqs:\S+ because no resource-based policy allows the sqs:SendMessage action$/,
    );
    expect(ofEvent(harness.recorded.of('target.failed'), id)).toHaveLength(1);
  });

  test('the app as synthesized delivers every event of the flow with no refusal', async () => {
    // GIVEN the shipped app, enforcing
    const harness = await start(shipped, 'enforce', LoanApplicationSubmitted);
    const publisher = new EventPublisher({ eventBusName: app.eventBusName, catalog: app.catalog, client: harness.events });
    // WHEN an application is submitted
    await publisher.publishEvent(LoanApplicationSubmitted, {
      applicationId: `app-authz-${Date.now().toString(36)}`,
      applicant: {
        applicantId: 'applicant-authz',
        name: 'Ada Lovelace',
        email: 'ada@example.com',
        annualIncome: 150_000,
        creditScore: 780,
      },
      amount: 200_000,
      currency: 'USD',
      termMonths: 360,
      purpose: 'home',
      channel: 'web',
      submittedAt: new Date().toISOString(),
    });
    // THEN the rules without a data filter that take it, and those that take what their consumers publish, got deliveries
    const rulesOf = (event: { source: string; detailType: string }) =>
      app.catalog.consumers
        .filter((c) =>
          c.subscriptions.some((s) => s.where === undefined && s.event.source === event.source && s.event.detailType === event.detailType),
        )
        .map((c) => c.name);
    const first = rulesOf(LoanApplicationSubmitted);
    const second = app.catalog.consumers.filter((c) => first.includes(c.name)).flatMap((c) => c.publishes.flatMap(rulesOf));
    const expected = [...new Set([...first, ...second])].map((c) => consumerNames(app, c).rule);
    expect(second.length).toBeGreaterThan(0);
    await waitFor(
      'deliveries to every rule of the flow',
      () => (expected.every((r) => harness.recorded.of('target.delivered', (p) => p.ruleName === r).length > 0) ? true : undefined),
      120_000,
    );
    // and every match of every rule was delivered
    const key = (p: { ruleArn: string; eventId: string }) => `${p.ruleArn} ${p.eventId}`;
    const matched = harness.recorded.of('rule.matched').map(key);
    await waitFor('every match delivered', () => (harness.recorded.of('target.delivered').length >= matched.length ? true : undefined));
    expect(harness.recorded.of('target.delivered').map(key).sort()).toEqual(expect.arrayContaining(matched.sort()));
    expect(harness.recorded.of('delivery.unauthorized')).toEqual([]);
    expect(harness.recorded.of('target.failed')).toEqual([]);
    expect(harness.recorded.of('target.dropped')).toEqual([]);
  });
});

describe('warn and off', () => {
  test('warn delivers what enforce refuses, and logs the refusal with its reason', async () => {
    const harness = await start(variant(keyGrantMissingQueue), 'warn');
    const id = await publishSubscribed(harness);
    await waitFor('the delivery', () => ofEvent(harness.recorded.of('target.delivered'), id)[0]);
    expect(ofEvent(harness.recorded.of('delivery.unauthorized'), id)).toMatchObject([{ mode: 'warn', action: 'kms:GenerateDataKey' }]);
    expect(ofEvent(harness.recorded.of('target.failed'), id)).toEqual([]);
    const line = await waitFor('the warning line', () => harness.lines.find((l) => l.includes('iam-warn') && l.includes(id)));
    expect(line).toContain(`rule=${queues.rule}`);
    expect(line).toContain('denied="events.amazonaws.com kms:GenerateDataKey on');
    expect(line).toContain('reason="implicit deny: no key policy allows kms:GenerateDataKey');
  });

  test('off evaluates nothing', async () => {
    const harness = await start(variant(withoutKeyGrant), 'off');
    const id = await publishSubscribed(harness);
    await waitFor('the delivery', () => ofEvent(harness.recorded.of('target.delivered'), id)[0]);
    expect(harness.recorded.of('delivery.unauthorized')).toEqual([]);
  });
});
