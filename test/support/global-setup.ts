/**
 * Jest's global setup: on a tree whose cdk.out is missing or stale (a fresh clone, as in CI),
 * starts the one synthesis of the example app at once, in the background, instead of when the
 * first suite that needs it asks. The suites that read cdk.out wait for it through the synth lock
 * (assembly/synth.ts) and run last (test/support/sequencer.js), so the other suites use both cores
 * meanwhile instead of two workers waiting on one synth. Only for a whole run: a run of chosen
 * files synthesizes when one of them asks, as before.
 *
 * A whole run also starts the one AWS CLI server its files share (test/runtime/aws-cli.ts), so
 * Python imports awscli once per run instead of once per file that runs the CLI.
 */
import { mkdirSync, mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import * as path from 'node:path';
import type { Config } from '@jest/types';
import { assemblyState, synthesize } from '../../assembly';
import { startSharedAwsCli } from '../runtime/aws-cli';

declare global {
  var runTmpDir: string | undefined;
  var backgroundSynth: Promise<unknown> | undefined;
  var sharedAwsCli: { close(): Promise<void> } | undefined;
}

export default function globalSetup(config: Config.GlobalConfig): void {
  // One temporary folder per run, removed by the teardown: what the files, their child processes
  // and the CDK (an App without outdir synthesizes into a new folder under it) leave in it goes too,
  // even when a test fails before its own cleanup. The workers start after this and inherit TMPDIR.
  const systemTmp = tmpdir();
  globalThis.runTmpDir = mkdtempSync(path.join(systemTmp, 'loan-events-test-'));
  // Except tsx's cache of compiled TypeScript (the runtimes, CLIs and synths the suites start run
  // through tsx): it stays where tsx keeps it between runs, so a run does not compile the project again.
  const tsxCache = `tsx-${userInfo().uid}`;
  mkdirSync(path.join(systemTmp, tsxCache), { recursive: true });
  symlinkSync(path.join(systemTmp, tsxCache), path.join(globalThis.runTmpDir, tsxCache));
  process.env.TMPDIR = globalThis.runTmpDir;
  const wholeRun = config.testPathPatterns.patterns.length === 0 && !config.onlyChanged && !config.findRelatedTests;
  if (!wholeRun) return;
  globalThis.sharedAwsCli = startSharedAwsCli();
  if (assemblyState() === 'up to date') return;
  // A failure here is not reported: the suites that need cdk.out synthesize again and report it.
  globalThis.backgroundSynth = synthesize().catch(() => undefined);
}
