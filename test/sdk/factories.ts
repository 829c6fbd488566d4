/** Event factories for the sdk and handler tests. */
import { z } from 'zod';
import { defineCatalog, defineEvent, type DataOf } from '../../sdk/catalog';
import { LoanApplicationSubmitted, SOURCES } from '../../catalog/loans';
import type { PublishEntry } from '../../sdk';

export function submittedData(overrides: Partial<DataOf<typeof LoanApplicationSubmitted>> = {}): DataOf<typeof LoanApplicationSubmitted> {
  return {
    applicationId: 'app-1',
    applicant: { applicantId: 'applicant-1', name: 'Ada Lovelace', email: 'ada@example.com', annualIncome: 120_000, creditScore: 720 },
    amount: 200_000,
    currency: 'EUR',
    termMonths: 240,
    purpose: 'home',
    channel: 'web',
    submittedAt: '2026-01-15T10:00:00.000Z',
    ...overrides,
  };
}

export function submittedEntry(i: number, overrides: Partial<DataOf<typeof LoanApplicationSubmitted>> = {}): PublishEntry {
  return {
    source: LoanApplicationSubmitted.source,
    detailType: LoanApplicationSubmitted.detailType,
    detail: { data: submittedData({ applicationId: `app-${i}`, ...overrides }) },
  };
}

/** An event type with a free-size payload, to exercise the size limits the loan events never reach. */
export const BlobStored = defineEvent({
  source: SOURCES.intake,
  detailType: 'BlobStored',
  version: '1',
  description: 'Test event with a payload of any size.',
  data: z.object({ seq: z.number().int(), blob: z.string() }),
});

export const blobCatalog = defineCatalog({ events: [BlobStored], publishers: [], consumers: [] });

/** A BlobStored entry whose PutEvents entry size is exactly `size` bytes (with a fixed correlation id). */
export function blobEntryOfSize(seq: number, size: number): PublishEntry {
  const detail = (blob: string) => ({ metadata: { correlationId: 'c-1', schemaVersion: '1' }, data: { seq, blob } });
  const overhead =
    Buffer.byteLength(BlobStored.source) + Buffer.byteLength(BlobStored.detailType) + Buffer.byteLength(JSON.stringify(detail('')));
  if (size < overhead) throw new RangeError(`size must be at least ${overhead}`);
  return { source: BlobStored.source, detailType: BlobStored.detailType, detail: detail('x'.repeat(size - overhead)) };
}

/** Deterministic pseudo-random numbers in [0, 1), so that a failing run can be replayed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}
