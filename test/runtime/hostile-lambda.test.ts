/**
 * What a handler can do to the runtime that runs it. A function runs in a worker thread of
 * the runtime's process; whatever the handler returns, throws or calls, only its own
 * invocation may fail.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { LambdaFunction } from '../../runtime/lambda';
import { RuntimeLog } from '../../runtime/log';

// The handler does what the event says; each case is one thing hostile or careless code does.
const HANDLER = `
exports.handler = async (event) => {
  switch (event.do) {
    case 'echo': return { ok: true, n: event.n };
    case 'bytes': return 'x'.repeat(event.n);
    case 'wide': return Array.from({ length: event.n }, (_, i) => ({ i }));
    case 'cycle': { const o = { big: 'x'.repeat(event.n), list: [] }; o.self = o; o.list.push(o, { back: o }); return o; }
    case 'shared': { const leaf = { s: 'y'.repeat(event.n) }; return Array(event.count).fill(leaf); }
    case 'exit': process.exit(event.n);
    case 'kill': process.kill(process.pid, event.signal);
    case 'killGroup': process.kill(0);
    case 'abort': process.abort();
    case 'heap': { const keep = []; for (;;) keep.push(new Array(1e6).fill(Math.random())); }
  }
  throw new Error('unknown ' + event.do);
};
`;

let dir: string;
let fn: LambdaFunction;
const lines: string[] = [];

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'hostile-fn-'));
  writeFileSync(path.join(dir, 'index.js'), HANDLER);
  fn = new LambdaFunction(
    { name: 'hostile', logicalId: 'Hostile', codeDir: dir, handler: 'index.handler', environment: {}, timeoutSeconds: 20, memoryMb: 128 },
    { region: 'us-east-1', accountId: '000000000000', endpoint: 'http://127.0.0.1:1' },
    new RuntimeLog((l) => lines.push(l), true),
    1,
  );
});
afterAll(async () => {
  await fn.close();
  rmSync(dir, { recursive: true, force: true });
});

const invoke = (event: object) => fn.invoke(JSON.stringify(event));

/** The function still serves a normal invocation afterwards (a fresh environment if needed). */
async function stillServes(): Promise<void> {
  const r = await invoke({ do: 'echo', n: 7 });
  expect(r).toMatchObject({ ok: true, payload: '{"ok":true,"n":7}' });
}

describe('response size', () => {
  test('a result of exactly 6,291,556 bytes of JSON is returned', async () => {
    const r = await invoke({ do: 'bytes', n: 6291556 - 2 });
    expect(r.ok).toBe(true);
  });

  test.each([
    ['a 7 MB string', { do: 'bytes', n: 7 * 1024 * 1024 }],
    ['a string one byte over the limit', { do: 'bytes', n: 6291556 - 1 }],
    ['an array of 600,000 small objects', { do: 'wide', n: 600_000 }],
    ['a 200 MB string', { do: 'bytes', n: 200 * 1024 * 1024 }],
  ])('%s fails the invocation with Function.ResponseSizeTooLarge or as a worker death, never the runtime', async (_name, event) => {
    const r = await invoke(event);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(['Function.ResponseSizeTooLarge', 'Runtime.ExitError']).toContain(r.error.errorType);
    await stillServes();
  });

  test('a cyclic result fails with the TypeError JSON.stringify throws, even when walking its cycle would pass the limit', async () => {
    const r = await invoke({ do: 'cycle', n: 1024 * 1024 });
    expect(r).toMatchObject({ ok: false, error: { errorType: 'TypeError', errorMessage: expect.stringContaining('circular') } });
    await stillServes();
  });

  test('one small object returned many times counts as many times as JSON writes it', async () => {
    // 7 × 1 MiB of JSON from a single 1 MiB object: too large; 5 × is under the limit and returned whole.
    const over = await invoke({ do: 'shared', n: 1024 * 1024, count: 7 });
    expect(over).toMatchObject({ ok: false, error: { errorType: 'Function.ResponseSizeTooLarge' } });
    const under = await invoke({ do: 'shared', n: 1024 * 1024, count: 5 });
    expect(under.ok).toBe(true);
    if (under.ok) expect(JSON.parse(under.payload)).toHaveLength(5);
  });

  test('a 7 MB result is refused with the message Lambda gives', async () => {
    const r = await invoke({ do: 'bytes', n: 7 * 1024 * 1024 });
    expect(r).toMatchObject({
      ok: false,
      error: {
        errorType: 'Function.ResponseSizeTooLarge',
        errorMessage: 'Response payload size exceeded maximum allowed payload size (6291556 bytes).',
      },
    });
  });
});

describe('worker death', () => {
  test.each([
    ['process.exit(3)', { do: 'exit', n: 3 }, 'exit status 3'],
    ['process.kill(process.pid)', { do: 'kill' }, 'exit status 143'],
    ['process.kill(process.pid, "SIGKILL")', { do: 'kill', signal: 'SIGKILL' }, 'exit status 137'],
    ['process.kill(0) (the process group)', { do: 'killGroup' }, 'exit status 143'],
    ['process.abort()', { do: 'abort' }, 'exit status 134'],
  ])('%s ends only that invocation, with Runtime.ExitError', async (_name, event, status) => {
    const r = await invoke(event);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.errorType).toBe('Runtime.ExitError');
      expect(r.error.errorMessage).toContain(status);
    }
    await stillServes();
  });

  test('heap exhaustion ends only that invocation', async () => {
    const r = await invoke({ do: 'heap' });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.errorType).toBe('Runtime.ExitError');
    await stillServes();
  });
});
