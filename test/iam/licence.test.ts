/**
 * @cloud-copilot/iam-simulate and the policy parser it is built on, @cloud-copilot/iam-policy, are
 * AGPL-3.0: devDependencies for these tests only. Nothing that ships may import them.
 */
import * as fs from 'fs';
import * as path from 'path';

const ROOT = path.join(__dirname, '..', '..');
/** Every compiled folder except the ones that never ship, so a new top-level module is covered as soon as it compiles. */
const NOT_SHIPPED = new Set(['test', 'bench', 'scripts']);
const tsconfig = JSON.parse(fs.readFileSync(path.join(ROOT, 'tsconfig.json'), 'utf8')) as { include: string[] };
const SHIPPED = tsconfig.include.filter((d) => !NOT_SHIPPED.has(d));
const AGPL_PACKAGES = ['@cloud-copilot/iam-simulate', '@cloud-copilot/iam-policy'];

function sourceFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' ? [] : sourceFiles(p);
    return /\.(c|m)?[jt]s$/.test(e.name) ? [p] : [];
  });
}

test('no shipped source imports the AGPL policy simulator or its parser', () => {
  // GIVEN
  const files = SHIPPED.flatMap((d) => sourceFiles(path.join(ROOT, d)));
  // WHEN
  const offenders = files.filter((f) => {
    const source = fs.readFileSync(f, 'utf8');
    return AGPL_PACKAGES.some((name) => source.includes(name));
  });
  // THEN
  expect(SHIPPED).toEqual(expect.arrayContaining(['lib', 'sdk', 'runtime', 'cli', 'iam']));
  expect(files.length).toBeGreaterThan(0);
  expect(offenders.map((f) => path.relative(ROOT, f))).toEqual([]);
});

test.each(AGPL_PACKAGES)('%s is a devDependency, not a dependency', (name) => {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as Record<string, Record<string, string> | undefined>;
  expect(pkg.dependencies?.[name]).toBeUndefined();
  expect(pkg.devDependencies?.[name]).toBeDefined();
});
