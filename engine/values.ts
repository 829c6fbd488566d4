/**
 * Value semantics shared by the compiler and the matcher: which numbers EventBridge can compare,
 * IP addresses for `cidr`, and `wildcard` strings.
 */
import { PatternReason } from './errors';

/**
 * The double EventBridge compares a number literal as, or undefined when it cannot compare it.
 * event-ruler (ComparableNumber.generate) accepts a literal only when its decimal value equals the
 * decimal value of the nearest double exactly, so `1E-325`, `1E309` and literals with more digits
 * than a double holds are compared only as text.
 */
export function comparableNumber(raw: string): number | undefined {
  const d = Number(raw);
  if (!Number.isFinite(d)) return undefined;
  // `+ 0` turns -0 into 0: event-ruler reads the literal as a BigDecimal, which has no negative zero.
  return normalizeDecimal(raw) === normalizeDecimal(String(d)) ? d + 0 : undefined;
}

/** A decimal literal as `[-]digits e exponent` with no leading or trailing zeros; zero is "0". */
function normalizeDecimal(s: string): string {
  let i = 0;
  let neg = false;
  if (s[0] === '-') {
    neg = true;
    i = 1;
  }
  const ePos = s.search(/[eE]/);
  const mant = ePos < 0 ? s.slice(i) : s.slice(i, ePos);
  let exp = ePos < 0 ? 0 : parseInt(s.slice(ePos + 1), 10);
  const dot = mant.indexOf('.');
  const intPart = dot < 0 ? mant : mant.slice(0, dot);
  const frac = dot < 0 ? '' : mant.slice(dot + 1);
  let digits = intPart + frac;
  exp += intPart.length;
  let lead = 0;
  while (lead < digits.length && digits.charCodeAt(lead) === 0x30) lead++;
  digits = digits.slice(lead);
  exp -= lead;
  digits = digits.replace(/0+$/, '');
  if (digits === '') return '0';
  return `${neg ? '-' : ''}${digits}e${exp}`;
}

const IPV4 = /^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$/;
const IPV6 = /^[0-9a-fA-F:]*:[0-9a-fA-F:]*$/;

/** True when the text has the shape event-ruler treats as an IP address literal. */
export function looksLikeIp(s: string): boolean {
  return IPV4.test(s) || IPV6.test(s);
}

/**
 * The address as an upper-case hex string (8 digits for IPv4, 32 for IPv6), or undefined when
 * the text is not a valid literal. IPv4-mapped IPv6 addresses become IPv4, as Java's
 * InetAddress (which EventBridge uses) returns them.
 */
export function ipToHex(s: string): string | undefined {
  if (IPV4.test(s)) {
    const parts = s.split('.');
    let out = '';
    for (const p of parts) {
      if (p.length > 3) return undefined;
      const n = parseInt(p, 10);
      if (n > 255) return undefined;
      out += hex2(n);
    }
    return out;
  }
  if (!IPV6.test(s)) return undefined;
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const [before = '', after] = halves;
  const head = before === '' ? [] : before.split(':');
  const tail = after === undefined || after === '' ? [] : after.split(':');
  let groups: string[];
  if (halves.length === 2) {
    const fill = 8 - head.length - tail.length;
    if (fill < 1) return undefined;
    groups = [...head, ...new Array<string>(fill).fill('0'), ...tail];
  } else {
    groups = head;
  }
  if (groups.length !== 8) return undefined;
  let out = '';
  for (const g of groups) {
    if (g.length === 0 || g.length > 4) return undefined;
    out += g.toUpperCase().padStart(4, '0');
  }
  if (out.startsWith('00000000000000000000FFFF')) return out.slice(24);
  return out;
}

function hex2(n: number): string {
  return (n < 16 ? '0' : '') + n.toString(16).toUpperCase();
}

/** An inclusive range of addresses of one family, as hex strings of equal length. */
export interface IpRange {
  readonly lo: string;
  readonly hi: string;
}

/** Compiles a `cidr` operand with event-ruler's checks and messages (CIDR.cidr). */
export function parseCidr(cidr: string): IpRange {
  const slashed = javaSplit(cidr, '/');
  const [ip, bitsText] = slashed;
  if (slashed.length !== 2 || ip === undefined || bitsText === undefined) throw new PatternReason("Malformed CIDR, one '/' required");
  if (!/^[+-]?[0-9]+$/.test(bitsText)) throw new PatternReason('Malformed CIDR, mask bits must be an integer');
  const maskBits = parseInt(bitsText, 10);
  if (maskBits > 2147483647 || maskBits < -2147483648) {
    throw new PatternReason('Malformed CIDR, mask bits must be an integer');
  }
  if (maskBits < 0) throw new PatternReason('Malformed CIDR, mask bits must not be negative');
  if (!looksLikeIp(ip)) throw new PatternReason(`Nonstandard IP address: ${ip}`);
  const lo = ipToHex(ip);
  if (lo === undefined) throw new PatternReason(`Invalid IP address: ${ip}`);
  const bits = lo.length * 4;
  if (bits === 32 && maskBits > 31) throw new PatternReason('IPv4 mask bits must be < 32');
  if (bits === 128 && maskBits > 127) throw new PatternReason('IPv6 mask bits must be < 128');
  let bottom = '';
  let top = '';
  for (let i = 0; i < lo.length; i++) {
    const hostBits = Math.min(4, Math.max(0, i * 4 + 4 - maskBits));
    const host = (1 << hostBits) - 1;
    const v = parseInt(lo[i]!, 16);
    bottom += (v & ~host).toString(16).toUpperCase();
    top += (v | host).toString(16).toUpperCase();
  }
  return { lo: bottom, hi: top };
}

/** Java's String.split: trailing empty strings are dropped. */
function javaSplit(s: string, sep: string): string[] {
  const parts = s.split(sep);
  while (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
  return parts.length === 0 ? [''] : parts;
}

/** A compiled `wildcard` operand: literal pieces between unescaped `*`. */
export interface Wildcard {
  readonly pieces: readonly string[];
}

/**
 * Parses a wildcard operand as event-ruler's WildcardParser does. Positions in the messages are
 * UTF-8 byte offsets in the quoted value, as event-ruler reports them.
 */
export function parseWildcard(text: string): Wildcard {
  const pieces: string[] = [];
  let cur = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '*') {
      if (text[i + 1] === '*') {
        throw new PatternReason(`Consecutive wildcard characters at pos ${bytePos(text, i)}`);
      }
      pieces.push(cur);
      cur = '';
    } else if (c === '\\') {
      const n = text[i + 1];
      if (n === '*' || n === '\\') {
        cur += n;
        i++;
      } else {
        throw new PatternReason(`Invalid escape character at pos ${bytePos(text, i)}`);
      }
    } else {
      cur += c;
    }
  }
  pieces.push(cur);
  return { pieces };
}

function bytePos(text: string, i: number): number {
  // +1 for the opening quote event-ruler adds before parsing.
  return Buffer.byteLength(text.slice(0, i), 'utf8') + 1;
}

/** Glob match with `*` only; leftmost placement of each middle piece is optimal, so no backtracking. */
export function wildcardMatches(w: Wildcard, s: string): boolean {
  const p = w.pieces;
  if (p.length === 1) return s === p[0];
  // parseWildcard always gives at least one piece.
  const first = p[0]!;
  const last = p[p.length - 1]!;
  if (s.length < first.length + last.length) return false;
  if (!s.startsWith(first) || !s.endsWith(last)) return false;
  let pos = first.length;
  const end = s.length - last.length;
  for (let i = 1; i < p.length - 1; i++) {
    const piece = p[i]!;
    if (piece === '') continue;
    const at = s.indexOf(piece, pos);
    if (at < 0 || at + piece.length > end) return false;
    pos = at + piece.length;
  }
  return true;
}

/**
 * The most NFA states a wildcard pattern can be in at once over any input: the measure behind
 * EventBridge's "Rule is too complex" rejection (event-ruler's MachineComplexityEvaluator counts
 * the wildcard-pattern states a traversal can occupy simultaneously).
 */
export function wildcardComplexity(w: Wildcard): number {
  // Positions: after each star k, the automaton may be anywhere inside piece k+1. The worst case
  // input keeps one position alive per star whose following piece can restart on the same text.
  // Simulate over inputs built from the pattern's own characters, breadth-first over state sets.
  const pat: Array<string | null> = [];
  w.pieces.forEach((piece, i) => {
    if (i > 0) pat.push(null);
    for (const ch of piece) pat.push(ch);
  });
  const alphabet = new Set<string>();
  for (const c of pat) if (c !== null) alphabet.add(c);
  alphabet.add('\u0000');
  const closure = (set: Set<number>): Set<number> => {
    const out = new Set<number>();
    for (let s of set) {
      out.add(s);
      while (pat[s] === null) out.add(++s);
    }
    return out;
  };
  const step = (set: Set<number>, ch: string): Set<number> => {
    const next = new Set<number>();
    for (const s of set) {
      if (s >= pat.length) continue;
      if (pat[s] === null) next.add(s);
      else if (pat[s] === ch) next.add(s + 1);
    }
    return closure(next);
  };
  const keyOf = (set: Set<number>) => [...set].sort((a, b) => a - b).join(',');
  let frontier = [closure(new Set([0]))];
  const seen = new Set(frontier.map(keyOf));
  let max = 0;
  while (frontier.length > 0 && seen.size < 5000) {
    const next: Array<Set<number>> = [];
    for (const set of frontier) {
      let live = 0;
      for (const s of set) if (s < pat.length) live++;
      max = Math.max(max, live);
      for (const ch of alphabet) {
        const n = step(set, ch);
        const k = keyOf(n);
        if (n.size > 0 && !seen.has(k)) {
          seen.add(k);
          next.push(n);
        }
      }
    }
    frontier = next;
  }
  return max;
}
