/**
 * Functions run their bundled handler in worker threads. Each worker holds one execution
 * environment: its own environment variables and module state, kept warm between
 * invocations. A function has a pool of up to `maxWorkers` environments. An invocation that
 * passes the function's Timeout has its worker terminated and fails with Lambda's message.
 * https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import { Worker } from 'node:worker_threads';
import { RealClock, type Clock } from './clock';
import type { RuntimeLog } from './log';
import type { EventStream } from './stream';
import type { FunctionDef } from './template';
import { WORKER_SOURCE } from './worker-source';
import { arn, arns, parseArn, partitionOf } from '../assembly/arn';

export interface InvokeError {
  errorType: string;
  errorMessage: string;
  trace?: string[];
}

export type InvokeResult = { ok: true; payload: string; durationMs: number } | { ok: false; error: InvokeError; durationMs: number };

/** Lambda's limit on a function's init phase (loading the module and its top-level code). */
export const INIT_TIMEOUT_MS = 10_000;

/** Where a function's log lines go (the runtime's CloudWatch Logs); timestamps on the runtime's clock. */
export interface FunctionLogSink {
  now(): number;
  write(group: string, stream: string, message: string, timestamp: number): void;
}

/** The option in a function's NODE_OPTIONS that has Lambda's Node.js map stack traces through source maps. */
const SOURCE_MAPS_OPTION = /(?<=^|\s)--enable-source-maps(?=\s|$)/g;

/**
 * What the worker writes to its stdout after an invocation's own output, so that the lines
 * Lambda adds at the end (END, REPORT) follow everything the handler printed: stdout and the
 * result message travel on different channels and may arrive in either order.
 */
const END_MARK = '\u0000\u0001lambda-invocation-end:';
/** How long to wait for the end mark once the result is in (a handler may have closed stdout). */
const END_MARK_WAIT_MS = 250;

const LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'];
/** Whether a level passes a LoggingConfig level (`WARN` lets WARN, ERROR and FATAL through). */
function passes(level: string, threshold: string | undefined): boolean {
  const l = LEVELS.indexOf(level.toUpperCase() === 'WARNING' ? 'WARN' : level.toUpperCase());
  const t = LEVELS.indexOf((threshold ?? 'INFO').toUpperCase());
  return l < 0 || t < 0 || l >= t;
}

/** `2026/11/29/[$LATEST]<32 hex>`: the name Lambda gives an execution environment's log stream. */
export function logStreamName(now: number): string {
  const d = new Date(now);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}/${pad(d.getUTCMonth() + 1)}/${pad(d.getUTCDate())}/[$LATEST]${randomBytes(16).toString('hex')}`;
}

interface Env {
  worker: Worker;
  busy: boolean;
  dead: boolean;
  /** The code it loaded: environments of an older generation are retired once idle (replaceCode). */
  generation: number;
  /** Settles when the handler module has loaded: undefined on success, the error otherwise. */
  init: Promise<InvokeError | undefined>;
  /** The invocation running, with the cancel of its timeout timer. */
  pending?: { id: string; resolve: (r: InvokeResult) => void; cancelTimeout: () => void; started: number };
  /** Its CloudWatch Logs stream. */
  logStream: string;
  /** Milliseconds its init phase took, reported once (Init Duration) by the first invocation's REPORT. */
  initMs?: number;
  /** Called when the worker's stdout reaches the end mark of an invocation. */
  ended: Map<string, () => void>;
  heapMb?: number;
}

export interface FunctionSettings {
  region: string;
  accountId: string;
  endpoint: string;
  /** The execution role's session credentials. @default - the key `test`, which the runtime treats as the account's root user */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken: string };
  /** Where its output goes besides the runtime's log. @default - the runtime's log only */
  logs?: FunctionLogSink;
  /** Receives each output line as a `function.output` event (EMF metrics are read from there). */
  stream?: EventStream;
  /**
   * What the function's Timeout is measured on: when it passes, the invocation fails and its
   * worker is stopped. The handler itself always runs on real time (its
   * `getRemainingTimeInMillis()` counts real milliseconds); a test that is about what happens
   * after a timeout, not about the handler's code, passes a VirtualClock and advances it.
   * @default - real time
   */
  timeoutClock?: Clock;
}

/** Real time for the function timeouts of functions given no clock. */
const REAL_TIME = new RealClock();

/** What `replaceCode` did to the function's environments. */
export interface CodeSwap {
  /** Idle environments stopped at once. */
  retired: number;
  /** Environments running an invocation of the old code: each stops when it returns. */
  draining: number;
}

export class LambdaFunction {
  private readonly envs: Env[] = [];
  private readonly waiting: (() => void)[] = [];
  readonly arn: string;
  private closed = false;
  invocations = 0;
  /** The folder new environments load the handler from: the template's asset, until replaceCode. */
  private codeDir: string;
  private generation = 0;

  constructor(
    /** Its definition; `redefine` replaces it. */
    public def: FunctionDef,
    private settings: FunctionSettings,
    private readonly log: RuntimeLog,
    /** Execution environments this function may run at once. */
    public maxWorkers: number,
  ) {
    // The topology's ARN carries the function's own stack environment; a function added by hand takes the runtime's.
    this.arn =
      def.arn ?? arns.function({ partition: partitionOf(settings.region), region: settings.region, account: settings.accountId }, def.name);
    this.codeDir = def.codeDir;
  }

  /** Its handler entry relative to the app's root, when the template names one (watch mode rebuilds it). */
  get sourceEntry(): string | undefined {
    return this.def.sourceEntry;
  }

  /** The folder the next environment loads its handler from. */
  get currentCodeDir(): string {
    return this.codeDir;
  }

  /**
   * Serves new code (watch mode): the next invocation runs in an environment that loads it from
   * `codeDir`. Idle environments stop now and one warm environment of the new code starts; an environment
   * running an invocation finishes it with the old code and stops when it returns, so nothing in
   * flight is lost or run twice. Module state of the old code is gone, as after a deploy.
   */
  replaceCode(codeDir: string): CodeSwap {
    this.codeDir = codeDir;
    this.generation++;
    let retired = 0;
    let draining = 0;
    for (const env of [...this.envs]) {
      if (env.dead) continue;
      if (env.busy) draining++;
      else {
        this.retire(env);
        retired++;
      }
    }
    // One environment of the new code starts now (its init off the next invocation's path), when the pool has room.
    if (retired + draining > 0 && !this.closed && this.envs.length < this.maxWorkers) this.envs.push(this.spawn());
    return { retired, draining };
  }

  private retire(env: Env): void {
    env.dead = true;
    this.remove(env);
    void env.worker.terminate();
  }

  get name(): string {
    return this.def.name;
  }

  /** Its log group: the one LoggingConfig names, else Lambda's default. */
  get logGroupName(): string {
    return this.def.logging?.logGroup ?? `/aws/lambda/${this.def.name}`;
  }

  private get jsonLogs(): boolean {
    return this.def.logging?.logFormat === 'JSON';
  }

  /** The environment Lambda gives a function, plus the local endpoint and fake credentials. */
  environment(logStream = logStreamName(this.settings.logs?.now() ?? Date.now())): Record<string, string> {
    const { region, endpoint } = this.settings;
    const d = this.def;
    return {
      AWS_REGION: region,
      AWS_DEFAULT_REGION: region,
      AWS_ACCESS_KEY_ID: this.settings.credentials?.accessKeyId ?? 'test',
      AWS_SECRET_ACCESS_KEY: this.settings.credentials?.secretAccessKey ?? 'test',
      ...(this.settings.credentials ? { AWS_SESSION_TOKEN: this.settings.credentials.sessionToken } : {}),
      AWS_ENDPOINT_URL: endpoint,
      AWS_LAMBDA_FUNCTION_NAME: d.name,
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(d.memoryMb),
      AWS_LAMBDA_LOG_GROUP_NAME: this.logGroupName,
      AWS_LAMBDA_LOG_STREAM_NAME: logStream,
      // Lambda sets these when the function logs in JSON; Powertools reads the level from them.
      ...(this.jsonLogs ? { AWS_LAMBDA_LOG_FORMAT: 'JSON', AWS_LAMBDA_LOG_LEVEL: d.logging?.applicationLogLevel ?? 'INFO' } : {}),
      AWS_EXECUTION_ENV: `AWS_Lambda_${d.runtime ?? 'nodejs'}`,
      LAMBDA_TASK_ROOT: this.codeDir,
      _HANDLER: d.handler,
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      NODE_PATH: '',
      ...d.environment,
    };
  }

  /** Starts one execution environment ahead of the first invocation (cold start off the hot path). */
  prewarm(): void {
    if (this.envs.length === 0 && !this.closed) this.envs.push(this.spawn());
  }

  private spawn(): Env {
    const logStream = logStreamName(this.settings.logs?.now() ?? Date.now());
    const spawned = Date.now();
    const variables = this.environment(logStream);
    // Node.js reads a worker's NODE_OPTIONS; given --enable-source-maps it parses the map of every
    // module as it loads. The worker maps traces itself, when one is first needed (worker-source.ts),
    // and gives the handler its NODE_OPTIONS back before loading it.
    const nodeOptions = variables.NODE_OPTIONS;
    const withoutSourceMaps = nodeOptions?.replace(SOURCE_MAPS_OPTION, ' ');
    const mapTraces = withoutSourceMaps !== nodeOptions;
    if (mapTraces && withoutSourceMaps !== undefined) variables.NODE_OPTIONS = withoutSourceMaps.trim();
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      // None of the runtime's own Node.js options: Lambda starts a handler with only its NODE_OPTIONS.
      // Inherited (the default), `npm start`'s `--require tsx/cjs` put every handler module
      // through the runtime's TypeScript loader, and made each environment load it.
      execArgv: [],
      env: variables,
      workerData: { codeDir: this.codeDir, handler: this.def.handler, providedFrom: __filename, nodeOptions, mapTraces },
      stdout: true,
      stderr: true,
      // Memory as configured; the young generation stays at Node's default.
      resourceLimits: { maxOldGenerationSizeMb: Math.max(64, this.def.memoryMb) },
    });
    let initDone!: (e: InvokeError | undefined) => void;
    const init = new Promise<InvokeError | undefined>((resolve) => (initDone = resolve));
    const env: Env = { worker, busy: false, dead: false, generation: this.generation, init, logStream, ended: new Map() };
    for (const stream of [worker.stdout, worker.stderr]) {
      createInterface({ input: stream }).on('line', (line) => {
        const mark = line.indexOf(END_MARK);
        const text = mark < 0 ? line : line.slice(0, mark);
        if (mark < 0 || text.length > 0) {
          this.log.function(this.def.name, text);
          this.writeApplicationLine(env, text);
          this.settings.stream?.publish('function.output', { functionName: this.def.name, functionArn: this.arn, line: text });
        }
        if (mark >= 0) env.ended.get(line.slice(mark + END_MARK.length))?.();
      });
    }
    worker.on(
      'message',
      (m: { type: string; id: string; ok: boolean; payload?: string; error?: InvokeError; durationMs: number; heapMb?: number }) => {
        if (m.type === 'init') {
          env.initMs = Date.now() - spawned;
          initDone(m.ok ? undefined : m.error);
        }
        if (m.type !== 'result' || env.pending?.id !== m.id) return;
        env.heapMb = m.heapMb;
        const p = env.pending;
        p.cancelTimeout();
        env.pending = undefined;
        p.resolve(
          m.ok
            ? { ok: true, payload: m.payload ?? 'null', durationMs: m.durationMs }
            : { ok: false, error: m.error!, durationMs: m.durationMs },
        );
      },
    );
    const crash = (error: InvokeError) => {
      initDone(error);
      if (env.dead) return;
      env.dead = true;
      this.remove(env);
      const p = env.pending;
      if (p) {
        p.cancelTimeout();
        env.pending = undefined;
        p.resolve({ ok: false, error, durationMs: Date.now() - p.started });
      }
    };
    worker.on('error', (err) =>
      crash({
        errorType: 'Runtime.ExitError',
        errorMessage: `RequestId: ${env.pending?.id ?? '-'} Error: Runtime exited with error: ${err.name}: ${err.message}`,
        trace: String(err.stack ?? '').split('\n'),
      }),
    );
    worker.on('exit', (code) =>
      crash({
        errorType: 'Runtime.ExitError',
        errorMessage: `RequestId: ${env.pending?.id ?? '-'} Error: Runtime exited with error: exit status ${code}`,
      }),
    );
    return env;
  }

  private remove(env: Env): void {
    const i = this.envs.indexOf(env);
    if (i >= 0) this.envs.splice(i, 1);
    this.release();
  }

  private release(): void {
    const w = this.waiting.shift();
    if (w) w();
  }

  private async acquire(): Promise<Env> {
    for (;;) {
      if (this.closed) throw new Error(`Function ${this.name} is shut down`);
      const idle = this.envs.find((e) => !e.busy && !e.dead && e.generation === this.generation);
      if (idle) {
        idle.busy = true;
        return idle;
      }
      if (this.envs.length < this.maxWorkers) {
        const env = this.spawn();
        env.busy = true;
        this.envs.push(env);
        return env;
      }
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
  }

  /** Runs one invocation; never throws, the outcome is in the result. */
  async invoke(payload: string): Promise<InvokeResult> {
    let env: Env;
    try {
      env = await this.acquire();
    } catch (err) {
      return { ok: false, error: { errorType: 'ServiceException', errorMessage: (err as Error).message }, durationMs: 0 };
    }
    const id = randomUUID();
    this.invocations++;
    const initError = await this.initialize(env);
    if (initError) {
      this.writeInitError(env, id, initError);
      return { ok: false, error: initError, durationMs: 0 };
    }
    const timeoutMs = this.def.timeoutSeconds * 1000;
    const started = Date.now();
    const initMs = env.initMs;
    env.initMs = undefined;
    this.writeStart(env, id);
    const outputEnded = this.settings.logs ? new Promise<void>((resolve) => env.ended.set(id, resolve)) : undefined;
    const timeouts = this.settings.timeoutClock ?? REAL_TIME;
    const result = await new Promise<InvokeResult>((resolve) => {
      const timer = timeouts.setTimeout(() => {
        // Lambda stops the environment; its module state is gone and the next invocation starts cold.
        env.pending = undefined;
        env.dead = true;
        void env.worker.terminate();
        this.remove(env);
        resolve({
          ok: false,
          error: {
            errorType: 'Sandbox.Timedout',
            errorMessage: `${new Date().toISOString()} ${id} Task timed out after ${this.def.timeoutSeconds.toFixed(2)} seconds`,
          },
          durationMs: Date.now() - started,
        });
      }, timeoutMs);
      env.pending = { id, resolve, cancelTimeout: () => timeouts.clearTimeout(timer), started };
      env.worker.postMessage({
        type: 'invoke',
        id,
        payload,
        deadline: started + timeoutMs,
        context: {
          awsRequestId: id,
          functionName: this.def.name,
          functionVersion: '$LATEST',
          invokedFunctionArn: this.arn,
          memoryLimitInMB: String(this.def.memoryMb),
          logGroupName: this.logGroupName,
          logStreamName: env.logStream,
        },
      });
    });
    if (outputEnded) {
      // The handler's last lines first, then Lambda's END and REPORT; a stopped worker prints no more.
      if (!env.dead) await waitAtMost(outputEnded, END_MARK_WAIT_MS);
      env.ended.delete(id);
      this.writeEnd(env, id, result, initMs);
    }
    if (env.dead) return result;
    if (env.generation !== this.generation) {
      // Its code was replaced while it ran: this invocation finished on the old code, the next starts on the new.
      this.retire(env);
    } else {
      env.busy = false;
      this.release();
    }
    return result;
  }

  /** One line of the handler's output, as Lambda forwards it (JSON format: filtered by ApplicationLogLevel). */
  private writeApplicationLine(env: Env, line: string): void {
    const sink = this.settings.logs;
    if (!sink) return;
    if (this.jsonLogs && line.startsWith('{')) {
      let level: unknown;
      try {
        level = (JSON.parse(line) as { level?: unknown }).level;
      } catch {
        level = undefined;
      }
      if (typeof level === 'string' && !passes(level, this.def.logging?.applicationLogLevel)) return;
    }
    sink.write(this.logGroupName, env.logStream, line, sink.now());
  }

  /** A line Lambda itself writes: text START/END/REPORT, or JSON platform records at INFO level. */
  private writeSystem(env: Env, text: string, json: () => Record<string, unknown>): void {
    const sink = this.settings.logs;
    if (!sink) return;
    const now = sink.now();
    if (!this.jsonLogs) sink.write(this.logGroupName, env.logStream, text, now);
    else if (passes('INFO', this.def.logging?.systemLogLevel))
      sink.write(this.logGroupName, env.logStream, JSON.stringify({ time: new Date(now).toISOString(), ...json() }), now);
  }

  private writeStart(env: Env, id: string): void {
    this.writeSystem(env, `START RequestId: ${id} Version: $LATEST`, () => ({
      type: 'platform.start',
      record: { requestId: id, version: '$LATEST' },
    }));
  }

  private writeEnd(env: Env, id: string, result: InvokeResult, initMs: number | undefined): void {
    const sink = this.settings.logs;
    if (!sink) return;
    if (!result.ok) {
      const e = result.error;
      // What the Node.js runtime prints for a failed invocation; a timeout is Lambda's own line.
      const line =
        e.errorType === 'Sandbox.Timedout'
          ? e.errorMessage
          : this.jsonLogs
            ? JSON.stringify({
                timestamp: new Date(sink.now()).toISOString(),
                level: 'ERROR',
                requestId: id,
                message: 'Invoke Error',
                errorType: e.errorType,
                errorMessage: e.errorMessage,
                stackTrace: e.trace ?? [],
              })
            : `${new Date(sink.now()).toISOString()}	${id}	ERROR	Invoke Error 	${JSON.stringify({ errorType: e.errorType, errorMessage: e.errorMessage, stack: e.trace ?? [] })}`;
      if (e.errorType === 'Sandbox.Timedout' || !this.jsonLogs || passes('ERROR', this.def.logging?.applicationLogLevel))
        sink.write(this.logGroupName, env.logStream, line, sink.now());
    }
    const duration = Math.max(0, result.durationMs);
    const memoryUsed = Math.min(this.def.memoryMb, Math.max(1, env.heapMb ?? 1));
    const status = result.ok ? 'success' : result.error.errorType === 'Sandbox.Timedout' ? 'timeout' : 'error';
    this.writeSystem(env, `END RequestId: ${id}`, () => ({
      type: 'platform.runtimeDone',
      record: { requestId: id, status },
    }));
    const report = [
      `REPORT RequestId: ${id}`,
      `Duration: ${duration.toFixed(2)} ms`,
      `Billed Duration: ${Math.max(1, Math.ceil(duration))} ms`,
      `Memory Size: ${this.def.memoryMb} MB`,
      `Max Memory Used: ${memoryUsed} MB`,
      ...(initMs !== undefined ? [`Init Duration: ${initMs.toFixed(2)} ms`] : []),
      ...(status === 'timeout' ? ['Status: timeout'] : []),
    ].join('	');
    this.writeSystem(env, report, () => ({
      type: 'platform.report',
      record: {
        requestId: id,
        metrics: {
          durationMs: Number(duration.toFixed(2)),
          billedDurationMs: Math.max(1, Math.ceil(duration)),
          memorySizeMB: this.def.memoryMb,
          maxMemoryUsedMB: memoryUsed,
          ...(initMs !== undefined ? { initDurationMs: Number(initMs.toFixed(2)) } : {}),
        },
        status,
      },
    }));
  }

  /** A failed init: Lambda logs the error and a REPORT with the init status. */
  private writeInitError(env: Env, id: string, error: InvokeError): void {
    const sink = this.settings.logs;
    if (!sink) return;
    sink.write(
      this.logGroupName,
      env.logStream,
      `${new Date(sink.now()).toISOString()}	undefined	ERROR	Uncaught Exception 	${JSON.stringify({ errorType: error.errorType, errorMessage: error.errorMessage })}`,
      sink.now(),
    );
    this.writeEnd(env, id, { ok: false, error, durationMs: 0 }, undefined);
  }

  /**
   * Waits for the environment's init phase, which does not count against the function
   * timeout. A failed or too slow init discards the environment, so the next invocation
   * starts a new one, as Lambda does.
   */
  private async initialize(env: Env): Promise<InvokeError | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<InvokeError>((resolve) => {
      timer = setTimeout(
        () =>
          resolve({
            errorType: 'Runtime.InitTimeout',
            errorMessage: `Init phase of ${this.name} did not finish within ${INIT_TIMEOUT_MS / 1000} seconds`,
          }),
        INIT_TIMEOUT_MS,
      );
    });
    const error = await Promise.race([env.init, timedOut]);
    clearTimeout(timer);
    if (error && !env.dead) {
      env.dead = true;
      void env.worker.terminate();
      this.remove(env);
    }
    return error;
  }

  /**
   * A new definition (environment, timeout, memory, code folder, handler, role credentials) from a
   * reloaded assembly. Idle execution environments stop now; a busy one finishes its invocation
   * and then stops; the next invocations start environments of the new definition. Nothing in
   * flight is lost or run twice. The ARN stays (a function whose name changes is another function).
   */
  redefine(def: FunctionDef, settings: FunctionSettings): void {
    this.def = def;
    this.settings = settings;
    // The same swap as replaceCode: environments of the older generation retire once idle.
    this.codeDir = def.codeDir;
    this.generation++;
    for (const env of [...this.envs]) if (!env.busy && !env.dead) this.retire(env);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const w of this.waiting.splice(0)) w();
    const envs = this.envs.splice(0);
    await Promise.all(
      envs.map(async (e) => {
        e.dead = true;
        const p = e.pending;
        if (p) {
          p.cancelTimeout();
          e.pending = undefined;
          p.resolve({
            ok: false,
            error: { errorType: 'Runtime.Shutdown', errorMessage: 'The local runtime is shutting down' },
            durationMs: Date.now() - p.started,
          });
        }
        await e.worker.terminate();
      }),
    );
  }
}

/**
 * Every function of every account, by unqualified ARN. A bare name means the function of that name
 * in the caller's account and region (the runtime's until requests carry identities).
 */
export class FunctionRegistry {
  readonly functions = new Map<string, LambdaFunction>();

  constructor(
    private readonly log: RuntimeLog,
    /** Where a bare function name is looked up. @default - the first function of that name */
    private readonly caller?: { account: string; region: string },
  ) {}

  add(fn: LambdaFunction): void {
    this.functions.set(fn.arn, fn);
  }

  /** By ARN (with or without a qualifier), in whichever account it names; or by name in the caller's account. */
  get(nameOrArn: string): LambdaFunction | undefined {
    const parts = nameOrArn.startsWith('arn:') ? parseArn(nameOrArn) : undefined;
    if (parts) {
      const [kind, name] = parts.resource.split(':');
      if (kind !== 'function' || !name) return undefined;
      return this.functions.get(arn({ ...parts, resource: `function:${name}` }));
    }
    let first: LambdaFunction | undefined;
    for (const fn of this.functions.values()) {
      if (fn.name !== nameOrArn) continue;
      const at = parseArn(fn.arn);
      if (!this.caller || (at?.account === this.caller.account && at.region === this.caller.region)) return fn;
      first ??= fn;
    }
    return this.caller ? undefined : first;
  }

  hasFunction(name: string): boolean {
    return this.get(name) !== undefined;
  }

  /** Asynchronous invocation (EventBridge Lambda targets): the outcome is only logged. */
  invokeAsync(name: string, payload: string): void {
    const fn = this.get(name);
    if (!fn) return;
    void fn.invoke(payload).then((r) => {
      if (r.ok) this.log.event('result', { function: name, ms: r.durationMs, invocation: 'async' });
      else this.log.event('failure', { function: name, invocation: 'async', type: r.error.errorType, reason: r.error.errorMessage });
    });
  }

  async close(): Promise<void> {
    await Promise.all([...this.functions.values()].map((f) => f.close()));
  }
}

/** Resolves when `p` does or after `ms`, whichever comes first. */
function waitAtMost(p: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]).finally(() => clearTimeout(timer));
}
