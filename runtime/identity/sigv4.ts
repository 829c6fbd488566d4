/**
 * The parts of a Signature Version 4 request the runtime reads: the access key that names the
 * caller (`Credential=` of the Authorization header, or `X-Amz-Credential` of a presigned URL),
 * the session token, and, when signatures are checked, the signature itself, recomputed from
 * the canonical request with the secret the runtime issued.
 * @see https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

export const SIGV4_ALGORITHM = 'AWS4-HMAC-SHA256';

/** Longest Authorization header read; a longer one is malformed, not parsed. */
export const MAX_AUTHORIZATION_LENGTH = 8192;

/** What a signed request says about its signer. */
export interface SignedRequest {
  readonly accessKeyId: string;
  /** `yyyymmdd` of the credential scope. */
  readonly date: string;
  readonly region: string;
  readonly service: string;
  readonly signedHeaders: readonly string[];
  readonly signature: string;
  readonly sessionToken: string | undefined;
  /** `X-Amz-Date` (or the `Date` header): the time the client signed at. */
  readonly amzDate: string | undefined;
  readonly presigned: boolean;
}

/** An unsigned request, a request signed some other way, or one whose signature parts do not parse. */
export type Signature = { kind: 'signed'; request: SignedRequest } | { kind: 'unsigned' } | { kind: 'malformed'; reason: string };

const KEY_ID = /^[\w.@+=-]{1,128}$/;
const SCOPE_DATE = /^\d{8}$/;
const SCOPE_PART = /^[a-z0-9-]{1,64}$/;
const SIGNATURE = /^[0-9a-f]{64}$/;
const HEADER_NAME = /^[a-z0-9!#$%&'*+.^_`|~-]{1,128}$/;

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

/** Splits `Credential=AKID/20260101/us-east-1/events/aws4_request` into its parts. */
function credentialScope(
  value: string,
): Omit<SignedRequest, 'signedHeaders' | 'signature' | 'sessionToken' | 'amzDate' | 'presigned'> | string {
  const parts = value.split('/');
  if (parts.length !== 5) return `Credential should be scoped to a valid region, not '${value.slice(0, 200)}'.`;
  const [accessKeyId, date, region, service, terminator] = parts as [string, string, string, string, string];
  if (!KEY_ID.test(accessKeyId)) return 'The access key in the Credential parameter is not a valid access key id.';
  if (!SCOPE_DATE.test(date) || !SCOPE_PART.test(region) || !SCOPE_PART.test(service) || terminator !== 'aws4_request') {
    return `Credential should be scoped to a valid region, not '${value.slice(0, 200)}'.`;
  }
  return { accessKeyId, date, region, service };
}

function signedHeaderList(value: string | undefined): string[] | string {
  if (!value) return "Authorization header requires 'SignedHeaders' parameter.";
  const list = value.split(';');
  if (list.length > 64 || list.some((h) => !HEADER_NAME.test(h))) return 'SignedHeaders must be a list of lower-case header names.';
  return list;
}

/** The signature a request carries, from its headers and its query string. */
export function readSignature(headers: IncomingHttpHeaders, query: URLSearchParams): Signature {
  const authorization = header(headers, 'authorization');
  if (authorization !== undefined) {
    if (authorization.length > MAX_AUTHORIZATION_LENGTH) return { kind: 'malformed', reason: 'The Authorization header is too long.' };
    const space = authorization.indexOf(' ');
    const algorithm = space < 0 ? authorization : authorization.slice(0, space);
    if (algorithm !== SIGV4_ALGORITHM) {
      return {
        kind: 'malformed',
        reason: `Unsupported Authorization Type '${algorithm.slice(0, 64)}'; only ${SIGV4_ALGORITHM} is accepted.`,
      };
    }
    const fields = new Map<string, string>();
    for (const part of authorization.slice(space + 1).split(',')) {
      const eq = part.indexOf('=');
      if (eq > 0) fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
    }
    const credential = fields.get('Credential');
    const signature = fields.get('Signature');
    const missing = [!credential && 'Credential', !fields.get('SignedHeaders') && 'SignedHeaders', !signature && 'Signature']
      .filter(Boolean)
      .map((p) => `Authorization header requires '${String(p)}' parameter.`);
    if (missing.length > 0) return { kind: 'malformed', reason: missing.join(' ') };
    const scope = credentialScope(credential as string);
    if (typeof scope === 'string') return { kind: 'malformed', reason: scope };
    const signedHeaders = signedHeaderList(fields.get('SignedHeaders'));
    if (typeof signedHeaders === 'string') return { kind: 'malformed', reason: signedHeaders };
    if (!SIGNATURE.test(signature as string)) return { kind: 'malformed', reason: 'The Signature must be 64 lower-case hex digits.' };
    return {
      kind: 'signed',
      request: {
        ...scope,
        signedHeaders,
        signature: signature as string,
        sessionToken: header(headers, 'x-amz-security-token'),
        amzDate: header(headers, 'x-amz-date') ?? header(headers, 'date'),
        presigned: false,
      },
    };
  }
  const credential = query.get('X-Amz-Credential');
  if (credential === null) return { kind: 'unsigned' };
  if (query.get('X-Amz-Algorithm') !== SIGV4_ALGORITHM) {
    return { kind: 'malformed', reason: `X-Amz-Algorithm must be ${SIGV4_ALGORITHM}.` };
  }
  const scope = credentialScope(credential);
  if (typeof scope === 'string') return { kind: 'malformed', reason: scope };
  const signedHeaders = signedHeaderList(query.get('X-Amz-SignedHeaders') ?? undefined);
  if (typeof signedHeaders === 'string') return { kind: 'malformed', reason: signedHeaders };
  const signature = query.get('X-Amz-Signature') ?? '';
  if (!SIGNATURE.test(signature)) return { kind: 'malformed', reason: 'X-Amz-Signature must be 64 lower-case hex digits.' };
  return {
    kind: 'signed',
    request: {
      ...scope,
      signedHeaders,
      signature,
      sessionToken: query.get('X-Amz-Security-Token') ?? undefined,
      amzDate: query.get('X-Amz-Date') ?? undefined,
      presigned: true,
    },
  };
}

/** RFC 3986 encoding as SigV4 wants it: everything but unreserved characters, upper-case hex. */
function escape(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** The path with `.` and `..` segments resolved, each segment encoded again (all services but S3). */
function canonicalPath(rawPath: string): string {
  const segments: string[] = [];
  for (const s of rawPath.split('/')) {
    if (s === '' || s === '.') continue;
    if (s === '..') segments.pop();
    else segments.push(s);
  }
  const path = `/${segments.join('/')}${segments.length > 0 && rawPath.endsWith('/') ? '/' : ''}`;
  return escape(path).replace(/%2F/g, '/');
}

function canonicalQuery(query: URLSearchParams): string {
  const pairs: [string, string][] = [];
  for (const [k, v] of query) if (k !== 'X-Amz-Signature') pairs.push([escape(k), escape(v)]);
  pairs.sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data, 'utf8').digest();

/** The signature a client holding `secret` computes for this request. */
export function expectedSignature(
  signed: SignedRequest,
  secret: string,
  req: { method: string; url: string; headers: IncomingHttpHeaders },
  body: Buffer,
): string {
  const url = new URL(req.url, 'http://localhost');
  const canonicalHeaders = signed.signedHeaders
    .map((name) => `${name}:${(header(req.headers, name) ?? '').trim().replace(/\s+/g, ' ')}\n`)
    .join('');
  const payloadHash = signed.presigned ? 'UNSIGNED-PAYLOAD' : (header(req.headers, 'x-amz-content-sha256') ?? sha256(body));
  // The raw path as the client sent it: the URL parser would re-encode it.
  const rawPath = req.url.split('?')[0] ?? '/';
  const canonicalRequest = [
    req.method,
    canonicalPath(rawPath.startsWith('/') ? rawPath : url.pathname),
    canonicalQuery(url.searchParams),
    canonicalHeaders,
    signed.signedHeaders.join(';'),
    payloadHash,
  ].join('\n');
  const scope = `${signed.date}/${signed.region}/${signed.service}/aws4_request`;
  const stringToSign = [SIGV4_ALGORITHM, signed.amzDate ?? '', scope, sha256(canonicalRequest)].join('\n');
  let key = hmac(`AWS4${secret}`, signed.date);
  for (const part of [signed.region, signed.service, 'aws4_request']) key = hmac(key, part);
  return createHmac('sha256', key).update(stringToSign, 'utf8').digest('hex');
}

/** Whether the request's signature is the one `secret` gives, compared in constant time. */
export function signatureMatches(
  signed: SignedRequest,
  secret: string,
  req: { method: string; url: string; headers: IncomingHttpHeaders },
  body: Buffer,
): boolean {
  const expected = Buffer.from(expectedSignature(signed, secret, req, body), 'utf8');
  const given = Buffer.from(signed.signature, 'utf8');
  return expected.length === given.length && timingSafeEqual(expected, given);
}
