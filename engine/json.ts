/**
 * A pull tokenizer for JSON text that reports errors with the wording of Jackson, the parser
 * EventBridge runs (AWS returns Jackson's message as the "Reason"), and that keeps number
 * literals as written: EventBridge matches numbers by their exact value, which JSON.parse loses
 * for literals such as `1E-325` or twenty-digit account numbers.
 */
import { PatternReason } from './errors';

export const enum Tok {
  StartObject,
  EndObject,
  StartArray,
  EndArray,
  FieldName,
  String,
  Number,
  True,
  False,
  Null,
  /** No more tokens: the root value is complete, or the input was empty. */
  End,
}

const enum Ctx {
  Root,
  Object,
  Array,
}

interface Frame {
  readonly ctx: Ctx;
  /** Offset of the opening bracket, for Jackson's "(for Array starting at ...)" text. */
  readonly start: number;
  /** Entries seen so far in this container. */
  count: number;
  /** Inside an object: true when the next token is a value (after the field name). */
  expectValue: boolean;
}

export class JsonTokenizer {
  /** Text of the current string, field name or number literal. */
  text = '';
  /** Offset where the current token starts. */
  tokenStart = 0;
  private pos = 0;
  private readonly stack: Frame[] = [{ ctx: Ctx.Root, start: 0, count: 0, expectValue: true }];

  constructor(readonly src: string) {}

  /** Current offset, just after the last token read. */
  get offset(): number {
    return this.pos;
  }

  next(): Tok {
    // The root frame is never popped, so the stack is never empty.
    const frame = this.stack[this.stack.length - 1]!;
    let c = this.skipSpace();
    if (frame.ctx === Ctx.Root) {
      if (frame.count > 0 || c < 0) return Tok.End;
      frame.count++;
      return this.value(c);
    }
    if (frame.ctx === Ctx.Array) {
      if (c === 0x5d /* ] */) return this.close(Ctx.Array);
      if (c === 0x7d /* } */) this.mismatch('}', frame);
      if (frame.count > 0) {
        if (c !== 0x2c /* , */) {
          if (c < 0) this.eof(frame);
          this.unexpected(c, 'was expecting comma to separate Array entries');
        }
        this.pos++;
        c = this.skipSpace();
      }
      frame.count++;
      return this.value(c);
    }
    // Object
    if (frame.expectValue) {
      frame.expectValue = false;
      if (c !== 0x3a /* : */) {
        if (c < 0) this.eof(frame);
        this.unexpected(c, 'was expecting a colon to separate field name and value');
      }
      this.pos++;
      return this.value(this.skipSpace());
    }
    if (c === 0x7d) return this.close(Ctx.Object);
    if (c === 0x5d) this.mismatch(']', frame);
    if (frame.count > 0) {
      if (c !== 0x2c) {
        if (c < 0) this.eof(frame);
        this.unexpected(c, 'was expecting comma to separate Object entries');
      }
      this.pos++;
      c = this.skipSpace();
    }
    if (c !== 0x22 /* " */) {
      if (c < 0) this.eof(frame);
      this.unexpected(c, 'was expecting double-quote to start field name');
    }
    frame.count++;
    frame.expectValue = true;
    this.tokenStart = this.pos;
    this.text = this.readString();
    return Tok.FieldName;
  }

  /** Skips the value that starts with token `t` (already read), including nested containers. */
  skipValue(t: Tok): void {
    if (t !== Tok.StartObject && t !== Tok.StartArray) return;
    let depth = 1;
    while (depth > 0) {
      const n = this.next();
      if (n === Tok.StartObject || n === Tok.StartArray) depth++;
      else if (n === Tok.EndObject || n === Tok.EndArray) depth--;
      else if (n === Tok.End) return;
    }
  }

  /** Jackson's location suffix, as EventBridge appends it to parse errors. */
  location(): string {
    return this.where(this.pos);
  }

  private where(offset: number): string {
    let line = 1;
    let col = 1;
    for (let i = 0; i < offset && i < this.src.length; i++) {
      if (this.src.charCodeAt(i) === 0x0a) {
        line++;
        col = 1;
      } else col++;
    }
    return `[Source: (String)"${this.src}"; line: ${line}, column: ${col}]`;
  }

  private value(c: number): Tok {
    this.tokenStart = this.pos;
    switch (c) {
      case 0x7b /* { */:
        this.pos++;
        this.text = '{';
        this.stack.push({ ctx: Ctx.Object, start: this.tokenStart, count: 0, expectValue: false });
        return Tok.StartObject;
      case 0x5b /* [ */:
        this.pos++;
        this.text = '[';
        this.stack.push({ ctx: Ctx.Array, start: this.tokenStart, count: 0, expectValue: false });
        return Tok.StartArray;
      case 0x22:
        this.text = this.readString();
        return Tok.String;
      case 0x74 /* t */:
        return this.keyword('true', Tok.True);
      case 0x66 /* f */:
        return this.keyword('false', Tok.False);
      case 0x6e /* n */:
        return this.keyword('null', Tok.Null);
      default:
        if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return this.readNumber();
        if (c < 0) this.eof(this.stack[this.stack.length - 1]!);
        // Jackson names only a closing bracket "expected a value" (a trailing comma in an array).
        if (c === 0x5d) this.unexpected(c, 'expected a value');
        if (isWordChar(c)) this.badToken();
        this.unexpected(c, "expected a valid value (JSON String, Number, Array, Object or token 'null', 'true' or 'false')");
    }
  }

  private keyword(word: string, tok: Tok): Tok {
    if (this.src.startsWith(word, this.pos)) {
      const after = this.src.charCodeAt(this.pos + word.length);
      if (!isWordChar(after)) {
        this.pos += word.length;
        this.text = word;
        return tok;
      }
    }
    return this.badToken();
  }

  private badToken(): never {
    let end = this.pos;
    while (end < this.src.length && isWordChar(this.src.charCodeAt(end))) end++;
    const word = this.src.slice(this.pos, Math.max(end, this.pos + 1));
    throw new PatternReason(
      `Unrecognized token '${word}': was expecting (JSON String, Number, Array, Object or token 'null', 'true' or 'false')`,
    );
  }

  private readNumber(): Tok {
    const s = this.src;
    const start = this.pos;
    let i = start;
    if (s.charCodeAt(i) === 0x2d) i++;
    const intStart = i;
    while (isDigit(s.charCodeAt(i))) i++;
    if (i === intStart) {
      throw new PatternReason(
        `Unexpected character (${describe(s.charCodeAt(i))}) in numeric value: expected digit (0-9) to follow minus sign, for valid numeric value`,
      );
    }
    if (i - intStart > 1 && s.charCodeAt(intStart) === 0x30) {
      throw new PatternReason('Invalid numeric value: Leading zeroes not allowed');
    }
    if (s.charCodeAt(i) === 0x2e /* . */) {
      i++;
      const f = i;
      while (isDigit(s.charCodeAt(i))) i++;
      if (i === f) {
        throw new PatternReason(
          `Unexpected character (${describe(s.charCodeAt(i))}) in numeric value: Decimal point not followed by a digit`,
        );
      }
    }
    const e = s.charCodeAt(i);
    if (e === 0x65 || e === 0x45) {
      i++;
      const sign = s.charCodeAt(i);
      if (sign === 0x2b || sign === 0x2d) i++;
      const f = i;
      while (isDigit(s.charCodeAt(i))) i++;
      if (i === f) {
        throw new PatternReason(
          `Unexpected character (${describe(s.charCodeAt(i))}) in numeric value: Exponent indicator not followed by a digit`,
        );
      }
    }
    this.pos = i;
    this.text = s.slice(start, i);
    return Tok.Number;
  }

  private readString(): string {
    const s = this.src;
    let i = this.pos + 1;
    let out = '';
    let chunk = i;
    for (;;) {
      if (i >= s.length) {
        throw new PatternReason('Unexpected end-of-input: was expecting closing quote for a string value');
      }
      const c = s.charCodeAt(i);
      if (c === 0x22) break;
      if (c < 0x20) {
        throw new PatternReason(
          `Illegal unquoted character (${describe(c)}): has to be escaped using backslash to be included in string value`,
        );
      }
      if (c === 0x5c /* \ */) {
        out += s.slice(chunk, i);
        const esc = s.charCodeAt(i + 1);
        i += 2;
        switch (esc) {
          case 0x22:
            out += '"';
            break;
          case 0x5c:
            out += '\\';
            break;
          case 0x2f:
            out += '/';
            break;
          case 0x62:
            out += '\b';
            break;
          case 0x66:
            out += '\f';
            break;
          case 0x6e:
            out += '\n';
            break;
          case 0x72:
            out += '\r';
            break;
          case 0x74:
            out += '\t';
            break;
          case 0x75: {
            const hex = s.slice(i, i + 4);
            if (!/^[0-9a-fA-F]{4}$/.test(hex)) {
              throw new PatternReason('Unexpected character in hex escape: expected a hex-digit for character escape sequence');
            }
            out += String.fromCharCode(parseInt(hex, 16));
            i += 4;
            break;
          }
          default:
            throw new PatternReason(`Unrecognized character escape ${describe(esc)}`);
        }
        chunk = i;
        continue;
      }
      i++;
    }
    out += s.slice(chunk, i);
    this.pos = i + 1;
    return out;
  }

  private close(ctx: Ctx): Tok {
    this.pos++;
    // Jackson's getText() of a closing token, used in messages such as "Invalid member in numeric match: ]".
    this.text = ctx === Ctx.Array ? ']' : '}';
    this.stack.pop();
    return ctx === Ctx.Array ? Tok.EndArray : Tok.EndObject;
  }

  private mismatch(found: string, frame: Frame): never {
    const expected = frame.ctx === Ctx.Array ? ']' : '}';
    const kind = frame.ctx === Ctx.Array ? 'Array' : 'Object';
    throw new PatternReason(
      `Unexpected close marker '${found}': expected '${expected}' (for ${kind} starting at ${this.where(frame.start)})`,
    );
  }

  private eof(frame: Frame): never {
    const kind = frame.ctx === Ctx.Array ? 'Array' : 'Object';
    throw new PatternReason(`Unexpected end-of-input: expected close marker for ${kind} (start marker at ${this.where(frame.start)})`);
  }

  private unexpected(c: number, what: string): never {
    throw new PatternReason(`Unexpected character (${describe(c)}): ${what}`);
  }

  private skipSpace(): number {
    const s = this.src;
    let i = this.pos;
    for (;;) {
      const c = s.charCodeAt(i);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
      else {
        this.pos = i;
        return i < s.length ? c : -1;
      }
    }
  }
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** Characters Jackson gathers into the token it names in "Unrecognized token '...'". */
function isWordChar(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f || c === 0x24 || c > 0x7f;
}

function describe(c: number): string {
  if (Number.isNaN(c) || c < 0) return "'<EOF>'";
  return `'${String.fromCharCode(c)}' (code ${c})`;
}

/** A number from JSON text whose literal matters for matching (see the module comment). */
export class RawNumber {
  constructor(
    readonly raw: string,
    readonly value: number,
  ) {}
  toJSON(): number {
    return this.value;
  }
}

/**
 * Parses JSON text into plain values, keeping each number as a RawNumber. Duplicate keys keep
 * the last value, as Jackson's tree model does.
 */
export function parseJsonPreservingNumbers(text: string): unknown {
  const tz = new JsonTokenizer(text);
  const first = tz.next();
  if (first === Tok.End) throw new PatternReason('No content to map due to end-of-input');
  const v = build(tz, first);
  if (tz.next() !== Tok.End) throw new PatternReason('Unexpected trailing content');
  return v;
}

function build(tz: JsonTokenizer, t: Tok): unknown {
  switch (t) {
    case Tok.StartObject: {
      const o: Record<string, unknown> = {};
      for (let n = tz.next(); n !== Tok.EndObject; n = tz.next()) {
        const k = tz.text;
        o[k] = build(tz, tz.next());
      }
      return o;
    }
    case Tok.StartArray: {
      const a: unknown[] = [];
      for (let n = tz.next(); n !== Tok.EndArray; n = tz.next()) a.push(build(tz, n));
      return a;
    }
    case Tok.String:
      return tz.text;
    case Tok.Number:
      return new RawNumber(tz.text, Number(tz.text));
    case Tok.True:
      return true;
    case Tok.False:
      return false;
    case Tok.Null:
      return null;
    default:
      throw new PatternReason('Unexpected end-of-input');
  }
}
