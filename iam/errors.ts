/**
 * A policy document the evaluator cannot use: not JSON-shaped like a policy, an unknown
 * condition operator, a value of the wrong type. The message names the policy and the element,
 * e.g. `LoanEvents bus policy: Statement[2].Condition.StringEqualz: unknown condition operator`.
 */
export class PolicyParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PolicyParseError';
  }
}
