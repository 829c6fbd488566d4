/**
 * Event pattern compiler. It reads the pattern text token by token, in the same order and with
 * the same checks as event-ruler's JsonRuleCompiler (the engine EventBridge runs), so that the
 * first problem found, and its message, are the ones AWS reports.
 * See https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html
 */
import { PatternReason } from './errors';
import { JsonTokenizer, Tok } from './json';
import { comparableNumber, IpRange, ipToHex, looksLikeIp, parseCidr, parseWildcard, Wildcard, wildcardComplexity } from './values';

/** One condition on one field value. `key` identifies equal conditions, so rules can share them. */
export type Matcher =
  | { readonly kind: 'string'; readonly key: string; readonly value: string }
  | { readonly kind: 'number'; readonly key: string; readonly value: number }
  /** A number literal EventBridge cannot compare (e.g. 1E-325): matched by its text only. */
  | { readonly kind: 'numtext'; readonly key: string; readonly value: string }
  | { readonly kind: 'literal'; readonly key: string; readonly value: 'true' | 'false' | 'null' }
  | { readonly kind: 'prefix' | 'suffix'; readonly key: string; readonly value: string }
  | { readonly kind: 'prefix-ic' | 'suffix-ic' | 'equals-ic'; readonly key: string; readonly value: string }
  | { readonly kind: 'wildcard'; readonly key: string; readonly value: string; readonly w: Wildcard }
  | {
      readonly kind: 'numeric';
      readonly key: string;
      readonly lo: number;
      readonly loOpen: boolean;
      readonly hi: number;
      readonly hiOpen: boolean;
    }
  | { readonly kind: 'ip'; readonly key: string; readonly range: IpRange }
  | { readonly kind: 'exists'; readonly key: string; readonly value: boolean }
  | { readonly kind: 'not-strings'; readonly key: string; readonly values: ReadonlySet<string> }
  | { readonly kind: 'not-numbers'; readonly key: string; readonly values: ReadonlySet<number> }
  | { readonly kind: 'not-prefix' | 'not-suffix' | 'not-ic'; readonly key: string; readonly values: readonly string[] }
  | { readonly kind: 'not-wildcard'; readonly key: string; readonly values: readonly Wildcard[] };

/** The conditions on one field path: the field matches when any of them does. */
export interface FieldCondition {
  /** Dotted path, e.g. `detail.amount`; nested and dotted keys name the same path. */
  readonly path: string;
  readonly matchers: readonly Matcher[];
  /** The pattern's array for this field, as written (for messages). */
  readonly source: string;
}

/** A conjunction of field conditions, sorted by path; a pattern is a disjunction of branches ($or). */
export type Branch = readonly FieldCondition[];

/**
 * Hard limit on the pattern text: the EventPattern member of PutRule and TestEventPattern is at
 * most 4096 characters (the default bus quota is 2048, raisable to 4096).
 * https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutRule.html
 */
export const MAX_PATTERN_LENGTH = 4096;

/**
 * Wildcard complexity ceiling: EventBridge rejects a wildcard whose automaton can be in more than
 * this many states at once ("Rule is too complex ..."). AWS does not publish the number; it is set
 * between recorded cases: `*:*:*:*:*:event-bus/*` (12) is rejected and
 * `/Users/*\/dir/dir/dir/dir/dir/doc.txt` (8) accepted.
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html#eb-filtering-wildcard-matching
 */
export const MAX_WILDCARD_COMPLEXITY = 10;

const OR = '$or';
const RESERVED_IN_OR = new Set([
  'exact',
  'equals-ignore-case',
  'prefix',
  'suffix',
  'anything-but',
  'exists',
  'wildcard',
  'numeric',
  'cidr',
  '=',
  '<',
  '<=',
  '>',
  '>=',
  'regex',
  'not-wildcard',
  'not-equals-ignore-case',
  'date-after',
  'date-on-or-after',
  'date-before',
  'date-on-or-before',
  'in-date-range',
  'ip-address-in-range',
  'ip-address-not-in-range',
]);

type Rule = Map<string, FieldCondition>;

/** Compiles pattern text; throws PatternReason with event-ruler's message when it is not valid. */
export function compilePattern(text: string): Branch[] {
  if (text.length > MAX_PATTERN_LENGTH) {
    throw new PatternReason(`Event pattern exceeds the maximum length of ${MAX_PATTERN_LENGTH} characters`);
  }
  const tz = new JsonTokenizer(text);
  if (tz.next() !== Tok.StartObject) throw new PatternReason('Filter is not an object');
  const rules: Rule[] = [];
  parseObject(tz, rules, [], false);
  return rules.map((r) => [...r.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)));
}

function parseObject(tz: JsonTokenizer, rules: Rule[], path: string[], inOr: boolean): void {
  let fieldsPresent = false;
  while (tz.next() !== Tok.EndObject) {
    fieldsPresent = true;
    const step = tz.text;
    if (step === OR) {
      parseOr(tz, rules, path);
      continue;
    }
    if (inOr && RESERVED_IN_OR.has(step)) {
      throw new PatternReason(`${step} is Ruler reserved fieldName which cannot be used inside ${OR}.`);
    }
    const t = tz.next();
    if (t === Tok.StartObject) {
      path.push(step);
      parseObject(tz, rules, path, inOr);
      path.pop();
    } else if (t === Tok.StartArray) {
      writeRules(tz, rules, [...path, step].join('.'));
    } else {
      throw new PatternReason(`"${step}" must be an object or an array`);
    }
  }
  if (!fieldsPresent) throw new PatternReason('Empty objects are not allowed');
}

function parseOr(tz: JsonTokenizer, rules: Rule[], path: string[]): void {
  const current = rules.map((r) => new Map(r));
  rules.length = 0;
  if (tz.next() !== Tok.StartArray) throw new PatternReason(`It must be an Array followed with ${OR}.`);
  let count = 0;
  for (let t = tz.next(); t !== Tok.EndArray; t = tz.next()) {
    count++;
    if (t !== Tok.StartObject) {
      throw new PatternReason(`Only JSON object is allowed in array of ${OR} relationship.`);
    }
    const forked = current.map((r) => new Map(r));
    if (forked.length === 0) forked.push(new Map());
    parseObject(tz, forked, path, true);
    rules.push(...forked);
  }
  if (count < 2) throw new PatternReason(`There must have at least 2 Objects in ${OR} relationship.`);
}

function writeRules(tz: JsonTokenizer, rules: Rule[], name: string): void {
  const start = tz.tokenStart;
  const matchers: Matcher[] = [];
  for (let t = tz.next(); t !== Tok.EndArray; t = tz.next()) {
    switch (t) {
      case Tok.StartObject:
        matchers.push(matchExpression(tz));
        break;
      case Tok.String: {
        const ip = looksLikeIp(tz.text) ? ipToHex(tz.text) : undefined;
        // event-ruler turns an IP address literal into a one-address range, so other spellings of
        // the same address match too.
        if (ip !== undefined) matchers.push({ kind: 'ip', key: `ip:${ip}-${ip}`, range: { lo: ip, hi: ip } });
        else matchers.push(exactString(tz.text));
        break;
      }
      case Tok.Number:
        matchers.push(exactNumber(tz.text));
        break;
      case Tok.True:
      case Tok.False:
      case Tok.Null: {
        const v = tz.text as 'true' | 'false' | 'null';
        matchers.push({ kind: 'literal', key: `l:${v}`, value: v });
        break;
      }
      default:
        throw new PatternReason('Match value must be String, number, true, false, or null');
    }
  }
  if (matchers.length === 0) throw new PatternReason('Empty arrays are not allowed');
  const cond: FieldCondition = { path: name, matchers, source: tz.src.slice(start, tz.offset) };
  if (rules.length === 0) rules.push(new Map());
  // A repeated key overrides the earlier one, as Jackson-based parsing in EventBridge does.
  for (const r of rules) {
    r.delete(name);
    r.set(name, cond);
  }
}

function exactString(s: string): Matcher {
  return { kind: 'string', key: `s:${s}`, value: s };
}

function exactNumber(raw: string): Matcher {
  const n = comparableNumber(raw);
  if (n === undefined) return { kind: 'numtext', key: `t:${raw}`, value: raw };
  return { kind: 'number', key: `n:${String(n)}`, value: n };
}

function expectString(tz: JsonTokenizer, message: string): string {
  if (tz.next() !== Tok.String) throw new PatternReason(message);
  return tz.text;
}

function endOfExpression(tz: JsonTokenizer): void {
  if (tz.next() !== Tok.EndObject) throw new PatternReason('Only one key allowed in match expression');
}

function matchExpression(tz: JsonTokenizer): Matcher {
  if (tz.next() !== Tok.FieldName) throw new PatternReason('Match expression name not found');
  const op = tz.text;
  switch (op) {
    case 'exact': {
      const m = exactString(expectString(tz, 'exact match pattern must be a string'));
      endOfExpression(tz);
      return m;
    }
    case 'prefix':
    case 'suffix': {
      const t = tz.next();
      if (t === Tok.StartObject) return ignoreCaseAffix(tz, op);
      if (t !== Tok.String) throw new PatternReason(`${op} match pattern must be a string`);
      const v = tz.text;
      endOfExpression(tz);
      return { kind: op, key: `${op}:${v}`, value: v };
    }
    case 'numeric': {
      if (tz.next() !== Tok.StartArray) throw new PatternReason('Value of numeric must be an array.');
      const m = numericExpression(tz);
      if (tz.next() !== Tok.EndObject) throw new PatternReason('Too many elements in numeric expression');
      return m;
    }
    case 'anything-but':
      return anythingBut(tz);
    case 'exists': {
      const t = tz.next();
      if (t !== Tok.True && t !== Tok.False) throw new PatternReason('exists match pattern must be either true or false.');
      endOfExpression(tz);
      return { kind: 'exists', key: `e:${t === Tok.True}`, value: t === Tok.True };
    }
    case 'cidr': {
      // event-ruler reports a non-string cidr operand with the prefix message.
      const range = parseCidr(expectString(tz, 'prefix match pattern must be a string'));
      endOfExpression(tz);
      return { kind: 'ip', key: `ip:${range.lo}-${range.hi}`, range };
    }
    case 'equals-ignore-case': {
      const v = expectString(tz, 'equals-ignore-case match pattern must be a string');
      endOfExpression(tz);
      return { kind: 'equals-ic', key: `eic:${v.toLowerCase()}`, value: v };
    }
    case 'wildcard': {
      const v = expectString(tz, 'wildcard match pattern must be a string');
      const w = checkedWildcard(v);
      endOfExpression(tz);
      return { kind: 'wildcard', key: `w:${v}`, value: v, w };
    }
    default:
      throw new PatternReason(`Unrecognized match type ${op}`);
  }
}

function checkedWildcard(v: string): Wildcard {
  const w = parseWildcard(v);
  if (wildcardComplexity(w) > MAX_WILDCARD_COMPLEXITY) {
    throw new PatternReason(
      'Rule is too complex - try using fewer wildcard characters or fewer repeating character sequences after a wildcard character',
    );
  }
  return w;
}

function ignoreCaseAffix(tz: JsonTokenizer, op: 'prefix' | 'suffix'): Matcher {
  const label = op === 'prefix' ? 'Prefix' : 'Suffix';
  if (tz.next() !== Tok.FieldName) throw new PatternReason(`${label} expression name not found`);
  if (tz.text !== 'equals-ignore-case') throw new PatternReason(`Unsupported ${op} pattern: ${tz.text}`);
  const v = expectString(tz, 'equals-ignore-case match pattern must be a string');
  endOfExpression(tz);
  endOfExpression(tz);
  const kind = op === 'prefix' ? 'prefix-ic' : 'suffix-ic';
  return { kind, key: `${kind}:${v.toLowerCase()}`, value: v };
}

function numberOperand(tz: JsonTokenizer, t: Tok, op: string): number {
  if (t !== Tok.Number) throw new PatternReason(`Value of ${op} must be numeric`);
  const n = comparableNumber(tz.text);
  if (n === undefined) throw new PatternReason(`Cannot compare number : ${tz.text}`);
  return n;
}

function numericExpression(tz: JsonTokenizer): Matcher {
  if (tz.next() !== Tok.String) throw new PatternReason(`Invalid member in numeric match: ${tz.text}`);
  const op = tz.text;
  const tooMany = () => new PatternReason('Too many elements in numeric expression');
  switch (op) {
    case '=': {
      const n = numberOperand(tz, tz.next(), 'equals');
      if (tz.next() !== Tok.EndArray) throw tooMany();
      return { kind: 'number', key: `n:${String(n)}`, value: n };
    }
    case '>=':
    case '>': {
      const lo = numberOperand(tz, tz.next(), op);
      const t = tz.next();
      if (t === Tok.EndArray) return range(lo, op === '>', Infinity, false);
      if (t !== Tok.String) throw new PatternReason(`Bad value in numeric range: ${tz.text}`);
      const op2 = tz.text;
      if (op2 !== '<' && op2 !== '<=') throw new PatternReason(`Bad numeric range operator: ${op2}`);
      const hi = numberOperand(tz, tz.next(), op2);
      if (tz.next() !== Tok.EndArray) throw new PatternReason('Too many terms in numeric range expression');
      if (!(lo < hi)) throw new PatternReason('Bottom must be less than top');
      return range(lo, op === '>', hi, op2 === '<');
    }
    case '<=':
    case '<': {
      const hi = numberOperand(tz, tz.next(), op);
      if (tz.next() !== Tok.EndArray) throw tooMany();
      return range(-Infinity, false, hi, op === '<');
    }
    default:
      throw new PatternReason(`Unrecognized numeric range operator: ${op}`);
  }
}

function range(lo: number, loOpen: boolean, hi: number, hiOpen: boolean): Matcher {
  const key = `r:${loOpen ? '(' : '['}${String(lo)},${String(hi)}${hiOpen ? ')' : ']'}`;
  return { kind: 'numeric', key, lo, loOpen, hi, hiOpen };
}

type NotKind = 'not-ic' | 'not-prefix' | 'not-suffix' | 'not-wildcard';

function anythingBut(tz: JsonTokenizer): Matcher {
  let t = tz.next();
  let kind: NotKind | undefined;
  if (t === Tok.StartObject) {
    if (tz.next() !== Tok.FieldName) throw new PatternReason('Anything-But expression name not found');
    switch (tz.text) {
      case 'equals-ignore-case':
        kind = 'not-ic';
        break;
      case 'prefix':
        kind = 'not-prefix';
        break;
      case 'suffix':
        kind = 'not-suffix';
        break;
      case 'wildcard':
        kind = 'not-wildcard';
        break;
      default:
        throw new PatternReason(`Unsupported anything-but pattern: ${tz.text}`);
    }
    t = tz.next();
  }
  if (t !== Tok.StartArray && t !== Tok.String && t !== Tok.Number) {
    throw new PatternReason('Value of anything-but must be an array or single string/number value.');
  }
  const m = kind === undefined ? anythingButValues(tz, t) : anythingButOperands(tz, t, kind);
  if (tz.next() !== Tok.EndObject) throw new PatternReason('Too many elements in numeric expression');
  if (kind !== undefined && tz.next() !== Tok.EndObject) {
    throw new PatternReason('Too many elements in numeric expression');
  }
  return m;
}

function anythingButValues(tz: JsonTokenizer, first: Tok): Matcher {
  const strings = new Set<string>();
  const numbers = new Set<number>();
  const add = (t: Tok, inList: boolean) => {
    if (t === Tok.String) strings.add(tz.text);
    else if (t === Tok.Number) {
      const n = comparableNumber(tz.text);
      if (n === undefined) throw new PatternReason(`Cannot compare number : ${tz.text}`);
      numbers.add(n);
    } else if (inList) {
      throw new PatternReason('Inside anything but list, start|null|boolean is not supported.');
    } else {
      throw new PatternReason('Inside anything-but list, start|null|boolean is not supported.');
    }
  };
  if (first === Tok.StartArray) {
    for (let t = tz.next(); t !== Tok.EndArray; t = tz.next()) add(t, true);
    if (strings.size > 0 === numbers.size > 0) {
      throw new PatternReason('Inside anything but list, either all values are number or string, mixed type is not supported');
    }
  } else add(first, false);
  if (numbers.size > 0) {
    return { kind: 'not-numbers', key: `!n:${[...numbers].map(String).sort().join('\u0000')}`, values: numbers };
  }
  return { kind: 'not-strings', key: `!s:${[...strings].sort().join('\u0000')}`, values: strings };
}

function anythingButOperands(tz: JsonTokenizer, first: Tok, kind: NotKind): Matcher {
  const values: string[] = [];
  const add = (t: Tok) => {
    if (t !== Tok.String) {
      if (kind === 'not-ic') {
        throw new PatternReason('Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported.');
      }
      if (kind === 'not-wildcard') throw new PatternReason('wildcard match pattern must be a string');
      throw new PatternReason('prefix/suffix match pattern must be a string');
    }
    if ((kind === 'not-prefix' || kind === 'not-suffix') && tz.text === '') {
      throw new PatternReason('Null prefix/suffix not allowed');
    }
    values.push(kind === 'not-ic' ? tz.text.toLowerCase() : tz.text);
  };
  if (first === Tok.StartArray) {
    for (let t = tz.next(); t !== Tok.EndArray; t = tz.next()) add(t);
  } else add(first);
  const unique = [...new Set(values)].sort();
  const key = `!${kind}:${unique.join('\u0000')}`;
  if (kind === 'not-wildcard') return { kind, key, values: unique.map(checkedWildcard) };
  return { kind, key, values: unique };
}
