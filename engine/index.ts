/**
 * EventBridge-exact event pattern engine and input transformer.
 * Semantics, limits and the benchmark are described in docs/engine.md.
 */
import { Branch, compilePattern } from './compile';
import { MalformedEventError, InvalidEventPatternError, PATTERN_ERROR_PREFIX, PatternReason } from './errors';
import { mayHoldInexactNumbers, parseEventText, parseWith } from './event';
import { explainBranches } from './explain';
import { Machine } from './machine';

export { MalformedEventError, InvalidEventPatternError, InvalidTargetInputError } from './errors';
export { MAX_PATTERN_LENGTH, MAX_WILDCARD_COMPLEXITY } from './compile';
export { TargetInput, TransformContext, renderTargetInput, validateTargetInput } from './transform';

/** Compiles a pattern, turning compiler reasons into the error AWS returns. */
export function compile(pattern: string | object): Branch[] {
  const text = typeof pattern === 'string' ? pattern : JSON.stringify(pattern);
  try {
    return compilePattern(text ?? '');
  } catch (e) {
    if (e instanceof PatternReason) throw new InvalidEventPatternError(PATTERN_ERROR_PREFIX + e.message);
    throw e;
  }
}

/** The event as a JSON object; text is parsed once. Throws MalformedEventError otherwise. */
export function toEventObject(event: string | object): object {
  return asEventObject(typeof event === 'string' ? parseEventText(event) : event);
}

function asEventObject(v: unknown): object {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new MalformedEventError();
  return v;
}

/** Throws InvalidEventPatternError when EventBridge would reject the pattern. */
export function validateEventPattern(pattern: string | object): void {
  compile(pattern);
}

/**
 * Fields TestEventPattern requires in the event. The API reference also lists `resources`, but
 * AWS answers events without it (86 recorded cases in the shared corpus), so it is not required.
 * https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_TestEventPattern.html
 */
export const ENVELOPE_FIELDS = ['id', 'account', 'source', 'time', 'region', 'detail-type'] as const;

export interface TestEventPatternOptions {
  /**
   * Reject an event that lacks one of ENVELOPE_FIELDS, as the TestEventPattern API does.
   * @default false - match any JSON object, as the rule engine does for delivered events
   */
  readonly requireEnvelope?: boolean;
}

/** Mirrors `aws events test-event-pattern`. */
export function testEventPattern(pattern: string | object, event: string | object, options: TestEventPatternOptions = {}): boolean {
  const m = new Machine<number>();
  m.add(0, compile(pattern));
  const ev = toEventObject(event);
  if (options.requireEnvelope && ENVELOPE_FIELDS.some((f) => !Object.prototype.hasOwnProperty.call(ev, f))) throw new MalformedEventError();
  return m.match(ev).length > 0;
}

/**
 * Why the event does not match: a short sentence naming the first field that failed, e.g.
 * `detail.amount: 1200 is not in [">=", 250000]`; undefined when it matches.
 */
export function explainMismatch(pattern: string | object, event: string | object): string | undefined {
  const branches = compile(pattern);
  const m = new Machine<number>();
  m.add(0, branches);
  const ev = toEventObject(event);
  if (m.match(ev).length > 0) return undefined;
  return explainBranches(branches, (path) => m.leavesOf(ev, path));
}

/** All rules of a bus compiled into one structure; match cost grows with the event, not the rule count. */
export class RuleMatcher<K = string> {
  private readonly machine = new Machine<K>();

  /** Adds (or replaces) a rule; throws InvalidEventPatternError for a pattern AWS rejects. */
  add(ruleId: K, pattern: string | object): void {
    this.machine.add(ruleId, compile(pattern));
  }

  remove(ruleId: K): void {
    this.machine.remove(ruleId);
  }

  has(ruleId: K): boolean {
    return this.machine.has(ruleId);
  }

  get size(): number {
    return this.machine.size;
  }

  /**
   * The ids of every rule the event matches. Text is parsed with JSON.parse; only when matching
   * tested one of its numbers and the text may hold a literal JSON.parse changes is it read again
   * keeping the literals, so most events skip even that check.
   */
  match(event: string | object): K[] {
    if (typeof event !== 'string') return this.machine.match(toEventObject(event));
    const fast = asEventObject(parseWith(event, false));
    const out = this.machine.match(fast);
    if (this.machine.numbersTested === 0 || !mayHoldInexactNumbers(event)) return out;
    return this.machine.match(asEventObject(parseWith(event, true)));
  }
}
