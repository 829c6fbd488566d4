/**
 * The DynamoDB pass-through. dynalite validates requests recursively and throws a stack
 * overflow outside any handler, so a request is read here, checked, and only then handed to
 * dynalite as a buffered copy:
 * - attribute values nested beyond DynamoDB's 32 levels are refused with DynamoDB's message;
 * - `__proto__` as a key is refused (attribute names `constructor` and `prototype` are legal
 *   in DynamoDB and stay allowed: only `__proto__` reaches the prototype when used as a key);
 * - an expression string over DynamoDB's 4 KB is refused (dynalite's parser is synchronous and
 *   takes about 18 ms per KB, so a 1 MB expression held the whole runtime for 18 s);
 * - a synchronous throw inside dynalite answers this request 500 and leaves the process up.
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html#limits-attributes
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Constraints.html#limits-expression-parameters
 */
import { EventEmitter } from 'node:events';
import type * as http from 'node:http';
import { NestingError, UnsafeKeyError, safeCopy } from './safe-input';

/** DynamoDB's limit on nested attribute values: a map or list in a map or list..., 32 levels. */
export const DYNAMODB_MAX_NESTING = 32;
export const NESTING_MESSAGE =
  'Nesting Levels have exceeded supported limits: Attributes in the item have nested levels beyond supported limit';
/** DynamoDB's limit on the length of any expression string, in bytes (1 KB = 1024 bytes). */
export const DYNAMODB_MAX_EXPRESSION_BYTES = 4 * 1024;
/** Any JSON nesting past this is refused whatever its shape (dynalite recurses into every value). */
const MAX_JSON_DEPTH = 2 * DYNAMODB_MAX_NESTING + 24;

const ONLY_PROTO: ReadonlySet<string> = new Set(['__proto__']);

export type DynamoHandler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

export interface DynamoRefusal {
  status: number;
  body: { __type: string; message: string };
}

const validationError = (message: string): DynamoRefusal => ({
  status: 400,
  body: { __type: 'com.amazon.coral.validate#ValidationException', message },
});

/**
 * Checks a DynamoDB request body; undefined when dynalite may see it. Bodies that are not JSON
 * are left to dynalite, which answers them with DynamoDB's SerializationException.
 */
export function checkDynamoBody(text: string): DynamoRefusal | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  // dynalite reads members of the body without checking it is an object.
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    return {
      status: 400,
      body: { __type: 'com.amazon.coral.service#SerializationException', message: 'The request body must be a JSON object.' },
    };
  try {
    safeCopy(parsed, { forbidden: ONLY_PROTO, maxDepth: MAX_JSON_DEPTH });
  } catch (e) {
    if (e instanceof UnsafeKeyError)
      return validationError(`Parameter ${e.field} is not valid: __proto__ is reserved by this local endpoint.`);
    if (e instanceof NestingError) return validationError(NESTING_MESSAGE);
    throw e;
  }
  if (attributeNesting(parsed) > DYNAMODB_MAX_NESTING) return validationError(NESTING_MESSAGE);
  // dynalite reads `null` inside a member (an attribute value, a key) as an object and throws.
  const nul = nestedNull(parsed as Record<string, unknown>);
  if (nul)
    return {
      status: 400,
      body: { __type: 'com.amazon.coral.service#SerializationException', message: `Unexpected null value at ${nul}.` },
    };
  // The limit is documented; the wording of DynamoDB's own message for it is not, so this one names the member and both sizes.
  const long = longExpression(parsed);
  if (long)
    return validationError(
      `Invalid ${long.member}: Expression size has exceeded the maximum allowed size of ${DYNAMODB_MAX_EXPRESSION_BYTES} bytes; expression size: ${long.bytes}`,
    );
  const name = protoInExpression(parsed as Record<string, unknown>);
  if (name) return validationError(`Parameter ${name} is not valid: __proto__ is reserved by this local endpoint.`);
  return undefined;
}

/** The path of the first `null` below the top-level members (`Key.sk`), or undefined. */
function nestedNull(body: Record<string, unknown>): string | undefined {
  const stack: [unknown, string][] = Object.entries(body).map(([k, v]) => [v, k]);
  while (stack.length > 0) {
    const [v, path] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    for (const [k, x] of Array.isArray(v) ? v.map((x, i) => [String(i), x] as const) : Object.entries(v)) {
      if (x === null) return `${path}.${k}`;
      if (typeof x === 'object') stack.push([x, `${path}.${k}`]);
    }
  }
  return undefined;
}

const EXPRESSIONS = ['UpdateExpression', 'ConditionExpression', 'ProjectionExpression', 'FilterExpression', 'KeyConditionExpression'];

/**
 * The first expression string over DynamoDB's limit, at any depth (transaction and batch entries
 * carry their own), with its size; undefined when there is none. The body's depth is already
 * bounded by the check before.
 */
function longExpression(body: unknown): { member: string; bytes: number } | undefined {
  const stack: unknown[] = [body];
  while (stack.length > 0) {
    const v = stack.pop();
    if (v === null || typeof v !== 'object') continue;
    for (const [k, x] of Object.entries(v)) {
      if (typeof x === 'string') {
        if (!EXPRESSIONS.includes(k) || x.length <= DYNAMODB_MAX_EXPRESSION_BYTES / 3) continue;
        const bytes = Buffer.byteLength(x, 'utf8');
        if (bytes > DYNAMODB_MAX_EXPRESSION_BYTES) return { member: k, bytes };
      } else if (typeof x === 'object') stack.push(x);
    }
  }
  return undefined;
}

/**
 * `__proto__` as an attribute name in an expression (directly, or through
 * ExpressionAttributeNames) makes dynalite walk into the prototype and throw; the member that
 * names it, or undefined.
 */
function protoInExpression(body: Record<string, unknown>): string | undefined {
  const names = body.ExpressionAttributeNames;
  if (names !== null && typeof names === 'object') {
    for (const [k, v] of Object.entries(names)) if (v === '__proto__') return `ExpressionAttributeNames.${k}`;
  }
  for (const e of EXPRESSIONS) {
    const v = body[e];
    if (typeof v === 'string' && /(^|[^A-Za-z0-9_#:])__proto__([^A-Za-z0-9_]|$)/.test(v)) return e;
  }
  return undefined;
}

/**
 * The deepest chain of `{"M": {...}}` / `{"L": [...]}` attribute values anywhere in the request
 * (items, keys, expression values, batch and transaction entries alike). A scalar at the top
 * level of an item is level 1 on its own, so 31 map wrappers around a string are 32 levels.
 */
export function attributeNesting(value: unknown): number {
  let max = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, d] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    const keys = Array.isArray(v) ? [] : Object.keys(v);
    const wrapper = keys.length === 1 && (keys[0] === 'M' || keys[0] === 'L') ? (v as Record<string, unknown>)[keys[0]!] : undefined;
    if (wrapper !== null && typeof wrapper === 'object') {
      const level = d + 1;
      if (level > max) max = level;
      for (const x of Array.isArray(wrapper) ? wrapper : Object.values(wrapper)) stack.push([x, level]);
      continue;
    }
    for (const x of Array.isArray(v) ? v : Object.values(v)) stack.push([x, d]);
  }
  // The innermost value adds its own level: 31 wrappers around a scalar are 32 levels.
  return max === 0 ? 0 : max + 1;
}

/**
 * Hands a request whose body is already read to dynalite, as a stream that delivers that body
 * synchronously: dynalite's validation runs inside the caller's try/catch.
 */
export function forwardToDynalite(handler: DynamoHandler, req: http.IncomingMessage, res: http.ServerResponse, body: Buffer): void {
  const copy = new EventEmitter() as EventEmitter & Partial<http.IncomingMessage>;
  // Only what dynalite reads; CORS is answered by the edge, so Origin is not passed on.
  const headers: http.IncomingHttpHeaders = { ...req.headers };
  delete headers.origin;
  Object.assign(copy, { headers, method: req.method, url: req.url, socket: req.socket });
  handler(copy as http.IncomingMessage, res);
  if (body.length > 0) copy.emit('data', body);
  copy.emit('end');
}
