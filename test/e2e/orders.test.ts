/**
 * The framework is generic: a second domain (test/fixtures/orders: three event types, two
 * publishers, three consumers, one content filter, one consumer in another account) synthesizes
 * cdk-nag clean into the stacks its app definition names, its consumers leave the router template
 * alone, and it runs end to end in the local runtime. Names and counts come from that catalog.
 */
import '../support/sdk-warning';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { App } from 'aws-cdk-lib';
import { EventPublisher } from '../../sdk';
import { AppDefinition, DataOf, defineApp, defineCatalog, isRemoteConsumer, names } from '../../sdk/catalog';
import { consumerNames } from '../../lib/buffered-consumer';
import { buildStacks } from '../../lib/stacks';
import { CloudAssembly } from '../../assembly';
import {
  FRAUD_REVIEW_THRESHOLD,
  OrderPlaced,
  OrderShipped,
  PaymentCaptured,
  fraudReview,
  fulfilment,
  ordersApp,
  ordersHandlers,
} from '../fixtures/orders/catalog';
import { Harness, waitFor } from '../runtime/helpers';
import { startE2eHarness } from './harness';
import { TEST_APP } from '../support/cdk';

jest.setTimeout(240_000);

const BUS_ACCOUNT = ordersApp.router?.account as string;
const REGION = ordersApp.router?.region as string;
const consumers = ordersApp.catalog.consumers;
const remote = consumers.filter((c) => isRemoteConsumer(ordersApp, c));
const accountOf = (consumer: string) => consumers.find((c) => c.name === consumer)?.account ?? BUS_ACCOUNT;

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

/**
 * Synthesizes `definition` as `cdk synth` does: esbuild bundles (the runtime runs them) and asset
 * metadata (how the runtime finds them). The compliance packs over the orders app, default and
 * isolated, are test/lib/nag.test.ts's.
 */
function synth(definition: AppDefinition): string {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'orders-e2e-'));
  dirs.push(outdir);
  const app = new App({
    ...TEST_APP,
    outdir,
    context: { 'aws:cdk:enable-asset-metadata': true, 'aws:cdk:enable-path-metadata': true },
  });
  buildStacks(app, definition, { handlersDir: ordersHandlers });
  app.synth();
  return outdir;
}

/** The orders assembly, synthesized once for every test of the file. */
let synthesized: { dir?: string; error?: unknown } | undefined;
function ordersAssembly(): string {
  if (!synthesized) {
    try {
      synthesized = { dir: synth(ordersApp) };
    } catch (error) {
      synthesized = { error };
    }
  }
  if (synthesized.error !== undefined) throw synthesized.error;
  return synthesized.dir as string;
}

const routerTemplate = (dir: string) => fs.readFileSync(path.join(dir, `${names.routerStack(ordersApp)}.template.json`), 'utf8');

describe('synthesis', () => {
  test('one router stack, one stack per consumer and a subscription stack per consumer in another account, in their accounts', () => {
    const assembly = CloudAssembly.load(ordersAssembly());
    const environments = Object.fromEntries(assembly.stacks.map((s) => [s.id, `${s.environment.account}/${s.environment.region}`]));
    const expected: Record<string, string> = { [names.routerStack(ordersApp)]: `${BUS_ACCOUNT}/${REGION}` };
    for (const c of consumers) expected[names.consumerStack(ordersApp, c.name)] = `${accountOf(c.name)}/${REGION}`;
    for (const c of remote) expected[names.subscriptionStack(ordersApp, c.name)] = `${BUS_ACCOUNT}/${REGION}`;
    expect(environments).toEqual(expected);
    expect(remote.length).toBeGreaterThan(0);
  });

  test('one bundled function per consumer, each in its own stack', () => {
    const assembly = CloudAssembly.load(ordersAssembly());
    for (const c of consumers) {
      const template = assembly.stack(names.consumerStack(ordersApp, c.name)).template;
      const functions = Object.values(template.Resources).filter((r) => r.Type === 'AWS::Lambda::Function');
      expect(functions).toHaveLength(1);
      const assetPath = (functions[0]?.Metadata as Record<string, string> | undefined)?.['aws:asset:path'];
      expect(fs.readdirSync(path.join(assembly.dir, assetPath as string))).toContain('index.js');
    }
  });

  test("the consumers leave the router's template byte-for-byte unchanged", () => {
    // GIVEN the same app without any consumer
    const bare = defineApp({ ...ordersApp, catalog: defineCatalog({ ...ordersApp.catalog, consumers: [] }) });
    // WHEN
    const without = synth(bare);
    // THEN
    expect(routerTemplate(without)).toBe(routerTemplate(ordersAssembly()));
  });
});

/** The orders app as defined: customer-notifications runs in its own account, so delivery crosses accounts. */
const variants: [string, AppDefinition, () => string][] = [
  ['as defined, customer-notifications in its own account', ordersApp, ordersAssembly],
];

describe.each(variants)('in the local runtime, the orders app %s', (_label, definition, assemblyOf) => {
  const accountIn = (consumer: string) => definition.catalog.consumers.find((c) => c.name === consumer)?.account ?? BUS_ACCOUNT;
  let h: Harness;

  beforeAll(async () => {
    // Batching windows and visibility timeouts pass on a clock that jumps whenever the app is idle (5 ms).
    h = await startE2eHarness(assemblyOf(), { accountId: BUS_ACCOUNT, region: REGION });
  });
  afterAll(async () => {
    await h?.close();
  });

  const stateItem = async (consumer: string, pk: string, sk: string) =>
    (
      await h.dynamodb.send(
        new GetItemCommand({
          TableName: consumerNames(definition, consumer).stateTable,
          Key: { pk: { S: pk }, sk: { S: sk } },
          ConsistentRead: true,
        }),
      )
    ).Item;

  const order = (orderId: string, amount: number): DataOf<typeof OrderPlaced> => ({
    orderId,
    customerId: `customer-${orderId}`,
    amount,
    currency: 'EUR',
    items: 2,
    placedAt: new Date().toISOString(),
  });
  const payment = (orderId: string, amount: number): DataOf<typeof PaymentCaptured> => ({
    orderId,
    paymentId: `pay-${orderId}`,
    amount,
    capturedAt: new Date().toISOString(),
  });
  const suffix = Date.now().toString(36);
  const small = { id: `ord-small-${suffix}`, amount: FRAUD_REVIEW_THRESHOLD / 2 };
  const large = { id: `ord-large-${suffix}`, amount: FRAUD_REVIEW_THRESHOLD * 5 };

  test('orders placed and paid are shipped by fulfilment, which publishes OrderShipped', async () => {
    // GIVEN the project's publisher pointed at the local endpoint, with the orders catalog
    const publisher = new EventPublisher({ eventBusName: ordersApp.eventBusName, catalog: ordersApp.catalog, client: h.events });
    // WHEN
    for (const o of [small, large]) {
      await publisher.publishEvent(OrderPlaced, order(o.id, o.amount));
      await publisher.publishEvent(PaymentCaptured, payment(o.id, o.amount));
    }
    // THEN fulfilment recorded a shipment per order and published OrderShipped for each
    for (const o of [small, large]) {
      const shipment = await waitFor(`shipment of ${o.id}`, () => stateItem(fulfilment.name, `ORDER#${o.id}`, 'SHIPMENT'), 60_000);
      expect(shipment.shipmentId?.S).toMatch(/^shp-/);
    }
    const shipped = () =>
      h.recorded.of('event.published', (p) => p.busName === ordersApp.eventBusName && p.detailType === OrderShipped.detailType);
    await waitFor('OrderShipped events', () => (shipped().length >= [small, large].length ? true : undefined), 60_000);
    expect(shipped()).toHaveLength([small, large].length);
    // The handler's log line travels on the worker's stdout, which may arrive after its PutEvents.
    // As the runtime prints it, folded: `12:00:01.123 [function] INFO  Order shipped orderId=...`.
    const logged = new RegExp(
      `^\\d\\d:\\d\\d:\\d\\d\\.\\d{3} \\[${names.consumerPrefix(definition, fulfilment.name)}\\] INFO {2}Order shipped( |$)`,
      'm',
    );
    await waitFor('the "Order shipped" log line', () => (logged.test(h.lines.join('\n')) ? true : undefined), 60_000);
    expect(h.lines.join('\n')).toMatch(logged);
  });

  test("the rule's content filter sends only orders at or above the threshold to fraud review", async () => {
    // GIVEN the orders of the previous test, placed once each
    // THEN the large one has a review, the small one none
    const review = await waitFor('fraud review', () => stateItem(fraudReview.name, `ORDER#${large.id}`, 'FRAUD_REVIEW'), 60_000);
    expect(Number(review.amount?.N)).toBe(large.amount);
    const deliveredToReview = h.recorded.of('message.sent', (p) => p.queueName === consumerNames(definition, fraudReview.name).queue);
    expect(deliveredToReview).toHaveLength([small, large].filter((o) => o.amount >= FRAUD_REVIEW_THRESHOLD).length);
    expect(await stateItem(fraudReview.name, `ORDER#${small.id}`, 'FRAUD_REVIEW')).toBeUndefined();
  });

  test('a poison order reaches the fraud-review dead-letter queue after maxReceiveCount receives', async () => {
    // GIVEN an order that matches the filter but fails the catalog schema (no id, no customer), sent around the publisher's validation
    const poison = { metadata: { correlationId: `poison-${suffix}`, schemaVersion: OrderPlaced.version }, data: { amount: large.amount } };
    const n = consumerNames(definition, fraudReview.name);
    // WHEN
    const put = await h.events.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: ordersApp.eventBusName,
            Source: OrderPlaced.source,
            DetailType: OrderPlaced.detailType,
            Detail: JSON.stringify(poison),
          },
        ],
      }),
    );
    expect(put.FailedEntryCount).toBe(0);
    // THEN it is received maxReceiveCount times, then moved to the consumer's dead-letter queue
    const moved = await waitFor(
      'dead-lettered poison order',
      () => {
        const m = h.recorded.of('message.dead-lettered', (p) => p.queueName === n.queue);
        return m.length > 0 ? m : undefined;
      },
      60_000,
    );
    expect(moved).toEqual([
      expect.objectContaining({ deadLetterQueueName: n.deadLetterQueue, receiveCount: fraudReview.tuning?.maxReceiveCount }),
    ]);
    const dlq = await h.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: `${h.endpoint}/${BUS_ACCOUNT}/${n.deadLetterQueue}`, MaxNumberOfMessages: 10 }),
    );
    expect((dlq.Messages ?? []).map((m) => JSON.parse(m.Body ?? '{}').detail)).toEqual([poison]);
  });

  test('customer-notifications receives the shipments in the account the catalog gives it', async () => {
    for (const c of consumers.filter((c) => c.subscriptions.some((s) => s.event === OrderShipped))) {
      const n = consumerNames(definition, c.name);
      for (const o of [small, large]) {
        const note = await waitFor(`${c.name} record of ${o.id}`, () => stateItem(c.name, `ORDER#${o.id}`, 'NOTIFICATION#shipped'), 60_000);
        // The event came from the bus's account...
        expect(note.sourceAccount?.S).toBe(BUS_ACCOUNT);
      }
      // ...into the buffer queue of the consumer's account, never its delivery dead-letter queue.
      const sent = h.recorded.of('message.sent', (p) => p.queueName === n.queue);
      expect(sent.map((p) => p.queueArn)).toEqual([small, large].map(() => `arn:aws:sqs:${REGION}:${accountIn(c.name)}:${n.queue}`));
      expect(h.recorded.of('target.dead-lettered')).toEqual([]);
    }
    expect(h.recorded.of('target.dropped')).toEqual([]);
  });
});
