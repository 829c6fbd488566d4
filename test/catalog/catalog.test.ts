import { z } from 'zod';
import {
  ApplicantNotified,
  catalog,
  LoanApplicationApproved,
  LoanApplicationRejected,
  LoanApplicationSubmitted,
  MANUAL_REVIEW_THRESHOLD,
} from '../../catalog';
import {
  consumerPattern,
  defineCatalog,
  defineConsumer,
  defineEvent,
  definePublisher,
  detailJsonSchema,
  findEvent,
  on,
} from '../../sdk/catalog';

const Ping = defineEvent({
  source: 'com.example.test',
  detailType: 'Ping',
  version: '1',
  description: 'test',
  data: z.object({ n: z.number() }),
});
const Pong = defineEvent({
  source: 'com.example.test',
  detailType: 'Pong',
  version: '1',
  description: 'test',
  data: z.object({ n: z.number() }),
});

describe('the loan catalog', () => {
  test('every event a publisher or consumer names is one of the catalog events', () => {
    const known = new Set(catalog.events);
    for (const p of catalog.publishers) p.publishes.forEach((e) => expect(known.has(e)).toBe(true));
    for (const c of catalog.consumers) {
      c.publishes.forEach((e) => expect(known.has(e)).toBe(true));
      c.subscriptions.forEach((s) => expect(known.has(s.event)).toBe(true));
    }
  });

  test('manual review subscribes with a numeric filter on the amount, not in code', () => {
    const manual = catalog.consumers.find((c) => c.name === 'manual-review')!;
    expect(consumerPattern(manual)).toEqual({
      source: [LoanApplicationSubmitted.source],
      'detail-type': ['LoanApplicationSubmitted'],
      detail: { data: { amount: [{ numeric: ['>=', MANUAL_REVIEW_THRESHOLD] }] } },
    });
  });

  test('notifications merges approved and rejected from one source into one detail-type list', () => {
    const n = catalog.consumers.find((c) => c.name === 'notifications')!;
    expect(consumerPattern(n)).toEqual({
      source: [LoanApplicationApproved.source],
      'detail-type': [LoanApplicationApproved.detailType, LoanApplicationRejected.detailType],
    });
  });

  test('findEvent finds by source and detail-type, and nothing for a wrong source', () => {
    expect(findEvent(catalog, ApplicantNotified.source, 'ApplicantNotified')).toBe(ApplicantNotified);
    expect(findEvent(catalog, LoanApplicationSubmitted.source, 'ApplicantNotified')).toBeUndefined();
  });

  test('the detail schema requires metadata and data and names the failing field', () => {
    const result = LoanApplicationSubmitted.detail.safeParse({
      metadata: { correlationId: 'c', schemaVersion: '1' },
      data: { applicationId: 'bad' },
    });
    expect(result.success).toBe(false);
    const paths = result.error!.issues.map((i) => i.path.join('.'));
    expect(paths).toContain('data.applicationId');
    expect(paths).toContain('data.amount');
  });

  test('the JSON Schema for the registry is draft 4 and requires metadata and data', () => {
    const schema = detailJsonSchema(LoanApplicationSubmitted);
    expect(schema.$schema).toBe('http://json-schema.org/draft-04/schema#');
    expect(schema.required).toEqual(['metadata', 'data']);
  });
});

describe('consumerPattern', () => {
  test('joins subscriptions with different filters with $or', () => {
    const c = defineConsumer({
      name: 'c',
      description: 'd',
      subscriptions: [on(Ping, { n: [{ numeric: ['>', 1] }] }), on(Pong)],
      publishes: [],
    });
    expect(consumerPattern(c)).toEqual({
      $or: [
        { source: ['com.example.test'], 'detail-type': ['Pong'] },
        { source: ['com.example.test'], 'detail-type': ['Ping'], detail: { data: { n: [{ numeric: ['>', 1] }] } } },
      ],
    });
  });
});

describe('catalog validation', () => {
  test('rejects an event source in the aws. namespace', () => {
    expect(() => defineEvent({ source: 'aws.s3', detailType: 'X', version: '1', description: '', data: z.object({}) })).toThrow(
      "Event source 'aws.s3' must use only letters, digits, '.', '-', '_', '/' and must not start with 'aws.'",
    );
  });

  test('rejects a consumer name that is not kebab-case', () => {
    expect(() => defineConsumer({ name: 'Under_Writing', description: '', subscriptions: [on(Ping)], publishes: [] })).toThrow(
      "Consumer name 'Under_Writing' must be kebab-case, start with a letter and be at most 40 characters",
    );
  });

  test('rejects a consumer with no subscription', () => {
    expect(() => defineConsumer({ name: 'idle', description: '', subscriptions: [], publishes: [] })).toThrow(
      "Consumer 'idle' must subscribe to at least one event type",
    );
  });

  test('rejects a cross-account publisher whose account is not 12 digits', () => {
    expect(() => definePublisher({ name: 'partner', description: '', publishes: [Ping], account: '1234' })).toThrow(
      "Publisher 'partner' account must be a 12-digit AWS account id (given '1234')",
    );
  });

  test('rejects an event type defined twice', () => {
    expect(() => defineCatalog({ events: [Ping, Ping], publishers: [], consumers: [] })).toThrow(
      'Event type com.example.test / Ping is defined twice',
    );
  });

  test('rejects a publisher that names an event outside the catalog', () => {
    expect(() =>
      defineCatalog({ events: [Ping], publishers: [definePublisher({ name: 'p', description: '', publishes: [Pong] })], consumers: [] }),
    ).toThrow("Publisher 'p' refers to event type 'Pong', which is not in the catalog's events");
  });

  test('rejects a name used by both a publisher and a consumer', () => {
    expect(() =>
      defineCatalog({
        events: [Ping],
        publishers: [definePublisher({ name: 'same', description: '', publishes: [Ping] })],
        consumers: [defineConsumer({ name: 'same', description: '', subscriptions: [on(Ping)], publishes: [] })],
      }),
    ).toThrow("Name 'same' is used by more than one publisher or consumer");
  });
});
