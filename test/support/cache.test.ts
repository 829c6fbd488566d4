import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { CACHE_DIR, cachedJson, contentKey, ROOT } from './cache';

/** A folder of inputs inside the project (the key takes paths relative to the root). */
let dir: string;
let rel: string;
beforeEach(() => {
  mkdirSync(path.join(ROOT, '.cache'), { recursive: true });
  dir = mkdtempSync(path.join(ROOT, '.cache', 'cache-test-'));
  rel = path.relative(ROOT, dir);
  writeFileSync(path.join(dir, 'a.ts'), 'export const a = 1;\n');
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
  for (const f of existsSync(CACHE_DIR) ? readdirSync(CACHE_DIR, { withFileTypes: true }) : [])
    if (f.name.startsWith('cache-test-')) rmSync(path.join(CACHE_DIR, f.name), { force: true });
});

describe('the test cache', () => {
  test('keys on file contents: an edit, a new file or another entry name gives another key', () => {
    const before = contentKey([rel]);
    expect(contentKey([rel])).toBe(before);
    writeFileSync(path.join(dir, 'a.ts'), 'export const a = 2;\n');
    const edited = contentKey([rel]);
    expect(edited).not.toBe(before);
    writeFileSync(path.join(dir, 'b.ts'), '');
    expect(contentKey([rel])).not.toBe(edited);
    expect(contentKey([rel], 'other')).not.toBe(contentKey([rel]));
  });

  test('computes once per content, and again after an edit', () => {
    const name = `cache-test-${path
      .basename(dir)
      .toLowerCase()
      .replace(/[^a-z0-9]/g, '')}`;
    let calls = 0;
    const compute = () => ({ calls: ++calls });
    expect(cachedJson(name, [rel], compute)).toEqual({ calls: 1 });
    expect(cachedJson(name, [rel], compute)).toEqual({ calls: 1 });
    writeFileSync(path.join(dir, 'a.ts'), 'export const a = 3;\n');
    expect(cachedJson(name, [rel], compute)).toEqual({ calls: 2 });
    expect(calls).toBe(2);
    // The entry is removed with the others of its name when the next one is written.
    writeFileSync(path.join(dir, 'a.ts'), 'export const a = 4;\n');
    expect(cachedJson(name, [rel], compute)).toEqual({ calls: 3 });
    expect(cachedJson(name, [rel], compute)).toEqual({ calls: 3 });
  });

  test('refuses an entry name that could leave the cache folder', () => {
    expect(() => cachedJson('../x', [rel], () => 1)).toThrow(/lower-case letters/);
  });
});
