import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { runConformance } from '../../engine/conformance';

// The recorded cases live beside the repository, never inside it (CI clones shared/ next to it;
// SHARED_DIR points elsewhere, e.g. from a git worktree).
const shared = path.join(process.env.SHARED_DIR ?? path.resolve(__dirname, '..', '..', '..', 'shared'), 'conformance');
const files = ['event-patterns.jsonl', 'input-transformers.jsonl'].map((f) => path.join(shared, f));

describe('conformance with cases recorded against EventBridge', () => {
  test('the shared conformance files are present', () => {
    // THEN: a missing checkout of shared/ fails here, instead of passing with nothing run
    for (const f of files) expect(existsSync(f)).toBe(true);
  });

  test.each(files)('every case of %s passes', (file) => {
    // WHEN
    const report = runConformance([file]);
    // THEN
    const failures = report.failures.map((f) => `${f.id}: expected ${f.expected}, got ${f.actual}`);
    expect(failures).toEqual([]);
    expect(report.passed).toBeGreaterThan(0);
  });
});

describe('the conformance runner', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'conformance-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('holds a case recorded against AWS to the TestEventPattern API, which rejects an event without the envelope', () => {
    // GIVEN the same partial event, once as an AWS recording and once as an event-ruler case
    const partial = { pattern: { testEvent: ['value'] }, event: { testEvent: 'value' } };
    const file = path.join(dir, 'cases.jsonl');
    const cases = [
      {
        id: 'aws/partial',
        ...partial,
        expect: 'invalid',
        invalidInput: 'event',
        basis: 'aws-recorded',
        error: 'Parameter Event is not valid.',
      },
      { id: 'ruler/partial', ...partial, expect: 'match', basis: 'event-ruler-asserted' },
    ];
    writeFileSync(file, cases.map((c) => JSON.stringify(c)).join('\n'));
    // WHEN
    const report = runConformance([file]);
    // THEN the API rejects what the rule engine matches
    expect(report.failures).toEqual([]);
    expect(report.passed).toBe(2);
  });
});
