/**
 * The compiled policy store the runtime and the CLI share: the assembly's policies, compiled once,
 * give the same decisions as the matrix's simulator for the app's own roles and resources.
 */
import { compilePolicyStore, PolicyEvaluator } from '../../iam';
import { loadTopology } from './support/stack';

const t = loadTopology();
const store = compilePolicyStore(t.policies);
const evaluator = new PolicyEvaluator(store);

describe('compilePolicyStore', () => {
  const [publisher, role] = Object.entries(t.publisherRoles)[0] ?? [];
  const publishes = t.catalog.publishers.find((p) => p.name === publisher)?.publishes[0];

  it('knows every role of the app and its trust policy', () => {
    expect([...store.roles].sort()).toEqual(Object.keys(t.policies.identity).sort());
    for (const roleArn of store.roles) expect(store.trustPolicy(roleArn)).toBeDefined();
  });

  it("allows a publisher's role to publish its own event type on the bus", () => {
    expect(role && publishes).toBeTruthy();
    const decision = evaluator.evaluate({
      principal: role!,
      action: 'events:PutEvents',
      resource: t.busArn,
      context: { 'events:source': publishes!.source, 'events:detail-type': publishes!.detailType },
    });
    expect(decision.decision).toBe('Allow');
  });

  it("denies the same role another publisher's source", () => {
    const decision = evaluator.evaluate({
      principal: role!,
      action: 'events:PutEvents',
      resource: t.busArn,
      context: { 'events:source': 'com.example.not-a-publisher', 'events:detail-type': publishes!.detailType },
    });
    expect(decision.decision).not.toBe('Allow');
  });

  it("governs a rule by its bus's policy", () => {
    const rule = Object.values(t.consumers)[0]!.rule;
    expect(store.resourcePolicy!(rule)).toBe(store.resourcePolicy!(t.busArn));
  });
});
