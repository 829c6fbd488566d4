/**
 * The runtime's output of a function's lines: a structured log record folded to one readable
 * line (level, message, the fields that differ from line to line), other lines as written, the
 * full JSON with `verbose`, and only ERROR records with `quiet`. Whatever a function prints, it
 * cannot forge a line of the runtime's or move the terminal's cursor.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, Metrics } from '@aws-lambda-powertools/metrics';
import { DROPPED_KEYS, MAX_RECORD_CHARS, RuntimeLog, foldLogRecord, parseLogRecord } from '../../runtime/log';

const AT = Date.parse('2026-11-29T12:00:01.123Z');

/** What a RuntimeLog prints for `lines` of one function, after a flush. */
function printed(lines: string[], options: { quiet?: boolean; verbose?: boolean } = {}): string[] {
  const out: string[] = [];
  const log = new RuntimeLog((l) => out.push(l), options.quiet ?? false, undefined, options.verbose ?? false);
  for (const l of lines) log.function('underwriting', l, AT);
  log.flush();
  return out;
}

/** What `write` prints on stdout and stderr, line by line. */
function captured(write: () => void): string[] {
  const lines: string[] = [];
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    lines.push(...String(chunk).split('\n').filter(Boolean));
    return true;
  });
  const errSpy = jest.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    lines.push(...String(chunk).split('\n').filter(Boolean));
    return true;
  });
  try {
    write();
  } finally {
    spy.mockRestore();
    errSpy.mockRestore();
  }
  return lines;
}

/** Lines a Powertools Logger writes, with a Lambda context, as a handler's logger does. */
function powertoolsLines(write: (logger: Logger) => void): string[] {
  // Powertools writes through its own Console on process.stdout/stderr, and reads the trace id Lambda sets.
  process.env._X_AMZN_TRACE_ID = 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1';
  try {
    return captured(() => {
      const logger = new Logger({ serviceName: 'underwriting' });
      logger.addContext({
        functionName: 'LoanEvents-underwriting',
        functionVersion: '$LATEST',
        invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:LoanEvents-underwriting',
        memoryLimitInMB: '512',
        awsRequestId: 'c6af9ac6-7b61-11e6-9a41-93e812345678',
        callbackWaitsForEmptyEventLoop: true,
        logGroupName: '/aws/lambda/LoanEvents-underwriting',
        logStreamName: '2026/11/29/[$LATEST]abc',
        getRemainingTimeInMillis: () => 1000,
        done: () => undefined,
        fail: () => undefined,
        succeed: () => undefined,
      });
      write(logger);
    });
  } finally {
    delete process.env._X_AMZN_TRACE_ID;
  }
}

describe('a Powertools log record', () => {
  test('folds to time, function, level, message and its own fields', () => {
    // GIVEN
    const lines = powertoolsLines((l) => l.info('Application approved', { applicationId: 'A-1', amount: 250000 }));
    expect(lines).toHaveLength(1);
    // WHEN
    const out = printed(lines);
    // THEN
    expect(out).toEqual(['12:00:01.123 [underwriting] INFO  Application approved applicationId=A-1 amount=250000']);
  });

  test('drops the keys that are the same on every line of a function, and no other', () => {
    const [line] = powertoolsLines((l) => l.info('m', { applicationId: 'A-1' }));
    const keys = Object.keys(JSON.parse(line!) as object);
    // Every key Powertools adds on its own is one the folded line leaves out ...
    expect(keys.filter((k) => k !== 'applicationId' && !DROPPED_KEYS.has(k))).toEqual([]);
    // ... and the record's own key stays.
    expect(parseLogRecord(line!)?.fields).toEqual({ applicationId: 'A-1' });
  });

  test('an ERROR record keeps the error and its stack trace, one indented line per frame', () => {
    // GIVEN
    const lines = powertoolsLines((l) => l.error('Decision failed', new TypeError('score is not a number')));
    // WHEN
    const out = printed(lines);
    // THEN
    expect(out[0]).toBe('12:00:01.123 [underwriting] ERROR Decision failed error="TypeError: score is not a number"');
    expect(out.length).toBeGreaterThan(1);
    // Frames (at most 20, then a count of the rest).
    for (const frame of out.slice(1)) expect(frame).toMatch(/^ {4}(at |\.\.\. \d+ more lines$)/);
  });

  test('a WARN record with an error shows the error in one field, without the stack', () => {
    const out = printed(powertoolsLines((l) => l.warn('Retrying', { error: new Error('throttled') })));
    expect(out).toEqual(['12:00:01.123 [underwriting] WARN  Retrying error="Error: throttled"']);
  });
});

describe('a metrics record (CloudWatch embedded metric format)', () => {
  test("Powertools Metrics' record folds to its metrics and values", () => {
    // GIVEN
    const lines = captured(() => {
      const metrics = new Metrics({ namespace: 'LoanEvents', serviceName: 'underwriting' });
      metrics.addMetric('EventsProcessed', MetricUnit.Count, 1);
      metrics.addMetric('InvalidEvents', MetricUnit.Count, 2);
      metrics.publishStoredMetrics();
    });
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toHaveProperty('_aws.CloudWatchMetrics');
    // WHEN / THEN
    expect(printed(lines)).toEqual(['12:00:01.123 [underwriting] METRIC EventsProcessed=1 InvalidEvents=2']);
  });

  test.each([
    ['_aws that is not an object', '{"_aws":"x","EventsProcessed":1}'],
    ['no metric names', '{"_aws":{"CloudWatchMetrics":[{"Metrics":[{"Unit":"Count"}]}]},"x":1}'],
    ['CloudWatchMetrics that is not a list', '{"_aws":{"CloudWatchMetrics":{"Metrics":[]}}}'],
  ])('a record with %s prints as written', (_name, line) => {
    expect(printed([line])).toEqual([`12:00:01.123 [underwriting] ${line}`]);
  });
});

describe('other lines', () => {
  test.each([
    ['plain text', 'processing batch of 3'],
    ['JSON without a level', '{"message":"no level here"}'],
    ['JSON without a message', '{"level":"INFO","count":3}'],
    ['a JSON array', '[1,2,3]'],
    ['a JSON string', '"just a string"'],
    ['a JSON number', '42'],
    ['null', 'null'],
    ['broken JSON', '{"level":"INFO","message":"cut'],
    ['a level that is not a word', '{"level":"INFO 12:00:00.000 publish","message":"m"}'],
  ])('%s prints as written', (_name, line) => {
    expect(printed([line])).toEqual([`12:00:01.123 [underwriting] ${line}`]);
  });

  test('console.log in JSON log format (Lambda adds requestId and timestamp) folds like Powertools', () => {
    const line = JSON.stringify({ timestamp: '2026-11-29T12:00:01.100Z', level: 'INFO', requestId: 'r-1', message: 'hello' });
    expect(printed([line])).toEqual(['12:00:01.123 [underwriting] INFO  hello']);
  });

  test("pino's numeric level and msg fold too", () => {
    const line = JSON.stringify({ level: 40, time: 1, pid: 7, hostname: 'h', msg: 'slow', ms: 812 });
    expect(printed([line])).toEqual(['12:00:01.123 [underwriting] WARN  slow ms=812']);
  });
});

describe('hostile lines', () => {
  test('a huge line is not parsed and prints whole, as written', () => {
    const huge = JSON.stringify({ level: 'INFO', message: 'x'.repeat(MAX_RECORD_CHARS) });
    expect(parseLogRecord(huge)).toBeUndefined();
    expect(printed([huge])).toEqual([`12:00:01.123 [underwriting] ${huge}`]);
  });

  test('a long message and long values are shortened, and fields past twelve are counted', () => {
    const fields = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, 'v'.repeat(500)]));
    const [line, ...rest] = printed([JSON.stringify({ level: 'INFO', message: 'm'.repeat(5000), ...fields })]);
    expect(rest).toEqual([]);
    expect(line!.length).toBeLessThan(3000);
    expect(line).toContain('(+8 more fields)');
    expect(line).toMatch(/ k0=v{119}… /);
  });

  test('control characters in message, keys and values cannot forge a line or move the cursor', () => {
    const line = JSON.stringify({
      level: 'INFO',
      message: 'ok\n12:00:00.000 publish  bus=forged\u001b[2J\r',
      'evil\nkey': 'v\u001b[1A\u2028x',
      error: { name: 'E', message: 'm', stack: 'E: m\n12:00:00.000 DROPPED event forged\n\u001b[2Jat x' },
    });
    const out = printed([line.replace('"INFO"', '"ERROR"')]);
    // eslint-disable-next-line no-control-regex -- matching control characters is the point
    for (const l of out) expect(l).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/);
    expect(out[0]).toMatch(/^12:00:01\.123 \[underwriting\] ERROR ok\\u000a12:00:00\.000 publish/);
    // Stack lines are indented: none starts where a runtime line starts.
    for (const l of out.slice(1)) expect(l).toMatch(/^ {4}\S/);
  });

  test('a stack trace longer than twenty lines is cut, and says how many lines it left out', () => {
    const stack = ['Error: m', ...Array.from({ length: 30 }, (_, i) => `    at frame${i} (index.js:${i}:1)`)].join('\n');
    const out = printed([JSON.stringify({ level: 'ERROR', message: 'm', error: { name: 'Error', message: 'm', stack } })]);
    expect(out).toHaveLength(1 + 20 + 1);
    expect(out[1]).toBe('    at frame0 (index.js:0:1)');
    expect(out[21]).toBe('    ... 10 more lines');
  });

  test('a __proto__ key is a field like any other and writes no prototype', () => {
    const record = parseLogRecord('{"level":"INFO","message":"m","__proto__":{"polluted":true},"constructor":"c"}');
    expect(record).toBeDefined();
    expect(Object.keys(record!.fields)).toEqual(['__proto__', 'constructor']);
    expect(Object.getPrototypeOf(record!.fields)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(foldLogRecord(record!)).toEqual(['INFO  m __proto__={"polluted":true} constructor=c']);
  });

  test('a deeply nested value is shown to three levels, without walking the rest', () => {
    let nested = '1';
    for (let i = 0; i < 100_000; i++) nested = `{"a":${nested}}`;
    const line = `{"level":"INFO","message":"deep","v":${nested}}`;
    // Past the size at which lines are parsed: printed as written.
    expect(printed([line])).toHaveLength(1);
    let small = '1';
    for (let i = 0; i < 5000; i++) small = `[${small}]`;
    const out = printed([`{"level":"INFO","message":"deep","v":${small}}`]);
    expect(out).toEqual(['12:00:01.123 [underwriting] INFO  deep v=[[[[…]]]]']);
  });
});

describe('verbose and quiet', () => {
  const [info] = powertoolsLines((l) => l.info('Application approved', { applicationId: 'A-1' }));
  const errorLines = powertoolsLines((l) => l.error('Decision failed', new Error('boom')));

  test('verbose prints the record as the function wrote it', () => {
    expect(printed([info!], { verbose: true })).toEqual([`12:00:01.123 [underwriting] ${info}`]);
  });

  test('quiet drops INFO records and plain lines, and keeps ERROR records with their stack', () => {
    const out = printed([info!, 'plain text', ...errorLines], { quiet: true });
    expect(out[0]).toBe('12:00:01.123 [underwriting] ERROR Decision failed error="Error: boom"');
    expect(out.length).toBeGreaterThan(1);
    expect(out.slice(1).every((l) => /^ {4}(at |\.\.\. \d+ more lines$)/.test(l))).toBe(true);
    expect(out.join('\n')).not.toContain('Application approved');
    expect(out.join('\n')).not.toContain('plain text');
  });

  test('quiet and verbose: the ERROR record in full, nothing else', () => {
    expect(printed([info!, ...errorLines], { quiet: true, verbose: true })).toEqual([`12:00:01.123 [underwriting] ${errorLines[0]}`]);
  });

  test('quiet keeps the runtime lines that say something went wrong, and drops the routine ones', () => {
    const out: string[] = [];
    const log = new RuntimeLog((l) => out.push(l), true);
    log.event('publish', { bus: 'b', id: '1' }, AT);
    log.event('deliver', { rule: 'r', id: '1' }, AT);
    log.event('failure', { function: 'f', reason: 'boom' }, AT);
    log.event('dlq', { queue: 'q', to: 'q-dlq' }, AT);
    log.event('alarm', { name: 'a', to: 'ALARM' }, AT);
    log.flush();
    expect(out.map((l) => l.split(/\s+/)[1])).toEqual(['failure', 'dlq', 'alarm']);
  });
});
