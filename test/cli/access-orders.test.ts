/**
 * `access` over a second domain (test/fixtures/orders): stacks pinned to their accounts and Region,
 * one consumer in another account. The surface must follow that catalog as it follows the loan
 * catalog, with names and accounts taken from the orders app definition.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { names, type EventDefinition } from '../../sdk/catalog';
import { CONSUMER_TAG_KEY } from '../../lib/event-router';
import { buildStacks } from '../../lib/stacks';
import { ordersApp, ordersHandlers } from '../fixtures/orders/catalog';
import { TEST_APP } from '../support/cdk';
import { surfaceSchema, type SurfaceJson } from './access-schema';
import { json, runCli } from './helpers';

jest.setTimeout(240_000);

const catalog = ordersApp.catalog;
const BUS_ACCOUNT = ordersApp.router?.account as string;
const REGION = ordersApp.router?.region as string;
const accountOf = (consumer: string) => catalog.consumers.find((c) => c.name === consumer)?.account ?? BUS_ACCOUNT;
const role = (account: string, name: string) => `arn:aws:iam::${account}:role/${name}`;
const typesOf = (events: readonly EventDefinition[]) => events.map((e) => `${e.source} ${e.detailType}`).sort();

let dir: string;
let surface: SurfaceJson;
let stderr: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cli-access-orders-'));
  // Bundling off: the policies do not depend on function code; nor do they on the built-in template validation or stack traces (test/support/cdk.ts).
  const app = new App({ ...TEST_APP, outdir: join(dir, 'cdk.out'), context: { 'aws:cdk:bundling-stacks': [] } });
  // With the consumer teams' deployment roles, whose bus policy statement names rules through a principal tag.
  buildStacks(app, ordersApp, { handlersDir: ordersHandlers, consumerDeploymentRoles: true });
  app.synth();
  const r = await runCli(['access', '--json'], { cwd: dir });
  expect(r.code).toBe(0);
  stderr = r.stderr;
  surface = surfaceSchema.parse(json(r));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('access over the orders app', () => {
  test("uses the stacks' own accounts and Region, without assuming any", () => {
    expect(surface.environment.agnostic).toBe(false);
    expect([...surface.environment.accounts].sort()).toEqual(
      [...new Set([BUS_ACCOUNT, ...catalog.consumers.map((c) => accountOf(c.name))])].sort(),
    );
    expect(surface.environment.regions).toEqual([REGION]);
    expect(stderr).toBe('');
  });

  test('each same-account publisher and each publishing consumer may publish exactly its catalog event types', () => {
    const publishers = [
      ...catalog.publishers
        .filter((p) => p.account === undefined)
        .map((p) => ({ role: role(BUS_ACCOUNT, names.publisherRole(ordersApp, p.name)), publishes: p.publishes })),
      ...catalog.consumers
        .filter((c) => c.publishes.length > 0)
        .map((c) => ({ role: role(accountOf(c.name), names.consumerRole(ordersApp, c.name)), publishes: c.publishes })),
    ];
    expect(publishers.length).toBeGreaterThan(1);
    for (const p of publishers) {
      const grants = surface.publish.filter((g) => g.principal === p.role);
      expect(grants.map((g) => `${g.source} ${g.detailType}`).sort()).toEqual(typesOf(p.publishes));
    }
  });

  test.each(catalog.consumers.map((c) => [c.name] as const))("%s's role reads only its own buffer queue, in its own account", (name) => {
    const queue = `arn:aws:sqs:${REGION}:${accountOf(name)}:${names.consumerPrefix(ordersApp, name)}`;
    expect(surface.resources.queues).toContain(queue);
    const reads = surface.queues.filter(
      (g) => g.principal === role(accountOf(name), names.consumerRole(ordersApp, name)) && g.action === 'sqs:ReceiveMessage',
    );
    expect(reads.map((g) => g.resource)).toEqual([queue]);
  });

  test("a consumer team's deployment role, tagged with its consumer, may manage that consumer's rule and no other", () => {
    const busArn = `arn:aws:events:${REGION}:${BUS_ACCOUNT}:event-bus/${ordersApp.eventBusName}`;
    for (const c of catalog.consumers) {
      const deployers = surface.principals.filter((p) => p.tags?.[CONSUMER_TAG_KEY] === c.name);
      expect(deployers).toHaveLength(1);
      const rules = surface.subscribe.filter((g) => g.principal === deployers[0]?.id);
      const ownRule = `${busArn.replace(':event-bus/', ':rule/')}/${names.consumerPrefix(ordersApp, c.name)}`;
      expect([...new Set(rules.map((g) => g.resource))]).toEqual([ownRule]);
      // Its own IAM policies are not in the app: the grant is the bus policy's, if they allow.
      expect(rules.every((g) => g.ifIdentityAllows)).toBe(true);
    }
  });

  test('a principal of an account the app does not name may do nothing', () => {
    const strangers = surface.principals.filter((p) => p.kind === 'unlisted-account');
    expect(strangers).toHaveLength(1);
    const all = [...surface.publish, ...surface.subscribe, ...surface.queues, ...surface.keys];
    expect(all.filter((g) => g.principal === strangers[0]?.id)).toEqual([]);
  });
});
