/**
 * The one HTTP endpoint. Routes by wire protocol:
 * - `X-Amz-Target: DynamoDB_20120810.*` goes to dynalite, after the body is read and checked
 *   (see http/dynamodb.ts);
 * - `X-Amz-Target: AWSEvents.*` is EventBridge (AWS JSON 1.1);
 * - `X-Amz-Target: AmazonSQS.*` is SQS (AWS JSON 1.0);
 * - a form-encoded body or query string with `Action=` is the query protocol (SQS, and STS
 *   GetCallerIdentity so that credential checks in tools pass);
 * - `X-Amz-Target: Logs_20140328.*` is CloudWatch Logs and
 *   `X-Amz-Target: [com.amazonaws.cloudtrail.v20131101.]CloudTrail_20131101.*` is CloudTrail (AWS JSON 1.1);
 * - CloudWatch in the three protocols its clients speak (cloudwatch/protocols.ts): Smithy RPC v2
 *   CBOR (`/service/GraniteServiceVersion20100801/operation/<Op>`), AWS JSON 1.0
 *   (`X-Amz-Target: GraniteServiceVersion20100801.*`) and query (`Version=2010-08-01`).
 * https://smithy.io/2.0/aws/protocols/aws-json-1_1-protocol.html
 *
 * Before any of that, the edge refuses what browsers must not do (http/edge.ts), bodies over
 * the limit (http/body.ts), and request input is copied into null-prototype objects with the
 * prototype's key names refused (http/safe-input.ts). Whatever a request does, an error while
 * serving it costs that request a 500 InternalFailure and nothing else.
 */
import type { FunctionRegistry } from './lambda';
import { INVOKE_PATH, serveInvoke } from './lambda-api';
import { randomUUID } from 'node:crypto';
import * as http from 'node:http';
import { AwsError } from './errors';
import { EVENTS_ACTIONS, EVENTS_SHAPES } from './events-api';
import type { EventBroker } from './events';
import { MAX_BODY_BYTES, readBody } from './http/body';
import { checkDynamoBody, forwardToDynalite, type DynamoHandler } from './http/dynamodb';
import { EdgePolicy, type EdgeOptions } from './http/edge';
import { NestingError, UnsafeKeyError, parseSafeJson } from './http/safe-input';
import { checkShape, type Shape } from './http/shapes';
import type { RuntimeLog } from './log';
import { SQS_ACTIONS, SQS_SHAPES, errorToXml, outputToXml, queryToInput, unknownSqsAction } from './sqs-api';
import type { SqsBroker } from './sqs';
import { arns } from '../assembly/arn';
import type { Caller, IdentityService } from './identity';
import { withRequest, type EventStream, type Principal } from './stream';
import { publishApiCall, type ApiCall } from './api-call';
import { CLOUDTRAIL_TARGET_PREFIX, handleCloudTrailRequest, type EventHistory } from './cloudtrail/lookup';
import { handleCloudWatchRequest, type CloudWatchBackend } from './cloudwatch/cloudwatch-api';
import { LOGS_TARGET_PREFIX, handleLogsRequest } from './cloudwatch/logs-api';
import type { LogStore } from './cloudwatch/log-store';
import { detectProtocol, serveCloudWatch, type WireRequest } from './cloudwatch/protocols';

export { MAX_BODY_BYTES } from './http/body';

/** Deepest nesting accepted in an EventBridge or SQS JSON body (their inputs are at most a few levels deep). */
export const MAX_JSON_DEPTH = 32;

export interface Services {
  log: RuntimeLog;
  sqs: SqsBroker;
  events: EventBroker;
  dynamodb: DynamoHandler;
  accountId: string;
  /** Resolves once the topology is built; EventBridge and SQS requests wait for it. */
  ready: Promise<void>;
  /** The address the server is bound to; a name it serves. @default '127.0.0.1' */
  host?: string;
  /** Origin and Host rules for browsers. */
  edge?: EdgeOptions;
  /** Where each answered call is reported (`api.called`), so CloudTrail can record it. */
  stream?: EventStream;
  /** CloudWatch Logs, CloudTrail event history and CloudWatch metrics and alarms (observability.ts). */
  observability?: ObservabilityBackends;
  /** Who calls, STS, and the app's policies on EventBridge and SQS calls. @default - every caller is the account's root, nothing is checked */
  identity?: IdentityService;
  /** The app's functions, for Lambda Invoke (lambda-api.ts). */
  functions?: FunctionRegistry;
}

export interface ObservabilityBackends {
  logs: LogStore;
  history: EventHistory;
  cloudwatch: CloudWatchBackend;
}

type Json = Record<string, unknown>;
type Protocol = 'events' | 'sqs' | 'dynamodb' | 'query' | 'logs' | 'cloudtrail';
type JsonService = 'events' | 'sqs' | 'logs' | 'cloudtrail';

function protocolOf(target: string): Protocol {
  if (target.startsWith('AWSEvents.')) return 'events';
  if (target.startsWith('AmazonSQS.')) return 'sqs';
  if (target.startsWith('DynamoDB_')) return 'dynamodb';
  if (target.startsWith(LOGS_TARGET_PREFIX)) return 'logs';
  // The AWS CLI sends the full service id; SDK v3 sends the service shape's name alone.
  if (target.startsWith(CLOUDTRAIL_TARGET_PREFIX) || target.startsWith('CloudTrail_20131101.')) return 'cloudtrail';
  return 'query';
}

/** The call as the edge first sees it: service and operation from the target, until the body says more. */
function newCall(protocol: Protocol, target: string): ApiCall {
  const op = target.slice(target.lastIndexOf('.') + 1).slice(0, 128) || 'unknown';
  if (protocol === 'query') return { service: target.startsWith('GraniteServiceVersion20100801.') ? 'monitoring' : 'sqs', operation: op };
  return { service: protocol, operation: op };
}

function send(res: http.ServerResponse, status: number, contentType: string, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

/** Drops undefined fields so responses look like AWS's (absent, not null). */
function clean(v: unknown): string {
  return JSON.stringify(v, (_k, x) => (x === undefined ? undefined : x));
}

/** As `clean`, with timestamps as epoch seconds, as AWS JSON 1.1 writes them (LookupEvents' EventTime). */
function cleanWithTimestamps(v: unknown): string {
  return JSON.stringify(v, function (this: Record<string, unknown>, k, x: unknown) {
    const raw = this[k];
    return raw instanceof Date ? raw.getTime() / 1000 : x;
  });
}

/** An error in the caller's protocol: JSON `__type` for the JSON protocols, `<ErrorResponse>` for the query protocol. */
function sendError(
  res: http.ServerResponse,
  protocol: Protocol,
  err: AwsError,
  requestId: string,
  headers: Record<string, string> = {},
): void {
  if (protocol === 'sqs') {
    // SQS JSON keeps the query-protocol code in a header; SDKs use it for the error name.
    send(res, err.status, 'application/x-amz-json-1.0', clean({ __type: `com.amazonaws.sqs#${err.code}`, message: err.message }), {
      'x-amzn-query-error': `${err.queryCode ?? err.code};${err.fault}`,
      ...headers,
    });
  } else if (protocol === 'events' || protocol === 'logs' || protocol === 'cloudtrail') {
    send(res, err.status, 'application/x-amz-json-1.1', clean({ __type: err.code, message: err.message }), headers);
  } else if (protocol === 'dynamodb') {
    send(
      res,
      err.status,
      'application/x-amz-json-1.0',
      clean({ __type: `com.amazonaws.dynamodb.v20120810#${err.code}`, message: err.message }),
      headers,
    );
  } else {
    send(res, err.status, 'text/xml', errorToXml(err, requestId), headers);
  }
}

/** The caller's error for a member of the wrong type, in the service's words. */
function checkMembers(service: 'events' | 'sqs', input: Json, shape: Shape | undefined): void {
  const bad = shape && checkShape(input, shape);
  if (!bad) return;
  if (service === 'sqs')
    throw new AwsError(
      'InvalidParameterValue',
      `Value for parameter ${bad.field} is invalid. Reason: must be ${bad.expected}.`,
      400,
      'InvalidParameterValue',
    );
  const field = bad.field
    .split('.')
    .map((x) => x.charAt(0).toLowerCase() + x.slice(1))
    .join('.');
  throw new AwsError(
    'ValidationException',
    `1 validation error detected: Value at '${field}' failed to satisfy constraint: Member must be ${bad.expected}`,
  );
}

/** Looks an operation up among a table's own entries: `constructor` or `__proto__` are not operations. */
function operation<T>(table: Record<string, T>, name: string): T | undefined {
  return Object.hasOwn(table, name) ? table[name] : undefined;
}

export function createHandler(s: Services): http.RequestListener {
  const policy = new EdgePolicy(s.host ?? '127.0.0.1', s.edge);
  return (req, res) => {
    const requestId = randomUUID();
    const target = String(req.headers['x-amz-target'] ?? '');
    const protocol = protocolOf(target);
    // A client that disconnects mid-request or mid-answer is not an error of the runtime.
    req.on('error', () => undefined);
    res.on('error', () => undefined);
    const fail = (err: unknown) => {
      s.log.always(`internal error serving ${target || req.url}: ${(err as Error)?.stack ?? String(err)}`);
      if (!res.headersSent) {
        sendError(
          res,
          protocol,
          new AwsError('InternalFailure', 'The request processing has failed because of an unknown error.', 500),
          requestId,
        );
      } else res.destroy();
    };
    try {
      res.setHeader('x-amzn-RequestId', requestId);
      const caller = s.identity?.identify(req);
      const principal: Principal = caller?.identity.view ?? {
        type: 'Root',
        arn: arns.accountRoot({ partition: 'aws', account: s.accountId }),
        accountId: s.accountId,
      };
      const context = { requestId, operation: target || undefined, principal, sourceIp: req.socket.remoteAddress };
      const call = newCall(protocol, target);
      withRequest(context, () => serveAndReport(s, policy, req, res, protocol, target, requestId, call, fail, caller)).catch(fail);
    } catch (err) {
      fail(err);
    }
  };
}

/** Serves one request, then reports it (`api.called`) with its outcome, whatever the outcome was. */
async function serveAndReport(
  s: Services,
  policy: EdgePolicy,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  protocol: Protocol,
  target: string,
  requestId: string,
  call: ApiCall,
  fail: (err: unknown) => void,
  caller: Caller | undefined,
): Promise<void> {
  const started = performance.now();
  try {
    await serve(s, policy, req, res, protocol, target, requestId, call, caller);
  } catch (err) {
    call.error ??= { code: 'InternalFailure', message: 'The request processing has failed because of an unknown error.' };
    fail(err);
  } finally {
    // DynamoDB is dynalite's: its calls are data events, which the stack's trail does not select.
    if (s.stream && protocol !== 'dynamodb') {
      const ua = req.headers['user-agent'];
      publishApiCall(s.stream, call, res.statusCode, typeof ua === 'string' ? ua : undefined, started);
    }
  }
}

async function serve(
  s: Services,
  policy: EdgePolicy,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  protocol: Protocol,
  target: string,
  requestId: string,
  call: ApiCall,
  caller: Caller | undefined,
): Promise<void> {
  const refusal = policy.refusal(req);
  if (refusal !== undefined) {
    call.error = { code: 'AccessDeniedException', message: refusal };
    sendError(res, protocol, new AwsError('AccessDeniedException', refusal, 403, 'AccessDenied'), requestId);
    return;
  }
  if (req.method === 'OPTIONS') {
    res.writeHead(204, policy.preflightHeaders(req));
    res.end();
    return;
  }
  for (const [k, v] of Object.entries(policy.corsHeaders(req))) res.setHeader(k, v);

  const read = await readBody(req);
  if (!read.ok) {
    const err = new AwsError(
      'RequestEntityTooLargeException',
      `Request body of ${read.bytes} bytes exceeds the limit of ${MAX_BODY_BYTES} bytes.`,
      413,
      'RequestEntityTooLarge',
    );
    call.error = { code: err.code, message: err.message };
    sendError(res, protocol, err, requestId, read.drained ? {} : { Connection: 'close' });
    return;
  }
  const body = read.body;

  if (protocol === 'dynamodb') {
    const refused = req.method === 'POST' ? checkDynamoBody(body.toString('utf8')) : undefined;
    if (refused) {
      send(res, refused.status, 'application/x-amz-json-1.0', clean(refused.body));
      return;
    }
    // dynalite answers with its own request id.
    res.removeHeader('x-amzn-RequestId');
    forwardToDynalite(s.dynamodb, req, res, body);
    return;
  }

  // Requests that arrive while the app is being built wait, rather than see half a topology.
  await s.ready;
  if (protocol === 'logs' || protocol === 'cloudtrail') {
    serveObservabilityJson(s, res, protocol, target, body, requestId, call);
    return;
  }
  if (caller && refuseCaller(s, caller, req, res, protocol, target, body, requestId, call)) return;
  const invoke = s.functions && protocol === 'query' ? INVOKE_PATH.exec(new URL(req.url ?? '/', 'http://x').pathname) : null;
  if (invoke && s.functions) {
    call.service = 'lambda';
    call.operation = 'Invoke';
    await serveInvoke(s.functions, req, res, body, invoke[1]!);
    return;
  }
  if (protocol !== 'query') {
    await serveJson(s, res, protocol, target.slice(target.indexOf('.') + 1), body, requestId, call, caller);
    return;
  }
  const wire: WireRequest = { method: req.method ?? 'POST', path: req.url ?? '/', headers: lowerCaseHeaders(req), body };
  if (s.observability && detectProtocol(wire)) {
    serveMonitoring(s.observability.cloudwatch, res, wire, requestId, call);
    return;
  }
  await serveQuery(s, req, res, body, requestId, call, caller);
}

/** Answers credentials AWS would refuse (unsigned, unknown or expired key, bad signature) on EventBridge, SQS and STS; true when it did. */
function refuseCaller(
  s: Services,
  caller: Caller,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  protocol: Protocol,
  target: string,
  body: Buffer,
  requestId: string,
  call: ApiCall,
): boolean {
  if (protocol !== 'events' && protocol !== 'sqs' && protocol !== 'query') return false;
  const operation = target || (new URLSearchParams(req.url?.split('?')[1] ?? '').get('Action') ?? 'query');
  const err = s.identity?.authenticate(caller, req, body, protocol, operation);
  if (!err) return false;
  call.error = { code: err.queryCode ?? err.code, message: err.message };
  sendError(res, protocol, err, requestId);
  return true;
}

function lowerCaseHeaders(req: http.IncomingMessage): Record<string, string> {
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') out[k.toLowerCase()] = v;
  return out;
}

/** CloudWatch Logs and CloudTrail: AWS JSON 1.1, errors as `__type`, timestamps as epoch seconds. */
function serveObservabilityJson(
  s: Services,
  res: http.ServerResponse,
  service: 'logs' | 'cloudtrail',
  target: string,
  body: Buffer,
  requestId: string,
  call: ApiCall,
): void {
  try {
    if (!s.observability) throw new AwsError('UnknownOperationException', `This endpoint does not serve ${target.slice(0, 80)}.`);
    const input = parseJsonInput(service, body);
    call.input = input;
    const output =
      service === 'logs'
        ? handleLogsRequest(s.observability.logs, call.operation, input)
        : handleCloudTrailRequest(s.observability.history, call.operation, input);
    call.output = output;
    send(res, 200, 'application/x-amz-json-1.1', cleanWithTimestamps(output));
  } catch (err) {
    if (!(err instanceof AwsError)) throw err;
    call.error = { code: err.code, message: err.message };
    sendError(res, service, err, requestId);
  }
}

/** CloudWatch metrics and alarms, in whichever of its protocols the request came. */
function serveMonitoring(backend: CloudWatchBackend, res: http.ServerResponse, wire: WireRequest, requestId: string, call: ApiCall): void {
  call.service = 'monitoring';
  const answer = serveCloudWatch(
    wire,
    (operation, input) => {
      call.operation = operation.slice(0, 128) || 'unknown';
      call.input = input;
      try {
        const output = handleCloudWatchRequest(backend, operation, input);
        call.output = output;
        return output;
      } catch (err) {
        if (err instanceof AwsError) call.error = { code: err.code, message: err.message };
        throw err;
      }
    },
    requestId,
  );
  if (answer.status >= 400 && !call.error) {
    // Refused before the handler ran (a body that does not parse): the code is in the answer.
    const code =
      answer.headers['x-amzn-query-error']?.split(';')[0] ?? /<Code>([^<]{1,128})<\/Code>/.exec(answer.body.toString('utf8'))?.[1];
    call.error = { code: code ?? 'InternalFailure', message: `HTTP ${answer.status}` };
  }
  res.writeHead(answer.status, { ...answer.headers, 'Content-Length': answer.body.length });
  res.end(answer.body);
}

async function serveQuery(
  s: Services,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  body: Buffer,
  requestId: string,
  call: ApiCall,
  caller?: Caller,
): Promise<void> {
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
      'Missing X-Amz-Target header or Action parameter; this endpoint serves EventBridge, SQS, DynamoDB, CloudWatch, CloudWatch Logs and CloudTrail.',
    );
    call.error = { code: err.code, message: err.message };
    send(res, 400, 'application/x-amz-json-1.1', clean({ __type: err.code, message: err.message }));
    return;
  }
  call.operation = action.slice(0, 128);
  if (caller && s.identity?.isSts(action)) {
    call.service = 'sts';
    const answer = s.identity.sts(caller, action, params, requestId);
    if (answer.status >= 400)
      call.error = { code: /<Code>([^<]{1,128})<\/Code>/.exec(answer.body)?.[1] ?? 'InternalFailure', message: `HTTP ${answer.status}` };
    send(res, answer.status, 'text/xml', answer.body);
    return;
  }
  if (action === 'GetCallerIdentity') {
    call.service = 'sts';
    call.output = { Arn: arns.accountRoot({ partition: 'aws', account: s.accountId }), UserId: s.accountId, Account: s.accountId };
    const xml = `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>${arns.accountRoot({ partition: 'aws', account: s.accountId })}</Arn><UserId>${s.accountId}</UserId><Account>${s.accountId}</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></GetCallerIdentityResponse>`;
    send(res, 200, 'text/xml', xml);
    return;
  }
  try {
    const fn = operation(SQS_ACTIONS, action);
    if (!fn) throw unknownSqsAction(action);
    const input = queryToInput(params);
    checkMembers('sqs', input, operation<Shape>(SQS_SHAPES, action));
    // Query requests may address the queue by path instead of a QueueUrl parameter.
    if (input.QueueUrl === undefined && /^\/\d+\/[^/]+$/.test(url.pathname)) input.QueueUrl = url.pathname;
    call.input = input;
    if (caller) s.identity?.authorize(caller, 'sqs', action, input, 'query');
    const output = await fn(s.sqs, input);
    call.output = output;
    send(res, 200, 'text/xml', outputToXml(action, output, requestId));
  } catch (err) {
    if (!(err instanceof AwsError)) throw err;
    call.error = { code: err.queryCode ?? err.code, message: err.message };
    send(res, err.status, 'text/xml', errorToXml(err, requestId));
  }
}

async function serveJson(
  s: Services,
  res: http.ServerResponse,
  service: 'events' | 'sqs',
  action: string,
  body: Buffer,
  requestId: string,
  call: ApiCall,
  caller?: Caller,
): Promise<void> {
  const contentType = service === 'sqs' ? 'application/x-amz-json-1.0' : 'application/x-amz-json-1.1';
  try {
    const input = parseJsonInput(service, body);
    call.input = input;
    let output: Json;
    if (service === 'sqs') {
      const fn = operation(SQS_ACTIONS, action);
      if (!fn) throw new AwsError('UnknownOperationException', `Operation ${action} is not supported by this SQS endpoint.`);
      checkMembers('sqs', input, operation<Shape>(SQS_SHAPES, action));
      if (caller) s.identity?.authorize(caller, 'sqs', action, input);
      output = await fn(s.sqs, input);
    } else {
      const fn = operation(EVENTS_ACTIONS, action);
      if (!fn) throw new AwsError('UnknownOperationException', `Operation ${action} is not supported by this EventBridge endpoint.`);
      checkMembers('events', input, operation<Shape>(EVENTS_SHAPES, action));
      if (caller) s.identity?.authorize(caller, 'events', action, input);
      output = fn(s.events, input);
    }
    call.output = output;
    send(res, 200, contentType, clean(output));
  } catch (err) {
    if (!(err instanceof AwsError)) throw err;
    call.error = { code: service === 'sqs' ? (err.queryCode ?? err.code) : err.code, message: err.message };
    sendError(res, service, err, requestId);
  }
}

/** The request body as a null-prototype object, or the error the service answers for it. */
function parseJsonInput(service: JsonService, body: Buffer): Json {
  const text = body.toString('utf8');
  let input: unknown;
  try {
    input = text.trim() === '' ? Object.create(null) : parseSafeJson(text, { maxDepth: MAX_JSON_DEPTH });
  } catch (e) {
    if (e instanceof UnsafeKeyError || e instanceof NestingError) throw invalidInput(service, e.message);
    throw new AwsError('SerializationException', 'Start of structure or map found where not expected; the request body is not valid JSON.');
  }
  if (input === null || typeof input !== 'object' || Array.isArray(input))
    throw new AwsError('SerializationException', 'The request body must be a JSON object.');
  return input as Json;
}

/** Each service's code for input it refuses to read. */
function invalidInput(service: JsonService, message: string): AwsError {
  switch (service) {
    case 'sqs':
      return new AwsError('InvalidParameterValue', message, 400, 'InvalidParameterValue');
    case 'events':
      return new AwsError('ValidationException', message);
    case 'logs':
      return new AwsError('InvalidParameterException', message);
    case 'cloudtrail':
      return new AwsError('InvalidParameterException', message);
  }
}
