/**
 * Stopping `npm start`: npm runs the script through a shell, and the runtime is a process below
 * npm. A supervisor signals npm only, a terminal's Ctrl-C signals the whole process group, and
 * npm killed outright (SIGKILL) cannot pass anything on; in each case the runtime must stop and
 * free its port. Each run is its own process group, so the test can see (and clean up) whatever
 * is left of it.
 */
import { ChildProcess, spawn } from 'node:child_process';
import net from 'node:net';
import * as path from 'node:path';
import { EMPTY_APP } from './helpers';

const ROOT = path.join(__dirname, '..', '..');
const runs: ChildProcess[] = [];

afterEach(() => {
  for (const run of runs.splice(0)) {
    if (run.pid !== undefined && groupAlive(run.pid)) process.kill(-run.pid, 'SIGKILL');
    run.stdout?.destroy();
    run.stderr?.destroy();
  }
});

/** Whether any process of the group is still there (signal 0 checks without signalling). */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw e;
  }
}

/** `npm start` on the empty app and a free port, in a process group of its own; resolves once ready. */
async function npmStart(): Promise<{ npm: ChildProcess; pid: number; port: number; output: () => string }> {
  const npm = spawn('npm', ['start', '--', '--assembly', EMPTY_APP, '--port', '0'], {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  runs.push(npm);
  let out = '';
  const port = await new Promise<number>((resolve, reject) => {
    npm.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      const m = /ready on http:\/\/127\.0\.0\.1:(\d+)/.exec(out);
      if (m?.[1]) resolve(Number(m[1]));
    });
    npm.stderr!.on('data', (b: Buffer) => (out += b.toString()));
    npm.once('exit', (code) => reject(new Error(`npm start exited (${code}) before the runtime was ready:\n${out}`)));
  });
  return { npm, pid: npm.pid!, port, output: () => out };
}

/** Whether anything accepts connections on the port. */
async function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Waits until no process of the group is left, up to `ms`; returns whether that happened. */
async function groupEnds(pgid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!groupAlive(pgid)) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return !groupAlive(pgid);
}

test('SIGTERM to the npm process alone stops the runtime and frees its port', async () => {
  // GIVEN
  const { pid, port, output } = await npmStart();
  expect(await listening(port)).toBe(true);
  // WHEN
  process.kill(pid, 'SIGTERM');
  // THEN
  expect(await groupEnds(pid, 15_000)).toBe(true);
  expect(await listening(port)).toBe(false);
  expect(output()).toContain('Stopping; in-memory state is discarded.');
}, 60_000);

test('SIGINT to the process group (Ctrl-C in a terminal) stops the runtime once', async () => {
  // GIVEN
  const { pid, port, output } = await npmStart();
  // WHEN
  process.kill(-pid, 'SIGINT');
  // THEN
  expect(await groupEnds(pid, 15_000)).toBe(true);
  expect(await listening(port)).toBe(false);
  expect(output().match(/Stopping;/g)).toHaveLength(1);
}, 60_000);

test('the runtime stops when the process that started it is killed outright', async () => {
  // GIVEN
  const { npm, pid, port } = await npmStart();
  // WHEN: npm cannot relay a SIGKILL, so the runtime is left without its parent
  process.kill(pid, 'SIGKILL');
  await new Promise((r) => (npm.exitCode === null && npm.signalCode === null ? npm.once('exit', r) : r(undefined)));
  // THEN
  expect(await groupEnds(pid, 15_000)).toBe(true);
  expect(await listening(port)).toBe(false);
}, 60_000);
