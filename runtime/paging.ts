/**
 * NextToken for the list operations (ListQueues, ListDeadLetterSourceQueues, ListRules,
 * ListTargetsByRule, ListArchives, ListReplays). A token names the listing it belongs to and
 * an offset, so a garbage, truncated or foreign token is refused instead of silently
 * restarting the listing from the top.
 */
const PREFIX = 'lr1';

/** A token for the page that starts at `offset` of the listing called `listing`. */
export function encodePageToken(listing: string, offset: number): string {
  return Buffer.from(`${PREFIX}:${listing}:${offset}`, 'utf8').toString('base64url');
}

/**
 * The offset a token stands for: 0 when there is no token, undefined when the token is not
 * one this listing issued (the caller answers a validation error naming NextToken).
 */
export function decodePageToken(listing: string, token: unknown): number | undefined {
  if (token === undefined || token === null) return 0;
  if (typeof token !== 'string' || token.length === 0 || token.length > 512 || !/^[A-Za-z0-9_-]+$/.test(token)) return undefined;
  const m = /^lr1:(.+):(0|[1-9]\d{0,8})$/.exec(Buffer.from(token, 'base64url').toString('utf8'));
  if (!m || m[1] !== listing) return undefined;
  const offset = Number(m[2]);
  // Decoding ignores stray trailing characters; only the exact token this runtime issued counts.
  return encodePageToken(listing, offset) === token ? offset : undefined;
}
