/**
 * Reading events: JSON text to values (once), and the leaf values of an event at the field paths
 * rules use.
 */
import { MalformedEventError, PatternReason } from './errors';
import { parseJsonPreservingNumbers, RawNumber } from './json';
import { comparableNumber } from './values';

/**
 * Text that may hold a number JSON.parse would change: a value starting with 16+ digits or dots
 * (more significant digits than a double keeps) or with a three-digit exponent (outside the double
 * range). Such text is parsed by our own reader, which keeps each literal; everything else takes
 * the much faster JSON.parse. The test may also fire inside a string, which only costs time.
 */
const RISKY_NUMBERS = /[:,[]\s*-?(?:[\d.]{16}|[\d.]+[eE][+-]?\d{3})/;

/** Parses event text; throws MalformedEventError when it is not JSON. */
export function parseEventText(text: string): unknown {
  return parseWith(text, mayHoldInexactNumbers(text));
}

/** Whether the text may hold a number literal JSON.parse would change (see RISKY_NUMBERS). */
export function mayHoldInexactNumbers(text: string): boolean {
  return RISKY_NUMBERS.test(text);
}

/**
 * Parses event text with JSON.parse, or with the reader that keeps number literals; throws
 * MalformedEventError when it is not JSON.
 */
export function parseWith(text: string, keepNumberLiterals: boolean): unknown {
  try {
    return keepNumberLiterals ? parseJsonPreservingNumbers(text) : JSON.parse(text);
  } catch (e) {
    // RangeError: nesting deeper than the stack; PutEvents itself stops at 1,100 levels.
    if (e instanceof SyntaxError || e instanceof PatternReason || e instanceof RangeError) throw new MalformedEventError();
    throw e;
  }
}

/** The kind of a leaf value; the matcher switches on it. */
export const enum Kind {
  String,
  Number,
  True,
  False,
  Null,
}

/**
 * The array elements a leaf sits in, innermost first. EventBridge matches the fields of one
 * rule against values from the same element of an array of objects ("array consistency").
 */
export interface ArrayPos {
  readonly array: number;
  readonly index: number;
  readonly up: ArrayPos | null;
}

/** One leaf value of the event. `num` is NaN for a number EventBridge cannot compare. */
export interface Leaf {
  kind: Kind;
  str: string;
  num: number;
  pos: ArrayPos | null;
}

/** Classifies one JSON value into `leaf`; returns false for objects and arrays. */
export function toLeaf(v: unknown, leaf: Leaf): boolean {
  switch (typeof v) {
    case 'string':
      leaf.kind = Kind.String;
      leaf.str = v;
      leaf.num = NaN;
      return true;
    case 'number':
      leaf.kind = Kind.Number;
      // -0 is 0, as the JSON text "-0" is to event-ruler (BigDecimal has no negative zero).
      leaf.num = v + 0;
      leaf.str = String(v);
      return true;
    case 'boolean':
      leaf.kind = v ? Kind.True : Kind.False;
      leaf.str = v ? 'true' : 'false';
      leaf.num = NaN;
      return true;
    case 'object':
      if (v === null) {
        leaf.kind = Kind.Null;
        leaf.str = 'null';
        leaf.num = NaN;
        return true;
      }
      if (v instanceof RawNumber) {
        leaf.kind = Kind.Number;
        leaf.str = v.raw;
        leaf.num = comparableNumber(v.raw) ?? NaN;
        return true;
      }
      return false;
    default:
      return false;
  }
}

/** Positions are consistent when they agree on the index of every array both lie in. */
export function consistent(a: ArrayPos | null, b: ArrayPos | null): boolean {
  for (let x = a; x !== null; x = x.up) {
    for (let y = b; y !== null; y = y.up) {
      if (x.array === y.array && x.index !== y.index) return false;
    }
  }
  return true;
}

/** Renders a leaf for messages, as it appeared in the event. */
export function leafText(leaf: Leaf): string {
  return leaf.kind === Kind.String ? JSON.stringify(leaf.str) : leaf.str;
}
