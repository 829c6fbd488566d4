import { EventBridgeClient, PutEventsCommand, type PutEventsCommandInput, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import { LoanApplicationApproved, LoanApplicationSubmitted, loanCatalog } from '../../catalog/loans';
import {
  EventPublisher,
  EventTooLargeError,
  EventValidationError,
  InvalidOptionError,
  PUT_EVENTS_MAX_REQUEST_BYTES,
  PublishFailedError,
  entrySize,
  runWithCorrelation,
} from '../../sdk';
import { blobCatalog, blobEntryOfSize, seededRandom, submittedData, submittedEntry } from './factories';

const ebMock = mockClient(EventBridgeClient);
const client = new EventBridgeClient({ region: 'eu-west-1' });

function publisher(overrides: Partial<ConstructorParameters<typeof EventPublisher>[0]> = {}) {
  return new EventPublisher({
    eventBusName: 'loans',
    client,
    baseDelayMs: 1,
    maxDelayMs: 5,
    ...overrides,
    catalog: overrides.catalog ?? loanCatalog,
  });
}

/** Entries of every PutEvents request sent so far, in call order. */
function sentRequests(): PutEventsRequestEntry[][] {
  return ebMock.commandCalls(PutEventsCommand).map((c) => c.args[0].input.Entries ?? []);
}

/** The first entry of the first PutEvents request. */
function firstSentEntry(): PutEventsRequestEntry {
  const entry = sentRequests()[0]?.[0];
  expect(entry).toBeDefined();
  return entry!;
}

const detailOf = (entry: PutEventsRequestEntry) => JSON.parse(entry.Detail ?? '{}');
const seqOf = (entry: PutEventsRequestEntry): string => {
  const data = detailOf(entry).data;
  return data.applicationId ?? String(data.seq);
};

/** The application id of a LoanApplicationSubmitted entry, read from its detail text. */
const applicationIdOf = (entry: PutEventsRequestEntry): string => {
  const id = /"applicationId":"([^"]*)"/.exec(entry.Detail ?? '')?.[1];
  if (id === undefined) throw new Error(`no applicationId in ${entry.Detail}`);
  return id;
};

/** A fake PutEvents that accepts every entry and numbers the event ids. */
function acceptAll() {
  let n = 0;
  ebMock.on(PutEventsCommand).callsFake((input: PutEventsCommandInput) => ({
    FailedEntryCount: 0,
    Entries: (input.Entries ?? []).map(() => ({ EventId: `evt-${n++}` })),
  }));
}

beforeEach(() => {
  ebMock.reset();
});

describe('EventPublisher.publish', () => {
  test('returns one event id per entry, in input order', async () => {
    // GIVEN
    acceptAll();
    // WHEN
    const result = await publisher().publish([submittedEntry(1), submittedEntry(2), submittedEntry(3)]);
    // THEN
    expect(result).toEqual({
      outcomes: [
        { index: 0, eventId: 'evt-0' },
        { index: 1, eventId: 'evt-1' },
        { index: 2, eventId: 'evt-2' },
      ],
      successCount: 3,
      failedCount: 0,
    });
    const entries = sentRequests()[0]!;
    expect(entries.map((e) => e.EventBusName)).toEqual(['loans', 'loans', 'loans']);
    expect(entries.map(seqOf)).toEqual(['app-1', 'app-2', 'app-3']);
  });

  test('fills missing metadata with a new correlation id and the catalog schema version', async () => {
    acceptAll();
    await publisher().publish([submittedEntry(1), submittedEntry(2)]);
    const [first, second] = sentRequests()[0]!.map(detailOf);
    expect(first.metadata).toEqual({ correlationId: expect.stringMatching(/^[0-9a-f-]{36}$/), schemaVersion: '1' });
    expect(second.metadata.correlationId).not.toEqual(first.metadata.correlationId);
    expect(Object.keys(first)).toEqual(['metadata', 'data']);
  });

  test('keeps a correlation id and causation id given in the metadata', async () => {
    acceptAll();
    const entry = { ...submittedEntry(1), detail: { metadata: { correlationId: 'corr-1', causationId: 'evt-0' }, data: submittedData() } };
    await publisher().publish([entry]);
    expect(detailOf(firstSentEntry()).metadata).toEqual({ correlationId: 'corr-1', causationId: 'evt-0', schemaVersion: '1' });
  });

  test('inherits the correlation id and causation id of the event being handled', async () => {
    acceptAll();
    await runWithCorrelation({ correlationId: 'corr-in', causationId: 'evt-in' }, () => publisher().publish([submittedEntry(1)]));
    expect(detailOf(firstSentEntry()).metadata).toEqual({ correlationId: 'corr-in', causationId: 'evt-in', schemaVersion: '1' });
  });

  test('sends Time and Resources when given, and reads the bus name lazily', async () => {
    acceptAll();
    let busName = 'first';
    const p = publisher({ eventBusName: () => busName });
    busName = 'second';
    const time = new Date('2026-01-01T00:00:00Z');
    await p.publish([{ ...submittedEntry(1), time, resources: ['arn:aws:s3:::bucket'] }]);
    expect(firstSentEntry()).toMatchObject({ EventBusName: 'second', Time: time, Resources: ['arn:aws:s3:::bucket'] });
  });

  test('fails on an invalid field, naming the event and the field, and sends nothing', async () => {
    acceptAll();
    const bad = submittedEntry(2, { applicant: { ...submittedData().applicant, creditScore: 900 } });
    const attempt = publisher().publish([submittedEntry(1), bad]);
    await expect(attempt).rejects.toThrow(EventValidationError);
    await expect(attempt).rejects.toThrow(
      /^Invalid LoanApplicationSubmitted event \(source com\.example\.loans\.intake\) at index 1: detail\.data\.applicant\.creditScore: /,
    );
    await expect(attempt).rejects.toMatchObject({
      index: 1,
      field: 'detail.data.applicant.creditScore',
      detailType: 'LoanApplicationSubmitted',
    });
    expect(sentRequests()).toHaveLength(0);
  });

  test('fails on an event type that is not in the catalog', async () => {
    const attempt = publisher().publish([{ source: 'com.example.other', detailType: 'Unknown', detail: { data: {} } }]);
    await expect(attempt).rejects.toThrow(
      'Invalid Unknown event (source com.example.other) at index 0: detailType: no event type with this source and detail-type is in the catalog',
    );
    expect(sentRequests()).toHaveLength(0);
  });

  test('fails on a schema version other than the catalog one', async () => {
    const entry = { ...submittedEntry(1), detail: { metadata: { schemaVersion: '2' }, data: submittedData() } };
    await expect(publisher().publish([entry])).rejects.toThrow("detail.metadata.schemaVersion: is '2' but the catalog defines version '1'");
  });

  test('fails on a detail that is not an object', async () => {
    await expect(publisher().publish([{ ...submittedEntry(1), detail: 'text' }])).rejects.toThrow(
      'detail: must be an object { metadata?, data }',
    );
  });

  test('rejects an event larger than the request limit before sending, with its size and the limit', async () => {
    acceptAll();
    const p = publisher({ catalog: blobCatalog });
    const attempt = p.publish([blobEntryOfSize(0, 200), blobEntryOfSize(1, PUT_EVENTS_MAX_REQUEST_BYTES + 1)]);
    await expect(attempt).rejects.toThrow(EventTooLargeError);
    await expect(attempt).rejects.toThrow(
      `BlobStored event at index 1 is ${PUT_EVENTS_MAX_REQUEST_BYTES + 1} bytes, over the ${PUT_EVENTS_MAX_REQUEST_BYTES}-byte PutEvents limit`,
    );
    expect(sentRequests()).toHaveLength(0);
  });

  test('accepts an event of exactly the request limit', async () => {
    acceptAll();
    const result = await publisher({ catalog: blobCatalog }).publish([blobEntryOfSize(0, PUT_EVENTS_MAX_REQUEST_BYTES)]);
    expect(result.successCount).toBe(1);
    expect(entrySize(firstSentEntry())).toBe(PUT_EVENTS_MAX_REQUEST_BYTES);
  });
});

describe('packing', () => {
  test('packs 25 events into requests of 10, 10 and 5', async () => {
    acceptAll();
    const result = await publisher({ maxConcurrency: 1 }).publish(Array.from({ length: 25 }, (_, i) => submittedEntry(i)));
    expect(sentRequests().map((r) => r.length)).toEqual([10, 10, 5]);
    expect(sentRequests().flat().map(seqOf)).toEqual(Array.from({ length: 25 }, (_, i) => `app-${i}`));
    expect(result.successCount).toBe(25);
  });

  test('puts events whose sizes add up to exactly the limit in one request, and one byte more in two', async () => {
    acceptAll();
    const half = PUT_EVENTS_MAX_REQUEST_BYTES / 2;
    const p = publisher({ catalog: blobCatalog, maxConcurrency: 1 });
    await p.publish([blobEntryOfSize(0, half), blobEntryOfSize(1, half)]);
    expect(sentRequests().map((r) => r.length)).toEqual([2]);
    ebMock.resetHistory();
    await p.publish([blobEntryOfSize(0, half), blobEntryOfSize(1, half + 1), blobEntryOfSize(2, 300)]);
    expect(sentRequests().map((r) => r.map(seqOf))).toEqual([['0'], ['1', '2']]);
  });

  test('counts Time as 14 bytes towards the size limit', async () => {
    acceptAll();
    const half = PUT_EVENTS_MAX_REQUEST_BYTES / 2;
    await publisher({ catalog: blobCatalog, maxConcurrency: 1 }).publish([
      blobEntryOfSize(0, half),
      { ...blobEntryOfSize(1, half - 14), time: new Date() },
      { ...blobEntryOfSize(2, half - 13), time: new Date() },
    ]);
    expect(sentRequests().map((r) => r.map(seqOf))).toEqual([['0', '1'], ['2']]);
  });

  test('honours a lower maxRequestBytes, for regions on the old 256 KiB limit', async () => {
    acceptAll();
    const p = publisher({ catalog: blobCatalog, maxRequestBytes: 256 * 1024 });
    await expect(p.publish([blobEntryOfSize(0, 256 * 1024 + 1)])).rejects.toThrow('is 262145 bytes, over the 262144-byte PutEvents limit');
  });
});

describe('failures and retries', () => {
  test('retries only the entries that failed with a retryable code, until they succeed', async () => {
    // GIVEN: the first request throttles entries 1 and 3, the second fails entry 3 internally
    let n = 0;
    ebMock.on(PutEventsCommand).callsFake((input: PutEventsCommandInput) => {
      const call = n++;
      const entries = input.Entries ?? [];
      return {
        FailedEntryCount: 0,
        Entries: entries.map((e) => {
          const seq = seqOf(e);
          const code =
            call === 0 && (seq === 'app-1' || seq === 'app-3')
              ? 'ThrottlingException'
              : call === 1 && seq === 'app-3'
                ? 'InternalFailure'
                : undefined;
          return code ? { ErrorCode: code, ErrorMessage: 'try again' } : { EventId: `evt-${seq}` };
        }),
      };
    });
    // WHEN
    const result = await publisher().publish([0, 1, 2, 3].map((i) => submittedEntry(i)));
    // THEN
    expect(sentRequests().map((r) => r.map(seqOf))).toEqual([['app-0', 'app-1', 'app-2', 'app-3'], ['app-1', 'app-3'], ['app-3']]);
    expect(result.outcomes.map((o) => o.eventId)).toEqual(['evt-app-0', 'evt-app-1', 'evt-app-2', 'evt-app-3']);
    expect(result).toMatchObject({ successCount: 4, failedCount: 0 });
  });

  test('reports permanent entry failures without retrying them', async () => {
    ebMock.on(PutEventsCommand).callsFake((input: PutEventsCommandInput) => ({
      FailedEntryCount: 1,
      Entries: (input.Entries ?? []).map((e, k) =>
        k === 1
          ? { ErrorCode: 'NotAuthorizedForSourceException', ErrorMessage: 'Not authorized for the source' }
          : { EventId: `evt-${seqOf(e)}` },
      ),
    }));
    const result = await publisher().publish([0, 1, 2].map((i) => submittedEntry(i)));
    expect(sentRequests()).toHaveLength(1);
    expect(result.outcomes).toEqual([
      { index: 0, eventId: 'evt-app-0' },
      { index: 1, errorCode: 'NotAuthorizedForSourceException', errorMessage: 'Not authorized for the source' },
      { index: 2, eventId: 'evt-app-2' },
    ]);
    expect(result).toMatchObject({ successCount: 2, failedCount: 1 });
  });

  test('reports a retryable failure once maxAttempts is used up', async () => {
    ebMock
      .on(PutEventsCommand)
      .resolves({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'ThrottlingException', ErrorMessage: 'Rate exceeded' }] });
    const result = await publisher({ maxAttempts: 3 }).publish([submittedEntry(0)]);
    expect(sentRequests()).toHaveLength(3);
    expect(result.outcomes).toEqual([{ index: 0, errorCode: 'ThrottlingException', errorMessage: 'Rate exceeded' }]);
    expect(result.failedCount).toBe(1);
  });

  test('retries a whole request that failed with a throttling error', async () => {
    const throttled = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } });
    ebMock
      .on(PutEventsCommand)
      .rejectsOnce(throttled)
      .callsFake((input: PutEventsCommandInput) => ({
        FailedEntryCount: 0,
        Entries: (input.Entries ?? []).map((e) => ({ EventId: `evt-${seqOf(e)}` })),
      }));
    const result = await publisher().publish([submittedEntry(0), submittedEntry(1)]);
    expect(sentRequests()).toHaveLength(2);
    expect(result.outcomes.map((o) => o.eventId)).toEqual(['evt-app-0', 'evt-app-1']);
  });

  test('retries a request that failed on the network', async () => {
    const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    ebMock
      .on(PutEventsCommand)
      .rejectsOnce(reset)
      .resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'evt-0' }] });
    const result = await publisher().publish([submittedEntry(0)]);
    expect(result.outcomes).toEqual([{ index: 0, eventId: 'evt-0' }]);
  });

  test('reports every entry of a request that failed with a permanent error, and does not retry it', async () => {
    const denied = Object.assign(new Error('not authorized to perform events:PutEvents'), {
      name: 'AccessDeniedException',
      $metadata: { httpStatusCode: 400 },
    });
    ebMock.on(PutEventsCommand).rejects(denied);
    const result = await publisher().publish([submittedEntry(0), submittedEntry(1)]);
    expect(sentRequests()).toHaveLength(1);
    expect(result.outcomes).toEqual(
      [0, 1].map((index) => ({ index, errorCode: 'AccessDeniedException', errorMessage: 'not authorized to perform events:PutEvents' })),
    );
    expect(result).toMatchObject({ successCount: 0, failedCount: 2 });
  });

  test('never reports success for an entry the response has no result for', async () => {
    ebMock.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'evt-0' }] });
    const result = await publisher().publish([submittedEntry(0), submittedEntry(1)]);
    expect(result.outcomes[0]).toEqual({ index: 0, eventId: 'evt-0' });
    expect(result.outcomes[1]).toMatchObject({ index: 1, errorCode: 'MissingEntryResult' });
    expect(sentRequests()).toHaveLength(1);
  });
});

describe('concurrency and progress', () => {
  test('never has more than maxConcurrency requests in flight', async () => {
    let inFlight = 0;
    let peak = 0;
    ebMock.on(PutEventsCommand).callsFake(async (input: PutEventsCommandInput) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((r) => setTimeout(r, 5));
      inFlight--;
      return { FailedEntryCount: 0, Entries: (input.Entries ?? []).map((_, k) => ({ EventId: `evt-${k}` })) };
    });
    const result = await publisher({ maxConcurrency: 3 }).publish(Array.from({ length: 100 }, (_, i) => submittedEntry(i)));
    expect(sentRequests()).toHaveLength(10);
    expect(peak).toBe(3);
    expect(result.successCount).toBe(100);
  });

  test('reports progress up to the total', async () => {
    acceptAll();
    const seen: Array<[number, number]> = [];
    await publisher({ maxConcurrency: 2 }).publish(
      Array.from({ length: 35 }, (_, i) => submittedEntry(i)),
      {
        onProgress: (done, total) => seen.push([done, total]),
      },
    );
    expect(seen.map(([done]) => done)).toEqual([10, 20, 30, 35]);
    expect(seen.every(([, total]) => total === 35)).toBe(true);
  });
});

describe('bulk publishing with random failures', () => {
  test.each([
    ['retryable failures only', 0],
    ['some permanent failures', 0.01],
  ])('10,000 events with 20 %% of entries failing at random (%s): none lost or duplicated', async (_name, permanentRate) => {
    // GIVEN: each attempt of each entry fails with probability 0.2; a share of those failures is permanent
    const random = seededRandom(42);
    const accepted = new Map<string, number>();
    const permanent = new Set<string>();
    // Checked once at the end: a matcher call per entry and attempt would cost more than the publishing.
    const resentAfterFinalAnswer: string[] = [];
    let n = 0;
    // The bus is a plain send on the client, not the sinon stub the other tests use, which records
    // and matches every call (a third of the time of some 1,300 requests), and each entry's id is
    // read from its detail text instead of parsing the whole detail.
    const requestSizes: number[] = [];
    const putEvents = (input: PutEventsCommandInput) => {
      requestSizes.push(input.Entries?.length ?? 0);
      const results = (input.Entries ?? []).map((e) => {
        const seq = applicationIdOf(e);
        if (accepted.has(seq) || permanent.has(seq)) resentAfterFinalAnswer.push(seq);
        const roll = random();
        if (roll < permanentRate) {
          permanent.add(seq);
          return { ErrorCode: 'InvalidArgument', ErrorMessage: 'rejected' };
        }
        if (roll < 0.2) return { ErrorCode: random() < 0.5 ? 'ThrottlingException' : 'InternalFailure', ErrorMessage: 'try again' };
        accepted.set(seq, (accepted.get(seq) ?? 0) + 1);
        return { EventId: `evt-${n++}` };
      });
      return { FailedEntryCount: results.filter((r) => r.ErrorCode).length, Entries: results };
    };
    const bus = Object.assign(new EventBridgeClient({ region: 'eu-west-1' }), {
      send: async (command: PutEventsCommand) => putEvents(command.input),
    }) as EventBridgeClient;
    const total = 10_000;
    // WHEN
    const result = await publisher({ client: bus, maxConcurrency: 8, maxAttempts: 20, baseDelayMs: 0 }).publish(
      Array.from({ length: total }, (_, i) => submittedEntry(i)),
    );
    // THEN: every entry has exactly one outcome, matching what the bus saw
    expect(resentAfterFinalAnswer).toEqual([]);
    expect(result.outcomes).toHaveLength(total);
    const mismatches = result.outcomes.flatMap((o, i) => {
      const seq = `app-${i}`;
      const ok =
        o.index === i && (o.eventId !== undefined ? accepted.get(seq) === 1 : o.errorCode === 'InvalidArgument' && permanent.has(seq));
      return ok ? [] : [{ position: i, outcome: o, acceptedTimes: accepted.get(seq) ?? 0, permanent: permanent.has(seq) }];
    });
    expect(mismatches.slice(0, 5)).toEqual([]);
    expect(new Set(result.outcomes.map((o) => o.eventId).filter(Boolean)).size).toBe(result.successCount);
    expect(result.successCount).toBe(accepted.size);
    expect(result.failedCount).toBe(permanent.size);
    expect(result.successCount + result.failedCount).toBe(total);
    if (permanentRate === 0) expect(result.failedCount).toBe(0);
    // Every request kept to the entry limit, and none reached the stub of the other tests.
    expect(requestSizes.every((size) => size >= 1 && size <= 10)).toBe(true);
    expect(sentRequests()).toEqual([]);
  });
});

describe('EventPublisher.publishEvent', () => {
  test('publishes typed data and returns the event id', async () => {
    acceptAll();
    const data = {
      applicationId: 'app-7',
      applicantId: 'applicant-7',
      email: 'a@example.com',
      amount: 1000,
      currency: 'USD' as const,
      termMonths: 12,
      annualRatePercent: 5,
      monthlyPayment: 85.61,
      decidedAt: '2026-01-01T00:00:00Z',
    };
    const id = await publisher().publishEvent(LoanApplicationApproved, data, { correlationId: 'corr-7', causationId: 'evt-6' });
    expect(id).toBe('evt-0');
    const entry = firstSentEntry();
    expect(entry).toMatchObject({ Source: LoanApplicationApproved.source, DetailType: 'LoanApplicationApproved' });
    expect(detailOf(entry)).toEqual({ metadata: { correlationId: 'corr-7', causationId: 'evt-6', schemaVersion: '1' }, data });
  });

  test('throws PublishFailedError when the event could not be published', async () => {
    ebMock.on(PutEventsCommand).resolves({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'MalformedDetail', ErrorMessage: 'bad json' }] });
    const attempt = publisher().publishEvent(LoanApplicationSubmitted, submittedData());
    await expect(attempt).rejects.toThrow(PublishFailedError);
    await expect(attempt).rejects.toThrow('Publishing LoanApplicationSubmitted failed with MalformedDetail: bad json');
  });

  test('validates the data and names the field', async () => {
    const attempt = publisher().publishEvent(LoanApplicationSubmitted, submittedData({ termMonths: 2 }));
    await expect(attempt).rejects.toThrow(
      /^Invalid LoanApplicationSubmitted event \(source com\.example\.loans\.intake\) at index 0: detail\.data\.termMonths: /,
    );
  });
});

describe('options', () => {
  test.each([
    [{ maxConcurrency: 0 }, 'Invalid maxConcurrency, please select an integer from 1 to 100 (given 0)'],
    [{ maxAttempts: 1.5 }, 'Invalid maxAttempts, please select an integer from 1 to 20 (given 1.5)'],
    [
      { maxRequestBytes: PUT_EVENTS_MAX_REQUEST_BYTES + 1 },
      `Invalid maxRequestBytes, please select an integer from 1 to ${PUT_EVENTS_MAX_REQUEST_BYTES} (given ${PUT_EVENTS_MAX_REQUEST_BYTES + 1})`,
    ],
    [{ eventBusName: '' }, 'Invalid eventBusName, please give the name or ARN of an event bus'],
  ])('rejects %p', (options, message) => {
    expect(() => publisher(options)).toThrow(InvalidOptionError);
    expect(() => publisher(options)).toThrow(message);
  });
});

describe('progress callback', () => {
  test('a throwing progress callback does not stop publishing', async () => {
    acceptAll();
    const result = await publisher({ maxConcurrency: 1 }).publish(
      Array.from({ length: 25 }, (_, i) => submittedEntry(i)),
      {
        onProgress: () => {
          throw new Error('terminal closed');
        },
      },
    );
    expect(result.successCount).toBe(25);
    expect(sentRequests()).toHaveLength(3);
  });
});
