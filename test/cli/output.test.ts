import { Readable } from 'node:stream';
import type { CliIO } from '../../cli/io';
import { Output } from '../../cli/output';

function io(env: Record<string, string>, tty: boolean): { io: CliIO; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return {
    io: {
      stdout: { write: (s: string) => (out += s), isTTY: tty },
      stderr: { write: (s: string) => (err += s), isTTY: tty },
      stdin: Readable.from([]),
      env,
      cwd: process.cwd(),
      onInterrupt: () => () => undefined,
    },
    out: () => out,
    err: () => err,
  };
}

describe('Output', () => {
  test('colours on a terminal', () => {
    const t = io({}, true);
    new Output(t.io, { json: false, color: true }).line(new Output(t.io, { json: false, color: true }).style('red', 'x'));
    expect(t.out()).toBe('\u001b[31mx\u001b[39m\n');
  });

  test.each([
    ['NO_COLOR is set', { NO_COLOR: '1' }, true, true],
    ['--no-color is given', {}, true, false],
    ['stdout is not a terminal', {}, false, true],
  ])('no colour when %s', (_, env, tty, color) => {
    const t = io(env, tty);
    const o = new Output(t.io, { json: false, color });
    o.line(o.style('red', 'x'));
    expect(t.out()).toBe('x\n');
  });

  test('progress redraws one line on a terminal', () => {
    const t = io({ NO_COLOR: '1' }, true);
    const p = new Output(t.io, { json: false, color: false }).progress('redrive', 4);
    p.update(1);
    p.update(4);
    p.finish();
    expect(t.err()).toContain('\rredrive [########----------------------]  25% 1/4');
    expect(t.err().endsWith('100% 4/4\u001b[K\n')).toBe(true);
  });

  test('progress prints a line per tenth of the work elsewhere, and nothing with --quiet', () => {
    const t = io({}, false);
    const p = new Output(t.io, { json: false, color: true }).progress('publish', 100);
    for (let i = 1; i <= 100; i++) p.update(i);
    p.finish();
    const lines = t.err().trim().split('\n');
    // The first update, then one per tenth: 0%, 10%, ..., 100%.
    expect(lines).toHaveLength(11);
    expect(lines[10]).toBe('publish [##############################] 100% 100/100');
    const q = io({}, false);
    const quiet = new Output(q.io, { json: false, color: true, quiet: true }).progress('publish', 100);
    quiet.update(50);
    quiet.finish('done');
    expect(q.err()).toBe('');
  });

  test('JSON mode writes data and no text lines', () => {
    const t = io({}, false);
    const o = new Output(t.io, { json: true, color: false });
    o.line('text');
    o.data({ a: 1 });
    expect(JSON.parse(t.out())).toEqual({ a: 1 });
  });
});
