/**
 * A function whose code is inline in its template (`Code.ZipFile`) runs from a folder the template
 * reader writes; the runtime removes every such folder, from its start and from each reload,
 * when it stops, so a day of restarts leaves nothing behind in the temporary folder.
 */
import { existsSync, rmSync } from 'node:fs';
import { startLocalRuntime } from '../../runtime';
import { loadTopology } from '../../runtime/template';
import { cleanUp, writeAssembly } from './helpers';

afterAll(cleanUp);

const FUNCTION = 'inline-code-fn';
const stack = (version: number) => ({
  id: 'Inline',
  template: {
    Resources: {
      Fn: {
        Type: 'AWS::Lambda::Function',
        Properties: {
          FunctionName: FUNCTION,
          Handler: 'index.handler',
          Runtime: 'nodejs22.x',
          // The folder the function runs from, and which code it is.
          Code: { ZipFile: `exports.handler = async () => ({ root: process.env.LAMBDA_TASK_ROOT, version: ${version} });` },
        },
      },
    },
  },
});

test('the folders of inline code, from the start and from a reload, are gone once the runtime has stopped', async () => {
  // GIVEN a runtime serving an inline function, then reloaded with new inline code
  const rt = await startLocalRuntime({ assemblyDir: writeAssembly([stack(1)]), port: 0, log: () => undefined, prewarm: false });
  let roots: string[];
  try {
    const invoke = async () => {
      const r = await fetch(`${rt.endpoint}/2015-03-31/functions/${FUNCTION}/invocations`, { method: 'POST', body: '{}' });
      return (await r.json()) as { root: string; version: number };
    };
    const first = await invoke();
    await rt.reload(writeAssembly([stack(2)]));
    const second = await invoke();
    expect([first.version, second.version]).toEqual([1, 2]);
    roots = [first.root, second.root];
    expect(new Set(roots).size).toBe(2);
    for (const root of roots) expect(existsSync(root)).toBe(true);
  } finally {
    // WHEN
    await rt.close();
  }

  // THEN
  for (const root of roots) expect(existsSync(root)).toBe(false);
});

test('a reader given a list records each folder it writes, for its caller to remove', () => {
  const inlineCodeDirs: string[] = [];
  const topo = loadTopology(writeAssembly([stack(1)]), {
    region: 'us-east-1',
    accountId: '000000000000',
    endpoint: 'http://127.0.0.1:1',
    inlineCodeDirs,
  });
  try {
    expect(inlineCodeDirs).toEqual([topo.functions[0]?.codeDir]);
  } finally {
    for (const dir of inlineCodeDirs) rmSync(dir, { recursive: true, force: true });
  }
});
