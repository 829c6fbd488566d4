/** A raw HTTP client for tests that must send what SDKs never send: any header, any body, any method. */
import * as http from 'node:http';

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface RawRequest {
  method?: string;
  path?: string;
  headers?: Record<string, string | number>;
  body?: string | Buffer;
  /** Socket timeout; the request fails rather than hang. @default 10000 */
  timeoutMs?: number;
}

/** Sends one request on a fresh connection and reads the whole answer. */
export function raw(endpoint: string, r: RawRequest = {}): Promise<RawResponse> {
  const url = new URL(endpoint);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: url.hostname.replace(/^\[|\]$/g, ''),
        port: url.port,
        method: r.method ?? 'POST',
        path: r.path ?? '/',
        headers: r.headers,
        agent: false,
        timeout: r.timeoutMs ?? 10000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${r.timeoutMs ?? 10000} ms`)));
    req.on('error', reject);
    req.end(r.body);
  });
}

/** An AWS JSON request (`X-Amz-Target`), as the SDKs send it. */
export function awsJson(endpoint: string, target: string, body: unknown, headers: Record<string, string> = {}): Promise<RawResponse> {
  const version = target.startsWith('AWSEvents.') ? '1.1' : '1.0';
  return raw(endpoint, {
    headers: { 'Content-Type': `application/x-amz-json-${version}`, 'X-Amz-Target': target, ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

/** A query-protocol request (form-encoded POST), as the AWS CLI v1 sends SQS calls. */
export function query(endpoint: string, params: Record<string, string>, headers: Record<string, string> = {}): Promise<RawResponse> {
  return raw(endpoint, {
    headers: { 'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8', ...headers },
    body: new URLSearchParams(params).toString(),
  });
}

/** A DynamoDB request with the headers dynalite requires (any signature is accepted locally). */
export function dynamo(endpoint: string, action: string, body: unknown): Promise<RawResponse> {
  return raw(endpoint, {
    headers: {
      'Content-Type': 'application/x-amz-json-1.0',
      'X-Amz-Target': `DynamoDB_20120810.${action}`,
      'X-Amz-Date': '20260101T000000Z',
      Authorization: 'AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0',
    },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}
