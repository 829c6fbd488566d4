/**
 * `npm start -- --watch` as a process (runtime/start.ts): on a hand-made assembly (`--assembly`, so
 * no synth) whose function names its entry under the project, a handler edit is served through
 * the Lambda Invoke API, and SIGTERM stops the runtime and the watcher.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { PROJECT_ROOT } from '../../assembly/synth';
import { writeWatchedFunctionAssembly } from './watched-function';
import { projectScratchDir } from '../support/scratch';
import { waitFor } from '../support/wait';

const FUNCTION = 'watch-start-fn';
// The handler also reports the Node.js options its worker started with: none of the runtime's (`--require tsx/cjs` here).
const source = (version: number) => `export const handler = async () => ({ version: ${version}, execArgv: process.execArgv });\n`;

let dir: string;
let child: ChildProcess | undefined;

beforeEach(() => {
  dir = projectScratchDir('watch-start-');
});

afterEach(() => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

test('--watch serves a handler edit through Invoke, and SIGTERM stops it', async () => {
  // GIVEN
  const entry = path.join(dir, 'handler.ts');
  writeFileSync(entry, source(1));
  const assemblyDir = path.join(dir, 'cdk.out');
  await writeWatchedFunctionAssembly({
    entry,
    entryMetadata: path.relative(PROJECT_ROOT, entry),
    assemblyDir,
    stackName: 'S',
    properties: { FunctionName: FUNCTION, Timeout: 10 },
  });
  let stdout = '';
  child = spawn(
    process.execPath,
    [
      '--require',
      'tsx/cjs',
      path.join(PROJECT_ROOT, 'runtime', 'start.ts'),
      '--watch',
      '--assembly',
      assemblyDir,
      '--port',
      '0',
      '--iam',
      'off',
    ],
    { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
  child.stderr!.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
  const endpoint = await waitFor('the ready line', () => /ready on (http:\/\/\S+)/.exec(stdout)?.[1], 60_000);
  await waitFor('the watcher', () => (stdout.includes('watch: 1 function(s) rebuild on handler edits') ? true : undefined), 30_000);
  const invoke = async () => {
    const r = await fetch(`${endpoint}/2015-03-31/functions/${FUNCTION}/invocations`, { method: 'POST', body: '{}' });
    return (await r.json()) as { version: number; execArgv: string[] };
  };
  expect(await invoke()).toEqual({ version: 1, execArgv: [] });

  // WHEN
  writeFileSync(entry, source(2));
  await waitFor('the swap', () => (stdout.includes(`watch: ${FUNCTION} serves new code`) ? true : undefined), 30_000);

  // THEN
  expect(await invoke()).toEqual({ version: 2, execArgv: [] });
  // Stack edits are not re-synthesized for an assembly given by path.
  expect(stdout).not.toContain('re-synthesize');
  const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  expect(await exited).toBe(0);
}, 120_000);
