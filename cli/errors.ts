/** Errors the CLI turns into exit codes: a usage error exits 2, any other failure exits 1. */

/** Bad input: a missing or malformed option, an unreadable file, an event that fails the catalog. Exit code 2. */
export class UsageError extends Error {
  public override readonly name = 'UsageError';
  public readonly exitCode = 2;
}

/** The command ran but did not succeed: an AWS error, a failed publish, a no-match. Exit code 1. */
export class CommandFailedError extends Error {
  public override readonly name = 'CommandFailedError';
  public readonly exitCode = 1;
}

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
