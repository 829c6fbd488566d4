/**
 * The real AWS CLI for tests, without paying its start for every command. A command line runs in
 * a long-lived Python process (aws-cli-server.py) through awscli's own driver, as the `aws`
 * script runs it: same argument parsing, same botocore session built from the environment, same
 * requests on the wire. Starting Python and botocore once instead of once per command saves
 * about a CPU-second per command.
 *
 * A whole jest run starts one such process for all its files (`startSharedAwsCli`, from
 * test/support/global-setup.ts), reached through the Unix socket named by `AWS_CLI_SERVER_SOCKET`,
 * so awscli is imported once per run rather than once per file. A run of chosen files starts one
 * per file that runs a command, ended with the file.
 *
 * `AWS_CLI_PYTHON` names the interpreter that has awscli (default `python3`, which must be the
 * one the `aws` command runs); `AWS_CLI_PER_COMMAND=1` starts the `aws` command itself for every
 * command line instead. Without awscli in that interpreter, each command starts `aws`.
 */
import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';

export interface AwsCliOutput {
  code: number;
  stdout: string;
  stderr: string;
}

const SERVER = path.join(__dirname, 'aws-cli-server.py');
const execFileAsync = promisify(execFile);

interface Pending {
  resolve: (r: AwsCliOutput) => void;
  reject: (e: Error) => void;
}

class AwsCliServer {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly pending: Pending[] = [];
  private stderr = '';
  private answered = false;
  private failure: Error | undefined;

  constructor(
    python: string,
    private readonly onUnavailable: () => void,
  ) {
    // The environment of each command is sent with it; the server itself needs only a PATH and HOME.
    this.child = spawn(python, [SERVER], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', PYTHONIOENCODING: 'utf-8' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    // Only a command waiting for its answer keeps the process alive; close() ends the server.
    this.hold(false);
    this.child.stderr.on('data', (d: Buffer) => (this.stderr = (this.stderr + d.toString()).slice(-8192)));
    createInterface({ input: this.child.stdout }).on('line', (line) => {
      const next = this.pending.shift();
      if (!next) return;
      this.answered = true;
      if (this.pending.length === 0) this.hold(false);
      try {
        next.resolve(JSON.parse(line) as AwsCliOutput);
      } catch (e) {
        next.reject(new Error(`the AWS CLI server answered with something other than JSON: ${line.slice(0, 200)} (${String(e)})`));
      }
    });
    const fail = (error: Error) => {
      this.failure ??= error;
      if (!this.answered && /No module named 'awscli'|ENOENT/.test(`${this.stderr} ${error.message}`)) this.onUnavailable();
      for (const p of this.pending.splice(0)) p.reject(this.failure);
    };
    this.child.on('error', fail);
    this.child.on('exit', (code, signal) => fail(new Error(`the AWS CLI server exited (${signal ?? code}): ${this.stderr}`)));
  }

  get usable(): boolean {
    return this.failure === undefined;
  }

  run(args: readonly string[], env: Record<string, string>): Promise<AwsCliOutput> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      // Commands are answered in the order they were sent: one at a time, like a shell script.
      this.pending.push({ resolve, reject });
      this.hold(true);
      this.child.stdin.write(`${JSON.stringify({ args, env })}\n`);
    });
  }

  /** Whether the server (its process and pipes) keeps this process's event loop alive. */
  private hold(on: boolean): void {
    for (const h of [this.child, this.child.stdin, this.child.stdout, this.child.stderr] as unknown as { ref?(): void; unref?(): void }[])
      if (on) h.ref?.();
      else h.unref?.();
  }

  /** Ends the server and waits for it to exit (so its CPU time is counted as the test file's). */
  close(): Promise<void> {
    // Exited already, or never started (an 'error' with no process to wait for).
    if (this.failure || this.child.exitCode !== null || this.child.signalCode !== null) return Promise.resolve();
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.stdin.end();
    // A command still waiting on an endpoint that does not answer would hold the exit for minutes.
    const kill = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    return exited.finally(() => clearTimeout(kill));
  }
}

let server: AwsCliServer | undefined;
let perCommand = process.env.AWS_CLI_PER_COMMAND === '1';
let shared = perCommand ? undefined : process.env.AWS_CLI_SERVER_SOCKET;

/** Runs `aws <args>` with exactly the environment `env`; a non-zero exit is a result, not an error. */
export async function runAwsCli(args: readonly string[], env: Record<string, string>): Promise<AwsCliOutput> {
  if (shared && !perCommand) {
    const answer = await runShared(shared, args, env);
    if (answer === 'unavailable') perCommand = true;
    else if (answer === 'unreachable') shared = undefined;
    else return answer;
  }
  if (!perCommand) {
    if (!server?.usable) server = new AwsCliServer(process.env.AWS_CLI_PYTHON ?? 'python3', () => (perCommand = true));
    try {
      return await server.run(args, env);
    } catch (e) {
      if (!perCommand) throw e;
    }
  }
  try {
    const { stdout, stderr } = await execFileAsync('aws', [...args], { env, maxBuffer: 64 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof err.code === 'number' ? err.code : 1, stdout: err.stdout ?? '', stderr: err.stderr ?? String(e) };
  }
}

/** How long a command waits for the run's shared server to listen (it binds its socket within a second of its start). */
const SHARED_CONNECT_MS = 20_000;

/**
 * One command line through the run's shared server: its answer, `unavailable` when that Python
 * has no awscli, `unreachable` when the server is gone (the caller then starts its own).
 */
async function runShared(
  socket: string,
  args: readonly string[],
  env: Record<string, string>,
): Promise<AwsCliOutput | 'unavailable' | 'unreachable'> {
  const deadline = Date.now() + SHARED_CONNECT_MS;
  for (;;) {
    // (A tagged result, not `instanceof Error`: under jest, node's errors come from another realm.)
    const answer = await new Promise<{ ok: AwsCliOutput | { unavailable: string } } | { error: NodeJS.ErrnoException }>((resolve) => {
      let text = '';
      const conn = net.createConnection(socket);
      conn.setEncoding('utf8');
      conn.on('connect', () => conn.write(`${JSON.stringify({ args, env })}\n`));
      conn.on('data', (d: string) => (text += d));
      conn.on('error', (error) => resolve({ error }));
      conn.on('close', () => {
        try {
          resolve({ ok: JSON.parse(text) as AwsCliOutput | { unavailable: string } });
        } catch {
          resolve({ error: new Error(`the shared AWS CLI server closed the connection without an answer: ${text.slice(0, 200)}`) });
        }
      });
    });
    if ('ok' in answer) return 'unavailable' in answer.ok ? 'unavailable' : answer.ok;
    const code = answer.error.code;
    const notListening = code === 'ENOENT' || code === 'ECONNREFUSED';
    // Not listening yet (its Python is starting), unless it has exited: the run's setup marks that.
    if (!notListening) throw answer.error;
    if (fs.existsSync(exitedMark(socket)) || Date.now() > deadline) return 'unreachable';
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

const exitedMark = (socket: string) => path.join(path.dirname(socket), 'exited');

/**
 * Starts the AWS CLI server that every test file of a jest run shares, and names its socket in
 * `AWS_CLI_SERVER_SOCKET` for the test workers started after it. `close()` ends it and waits for
 * its exit, so its CPU time is counted as the run's. Nothing is started under
 * `AWS_CLI_PER_COMMAND=1`.
 */
export function startSharedAwsCli(): { close(): Promise<void> } | undefined {
  if (process.env.AWS_CLI_PER_COMMAND === '1') return undefined;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aws-cli-'));
  const socket = path.join(dir, 'cli.sock');
  const child = spawn(process.env.AWS_CLI_PYTHON ?? 'python3', [SERVER, '--listen', socket], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', PYTHONIOENCODING: 'utf-8' },
    stdio: ['pipe', 'ignore', 'inherit'],
  });
  let exited = false;
  const exit = new Promise<void>((resolve) => {
    const done = () => {
      if (exited) return;
      exited = true;
      // Clients waiting for the socket give up at once and start their own server.
      fs.writeFileSync(exitedMark(socket), '');
      resolve();
    };
    child.on('exit', done);
    child.on('error', done);
  });
  child.stdin.on('error', () => undefined); // it exited first: `exit` has settled
  process.env.AWS_CLI_SERVER_SOCKET = socket;
  return {
    close: async () => {
      delete process.env.AWS_CLI_SERVER_SOCKET;
      child.stdin.end();
      const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exit.finally(() => clearTimeout(kill));
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Ends this test file's AWS CLI server, if it started one. */
export async function closeAwsCli(): Promise<void> {
  const s = server;
  server = undefined;
  await s?.close();
}

// Under jest, each test file that ran a command ends its server with the file.
if (typeof afterAll === 'function') afterAll(closeAwsCli);
