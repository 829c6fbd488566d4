/**
 * @cloud-copilot/iam-simulate is AGPL-3.0: a devDependency for these tests only. Nothing that
 * ships may import it.
 */
import * as fs from 'fs';
import * as path from 'path';

const ROOT = path.join(__dirname, '..', '..');
/** Every compiled folder except the ones that never ship, so a new top-level module is covered as soon as it compiles. */
const NOT_SHIPPED = new Set(['test', 'bench', 'scripts']);
const tsconfig = JSON.parse(fs.readFileSync(path.join(ROOT, 'tsconfig.json'), 'utf8')) as { include: string[] };
const SHIPPED = tsconfig.include.filter((d) => !NOT_SHIPPED.has(d));

function sourceFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' ? [] : sourceFiles(p);
    return /\.(c|m)?[jt]s$/.test(e.name) ? [p] : [];
  });
}

test('no shipped source imports the AGPL policy simulator', () => {
  // GIVEN
  const files = SHIPPED.flatMap((d) => sourceFiles(path.join(ROOT, d)));
  // WHEN
  const offenders = files.filter((f) => fs.readFileSync(f, 'utf8').includes('@cloud-copilot/iam-simulate'));
  // THEN
  expect(SHIPPED).toEqual(expect.arrayContaining(['lib', 'sdk', 'runtime', 'cli', 'iam']));
  expect(files.length).toBeGreaterThan(0);
  expect(offenders.map((f) => path.relative(ROOT, f))).toEqual([]);
});

test('the simulator is a devDependency, not a dependency', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as Record<string, Record<string, string> | undefined>;
  expect(pkg.dependencies?.['@cloud-copilot/iam-simulate']).toBeUndefined();
  expect(pkg.devDependencies?.['@cloud-copilot/iam-simulate']).toBeDefined();
});
