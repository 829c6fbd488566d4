/**
 * Regenerates the README's architecture diagram from a fresh synthesis of bin/app.ts:
 * `npx tsx scripts/update-readme-diagram.ts` (or `--check` to fail when it is out of date).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderMermaid } from '../cli/mermaid';
import { extractDiagram, readmeDiagramBlock, replaceDiagram } from '../cli/readme';
import { PROJECT_ROOT, synthStacks } from '../assembly';
import { appPrefix } from '../cli/app-names';
import { parseStacks } from '../cli/topology';

async function main(): Promise<number> {
  const check = process.argv.includes('--check');
  const readmePath = join(PROJECT_ROOT, 'README.md');
  const readme = readFileSync(readmePath, 'utf8');
  // Every stack bin/app.ts defines (the router and one per consumer): the README shows the whole example app.
  const stacks = await synthStacks();
  const block = readmeDiagramBlock(renderMermaid(parseStacks(stacks), { stack: appPrefix(stacks.map((s) => s.stackName)) }));
  if (extractDiagram(readme) === block) {
    process.stdout.write('README diagram is up to date\n');
    return 0;
  }
  if (check) {
    process.stderr.write('README diagram is out of date: regenerate it with npm run diagram\n');
    return 1;
  }
  writeFileSync(readmePath, replaceDiagram(readme, block));
  process.stdout.write('README diagram updated\n');
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`${(err as Error)?.message ?? String(err)}\n`);
    process.exitCode = 1;
  },
);
