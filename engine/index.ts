/**
 * EventBridge-exact event pattern engine and input transformer.
 * CONTRACT ONLY: the signatures below are the public API; implementation lands with the engine work.
 */

/** Thrown for a pattern EventBridge rejects; `message` is AWS's text: "Event pattern is not valid. Reason: ...". */
export class InvalidEventPatternError extends Error {
  readonly code = 'InvalidEventPatternException';
  constructor(message: string) {
    super(message);
    this.name = 'InvalidEventPatternError';
  }
}

/** Thrown when the event itself is not acceptable to TestEventPattern ("Parameter Event is not valid."). */
export class InvalidEventError extends Error {
  readonly code = 'ValidationException';
  constructor(message = 'Parameter Event is not valid.') {
    super(message);
    this.name = 'InvalidEventError';
  }
}

/** Throws InvalidEventPatternError when EventBridge would reject the pattern. */
export function validateEventPattern(_pattern: string | object): void {
  throw new Error('not implemented yet');
}

/** Mirrors `aws events test-event-pattern`. */
export function testEventPattern(_pattern: string | object, _event: string | object): boolean {
  throw new Error('not implemented yet');
}

/** All rules of a bus compiled into one structure; match cost grows with the event, not the rule count. */
export class RuleMatcher<K = string> {
  add(_ruleId: K, _pattern: string | object): void {
    throw new Error('not implemented yet');
  }
  remove(_ruleId: K): void {
    throw new Error('not implemented yet');
  }
  /** The ids of every rule the event matches (an event given as text is parsed once). */
  match(_event: string | object): K[] {
    throw new Error('not implemented yet');
  }
}

export interface TransformContext {
  readonly ruleArn: string;
  readonly ruleName: string;
  readonly eventBusName: string;
  /** ISO time the event was ingested; defaults to the event's time. */
  readonly ingestionTime?: string;
  readonly targetId?: string;
}

/** A target's input settings, as in AWS::Events::Rule Target (Input, InputPath, InputTransformer). */
export interface TargetInput {
  readonly input?: string;
  readonly inputPath?: string;
  readonly inputTransformer?: { readonly inputPathsMap?: Record<string, string>; readonly inputTemplate: string };
}

/** Thrown for target input settings PutTargets rejects. */
export class InvalidTargetInputError extends Error {
  readonly code = 'ValidationException';
}

/** Throws InvalidTargetInputError when PutTargets would reject the settings. */
export function validateTargetInput(_input: TargetInput): void {
  throw new Error('not implemented yet');
}

/**
 * The payload EventBridge delivers to the target, as text. Returns undefined when AWS would
 * silently deliver nothing (the rendered template is not valid JSON).
 */
export function renderTargetInput(_event: object, _input: TargetInput, _context: TransformContext): string | undefined {
  throw new Error('not implemented yet');
}
