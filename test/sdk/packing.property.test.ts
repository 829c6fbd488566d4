import { EventBridgeClient, PutEventsCommand, type PutEventsCommandInput } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import * as fc from 'fast-check';
import { EventPublisher, PUT_EVENTS_MAX_ENTRIES, PUT_EVENTS_MAX_REQUEST_BYTES, entrySize, packEntries } from '../../sdk';
import { replayable } from '../support/property';
import { blobCatalog, blobEntryOfSize } from './factories';

describe('packEntries (property-based)', () => {
  const limits = fc.record({ maxEntries: fc.integer({ min: 1, max: 12 }), maxBytes: fc.integer({ min: 1, max: 5000 }) });

  test('never exceeds either limit and keeps every entry exactly once, in order', () => {
    fc.assert(
      fc.property(
        limits.chain(({ maxEntries, maxBytes }) =>
          fc.tuple(fc.constant(maxEntries), fc.constant(maxBytes), fc.array(fc.integer({ min: 0, max: maxBytes }), { maxLength: 300 })),
        ),
        ([maxEntries, maxBytes, sizes]) => {
          const requests = packEntries(sizes, maxEntries, maxBytes);
          for (const request of requests) {
            expect(request.length).toBeGreaterThan(0);
            expect(request.length).toBeLessThanOrEqual(maxEntries);
            expect(request.reduce((sum, i) => sum + sizes[i]!, 0)).toBeLessThanOrEqual(maxBytes);
          }
          expect(requests.flat()).toEqual(sizes.map((_, i) => i));
        },
      ),
      replayable({ numRuns: 500 }),
    );
  });

  test('closes a request only when the next entry would break a limit', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 1000 }), { maxLength: 200 }), (sizes) => {
        const requests = packEntries(sizes, PUT_EVENTS_MAX_ENTRIES, 2000);
        for (let r = 0; r + 1 < requests.length; r++) {
          const request = requests[r]!;
          const bytes = request.reduce((sum, i) => sum + sizes[i]!, 0);
          const next = sizes[requests[r + 1]![0]!]!;
          expect(request.length === PUT_EVENTS_MAX_ENTRIES || bytes + next > 2000).toBe(true);
        }
      }),
      replayable(),
    );
  });

  test('refuses an entry larger than the limit, naming its index and size', () => {
    expect(() => packEntries([10, 2001], 10, 2000)).toThrow('Entry at index 1 is 2001 bytes, over the 2000-byte PutEvents limit');
  });
});

describe('entrySize', () => {
  test('counts UTF-8 bytes of Source, DetailType, Detail and Resources, and 14 for Time', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme' }),
        fc.string({ unit: 'grapheme' }),
        fc.option(fc.string({ unit: 'grapheme' }), { nil: undefined }),
        fc.array(fc.string({ unit: 'grapheme' }), { maxLength: 3 }),
        fc.boolean(),
        (source, detailType, detail, resources, withTime) => {
          const expected = new TextEncoder().encode(source + detailType + (detail ?? '') + resources.join('')).length + (withTime ? 14 : 0);
          expect(
            entrySize({
              Source: source,
              DetailType: detailType,
              Detail: detail,
              Resources: resources,
              Time: withTime ? new Date() : undefined,
            }),
          ).toBe(expected);
        },
      ),
      replayable(),
    );
  });

  test('counts a multi-byte character by its bytes, not its length', () => {
    expect(entrySize({ Source: 'é', DetailType: '€', Detail: '😀' })).toBe(2 + 3 + 4);
  });
});

describe('EventPublisher packing (property-based, through PutEvents)', () => {
  const ebMock = mockClient(EventBridgeClient);

  test('every request it sends is within both limits, and every event is sent once, in order', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 200, max: PUT_EVENTS_MAX_REQUEST_BYTES }), { minLength: 1, maxLength: 40 }),
        async (sizes) => {
          ebMock.reset();
          ebMock.on(PutEventsCommand).callsFake((input: PutEventsCommandInput) => ({
            FailedEntryCount: 0,
            Entries: (input.Entries ?? []).map((_, k) => ({ EventId: `evt-${k}` })),
          }));
          const publisher = new EventPublisher({
            eventBusName: 'loans',
            client: new EventBridgeClient({ region: 'eu-west-1' }),
            catalog: blobCatalog,
            maxConcurrency: 1,
          });
          const result = await publisher.publish(sizes.map((size, seq) => blobEntryOfSize(seq, size)));
          const requests = ebMock.commandCalls(PutEventsCommand).map((c) => c.args[0].input.Entries ?? []);
          for (const request of requests) {
            expect(request.length).toBeLessThanOrEqual(PUT_EVENTS_MAX_ENTRIES);
            expect(request.reduce((sum, e) => sum + entrySize(e), 0)).toBeLessThanOrEqual(PUT_EVENTS_MAX_REQUEST_BYTES);
          }
          expect(requests.flat().map((e) => JSON.parse(e.Detail ?? '').data.seq)).toEqual(sizes.map((_, i) => i));
          expect(result.successCount).toBe(sizes.length);
        },
      ),
      replayable({ numRuns: 30 }),
    );
  });
});
