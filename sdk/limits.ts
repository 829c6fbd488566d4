/**
 * PutEvents service limits and the entry-size calculation EventBridge itself uses.
 * @see https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevent-size.html
 * @see https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html
 */

/** Entries in one PutEvents request. Valid Range: 1 to 10. */
export const PUT_EVENTS_MAX_ENTRIES = 10;

/**
 * Total entry size of one PutEvents request, and so also of a single entry.
 * 1 MiB since January 2026 (it was 256 KiB before).
 */
export const PUT_EVENTS_MAX_REQUEST_BYTES = 1024 * 1024;

/** Bytes EventBridge counts for the `Time` field when it is set. */
export const PUT_EVENTS_TIME_BYTES = 14;

/** Maximum length of an EventBridge `detail-type`. */
export const DETAIL_TYPE_MAX_LENGTH = 128;

/** Per-entry error codes that EventBridge documents as retryable; every other code is permanent. */
export const RETRYABLE_ENTRY_ERROR_CODES: ReadonlySet<string> = new Set(['InternalFailure', 'ThrottlingException']);

/** The fields of a PutEvents entry that count towards its size. */
export interface SizedEntry {
  readonly Source?: string;
  readonly DetailType?: string;
  readonly Detail?: string;
  readonly Resources?: readonly string[];
  readonly Time?: Date;
}

/**
 * Size of one PutEvents entry as EventBridge computes it: 14 bytes for `Time` when set,
 * plus the UTF-8 bytes of `Source`, `DetailType`, `Detail` and each `Resources` entry.
 * `EventBusName` and `TraceHeader` do not count.
 * @see https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevent-size.html
 */
export function entrySize(entry: SizedEntry): number {
  let size = entry.Time ? PUT_EVENTS_TIME_BYTES : 0;
  size += Buffer.byteLength(entry.Source ?? '', 'utf8');
  size += Buffer.byteLength(entry.DetailType ?? '', 'utf8');
  if (entry.Detail !== undefined) size += Buffer.byteLength(entry.Detail, 'utf8');
  for (const resource of entry.Resources ?? []) size += Buffer.byteLength(resource, 'utf8');
  return size;
}

/**
 * Splits entries into PutEvents requests, in order, so that no request holds more than
 * `maxEntries` entries or more than `maxBytes` of total entry size. Greedy: a request is
 * closed only when the next entry would break a limit, so bulk publishing fills requests.
 * Every entry must already fit on its own (`sizes[i] <= maxBytes`).
 *
 * @returns the indexes of `sizes`, grouped per request
 */
export function packEntries(
  sizes: readonly number[],
  maxEntries: number = PUT_EVENTS_MAX_ENTRIES,
  maxBytes: number = PUT_EVENTS_MAX_REQUEST_BYTES,
): number[][] {
  const indexed = sizes.map((size, index) => ({ size, index }));
  return packBySize(indexed, (entry) => entry.size, maxEntries, maxBytes).map((request) => request.map((entry) => entry.index));
}

/**
 * `packEntries` over the items themselves: groups `items`, in order, into requests within
 * both limits, with `sizeOf` giving each item's entry size. Every item must already fit on
 * its own.
 *
 * @returns the items, grouped per request
 */
export function packBySize<T>(
  items: readonly T[],
  sizeOf: (item: T) => number,
  maxEntries: number = PUT_EVENTS_MAX_ENTRIES,
  maxBytes: number = PUT_EVENTS_MAX_REQUEST_BYTES,
): T[][] {
  const requests: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  items.forEach((item, index) => {
    const size = sizeOf(item);
    if (size > maxBytes) {
      throw new RangeError(`Entry at index ${index} is ${size} bytes, over the ${maxBytes}-byte PutEvents limit`);
    }
    if (current.length === maxEntries || bytes + size > maxBytes) {
      requests.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += size;
  });
  if (current.length > 0) requests.push(current);
  return requests;
}
