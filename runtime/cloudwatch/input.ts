/**
 * Reading API input that arrived as untrusted JSON: each reader names the field and the limit
 * it broke, in the error code of the service (`InvalidParameterException` for CloudWatch Logs,
 * `InvalidParameterValue` for CloudWatch, `InvalidParameterValueException` for CloudTrail).
 * Only own properties are read, so `__proto__` and friends are never consulted.
 */
import { AwsError } from '../errors';

export type Input = Readonly<Record<string, unknown>>;

export class InputReader {
  public constructor(
    private readonly input: Input,
    /** The error code of the service's validation errors. */
    private readonly code: string,
  ) {}

  public static of(input: unknown, code: string): InputReader {
    if (input === undefined || input === null) return new InputReader({}, code);
    if (typeof input !== 'object' || Array.isArray(input)) throw new AwsError(code, 'The request body must be a JSON object.');
    return new InputReader(input as Input, code);
  }

  /** The object read, e.g. to read it again under another error code. */
  public get source(): Input {
    return this.input;
  }

  public fail(message: string): AwsError {
    return new AwsError(this.code, message);
  }

  public raw(name: string): unknown {
    return Object.hasOwn(this.input, name) ? this.input[name] : undefined;
  }

  public string(name: string, opts: { required: true; min?: number; max?: number }): string;
  public string(name: string, opts?: { required?: false; min?: number; max?: number }): string | undefined;
  public string(name: string, opts: { required?: boolean; min?: number; max?: number } = {}): string | undefined {
    const v = this.raw(name);
    if (v === undefined || v === null) {
      if (opts.required)
        throw this.fail(`1 validation error detected: Value null at '${name}' failed to satisfy constraint: Member must not be null`);
      return undefined;
    }
    if (typeof v !== 'string') throw this.fail(`${name} must be a string.`);
    if (v.length < (opts.min ?? 0)) throw this.fail(`${name} must be at least ${opts.min ?? 0} characters long.`);
    if (opts.max !== undefined && v.length > opts.max)
      throw this.fail(`${name} is ${v.length} characters long; the maximum is ${opts.max}.`);
    return v;
  }

  public int(name: string, min: number, max: number): number | undefined {
    const v = this.raw(name);
    if (v === undefined || v === null) return undefined;
    const n = typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < min || n > max) {
      throw this.fail(`${name} must be an integer from ${min} to ${max} (given ${JSON.stringify(v)?.slice(0, 40)}).`);
    }
    return n;
  }

  public number(name: string): number | undefined {
    const v = this.raw(name);
    if (v === undefined || v === null) return undefined;
    const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isFinite(n)) throw this.fail(`${name} must be a number.`);
    return n;
  }

  /** Epoch milliseconds from a number, an epoch-seconds number (`seconds`) or an ISO string. */
  public time(name: string, unit: 'ms' | 'seconds'): number | undefined {
    const v = this.raw(name);
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'number' && Number.isFinite(v)) return unit === 'seconds' ? Math.round(v * 1000) : v;
    if (typeof v === 'string') {
      const asNumber = Number(v);
      if (v.trim() !== '' && Number.isFinite(asNumber)) return unit === 'seconds' ? Math.round(asNumber * 1000) : asNumber;
      const t = Date.parse(v);
      if (!Number.isNaN(t)) return t;
    }
    if (v instanceof Date && !Number.isNaN(v.getTime())) return v.getTime();
    // CBOR (Smithy RPC v2) sends timestamps as tag 1: epoch seconds.
    if (v !== null && typeof v === 'object' && (v as { tag?: unknown }).tag === 1) {
      const s = (v as { value?: unknown }).value;
      if (typeof s === 'number' && Number.isFinite(s)) return Math.round(s * 1000);
    }
    throw this.fail(`${name} must be a timestamp.`);
  }

  public boolean(name: string): boolean | undefined {
    const v = this.raw(name);
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'boolean') return v;
    if (v === 'true' || v === 'false') return v === 'true';
    throw this.fail(`${name} must be a boolean.`);
  }

  public list(name: string, max: number): unknown[] | undefined {
    const v = this.raw(name);
    if (v === undefined || v === null) return undefined;
    if (!Array.isArray(v)) throw this.fail(`${name} must be a list.`);
    if (v.length > max) throw this.fail(`${name} has ${v.length} members; the maximum is ${max}.`);
    return v;
  }

  public stringList(name: string, max: number, maxLength = 512): string[] | undefined {
    const l = this.list(name, max);
    if (!l) return undefined;
    return l.map((x, i) => {
      if (typeof x !== 'string' || x.length > maxLength)
        throw this.fail(`${name}[${i}] must be a string of at most ${maxLength} characters.`);
      return x;
    });
  }

  public object(name: string): InputReader | undefined {
    const v = this.raw(name);
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'object' || Array.isArray(v)) throw this.fail(`${name} must be an object.`);
    return new InputReader(v as Input, this.code);
  }
}

/** Opaque paging tokens: base64url JSON, checked on the way back in. */
export function encodeToken(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

export function decodeToken(token: string, fail: () => AwsError): Record<string, unknown> {
  if (token.length > 2048) throw fail();
  try {
    const v = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as unknown;
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // Falls through to the error below.
  }
  throw fail();
}
