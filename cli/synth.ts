/**
 * Synthesizes the CDK app into a temporary directory and returns the stack's template. Asset
 * bundling is skipped (`aws:cdk:bundling-stacks` = []), because only the topology is needed and
 * bundling three functions with esbuild costs more than the rest of the synth.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommandFailedError } from './errors';
import { templatePath } from './topology';

/** The project root: where cdk.json and bin/app.ts live. */
export const PROJECT_ROOT = join(__dirname, '..');

/** Runs bin/app.ts the way `cdk synth` does (CDK_OUTDIR, CDK_CONTEXT_JSON from cdk.json) and returns the parsed template. */
export async function synthTemplate(options: {
  stack: string;
  root?: string;
  env?: Readonly<Record<string, string | undefined>>;
}): Promise<unknown> {
  const root = options.root ?? PROJECT_ROOT;
  const cdkJson = JSON.parse(readFileSync(join(root, 'cdk.json'), 'utf8')) as { context?: Record<string, unknown> };
  const outdir = mkdtempSync(join(tmpdir(), 'loan-events-synth-'));
  try {
    const context = { ...(cdkJson.context ?? {}), 'aws:cdk:bundling-stacks': [] };
    const tsx = join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs');
    if (!existsSync(tsx)) throw new CommandFailedError(`cannot synthesize: ${tsx} is missing (run npm ci)`);
    const stderr: Buffer[] = [];
    const code = await new Promise<number | null>((resolvePromise, reject) => {
      const child = spawn(process.execPath, [tsx, join(root, 'bin', 'app.ts')], {
        cwd: root,
        env: { ...process.env, ...(options.env ?? {}), CDK_OUTDIR: outdir, CDK_CONTEXT_JSON: JSON.stringify(context) },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      child.stderr.on('data', (c: Buffer) => stderr.push(c));
      child.on('error', reject);
      child.on('close', resolvePromise);
    });
    const path = templatePath({ assembly: outdir, stack: options.stack, cwd: root });
    if (code !== 0 || !existsSync(path)) {
      const tail = Buffer.concat(stderr).toString('utf8').split('\n').slice(-15).join('\n');
      throw new CommandFailedError(`synthesis of bin/app.ts failed (exit ${code}); no template for stack '${options.stack}'\n${tail}`);
    }
    return JSON.parse(readFileSync(path, 'utf8'));
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}
