/**
 * `ensureSynth`: synthesizes the app only when the assembly is older than its sources.
 * Concurrent callers (jest workers, `npm start` in two terminals) share one synth through
 * a lock file next to the output directory.
 */
import { spawn } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  statSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import * as path from 'node:path';

export interface SynthOptions {
  /** Output directory. @default 'cdk.out' in the project root */
  outdir?: string;
  /** Synthesize even when the assembly is up to date. @default false */
  force?: boolean;
}

/** Paths whose changes make the assembly stale. */
export const SYNTH_SOURCES = ['bin', 'lib', 'lambdas', 'catalog', 'sdk', 'cdk.json', 'package-lock.json'];
const STAMP = '.synth-complete';
const LOCK_STALE_MS = 10 * 60 * 1000;

export const projectRoot = path.resolve(__dirname, '..');

function newestMtime(p: string): number {
  if (!existsSync(p)) return 0;
  const st = statSync(p);
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs;
  for (const e of readdirSync(p)) {
    if (e === 'node_modules' || e.startsWith('.')) continue;
    newest = Math.max(newest, newestMtime(path.join(p, e)));
  }
  return newest;
}

/** True when outdir holds a complete assembly newer than every source. */
export function isUpToDate(outdir: string): boolean {
  const stamp = path.join(outdir, STAMP);
  if (!existsSync(stamp)) return false;
  const built = statSync(stamp).mtimeMs;
  return SYNTH_SOURCES.every((s) => newestMtime(path.join(projectRoot, s)) <= built);
}

/** True when the lock's owner (its PID is the file's content) has died or the lock is very old. */
function isStale(lockFile: string): boolean {
  const pid = Number(readFileSync(lockFile, 'utf8'));
  if (Number.isInteger(pid) && pid > 0) {
    try {
      process.kill(pid, 0);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ESRCH') return true;
    }
  }
  return Date.now() - statSync(lockFile).mtimeMs > LOCK_STALE_MS;
}

async function withLock<T>(lockFile: string, fn: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      const fd = openSync(lockFile, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      try {
        // A synth killed midway (Ctrl-C, a test timeout) leaves its lock behind.
        if (isStale(lockFile)) unlinkSync(lockFile);
      } catch {
        // Removed by its owner meanwhile.
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  try {
    return await fn();
  } finally {
    try {
      unlinkSync(lockFile);
    } catch {
      // Already gone.
    }
  }
}

function runSynth(outdir: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('npx', ['cdk', 'synth', '--no-notices', '-q', '-o', outdir], {
      cwd: projectRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`cdk synth failed (exit ${code}):\n${output.slice(-4000)}`))));
  });
}

/** Synthesizes when needed and returns the assembly directory. */
export async function ensureSynth(options: SynthOptions = {}): Promise<string> {
  const outdir = path.resolve(projectRoot, options.outdir ?? 'cdk.out');
  if (!options.force && isUpToDate(outdir)) return outdir;
  mkdirSync(path.dirname(outdir), { recursive: true });
  return withLock(`${outdir}.lock`, async () => {
    // Another process may have finished the synth while this one waited for the lock.
    if (!options.force && isUpToDate(outdir)) return outdir;
    const startedAt = Date.now();
    await runSynth(outdir);
    const stamp = path.join(outdir, STAMP);
    writeFileSync(stamp, new Date(startedAt).toISOString());
    return outdir;
  });
}
