/**
 * Mutation test of the authorization matrix: every statement of the synthesized policies is
 * widened (Resource to "*", Condition dropped, Action to the service wildcard, and for resource
 * policies Principal to "*") or, for a Deny, removed, and some matrix case that passes against the real policies must fail against the
 * widened ones. A mutation nobody notices fails its test, naming the statement; the only
 * exceptions are the harmless ones in support/widening.ts, each with its reason.
 *
 * Both verdicts of a catch (the case passes on the real policies, fails on the widened ones) come
 * from the simulator; the project's evaluator only picks which cases to try first (firstCatch).
 */
import { knownGapOfMutation } from './support/known-gaps';
import { buildMatrix } from './support/matrix';
import { statementAt } from './support/policies';
import { describeRequest } from './support/simulate';
import { loadTopology } from './support/stack';
import { catchSearch, exclusionOf, firstCatch, Mutation, MutationKind, mutationsOf } from './support/widening';

const topology = loadTopology();
const search = catchSearch(topology.policies, buildMatrix(topology));
const mutations = mutationsOf(topology.policies);
const original = (m: Mutation) => statementAt(topology.policies, m.ref);
const gapMutations = mutations.filter((m) => knownGapOfMutation(m, original(m)) !== undefined);
const checked = mutations.filter((m) => knownGapOfMutation(m, original(m)) === undefined);

// Mutations a recorded reason in support/widening.ts calls harmless (no case can notice them) are
// not searched; the rest must each be caught by some case.
const harmless = checked.filter((m) => exclusionOf(m, original(m)) !== undefined);
const searched = checked.filter((m) => exclusionOf(m, original(m)) === undefined);

describe('the mutations', () => {
  test('cover every kind of widening', () => {
    const kinds: MutationKind[] = ['resource-to-star', 'drop-condition', 'action-to-service-wildcard', 'principal-to-star', 'remove-deny'];
    expect(new Set(mutations.map((m) => m.kind))).toEqual(new Set(kinds));
  });

  test('reach identity policies, the bus policy, queue policies and the key policy', () => {
    const owners = mutations.map((m) => `${m.ref.kind} ${m.ref.owner}`);
    expect(owners.some((o) => o.startsWith('identity arn:aws:iam::'))).toBe(true);
    expect(owners).toContain(`resource ${topology.busArn}`);
    expect(owners).toContain(`resource ${topology.keyArn}`);
    for (const c of Object.values(topology.consumers)) expect(owners).toContain(`resource ${c.queue}`);
  });

  test('a case that notices a widening is one that passes against the real policies', async () => {
    // GIVEN the consumers' queue read grants, widened to every queue
    const m = checked.find((x) => x.kind === 'resource-to-star' && JSON.stringify(original(x).Action).includes('sqs:ReceiveMessage'));
    expect(m).toBeDefined();
    // WHEN
    const caught = await firstCatch(search, m as Mutation);
    // THEN another consumer's queue becomes readable
    expect(caught?.expect).toBe('Denied');
    expect(caught && (await search.passes(caught))).toBe(true);
    expect(caught && describeRequest(caught.request)).toMatch(/sqs:ReceiveMessage|sqs:DeleteMessage/);
  });
});

describe('every widening of a grant makes a matrix case fail', () => {
  test.each(searched.map((m) => [m.name, m] as const))('%s', async (_name, m) => {
    const caught = await firstCatch(search, m);
    if (!caught) throw new Error(`not caught by any case: ${m.name}\nwidened statement: ${JSON.stringify(m.statement ?? '(removed)')}`);
  });

  test('each harmless exception says why', () => {
    expect(harmless.length).toBeGreaterThan(0);
    for (const m of harmless) expect(exclusionOf(m, original(m))?.reason).toMatch(/\w{3,}.*\w{3,}/);
  });
});

// Statements that never match because of a known gap: widening them changes nothing yet.
// With no known gap there is nothing to declare (jest rejects an empty test.each).
if (gapMutations.length > 0) {
  describe('known gaps of the stack', () => {
    test.failing.each(gapMutations.map((m) => [m.name, m] as const))('%s', async (_name, m) => {
      expect(await firstCatch(search, m)).toBeDefined();
    });
  });
}
