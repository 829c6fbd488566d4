/**
 * CloudWatch Logs filter patterns: one parser and one matcher for the three documented forms,
 * used by FilterLogEvents, metric filters and (later) subscription filters.
 *
 * - Terms: `ERROR`, `"Task failed"`, `ERROR -Exiting`, `?ERROR ?WARN` (a `?` starts an OR group;
 *   the terms after it, up to the next `?`, belong to that group). Case-sensitive substrings.
 * - JSON: `{ $.eventSource = "events.amazonaws.com" && $.errorCode = "AccessDenied*" }`, with
 *   `=`/`!=` on strings (with `*` wildcards), `=`, `!=`, `<`, `<=`, `>`, `>=` on numbers,
 *   `IS TRUE`, `IS FALSE`, `IS NULL`, `NOT EXISTS`, `&&`, `||`, parentheses and `$.a[0].b`.
 * - Space-delimited: `[ip, user, status = 4*, size > 1000, ...]`.
 *
 * Matching never backtracks: wildcards are matched segment by segment with indexOf, so the cost
 * is linear in the message for a given pattern, whatever a hostile pattern contains.
 * @see https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html
 */
import { AwsError } from '../errors';

/** FilterPattern's documented maximum length (PutMetricFilter, FilterLogEvents). */
export const MAX_FILTER_PATTERN_LENGTH = 1024;
/** Our bound on parenthesis nesting, so a hostile pattern cannot exhaust the stack. */
export const MAX_FILTER_PATTERN_DEPTH = 32;
/** Our bound on the conditions of one pattern. */
export const MAX_FILTER_PATTERN_TERMS = 128;

export type Comparator = '=' | '!=' | '<' | '<=' | '>' | '>=';

/** A value on the right of a comparison: a number, or a string that may hold `*` wildcards. */
export type Operand = { readonly kind: 'number'; readonly value: number } | { readonly kind: 'string'; readonly value: string };

/** A path into a JSON document: `$.a.b[0]` is ['a', 'b', 0]. */
export type JsonPath = readonly (string | number)[];

export type JsonExpr =
  | { readonly kind: 'and' | 'or'; readonly left: JsonExpr; readonly right: JsonExpr }
  | { readonly kind: 'compare'; readonly path: JsonPath; readonly op: Comparator; readonly operand: Operand }
  | { readonly kind: 'is'; readonly path: JsonPath; readonly test: 'TRUE' | 'FALSE' | 'NULL' | 'NOT EXISTS' };

export interface TermGroup {
  readonly include: readonly string[];
  readonly exclude: readonly string[];
}

export interface DelimitedField {
  readonly name: string;
  readonly condition?: { readonly op: Comparator; readonly operand: Operand };
}

export type FilterPattern =
  | { readonly kind: 'all' }
  /** Any group matches; a group matches when all its include terms and none of its exclude terms occur. */
  | { readonly kind: 'terms'; readonly groups: readonly TermGroup[] }
  /**
   * `required`: clauses of literals, each clause needing one of its literals in the raw line; a
   * cheap test that skips JSON.parse for most lines a metric filter does not match.
   */
  | { readonly kind: 'json'; readonly expr: JsonExpr; readonly required: readonly (readonly string[])[] }
  /** `...` at either end lets the message have more fields there. */
  | {
      readonly kind: 'delimited';
      readonly fields: readonly DelimitedField[];
      readonly openStart: boolean;
      readonly openEnd: boolean;
    };

const invalid = (message: string) => new AwsError('InvalidParameterException', message);

/** Parses a filter pattern, or throws InvalidParameterException naming the problem and its position. */
export function parseFilterPattern(text: string): FilterPattern {
  if (typeof text !== 'string') throw invalid('filterPattern must be a string');
  if (text.length > MAX_FILTER_PATTERN_LENGTH) {
    throw invalid(`filterPattern is ${text.length} characters long; the maximum is ${MAX_FILTER_PATTERN_LENGTH}`);
  }
  const t = text.trim();
  if (t === '' || t === '""' || t === '" "') return { kind: 'all' };
  if (t.startsWith('{')) {
    const expr = new JsonParser(t).parse();
    return { kind: 'json', expr, required: requiredLiterals(expr) };
  }
  if (t.startsWith('[')) return parseDelimited(t);
  return parseTerms(t);
}

// ---------------------------------------------------------------------------------------------
// Terms

function parseTerms(t: string): FilterPattern {
  const groups: { include: string[]; exclude: string[] }[] = [];
  let current: { include: string[]; exclude: string[] } | undefined;
  let count = 0;
  let i = 0;
  while (i < t.length) {
    if (t[i] === ' ' || t[i] === '\t') {
      i++;
      continue;
    }
    let prefix = '';
    if (t[i] === '?' || t[i] === '-') {
      prefix = t[i]!;
      i++;
      while (t[i] === ' ') i++;
    }
    let term: string;
    if (t[i] === '"') {
      const end = readQuoted(t, i);
      term = end.value;
      i = end.next;
    } else {
      const start = i;
      while (i < t.length && t[i] !== ' ' && t[i] !== '\t') i++;
      term = t.slice(start, i);
    }
    if (term === '') throw invalid(`filterPattern: expected a term after '${prefix}' at position ${i}`);
    if (++count > MAX_FILTER_PATTERN_TERMS) throw invalid(`filterPattern has more than ${MAX_FILTER_PATTERN_TERMS} terms`);
    if (prefix === '?' || current === undefined) {
      current = { include: [], exclude: [] };
      groups.push(current);
    }
    (prefix === '-' ? current.exclude : current.include).push(term);
  }
  return { kind: 'terms', groups };
}

/** Reads a double-quoted string starting at `i` (the quote); `\"` and `\\` are escapes. */
function readQuoted(t: string, i: number): { value: string; next: number } {
  let value = '';
  let j = i + 1;
  while (j < t.length && t[j] !== '"') {
    if (t[j] === '\\' && j + 1 < t.length) j++;
    value += t[j];
    j++;
  }
  if (j >= t.length) throw invalid(`filterPattern: unterminated quoted string starting at position ${i}`);
  return { value, next: j + 1 };
}

// ---------------------------------------------------------------------------------------------
// JSON

type Token =
  | { readonly t: 'path'; readonly path: JsonPath; readonly at: number }
  | { readonly t: 'op'; readonly op: Comparator; readonly at: number }
  | { readonly t: '&&' | '||' | '(' | ')' | '{' | '}'; readonly at: number }
  | { readonly t: 'string'; readonly value: string; readonly quoted: boolean; readonly at: number };

class JsonParser {
  private readonly tokens: Token[];
  private pos = 0;
  private depth = 0;
  private conditions = 0;

  public constructor(private readonly text: string) {
    this.tokens = tokenizeJson(text);
  }

  public parse(): JsonExpr {
    this.expect('{');
    const expr = this.or();
    this.expect('}');
    const rest = this.tokens[this.pos];
    if (rest) throw invalid(`filterPattern: unexpected text after '}' at position ${rest.at}`);
    return expr;
  }

  private peek(): Token | undefined {
    return this.tokens[this.pos];
  }

  private expect(kind: Token['t']): Token {
    const tok = this.tokens[this.pos];
    if (!tok || tok.t !== kind) {
      throw invalid(`filterPattern: expected '${kind}' at position ${tok ? tok.at : this.text.length}`);
    }
    this.pos++;
    return tok;
  }

  private or(): JsonExpr {
    let left = this.and();
    while (this.peek()?.t === '||') {
      this.pos++;
      left = { kind: 'or', left, right: this.and() };
    }
    return left;
  }

  private and(): JsonExpr {
    let left = this.primary();
    while (this.peek()?.t === '&&') {
      this.pos++;
      left = { kind: 'and', left, right: this.primary() };
    }
    return left;
  }

  private primary(): JsonExpr {
    const tok = this.peek();
    if (tok?.t === '(') {
      if (++this.depth > MAX_FILTER_PATTERN_DEPTH) {
        throw invalid(`filterPattern nests parentheses more than ${MAX_FILTER_PATTERN_DEPTH} deep`);
      }
      this.pos++;
      const inner = this.or();
      this.expect(')');
      this.depth--;
      return inner;
    }
    if (tok?.t !== 'path') throw invalid(`filterPattern: expected a selector such as $.field at position ${tok?.at ?? this.text.length}`);
    this.pos++;
    if (++this.conditions > MAX_FILTER_PATTERN_TERMS) throw invalid(`filterPattern has more than ${MAX_FILTER_PATTERN_TERMS} conditions`);
    const next = this.peek();
    if (next?.t === 'string' && !next.quoted && (next.value === 'IS' || next.value === 'NOT')) {
      this.pos++;
      const word = this.peek();
      this.pos++;
      const w = word?.t === 'string' && !word.quoted ? word.value : '';
      if (next.value === 'IS' && (w === 'TRUE' || w === 'FALSE' || w === 'NULL')) return { kind: 'is', path: tok.path, test: w };
      if (next.value === 'NOT' && w === 'EXISTS') return { kind: 'is', path: tok.path, test: 'NOT EXISTS' };
      throw invalid(`filterPattern: expected IS TRUE, IS FALSE, IS NULL or NOT EXISTS at position ${next.at}`);
    }
    if (next?.t !== 'op') throw invalid(`filterPattern: expected a comparison operator at position ${next?.at ?? this.text.length}`);
    this.pos++;
    const value = this.peek();
    if (value?.t !== 'string') throw invalid(`filterPattern: expected a value at position ${value?.at ?? this.text.length}`);
    this.pos++;
    return { kind: 'compare', path: tok.path, op: next.op, operand: toOperand(value.value, value.quoted, next.op, value.at) };
  }
}

function toOperand(raw: string, quoted: boolean, op: Comparator, at: number): Operand {
  if (!quoted && raw !== '' && /^-?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(raw)) return { kind: 'number', value: Number(raw) };
  if (op !== '=' && op !== '!=') throw invalid(`filterPattern: '${op}' needs a numeric value (at position ${at})`);
  return { kind: 'string', value: raw };
}

const OPS: readonly Comparator[] = ['!=', '<=', '>=', '=', '<', '>'];

function tokenizeJson(text: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
    } else if (c === '{' || c === '}' || c === '(' || c === ')') {
      out.push({ t: c, at: i });
      i++;
    } else if (text.startsWith('&&', i) || text.startsWith('||', i)) {
      out.push({ t: text.slice(i, i + 2) as '&&' | '||', at: i });
      i += 2;
    } else if (c === '$') {
      const r = readPath(text, i);
      out.push({ t: 'path', path: r.path, at: i });
      i = r.next;
    } else if (c === '"') {
      const r = readQuoted(text, i);
      out.push({ t: 'string', value: r.value, quoted: true, at: i });
      i = r.next;
    } else {
      const op = OPS.find((o) => text.startsWith(o, i));
      if (op) {
        out.push({ t: 'op', op, at: i });
        i += op.length;
        continue;
      }
      const start = i;
      while (i < text.length && !/[\s{}()=!<>&|"]/.test(text[i]!)) i++;
      if (i === start) throw invalid(`filterPattern: unexpected '${c}' at position ${i}`);
      out.push({ t: 'string', value: text.slice(start, i), quoted: false, at: start });
    }
  }
  return out;
}

/** `$.a.b[0]["c d"]`-style selectors; `$` alone is the whole document. */
function readPath(text: string, i: number): { path: JsonPath; next: number } {
  const path: (string | number)[] = [];
  let j = i + 1;
  for (;;) {
    if (text[j] === '.') {
      const start = ++j;
      while (j < text.length && /[A-Za-z0-9_\-@$]/.test(text[j]!)) j++;
      if (j === start) throw invalid(`filterPattern: expected a field name after '.' at position ${j}`);
      path.push(text.slice(start, j));
    } else if (text[j] === '[') {
      const close = text.indexOf(']', j);
      if (close < 0) throw invalid(`filterPattern: unterminated '[' at position ${j}`);
      const inner = text.slice(j + 1, close).trim();
      if (/^\d+$/.test(inner)) path.push(Number(inner));
      else if (/^"[^"]*"$/.test(inner) || /^'[^']*'$/.test(inner)) path.push(inner.slice(1, -1));
      else throw invalid(`filterPattern: array index must be a number (at position ${j})`);
      j = close + 1;
    } else {
      break;
    }
    if (path.length > MAX_FILTER_PATTERN_DEPTH) throw invalid(`filterPattern: selector deeper than ${MAX_FILTER_PATTERN_DEPTH}`);
  }
  return { path, next: j };
}

/**
 * Literals a matching line must contain, as clauses (one literal of each clause must occur):
 * from `=` comparisons on strings, the longest piece between wildcards, when it is made of
 * characters JSON never escapes. `a && b` needs the clauses of both; `a || b` needs one literal
 * from the first clause of either. Anything else requires nothing.
 */
function requiredLiterals(expr: JsonExpr): string[][] {
  switch (expr.kind) {
    case 'and':
      return [...requiredLiterals(expr.left), ...requiredLiterals(expr.right)];
    case 'or': {
      const l = requiredLiterals(expr.left);
      const r = requiredLiterals(expr.right);
      return l[0] && r[0] ? [[...l[0], ...r[0]]] : [];
    }
    case 'compare': {
      if (expr.op !== '=' || expr.operand.kind !== 'string') return [];
      const piece = expr.operand.value.split('*').reduce((a, b) => (b.length > a.length ? b : a), '');
      return piece.length >= 3 && /^[A-Za-z0-9 ._:/@#-]+$/.test(piece) ? [[piece]] : [];
    }
    case 'is':
      return [];
  }
}

// ---------------------------------------------------------------------------------------------
// Space-delimited

function parseDelimited(t: string): FilterPattern {
  if (!t.endsWith(']')) throw invalid("filterPattern: a space-delimited pattern must end with ']'");
  const parts = t
    .slice(1, -1)
    .split(',')
    .map((p) => p.trim());
  if (parts.length > MAX_FILTER_PATTERN_TERMS) throw invalid(`filterPattern has more than ${MAX_FILTER_PATTERN_TERMS} fields`);
  const openStart = parts[0] === '...';
  const openEnd = parts.length > 1 && parts[parts.length - 1] === '...';
  const inner = parts.slice(openStart ? 1 : 0, openEnd ? -1 : undefined);
  const fields = inner.map((p, k): DelimitedField => {
    if (p === '...') throw invalid("filterPattern: '...' may only be the first or last field");
    const m = /^([A-Za-z_][A-Za-z0-9_]*)\s*(?:(!=|<=|>=|=|<|>)\s*(.+))?$/.exec(p);
    if (!m) throw invalid(`filterPattern: field ${k + 1} ('${p}') is not a name or 'name <op> value'`);
    if (m[2] === undefined) return { name: m[1]! };
    let raw = m[3]!.trim();
    const quoted = raw.startsWith('"');
    if (quoted) raw = readQuoted(raw, 0).value;
    return { name: m[1]!, condition: { op: m[2] as Comparator, operand: toOperand(raw, quoted, m[2] as Comparator, 0) } };
  });
  return { kind: 'delimited', fields, openStart, openEnd };
}

/** Splits a log line into space-delimited fields; "quoted" and [bracketed] runs are one field. */
export function splitDelimited(message: string): string[] {
  const out: string[] = [];
  let i = 0;
  const n = message.length;
  while (i < n) {
    while (i < n && message[i] === ' ') i++;
    if (i >= n) break;
    const open = message[i];
    if (open === '"' || open === '[') {
      const close = message.indexOf(open === '"' ? '"' : ']', i + 1);
      const end = close < 0 ? n : close;
      out.push(message.slice(i + 1, end));
      i = end + 1;
    } else {
      const start = i;
      while (i < n && message[i] !== ' ') i++;
      out.push(message.slice(start, i));
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Matching

/** `*` matches any run of characters; compared piece by piece with indexOf, never backtracking. */
export function wildcardMatch(pattern: string, value: string): boolean {
  if (!pattern.includes('*')) return pattern === value;
  const pieces = pattern.split('*');
  const first = pieces[0]!;
  const last = pieces[pieces.length - 1]!;
  if (value.length < first.length + last.length) return false;
  if (!value.startsWith(first) || !value.endsWith(last)) return false;
  let at = first.length;
  const stop = value.length - last.length;
  for (let k = 1; k < pieces.length - 1; k++) {
    const piece = pieces[k]!;
    if (piece === '') continue;
    const found = value.indexOf(piece, at);
    if (found < 0 || found + piece.length > stop) return false;
    at = found + piece.length;
  }
  return true;
}

const MISSING = Symbol('missing');

/** The value at `path`, or MISSING. Own properties only, so `__proto__` selects nothing. */
export function selectPath(doc: unknown, path: JsonPath): unknown {
  let cur: unknown = doc;
  for (const key of path) {
    if (typeof key === 'number') {
      if (!Array.isArray(cur) || key >= cur.length) return MISSING;
      cur = cur[key];
    } else {
      if (cur === null || typeof cur !== 'object' || Array.isArray(cur) || !Object.prototype.hasOwnProperty.call(cur, key)) {
        return MISSING;
      }
      cur = (cur as Record<string, unknown>)[key];
    }
  }
  return cur;
}

function compare(actual: unknown, op: Comparator, operand: Operand): boolean {
  if (actual === MISSING) return false;
  if (operand.kind === 'number') {
    const n = typeof actual === 'number' ? actual : typeof actual === 'string' && actual.trim() !== '' ? Number(actual) : NaN;
    if (Number.isNaN(n)) return op === '!=' && actual !== null && typeof actual !== 'object';
    switch (op) {
      case '=':
        return n === operand.value;
      case '!=':
        return n !== operand.value;
      case '<':
        return n < operand.value;
      case '<=':
        return n <= operand.value;
      case '>':
        return n > operand.value;
      case '>=':
        return n >= operand.value;
    }
  }
  // Strings compare with scalars in their text form; objects and arrays never equal a string.
  if (actual === null || typeof actual === 'object') return op === '!=';
  const eq = wildcardMatch(operand.value, String(actual));
  return op === '=' ? eq : !eq;
}

function evalJson(expr: JsonExpr, doc: unknown): boolean {
  switch (expr.kind) {
    case 'and':
      return evalJson(expr.left, doc) && evalJson(expr.right, doc);
    case 'or':
      return evalJson(expr.left, doc) || evalJson(expr.right, doc);
    case 'compare':
      return compare(selectPath(doc, expr.path), expr.op, expr.operand);
    case 'is': {
      const v = selectPath(doc, expr.path);
      if (expr.test === 'NOT EXISTS') return v === MISSING;
      if (expr.test === 'NULL') return v === null;
      return v === (expr.test === 'TRUE');
    }
  }
}

/** The message parsed as a JSON object (or array), or undefined. */
export function parseJsonMessage(message: string): unknown {
  const s = message.trimStart();
  if (s[0] !== '{' && s[0] !== '[') return undefined;
  try {
    return JSON.parse(message) as unknown;
  } catch {
    return undefined;
  }
}

/** The named fields of a space-delimited match, or undefined when the message does not match. */
export function matchDelimited(p: Extract<FilterPattern, { kind: 'delimited' }>, message: string): Record<string, string> | undefined {
  const values = splitDelimited(message);
  const n = p.fields.length;
  if (values.length < n || (!p.openStart && !p.openEnd && values.length !== n)) return undefined;
  // With `...` at the start the named fields are the last ones; otherwise the first ones.
  const offset = p.openStart && !p.openEnd ? values.length - n : 0;
  const named: Record<string, string> = Object.create(null) as Record<string, string>;
  for (let k = 0; k < n; k++) {
    const f = p.fields[k]!;
    const v = values[offset + k]!;
    if (f.condition && !compare(v, f.condition.op, f.condition.operand)) return undefined;
    named[f.name] = v;
  }
  return named;
}

/** True when the message matches the pattern. */
export function matchesFilterPattern(p: FilterPattern, message: string): boolean {
  switch (p.kind) {
    case 'all':
      return true;
    case 'terms':
      return p.groups.some((g) => g.include.every((t) => message.includes(t)) && !g.exclude.some((t) => message.includes(t)));
    case 'json': {
      // A line that spells characters as \u escapes may hide a literal: no shortcut for those.
      if (p.required.length > 0 && !message.includes('\\u') && !p.required.every((c) => c.some((lit) => message.includes(lit))))
        return false;
      const doc = parseJsonMessage(message);
      return doc !== undefined && evalJson(p.expr, doc);
    }
    case 'delimited':
      return matchDelimited(p, message) !== undefined;
  }
}

/** A compiled matcher, as the log store and metric filters use it. */
export function compileFilterPattern(text: string): (message: string) => boolean {
  const p = parseFilterPattern(text);
  return (message) => matchesFilterPattern(p, message);
}

// ---------------------------------------------------------------------------------------------
// Metric filters

/** A metric transformation as PutMetricFilter and AWS::Logs::MetricFilter declare it. */
export interface MetricTransformation {
  readonly metricNamespace: string;
  readonly metricName: string;
  /** `1`, a number, `$.field` (JSON patterns) or `$name` (space-delimited patterns). */
  readonly metricValue: string;
  readonly defaultValue?: number;
  /** Dimension name to `$.field` / `$name`; at most three. */
  readonly dimensions?: Readonly<Record<string, string>>;
  readonly unit?: string;
}

/** A datapoint a metric filter extracted from one log event. */
export interface ExtractedDatapoint {
  readonly namespace: string;
  readonly metricName: string;
  readonly value: number;
  readonly dimensions: Readonly<Record<string, string>>;
  readonly unit?: string;
}

/**
 * What one log event contributes to a metric filter's metric: the extracted value when it
 * matches, the default value when it does not and one is set, else nothing. A matching event
 * whose value field is missing or not numeric contributes nothing, as on AWS; dimensions whose
 * field is missing drop the datapoint as well.
 */
export function applyMetricFilter(
  pattern: FilterPattern,
  transformation: MetricTransformation,
  message: string,
): ExtractedDatapoint | undefined {
  const base = { namespace: transformation.metricNamespace, metricName: transformation.metricName };
  const unit = transformation.unit ? { unit: transformation.unit } : {};
  let lookup: ((ref: string) => unknown) | undefined;
  let matched: boolean;
  if (pattern.kind === 'json') {
    matched = matchesFilterPattern(pattern, message);
    const doc = matched ? parseJsonMessage(message) : undefined;
    lookup = (ref) => (ref.startsWith('$') ? selectPath(doc, parseRef(ref)) : MISSING);
  } else if (pattern.kind === 'delimited') {
    const named = matchDelimited(pattern, message);
    matched = named !== undefined;
    lookup = (ref) => (named && ref.startsWith('$') && Object.hasOwn(named, ref.slice(1)) ? named[ref.slice(1)] : MISSING);
  } else {
    matched = matchesFilterPattern(pattern, message);
    lookup = () => MISSING;
  }
  if (!matched) {
    return transformation.defaultValue !== undefined ? { ...base, value: transformation.defaultValue, dimensions: {}, ...unit } : undefined;
  }
  const raw = transformation.metricValue.trim();
  const v = raw.startsWith('$') ? lookup(raw) : raw;
  const value = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  if (!Number.isFinite(value)) return undefined;
  const dimensions: Record<string, string> = {};
  for (const [name, ref] of Object.entries(transformation.dimensions ?? {})) {
    const d = lookup(ref);
    if (d === MISSING || d === null || typeof d === 'object') return undefined;
    dimensions[name] = String(d);
  }
  return { ...base, value, dimensions, ...unit };
}

function parseRef(ref: string): JsonPath {
  const r = readPath(ref, 0);
  if (r.next !== ref.length) throw invalid(`metricValue '${ref}' is not a selector such as $.field`);
  return r.path;
}

/** Checks a transformation when a metric filter is created, naming the field at fault. */
export function validateMetricTransformation(pattern: FilterPattern, t: MetricTransformation): void {
  const dims = Object.keys(t.dimensions ?? {});
  if (dims.length > 3) throw invalid(`metricTransformations.dimensions has ${dims.length} entries; the maximum is 3`);
  if (dims.length > 0 && t.defaultValue !== undefined) {
    throw invalid('metricTransformations: defaultValue and dimensions cannot be used together');
  }
  for (const ref of [t.metricValue, ...Object.values(t.dimensions ?? {})]) {
    if (!ref.trim().startsWith('$')) continue;
    if (pattern.kind === 'json') parseRef(ref.trim());
    else if (pattern.kind === 'delimited') {
      if (!pattern.fields.some((f) => `$${f.name}` === ref.trim())) throw invalid(`'${ref}' names no field of the filter pattern`);
    } else throw invalid(`'${ref}' needs a JSON or space-delimited filter pattern`);
  }
  if (!t.metricValue.trim().startsWith('$') && !Number.isFinite(Number(t.metricValue))) {
    throw invalid(`metricTransformations.metricValue '${t.metricValue}' is neither a number nor a selector`);
  }
}
