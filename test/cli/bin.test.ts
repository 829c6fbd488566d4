/** The installed launcher (package.json "bin"): real processes, real exit codes. */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const BIN = join(__dirname, '..', '..', 'cli', 'bin.cjs');
const launch = (args: string[]) =>
  spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { PATH: process.env.PATH, NO_COLOR: '1' }, timeout: 60_000 });

describe('cli/bin.cjs', () => {
  test('--help lists every command and exits 0', () => {
    const r = launch(['--help']);
    expect(r.status).toBe(0);
    for (const command of ['publish', 'tail', 'pattern', 'dlq', 'replay', 'cost', 'diagram'])
      expect(r.stdout).toMatch(new RegExp(`^  ${command} `, 'm'));
  });

  test('every command has its own --help', () => {
    const r = launch(['dlq', 'redrive', '--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('Usage: loan-events dlq redrive [options] <queue>');
  });

  test('a usage error exits 2', () => {
    const r = launch(['cost', '--rate', 'lots']);
    expect(r.stderr).toContain("argument 'lots' is invalid");
    expect(r.status).toBe(2);
  });

  test('an unknown command exits 2', () => {
    const r = launch(['frobnicate']);
    expect(r.stderr).toContain("unknown command 'frobnicate'");
    expect(r.status).toBe(2);
  });

  test('a command group without a subcommand prints its help and exits 2', () => {
    const r = launch(['dlq']);
    expect(r.stderr).toContain('Usage: loan-events dlq [options] [command]');
    expect(r.status).toBe(2);
  });

  test('a no-match exits 1', () => {
    const r = launch(['pattern', 'test', '-p', '{"source":["a"]}', '-e', '{"source":"b","detailType":"X","detail":{}}']);
    expect(r.stdout).toContain('no match');
    expect(r.status).toBe(1);
  });
});
