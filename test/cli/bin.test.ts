/**
 * The installed launcher (package.json "bin"): real processes and real exit codes, one process for
 * each exit code the launcher passes on (0, 1, 2). Each process starts Node and compiles the CLI,
 * so the rest of the command-line handling, which is the same `run` the launcher calls, runs in
 * this process (test/cli/helpers.ts).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { app } from '../../catalog';
import { runCli } from './helpers';

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

  test('a usage error exits 2: an event the project catalog rejects is not published', () => {
    // The launcher loads the project's catalog (an argument commander rejects is a usage error
    // too, checked in-process by cost.test.ts).
    const event = app.catalog.events[0]!;
    const r = launch(['publish', '--source', event.source, '--detail-type', event.detailType, '--detail', '{"data":{}}']);
    expect(r.stderr).toContain(`Invalid ${event.detailType} event`);
    expect(r.stderr).toContain('nothing was published');
    expect(r.status).toBe(2);
  });

  test('a no-match exits 1', () => {
    const r = launch(['pattern', 'test', '-p', '{"source":["a"]}', '-e', '{"source":"b","detailType":"X","detail":{}}']);
    expect(r.stdout).toContain('no match');
    expect(r.status).toBe(1);
  });
});

describe('the program the launcher runs', () => {
  test('every command has its own --help', async () => {
    const r = await runCli(['dlq', 'redrive', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: loan-events dlq redrive [options] <queue>');
  });

  test('an unknown command exits 2', async () => {
    const r = await runCli(['frobnicate']);
    expect(r.stderr).toContain("unknown command 'frobnicate'");
    expect(r.code).toBe(2);
  });

  test("a global option's value that is also a command name does not stand for the command", async () => {
    // The program registers only the command a run names; `dlq` here is the stack's name.
    const r = await runCli([
      '--stack',
      'dlq',
      'pattern',
      'test',
      '-p',
      '{"source":["a"]}',
      '-e',
      '{"source":"a","detailType":"X","detail":{}}',
    ]);
    expect(r.stdout).toMatch(/^match$/m);
    expect(r.code).toBe(0);
  });

  test('a command group without a subcommand prints its help and exits 2', async () => {
    const r = await runCli(['dlq']);
    expect(r.stderr).toContain('Usage: loan-events dlq [options] [command]');
    expect(r.code).toBe(2);
  });
});
