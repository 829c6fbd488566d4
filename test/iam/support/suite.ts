/**
 * Registers the matrix of one synthesized stack as Jest tests: one test per case, and the
 * known gaps as `test.failing`, which turns red as soon as a fix makes the case pass. Each case
 * also holds the project's evaluator (iam/) to the simulator's decision, as differential.test.ts
 * does for random and mutated requests: every matrix, the variants' too, is a differential test.
 */
import assert from 'node:assert/strict';
import { knownGapOfCase } from './known-gaps';
import { MatrixCase, satisfies } from './matrix';
import { disagreement, outOfScope } from './evaluator';
import { decide } from './simulate';
import { Topology } from './stack';

/** The decision, or the expectation itself when the decision satisfies it (`Denied` covers both denies). */
export async function outcome(t: Topology, c: MatrixCase): Promise<string> {
  const decision = await decide(t.policies, c.request);
  return satisfies(decision, c.expect) ? c.expect : decision;
}

export function registerMatrix(t: Topology, cases: readonly MatrixCase[]): void {
  const rows = (list: readonly MatrixCase[]) => list.map((c) => [c.name, c] as const);
  const clean = cases.filter((c) => knownGapOfCase(c.name) === undefined);
  const gaps = cases.filter((c) => knownGapOfCase(c.name) !== undefined);

  describe('publish/subscribe authorization', () => {
    // Checked with node:assert, which costs nothing when the check holds, where each expect call
    // builds an error to record its place: two per case, over the hundreds of cases of each matrix.
    test.each(rows(clean))('%s', async (_name, c) => {
      const decision = await decide(t.policies, c.request);
      assert.strictEqual(
        satisfies(decision, c.expect) ? c.expect : decision,
        c.expect,
        `expected ${c.expect}, the simulator decided ${decision}`,
      );
      // Requests the evaluator does not model (assuming a role) are the simulator's alone.
      if (!outOfScope(c.request)) {
        const { message } = disagreement(t.policies, c.request, decision);
        if (message !== undefined) assert.fail(`the evaluator disagrees with the simulator: ${message}`);
      }
    });
  });

  // Each known gap is explained in known-gaps.ts and docs/iam.md.
  // With no known gap there is nothing to declare (jest rejects an empty test.each).
  if (gaps.length > 0) {
    describe('known gaps of the stack', () => {
      test.failing.each(rows(gaps))('%s', async (_name, c) => {
        expect(await outcome(t, c)).toBe(c.expect);
      });
    });
  }
}
