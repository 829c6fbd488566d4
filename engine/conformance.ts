/**
 * `npm run conformance -- <file.jsonl> [...]`: runs recorded EventBridge cases (the line format
 * of shared/conformance/NOTICE.md) through the engine, prints each failure with expected and
 * actual, ends with `N passed, M failed`, and exits non-zero when any case fails.
 */
import { readFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import {
  MalformedEventError,
  InvalidEventPatternError,
  InvalidTargetInputError,
  renderTargetInput,
  TargetInput,
  testEventPattern,
  TransformContext,
} from './index';

interface CaseResult {
  readonly id: string;
  readonly ok: boolean;
  readonly expected: string;
  readonly actual: string;
}

export interface ConformanceReport {
  readonly passed: number;
  readonly failed: number;
  readonly failures: readonly CaseResult[];
}

type Case = Record<string, unknown>;

function outcomeOf(run: () => string): string {
  try {
    return run();
  } catch (e) {
    if (e instanceof InvalidEventPatternError || e instanceof MalformedEventError || e instanceof InvalidTargetInputError) {
      return `invalid (${e.code}): ${e.message}`;
    }
    return `threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`;
  }
}

function patternCase(c: Case): CaseResult {
  const pattern = (c.patternRaw as string | undefined) ?? (c.pattern as string | object);
  const event = (c.eventRaw as string | undefined) ?? (c.event as object);
  // Cases recorded against AWS went through the TestEventPattern API, which rejects an event
  // without the envelope; event-ruler's and moto's cases test the matcher on partial events.
  const requireEnvelope = typeof c.basis === 'string' && c.basis.startsWith('aws-');
  const actual = outcomeOf(() => (testEventPattern(pattern, event, { requireEnvelope }) ? 'match' : 'no-match'));
  let expected = c.expect as string;
  let ok = actual === expected;
  if (expected === 'invalid') {
    const code =
      (c.errorCode as string | undefined) ?? (c.invalidInput === 'event' ? 'ValidationException' : 'InvalidEventPatternException');
    expected = c.error === undefined ? `invalid (${code})` : `invalid (${code}): ${c.error as string}`;
    ok = c.error === undefined ? actual.startsWith(`invalid (${code})`) : actual === expected;
  }
  return { id: c.id as string, ok, expected, actual };
}

function transformerCase(c: Case): CaseResult {
  const ctx: TransformContext = {
    ruleArn: 'arn:aws:events:us-east-1:111111111111:rule/test-rule',
    ruleName: 'test-rule',
    eventBusName: 'default',
    targetId: 'target-1',
    ...(c.context as Partial<TransformContext> | undefined),
  };
  const input: TargetInput = {
    inputPath: c.inputPath as string | undefined,
    inputTransformer:
      c.inputTemplate === undefined
        ? undefined
        : { inputPathsMap: c.inputPathsMap as Record<string, string> | undefined, inputTemplate: c.inputTemplate as string },
  };
  const actual = outcomeOf(() => {
    const out = renderTargetInput(c.event as object, input, ctx);
    return out === undefined ? 'not delivered' : out;
  });
  const id = c.id as string;
  if (c.expect === 'invalid') {
    if (c.errorStage === 'delivery') return { id, ok: actual === 'not delivered', expected: 'not delivered', actual };
    const message = (c.error as string).replace(/<target-id>/g, ctx.targetId ?? '');
    const expected = `invalid (${(c.errorCode as string | undefined) ?? 'ValidationException'}): ${message}`;
    return { id, ok: actual === expected, expected, actual };
  }
  if (c.expectFormat === 'text') {
    return { id, ok: actual === c.expect, expected: c.expect as string, actual };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(actual);
  } catch {
    parsed = undefined;
  }
  return { id, ok: isDeepStrictEqual(parsed, c.expect), expected: JSON.stringify(c.expect), actual };
}

/** Runs every case of the given JSONL files. Throws when a file cannot be read. */
export function runConformance(files: readonly string[]): ConformanceReport {
  let passed = 0;
  const failures: CaseResult[] = [];
  for (const file of files) {
    const lines = readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '');
    for (const line of lines) {
      const c = JSON.parse(line) as Case;
      const r = 'inputTemplate' in c || 'inputPath' in c ? transformerCase(c) : patternCase(c);
      if (r.ok) passed++;
      else failures.push(r);
    }
  }
  return { passed, failed: failures.length, failures };
}

if (require.main === module) {
  const files = process.argv.slice(2);
  if (files.length === 0) {
    console.error('usage: npm run conformance -- <file.jsonl> [...]');
    process.exit(2);
  }
  const report = runConformance(files);
  for (const f of report.failures) {
    console.log(`FAIL ${f.id}\n  expected: ${f.expected}\n  actual:   ${f.actual}`);
  }
  console.log(`${report.passed} passed, ${report.failed} failed`);
  process.exit(report.failed === 0 ? 0 : 1);
}
