/**
 * Condition operators, compiled once per policy. One condition block is the AND of its
 * operators and of each operator's keys; the values listed for one key are OR'ed.
 *
 * Absent keys, as the Condition operators page documents: a positive operator is false, a
 * negated one (`StringNotEquals`, `ArnNotLike`, `NotIpAddress`, ...) is true, `...IfExists` is
 * true; `ForAllValues:` is true and `ForAnyValue:` false (the empty set). `Null` tests presence.
 * A multivalued key (typed `ArrayOfString` in the Service Authorization Reference, or given as a
 * list) needs a set operator: a single-valued operator never matches it.
 * @see https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
 * @see https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html
 */
import { Lookup, parseTemplate, resolvePieces, resolveText, Template } from './variables';
import { arnMatcher, Matcher, wildcardMatcher } from './wildcard';
import { PolicyParseError } from './errors';

/** Context keys that are multivalued for the actions that carry them (lower-case). */
export const MULTIVALUED_KEYS: ReadonlySet<string> = new Set([
  'events:source',
  'events:detail-type',
  'kms:encryptioncontextkeys',
  'aws:tagkeys',
  'aws:principalservicenameslist',
  'aws:calledvia',
  'aws:principalorgpaths',
  'aws:resourceorgpaths',
]);

type SetOperator = 'ForAllValues' | 'ForAnyValue' | undefined;

/** Compares one request value with one policy value. */
type Compare = (requestValue: string, lookup: Lookup | undefined) => boolean;

interface OperatorSpec {
  /** Negated operators are true when no policy value matches. */
  readonly negated: boolean;
  /** Builds the comparison with one policy value, or throws a message naming what is wrong. */
  readonly compile: (value: string, variables: boolean) => Compare;
}

function stringCompare(ignoreCase: boolean) {
  return (value: string, variables: boolean): Compare => {
    const t = parseTemplate(value, variables);
    if (!t.dynamic) {
      const fixed = resolveText(t, undefined) as string;
      if (ignoreCase) {
        const lower = fixed.toLowerCase();
        return (v) => v.toLowerCase() === lower;
      }
      return (v) => v === fixed;
    }
    return (v, lookup) => {
      const resolved = resolveText(t, lookup);
      if (resolved === undefined) return false;
      return ignoreCase ? v.toLowerCase() === resolved.toLowerCase() : v === resolved;
    };
  };
}

/** A matcher compiled once when the template is static, per request when it holds variables. */
function patternCompare(build: (t: Template, lookup: Lookup | undefined) => Matcher | undefined) {
  return (value: string, variables: boolean): Compare => {
    const t = parseTemplate(value, variables);
    if (!t.dynamic) {
      const m = build(t, undefined) as Matcher;
      return (v) => m.test(v);
    }
    return (v, lookup) => build(t, lookup)?.test(v) ?? false;
  };
}

const stringLike = patternCompare((t, lookup) => {
  const pieces = resolvePieces(t, lookup, true);
  return pieces && wildcardMatcher(pieces);
});
const arnLike = patternCompare((t, lookup) => {
  const pieces = resolvePieces(t, lookup, true);
  return pieces && arnMatcher(pieces);
});

function numeric(test: (a: number, b: number) => boolean) {
  return (value: string): Compare => {
    const b = parseNumber(value);
    if (b === undefined) throw new Error(`'${value}' is not a number`);
    return (v) => {
      const a = parseNumber(v);
      return a !== undefined && test(a, b);
    };
  };
}

function parseNumber(s: string): number | undefined {
  if (!/^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/.test(s)) return undefined;
  return Number(s);
}

/** Milliseconds since the epoch of an ISO 8601 date or an epoch time in seconds. */
export function parseDate(s: string): number | undefined {
  if (/^\d+$/.test(s)) return Number(s) * 1000;
  if (!/^\d{4}-\d{2}-\d{2}/.test(s)) return undefined;
  const ms = Date.parse(s);
  return Number.isNaN(ms) ? undefined : ms;
}

function date(test: (a: number, b: number) => boolean) {
  return (value: string): Compare => {
    const b = parseDate(value);
    if (b === undefined) throw new Error(`'${value}' is not an ISO 8601 date or epoch time`);
    return (v) => {
      const a = parseDate(v);
      return a !== undefined && test(a, b);
    };
  };
}

function bool(value: string): Compare {
  const want = value.toLowerCase();
  if (want !== 'true' && want !== 'false') throw new Error(`'${value}' is not true or false`);
  return (v) => v.toLowerCase() === want;
}

function binary(value: string): Compare {
  return (v) => v === value;
}

function ipAddress(value: string): Compare {
  const net = parseCidr(value);
  if (!net) throw new Error(`'${value}' is not an IP address or CIDR block`);
  return (v) => {
    const ip = parseIp(v);
    return ip !== undefined && ip.v6 === net.v6 && ip.value >> net.shift === net.prefix;
  };
}

const OPERATORS: ReadonlyMap<string, OperatorSpec> = new Map(
  Object.entries({
    stringequals: { negated: false, compile: stringCompare(false) },
    stringnotequals: { negated: true, compile: stringCompare(false) },
    stringequalsignorecase: { negated: false, compile: stringCompare(true) },
    stringnotequalsignorecase: { negated: true, compile: stringCompare(true) },
    stringlike: { negated: false, compile: stringLike },
    stringnotlike: { negated: true, compile: stringLike },
    numericequals: { negated: false, compile: numeric((a, b) => a === b) },
    numericnotequals: { negated: true, compile: numeric((a, b) => a === b) },
    numericlessthan: { negated: false, compile: numeric((a, b) => a < b) },
    numericlessthanequals: { negated: false, compile: numeric((a, b) => a <= b) },
    numericgreaterthan: { negated: false, compile: numeric((a, b) => a > b) },
    numericgreaterthanequals: { negated: false, compile: numeric((a, b) => a >= b) },
    dateequals: { negated: false, compile: date((a, b) => a === b) },
    datenotequals: { negated: true, compile: date((a, b) => a === b) },
    datelessthan: { negated: false, compile: date((a, b) => a < b) },
    datelessthanequals: { negated: false, compile: date((a, b) => a <= b) },
    dategreaterthan: { negated: false, compile: date((a, b) => a > b) },
    dategreaterthanequals: { negated: false, compile: date((a, b) => a >= b) },
    bool: { negated: false, compile: bool },
    binaryequals: { negated: false, compile: binary },
    ipaddress: { negated: false, compile: ipAddress },
    notipaddress: { negated: true, compile: ipAddress },
    arnequals: { negated: false, compile: arnLike },
    arnlike: { negated: false, compile: arnLike },
    arnnotequals: { negated: true, compile: arnLike },
    arnnotlike: { negated: true, compile: arnLike },
  }),
);

/** One key of one operator: `"StringEquals": { "aws:SourceArn": [...] }`. */
export interface CompiledCondition {
  /** The operator as written, e.g. `ForAnyValue:StringNotEquals`. */
  readonly operator: string;
  /** The key as written. */
  readonly key: string;
  /** The key in lower case, as looked up in the request. */
  readonly lookupKey: string;
  readonly test: (lookup: Lookup) => boolean;
}

/** Compiles one operator/key pair of a Condition block; `where` names it in errors. */
export function compileCondition(operator: string, key: string, raw: unknown, variables: boolean, where: string): CompiledCondition {
  const m = /^(?:(ForAllValues|ForAnyValue):)?(.+?)(IfExists)?$/i.exec(operator);
  const setPart = m?.[1]?.toLowerCase();
  const set: SetOperator = setPart === 'forallvalues' ? 'ForAllValues' : setPart === 'foranyvalue' ? 'ForAnyValue' : undefined;
  const base = (m?.[2] ?? '').toLowerCase();
  const ifExists = m?.[3] !== undefined;
  const values = conditionValues(raw, `${where}.${key}`);
  const lookupKey = key.toLowerCase();

  if (base === 'null') {
    if (set !== undefined || ifExists) throw new PolicyParseError(`${where}: Null takes neither a set operator nor IfExists`);
    const wants = values.map((v) => {
      const lower = v.toLowerCase();
      if (lower !== 'true' && lower !== 'false') throw new PolicyParseError(`${where}.${key}: Null takes "true" or "false", not '${v}'`);
      return lower === 'true';
    });
    return {
      operator,
      key,
      lookupKey,
      test: (lookup) => {
        const absent = isAbsent(lookup(lookupKey));
        return wants.some((w) => w === absent);
      },
    };
  }
  const spec = OPERATORS.get(base);
  if (!spec) throw new PolicyParseError(`${where}: unknown condition operator '${operator}'`);
  const compares = values.map((v) => {
    try {
      return spec.compile(v, variables);
    } catch (e) {
      throw new PolicyParseError(`${where}.${key}: ${(e as Error).message} for ${operator}`);
    }
  });
  const any = (rv: string, lookup: Lookup) => compares.some((c) => c(rv, lookup));
  const one = spec.negated ? (rv: string, lookup: Lookup) => !any(rv, lookup) : any;
  const multivaluedKey = MULTIVALUED_KEYS.has(lookupKey);

  let test: (lookup: Lookup) => boolean;
  if (set === undefined) {
    test = (lookup) => {
      const value = lookup(lookupKey);
      if (isAbsent(value)) return ifExists || spec.negated;
      if (typeof value !== 'string') return false;
      if (multivaluedKey) return false;
      return one(value, lookup);
    };
  } else if (set === 'ForAllValues') {
    test = (lookup) => {
      const value = lookup(lookupKey);
      if (isAbsent(value)) return true;
      return asList(value).every((rv) => one(rv, lookup));
    };
  } else {
    test = (lookup) => {
      const value = lookup(lookupKey);
      if (isAbsent(value)) return ifExists;
      return asList(value).some((rv) => one(rv, lookup));
    };
  }
  return { operator, key, lookupKey, test };
}

const isAbsent = (v: string | readonly string[] | undefined): v is undefined =>
  v === undefined || (typeof v !== 'string' && v.length === 0);
const asList = (v: string | readonly string[]): readonly string[] => (typeof v === 'string' ? [v] : v);

function conditionValues(raw: unknown, where: string): string[] {
  const list = Array.isArray(raw) ? raw : [raw];
  return list.map((v) => {
    if (typeof v === 'string') return v;
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
    throw new PolicyParseError(`${where}: a condition value must be a string, number or boolean, not ${JSON.stringify(v) ?? typeof v}`);
  });
}

// ---- IP addresses ----

interface Ip {
  readonly v6: boolean;
  readonly value: bigint;
}

function parseIp(s: string): Ip | undefined {
  const v4 = parseIpv4(s);
  if (v4 !== undefined) return { v6: false, value: v4 };
  const v6 = parseIpv6(s);
  return v6 === undefined ? undefined : { v6: true, value: v6 };
}

function parseIpv4(s: string): bigint | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return undefined;
  let out = 0n;
  for (let i = 1; i <= 4; i++) {
    const n = Number(m[i]);
    if (n > 255) return undefined;
    out = (out << 8n) | BigInt(n);
  }
  return out;
}

function parseIpv6(s: string): bigint | undefined {
  if (!/^[0-9a-fA-F:.]+$/.test(s) || s.length > 45) return undefined;
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const groups = (part: string): number[] | undefined => {
    if (part === '') return [];
    const out: number[] = [];
    const items = part.split(':');
    for (let i = 0; i < items.length; i++) {
      const item = items[i] as string;
      if (i === items.length - 1 && item.includes('.')) {
        const v4 = parseIpv4(item);
        if (v4 === undefined) return undefined;
        out.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
      } else if (/^[0-9a-fA-F]{1,4}$/.test(item)) {
        out.push(parseInt(item, 16));
      } else {
        return undefined;
      }
    }
    return out;
  };
  const head = groups(halves[0] as string);
  const tail = halves.length === 2 ? groups(halves[1] as string) : [];
  if (!head || !tail) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const all = [...head, ...new Array<number>(missing).fill(0), ...tail];
  return all.reduce((acc, g) => (acc << 16n) | BigInt(g), 0n);
}

function parseCidr(s: string): { v6: boolean; prefix: bigint; shift: bigint } | undefined {
  const [addr, bits, ...rest] = s.split('/');
  if (rest.length > 0 || addr === undefined) return undefined;
  const ip = parseIp(addr);
  if (!ip) return undefined;
  const width = ip.v6 ? 128 : 32;
  const len = bits === undefined ? width : /^\d{1,3}$/.test(bits) ? Number(bits) : NaN;
  if (!(len >= 0 && len <= width)) return undefined;
  const shift = BigInt(width - len);
  return { v6: ip.v6, prefix: ip.value >> shift, shift };
}
