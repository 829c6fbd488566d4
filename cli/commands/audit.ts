/**
 * `audit --from --to`: for a time window, who published which event types (by principal),
 * which calls were denied and to whom, and every change to rules, targets, the bus policy,
 * archives and replays, from the trail's CloudWatch Logs group (the only place CloudTrail
 * shows PutEvents data events), the same way on AWS and against the local runtime.
 */
import type { Command } from 'commander';
import { EXIT_OK, UsageError } from '../errors';
import { parseTime } from '../input';
import { intInRange, PROGRAM_NAME, type Wrap } from '../command';
import { buildAudit, parseTrailRecord, type TrailRecord } from '../trace/model';
import { defaultTrailLogGroup, filterAll, logsClient } from '../trace/sources';

/** The records `audit` reads: everything EventBridge logged, and every denied call. */
export const AUDIT_FILTER_PATTERN =
  '{ ($.eventSource = "events.amazonaws.com") || ($.errorCode = "AccessDenied*") || ($.errorCode = "*UnauthorizedOperation") }';

export function registerAudit(program: Command, wrap: Wrap): void {
  program
    .command('audit')
    .description('who published which events, denied calls, and changes to rules, targets, bus policy, archives and replays')
    .option('--from <time>', 'start of the window (ISO 8601 or relative, e.g. -7d)', '-24h')
    .option('--to <time>', 'end of the window', 'now')
    .option('--trail-log-group <name>', "the trail's CloudWatch Logs group (default: /aws/cloudtrail/<app>-audit)")
    .option('--max <n>', 'trail records read at most', intInRange(1, 1_000_000), 100_000)
    .addHelpText('after', `\nExample:\n  $ ${PROGRAM_NAME} audit --from -7d --json`)
    .action(
      wrap<{ from: string; to: string; trailLogGroup?: string; max: number }>(async ({ out, globals, names, io }, o) => {
        const now = new Date();
        const from = parseTime('--from', o.from, now);
        const to = parseTime('--to', o.to, now);
        if (from.getTime() >= to.getTime())
          throw new UsageError(`--from (${from.toISOString()}) must be before --to (${to.toISOString()})`);
        const logs = logsClient({ region: globals.region, profile: globals.profile, endpointUrl: globals.endpointUrl }, io.env);
        try {
          const group = o.trailLogGroup ?? defaultTrailLogGroup(names.app());
          const progress = out.progress(`reading ${group}`);
          const { lines, truncated } = await filterAll(
            logs,
            { logGroupName: group, filterPattern: AUDIT_FILTER_PATTERN, startTime: from.getTime(), endTime: to.getTime() },
            o.max,
          );
          progress.finish();
          const records = lines.map((l) => parseTrailRecord(l.message)).filter((r): r is TrailRecord => r !== undefined);
          const report = buildAudit(records, from, to);
          out.data({ ...report, records: records.length, truncated });

          out.line(out.style('bold', `Audit of ${group}, ${report.from} to ${report.to} (${records.length} records)`));
          out.line();
          out.line(out.style('bold', 'Publishers'));
          if (report.publishers.length === 0) out.line('  no PutEvents in the window (is the trail logging PutEvents data events?)');
          out.table(
            [
              ['principal', 'source', 'detail-type', 'events', 'failed'],
              ...report.publishers.flatMap((p) =>
                p.eventTypes.map((t) => [p.principal, t.source, t.detailType, String(t.count), String(t.failed)]),
              ),
            ],
            ['left', 'left', 'left', 'right', 'right'],
          );
          out.line();
          out.line(out.style('bold', 'Denied calls'));
          if (report.denied.length === 0) out.line('  none');
          out.table(
            [
              ['principal', 'call', 'error', 'count', 'last'],
              ...report.denied.map((d) => [
                d.principal,
                `${d.eventSource.split('.')[0]}:${d.eventName}`,
                out.style('red', d.errorCode),
                String(d.count),
                d.last,
              ]),
            ],
            ['left', 'left', 'left', 'right', 'left'],
          );
          out.line();
          out.line(out.style('bold', 'Changes to rules, targets, bus policy, archives and replays'));
          if (report.changes.length === 0) out.line('  none');
          out.table([
            ['time', 'principal', 'call', 'on', 'result'],
            ...report.changes.map((c) => [
              c.time,
              c.principal,
              c.eventName,
              c.target ?? '-',
              c.errorCode ? out.style('red', c.errorCode) : 'ok',
            ]),
          ]);
          if (truncated) out.warn(`stopped after --max ${o.max} records; narrow --from/--to`);
          return EXIT_OK;
        } finally {
          logs.destroy();
        }
      }),
    );
}
