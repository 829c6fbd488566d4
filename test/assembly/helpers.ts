/** Builds cloud assemblies on disk for the assembly tests, and removes them afterwards. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface StackSpec {
  readonly id: string;
  readonly template: object;
  readonly stackName?: string;
  readonly displayName?: string;
  /** `aws://ACCOUNT/REGION`. @default 'aws://unknown-account/unknown-region' */
  readonly environment?: string;
  readonly dependencies?: string[];
}

const dirs: string[] = [];

/** The folders `cleanUp()` removes; pass it as a template reader's `inlineCodeDirs` so the folders of inline code go too. */
export const tempDirs: string[] = dirs;

/** A temporary folder removed by `cleanUp()`. */
export function tempDir(prefix = 'assembly-test-'): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

/** Writes manifest.json and one template per stack, as `cdk synth` lays them out (asset artifacts included). */
export function writeAssembly(stacks: readonly StackSpec[], dir = tempDir()): string {
  const artifacts: Record<string, object> = {};
  for (const s of stacks) {
    artifacts[`${s.id}.assets`] = { type: 'cdk:asset-manifest', properties: { file: `${s.id}.assets.json` } };
    artifacts[s.id] = {
      type: 'aws:cloudformation:stack',
      environment: s.environment ?? 'aws://unknown-account/unknown-region',
      properties: { templateFile: `${s.id}.template.json`, ...(s.stackName ? { stackName: s.stackName } : {}) },
      dependencies: [`${s.id}.assets`, ...(s.dependencies ?? [])],
      ...(s.displayName ? { displayName: s.displayName } : {}),
    };
    writeFileSync(path.join(dir, `${s.id}.template.json`), JSON.stringify(s.template));
  }
  writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify({ version: '55.0.0', artifacts }));
  return dir;
}

export function cleanUp(): void {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}
