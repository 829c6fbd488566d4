/**
 * Differential and robustness properties of the pattern engine, on fast-check.
 *
 * Budget: each property runs a few hundred to 1,500 cases by default (3 to 15 times fast-check's
 * default of 100), which keeps this file at a few CPU-seconds in `npm test`. The generators use
 * small alphabets so patterns and events collide often: a run of a few hundred cases already
 * produces matches and mismatches of every operator, and the multi-rule properties compare up to
 * 12 rules against 4 events per case. Every run draws a new seed, printed at the start, so
 * coverage adds up across runs. `PROPERTY_SCALE=<n>` multiplies every budget for a deep run
 * (`PROPERTY_SCALE=10 npx jest test/engine/fuzz`); `FC_SEED` (and `FC_PATH`) replay one run,
 * see test/support/property.ts.
 *
 * Inside the properties, checks use node:assert rather than jest's expect: each expect() call
 * builds an error to record where it was made, which cost a quarter of this file's time over its
 * tens of thousands of checks. A failing assert throws the same kind of diff, and fast-check adds
 * the counterexample, seed and path.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  explainMismatch,
  MalformedEventError,
  InvalidEventPatternError,
  RuleMatcher,
  testEventPattern,
  validateEventPattern,
} from '../../engine';
import { replayFromEnv, replayable } from '../support/property';

/** The multiplier of every budget below, from PROPERTY_SCALE. */
const SCALE = scaleFromEnv(process.env.PROPERTY_SCALE);
/** One seed for the file's properties: FC_SEED's when replaying, else a fresh one, printed. */
const SEED = replayFromEnv().seed ?? Math.floor(Math.random() * 2 ** 31);

function scaleFromEnv(value: string | undefined): number {
  if (value === undefined || value.trim() === '') return 1;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`PROPERTY_SCALE must be a positive number (given '${value}')`);
  return n;
}

/** fast-check parameters: `numRuns` scaled, the file's seed, and the replay hint on failure. */
const runs = (numRuns: number) => replayable({ numRuns: Math.max(1, Math.round(numRuns * SCALE)), seed: SEED });

beforeAll(() => console.log(`engine fuzz: FC_SEED=${SEED}, budgets x${SCALE} (PROPERTY_SCALE)`));

// Small alphabets make collisions between pattern and event values likely, so matches happen.
const name = fc.constantFrom('a', 'b', 'c', 'a.b', 'detail', 'x-y', '');
const text = fc.stringMatching(/^[abAB1.*\\:/ -]{0,6}$/);
const number = fc.oneof(
  fc.integer({ min: -3, max: 3 }),
  fc.constantFrom(0.5, -0, 1e21, 5e-324, 1.7976931348623157e308, 12345678901234567000),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);
const scalar = fc.oneof(text, number, fc.integer({ min: -3, max: 3 }), fc.boolean(), fc.constant(null));
const ip = fc.constantFrom('10.0.0.1', '10.0.0.255', '::1', '2001:db8::1', '300.1.1.1', '1.2.3');

const eventScalar = fc.oneof(scalar, fc.constantFrom('', 'a', 'b', 'ab', 'A', '1', 'a:b', 'a/b'), fc.integer({ min: -3, max: 3 }));
const eventValue: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, eventScalar, eventScalar, ip, fc.array(tie('value'), { maxLength: 3 }), tie('object')),
  object: fc.dictionary(name, tie('value'), { maxKeys: 5 }),
})).value;
const event = fc.dictionary(name, eventValue, { minKeys: 2, maxKeys: 7 });

const operand = fc.oneof(scalar, fc.array(scalar, { maxLength: 3 }), fc.constant({}));
const matchExpression = fc.oneof(
  fc.record({ prefix: fc.oneof(text, operand) }),
  fc.record({ suffix: fc.oneof(text, operand) }),
  fc.record({ 'equals-ignore-case': fc.oneof(text, operand) }),
  fc.record({ wildcard: fc.oneof(text, operand) }),
  fc.record({ exists: fc.oneof(fc.boolean(), operand) }),
  fc.record({ cidr: fc.oneof(fc.constantFrom('10.0.0.0/24', '::/0', '1.2.3.4/33', 'x/8'), operand) }),
  fc.record({
    numeric: fc.oneof(
      fc.tuple(fc.constantFrom('<', '<=', '=', '>', '>=', '=='), number),
      fc.tuple(fc.constantFrom('>', '>='), number, fc.constantFrom('<', '<='), number),
      operand,
    ),
  }),
  fc.record({
    'anything-but': fc.oneof(
      scalar,
      fc.array(text, { maxLength: 3 }),
      fc.array(number, { maxLength: 3 }),
      fc.record({ prefix: fc.oneof(text, operand) }),
      fc.record({ suffix: text }),
      fc.record({ wildcard: text }),
      fc.record({ 'equals-ignore-case': fc.oneof(text, fc.array(text)) }),
    ),
  }),
  fc.record({ prefix: fc.record({ 'equals-ignore-case': text }) }),
);
const matchList = fc.array(fc.oneof(scalar, ip, matchExpression), { minLength: 0, maxLength: 3 });
const patternNode: fc.Arbitrary<Record<string, unknown>> = fc.letrec((tie) => ({
  node: fc.dictionary(name, fc.oneof({ depthSize: 'small' }, matchList, matchList, tie('node'), scalar), { minKeys: 0, maxKeys: 3 }),
})).node as fc.Arbitrary<Record<string, unknown>>;
const anyPattern = fc.oneof(
  patternNode,
  fc.tuple(patternNode, fc.array(patternNode, { minLength: 0, maxLength: 3 })).map(([p, or]) => ({ ...p, $or: or })),
);

// Mostly valid patterns, so that the differential properties compare real matches.
const word = fc.stringMatching(/^[abAB1.:/ -]{0,4}$/);
const nonEmptyWord = fc.stringMatching(/^[abAB1.:/ -]{1,4}$/);
const wildcard = fc.stringMatching(/^[abA:/-]{0,2}(\*[abA:/-]{1,2}){0,2}\*?$/);
const small = fc.integer({ min: -3, max: 3 });
const validExpression = fc.oneof(
  fc.record({ prefix: word }),
  fc.record({ suffix: word }),
  fc.record({ 'equals-ignore-case': word }),
  fc.record({ wildcard }),
  fc.record({ exists: fc.boolean() }),
  fc.record({ cidr: fc.constantFrom('10.0.0.0/24', '10.0.0.1/32', '::/0', '2001:db8::/32') }),
  fc.record({
    numeric: fc.oneof(
      fc.tuple(fc.constantFrom('<', '<=', '=', '>', '>='), small),
      fc
        .tuple(small, small)
        .filter(([x, y]) => x < y)
        .map(([x, y]) => ['>', x, '<=', y]),
    ),
  }),
  fc.record({
    'anything-but': fc.oneof(
      word,
      small,
      fc.array(word, { minLength: 1, maxLength: 3 }),
      fc.array(small, { minLength: 1, maxLength: 3 }),
      fc.record({ prefix: nonEmptyWord }),
      fc.record({ suffix: nonEmptyWord }),
      fc.record({ wildcard }),
      fc.record({ 'equals-ignore-case': fc.oneof(word, fc.array(word, { minLength: 1, maxLength: 2 })) }),
    ),
  }),
  fc.record({ prefix: fc.record({ 'equals-ignore-case': word }) }),
  fc.record({ suffix: fc.record({ 'equals-ignore-case': word }) }),
);
const validList = fc.array(fc.oneof(word, small, fc.boolean(), fc.constant(null), ip, validExpression), { minLength: 1, maxLength: 3 });
const validNode: fc.Arbitrary<Record<string, unknown>> = fc.letrec((tie) => ({
  node: fc.dictionary(name, fc.oneof({ depthSize: 'small' }, validList, validList, tie('node')), { minKeys: 1, maxKeys: 2 }),
})).node as fc.Arbitrary<Record<string, unknown>>;
const validPattern = fc.oneof(
  validNode,
  fc.tuple(validNode, fc.array(validNode, { minLength: 2, maxLength: 3 })).map(([p, or]) => ({ ...p, $or: or })),
);
const pattern = fc.oneof({ arbitrary: validPattern, weight: 4 }, { arbitrary: anyPattern, weight: 1 });

/** Thousands of inputs per property: generous, for loaded CI machines. */
const FUZZ_TIMEOUT = 180_000;

/** Runs `fn`; only the engine's own validation errors may escape. */
function onlyValidationErrors(fn: () => void): void {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof InvalidEventPatternError) && !(e instanceof MalformedEventError)) throw e;
  }
}

describe('fuzzing the pattern engine', () => {
  test(
    'any text as a pattern is compiled or rejected with InvalidEventPatternError',
    () => {
      fc.assert(
        fc.property(fc.oneof(fc.string({ maxLength: 40 }), fc.json({ maxDepth: 3 })), (p) => {
          onlyValidationErrors(() => validateEventPattern(p));
        }),
        runs(1000),
      );
    },
    FUZZ_TIMEOUT,
  );

  test(
    'random patterns against random events give a boolean, and explainMismatch agrees',
    () => {
      fc.assert(
        fc.property(pattern, event, (p, e) => {
          onlyValidationErrors(() => {
            const matched = testEventPattern(p, e);
            assert.equal(explainMismatch(p, e) === undefined, matched, 'explainMismatch is undefined exactly when the pattern matches');
            // The same event as text (parsed by the engine) gives the same answer.
            assert.equal(testEventPattern(p, JSON.stringify(e)), matched, 'the event as text matches as the event as an object');
          });
        }),
        runs(1500),
      );
    },
    FUZZ_TIMEOUT,
  );

  test(
    'one automaton for many rules matches exactly the rules that match one by one',
    () => {
      fc.assert(
        fc.property(fc.array(pattern, { minLength: 1, maxLength: 12 }), fc.array(event, { minLength: 1, maxLength: 4 }), (ps, es) => {
          const matcher = new RuleMatcher<number>();
          const valid: number[] = [];
          ps.forEach((p, i) => {
            onlyValidationErrors(() => {
              matcher.add(i, p);
              valid.push(i);
            });
          });
          for (const e of es) {
            const got = matcher.match(e).sort((a, b) => a - b);
            assert.deepEqual(
              got,
              valid.filter((i) => testEventPattern(ps[i]!, e)),
              'the automaton matches the rules that match one by one',
            );
            // The same event as text, which the matcher parses lazily, gives the same rules.
            assert.deepEqual(
              matcher.match(JSON.stringify(e)).sort((a, b) => a - b),
              got,
              'the event as text matches the same rules',
            );
          }
        }),
        runs(600),
      );
    },
    FUZZ_TIMEOUT,
  );

  test(
    'removing rules leaves the automaton matching only the rules that remain',
    () => {
      fc.assert(
        fc.property(fc.array(pattern, { minLength: 2, maxLength: 8 }), event, fc.nat(), (ps, e, seed) => {
          const matcher = new RuleMatcher<number>();
          const kept: number[] = [];
          ps.forEach((p, i) => onlyValidationErrors(() => matcher.add(i, p)));
          ps.forEach((_p, i) => {
            if ((seed >> i) & 1) matcher.remove(i);
            else if (matcher.has(i)) kept.push(i);
          });
          assert.deepEqual(
            matcher.match(e).sort((a, b) => a - b),
            kept.filter((i) => testEventPattern(ps[i]!, e)),
            'the automaton matches only the remaining rules that match',
          );
        }),
        runs(400),
      );
    },
    FUZZ_TIMEOUT,
  );

  test(
    'many overlapping numeric ranges on one field match exactly the ranges holding the value',
    () => {
      const bound = fc.integer({ min: -5, max: 5 });
      const range = fc.tuple(bound, bound, fc.boolean(), fc.boolean()).filter(([a, b]) => a < b);
      fc.assert(
        fc.property(
          fc.array(range, { minLength: 1, maxLength: 30 }),
          fc.array(fc.oneof(bound, fc.double({ min: -6, max: 6, noNaN: true })), { maxLength: 5 }),
          (ranges, values) => {
            // GIVEN one rule per range, so they share one transition and its range index
            const matcher = new RuleMatcher<number>();
            ranges.forEach(([lo, hi, loOpen, hiOpen], i) =>
              matcher.add(i, { n: [{ numeric: [loOpen ? '>' : '>=', lo, hiOpen ? '<' : '<=', hi] }] }),
            );
            for (const v of values) {
              // THEN the automaton agrees with plain comparisons
              const expected = ranges
                .map(([lo, hi, loOpen, hiOpen], i) => ((loOpen ? v > lo : v >= lo) && (hiOpen ? v < hi : v <= hi) ? i : -1))
                .filter((i) => i >= 0);
              assert.deepEqual(
                matcher.match({ n: v }).sort((a, b) => a - b),
                expected,
                `the ranges holding ${v}`,
              );
            }
          },
        ),
        runs(400),
      );
    },
    FUZZ_TIMEOUT,
  );

  test(
    'any text as an event is matched or rejected with MalformedEventError',
    () => {
      fc.assert(
        fc.property(fc.oneof(fc.string({ maxLength: 30 }), fc.json({ maxDepth: 3 })), (e) => {
          onlyValidationErrors(() => testEventPattern({ a: [{ exists: true }] }, e));
        }),
        runs(400),
      );
    },
    FUZZ_TIMEOUT,
  );

  test('wildcards with many stars against long values finish quickly', () => {
    // Matching is linear in the value per wildcard piece; a backtracking matcher would hang here.
    const value = 'a'.repeat(20000);
    const started = Date.now();
    expect(testEventPattern({ v: [{ wildcard: '*a*a*a*b' }] }, { v: value })).toBe(false);
    expect(testEventPattern({ v: [{ 'anything-but': { wildcard: '*a*a*a*b' } }] }, { v: value })).toBe(true);
    expect(Date.now() - started).toBeLessThan(2000);
  });
});
