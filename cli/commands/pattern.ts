/**
 * `pattern test`, `pattern check` and `pattern rules`: offline, with the project's pattern
 * engine, which gives the same answers and error texts as EventBridge.
 */
import { randomUUID } from 'node:crypto';
import type { Command } from 'commander';
import { explainMismatch, InvalidEventPatternError, RuleMatcher, testEventPattern, validateEventPattern } from '../../engine';
import { CommandFailedError, EXIT_FAILURE, EXIT_OK, UsageError } from '../errors';
import { isRecord, readJsonObject } from '../input';
import { PROGRAM_NAME, type Wrap } from '../command';
import { staleAssemblyWarning } from '../stale';
import { loadTopology } from '../topology';

/**
 * The event as EventBridge delivers it. Accepts a full event (`detail-type`), or a PutEvents
 * entry (`DetailType`/`Detail`) or publisher entry (`detailType`/`detail`), and fills the
 * envelope fields EventBridge adds, so patterns on `account`, `region` or `time` can be tried.
 */
export function toBusEvent(input: Record<string, unknown>, defaults: { account?: string; region?: string } = {}): Record<string, unknown> {
  if ('detail-type' in input) return input;
  const detailType = input.DetailType ?? input.detailType;
  const source = input.Source ?? input.source;
  if (detailType === undefined || source === undefined) return input;
  let detail = input.Detail ?? input.detail ?? {};
  if (typeof detail === 'string') {
    try {
      detail = JSON.parse(detail);
    } catch {
      throw new UsageError('--event: Detail is a string but not JSON');
    }
  }
  const time = input.Time ?? input.time;
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': detailType,
    source: source,
    account: defaults.account ?? '123456789012',
    time: time instanceof Date ? time.toISOString() : (time ?? new Date().toISOString()),
    region: defaults.region ?? 'us-east-1',
    resources: input.Resources ?? input.resources ?? [],
    detail: detail,
  };
}

/** Runs the engine, turning a rejected pattern into the AWS error text as a usage error. */
function withPattern<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof InvalidEventPatternError) throw new UsageError(`--pattern: ${err.message}`);
    if (err instanceof Error && err.name === 'MalformedEventError') throw new UsageError(`--event: ${err.message}`);
    throw err;
  }
}

export function registerPattern(program: Command, wrap: Wrap): void {
  const pattern = program.command('pattern').description('test and check event patterns offline, with EventBridge semantics');

  pattern
    .command('test')
    .description('does the event match the pattern? For a no-match, names the field that failed (exit 1)')
    .requiredOption('-p, --pattern <json|file|->', 'the pattern: inline JSON, a file, or - for stdin')
    .requiredOption('-e, --event <json|file|->', 'the event: a full event, or an entry {source, detailType, detail}')
    .addHelpText(
      'after',
      `
Examples:
  $ ${PROGRAM_NAME} pattern test -p '{"detail":{"data":{"total":[{"numeric":[">=",1000]}]}}}' -e event.json
  $ ${PROGRAM_NAME} pattern test -p rule.json -e - < event.json`,
    )
    .action(
      wrap<{ pattern: string; event: string }>(async ({ io, out }, opts) => {
        if (opts.pattern === '-' && opts.event === '-') throw new UsageError('--pattern and --event cannot both read stdin');
        const p = await readJsonObject('--pattern', opts.pattern, io);
        const e = toBusEvent(await readJsonObject('--event', opts.event, io));
        const matched = withPattern(() => testEventPattern(p, e));
        const reason = matched ? undefined : withPattern(() => explainMismatch(p, e));
        out.data({ match: matched, ...(reason ? { reason } : {}) });
        out.line(matched ? out.style('green', 'match') : `${out.style('red', 'no match')}: ${reason ?? 'the event does not match'}`);
        return matched ? EXIT_OK : EXIT_FAILURE;
      }),
    );

  pattern
    .command('check')
    .description("validate a pattern; prints EventBridge's own error text when it is not valid (exit 1)")
    .requiredOption('-p, --pattern <json|file|->', 'the pattern: inline JSON, a file, or - for stdin')
    .addHelpText(
      'after',
      `
Example:
  $ ${PROGRAM_NAME} pattern check -p '{"detail":{"amount":[{"numeric":[">",1,">",2]}]}}'`,
    )
    .action(
      wrap<{ pattern: string }>(async ({ io, out }, opts) => {
        const p = await readJsonObject('--pattern', opts.pattern, io);
        try {
          validateEventPattern(p);
        } catch (err) {
          if (!(err instanceof InvalidEventPatternError)) throw err;
          out.data({ valid: false, message: err.message });
          out.line(`${out.style('red', 'invalid')}: ${err.message}`);
          return EXIT_FAILURE;
        }
        out.data({ valid: true });
        out.line(out.style('green', 'valid'));
        return EXIT_OK;
      }),
    );

  pattern
    .command('rules')
    .description("which of the stack's rules an event matches, from the synthesized template (offline)")
    .requiredOption('-e, --event <json|file|->', 'the event: a full event, or an entry {source, detailType, detail}')
    .option('--template <file>', 'CloudFormation template (default: <assembly>/<stack>.template.json)')
    .option('--assembly <dir>', 'cloud assembly directory', 'cdk.out')
    .addHelpText(
      'after',
      `
Example:
  $ ${PROGRAM_NAME} pattern rules -e '{"source":"com.example.orders","detailType":"OrderPlaced","detail":{"data":{"total":1200}}}'`,
    )
    .action(
      wrap<{ event: string; template?: string; assembly: string }>(async ({ io, out, names }, opts) => {
        const stack = opts.template ? '' : names.app(opts.assembly);
        const stale = opts.template ? undefined : staleAssemblyWarning(io.cwd, opts.assembly);
        if (stale) out.warn(stale);
        const topology = loadTopology({ template: opts.template, assembly: opts.assembly, stack, cwd: io.cwd });
        const event = toBusEvent(await readJsonObject('--event', opts.event, io));
        const matcher = new RuleMatcher<string>();
        for (const rule of topology.rules) if (isRecord(rule.pattern)) matcher.add(rule.name, rule.pattern);
        const matched = new Set(withPattern(() => matcher.match(event)));
        const rows = topology.rules.map((r) => ({
          rule: r.name,
          match: matched.has(r.name),
          ...(matched.has(r.name) ? {} : { reason: isRecord(r.pattern) ? explainMismatch(r.pattern, event) : 'no pattern' }),
        }));
        out.data({ rules: rows });
        for (const r of rows)
          out.line(r.match ? `${out.style('green', 'match')}     ${r.rule}` : `${out.style('dim', 'no match')}  ${r.rule}: ${r.reason}`);
        if (matched.size === 0) throw new CommandFailedError('the event matches no rule of the stack');
        return EXIT_OK;
      }),
    );
}
