/**
 * A cache of JSON results that several test files compute the same way (a synthesized app's
 * templates and policies), kept under `.cache/tests/` and keyed on the contents of every file the
 * result can depend on, so an edit to any of them makes the next run compute afresh: a stale entry
 * would let tests pass on old code.
 *
 * `TEST_CACHE=off` computes every result and writes nothing (to time or debug the computation).
 */
import { createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
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

function readEntry<T>(file: string): { value: T } | undefined {
  if (!existsSync(file)) return undefined;
  try {
    return { value: JSON.parse(readFileSync(file, 'utf8')) as T };
  } catch {
    return undefined; // A damaged entry: computed again.
  }
}

/** Whether a process with this id is running (signal 0 only asks). */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * A lock nobody will release: its holder has exited, or it is older than any computation, or it is
 * this process's own (a computation that needs its own entry would otherwise wait for itself).
 */
function abandoned(lock: string, maxAgeMs: number): boolean {
  try {
    const pid = Number(readFileSync(lock, 'utf8'));
    if (pid === process.pid) return true;
    return (Number.isSafeInteger(pid) && pid > 0 && !running(pid)) || Date.now() - statSync(lock).mtimeMs > maxAgeMs;
  } catch {
    return false; // Released (or not yet written) meanwhile: look again.
  }
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));
/** Blocks this thread for `ms`: the callers are synchronous (they run while jest collects tests). */
const sleepSync = (ms: number) => Atomics.wait(sleeper, 0, 0, ms);

/** How long a computation may hold an entry's lock before another process takes it over. */
export const LOCK_MAX_AGE_MS = 120_000;

/**
 * The JSON result of `compute`, from the cache when an entry for `name` and the current contents
 * of `inputs` exists, else computed and stored. The entry is written to a temporary file and
 * renamed, so a concurrent reader (another jest worker) sees a whole entry or none.
 *
 * While one process computes an entry it holds `<entry>.lock`, and another that needs the same
 * entry waits for it instead of computing it a second time: on a fresh clone, the IAM suites
 * that start together otherwise each synthesize the same app (2 to 4 CPU-seconds apiece). A
 * lock whose holder has exited, or older than LOCK_MAX_AGE_MS, is taken over.
 */
export function cachedJson<T>(name: string, inputs: readonly string[], compute: () => T): T {
  if (!/^[a-z0-9-]+$/.test(name)) throw new Error(`cache entry name '${name}' must be lower-case letters, digits and dashes`);
  if (process.env.TEST_CACHE === 'off') return compute();
  const file = path.join(CACHE_DIR, `${name}-${contentKey(inputs, name)}.json`);
  const lock = `${file}.lock`;
  mkdirSync(CACHE_DIR, { recursive: true });
  for (;;) {
    const cached = readEntry<T>(file);
    if (cached) return cached.value;
    let fd: number;
    try {
      fd = openSync(lock, 'wx');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      if (abandoned(lock, LOCK_MAX_AGE_MS)) rmSync(lock, { force: true });
      else sleepSync(50);
      continue;
    }
    try {
      writeFileSync(fd, String(process.pid));
      closeSync(fd);
      // The holder before us may have written the entry between our read and our lock.
      const written = readEntry<T>(file);
      if (written) return written.value;
      const value = compute();
      const tmp = `${file}.${process.pid}.tmp`;
      writeFileSync(tmp, JSON.stringify(value));
      renameSync(tmp, file);
      // Entries of the same name for other contents are stale from now on.
      for (const old of readdirSync(CACHE_DIR)) {
        if (old.startsWith(`${name}-`) && old.endsWith('.json') && path.join(CACHE_DIR, old) !== file)
          rmSync(path.join(CACHE_DIR, old), { force: true });
      }
      return value;
    } finally {
      rmSync(lock, { force: true });
    }
  }
}
