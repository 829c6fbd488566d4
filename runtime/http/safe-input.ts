/**
 * Request input as plain data that cannot reach Object.prototype. Every object built from a
 * request (JSON bodies, query parameters, attribute maps) has a null prototype, and the keys
 * that name the prototype chain (`__proto__`, `constructor`, `prototype`) are refused with the
 * path of the field, so a later spread, `Object.assign` or `obj[a][b] = v` cannot write onto
 * every object of the process. The walk is iterative: a body nested a million levels deep is
 * measured, not recursed into.
 */

/** Keys that address the prototype chain when used as property names. */
export const PROTOTYPE_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/** A key no request may use; `field` is the dotted path to it (`Entries.0.__proto__`). */
export class UnsafeKeyError extends Error {
  constructor(readonly field: string) {
    super(`Parameter ${field} is not valid: the name is reserved.`);
    this.name = 'UnsafeKeyError';
  }
}

/** A value nested deeper than the caller allows. */
export class NestingError extends Error {
  constructor(readonly depth: number) {
    super(`The request is nested more than ${depth} levels deep.`);
    this.name = 'NestingError';
  }
}

export interface SafeCopyOptions {
  /** Keys refused anywhere. @default PROTOTYPE_KEYS */
  forbidden?: ReadonlySet<string>;
  /** Deepest allowed nesting of objects and arrays (the top level is 1). @default 256 */
  maxDepth?: number;
}

export type Plain = Record<string, unknown>;

/**
 * Copies parsed JSON into null-prototype objects (arrays stay arrays), refusing forbidden
 * keys and anything nested beyond `maxDepth`. Scalars are returned as they are.
 */
export function safeCopy(value: unknown, options: SafeCopyOptions = {}): unknown {
  const forbidden = options.forbidden ?? PROTOTYPE_KEYS;
  const maxDepth = options.maxDepth ?? 256;
  if (value === null || typeof value !== 'object') return value;
  const root = copyShell(value);
  const stack: Frame[] = [{ from: value, to: root, depth: 1 }];
  while (stack.length > 0) {
    const frame = stack.pop()!;
    const { from, to, depth } = frame;
    if (depth > maxDepth) throw new NestingError(maxDepth);
    if (Array.isArray(from)) {
      const copy = to as unknown[];
      for (let i = 0; i < from.length; i++) {
        const v: unknown = from[i];
        copy.push(v !== null && typeof v === 'object' ? nest(stack, frame, String(i), v) : v);
      }
      continue;
    }
    const copy = to as Plain;
    for (const k of Object.keys(from)) {
      if (forbidden.has(k)) throw new UnsafeKeyError(pathOf(frame, k));
      const v: unknown = (from as Plain)[k];
      copy[k] = v !== null && typeof v === 'object' ? nest(stack, frame, k, v) : v;
    }
  }
  return root;
}

/** An object or array still to copy; its dotted path is built only if an error has to name it. */
interface Frame {
  readonly from: object;
  readonly to: object;
  readonly depth: number;
  readonly parent?: Frame;
  readonly key?: string;
}

function nest(stack: Frame[], parent: Frame, key: string, from: object): object {
  const to = copyShell(from);
  stack.push({ from, to, depth: parent.depth + 1, parent, key });
  return to;
}

/** `Entries.0.__proto__`: the keys from the root down to `key` in `frame`. */
function pathOf(frame: Frame, key: string): string {
  const keys = [key];
  for (let f: Frame | undefined = frame; f?.key !== undefined; f = f.parent) keys.push(f.key);
  return keys.reverse().join('.');
}

function copyShell(v: object): object {
  return Array.isArray(v) ? [] : Object.create(null);
}

/** Parses a JSON request body into null-prototype objects; see {@link safeCopy}. */
export function parseSafeJson(text: string, options: SafeCopyOptions = {}): unknown {
  return safeCopy(JSON.parse(text), options);
}

/** Deepest nesting of objects and arrays in a parsed value (a scalar is 0), without recursion. */
export function nestingDepth(value: unknown): number {
  let max = 0;
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [v, d] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (d > max) max = d;
    for (const x of Array.isArray(v) ? v : Object.values(v)) if (x !== null && typeof x === 'object') stack.push([x, d + 1]);
  }
  return max;
}

/** A value for an error message: strings as they are, anything else as JSON, never a throw. */
export function show(v: unknown): string {
  if (typeof v === 'string') return v;
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return Object.prototype.toString.call(v);
  }
}
