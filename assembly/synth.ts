/**
 * Synth-when-stale: runs the CDK app (cdk.json's `app` command, the way `cdk synth` does) only when
 * the cloud assembly is older than its inputs, and says whether it synthesized or reused one.
 * An assembly from a `cdk synth` the user ran is reused when it is newer than every input.
 * Concurrent callers (jest workers, `npm start` in two terminals) share one synth through a lock
 * file next to the output directory; a lock whose process died (Ctrl-C, a test timeout) is taken over.
 */
import type { StackInput } from './resolver';
import { spawn } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { CloudAssembly } from './cloud-assembly';
import { TemplateError } from './errors';
import { isRecord } from './json';
import { CfnTemplate } from './template';

/** The project root: where cdk.json lives. */
export const PROJECT_ROOT = path.resolve(__dirname, '..');

/** Paths (relative to the root) whose changes make an assembly stale. */
export const SYNTH_SOURCES = ['bin', 'lib', 'lambdas', 'catalog', 'sdk', 'cdk.json', 'package-lock.json'];

/** Written into the output directory when a synth by this module completes. */
export const SYNTH_STAMP = '.synth-complete';

/** A lock older than this is taken over even if its process still seems alive (a reused PID). */
const LOCK_STALE_MS = 10 * 60 * 1000;
const LOCK_POLL_MS = 250;

export interface SynthOptions {
  /** Where cdk.json is. @default the project root */
  readonly root?: string;
  /** Output directory, relative to the root. @default 'cdk.out' */
  readonly outdir?: string;
  /** Synthesize even when the assembly is up to date. @default false */
  readonly force?: boolean;
  /**
   * Bundle function code. Off is faster and enough for readers of the templates only (the diagram);
   * the local runtime needs the bundles. @default true
   */
  readonly bundling?: boolean;
  /** Extra environment for the app process. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /**
   * Skip CDK's built-in CloudFormation validation even when cdk.json makes its findings errors
   * (watch mode's re-synths: generic template linting, about half of a synth; the compliance
   * packs still run). @default false
   */
  readonly skipBuiltinValidation?: boolean;
  /** Paths whose mtimes decide staleness, relative to the root. @default SYNTH_SOURCES */
  readonly sources?: readonly string[];
}

export interface SynthResult {
  /** The assembly directory, absolute. */
  readonly outdir: string;
  /** True when this call ran the app; false when an up-to-date assembly was reused. */
  readonly synthesized: boolean;
  /** Why: `forced`, `missing`, `stale`, `up to date`, or `synthesized by another process`. */
  readonly reason: string;
}

function newestMtime(p: string, depth = 0): number {
  if (!existsSync(p) || depth > 32) return 0;
  const st = statSync(p);
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs;
  for (const e of readdirSync(p)) {
    if (e === 'node_modules' || e.startsWith('.')) continue;
    newest = Math.max(newest, newestMtime(path.join(p, e), depth + 1));
  }
  return newest;
}

/** When the assembly in `outdir` was completed: our stamp or the manifest a `cdk synth` wrote, whichever is newer; 0 if none. */
function builtAt(outdir: string): number {
  let built = 0;
  for (const f of [SYNTH_STAMP, 'manifest.json']) {
    const p = path.join(outdir, f);
    if (existsSync(p)) built = Math.max(built, statSync(p).mtimeMs);
  }
  return built;
}

/** `missing`, `stale` or `up to date`, comparing the assembly with the newest input. */
export function assemblyState(options: SynthOptions = {}): 'missing' | 'stale' | 'up to date' {
  const root = path.resolve(options.root ?? PROJECT_ROOT);
  const outdir = path.resolve(root, options.outdir ?? 'cdk.out');
  const built = builtAt(outdir);
  if (built === 0) return 'missing';
  const sources = options.sources ?? SYNTH_SOURCES;
  return sources.every((s) => newestMtime(path.join(root, s)) <= built) ? 'up to date' : 'stale';
}

/** True when the lock's owner (its PID is the file's content) has died or the lock is very old. */
function isAbandoned(lockFile: string): boolean {
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

/** Runs `fn` holding `lockFile`, waiting for another holder and taking over an abandoned lock. */
export async function withLock<T>(lockFile: string, fn: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      const fd = openSync(lockFile, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      try {
        if (isAbandoned(lockFile)) unlinkSync(lockFile);
      } catch {
        // Removed by its owner meanwhile.
      }
      await new Promise((r) => setTimeout(r, LOCK_POLL_MS));
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

/** The app command and context from cdk.json (and cdk.context.json, as the CDK CLI merges them). */
function appConfig(root: string): { app: string; context: Record<string, unknown> } {
  const file = path.join(root, 'cdk.json');
  if (!existsSync(file)) throw new TemplateError(`cannot synthesize: no cdk.json in ${root}`);
  const cdkJson = JSON.parse(readFileSync(file, 'utf8')) as unknown;
  if (!isRecord(cdkJson) || typeof cdkJson.app !== 'string') throw new TemplateError(`cannot synthesize: ${file} has no "app" command`);
  const saved = path.join(root, 'cdk.context.json');
  const savedContext = existsSync(saved) ? (JSON.parse(readFileSync(saved, 'utf8')) as unknown) : {};
  return {
    app: cdkJson.app,
    context: { ...(isRecord(savedContext) ? savedContext : {}), ...(isRecord(cdkJson.context) ? cdkJson.context : {}) },
  };
}

/**
 * CDK's built-in CloudFormation validation, off for these synths unless the app makes its findings
 * errors. Without `@aws-cdk/core:validateAgainstDefaultRules` it downgrades every finding to a
 * warning and never fails a synth, and this module shows the app's output only when the synth
 * fails: its findings would reach no one, while it costs about half of the example's synth
 * (9.3 against 4.5 CPU-s without bundling, with cdk.json's V8 options). `cdk synth` keeps it and
 * prints its warnings.
 * `CDK_VALIDATION=false` is the switch aws-cdk-lib reads (core/lib/private/synthesis-validation).
 * @see https://docs.aws.amazon.com/cdk/api/v2/docs/aws-cdk-lib.AppProps.html#builtincloudformationvalidation
 */
export function builtinValidationSetting(context: Record<string, unknown>, skip = false): Record<string, string> {
  if (skip) return { CDK_VALIDATION: 'false' };
  const findingsAreErrors = context['@aws-cdk/core:validateAgainstDefaultRules'];
  if (findingsAreErrors === true || findingsAreErrors === 'true' || process.env.CDK_VALIDATION !== undefined) return {};
  return { CDK_VALIDATION: 'false' };
}

function runApp(root: string, outdir: string, options: SynthOptions): Promise<void> {
  const { app, context } = appConfig(root);
  const fullContext = {
    ...context,
    // What the CDK CLI sets by default: asset paths in metadata are how the runtime finds function code.
    'aws:cdk:enable-path-metadata': true,
    'aws:cdk:enable-asset-metadata': true,
    ...(options.bundling === false ? { 'aws:cdk:bundling-stacks': [] } : {}),
  };
  return new Promise((resolve, reject) => {
    const child = spawn(app, {
      cwd: root,
      shell: true,
      env: {
        ...process.env,
        ...builtinValidationSetting(fullContext, options.skipBuiltinValidation),
        ...(options.env ?? {}),
        CDK_OUTDIR: outdir,
        CDK_CONTEXT_JSON: JSON.stringify(fullContext),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const keep = (d: Buffer) => (output = (output + d.toString('utf8')).slice(-8000));
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0 && existsSync(path.join(outdir, 'manifest.json'))) resolve();
      else reject(new TemplateError(`synthesis of the app (${app}) failed (exit ${code}):\n${output.split('\n').slice(-15).join('\n')}`));
    });
  });
}

/** Synthesizes the app when its assembly is missing or stale (or when forced), and says which it did. */
export async function synthesize(options: SynthOptions = {}): Promise<SynthResult> {
  const root = path.resolve(options.root ?? PROJECT_ROOT);
  const outdir = path.resolve(root, options.outdir ?? 'cdk.out');
  const first = options.force ? 'forced' : assemblyState(options);
  if (first === 'up to date') return { outdir, synthesized: false, reason: first };
  mkdirSync(path.dirname(outdir), { recursive: true });
  return withLock(`${outdir}.lock`, async () => {
    // Another process may have finished the synth while this one waited for the lock.
    if (!options.force && assemblyState(options) === 'up to date') {
      return { outdir, synthesized: false, reason: 'synthesized by another process' };
    }
    const startedAt = Date.now();
    await runApp(root, outdir, options);
    // The stamp carries the start time: an input edited during the synth makes the next call synthesize again.
    const stamp = path.join(outdir, SYNTH_STAMP);
    writeFileSync(stamp, new Date(startedAt).toISOString());
    const t = new Date(startedAt);
    for (const f of [stamp, path.join(outdir, 'manifest.json')]) {
      try {
        utimesSync(f, t, t);
      } catch {
        // Best effort: a later mtime only means one unneeded synth.
      }
    }
    return { outdir, synthesized: true, reason: first };
  });
}

/** Synthesizes when needed and returns the assembly directory. */
export async function ensureSynth(options: SynthOptions = {}): Promise<string> {
  return (await synthesize(options)).outdir;
}

/**
 * Synthesizes into a fresh temporary directory (bundling off unless asked, so it is quick and
 * offline), reads the template of one stack, and removes the directory.
 */
/** Every stack of a fresh synthesis (no bundling), with its template and environment: the whole app, as the runtime reads it. */
export async function synthStacks(options: Omit<SynthOptions, 'outdir' | 'force'> = {}): Promise<StackInput[]> {
  const outdir = mkdtempSync(path.join(tmpdir(), 'assembly-synth-'));
  try {
    await synthesize({ bundling: false, ...options, outdir, force: true });
    return CloudAssembly.load(outdir).stacks.map((s) => ({ stackName: s.stackName, template: s.template, environment: s.environment }));
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

export async function synthTemplate(options: Omit<SynthOptions, 'outdir' | 'force'> & { readonly stack: string }): Promise<CfnTemplate> {
  const outdir = mkdtempSync(path.join(tmpdir(), 'assembly-synth-'));
  try {
    await synthesize({ bundling: false, ...options, outdir, force: true });
    return CloudAssembly.load(outdir).stack(options.stack).template;
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}
