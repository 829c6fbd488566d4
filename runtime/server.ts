/**
 * The one HTTP endpoint. Routes by wire protocol:
 * - `X-Amz-Target: DynamoDB_20120810.*` goes, unread, to dynalite's request handler;
 * - `X-Amz-Target: AWSEvents.*` is EventBridge (AWS JSON 1.1);
 * - `X-Amz-Target: AmazonSQS.*` is SQS (AWS JSON 1.0);
 * - a form-encoded body or query string with `Action=` is the query protocol (SQS, and STS
 *   GetCallerIdentity so that credential checks in tools pass).
 * https://smithy.io/2.0/aws/protocols/aws-json-1_1-protocol.html
 */
import { randomUUID } from 'node:crypto';
import * as http from 'node:http';
import { AwsError } from './errors';
import { EVENTS_ACTIONS } from './events-api';
import type { EventBroker } from './events';
import type { RuntimeLog } from './log';
import { SQS_ACTIONS, errorToXml, outputToXml, queryToInput, unknownSqsAction } from './sqs-api';
import type { SqsBroker } from './sqs';
import { withRequest } from './stream';

/** Request bodies above this are refused before parsing (PutEvents and SQS allow 1 MiB of entries). */
export const MAX_BODY_BYTES = 8 * 1024 * 1024;

export interface Services {
  log: RuntimeLog;
  sqs: SqsBroker;
  events: EventBroker;
  dynamodb: (req: http.IncomingMessage, res: http.ServerResponse) => void;
  accountId: string;
  /** Resolves once the topology is built; EventBridge and SQS requests wait for it. */
  ready: Promise<void>;
}

type Json = Record<string, unknown>;

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        reject(new AwsError('RequestEntityTooLarge', `Request body exceeds ${MAX_BODY_BYTES} bytes.`, 413));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function send(res: http.ServerResponse, status: number, contentType: string, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

/** Drops undefined fields so responses look like AWS's (absent, not null). */
function clean(v: unknown): string {
  return JSON.stringify(v, (_k, x) => (x === undefined ? undefined : x));
}

export function createHandler(s: Services): http.RequestListener {
  return (req, res) => {
    const requestId = randomUUID();
    res.setHeader('x-amzn-RequestId', requestId);
    const target = String(req.headers['x-amz-target'] ?? '');
    if (target.startsWith('DynamoDB_')) {
      s.dynamodb(req, res);
      return;
    }
    // Requests that arrive while the app is being built wait, rather than see half a topology.
    const principal = { type: 'Root' as const, arn: `arn:aws:iam::${s.accountId}:root`, accountId: s.accountId };
    const context = { requestId, operation: target || undefined, principal, sourceIp: req.socket.remoteAddress };
    void s.ready
      .then(() => withRequest(context, () => route(s, req, res, target, requestId)))
      .catch((err) => {
        s.log.always(`internal error serving ${target || req.url}: ${(err as Error).stack ?? err}`);
        if (!res.headersSent)
          send(res, 500, 'application/json', clean({ __type: 'InternalFailure', message: String((err as Error).message) }));
        else res.destroy();
      });
  };
}

async function route(s: Services, req: http.IncomingMessage, res: http.ServerResponse, target: string, requestId: string): Promise<void> {
  const jsonService = target.startsWith('AWSEvents.') ? 'events' : target.startsWith('AmazonSQS.') ? 'sqs' : undefined;
  let body: Buffer;
  try {
    body = await readBody(req);
  } catch (err) {
    if (err instanceof AwsError) {
      if (jsonService) jsonError(res, jsonService, err);
      else send(res, err.status, 'text/xml', errorToXml(err, requestId));
    }
    return;
  }
  if (jsonService) {
    const action = target.slice(target.indexOf('.') + 1);
    await serveJson(s, res, jsonService, action, body);
    return;
  }
  const url = new URL(req.url ?? '/', 'http://localhost');
  const contentType = String(req.headers['content-type'] ?? '');
  const params = new URLSearchParams(url.search);
  if (contentType.includes('application/x-www-form-urlencoded') || (body.length > 0 && !contentType.includes('json'))) {
    for (const [k, v] of new URLSearchParams(body.toString('utf8'))) params.append(k, v);
  }
  const action = params.get('Action');
  if (!action) {
    const err = new AwsError(
      'UnknownOperationException',
      'Missing X-Amz-Target header or Action parameter; this endpoint serves EventBridge, SQS and DynamoDB.',
    );
    send(res, 400, 'application/x-amz-json-1.1', clean({ __type: err.code, message: err.message }));
    return;
  }
  if (action === 'GetCallerIdentity') {
    const xml = `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>arn:aws:iam::${s.accountId}:root</Arn><UserId>${s.accountId}</UserId><Account>${s.accountId}</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></GetCallerIdentityResponse>`;
    send(res, 200, 'text/xml', xml);
    return;
  }
  try {
    const fn = SQS_ACTIONS[action];
    if (!fn) throw unknownSqsAction(action);
    const input = queryToInput(params);
    // Query requests may address the queue by path instead of a QueueUrl parameter.
    if (input.QueueUrl === undefined && /^\/\d+\/[^/]+$/.test(url.pathname)) input.QueueUrl = url.pathname;
    const output = await fn(s.sqs, input);
    send(res, 200, 'text/xml', outputToXml(action, output, requestId));
  } catch (err) {
    if (!(err instanceof AwsError)) throw err;
    send(res, err.status, 'text/xml', errorToXml(err, requestId));
  }
}

function jsonError(res: http.ServerResponse, service: 'events' | 'sqs', err: AwsError): void {
  if (service === 'sqs') {
    // SQS JSON keeps the query-protocol code in a header; SDKs use it for the error name.
    send(res, err.status, 'application/x-amz-json-1.0', clean({ __type: `com.amazonaws.sqs#${err.code}`, message: err.message }), {
      'x-amzn-query-error': `${err.queryCode ?? err.code};${err.fault}`,
    });
  } else {
    send(res, err.status, 'application/x-amz-json-1.1', clean({ __type: err.code, message: err.message }));
  }
}

async function serveJson(s: Services, res: http.ServerResponse, service: 'events' | 'sqs', action: string, body: Buffer): Promise<void> {
  const contentType = service === 'sqs' ? 'application/x-amz-json-1.0' : 'application/x-amz-json-1.1';
  try {
    let input: Json;
    try {
      const text = body.toString('utf8');
      input = text.trim() === '' ? {} : JSON.parse(text);
    } catch {
      throw new AwsError(
        'SerializationException',
        'Start of structure or map found where not expected; the request body is not valid JSON.',
      );
    }
    if (input === null || typeof input !== 'object' || Array.isArray(input))
      throw new AwsError('SerializationException', 'The request body must be a JSON object.');
    let output: Json;
    if (service === 'sqs') {
      const fn = SQS_ACTIONS[action];
      if (!fn) throw new AwsError('UnknownOperationException', `Operation ${action} is not supported by this SQS endpoint.`);
      output = await fn(s.sqs, input);
    } else {
      const fn = EVENTS_ACTIONS[action];
      if (!fn) throw new AwsError('UnknownOperationException', `Operation ${action} is not supported by this EventBridge endpoint.`);
      output = fn(s.events, input);
    }
    send(res, 200, contentType, clean(output));
  } catch (err) {
    if (!(err instanceof AwsError)) throw err;
    jsonError(res, service, err);
  }
}
