import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { CACHE_DIR, cachedJson, contentKey, ROOT } from './cache';
import { projectScratchDir } from './scratch';

/** A folder of inputs inside the project (the key takes paths relative to the root). */
let dir: string;
let rel: string;
beforeEach(() => {
  dir = projectScratchDir('cache-test-');
  rel = path.relative(ROOT, dir);
  writeFileSync(path.join(dir, 'a.ts'), 'export const a = 1;\n');
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
  for (const f of existsSync(CACHE_DIR) ? readdirSync(CACHE_DIR, { withFileTypes: true }) : [])
    if (f.name.startsWith('cache-test-')) rmSync(path.join(CACHE_DIR, f.name), { force: true });
});

/** An entry name of this test's own. */
const entryName = () =>
  `cache-test-${path
    .basename(dir)
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '')}`;

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

  test('waits for another process computing the same entry, and takes its result instead of computing it again', async () => {
    // GIVEN another process that holds the entry's lock and writes the entry 300 ms later
    const name = entryName();
    const file = path.join(CACHE_DIR, `${name}-${contentKey([rel], name)}.json`);
    const lock = `${file}.lock`;
    mkdirSync(CACHE_DIR, { recursive: true });
    const script = `const fs = require('fs');
      fs.writeFileSync(${JSON.stringify(lock)}, String(process.pid), { flag: 'wx' });
      setTimeout(() => { fs.writeFileSync(${JSON.stringify(file)}, '{"by":"other"}'); fs.rmSync(${JSON.stringify(lock)}); }, 300);`;
    const other = spawn(process.execPath, ['-e', script], { stdio: 'inherit' });
    const exited = new Promise((resolve) => other.on('exit', resolve));
    while (!existsSync(lock)) await new Promise((r) => setTimeout(r, 10));
    // WHEN
    let calls = 0;
    const value = cachedJson(name, [rel], () => ({ by: `this ${++calls}` }));
    // THEN
    expect(value).toEqual({ by: 'other' });
    expect(calls).toBe(0);
    await exited;
  });

  test('takes over a lock whose holder has exited', () => {
    // GIVEN a lock left by a process that is gone
    const name = entryName();
    const file = path.join(CACHE_DIR, `${name}-${contentKey([rel], name)}.json`);
    const gone = spawnSync(process.execPath, ['-e', '']).pid;
    mkdirSync(CACHE_DIR, { recursive: true });
    writeFileSync(`${file}.lock`, String(gone));
    // WHEN / THEN
    expect(cachedJson(name, [rel], () => ({ computed: true }))).toEqual({ computed: true });
    expect(existsSync(`${file}.lock`)).toBe(false);
    expect(existsSync(file)).toBe(true);
  });

  test('refuses an entry name that could leave the cache folder', () => {
    expect(() => cachedJson('../x', [rel], () => 1)).toThrow(/lower-case letters/);
  });
});
