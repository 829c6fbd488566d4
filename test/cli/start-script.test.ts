/** `npm start` (runtime/start.ts): --help prints help and starts nothing; a taken port fails before the synth. */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const start = (args: string[]) =>
  spawnSync(process.execPath, ['--require', 'tsx/cjs', join(ROOT, 'runtime', 'start.ts'), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 60_000,
  });

test('--help prints the options and exits 0 without starting', () => {
  const r = start(['--help']);
  expect(r.status).toBe(0);
  expect(r.stdout).toContain('Usage: npm start -- [options]');
  expect(r.stdout).toContain('--port <n>');
  expect(r.stdout).not.toContain('Synthesizing');
  // Every option start.ts reads is in the help.
  const source = readFileSync(join(ROOT, 'runtime', 'start.ts'), 'utf8');
  const read = [...source.matchAll(/\barg\('([a-z-]+)'\)|argv\.includes\('--([a-z-]+)'\)/g)].map((m) => `--${m[1] ?? m[2]}`);
  expect(read.length).toBeGreaterThan(5);
  for (const option of new Set(read)) expect(r.stdout).toContain(option);
}, 60_000);

test('a port in use is reported before synthesizing', async () => {
  const taken = net.createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  const port = (taken.address() as net.AddressInfo).port;
  try {
    const r = start(['--port', String(port)]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`Port ${port} is already in use`);
    expect(r.stdout).not.toContain('Synthesizing');
  } finally {
    taken.close();
  }
}, 60_000);
