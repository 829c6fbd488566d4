/**
 * Synth-when-stale against a small app of its own (cdk.json's `app` is a node script that writes a
 * manifest and counts its runs), so the decisions are tested without the CDK's 15 seconds.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { assemblyState, synthesize, withLock } from '../../assembly';
import { cleanUp, tempDir } from './helpers';

afterAll(cleanUp);

const APP = `
const fs = require('fs'), path = require('path');
const out = process.env.CDK_OUTDIR;
fs.mkdirSync(out, { recursive: true });
fs.appendFileSync(path.join(__dirname, 'runs.txt'), 'x');
fs.writeFileSync(path.join(out, 'context.json'), process.env.CDK_CONTEXT_JSON);
if (process.env.FAIL_SYNTH) { console.error('boom: the app failed'); process.exit(3); }
fs.writeFileSync(path.join(out, 'manifest.json'), JSON.stringify({ version: '55.0.0', artifacts: {} }));
`;

/** A project root with cdk.json, the app and one source folder whose mtime is an hour ago. */
function project(): { root: string; runs: () => number; touchSource: () => void } {
  const root = tempDir('synth-test-');
  writeFileSync(path.join(root, 'cdk.json'), JSON.stringify({ app: 'node app.js', context: { fromCdkJson: 1 } }));
  writeFileSync(path.join(root, 'app.js'), APP);
  mkdirSync(path.join(root, 'src'));
  writeFileSync(path.join(root, 'src', 'stack.ts'), '// v1');
  const past = new Date(Date.now() - 3600_000);
  utimesSync(path.join(root, 'src', 'stack.ts'), past, past);
  utimesSync(path.join(root, 'src'), past, past);
  utimesSync(path.join(root, 'cdk.json'), past, past);
  return {
    root,
    runs: () => (existsSync(path.join(root, 'runs.txt')) ? readFileSync(path.join(root, 'runs.txt'), 'utf8').length : 0),
    touchSource: () => {
      const later = new Date(Date.now() + 60_000);
      writeFileSync(path.join(root, 'src', 'stack.ts'), '// v2');
      utimesSync(path.join(root, 'src', 'stack.ts'), later, later);
    },
  };
}

const SOURCES = ['src', 'cdk.json'];

test('synthesizes when the assembly is missing, reuses it while up to date, and again when a source changes', async () => {
  // GIVEN
  const p = project();
  const opts = { root: p.root, sources: SOURCES };
  // WHEN / THEN
  expect(assemblyState(opts)).toBe('missing');
  expect(await synthesize(opts)).toEqual({ outdir: path.join(p.root, 'cdk.out'), synthesized: true, reason: 'missing' });
  expect(await synthesize(opts)).toMatchObject({ synthesized: false, reason: 'up to date' });
  expect(p.runs()).toBe(1);
  p.touchSource();
  expect(await synthesize(opts)).toMatchObject({ synthesized: true, reason: 'stale' });
  expect(p.runs()).toBe(2);
  expect(await synthesize({ ...opts, force: true })).toMatchObject({ synthesized: true, reason: 'forced' });
  expect(p.runs()).toBe(3);
});

test("reuses an assembly from a cdk synth the user ran (a manifest newer than the inputs, without this module's stamp)", async () => {
  const p = project();
  mkdirSync(path.join(p.root, 'cdk.out'));
  writeFileSync(path.join(p.root, 'cdk.out', 'manifest.json'), '{"artifacts":{}}');
  expect(await synthesize({ root: p.root, sources: SOURCES })).toMatchObject({ synthesized: false, reason: 'up to date' });
  expect(p.runs()).toBe(0);
});

test("passes cdk.json's context, asset metadata, and no bundling when asked", async () => {
  const p = project();
  await synthesize({ root: p.root, sources: SOURCES, bundling: false });
  const context = JSON.parse(readFileSync(path.join(p.root, 'cdk.out', 'context.json'), 'utf8'));
  expect(context).toMatchObject({ fromCdkJson: 1, 'aws:cdk:enable-asset-metadata': true, 'aws:cdk:bundling-stacks': [] });
});

test("a failing app is an error with the app's last output, and leaves the assembly stale", async () => {
  const p = project();
  await expect(synthesize({ root: p.root, sources: SOURCES, env: { FAIL_SYNTH: '1' } })).rejects.toThrow(
    /exit 3[\s\S]*boom: the app failed/,
  );
  expect(assemblyState({ root: p.root, sources: SOURCES })).toBe('missing');
  expect(existsSync(path.join(p.root, 'cdk.out.lock'))).toBe(false);
});

test('a lock left by a process that died is taken over; concurrent callers share one synth', async () => {
  // GIVEN a lock whose owner has exited (a synth killed midway)
  const p = project();
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
  writeFileSync(path.join(p.root, 'cdk.out.lock'), dead);
  // WHEN two callers ask at once
  const [a, b] = await Promise.all([synthesize({ root: p.root, sources: SOURCES }), synthesize({ root: p.root, sources: SOURCES })]);
  // THEN the app ran once, and the other caller reused its result
  expect(p.runs()).toBe(1);
  expect([a.synthesized, b.synthesized].sort()).toEqual([false, true]);
  expect([a, b].find((r) => !r.synthesized)?.reason).toBe('synthesized by another process');
});

test('withLock releases the lock when the work throws', async () => {
  const lock = path.join(tempDir(), 'x.lock');
  await expect(withLock(lock, async () => Promise.reject(new Error('no')))).rejects.toThrow('no');
  expect(existsSync(lock)).toBe(false);
});
