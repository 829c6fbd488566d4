import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { json, runCli } from './helpers';

const submitted = (amount: number) => ({
  source: 'com.example.loans.intake',
  detailType: 'LoanApplicationSubmitted',
  detail: { data: { applicationId: 'app-1', amount } },
});
const largeOnly = { source: ['com.example.loans.intake'], detail: { data: { amount: [{ numeric: ['>=', 250000] }] } } };

describe('pattern test', () => {
  test('prints match and exits 0 when the event matches', async () => {
    // WHEN
    const r = await runCli(['pattern', 'test', '-p', JSON.stringify(largeOnly), '-e', JSON.stringify(submitted(300000))]);
    // THEN
    expect(r.stdout.trim()).toBe('match');
    expect(r.code).toBe(0);
  });

  test('names the failing field and exits 1 when the event does not match', async () => {
    const r = await runCli(['pattern', 'test', '-p', JSON.stringify(largeOnly), '-e', JSON.stringify(submitted(1200))]);
    expect(r.stdout).toContain('no match');
    expect(r.stdout).toContain('detail.data.amount');
    expect(r.stdout).toContain('1200');
    expect(r.code).toBe(1);
  });

  test('reads the pattern from a file and the event from stdin, and answers in JSON', async () => {
    // GIVEN
    const dir = mkdtempSync(join(tmpdir(), 'cli-pattern-'));
    writeFileSync(join(dir, 'rule.json'), JSON.stringify(largeOnly));
    // WHEN
    const r = await runCli(['--json', 'pattern', 'test', '-p', 'rule.json', '-e', '-'], { cwd: dir, stdin: JSON.stringify(submitted(10)) });
    // THEN
    expect(json(r)).toEqual({ match: false, reason: expect.stringContaining('detail.data.amount') });
    expect(r.code).toBe(1);
  });

  test('accepts a full EventBridge event as it is', async () => {
    const event = {
      version: '0',
      id: 'x',
      'detail-type': 'LoanApplicationSubmitted',
      source: 'com.example.loans.intake',
      account: '111122223333',
      time: '2026-01-01T00:00:00Z',
      region: 'eu-west-1',
      resources: [],
      detail: { data: { amount: 1 } },
    };
    const r = await runCli(['pattern', 'test', '-p', '{"account":["111122223333"],"region":["eu-west-1"]}', '-e', JSON.stringify(event)]);
    expect(r.stdout.trim()).toBe('match');
  });

  test('rejects an invalid pattern with the AWS error text as a usage error', async () => {
    const r = await runCli([
      'pattern',
      'test',
      '-p',
      '{"detail":{"amount":[{"numeric":[">",1,">",2]}]}}',
      '-e',
      JSON.stringify(submitted(1)),
    ]);
    expect(r.stderr).toContain('--pattern: Event pattern is not valid. Reason:');
    expect(r.code).toBe(2);
  });

  test('names the option when a file does not exist', async () => {
    const r = await runCli(['pattern', 'test', '-p', 'missing.json', '-e', '{}']);
    expect(r.stderr).toContain("--pattern: no such file 'missing.json'");
    expect(r.code).toBe(2);
  });

  test('names the option when the JSON is malformed', async () => {
    const r = await runCli(['pattern', 'test', '-p', '{"source": [', '-e', '{}']);
    expect(r.stderr).toContain('--pattern: not valid JSON');
    expect(r.code).toBe(2);
  });

  test('a missing required option is a usage error', async () => {
    const r = await runCli(['pattern', 'test', '-p', '{}']);
    expect(r.stderr).toContain("required option '-e, --event");
    expect(r.code).toBe(2);
  });
});

describe('pattern check', () => {
  test('prints valid for a valid pattern', async () => {
    const r = await runCli(['pattern', 'check', '-p', JSON.stringify(largeOnly)]);
    expect(r.stdout.trim()).toBe('valid');
    expect(r.code).toBe(0);
  });

  test.each([
    ['{"source":"com.example"}', 'Event pattern is not valid. Reason: '],
    ['{"detail":{"amount":[{"numeric":[">",1,">",2]}]}}', 'Event pattern is not valid. Reason: '],
    ['{}', 'Event pattern is not valid. Reason: '],
  ])('prints the AWS error text for %s and exits 1', async (pattern, text) => {
    const r = await runCli(['--json', 'pattern', 'check', '-p', pattern]);
    const body = json<{ valid: boolean; message: string }>(r);
    expect(body.valid).toBe(false);
    expect(body.message.startsWith(text)).toBe(true);
    expect(r.code).toBe(1);
  });
});
