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

/** What to do about an error the SDK or the network raised, for the line after its message; undefined when there is nothing to add. */
export function hintFor(err: unknown, env: Readonly<Record<string, string | undefined>>, endpointUrl?: string): string | undefined {
  const e = err as { code?: unknown; message?: unknown; cause?: { code?: unknown }; errors?: Array<{ code?: unknown }> } | undefined;
  const codes = [e?.code, e?.cause?.code, ...(e?.errors ?? []).map((x) => x?.code)];
  const message = typeof e?.message === 'string' ? e.message : '';
  if (codes.includes('ECONNREFUSED') || message.includes('ECONNREFUSED')) {
    const at = endpointUrl ?? env.AWS_ENDPOINT_URL ?? 'the endpoint';
    return `no runtime answers at ${at}: start one with 'npm start' (it listens on http://127.0.0.1:4566), or point AWS_ENDPOINT_URL or --endpoint-url at the one that runs`;
  }
  if (/Region is missing/i.test(message))
    return 'no region: for the local runtime set AWS_ENDPOINT_URL=http://127.0.0.1:4566 (or pass --endpoint-url); for AWS set AWS_REGION or pass --region';
  if (/Could not load credentials/i.test(message))
    return 'no AWS credentials: for the local runtime set AWS_ENDPOINT_URL=http://127.0.0.1:4566 (or pass --endpoint-url); for AWS set AWS_PROFILE or sign in';
  return undefined;
}
