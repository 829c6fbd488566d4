/**
 * Watch mode (`npm start -- --watch`): keeps the running app in step with its sources without
 * a restart, so queues, dead letters, archives and tables keep their state.
 *
 * - A handler edit is rebuilt by an incremental esbuild context per function, with the stack's
 *   own bundle options (sdk/build.ts), into a directory of the watcher's; the function then
 *   serves the new code (LambdaFunction.replaceCode: idle environments are replaced, a busy one
 *   finishes its invocation on the old code). A build error keeps the old code running.
 * - An edit of a file the CDK app imports (lib/, bin/, catalog/, what they import from sdk/),
 *   or of cdk.json, cdk.context.json or package-lock.json, re-synthesizes the app and hands the
 *   new assembly to `reload`, which applies the difference. A file both a handler and the app
 *   import (the catalog) does both: the handler first, in a second; the stack when synth is done.
 *
 * The sets of files come from esbuild metafiles (each handler bundle's inputs, and the inputs of
 * the app's entry named in cdk.json), so an edit of anything else (tests, docs, an editor's swap
 * file) does nothing. Files under node_modules are not watched. See docs/runtime.md, "Watch mode".
 */
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  watch,
  writeFileSync,
  type Dirent,
  type FSWatcher,
} from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { build, context, formatMessagesSync, type BuildContext, type BuildFailure, type Message, type Metafile } from 'esbuild';
import { bundleBuildOptions } from '../sdk/build';
import { synthesize } from '../assembly/synth';
import type { CodeSwap } from './lambda';
import type { EventStream } from './stream';

declare module './stream' {
  interface RuntimeEvents {
    /** Watch mode rebuilt a function from its edited sources and swapped its code. */
    'function.code-updated': {
      functionName: string;
      functionArn: string;
      buildMs: number;
      /** The changed files that triggered it, relative to the app's root. */
      files: string[];
      codeDir: string;
      retiredWorkers: number;
      drainingWorkers: number;
    };
    /** Watch mode could not build a function from its edited sources; it keeps its previous code. */
    'function.code-update-failed': { functionNames: string[]; files: string[]; error: string };
    /** Watch mode re-synthesized the app after a stack or catalog edit and applied it (`reload`). */
    'app.resynthesized': { files: string[]; synthMs: number; reloadMs?: number; summary?: string };
    /** The re-synthesis or its reload failed; the app runs as before. */
    'app.resynth-failed': { files: string[]; stage: 'synth' | 'reload'; error: string };
  }
}

/** What the watcher needs of a running function (LambdaFunction). */
export interface HotFunction {
  readonly name: string;
  readonly arn: string;
  /** Its handler entry relative to the app's root; functions without one are left to re-synth. */
  readonly sourceEntry?: string;
  replaceCode(codeDir: string): CodeSwap;
}

/** Applies a new cloud assembly to the running app, keeping its state (the runtime's `reload`). */
export type ReloadApp = (assemblyDir: string) => Promise<{ summary: string }>;

export interface WatchOptions {
  /** The app's root: where cdk.json is. Entries and reported paths are relative to it. */
  readonly root: string;
  /** The functions the runtime runs now; asked again after each reload. */
  readonly functions: () => Iterable<HotFunction>;
  /**
   * Applies a re-synthesized assembly to the running app.
   * @default - a stack edit is re-synthesized and reported, and applies at the next start
   */
  readonly reload?: ReloadApp;
  /** Synthesizes the app after a stack edit. @default assembly/synth.ts `synthesize`, forced, in `root` */
  readonly synthesize?: () => Promise<{ outdir: string }>;
  /** Re-synthesize on stack edits at all (off when the runtime runs an assembly given by path). @default true */
  readonly resynth?: boolean;
  /** Where the watcher's lines go. */
  readonly log: (line: string) => void;
  /** Where its typed events go (`function.code-updated`, ...). @default - none */
  readonly stream?: EventStream;
  /** The parent of the directory rebuilt bundles are written to (removed on close). @default the OS temporary directory */
  readonly outDir?: string;
  /** Quiet time after the last change before acting: editors write a file in several steps. @default 75 ms */
  readonly debounceMs?: number;
}

export interface Watcher {
  /** Settles when every function's first build is done and the files are watched. */
  readonly ready: Promise<void>;
  /** True when no change is waiting, no build or synth runs. */
  readonly idle: boolean;
  /**
   * Stops watching, disposes of the builds and removes the rebuilt bundles: close it with the
   * runtime, whose functions load them. A synth still running is left to finish, unapplied.
   */
  close(): Promise<void>;
}

/** Files at the root whose change re-synthesizes the app (besides the app's own imports). */
export const ROOT_SYNTH_FILES = ['cdk.json', 'cdk.context.json', 'package-lock.json'];
/** Where the app's sources are when its entry cannot be read from cdk.json: every file under them counts. */
export const FALLBACK_APP_DIRS = ['bin', 'lib', 'catalog'];
/** @default debounce */
export const DEFAULT_DEBOUNCE_MS = 75;
/** Rebuilt bundles kept per function; older ones are removed. */
const KEPT_BUILDS = 5;

/** What a set of changed files asks for: the functions to rebuild, and whether to re-synthesize. */
export interface ChangePlan {
  /** ARNs of the functions whose bundles read a changed file. */
  readonly functions: Set<string>;
  readonly resynth: boolean;
}

/**
 * The rule, as a pure function: a file a handler bundle reads rebuilds that handler; a file the
 * app imports, or a root file of the CDK configuration, re-synthesizes; a file in both does both;
 * anything else does nothing.
 */
export function planChanges(
  changed: Iterable<string>,
  handlerInputs: ReadonlyMap<string, ReadonlySet<string>>,
  appInputs: ReadonlySet<string>,
  rootFiles: ReadonlySet<string>,
): ChangePlan {
  const functions = new Set<string>();
  let resynth = false;
  for (const file of changed) {
    for (const arn of handlerInputs.get(file) ?? []) functions.add(arn);
    if (appInputs.has(file) || rootFiles.has(file)) resynth = true;
  }
  return { functions, resynth };
}

/** Absolute paths of a metafile's inputs outside node_modules (esbuild names them relative to its working directory). */
export function sourceInputs(metafile: Metafile | undefined, root: string): string[] {
  if (!metafile) return [];
  return Object.keys(metafile.inputs)
    .filter((p) => !p.split(/[\\/]/).includes('node_modules') && !p.includes(':'))
    .map((p) => path.resolve(root, p));
}

/** The script cdk.json's `app` command runs (`npx tsx bin/app.ts` gives `bin/app.ts`), if it names one that exists. */
export function appEntryOf(root: string): string | undefined {
  try {
    const config = JSON.parse(readFileSync(path.join(root, 'cdk.json'), 'utf8')) as { app?: unknown };
    if (typeof config.app !== 'string') return undefined;
    const script = config.app
      .split(/\s+/)
      .find((t) => /\.(c|m)?(t|j)sx?$/.test(t) && existsSync(path.resolve(root, t)) && !path.resolve(root, t).includes('node_modules'));
    return script === undefined ? undefined : path.resolve(root, script);
  } catch {
    return undefined;
  }
}

/** Every file under `dir`, absolute, skipping node_modules and dot folders. */
function filesUnder(dir: string, depth = 0): string[] {
  if (depth > 16) return [];
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((e) => {
    if (e.name === 'node_modules' || e.name.startsWith('.')) return [];
    const p = path.join(dir, e.name);
    return e.isDirectory() ? filesUnder(p, depth + 1) : [p];
  });
}

/** The local source files the CDK app imports: its entry's esbuild inputs, else every file under the usual folders. */
async function appInputsOf(root: string): Promise<Set<string>> {
  const entry = appEntryOf(root);
  if (entry) {
    try {
      const r = await build({
        entryPoints: [entry],
        absWorkingDir: root,
        bundle: true,
        write: false,
        metafile: true,
        platform: 'node',
        format: 'cjs',
        packages: 'external',
        logLevel: 'silent',
      });
      return new Set(sourceInputs(r.metafile, root));
    } catch {
      // A broken app still counts its usual folders: fixing it must re-synthesize.
    }
  }
  return new Set(FALLBACK_APP_DIRS.flatMap((d) => filesUnder(path.join(root, d))));
}

/** esbuild's errors as it prints them, without colour; any other error as its message. */
function describeBuildError(err: unknown): string {
  const errors = (err as Partial<BuildFailure>).errors;
  if (Array.isArray(errors) && errors.length > 0) {
    return formatMessagesSync(errors as Message[], { kind: 'error', color: false })
      .join('')
      .trimEnd();
  }
  return err instanceof Error ? err.message : String(err);
}

interface HotBuild {
  arn: string;
  name: string;
  entry: string;
  ctx: BuildContext;
  /** Absolute paths of the source files its last successful build read. */
  inputs: Set<string>;
  /** Builds written so far: the n-th goes to `<dir>/<n>/`. */
  written: number;
  dir: string;
}

/** Starts watching the app's sources. Resolve `ready` before expecting an edit to be seen. */
export function startWatch(options: WatchOptions): Watcher {
  const root = path.resolve(options.root);
  const debounceMs = options.debounceMs ?? DEFAULT_DEBOUNCE_MS;
  const log = options.log;
  const rel = (p: string) => path.relative(root, p).split(path.sep).join('/');
  mkdirSync(options.outDir ?? os.tmpdir(), { recursive: true });
  const outRoot = mkdtempSync(path.join(options.outDir ?? os.tmpdir(), 'hot-'));
  const rootFiles = new Set(ROOT_SYNTH_FILES.map((f) => path.join(root, f)));
  const builds = new Map<string, HotBuild>();
  let appInputs = new Set<string>();
  const watchers = new Map<string, FSWatcher>();
  const changed = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  /** Hot rebuilds run one batch at a time, in order. */
  let hotChain: Promise<void> = Promise.resolve();
  let hotRunning = 0;
  let synthRunning: Promise<void> | undefined;
  const synthFiles = new Set<string>();
  const resynthEnabled = options.resynth !== false;

  const handlerInputs = (): Map<string, Set<string>> => {
    const m = new Map<string, Set<string>>();
    for (const b of builds.values())
      for (const f of b.inputs) {
        const s = m.get(f) ?? new Set<string>();
        s.add(b.arn);
        m.set(f, s);
      }
    return m;
  };

  const functionByArn = (arn: string): HotFunction | undefined => {
    for (const f of options.functions()) if (f.arn === arn) return f;
    return undefined;
  };

  /** Watches the folders of every input (fs.watch on folders: editors save by renaming over the file). */
  const syncWatchers = () => {
    if (closed) return;
    const dirs = new Set<string>([root]);
    for (const b of builds.values()) for (const f of b.inputs) dirs.add(path.dirname(f));
    for (const f of appInputs) dirs.add(path.dirname(f));
    for (const [dir, w] of watchers) {
      if (!dirs.has(dir)) {
        w.close();
        watchers.delete(dir);
      }
    }
    for (const dir of dirs) {
      if (watchers.has(dir)) continue;
      try {
        const w = watch(dir, { persistent: false }, (_event, name) => {
          if (name) onChange(path.join(dir, name.toString()));
        });
        // A folder removed while watched: forget it; the next refresh watches what exists.
        w.on('error', () => {
          w.close();
          watchers.delete(dir);
        });
        watchers.set(dir, w);
      } catch {
        // Gone already.
      }
    }
  };

  const onChange = (file: string) => {
    if (closed) return;
    changed.add(file);
    if (timer) clearTimeout(timer);
    timer = setTimeout(flush, debounceMs);
  };

  const flush = () => {
    timer = undefined;
    if (closed) return;
    const files = [...changed];
    changed.clear();
    const plan = planChanges(files, handlerInputs(), resynthEnabled ? appInputs : new Set(), resynthEnabled ? rootFiles : new Set());
    if (plan.functions.size > 0) {
      hotRunning++;
      hotChain = hotChain
        .then(() => rebuild(plan.functions, files))
        .catch((err) => log(`watch: hot reload failed: ${err instanceof Error ? err.message : String(err)}`))
        .finally(() => hotRunning--);
    }
    if (plan.resynth) {
      for (const f of files) synthFiles.add(f);
      // Never two synths at once: edits during one queue a single next one.
      if (synthRunning) log(`watch: ${files.map(rel).join(', ')} changed during a re-synthesis; another follows it`);
      synthRunning ??= hotChain.then(runSynths).finally(() => (synthRunning = undefined));
    }
  };

  /** Rebuilds the functions, then swaps each one that built; a failure keeps that function's old code. */
  const rebuild = async (arns: Set<string>, files: string[]) => {
    const changedFiles = files.map(rel);
    const failures = new Map<string, string[]>();
    await Promise.all(
      [...arns].map(async (arn) => {
        const b = builds.get(arn);
        if (!b || closed) return;
        const started = performance.now();
        let result: Awaited<ReturnType<BuildContext['rebuild']>>;
        try {
          result = await b.ctx.rebuild();
        } catch (err) {
          if (closed) return;
          const text = describeBuildError(err);
          failures.set(text, [...(failures.get(text) ?? []), b.name]);
          return;
        }
        if (closed) return;
        const fn = functionByArn(arn);
        if (!fn) return;
        const dir = path.join(b.dir, String(++b.written));
        mkdirSync(dir, { recursive: true });
        for (const out of result.outputFiles ?? []) writeFileSync(path.join(dir, path.basename(out.path)), out.contents);
        b.inputs = new Set(sourceInputs(result.metafile, root));
        const swap = fn.replaceCode(dir);
        const buildMs = Math.round(performance.now() - started);
        // Old builds go, a few edits later: an environment still draining loaded its module at init
        // already, and only one whose invocation outlasts that many edits would miss its LAMBDA_TASK_ROOT.
        rmSync(path.join(b.dir, String(b.written - KEPT_BUILDS)), { recursive: true, force: true });
        options.stream?.publish('function.code-updated', {
          functionName: b.name,
          functionArn: arn,
          buildMs,
          files: changedFiles,
          codeDir: dir,
          retiredWorkers: swap.retired,
          drainingWorkers: swap.draining,
        });
        const draining = swap.draining > 0 ? `; ${swap.draining} running invocation(s) finish on the old code` : '';
        log(`watch: ${b.name} serves new code (built in ${buildMs} ms after ${changedFiles.join(', ')}${draining})`);
      }),
    );
    for (const [text, names] of failures) {
      options.stream?.publish('function.code-update-failed', { functionNames: names, files: changedFiles, error: text });
      log(`watch: build of ${names.join(', ')} failed; the previous code keeps running:\n${text}`);
    }
    syncWatchers();
  };

  const runSynths = async () => {
    while (synthFiles.size > 0 && !closed) {
      const files = [...synthFiles].map(rel);
      synthFiles.clear();
      log(`watch: ${files.join(', ')} changed; re-synthesizing the app...`);
      const started = performance.now();
      let outdir: string;
      try {
        // CDK's built-in CloudFormation validation is skipped here (the compliance packs still run): it
        // is generic template linting that costs about half of a synth, and `cdk synth` runs it.
        outdir = (await (options.synthesize ?? (() => synthesize({ root, force: true, skipBuiltinValidation: true })))()).outdir;
      } catch (err) {
        const error = err instanceof Error ? err.message : String(err);
        options.stream?.publish('app.resynth-failed', { files, stage: 'synth', error });
        log(`watch: re-synthesis failed; the app runs as before:\n${error}`);
        continue;
      }
      const synthMs = Math.round(performance.now() - started);
      if (closed) return;
      if (!options.reload) {
        options.stream?.publish('app.resynthesized', { files, synthMs });
        log(`watch: re-synthesized in ${(synthMs / 1000).toFixed(1)} s; this runtime cannot apply it while running: restart to pick it up`);
        continue;
      }
      const reloadStarted = performance.now();
      let summary: string;
      try {
        summary = (await options.reload(outdir)).summary;
      } catch (err) {
        const error = err instanceof Error ? err.message : String(err);
        options.stream?.publish('app.resynth-failed', { files, stage: 'reload', error });
        log(`watch: re-synthesized, but applying it failed; the app runs as before: ${error}`);
        continue;
      }
      const reloadMs = Math.round(performance.now() - reloadStarted);
      options.stream?.publish('app.resynthesized', { files, synthMs, reloadMs, summary });
      log(`watch: re-synthesized in ${(synthMs / 1000).toFixed(1)} s and applied in ${reloadMs} ms: ${summary}`);
      await refresh();
    }
  };

  /** Creates a build for each function that names an entry and has none (or another entry); disposes of the others. */
  const refreshBuilds = async () => {
    const wanted = new Map<string, HotFunction>();
    for (const f of options.functions()) if (f.sourceEntry) wanted.set(f.arn, f);
    for (const [arn, b] of builds) {
      const f = wanted.get(arn);
      if (!f || path.resolve(root, f.sourceEntry!) !== b.entry) {
        builds.delete(arn);
        await b.ctx.dispose();
      }
    }
    await Promise.all(
      [...wanted.values()]
        .filter((f) => !builds.has(f.arn))
        .map(async (f) => {
          const entry = path.resolve(root, f.sourceEntry!);
          // One folder per function (two accounts may have functions of one name).
          const dir = mkdtempSync(path.join(outRoot, `${f.name.replace(/[^A-Za-z0-9_.-]/g, '_')}-`));
          const ctx = await context({
            ...bundleBuildOptions({ entry, outdir: path.join(dir, 'current') }),
            absWorkingDir: root,
            metafile: true,
            write: false,
            // Errors are printed once by the watcher, not by esbuild for each function.
            logLevel: 'silent',
          });
          if (closed) {
            await ctx.dispose();
            return;
          }
          const b: HotBuild = { arn: f.arn, name: f.name, entry, ctx, inputs: new Set([entry]), written: 0, dir };
          builds.set(f.arn, b);
          try {
            // The first build only learns what the bundle reads: the function already runs this code.
            b.inputs = new Set(sourceInputs((await ctx.rebuild()).metafile, root));
          } catch (err) {
            log(`watch: ${f.name} does not build now; it is rebuilt when its entry changes:\n${describeBuildError(err)}`);
          }
        }),
    );
  };

  const refresh = async () => {
    if (closed) return;
    await refreshBuilds();
    if (resynthEnabled) appInputs = await appInputsOf(root);
    syncWatchers();
  };

  const ready = (async () => {
    await refresh();
    if (closed) return;
    const all = [...options.functions()];
    const skipped = all.filter((f) => !f.sourceEntry).map((f) => f.name);
    const files = new Set([...builds.values()].flatMap((b) => [...b.inputs]));
    log(
      `watch: ${builds.size} function(s) rebuild on handler edits (${files.size} source files)` +
        (resynthEnabled ? `; edits of the stack or catalog (${appInputs.size} files) re-synthesize` : '') +
        (skipped.length > 0 ? `; without a source entry, updated by re-synth only: ${skipped.join(', ')}` : ''),
    );
  })();

  return {
    ready,
    get idle() {
      return timer === undefined && changed.size === 0 && hotRunning === 0 && synthRunning === undefined;
    },
    async close() {
      if (closed) return;
      closed = true;
      if (timer) clearTimeout(timer);
      for (const w of watchers.values()) w.close();
      watchers.clear();
      await ready.catch(() => undefined);
      await hotChain.catch(() => undefined);
      await Promise.all([...builds.values()].map((b) => b.ctx.dispose()));
      builds.clear();
      rmSync(outRoot, { recursive: true, force: true });
    },
  };
}
