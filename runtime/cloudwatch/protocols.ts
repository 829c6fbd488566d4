/**
 * The wire protocols CloudWatch clients speak, as serializers around `handleCloudWatchRequest`:
 *
 * - Smithy RPC v2 CBOR (`POST /service/GraniteServiceVersion20100801/operation/<Op>`,
 *   `smithy-protocol: rpc-v2-cbor`): what @aws-sdk/client-cloudwatch sends since late 2025.
 * - AWS JSON 1.0 (`X-Amz-Target: GraniteServiceVersion20100801.<Op>`): what the AWS CLI v1
 *   (botocore 1.43, which prefers `json` among the protocols the model lists) sends.
 * - AWS query (`Action=<Op>&Version=2010-08-01`, XML responses): older SDKs and CLIs.
 *
 * CloudWatch is `awsQueryCompatible`, so JSON and CBOR errors also carry the query error code in
 * `x-amzn-query-error`.
 * @see https://smithy.io/2.0/additional-specs/protocols/smithy-rpc-v2.html
 * @see https://smithy.io/2.0/aws/protocols/aws-json-1_0-protocol.html
 */
import { cbor, dateToTag } from '@smithy/core/cbor';
import { randomUUID } from 'node:crypto';
import { AwsError } from '../errors';

export const CLOUDWATCH_TARGET_PREFIX = 'GraniteServiceVersion20100801';
const XMLNS = 'http://monitoring.amazonaws.com/doc/2010-08-01/';

export interface WireRequest {
  readonly method: string;
  readonly path: string;
  /** Lower-case header names. */
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly body: Buffer;
}

export interface WireResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: Buffer;
}

export type Protocol = 'cbor' | 'json' | 'query';

/** Which protocol a request uses, or undefined when it is not a CloudWatch request. */
export function detectProtocol(req: WireRequest): Protocol | undefined {
  if (req.path.startsWith(`/service/${CLOUDWATCH_TARGET_PREFIX}/operation/`)) return 'cbor';
  if ((req.headers['x-amz-target'] ?? '').startsWith(`${CLOUDWATCH_TARGET_PREFIX}.`)) return 'json';
  if ((req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) {
    const params = new URLSearchParams(req.body.toString('utf8'));
    if (params.get('Version') === '2010-08-01') return 'query';
  }
  return undefined;
}

/** Serves one CloudWatch request in whatever protocol it came. */
export function serveCloudWatch(
  req: WireRequest,
  handle: (operation: string, input: unknown) => Record<string, unknown>,
  /** The id the answer carries; the HTTP edge passes its own so that logs and records agree. */
  requestId: string = randomUUID(),
): WireResponse {
  const protocol = detectProtocol(req);
  if (!protocol) return xmlError(new AwsError('InvalidAction', 'Not a CloudWatch request.'), requestId);
  try {
    let operation: string;
    if (req.body.length > 1_048_576) throw new AwsError('RequestEntityTooLarge', 'Request size 1048576 bytes exceeded.', 413);
    let input: unknown;
    if (protocol === 'cbor') {
      operation = req.path.split('/').pop() ?? '';
      input = req.body.length ? decodeCbor(req.body) : {};
    } else if (protocol === 'json') {
      operation = (req.headers['x-amz-target'] ?? '').slice(CLOUDWATCH_TARGET_PREFIX.length + 1);
      input = req.body.length ? (JSON.parse(req.body.toString('utf8')) as unknown) : {};
    } else {
      const params = new URLSearchParams(req.body.toString('utf8'));
      operation = params.get('Action') ?? '';
      input = decodeQuery(params);
    }
    const output = handle(operation, input);
    if (protocol === 'cbor') {
      return {
        status: 200,
        headers: { 'content-type': 'application/cbor', 'smithy-protocol': 'rpc-v2-cbor', 'x-amzn-requestid': requestId },
        body: Buffer.from(cbor.serialize(forCbor(output))),
      };
    }
    if (protocol === 'json') {
      return {
        status: 200,
        headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': requestId },
        body: Buffer.from(JSON.stringify(output, jsonReplacer)),
      };
    }
    return {
      status: 200,
      headers: { 'content-type': 'text/xml', 'x-amzn-requestid': requestId },
      body: Buffer.from(queryResponse(operation, output, requestId)),
    };
  } catch (e) {
    const err =
      e instanceof AwsError
        ? e
        : e instanceof SyntaxError || (e instanceof Error && /cbor/i.test(e.message))
          ? new AwsError('SerializationException', 'The request body could not be parsed.')
          : new AwsError('InternalFailure', 'The request processing has failed because of an unknown error.', 500);
    if (protocol === 'query') return xmlError(err, requestId);
    const headers = {
      'x-amzn-requestid': requestId,
      'x-amzn-query-error': `${err.code};${err.fault}`,
      ...(protocol === 'cbor'
        ? { 'content-type': 'application/cbor', 'smithy-protocol': 'rpc-v2-cbor' }
        : { 'content-type': 'application/x-amz-json-1.0' }),
    };
    const body = { __type: `com.amazonaws.cloudwatch#${err.code}`, message: err.message };
    return {
      status: err.status,
      headers,
      body: protocol === 'cbor' ? Buffer.from(cbor.serialize(body)) : Buffer.from(JSON.stringify(body)),
    };
  }
}

/** A CBOR body, or the caller's SerializationException: whatever the decoder throws on bad bytes is the caller's fault. */
function decodeCbor(body: Buffer): unknown {
  try {
    return cbor.deserialize(new Uint8Array(body));
  } catch {
    throw new AwsError('SerializationException', 'The request body is not valid CBOR.');
  }
}

/** Dates become CBOR tag 1 (epoch seconds), as the protocol requires. */
function forCbor(v: unknown): unknown {
  if (v instanceof Date) return dateToTag(v);
  if (Array.isArray(v)) return v.map(forCbor);
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k] = forCbor(x);
    return out;
  }
  return v;
}

/** JSON 1.0 writes timestamps as epoch seconds; the replacer sees the Date before its toJSON ran. */
function jsonReplacer(this: Record<string, unknown>, key: string, v: unknown): unknown {
  const raw = this[key];
  return raw instanceof Date ? raw.getTime() / 1000 : v;
}

/**
 * Query parameters to the API shape: `MetricData.member.1.Dimensions.member.2.Name=x` becomes
 * `{ MetricData: [{ Dimensions: [, { Name: 'x' }] }] }`. Keys are checked so that nothing
 * reaches an object's prototype, and depth and list sizes are bounded.
 */
export function decodeQuery(params: URLSearchParams): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  let count = 0;
  for (const [key, value] of params) {
    if (key === 'Action' || key === 'Version') continue;
    if (++count > 10_000) throw new AwsError('InvalidParameterValue', 'Too many request parameters.');
    const parts = key.split('.');
    if (parts.length > 12) throw new AwsError('InvalidParameterValue', `Parameter ${key.slice(0, 80)} is nested too deeply.`);
    let cur: Record<string, unknown> | unknown[] = root;
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]!;
      if (part === '__proto__' || part === 'constructor' || part === 'prototype') {
        throw new AwsError('InvalidParameterValue', `Parameter ${key.slice(0, 80)} is not valid.`);
      }
      const last = i === parts.length - 1;
      if (part === 'member' && !last) {
        const index = Number(parts[++i]);
        if (!Number.isInteger(index) || index < 1 || index > 1000)
          throw new AwsError('InvalidParameterValue', `Parameter ${key.slice(0, 80)} has a bad list index.`);
        const list = cur as unknown[];
        if (i === parts.length - 1) list[index - 1] = value;
        else {
          list[index - 1] ??= {};
          cur = list[index - 1] as Record<string, unknown>;
        }
        continue;
      }
      const obj = cur as Record<string, unknown>;
      if (last) obj[part] = value;
      else {
        const nextIsList = parts[i + 1] === 'member';
        if (!Object.hasOwn(obj, part)) obj[part] = nextIsList ? [] : {};
        cur = obj[part] as Record<string, unknown> | unknown[];
        if (nextIsList && !Array.isArray(cur))
          throw new AwsError('InvalidParameterValue', `Parameter ${key.slice(0, 80)} mixes a list and a value.`);
      }
    }
  }
  // `AlarmNames.member.N` style lists may have holes when a client skips numbers: drop them.
  return compact(root) as Record<string, unknown>;
}

function compact(v: unknown): unknown {
  if (Array.isArray(v)) return v.filter((x) => x !== undefined).map(compact);
  if (v !== null && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) (v as Record<string, unknown>)[k] = compact(x);
  }
  return v;
}

const escapeXml = (s: string) => s.replace(/[<>&'"]/g, (c) => `&${{ '<': 'lt', '>': 'gt', '&': 'amp', "'": 'apos', '"': 'quot' }[c]};`);

function toXml(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (v instanceof Date) return v.toISOString();
  if (Array.isArray(v)) return v.map((x) => `<member>${toXml(x)}</member>`).join('');
  if (typeof v === 'object') {
    return Object.entries(v)
      .filter(([, x]) => x !== undefined)
      .map(([k, x]) =>
        // ExtendedStatistics is a map: entries with key and value.
        k === 'ExtendedStatistics' && x !== null && typeof x === 'object' && !Array.isArray(x)
          ? `<${k}>${Object.entries(x)
              .map(([ek, ev]) => `<entry><key>${escapeXml(ek)}</key><value>${toXml(ev)}</value></entry>`)
              .join('')}</${k}>`
          : `<${k}>${toXml(x)}</${k}>`,
      )
      .join('');
  }
  return escapeXml(String(v));
}

function queryResponse(operation: string, output: Record<string, unknown>, requestId: string): string {
  const result = Object.keys(output).length > 0 ? `<${operation}Result>${toXml(output)}</${operation}Result>` : '';
  return `<${operation}Response xmlns="${XMLNS}">${result}<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${operation}Response>`;
}

function xmlError(err: AwsError, requestId: string): WireResponse {
  const body = `<ErrorResponse xmlns="${XMLNS}"><Error><Type>${err.fault}</Type><Code>${escapeXml(err.code)}</Code><Message>${escapeXml(err.message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`;
  return { status: err.status, headers: { 'content-type': 'text/xml', 'x-amzn-requestid': requestId }, body: Buffer.from(body) };
}
