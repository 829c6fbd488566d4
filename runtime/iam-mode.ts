/**
 * How the runtime treats a call or a delivery that the app's policies would deny on AWS:
 * - `off`: not evaluated;
 * - `warn` (default): allowed, and logged with the statement that would decide it;
 * - `enforce`: refused as AWS refuses it.
 */
export type IamMode = 'off' | 'warn' | 'enforce';

export const IAM_MODES: readonly IamMode[] = ['off', 'warn', 'enforce'];

export const DEFAULT_IAM_MODE: IamMode = 'warn';

/** The mode a flag names; an error lists the valid ones. */
export function parseIamMode(value: string): IamMode {
  const mode = IAM_MODES.find((m) => m === value);
  if (!mode) throw new Error(`--iam must be one of ${IAM_MODES.join(', ')}; got '${value}'`);
  return mode;
}
