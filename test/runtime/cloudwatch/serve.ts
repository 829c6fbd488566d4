/**
 * A minimal JSON-protocol HTTP front for a handler function, so tests can drive the handlers
 * with the real SDK v3 clients (their serializers and deserializers) before the runtime's HTTP
 * edge routes to them.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AwsError } from '../../../runtime/errors';
import '../../support/sdk-warning';

export interface Served {
  readonly endpoint: string;
  close(): Promise<void>;
}

export async function serveJson(
  handle: (operation: string, input: unknown) => unknown,
  contentType = 'application/x-amz-json-1.1',
): Promise<Served> {
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const target = String(req.headers['x-amz-target'] ?? '');
      const operation = target.slice(target.indexOf('.') + 1);
      try {
        const body = chunks.length ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown) : {};
        const out = handle(operation, body);
        res.writeHead(200, { 'content-type': contentType });
        res.end(JSON.stringify(out));
      } catch (e) {
        const err = e instanceof AwsError ? e : new AwsError('InternalFailure', String(e), 500);
        res.writeHead(err.status, { 'content-type': contentType, 'x-amzn-errortype': err.code });
        res.end(JSON.stringify({ __type: err.code, message: err.message }));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export const LOCAL_CLIENT = { region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } };
