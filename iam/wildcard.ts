/**
 * Wildcard matching as IAM does it: `*` matches any run of characters (also none), `?` exactly
 * one. Patterns are compiled once into a small object with a `test` method; a pattern without a
 * wildcard compares strings, which is the common case and the fastest. Wildcard patterns are
 * matched without regular expressions, in time bounded by pattern length x value length.
 *
 * ARN patterns (Resource, NotResource, ArnLike, ArnEquals, ...) are matched component by
 * component: the first five `:`-separated components (arn, partition, service, region, account)
 * each on their own, so a wildcard never spans a colon there, and the rest (the resource, which
 * may itself contain colons) as one component.
 * @see https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html
 * @see https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_ARN
 */

export interface Matcher {
  /** The pattern as written in the policy (after policy variables were substituted). */
  readonly pattern: string;
  test(value: string): boolean;
}

/** A piece of a pattern: literal text, or one of the two wildcards. */
export type PatternPiece = { readonly literal: string } | { readonly wildcard: '*' | '?' };

/** The pieces of a pattern in which `*` and `?` are wildcards. */
export function piecesOf(pattern: string): PatternPiece[] {
  const out: PatternPiece[] = [];
  let literal = '';
  for (const ch of pattern) {
    if (ch === '*' || ch === '?') {
      if (literal) out.push({ literal });
      literal = '';
      out.push({ wildcard: ch });
    } else {
      literal += ch;
    }
  }
  if (literal) out.push({ literal });
  return out;
}

const hasWildcard = (pieces: readonly PatternPiece[]) => pieces.some((p) => 'wildcard' in p);
const textOf = (pieces: readonly PatternPiece[]) => pieces.map((p) => ('literal' in p ? p.literal : p.wildcard)).join('');

/** A compiled glob: literal characters, `*` and `?` tokens. */
type Glob = readonly (string | typeof STAR | typeof ONE)[];
const STAR = 0;
const ONE = 1;

function globOf(pieces: readonly PatternPiece[], lower: boolean): Glob {
  const out: (string | 0 | 1)[] = [];
  for (const p of pieces) {
    if ('wildcard' in p) {
      // Consecutive stars are one star.
      if (p.wildcard === '*' && out[out.length - 1] === STAR) continue;
      out.push(p.wildcard === '*' ? STAR : ONE);
    } else {
      const text = lower ? p.literal.toLowerCase() : p.literal;
      for (let i = 0; i < text.length; i++) out.push(text[i] as string);
    }
  }
  return out;
}

/**
 * Whether `value` (from `from` to `to`) matches `glob`. The classic greedy algorithm that only
 * ever backtracks to the last star: O(pattern x value) in the worst case, never exponential,
 * whatever a hostile pattern looks like. Characters are compared as UTF-16 code units, except
 * that `?` takes a whole surrogate pair.
 */
function globMatch(glob: Glob, value: string, from = 0, to = value.length): boolean {
  let p = 0;
  let v = from;
  let starP = -1;
  let starV = 0;
  while (v < to) {
    const g = glob[p];
    if (g === ONE || (typeof g === 'string' && g === value[v])) {
      p++;
      v += g === ONE ? codeUnits(value, v) : 1;
    } else if (g === STAR) {
      starP = p++;
      starV = v;
    } else if (starP >= 0) {
      p = starP + 1;
      starV += codeUnits(value, starV);
      v = starV;
    } else {
      return false;
    }
  }
  while (glob[p] === STAR) p++;
  return p === glob.length && v === to;
}

const codeUnits = (s: string, i: number) => {
  const c = s.charCodeAt(i);
  return c >= 0xd800 && c <= 0xdbff && i + 1 < s.length ? 2 : 1;
};

const ALWAYS = (pattern: string): Matcher => ({ pattern, test: () => true });

/** A matcher for a whole-string wildcard pattern (StringLike, Action). */
export function wildcardMatcher(pieces: readonly PatternPiece[], ignoreCase = false): Matcher {
  const pattern = textOf(pieces);
  if (pieces.length === 1 && 'wildcard' in pieces[0]! && pieces[0].wildcard === '*') return ALWAYS(pattern);
  if (!hasWildcard(pieces)) {
    if (ignoreCase) {
      const lower = pattern.toLowerCase();
      return { pattern, test: (v) => v.length === lower.length && v.toLowerCase() === lower };
    }
    return { pattern, test: (v) => v === pattern };
  }
  const glob = globOf(pieces, ignoreCase);
  return { pattern, test: (v) => globMatch(glob, ignoreCase ? v.toLowerCase() : v) };
}

/** A matcher for a whole-string pattern in which `*` and `?` are wildcards. */
export function wildcard(pattern: string, ignoreCase = false): Matcher {
  return wildcardMatcher(piecesOf(pattern), ignoreCase);
}

/**
 * Splits an ARN into its six components; the sixth keeps any further colons. Returns undefined
 * when the value has fewer than six components.
 */
export function arnComponents(value: string): string[] | undefined {
  const parts: string[] = [];
  let start = 0;
  for (let i = 0; i < 5; i++) {
    const colon = value.indexOf(':', start);
    if (colon < 0) return undefined;
    parts.push(value.slice(start, colon));
    start = colon + 1;
  }
  parts.push(value.slice(start));
  return parts;
}

/**
 * A matcher for an ARN pattern. In the first five components a wildcard stays within its
 * component; the sixth is matched as a whole. A pattern without five colons (`*`, a bare name)
 * is matched as a whole string.
 */
export function arnMatcher(pieces: readonly PatternPiece[]): Matcher {
  const pattern = textOf(pieces);
  if (pieces.length === 1 && 'wildcard' in pieces[0]! && pieces[0].wildcard === '*') return ALWAYS(pattern);
  if (!hasWildcard(pieces)) return { pattern, test: (v) => v === pattern };
  // Split the pieces at the first five literal colons.
  const components: PatternPiece[][] = [[]];
  for (const piece of pieces) {
    if ('wildcard' in piece || components.length === 6) {
      components[components.length - 1]!.push(piece);
      continue;
    }
    const segments = piece.literal.split(':');
    segments.forEach((text, i) => {
      if (i > 0) {
        if (components.length < 6) components.push([]);
        else text = `:${text}`;
      }
      if (text) components[components.length - 1]!.push({ literal: text });
    });
  }
  if (components.length < 6) {
    const glob = globOf(pieces, false);
    return { pattern, test: (v) => globMatch(glob, v) };
  }
  const globs = components.map((c) => globOf(c, false));
  return {
    pattern,
    test: (v) => {
      // Each of the first five components on its own, so that a wildcard never spans a colon.
      let start = 0;
      for (let i = 0; i < 5; i++) {
        const colon = v.indexOf(':', start);
        if (colon < 0 || !globMatch(globs[i]!, v, start, colon)) return false;
        start = colon + 1;
      }
      return globMatch(globs[5]!, v, start);
    },
  };
}

/** A matcher for an ARN pattern in which `*` and `?` are wildcards. */
export function arnWildcard(pattern: string): Matcher {
  return arnMatcher(piecesOf(pattern));
}
