/**
 * `npm run bench`: runs every bench/*.bench.ts in its own Node.js process, one after
 * the other, so that one benchmark's heap and JIT state do not colour the next.
 * `npm run bench -- engine` runs only the files whose name contains "engine".
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import * as path from 'node:path';
import { load, machine } from './measure';

const filters = process.argv.slice(2);
const files = readdirSync(__dirname)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();
console.log(`Machine: ${machine()}; ${load()}`);
let failed = 0;
for (const file of files) {
  console.log(`\n=== ${file}`);
  const run = spawnSync(process.execPath, ['--import', 'tsx', path.join(__dirname, file)], { stdio: 'inherit' });
  if (run.status !== 0) failed++;
}
process.exit(failed === 0 ? 0 : 1);
