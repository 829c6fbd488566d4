/**
 * A sample value for a JSON Schema (an event type's detail, from `detailJsonSchema`), built the
 * same way every time: the first enum value or `const`, the first branch of a union, the least
 * length or count a bound allows, numbers at their minimum (or 1), fixed times and ids for
 * formats. Every property is filled, optional ones included, so a sample shows the whole shape.
 * The caller validates the result with the zod schema: a pattern this cannot satisfy is reported,
 * not hidden.
 */
type Schema = Record<string, unknown>;

const FORMATS: Record<string, string> = {
  'date-time': '2026-01-15T10:00:00.000Z',
  date: '2026-01-15',
  time: '10:00:00',
  email: 'applicant@example.com',
  uuid: '00000000-0000-4000-8000-000000000000',
  uri: 'https://example.com/',
  url: 'https://example.com/',
};

const isSchema = (v: unknown): v is Schema => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Depth past which nested or recursive schemas stop (an empty object or null). */
const MAX_DEPTH = 32;

export function sampleOf(schema: unknown, root: unknown = schema, key = 'value', depth = 0): unknown {
  if (!isSchema(schema) || depth > MAX_DEPTH) return null;
  const ref = schema.$ref;
  if (typeof ref === 'string' && ref.startsWith('#/')) {
    let target: unknown = root;
    for (const part of ref.slice(2).split('/')) target = isSchema(target) && Object.hasOwn(target, part) ? target[part] : undefined;
    return sampleOf(target, root, key, depth + 1);
  }
  if ('const' in schema) return schema.const;
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return schema.enum[0];
  for (const union of ['anyOf', 'oneOf'] as const) {
    const branches = schema[union];
    if (Array.isArray(branches) && branches.length > 0) {
      // Prefer a branch that is not null, so the sample shows the field's shape.
      const branch = branches.find((b) => !(isSchema(b) && b.type === 'null')) ?? branches[0];
      return sampleOf(branch, root, key, depth + 1);
    }
  }
  if (Array.isArray(schema.allOf) && schema.allOf.length > 0) {
    const parts = schema.allOf.map((s) => sampleOf(s, root, key, depth + 1));
    return parts.every(isSchema) ? Object.assign({}, ...parts) : parts[0];
  }
  const type = Array.isArray(schema.type) ? (schema.type.find((t) => t !== 'null') ?? schema.type[0]) : schema.type;
  switch (type) {
    case 'object': {
      const out: Record<string, unknown> = {};
      const props = isSchema(schema.properties) ? schema.properties : {};
      for (const [k, v] of Object.entries(props))
        Object.defineProperty(out, k, { value: sampleOf(v, root, k, depth + 1), enumerable: true, writable: true, configurable: true });
      return out;
    }
    case 'array': {
      const min = typeof schema.minItems === 'number' ? schema.minItems : 1;
      return Array.from({ length: Math.min(Math.max(min, 1), 100) }, () => sampleOf(schema.items, root, key, depth + 1));
    }
    case 'string': {
      if (typeof schema.format === 'string' && FORMATS[schema.format]) return FORMATS[schema.format];
      if (typeof schema.pattern === 'string') {
        const fromPattern = sampleOfPattern(schema.pattern);
        if (fromPattern !== undefined) return fromPattern;
      }
      const min = typeof schema.minLength === 'number' ? schema.minLength : 1;
      const max = typeof schema.maxLength === 'number' ? schema.maxLength : Infinity;
      let s = `sample-${key}`;
      while (s.length < min) s += 'x';
      return s.slice(0, Math.max(min, Math.min(s.length, max)));
    }
    case 'integer':
    case 'number': {
      const int = type === 'integer';
      if (typeof schema.minimum === 'number') return int ? Math.ceil(schema.minimum) : schema.minimum;
      if (typeof schema.exclusiveMinimum === 'number') return int ? Math.floor(schema.exclusiveMinimum) + 1 : schema.exclusiveMinimum + 1;
      if (typeof schema.maximum === 'number' && schema.maximum < 1) return int ? Math.floor(schema.maximum) : schema.maximum;
      return 1;
    }
    case 'boolean':
      return false;
    case 'null':
      return null;
    default:
      return null;
  }
}

/**
 * The shortest string of a simple pattern (literals, escapes, character classes, and the
 * quantifiers `? * + {n} {n,m}`), checked against the pattern; undefined for anything else
 * (groups, alternation, lookarounds).
 */
export function sampleOfPattern(pattern: string): string | undefined {
  let out = '';
  let i = pattern.startsWith('^') ? 1 : 0;
  const end = pattern.endsWith('$') && !pattern.endsWith('\\$') ? pattern.length - 1 : pattern.length;
  while (i < end) {
    let atom: string;
    const c = pattern[i]!;
    if (c === '[') {
      const close = pattern.indexOf(']', i + 2);
      if (close < 0 || pattern[i + 1] === '^') return undefined;
      atom = pattern[i + 1] === '\\' ? (pattern[i + 2] === 'd' ? '0' : (pattern[i + 2] ?? '')) : pattern[i + 1]!;
      i = close + 1;
    } else if (c === '\\') {
      const e = pattern[i + 1] ?? '';
      atom = e === 'd' ? '0' : e === 'w' ? 'a' : e === 's' ? ' ' : /[A-Za-z]/.test(e) ? '' : e;
      if (atom === '' && e !== '') return undefined;
      i += 2;
    } else if ('()|.'.includes(c)) return undefined;
    else {
      atom = c;
      i++;
    }
    let times = 1;
    const q = pattern[i];
    if (q === '?' || q === '*') {
      times = 0;
      i++;
    } else if (q === '+') i++;
    else if (q === '{') {
      const m = /^\{(\d+)(,\d*)?\}/.exec(pattern.slice(i));
      if (!m) return undefined;
      times = Number(m[1]);
      i += m[0].length;
    }
    out += atom.repeat(times);
  }
  try {
    return new RegExp(pattern).test(out) ? out : undefined;
  } catch {
    return undefined;
  }
}
