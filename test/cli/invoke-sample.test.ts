/** The samples `invoke --sample` builds: valid for every event type of the catalog, and the same each time. */
import { app } from '../../catalog';
import { sampleEnvelope, sqsRecordOf } from '../../cli/commands/invoke';
import { sampleOf } from '../../cli/sample';
import { detailJsonSchema } from '../../sdk/catalog';

const catalog = app.catalog;
const subscriptions = catalog.consumers.flatMap((c) => c.subscriptions.map((s) => [c.name, s.event.detailType, c] as const));

describe('sampleOf', () => {
  test.each(catalog.events.map((e) => [e.detailType, e] as const))('builds a detail that passes the schema of %s', (_, event) => {
    const detail = sampleOf(detailJsonSchema(event, 'draft-2020-12'));
    expect(event.detail.safeParse(detail).success).toBe(true);
    // deterministic
    expect(sampleOf(detailJsonSchema(event, 'draft-2020-12'))).toEqual(detail);
  });

  test('follows $ref, takes the first enum value, and writes no prototype', () => {
    const schema = {
      $defs: { level: { enum: ['high', 'low'] } },
      type: 'object',
      properties: { level: { $ref: '#/$defs/level' }, __proto__: { type: 'string' }, n: { type: 'integer', exclusiveMinimum: 3 } },
    };
    const v = sampleOf(JSON.parse(JSON.stringify(schema).replace('"__proto__"', '"__proto__"'))) as Record<string, unknown>;
    expect(v.level).toBe('high');
    expect(v.n).toBe(4);
    expect(Object.getPrototypeOf({})).toBe(Object.prototype);
  });
});

describe('sampleEnvelope', () => {
  test.each(subscriptions)('%s gets a %s event it would accept', (_, detailType, consumer) => {
    const envelope = sampleEnvelope(catalog, consumer, detailType, 'us-east-1');
    expect(envelope['detail-type']).toBe(detailType);
    const record = sqsRecordOf(JSON.stringify(envelope), 'arn:aws:sqs:us-east-1:000000000000:q', 'us-east-1');
    expect(JSON.parse(record.body as string)).toEqual(envelope);
    expect(record.eventSource).toBe('aws:sqs');
  });

  test('refuses an event type the consumer does not subscribe to, naming the ones it does', () => {
    const consumer = catalog.consumers[0]!;
    expect(() => sampleEnvelope(catalog, consumer, 'NoSuchType', 'us-east-1')).toThrow(
      `--sample: consumer '${consumer.name}' does not subscribe to 'NoSuchType'; it subscribes to: ${consumer.subscriptions.map((s) => s.event.detailType).join(', ')}`,
    );
  });
});
