/** Thrown for a pattern EventBridge rejects; `message` is AWS's text: "Event pattern is not valid. Reason: ...". */
export class InvalidEventPatternError extends Error {
  readonly code = 'InvalidEventPatternException';
  constructor(message: string) {
    super(message);
    this.name = 'InvalidEventPatternError';
  }
}

/**
 * Thrown when the event itself is not acceptable: not a JSON object, or (TestEventPattern) missing
 * an envelope field. AWS answers "Parameter Event is not valid.". Not to be confused with the
 * consumer SDK's InvalidEventError, an event that fails its catalog schema.
 */
export class MalformedEventError extends Error {
  readonly code = 'ValidationException';
  constructor(message = 'Parameter Event is not valid.') {
    super(message);
    this.name = 'MalformedEventError';
  }
}

/** Thrown for target input settings PutTargets rejects. */
export class InvalidTargetInputError extends Error {
  readonly code = 'ValidationException';
  constructor(message: string) {
    super(message);
    this.name = 'InvalidTargetInputError';
  }
}

/** The prefix AWS puts before the compiler's reason. */
export const PATTERN_ERROR_PREFIX = 'Event pattern is not valid. Reason: ';

/** A rejection raised while compiling; carries only the reason, the public error adds the AWS prefix. */
export class PatternReason extends Error {}
