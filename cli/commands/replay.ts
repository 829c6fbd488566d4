/** `replay`: events from the archive for a time window, back to the bus or to one rule, with progress. */
import { randomBytes } from 'node:crypto';
import {
  DescribeReplayCommand,
  DescribeRuleCommand,
  ListArchivesCommand,
  StartReplayCommand,
  type Archive,
} from '@aws-sdk/client-eventbridge';
import type { Command } from 'commander';
import { describeBus } from '../discovery';
import { CommandFailedError, EXIT_FAILURE, EXIT_OK, UsageError } from '../errors';
import { parseTime } from '../input';
import { sleep } from '../io';
import { intInRange, PROGRAM_NAME, type Wrap } from '../command';

interface ReplayOptions {
  from: string;
  to: string;
  rule?: string;
  archive?: string;
  name?: string;
  wait: boolean;
  pollMs: number;
}

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
    .addHelpText(
      'after',
      `
Example:
  $ ${PROGRAM_NAME} replay --from 2026-01-15T10:00:00Z --to 2026-01-15T11:00:00Z --rule MyStack-orders`,
    )
    .action(
      wrap<ReplayOptions>(async ({ aws, out, names, io }, o) => {
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
          const r = await aws.eventBridge.send(new ListArchivesCommand({ EventSourceArn: bus.arn, NextToken: token }));
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
            ruleArn = (await aws.eventBridge.send(new DescribeRuleCommand({ Name: o.rule, EventBusName: bus.name }))).Arn;
          } catch (err) {
            if ((err as Error).name === 'ResourceNotFoundException')
              throw new UsageError(`--rule '${o.rule}' is not a rule on bus ${bus.name}`);
            throw err;
          }
        }
        await aws.eventBridge.send(
          new StartReplayCommand({
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
        let state = 'STARTING';
        let reason: string | undefined;
        try {
          for (;;) {
            const r = await aws.eventBridge.send(new DescribeReplayCommand({ ReplayName: name }));
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
            await sleep(o.pollMs, abort.signal);
          }
        } finally {
          release();
          progress.finish();
        }
        out.data({
          replayName: name,
          archive: archive.ArchiveName,
          from: from.toISOString(),
          to: to.toISOString(),
          rule: o.rule ?? null,
          state,
          ...(reason ? { reason } : {}),
        });
        out.line(`replay ${name}: ${state}${reason ? ` (${reason})` : ''}`);
        if (state === 'FAILED' || state === 'CANCELLED')
          throw new CommandFailedError(`replay ${name} ended ${state}${reason ? `: ${reason}` : ''}`);
        // Interrupted before the end: the replay goes on, but this run did not see it finish.
        return state === 'COMPLETED' ? EXIT_OK : EXIT_FAILURE;
      }),
    );
}
