/** `replay`: events from the archive for a time window, back to the bus or to one rule, with progress. */
import { randomBytes } from 'node:crypto';
import type { Archive } from '@aws-sdk/client-eventbridge';
import type { Command } from 'commander';
import { describeBus } from '../discovery';
import { CommandFailedError, EXIT_FAILURE, EXIT_OK, UsageError } from '../errors';
import { parseTime } from '../input';
import { REAL_CLOCK, type CliClock } from '../io';
import { intInRange, PROGRAM_NAME, type Wrap } from '../command';
import { countReplay, type ConsumerReplayCount } from '../replay-count';
import { defaultFunctionLogGroupPrefix, logsClient } from '../trace/sources';
import { sdk } from '../aws';

interface ReplayOptions {
  from: string;
  to: string;
  rule?: string;
  archive?: string;
  name?: string;
  wait: boolean;
  pollMs: number;
  count: boolean;
  countWait: number;
}

/** Counts unchanged for this long are taken as final. */
const SETTLE_MS = 2000;

/**
 * How often the counts are read while they settle, whatever --poll-ms says for the replay state:
 * each read is one FilterLogEvents per function log group (a call CloudWatch Logs allows only a
 * few times a second per account and Region, and bills by the data scanned), and a read more
 * often than this would not end the wait sooner than SETTLE_MS allows anyway.
 */
const COUNT_POLL_MS = 500;

/** Replay names: 1 to 64 of [.-_A-Za-z0-9]. @see https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_StartReplay.html */
const REPLAY_NAME = /^[.\-_A-Za-z0-9]{1,64}$/;

export function registerReplay(program: Command, wrap: Wrap): void {
  program
    .command('replay')
    .description('replay archived events of a time window to the bus, or to one rule, and follow the progress')
    .requiredOption('--from <time>', 'start of the window: ISO 8601, or relative like -2h')
    .option('--to <time>', 'end of the window: ISO 8601, now, or relative', 'now')
    .option('--rule <name>', 'replay only to this rule (default: every rule on the bus)')
    .option('--archive <name>', 'archive to replay from (default: the one archive of the bus)')
    .option('--name <name>', 'replay name (default: cli-replay-<random>)')
    .option('--no-wait', 'start the replay and return its name without following it')
    .option('--poll-ms <ms>', 'how often to read the replay state', intInRange(10, 60_000), 2000)
    .option('--no-count', "do not count, from the functions' logs, what each consumer did with the replayed events")
    .option('--count-wait <s>', 'after the replay completes, how long to wait for the counts to settle', intInRange(0, 3600), 30)
    .addHelpText(
      'after',
      `
Replayed events are processed again: the consumers' idempotency key includes the replay name
(docs/sdk.md). After the replay completes, each consumer's processed, skipped-as-duplicate and
failed counts are read from its function's log group (FilterLogEvents on replayName) until they
stop changing for ${SETTLE_MS / 1000} s or --count-wait runs out.
Example:
  $ ${PROGRAM_NAME} replay --from 2026-01-15T10:00:00Z --to 2026-01-15T11:00:00Z --rule MyStack-orders`,
    )
    .action(
      wrap<ReplayOptions>(async ({ aws, out, names, io, globals }, o) => {
        const now = new Date();
        const from = parseTime('--from', o.from, now);
        const to = parseTime('--to', o.to, now);
        if (from.getTime() >= to.getTime())
          throw new UsageError(`--from (${from.toISOString()}) must be before --to (${to.toISOString()})`);
        if (to.getTime() > now.getTime() + 1000)
          throw new UsageError(`--to (${to.toISOString()}) is in the future; a replay's end must not be after now`);
        const name = o.name ?? `cli-replay-${randomBytes(4).toString('hex')}`;
        if (!REPLAY_NAME.test(name)) throw new UsageError(`--name '${name}' must be 1 to 64 letters, digits, '.', '-' or '_'`);

        const bus = await describeBus(aws, names.bus());
        const archives: Archive[] = [];
        let token: string | undefined;
        do {
          const r = await aws.eventBridge.send(new (sdk.eventBridge().ListArchivesCommand)({ EventSourceArn: bus.arn, NextToken: token }));
          archives.push(...(r.Archives ?? []));
          token = r.NextToken;
        } while (token);
        const archive = o.archive ? archives.find((a) => a.ArchiveName === o.archive) : archives.length === 1 ? archives[0] : undefined;
        if (!archive?.ArchiveName) {
          const names = archives.map((a) => a.ArchiveName).join(', ') || '(none)';
          throw new UsageError(
            o.archive
              ? `--archive '${o.archive}' is not an archive of bus ${bus.name}; archives: ${names}`
              : `bus ${bus.name} has ${archives.length} archives (${names}); choose one with --archive`,
          );
        }
        const archiveArn = bus.arn.replace(/:event-bus\/.*$/, `:archive/${archive.ArchiveName}`);
        let ruleArn: string | undefined;
        if (o.rule) {
          try {
            ruleArn = (await aws.eventBridge.send(new (sdk.eventBridge().DescribeRuleCommand)({ Name: o.rule, EventBusName: bus.name })))
              .Arn;
          } catch (err) {
            if ((err as Error).name === 'ResourceNotFoundException')
              throw new UsageError(`--rule '${o.rule}' is not a rule on bus ${bus.name}`);
            throw err;
          }
        }
        const startedAt = Date.now();
        await aws.eventBridge.send(
          new (sdk.eventBridge().StartReplayCommand)({
            ReplayName: name,
            EventSourceArn: archiveArn,
            EventStartTime: from,
            EventEndTime: to,
            Destination: { Arn: bus.arn, ...(ruleArn ? { FilterArns: [ruleArn] } : {}) },
            Description: `${PROGRAM_NAME} replay: ${from.toISOString()} to ${to.toISOString()}${o.rule ? ` to ${o.rule}` : ''}`,
          }),
        );
        out.note(
          `replay ${name} started: ${archive.ArchiveName} ${from.toISOString()} .. ${to.toISOString()} -> ${o.rule ?? `every rule on ${bus.name}`}`,
        );
        if (!o.wait) {
          out.data({ replayName: name, state: 'STARTING' });
          out.line(name);
          return EXIT_OK;
        }

        // Progress is the share of the window replayed so far, in seconds of event time.
        const windowSeconds = Math.max(1, Math.round((to.getTime() - from.getTime()) / 1000));
        const progress = out.progress(`replay ${name}`, windowSeconds);
        const abort = new AbortController();
        const release = io.onInterrupt(() => abort.abort());
        const clock = io.clock ?? REAL_CLOCK;
        let state = 'STARTING';
        let reason: string | undefined;
        try {
          for (;;) {
            const r = await aws.eventBridge.send(new (sdk.eventBridge().DescribeReplayCommand)({ ReplayName: name }));
            state = r.State ?? state;
            reason = r.StateReason;
            const last = r.EventLastReplayedTime;
            if (last) progress.update(Math.min(windowSeconds, Math.max(0, Math.round((last.getTime() - from.getTime()) / 1000))));
            if (state === 'COMPLETED') progress.update(windowSeconds);
            if (['COMPLETED', 'FAILED', 'CANCELLED'].includes(state)) break;
            if (abort.signal.aborted) {
              out.warn(
                `stopped following; replay ${name} continues in EventBridge (cancel it with: aws events cancel-replay --replay-name ${name})`,
              );
              break;
            }
            await clock.sleep(o.pollMs, abort.signal);
          }
        } finally {
          progress.finish();
        }
        let counts: { consumers: ConsumerReplayCount[]; truncated: boolean } | undefined;
        try {
          if (state === 'COMPLETED' && o.count && !abort.signal.aborted) {
            const logs = logsClient({ region: globals.region, profile: globals.profile, endpointUrl: globals.endpointUrl }, io.env);
            try {
              counts = await settledCounts(
                logs,
                defaultFunctionLogGroupPrefix(names.app()),
                name,
                startedAt - 60_000,
                o,
                clock,
                abort.signal,
              );
            } finally {
              logs.destroy();
            }
          }
        } finally {
          release();
        }
        out.data({
          replayName: name,
          archive: archive.ArchiveName,
          from: from.toISOString(),
          to: to.toISOString(),
          rule: o.rule ?? null,
          state,
          ...(reason ? { reason } : {}),
          ...(counts ? { consumers: counts.consumers, countsTruncated: counts.truncated } : {}),
        });
        out.line(`replay ${name}: ${state}${reason ? ` (${reason})` : ''}`);
        if (counts) {
          if (counts.consumers.length === 0) out.note(`no consumer logged a record of replay ${name} within ${o.countWait} s`);
          else
            out.table(
              [
                ['function', 'processed', 'skipped (duplicate)', 'failed attempts'],
                ...counts.consumers.map((c) => [c.function, String(c.processed), String(c.skipped), String(c.failed)]),
              ],
              ['left', 'right', 'right', 'right'],
            );
          if (counts.truncated) out.warn('a log group had more lines than were read; counts are a lower bound');
        }
        if (state === 'FAILED' || state === 'CANCELLED')
          throw new CommandFailedError(`replay ${name} ended ${state}${reason ? `: ${reason}` : ''}`);
        // Interrupted before the end: the replay goes on, but this run did not see it finish.
        return state === 'COMPLETED' ? EXIT_OK : EXIT_FAILURE;
      }),
    );
}

/** Reads the counts until they stop changing for SETTLE_MS (and something was counted), or until --count-wait. */
async function settledCounts(
  logs: Parameters<typeof countReplay>[0],
  prefix: string,
  name: string,
  startTime: number,
  o: ReplayOptions,
  clock: CliClock,
  signal: AbortSignal,
): Promise<{ consumers: ConsumerReplayCount[]; truncated: boolean }> {
  const end = clock.now() + o.countWait * 1000;
  let last = '';
  let lastChange = clock.now();
  for (;;) {
    const counts = await countReplay(logs, prefix, name, startTime);
    const key = JSON.stringify(counts.consumers);
    if (key !== last) {
      last = key;
      lastChange = clock.now();
    }
    const settled = counts.consumers.length > 0 && clock.now() - lastChange >= SETTLE_MS;
    if (settled || clock.now() >= end || signal.aborted) return counts;
    await clock.sleep(COUNT_POLL_MS, signal);
  }
}
