/**
 * Policy variables in Resource, NotResource and Condition values: `${aws:username}`,
 * `${aws:PrincipalTag/team}`, a default after a comma (`${aws:PrincipalTag/team, 'none'}`), and
 * the three escapes `${*}`, `${?}` and `${$}` for a literal `*`, `?` and `$`.
 *
 * A template is parsed once into pieces; variables are resolved per request. A variable whose key
 * is absent from the request (or multivalued) and has no default cannot be resolved: the value
 * that holds it matches nothing. Variables are only recognised in policies of version 2012-10-17;
 * in 2008-10-17 `${...}` is literal text.
 * @see https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html
 */
import { PatternPiece, piecesOf } from './wildcard';

/** A piece of a template: text (in which `*` and `?` may be wildcards), an escaped literal, or a variable. */
export type TemplatePiece =
  | { readonly text: string }
  | { readonly literal: string }
  | { readonly variable: string; readonly fallback?: string };

export interface Template {
  readonly source: string;
  readonly pieces: readonly TemplatePiece[];
  /** Whether any piece is a variable, i.e. the template needs a request to resolve. */
  readonly dynamic: boolean;
}

const ESCAPES: Record<string, string> = { '*': '*', '?': '?', $: '$' };
/** `${key}` or `${key, 'default'}`; a quote inside the default is written twice. */
const VARIABLE = /^\$\{\s*([^,}\s]+)\s*(?:,\s*'((?:[^']|'')*)'\s*)?\}/;

/** Parses `source`; with `variables` false (policy version 2008-10-17) the whole text is one piece. */
export function parseTemplate(source: string, variables: boolean): Template {
  if (!variables || !source.includes('${')) return { source, pieces: [{ text: source }], dynamic: false };
  const pieces: TemplatePiece[] = [];
  let text = '';
  let i = 0;
  while (i < source.length) {
    if (source.startsWith('${', i)) {
      const rest = source.slice(i);
      const esc = /^\$\{([*?$])\}/.exec(rest);
      if (esc) {
        if (text) pieces.push({ text });
        text = '';
        pieces.push({ literal: ESCAPES[esc[1] as string] as string });
        i += esc[0].length;
        continue;
      }
      const v = VARIABLE.exec(rest);
      if (v) {
        if (text) pieces.push({ text });
        text = '';
        const fallback = v[2] === undefined ? undefined : v[2].replace(/''/g, "'");
        pieces.push(
          fallback === undefined ? { variable: (v[1] as string).toLowerCase() } : { variable: (v[1] as string).toLowerCase(), fallback },
        );
        i += v[0].length;
        continue;
      }
    }
    text += source[i];
    i++;
  }
  if (text) pieces.push({ text });
  return { source, pieces, dynamic: pieces.some((p) => 'variable' in p) };
}

/** Looks up a context key (lower-case) for a request. */
export type Lookup = (key: string) => string | readonly string[] | undefined;

/**
 * The pattern pieces of `t` for one request: text keeps its wildcards, escapes and resolved
 * variables are literal. Undefined when a variable cannot be resolved.
 */
export function resolvePieces(t: Template, lookup: Lookup | undefined, wildcards: boolean): PatternPiece[] | undefined {
  const out: PatternPiece[] = [];
  for (const p of t.pieces) {
    if ('text' in p) {
      if (wildcards) out.push(...piecesOf(p.text));
      else out.push({ literal: p.text });
    } else if ('literal' in p) {
      out.push({ literal: p.literal });
    } else {
      const value = lookup?.(p.variable);
      if (typeof value === 'string') out.push({ literal: value });
      else if (p.fallback !== undefined) out.push({ literal: p.fallback });
      else return undefined;
    }
  }
  return out;
}

/** The text of `t` for one request, every piece literal; undefined when a variable cannot be resolved. */
export function resolveText(t: Template, lookup: Lookup | undefined): string | undefined {
  if (!t.dynamic && t.pieces.length === 1) {
    const only = t.pieces[0]!;
    return 'text' in only ? only.text : 'literal' in only ? only.literal : undefined;
  }
  const pieces = resolvePieces(t, lookup, false);
  return pieces?.map((p) => ('literal' in p ? p.literal : p.wildcard)).join('');
}
