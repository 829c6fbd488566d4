/**
 * Member types of each operation's input, checked before the operation runs, so that a number
 * where a name belongs, or an object where a number belongs, is the caller's error (naming the
 * member) and never a TypeError deep inside the runtime. Only the members an operation reads
 * are listed; unknown members are ignored, as AWS JSON services ignore them.
 */

/**
 * `s` string, `i` integer (a number, or a numeric string from the query protocol), `t`
 * timestamp (epoch seconds or a date string), `b` boolean, `S` list of strings, `M` map of
 * scalars, `A` map of structures, or a nested shape (an object: a structure; in an array of
 * one: a list of such structures).
 */
export type MemberType = 's' | 'i' | 't' | 'b' | 'S' | 'M' | 'A' | Shape | [Shape];
export interface Shape {
  [member: string]: MemberType;
}

/** Where a member has the wrong type: `Entries.2.Time`, and what it should be. */
export interface ShapeMismatch {
  field: string;
  expected: string;
}

const EXPECTED: Record<string, string> = {
  s: 'a string',
  i: 'an integer',
  t: 'a timestamp',
  b: 'a boolean',
  S: 'a list of strings',
  M: 'a map of strings',
  A: 'a map of structures',
};

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const isScalar = (v: unknown) => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';

/** The first member whose type does not match, or undefined. Absent and null members match. */
export function checkShape(input: Record<string, unknown>, shape: Shape, path = ''): ShapeMismatch | undefined {
  for (const [name, type] of Object.entries(shape)) {
    const v = input[name];
    if (v === undefined || v === null) continue;
    const field = path ? `${path}.${name}` : name;
    const bad = mismatch(v, type, field);
    if (bad) return bad;
  }
  return undefined;
}

function mismatch(v: unknown, type: MemberType, field: string): ShapeMismatch | undefined {
  const fail = (expected: string) => ({ field, expected });
  if (Array.isArray(type)) {
    if (!Array.isArray(v)) return fail('a list of structures');
    for (let i = 0; i < v.length; i++) {
      if (!isObject(v[i])) return { field: `${field}.${i}`, expected: 'a structure' };
      const bad = checkShape(v[i] as Record<string, unknown>, type[0], `${field}.${i}`);
      if (bad) return bad;
    }
    return undefined;
  }
  if (typeof type === 'object') return isObject(v) ? checkShape(v, type, field) : fail('a structure');
  switch (type) {
    case 's':
      return typeof v === 'string' ? undefined : fail(EXPECTED.s!);
    case 'i':
      return typeof v === 'number' || typeof v === 'string' ? undefined : fail(EXPECTED.i!);
    case 't':
      return typeof v === 'number' || typeof v === 'string' ? undefined : fail(EXPECTED.t!);
    case 'b':
      return typeof v === 'boolean' || v === 'true' || v === 'false' ? undefined : fail(EXPECTED.b!);
    case 'S':
      return Array.isArray(v) && v.every((x) => typeof x === 'string') ? undefined : fail(EXPECTED.S!);
    case 'M':
      return isObject(v) && Object.values(v).every((x) => x === null || isScalar(x)) ? undefined : fail(EXPECTED.M!);
    case 'A':
      return isObject(v) && Object.values(v).every(isObject) ? undefined : fail(EXPECTED.A!);
  }
}
