import {
  applyMetricFilter,
  MAX_FILTER_PATTERN_DEPTH,
  MAX_FILTER_PATTERN_LENGTH,
  matchesFilterPattern,
  parseFilterPattern,
  splitDelimited,
  validateMetricTransformation,
  wildcardMatch,
} from '../../../runtime/cloudwatch/filter-pattern';

const trailRecord = JSON.stringify({
  eventVersion: '1.11',
  eventSource: 'events.amazonaws.com',
  eventName: 'PutEvents',
  errorCode: 'AccessDeniedException',
  userIdentity: { type: 'AssumedRole', arn: 'arn:aws:sts::111122223333:assumed-role/Intake/s' },
  requestParameters: { entries: [{ source: 'com.example.loans.intake', detailType: 'LoanApplicationSubmitted' }] },
  latency: 120,
  readOnly: false,
  sessionCredentialFromConsole: null,
});

const powertools = JSON.stringify({
  level: 'ERROR',
  message: 'Record failed',
  correlation_id: 'c-1',
  cold_start: true,
  items: [{ id: 'a' }, { id: 'b' }],
});

describe('filter patterns: terms', () => {
  test.each([
    ['', 'anything', true],
    ['""', 'anything', true],
    ['ERROR', '[ERROR] boom', true],
    ['ERROR', 'error boom', false],
    ['ERROR Exception', 'ERROR NullPointerException', true],
    ['ERROR Exception', 'ERROR only', false],
    ['"Task failed"', 'a Task failed here', true],
    ['"Task failed"', 'Task then failed', false],
    ['ERROR -Exiting', 'ERROR something', true],
    ['ERROR -Exiting', 'ERROR Exiting now', false],
    ['-DEBUG', 'INFO hello', true],
    ['-DEBUG', 'DEBUG hello', false],
    ['?ERROR ?WARN', 'WARN disk', true],
    ['?ERROR ?WARN', 'INFO disk', false],
    ['?"ERROR" "MainThread" ?"WARN" "Deadlock"', 'WARN Deadlock found', true],
    ['?"ERROR" "MainThread" ?"WARN" "Deadlock"', 'ERROR Deadlock found', false],
    ['?"ERROR" "MainThread" ?"WARN" "Deadlock"', 'ERROR in MainThread', true],
    ['"say \\"hi\\""', 'they say "hi" there', true],
  ])('%j on %j -> %s', (pattern, message, expected) => {
    expect(matchesFilterPattern(parseFilterPattern(pattern), message)).toBe(expected);
  });
});

describe('filter patterns: JSON', () => {
  test.each([
    ['{ $.eventSource = "events.amazonaws.com" }', trailRecord, true],
    ['{ $.eventSource = events.amazonaws.com }', trailRecord, true],
    ['{ $.eventSource = "sqs.amazonaws.com" }', trailRecord, false],
    ['{ ($.eventSource = "events.amazonaws.com") && ($.errorCode = "AccessDenied*") }', trailRecord, true],
    ['{ ($.eventSource = "sqs.amazonaws.com") || ($.errorCode = "*Denied*") }', trailRecord, true],
    ['{ $.errorCode = "*Throttl*" }', trailRecord, false],
    ['{ $.userIdentity.type != "Root" }', trailRecord, true],
    ['{ $.userIdentity.type != "AssumedRole" }', trailRecord, false],
    ['{ $.missing != "x" }', trailRecord, false],
    ['{ $.requestParameters.entries[0].detailType = "LoanApplicationSubmitted" }', trailRecord, true],
    ['{ $.requestParameters.entries[1].detailType = "LoanApplicationSubmitted" }', trailRecord, false],
    ['{ $.latency > 100 }', trailRecord, true],
    ['{ $.latency >= 120 && $.latency <= 120 }', trailRecord, true],
    ['{ $.latency < 100 }', trailRecord, false],
    ['{ $.latency = 120.0 }', trailRecord, true],
    ['{ $.latency != 120 }', trailRecord, false],
    ['{ $.readOnly IS FALSE }', trailRecord, true],
    ['{ $.readOnly IS TRUE }', trailRecord, false],
    ['{ $.sessionCredentialFromConsole IS NULL }', trailRecord, true],
    ['{ $.errorCode IS NULL }', trailRecord, false],
    ['{ $.errorMessage NOT EXISTS }', trailRecord, true],
    ['{ $.errorCode NOT EXISTS }', trailRecord, false],
    ['{ $.cold_start IS TRUE && $.level = "ERROR" }', powertools, true],
    ['{ $.items[1].id = "b" }', powertools, true],
    ['{ $.correlation_id = "c-1" }', 'not json c-1', false],
    ['{ ($.level = "INFO" || $.level = "ERROR") && ($.message = "Record*") }', powertools, true],
    ['{ $.__proto__.toString NOT EXISTS }', powertools, true],
    ['{ $.constructor = "*" }', powertools, false],
    // The literal shortcut must not miss a value spelled with JSON escapes.
    ['{ $.eventSource = "events.amazonaws.com" }', '{"eventSource":"events\\u002eamazonaws.com"}', true],
    ['{ $.a = "xyz" || $.b = "uvw" }', '{"b":"uvw"}', true],
    ['{ $.a = "xyz" && $.b = 1 }', '{"a":"xyz","b":1}', true],
  ])('%s -> %s', (pattern, message, expected) => {
    expect(matchesFilterPattern(parseFilterPattern(pattern), message)).toBe(expected);
  });
});

describe('filter patterns: space-delimited', () => {
  const line = '127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /apache_pb.gif HTTP/1.0" 404 1534';
  test('splits quoted and bracketed fields as one', () => {
    expect(splitDelimited(line)).toEqual([
      '127.0.0.1',
      '-',
      'frank',
      '10/Oct/2000:13:25:15 -0700',
      'GET /apache_pb.gif HTTP/1.0',
      '404',
      '1534',
    ]);
  });
  test.each([
    ['[ip, id, user, timestamp, request, status_code, size]', true],
    ['[ip, id, user, timestamp, request, status_code = 4*, size]', true],
    ['[ip, id, user, timestamp, request, status_code = 5*, size]', false],
    ['[ip, id, user, timestamp, request, status_code, size > 1000]', true],
    ['[ip, id, user = frank, ...]', true],
    ['[ip, id, user = bob, ...]', false],
    ['[..., status_code = 404, size]', true],
    ['[ip, id, user]', false],
  ])('%s -> %s', (pattern, expected) => {
    expect(matchesFilterPattern(parseFilterPattern(pattern), line)).toBe(expected);
  });
});

describe('filter patterns: hostile input', () => {
  test.each([
    ['{ $.a = }', /expected a value/],
    ['{ $.a = "x" ', /expected '}'/],
    ['{ a = "x" }', /selector/],
    ['{ $.a > "x" }', /numeric value/],
    ['{ $.a IS MAYBE }', /IS TRUE/],
    ['{ $.a[x] = 1 }', /array index/],
    ['"unterminated', /unterminated/],
    ['ERROR -', /expected a term/],
    ['[a, ..., b]', /first or last/],
    ['[a b c]', /not a name/],
    ['{ $.a = 1 } trailing', /after '}'/],
  ])('%j is rejected: %s', (pattern, message) => {
    expect(() => parseFilterPattern(pattern)).toThrow(
      expect.objectContaining({ code: 'InvalidParameterException', message: expect.stringMatching(message) }),
    );
  });

  test('a pattern longer than the documented limit is rejected with its length', () => {
    const long = 'a'.repeat(MAX_FILTER_PATTERN_LENGTH + 1);
    expect(() => parseFilterPattern(long)).toThrow(`${MAX_FILTER_PATTERN_LENGTH + 1} characters`);
  });

  test('nesting deeper than the bound is rejected, not a stack overflow', () => {
    const d = MAX_FILTER_PATTERN_DEPTH + 1;
    expect(() => parseFilterPattern(`{ ${'('.repeat(d)}$.a = 1${')'.repeat(d)} }`)).toThrow(/nests parentheses/);
    const ok = MAX_FILTER_PATTERN_DEPTH;
    expect(matchesFilterPattern(parseFilterPattern(`{ ${'('.repeat(ok)}$.a = 1${')'.repeat(ok)} }`), '{"a":1}')).toBe(true);
  });

  test('wildcards that would make a backtracking matcher explode stay linear', () => {
    const value = 'a'.repeat(200_000);
    const pattern = `${'*a'.repeat(20)}*b`;
    // A backtracking matcher does not finish here within the test timeout.
    expect(wildcardMatch(pattern, value)).toBe(false);
    expect(wildcardMatch(pattern, `${value}b`)).toBe(true);
  });

  test.each([
    ['a*c', 'abc', true],
    ['a*c', 'ac', true],
    ['a*c', 'ab', false],
    ['*', '', true],
    ['a*a', 'a', false],
    ['*x*y*', 'yx', false],
    ['*x*y*', 'xzzy', true],
    ['abc', 'abc', true],
  ])('wildcard %j on %j -> %s', (p, v, expected) => {
    expect(wildcardMatch(p, v)).toBe(expected);
  });
});

describe('metric filters', () => {
  const denied = parseFilterPattern('{ ($.eventSource = "events.amazonaws.com") && ($.errorCode = "AccessDenied*") }');
  test('a constant value for a matching event, nothing otherwise', () => {
    const t = { metricNamespace: 'LoanEvents/Audit', metricName: 'DeniedEventBridgeCalls', metricValue: '1' };
    expect(applyMetricFilter(denied, t, trailRecord)).toEqual({
      namespace: 'LoanEvents/Audit',
      metricName: 'DeniedEventBridgeCalls',
      value: 1,
      dimensions: {},
    });
    expect(applyMetricFilter(denied, t, '{"eventSource":"events.amazonaws.com"}')).toBeUndefined();
    expect(applyMetricFilter(denied, { ...t, defaultValue: 0 }, '{"eventSource":"events.amazonaws.com"}')?.value).toBe(0);
  });

  test('value and dimensions from JSON fields', () => {
    const p = parseFilterPattern('{ $.latency > 0 }');
    const t = {
      metricNamespace: 'N',
      metricName: 'Latency',
      metricValue: '$.latency',
      dimensions: { Source: '$.eventSource' },
      unit: 'Milliseconds',
    };
    expect(applyMetricFilter(p, t, trailRecord)).toEqual({
      namespace: 'N',
      metricName: 'Latency',
      value: 120,
      dimensions: { Source: 'events.amazonaws.com' },
      unit: 'Milliseconds',
    });
    expect(applyMetricFilter(p, { ...t, dimensions: { X: '$.nope' } }, trailRecord)).toBeUndefined();
    expect(applyMetricFilter(p, { ...t, metricValue: '$.eventName' }, trailRecord)).toBeUndefined();
  });

  test('value from a space-delimited field', () => {
    const p = parseFilterPattern('[ip, id, user, timestamp, request, status_code, size]');
    const t = { metricNamespace: 'N', metricName: 'Bytes', metricValue: '$size', dimensions: { Code: '$status_code' } };
    const line = '127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET / HTTP/1.0" 404 1534';
    expect(applyMetricFilter(p, t, line)).toMatchObject({ value: 1534, dimensions: { Code: '404' } });
  });

  test.each([
    [{ metricValue: '$.a', dimensions: { a: '$.a', b: '$.b', c: '$.c', d: '$.d' } }, /maximum is 3/],
    [{ metricValue: '1', defaultValue: 0, dimensions: { a: '$.a' } }, /cannot be used together/],
    [{ metricValue: 'one' }, /neither a number nor a selector/],
  ])('transformation %j is rejected', (partial, message) => {
    expect(() =>
      validateMetricTransformation(parseFilterPattern('{ $.a = 1 }'), { metricNamespace: 'N', metricName: 'M', ...partial }),
    ).toThrow(message);
  });
});
