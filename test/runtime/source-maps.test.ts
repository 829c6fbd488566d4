/**
 * Stack traces of a bundled handler, as Lambda's Node.js gives them: mapped to the sources named
 * in the bundle's source map when the function's NODE_OPTIONS has `--enable-source-maps` (what
 * BufferedConsumer sets), left pointing into the bundle when it has not. The map is read when a
 * trace first needs it, so a broken or missing one leaves the trace unmapped and nothing else.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { buildSync } from 'esbuild';
import { LambdaFunction } from '../../runtime/lambda';
import { RuntimeLog } from '../../runtime/log';

// The line numbers the traces must name: the throw is on line 3 of fail.ts, the call on line 4 of handler.ts.
const FAIL_TS = [
  '// A helper in its own source file.',
  'export function fail(reason: string): never {',
  '  throw new RangeError(`refused: ${reason}`);',
  '}',
  '',
];
const HANDLER_TS = [
  'import { fail } from "./fail";',
  '',
  'export const handler = async (event: { reason: string }) => {',
  '  fail(event.reason);',
  '};',
  '',
];

let dir: string;
const opened: LambdaFunction[] = [];

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'source-maps-'));
  writeFileSync(path.join(dir, 'fail.ts'), FAIL_TS.join('\n'));
  writeFileSync(path.join(dir, 'handler.ts'), HANDLER_TS.join('\n'));
  // Minified, as BufferedConsumer bundles: without the map, no line of the trace says where.
  buildSync({
    entryPoints: [path.join(dir, 'handler.ts')],
    outfile: path.join(dir, 'out', 'index.js'),
    bundle: true,
    minify: true,
    sourcemap: true,
    platform: 'node',
    format: 'cjs',
    logLevel: 'silent',
  });
});

afterAll(async () => {
  await Promise.all(opened.map((f) => f.close()));
  rmSync(dir, { recursive: true, force: true });
});

function fn(codeDir: string, environment: Record<string, string>): LambdaFunction {
  const f = new LambdaFunction(
    { name: `maps-${opened.length}`, logicalId: 'Maps', codeDir, handler: 'index.handler', environment, timeoutSeconds: 10, memoryMb: 128 },
    { region: 'us-east-1', accountId: '000000000000', endpoint: 'http://127.0.0.1:1' },
    new RuntimeLog(() => undefined, true),
    1,
  );
  opened.push(f);
  return f;
}

async function trace(f: LambdaFunction): Promise<string[]> {
  const r = await f.invoke(JSON.stringify({ reason: 'too late' }));
  if (r.ok) throw new Error('the handler was expected to throw');
  expect(r.error).toMatchObject({ errorType: 'RangeError', errorMessage: 'refused: too late' });
  return r.error.trace ?? [];
}

test('with NODE_OPTIONS=--enable-source-maps, the trace names each TypeScript source, line and column', async () => {
  const lines = await trace(fn(path.join(dir, 'out'), { NODE_OPTIONS: '--enable-source-maps' }));
  expect(lines[0]).toBe('RangeError: refused: too late');
  expect(lines[1]).toMatch(new RegExp(`^    at \\S+ \\(${escape(path.join(dir, 'fail.ts'))}:3:9\\)$`));
  expect(lines[2]).toMatch(new RegExp(`^    at \\S+ \\(${escape(path.join(dir, 'handler.ts'))}:4:3\\)$`));
});

test('among other options, --enable-source-maps still maps, and the handler sees its NODE_OPTIONS whole', async () => {
  const nodeOptions = '--no-deprecation --enable-source-maps --no-warnings';
  const mapped = await trace(fn(path.join(dir, 'out'), { NODE_OPTIONS: nodeOptions }));
  expect(mapped[1]).toContain(`${path.join(dir, 'fail.ts')}:3:9`);
  const codeDir = mkdtempSync(path.join(dir, 'env-'));
  writeFileSync(path.join(codeDir, 'index.js'), 'exports.handler = async () => process.env.NODE_OPTIONS;\n');
  expect(await fn(codeDir, { NODE_OPTIONS: nodeOptions }).invoke('{}')).toMatchObject({ ok: true, payload: JSON.stringify(nodeOptions) });
});

test('other options alone do not map', async () => {
  const lines = await trace(fn(path.join(dir, 'out'), { NODE_OPTIONS: '--no-deprecation' }));
  expect(lines[1]).toContain(path.join(dir, 'out', 'index.js'));
});

test('without it, as on Lambda, the trace points into the bundle', async () => {
  const lines = await trace(fn(path.join(dir, 'out'), {}));
  expect(lines[1]).toMatch(new RegExp(`\\(${escape(path.join(dir, 'out', 'index.js'))}:\\d+:\\d+\\)$`));
  expect(lines.join('\n')).not.toContain('.ts:');
});

test.each([
  ['is not JSON', '{ not json'],
  ['maps to a source it does not list', JSON.stringify({ version: 3, sources: [], names: [], mappings: 'AAAA' })],
  ['is JSON but not a map', '[1, 2, 3]'],
])('a map that %s leaves the trace pointing into the bundle, and the function still answers', async (_name, map) => {
  const codeDir = mkdtempSync(path.join(dir, 'broken-'));
  writeFileSync(
    path.join(codeDir, 'index.js'),
    'exports.handler = async () => { throw new RangeError("refused: too late"); };\n//# sourceMappingURL=index.js.map\n',
  );
  writeFileSync(path.join(codeDir, 'index.js.map'), map);
  const f = fn(codeDir, { NODE_OPTIONS: '--enable-source-maps' });
  const lines = await trace(f);
  expect(lines[1]).toContain(path.join(codeDir, 'index.js'));
  // The same environment serves the next invocation the same way.
  expect((await trace(f))[1]).toContain(path.join(codeDir, 'index.js'));
});

test('a map comment naming a file that does not exist leaves the trace unmapped', async () => {
  const codeDir = mkdtempSync(path.join(dir, 'missing-'));
  writeFileSync(
    path.join(codeDir, 'index.js'),
    'exports.handler = async () => { throw new RangeError("refused: too late"); };\n//# sourceMappingURL=../../../nowhere.map\n',
  );
  const lines = await trace(fn(codeDir, { NODE_OPTIONS: '--enable-source-maps' }));
  expect(lines[1]).toContain(path.join(codeDir, 'index.js'));
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
