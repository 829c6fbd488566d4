import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { runConformance } from '../../engine/conformance';

// The recorded cases live beside the repository, never inside it (CI clones shared/ next to it).
const shared = path.resolve(__dirname, '..', '..', '..', 'shared', 'conformance');
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
