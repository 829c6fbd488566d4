/**
 * `trace <event-id|correlation-id>`: the life of one business transaction as a tree, from the
 * same APIs on AWS and locally: who published each event (the trail's log group, where PutEvents
 * data events land), each receive and handler invocation with its outcome and log lines (the
 * functions' Powertools JSON logs), dead-letter copies (the stack's DLQs), and the events each
 * one caused (by causationId), with timings.
 */
import type { Command } from 'commander';
import { discoverDeadLetterQueues } from '../discovery';
import { EXIT_FAILURE, EXIT_OK } from '../errors';
import { isRecord, parseTime } from '../input';
import type { Output } from '../output';
import { intInRange, PROGRAM_NAME, type Wrap } from '../command';
import { peekMessages } from './dlq';
import { buildTrace, parseFunctionLine, parseTrailRecord, type DeadLetter, type FunctionLine, type TraceEvent } from '../trace/model';
import { checkId, defaultFunctionLogGroupPrefix, defaultTrailLogGroup, filterAll, logGroupsWithPrefix, logsClient } from '../trace/sources';
import { matchedRules, publishedEvents, type MatchedRule } from '../trace/rules';

/** Ids per OR-term filter pattern when searching the trail for publications. */
const IDS_PER_PATTERN = 20;

interface TraceOptions {
  since: string;
  until: string;
  trailLogGroup?: string;
  functionLogGroupPrefix?: string;
  dlq: boolean;
  rules: boolean;
  max: number;
}

function describeEvent(out: Output, e: TraceEvent, depth: number): void {
  const pad = '  '.repeat(depth);
  const what = out.style('bold', e.detailType ?? 'event');
  const by = e.publishedBy ? ` by ${e.publishedBy}` : '';
  const at = e.publishedAt ? ` published ${e.publishedAt}${by}` : ' (publication not found in the trail)';
  out.line(`${pad}${what} ${e.eventId}${at}`);
  for (const r of e.rules ?? [])
    out.line(`${pad}  rule ${r.name} -> ${r.targets.map((t) => t.split(/[:/]/).pop()).join(', ') || 'no target'}`);
  for (const a of e.attempts) {
    const colour = a.outcome === 'processed' ? 'green' : a.outcome === 'failed' ? 'red' : 'yellow';
    const receive = a.receiveCount !== undefined ? ` receive ${a.receiveCount}` : '';
    out.line(`${pad}  ${a.consumer}${receive}: ${out.style(colour, a.outcome)} at ${a.start} (${a.durationMs} ms)`);
    for (const l of a.lines) out.line(`${pad}    ${l.time} ${l.level.padEnd(5)} ${l.message}`);
  }
  if (e.latencyMs !== undefined) out.line(`${pad}  processed ${e.latencyMs} ms after publication`);
  for (const q of e.deadLettered) out.line(`${pad}  ${out.style('red', `in dead-letter queue ${q}`)}`);
  for (const c of e.caused) describeEvent(out, c, depth + 1);
}

export function registerTrace(program: Command, wrap: Wrap): void {
  program
    .command('trace')
    .description('one business transaction as a tree: publishers, deliveries, handler runs, dead letters, caused events')
    .argument('<id>', 'an event id or a correlation id')
    .option('--since <time>', 'start of the search window (ISO 8601 or relative, e.g. -2h)', '-24h')
    .option('--until <time>', 'end of the search window', 'now')
    .option('--trail-log-group <name>', "the trail's CloudWatch Logs group (default: /aws/cloudtrail/<app>-audit)")
    .option('--function-log-group-prefix <prefix>', 'prefix of the consumers’ log groups (default: /aws/lambda/<stack>-)')
    .option('--no-dlq', 'do not look into the dead-letter queues (reading them raises their receive counts)')
    .option('--no-rules', 'do not ask the bus which of its rules match each event (ListRules, TestEventPattern)')
    .option('--max <n>', 'log events read per log group', intInRange(1, 100_000), 10_000)
    .addHelpText(
      'after',
      `
Publications come from the trail's log group, because CloudTrail LookupEvents never returns data
events such as PutEvents. The trail must log PutEvents data events (the stack's default).
The rules shown are the bus's rules that match each event now (TestEventPattern); nothing logs
which rules matched at the time.
Example:
  $ ${PROGRAM_NAME} trace 4c3f0f5e-2b7a-4a53-9d39-2f7d4a3c9b10 --since -1h`,
    )
    .action(
      wrap<TraceOptions>(async ({ aws, out, globals, names, io }, o, [rawId]) => {
        const id = checkId('<id>', rawId ?? '');
        const now = new Date();
        const startTime = parseTime('--since', o.since, now).getTime();
        const endTime = parseTime('--until', o.until, now).getTime();
        const logs = logsClient({ region: globals.region, profile: globals.profile, endpointUrl: globals.endpointUrl }, io.env);
        try {
          const prefix = o.functionLogGroupPrefix ?? defaultFunctionLogGroupPrefix(names.app());
          const groups = await logGroupsWithPrefix(logs, prefix);
          let truncated = false;
          const readLines = async (pattern: string): Promise<FunctionLine[]> => {
            const all = await Promise.all(
              groups.map((g) => filterAll(logs, { logGroupName: g, filterPattern: pattern, startTime, endTime }, o.max)),
            );
            truncated ||= all.some((r) => r.truncated);
            return all.flatMap((r) => r.lines.map(parseFunctionLine).filter((l): l is FunctionLine => l !== undefined));
          };
          let lines = await readLines(`{ ($.correlationId = "${id}") || ($.eventId = "${id}") }`);
          // An event id: follow its correlation id to the whole transaction.
          const correlationId =
            lines.find((l) => l.eventId === id)?.correlationId ?? (lines.some((l) => l.correlationId === id) ? id : undefined);
          if (correlationId && correlationId !== id) lines = await readLines(`{ $.correlationId = "${correlationId}" }`);

          const trailGroup = o.trailLogGroup ?? defaultTrailLogGroup(names.app());
          const ids = [...new Set([correlationId ?? id, id, ...lines.map((l) => l.eventId).filter((x): x is string => Boolean(x))])];
          const records = [];
          for (let i = 0; i < ids.length; i += IDS_PER_PATTERN) {
            const pattern = ids
              .slice(i, i + IDS_PER_PATTERN)
              .map((x) => `?"${x}"`)
              .join(' ');
            const r = await filterAll(logs, { logGroupName: trailGroup, filterPattern: pattern, startTime, endTime }, o.max);
            truncated ||= r.truncated;
            records.push(...r.lines.map((l) => parseTrailRecord(l.message)).filter((x) => x !== undefined));
          }

          const deadLetters: DeadLetter[] = [];
          if (o.dlq) {
            for (const d of await discoverDeadLetterQueues(aws, names.bus(), names.app())) {
              for (const m of await peekMessages(aws, d.url, 100)) {
                const body = isRecord(m.body) ? m.body : undefined;
                const detail = body && isRecord(body.detail) ? body.detail : undefined;
                const meta = detail && isRecord(detail.metadata) ? detail.metadata : undefined;
                deadLetters.push({
                  queue: d.name,
                  ...(typeof body?.id === 'string' ? { eventId: body.id } : {}),
                  ...(typeof meta?.correlationId === 'string' ? { correlationId: meta.correlationId } : {}),
                });
              }
            }
          }
          const built = buildTrace({ records, lines, deadLetters, ...(correlationId ? { correlationId } : { correlationId: id }) });
          const rules = o.rules ? await matchedRules(aws, names.bus(), publishedEvents(records)) : new Map<string, MatchedRule[]>();
          const withRules = (e: TraceEvent): TraceEvent => ({
            ...e,
            ...(rules.has(e.eventId) ? { rules: rules.get(e.eventId) } : {}),
            caused: e.caused.map(withRules),
          });
          const trace = { ...built, roots: built.roots.map(withRules) };
          out.data({ id, ...trace, truncated });
          if (trace.eventCount === 0) {
            out.line(`no events found for ${id} between ${new Date(startTime).toISOString()} and ${new Date(endTime).toISOString()}`);
            out.note(`searched ${groups.length} function log group(s) under ${prefix} and ${trailGroup}`);
            return EXIT_FAILURE;
          }
          out.line(`correlation ${trace.correlationId ?? id}: ${trace.eventCount} event(s)`);
          for (const root of trace.roots) describeEvent(out, root, 0);
          if (truncated) out.warn(`results were cut at --max ${o.max} events per log group; narrow --since/--until`);
          return EXIT_OK;
        } finally {
          logs.destroy();
        }
      }),
    );
}
