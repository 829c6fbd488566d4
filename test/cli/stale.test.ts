/** `pattern rules` and `diagram` say when the assembly they read is older than the app's sources. */
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { staleAssemblyWarning } from '../../cli/stale';

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'stale-'));
  mkdirSync(join(root, 'catalog'));
  mkdirSync(join(root, 'cdk.out'));
  writeFileSync(join(root, 'cdk.out', 'manifest.json'), '{}');
  writeFileSync(join(root, 'catalog', 'loans.ts'), '');
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const at = (file: string, seconds: number) => utimesSync(join(root, file), seconds, seconds);

test('warns when a source is newer than the assembly', () => {
  at('cdk.out/manifest.json', 1_000_000);
  at('catalog/loans.ts', 2_000_000);
  expect(staleAssemblyWarning(root, 'cdk.out', root)).toContain("cdk.out is older than the app's sources");
});

test('says nothing when the assembly is newer, or lies outside the project', () => {
  at('catalog/loans.ts', 1_000_000);
  at('catalog', 1_000_000);
  at('cdk.out/manifest.json', 2_000_000);
  expect(staleAssemblyWarning(root, 'cdk.out', root)).toBeUndefined();
  at('cdk.out/manifest.json', 1);
  expect(staleAssemblyWarning(tmpdir(), 'elsewhere', root)).toBeUndefined();
});
