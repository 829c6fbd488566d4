/**
 * A cache of JSON results that several test files compute the same way (a synthesized app's
 * templates and policies), kept under `.cache/tests/` and keyed on the contents of every file the
 * result can depend on, so an edit to any of them makes the next run compute afresh: a stale entry
 * would let tests pass on old code.
 *
 * `TEST_CACHE=off` computes every result and writes nothing (to time or debug the computation).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

/** The project root. */
export const ROOT = path.resolve(__dirname, '..', '..');

/** Where the entries live; `.cache/` is git-ignored. */
export const CACHE_DIR = path.join(ROOT, '.cache', 'tests');

/**
 * What the app's synthesized templates depend on: the constructs, catalog, SDK, handlers (their
 * paths and asset hashes), the app entry, the template reader, the modules the constructs import
 * (iam/ for the subscribe actions of the bus policy, engine/ for filter validation), cdk.json and
 * the installed versions. Relative to the root.
 */
export const SYNTH_INPUTS: readonly string[] = [
  'lib',
  'catalog',
  'sdk',
  'lambdas',
  'bin',
  'assembly',
  'iam',
  'engine',
  'cdk.json',
  'package-lock.json',
  'tsconfig.json',
];

function filesUnder(rel: string, out: string[]): void {
  const abs = path.join(ROOT, rel);
  if (!existsSync(abs)) {
    out.push(`${rel} (absent)`);
    return;
  }
  if (!statSync(abs).isDirectory()) {
    out.push(rel);
    return;
  }
  for (const entry of readdirSync(abs).sort()) {
    if (entry === 'node_modules' || entry.startsWith('.')) continue;
    filesUnder(path.join(rel, entry), out);
  }
}

/** A hash of the names and contents of every file under `inputs` (paths relative to the root), and of `extra`. */
export function contentKey(inputs: readonly string[], extra = ''): string {
  const hash = createHash('sha256');
  const files: string[] = [];
  for (const input of inputs) filesUnder(input, files);
  for (const f of files) {
    hash.update(`${f}\0`);
    if (!f.endsWith(' (absent)')) hash.update(readFileSync(path.join(ROOT, f)));
    hash.update('\0');
  }
  hash.update(extra);
  return hash.digest('hex').slice(0, 32);
}

/**
 * The JSON result of `compute`, from the cache when an entry for `name` and the current contents
 * of `inputs` exists, else computed and stored. The entry is written to a temporary file and
 * renamed, so a concurrent reader (another jest worker) sees a whole entry or none.
 */
export function cachedJson<T>(name: string, inputs: readonly string[], compute: () => T): T {
  if (!/^[a-z0-9-]+$/.test(name)) throw new Error(`cache entry name '${name}' must be lower-case letters, digits and dashes`);
  if (process.env.TEST_CACHE === 'off') return compute();
  const file = path.join(CACHE_DIR, `${name}-${contentKey(inputs, name)}.json`);
  if (existsSync(file)) {
    try {
      return JSON.parse(readFileSync(file, 'utf8')) as T;
    } catch {
      // A damaged entry: compute it again below.
    }
  }
  const value = compute();
  mkdirSync(CACHE_DIR, { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(value));
  renameSync(tmp, file);
  // Entries of the same name for other contents are stale from now on.
  for (const old of readdirSync(CACHE_DIR)) {
    if (old.startsWith(`${name}-`) && old.endsWith('.json') && path.join(CACHE_DIR, old) !== file)
      rmSync(path.join(CACHE_DIR, old), { force: true });
  }
  return value;
}
