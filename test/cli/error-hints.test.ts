/** CLI errors say what to do: no runtime at the address, no region, a directory for a file. */
import { hintFor } from '../../cli/errors';
import { runCli } from './helpers';

describe('error hints', () => {
  test('connection refused names the address and how to start a runtime', async () => {
    // Port 1 on the loopback: nothing listens there.
    const r = await runCli(['--endpoint-url', 'http://127.0.0.1:1', '--bus', 'b', '--stack', 'S', 'dlq', 'list'], {});
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("hint: no runtime answers at http://127.0.0.1:1: start one with 'npm start'");
  }, 60_000);

  test('no region and no endpoint suggests AWS_ENDPOINT_URL or --endpoint-url', async () => {
    const r = await runCli(['--bus', 'b', '--stack', 'S', 'dlq', 'list'], { env: { AWS_ACCESS_KEY_ID: 'a', AWS_SECRET_ACCESS_KEY: 'b' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      'hint: no region: for the local runtime set AWS_ENDPOINT_URL=http://127.0.0.1:4566 (or pass --endpoint-url)',
    );
  }, 60_000);

  test('errors without advice get no hint', () => {
    expect(hintFor(new Error('AccessDenied'), {})).toBeUndefined();
  });

  test('a directory passed as an event file is a usage error', async () => {
    const r = await runCli(['publish', '--file', '.'], { env: { AWS_ENDPOINT_URL: 'http://127.0.0.1:1' } });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("'.' is a directory");
  });
});
