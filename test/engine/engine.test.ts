import {
  explainMismatch,
  MalformedEventError,
  InvalidEventPatternError,
  InvalidTargetInputError,
  renderTargetInput,
  RuleMatcher,
  testEventPattern,
  validateEventPattern,
  validateTargetInput,
} from '../../engine';

const loan = {
  version: '0',
  id: '1',
  'detail-type': 'Loan Application Submitted',
  source: 'com.acme.lending',
  account: '123456789012',
  time: '2026-01-01T00:00:00Z',
  region: 'us-east-1',
  resources: ['arn:aws:lending:us-east-1:123456789012:application/APP-1'],
  detail: {
    data: { amount: 1200 },
    status: 'SUBMITTED',
    ip: '10.0.0.7',
    items: [
      { sku: 'a', qty: 1 },
      { sku: 'b', qty: 2 },
    ],
  },
};

describe('testEventPattern', () => {
  test('matches the top-level envelope fields, resources and account included', () => {
    expect(testEventPattern({ account: ['123456789012'], resources: [{ suffix: 'APP-1' }] }, loan)).toBe(true);
    expect(testEventPattern({ region: ['eu-west-1'] }, loan)).toBe(false);
  });

  test('compares numbers by value but never coerces strings to numbers', () => {
    expect(testEventPattern({ detail: { data: { amount: [1200.0] } } }, '{"detail":{"data":{"amount":1.2e3}}}')).toBe(true);
    expect(testEventPattern({ detail: { data: { amount: [1200] } } }, { detail: { data: { amount: '1200' } } })).toBe(false);
    expect(testEventPattern({ detail: { data: { amount: [{ numeric: ['>', 1000] }] } } }, { detail: { data: { amount: '1500' } } })).toBe(
      false,
    );
  });

  test('compares a number a double cannot hold exactly by its text only', () => {
    const pattern = '{"n": [123456789012345678901]}';
    expect(testEventPattern(pattern, '{"n": 123456789012345678901}')).toBe(true);
    expect(testEventPattern(pattern, '{"n": 123456789012345680000}')).toBe(false);
  });

  test('matches fields of one rule within the same element of an array of objects', () => {
    expect(testEventPattern({ detail: { items: { sku: ['a'], qty: [1] } } }, loan)).toBe(true);
    expect(testEventPattern({ detail: { items: { sku: ['a'], qty: [2] } } }, loan)).toBe(false);
  });

  test('treats dotted keys and nested keys as the same path', () => {
    expect(testEventPattern({ 'detail.status': ['SUBMITTED'] }, loan)).toBe(true);
    expect(testEventPattern({ detail: { status: ['SUBMITTED'] } }, { 'detail.status': 'SUBMITTED' })).toBe(true);
  });

  test('matches IP addresses by cidr range and by any spelling of the same address', () => {
    expect(testEventPattern({ detail: { ip: [{ cidr: '10.0.0.0/29' }] } }, loan)).toBe(true);
    expect(testEventPattern({ detail: { ip: [{ cidr: '10.0.0.8/29' }] } }, loan)).toBe(false);
    expect(testEventPattern({ a: ['2001:db8::1'] }, { a: '2001:0db8:0:0:0:0:0:1' })).toBe(true);
  });

  test('rejects an event without the envelope fields only when asked to, as the API does', () => {
    const { id: _id, ...noId } = loan;
    expect(testEventPattern({ source: ['com.acme.lending'] }, noId)).toBe(true);
    expect(() => testEventPattern({ source: ['com.acme.lending'] }, noId, { requireEnvelope: true })).toThrow(MalformedEventError);
    expect(testEventPattern({ source: ['com.acme.lending'] }, loan, { requireEnvelope: true })).toBe(true);
  });

  test('accepts an event without resources, which AWS answers though its API reference lists the field', () => {
    const { resources: _resources, ...noResources } = loan;
    expect(testEventPattern({ source: ['com.acme.lending'] }, noResources, { requireEnvelope: true })).toBe(true);
    expect(() => testEventPattern({ source: ['a'] }, { testEvent: 'value' }, { requireEnvelope: true })).toThrow(
      'Parameter Event is not valid.',
    );
  });

  test('treats -0 as 0, for an event given as an object and as text alike', () => {
    // event-ruler reads number literals as BigDecimal, which has no negative zero
    for (const event of [{ a: -0 }, '{"a":-0}', '{"a":-0.0}', JSON.stringify({ a: -0 })]) {
      expect(testEventPattern({ a: [0] }, event)).toBe(true);
      expect(testEventPattern('{"a":[-0]}', event)).toBe(true);
      expect(testEventPattern({ a: [{ numeric: ['=', 0] }] }, event)).toBe(true);
      expect(testEventPattern({ a: [{ numeric: ['<', 0] }] }, event)).toBe(false);
      expect(testEventPattern({ a: [{ numeric: ['>=', 0] }] }, event)).toBe(true);
      expect(testEventPattern({ a: [{ 'anything-but': 0 }] }, event)).toBe(false);
    }
    expect(() => validateEventPattern('{"a":[{"numeric":[">",-0,"<",0]}]}')).toThrow('Bottom must be less than top');
  });

  test('rejects an event that is not a JSON object', () => {
    expect(() => testEventPattern({ a: ['b'] }, 'plain string')).toThrow(MalformedEventError);
    expect(() => testEventPattern({ a: ['b'] }, '[1]')).toThrow('Parameter Event is not valid.');
  });
});

describe('validateEventPattern', () => {
  test('rejects with the AWS error code and reason text', () => {
    // WHEN
    let error: unknown;
    try {
      validateEventPattern({ detail: { amount: [{ numeric: ['>', 0, '>', 5] }] } });
    } catch (e) {
      error = e;
    }
    // THEN
    expect(error).toBeInstanceOf(InvalidEventPatternError);
    expect((error as InvalidEventPatternError).code).toBe('InvalidEventPatternException');
    expect((error as Error).message).toBe('Event pattern is not valid. Reason: Bad numeric range operator: >');
  });

  test('rejects a pattern longer than the API allows', () => {
    const big = { a: ['x'.repeat(5000)] };
    expect(() => validateEventPattern(big)).toThrow(InvalidEventPatternError);
  });
});

describe('explainMismatch', () => {
  test('names the first field that failed with its value and the condition', () => {
    const pattern = { source: ['com.acme.lending'], detail: { data: { amount: [{ numeric: ['>=', 250000] }] } } };
    expect(explainMismatch(pattern, loan)).toBe('detail.data.amount: 1200 is not in [">=", 250000]');
  });

  test('says when a field is missing, and nothing when the event matches', () => {
    expect(explainMismatch({ detail: { nope: ['x'] } }, loan)).toBe('detail.nope: missing from the event, expected ["x"]');
    expect(explainMismatch({ source: ['com.acme.lending'] }, loan)).toBeUndefined();
  });
});

describe('RuleMatcher', () => {
  test('returns every matching rule, and forgets removed and replaced rules', () => {
    // GIVEN
    const m = new RuleMatcher<string>();
    m.add('all-loans', { source: ['com.acme.lending'] });
    m.add('big', { detail: { data: { amount: [{ numeric: ['>', 1000] }] } } });
    m.add('other', { source: ['com.acme.other'] });
    // WHEN / THEN
    expect(m.match(JSON.stringify(loan)).sort()).toEqual(['all-loans', 'big']);
    m.remove('big');
    m.add('other', { detail: { status: [{ prefix: 'SUB' }] } });
    expect(m.match(loan).sort()).toEqual(['all-loans', 'other']);
    expect(m.size).toBe(2);
  });

  test('reads an event given as text keeping number literals a double cannot hold, when a rule tests them', () => {
    // GIVEN rules on a number, and texts whose literal JSON.parse would round
    const matcher = new RuleMatcher<string>();
    matcher.add('positive', { a: [{ numeric: ['>', 0] }] });
    matcher.add('exact', '{"a":[12345678901234567890123]}');
    matcher.add('status', { s: ['ok'] });
    // THEN an inexact literal is compared as text only, as testEventPattern does
    const inexact = '{"a": 0.10000000000000000001, "s": "ok"}';
    expect(matcher.match(inexact).sort()).toEqual(['status']);
    expect(testEventPattern({ a: [{ numeric: ['>', 0] }] }, inexact)).toBe(false);
    expect(matcher.match('{"a": 12345678901234567890123}')).toEqual(['exact']);
    expect(matcher.match('{"a": 12345678901234567890124}')).toEqual([]);
    expect(matcher.match('{"a": 0.5, "s": "no"}')).toEqual(['positive']);
  });

  test('keeps the previous rules when a new pattern is invalid', () => {
    const m = new RuleMatcher<number>();
    m.add(1, { source: ['com.acme.lending'] });
    expect(() => m.add(2, { source: 'com.acme.lending' })).toThrow(
      'Event pattern is not valid. Reason: "source" must be an object or an array',
    );
    expect(m.match(loan)).toEqual([1]);
  });
});

describe('target input', () => {
  const context = { ruleArn: 'arn:aws:events:us-east-1:1:rule/r', ruleName: 'r', eventBusName: 'bus', targetId: 't1' };

  test('renders a JSON template with values in place and a string template with plain text', () => {
    const json = renderTargetInput(
      loan,
      { inputTransformer: { inputPathsMap: { s: '$.detail.status' }, inputTemplate: '{"state": <s>, "rule": "<aws.events.rule-name>"}' } },
      context,
    );
    expect(JSON.parse(json!)).toEqual({ state: 'SUBMITTED', rule: 'r' });
    const text = renderTargetInput(
      loan,
      { inputTransformer: { inputPathsMap: { i: '$.detail.items[1]' }, inputTemplate: '"item <i>"' } },
      context,
    );
    expect(text).toBe('"item {sku:b,qty:2}"');
  });

  test('renders a path missing from the event as "" in a JSON template and as nothing inside quotes', () => {
    // GIVEN a path the event does not have, beside one whose value is null
    const input = {
      inputTransformer: {
        inputPathsMap: { gone: '$.detail.notinmessage', none: '$.detail.none' },
        inputTemplate: '{"gone": <gone>, "quoted": "x<gone>y", "none": <none>}',
      },
    };
    // WHEN
    const out = renderTargetInput({ ...loan, detail: { none: null } }, input, context);
    // THEN the missing variable is the empty string, a null value stays null
    expect(JSON.parse(out!)).toEqual({ gone: '', quoted: 'xy', none: null });
  });

  test('delivers nothing when the rendered JSON template is not valid JSON', () => {
    const input = { inputTransformer: { inputPathsMap: { r: '$.resources' }, inputTemplate: '{"r": "<r>"}' } };
    expect(renderTargetInput(loan, input, context)).toBeUndefined();
  });

  test('rejects settings PutTargets rejects, naming the target', () => {
    expect(() => validateTargetInput({ input: '{}', inputPath: '$.detail' }, 't1')).toThrow(
      'Only one of Input, InputPath, or InputTransformer must be provided for target t1.',
    );
    expect(() => validateTargetInput({ inputTransformer: { inputTemplate: '"<nope>"' } }, 't1')).toThrow(InvalidTargetInputError);
  });
});
