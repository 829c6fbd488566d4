import * as fc from 'fast-check';
import { replayable, replayFromEnv } from './property';

/** A property that fails for any value of at least 50, so shrinking ends at exactly 50. */
const atLeast50Fails = fc.property(fc.integer({ min: 0, max: 1000 }), (n) => {
  if (n >= 50) throw new Error(`too big: ${n}`);
});

function failureOf(run: () => void): string {
  try {
    run();
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('the property did not fail');
}

describe('replayable property runs', () => {
  test('a failure prints its seed and path and the line that replays it', () => {
    // WHEN
    const message = failureOf(() => fc.assert(atLeast50Fails, replayable({ numRuns: 200 }, {})));
    // THEN
    expect(message).toMatch(/seed: -?\d+, path: "[\d:]+"/);
    expect(message).toMatch(/Replay this counterexample: FC_SEED=-?\d+ FC_PATH=[\d:]+ npx jest/);
    expect(message).toContain('Counterexample: [50]');
  });

  test('FC_SEED and FC_PATH from a failure replay its counterexample as the first value tried', () => {
    // GIVEN a failure and the values it printed
    const first = failureOf(() => fc.assert(atLeast50Fails, replayable({ numRuns: 200 }, {})));
    const [, seed, path] = /FC_SEED=(-?\d+) FC_PATH=([\d:]+)/.exec(first) ?? [];
    // WHEN replayed with them
    const tried: number[] = [];
    const counting = fc.property(fc.integer({ min: 0, max: 1000 }), (n) => {
      tried.push(n);
      if (n >= 50) throw new Error(`too big: ${n}`);
    });
    const replayed = failureOf(() => fc.assert(counting, replayable({ numRuns: 200 }, { FC_SEED: seed, FC_PATH: path })));
    // THEN the first value tried is the counterexample, without a new search
    expect(replayed).toContain('Counterexample: [50]');
    expect(tried[0]).toBe(50);
  });

  test('rejects a malformed seed or a path without its seed', () => {
    expect(() => replayFromEnv({ FC_SEED: 'abc' })).toThrow("FC_SEED must be an integer (given 'abc')");
    expect(() => replayFromEnv({ FC_SEED: '1', FC_PATH: '1;2' })).toThrow("FC_PATH must be a path such as 12:0:3 (given '1;2')");
    expect(() => replayFromEnv({ FC_PATH: '3:1' })).toThrow('FC_PATH replays a run only together with its FC_SEED');
    expect(replayFromEnv({ FC_SEED: '-42', FC_PATH: '3:1' })).toEqual({ seed: -42, path: '3:1' });
    expect(replayFromEnv({})).toEqual({});
  });
});
