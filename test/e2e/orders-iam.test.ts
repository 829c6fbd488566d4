/**
 * The publish/subscribe authorization matrix over the orders app (test/fixtures/orders): its rows
 * follow that catalog (two publishers, three consumers, the consumer teams' deployment roles), so
 * the matrix proves the policies of a domain it was not written for.
 *
 * The matrix models one account: customer-notifications runs here in the bus's account. Its
 * cross-account policies (queue and key admitting only the delivery role) are checked on the
 * synthesized templates in test/lib/independence.test.ts, not by the matrix.
 */
import { AppDefinition, defineApp, defineCatalog, names } from '../../sdk/catalog';
import { ordersApp, ordersHandlers } from '../fixtures/orders/catalog';
import { buildMatrix } from '../iam/support/matrix';
import { loadTopology } from '../iam/support/stack';
import { registerMatrix } from '../iam/support/suite';

/** The orders app, environment-agnostic like the example's matrix, every consumer in the bus's account. */
const definition: AppDefinition = defineApp({
  ...ordersApp,
  router: undefined,
  catalog: defineCatalog({ ...ordersApp.catalog, consumers: ordersApp.catalog.consumers.map(({ account: _account, ...c }) => c) }),
});

const topology = loadTopology(
  { definition, handlersDir: ordersHandlers, consumerDeploymentRoles: true },
  // Cached while this file, the orders app and the app's sources are unchanged.
  { name: 'orders-iam-topology', inputs: ['test/e2e/orders-iam.test.ts', 'test/fixtures/orders'] },
);
const cases = buildMatrix(topology);
const { catalog } = definition;

describe('the matrix of the orders app', () => {
  test('has rows for every publisher and every event type each may publish, and denies for the ones it may not', () => {
    const rows = cases.map((c) => c.name);
    for (const p of catalog.publishers) {
      for (const e of p.publishes) expect(rows).toContain(`${p.name} may publish ${e.detailType} with its catalog source`);
    }
    // Every publisher has at least one event type it may not publish, each denied.
    for (const p of catalog.publishers) {
      const denied = cases.filter((c) => c.name.startsWith(`${p.name} may not publish`));
      expect(denied.length).toBeGreaterThan(0);
      expect(denied.every((c) => c.expect !== 'Allowed')).toBe(true);
    }
  });

  test('has rows for every consumer queue and table against every other consumer role', () => {
    const rows = cases.map((c) => c.name);
    for (const mine of catalog.consumers) {
      for (const theirs of catalog.consumers.filter((c) => c !== mine)) {
        expect(rows).toContain(`${mine.name}'s role may not receive from ${theirs.name}'s queue`);
      }
    }
  });

  test('is built on the stacks and names of the orders app', () => {
    expect(topology.busArn).toBe(`arn:aws:events:${topology.env.region}:${topology.env.account}:event-bus/${ordersApp.eventBusName}`);
    for (const c of catalog.consumers)
      expect(topology.consumers[c.name]?.rule).toMatch(
        new RegExp(`:rule/${ordersApp.eventBusName}/${names.consumerPrefix(definition, c.name)}$`),
      );
    const deployers = cases.filter((c) => c.name.includes("'s deployment role may call")).map((c) => c.request.principal);
    expect(deployers.length).toBeGreaterThan(0);
    for (const d of deployers) expect(d).toMatch(new RegExp(`:role/${ordersApp.name}-deploy-`));
  });
});

registerMatrix(topology, cases);
