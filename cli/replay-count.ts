/**
 * How a replay went in each consumer: the Powertools log lines the consumer library writes for
 * every record (sdk/consumer), which carry `replayName` for a replayed event, counted per
 * function log group with one FilterLogEvents query each. The same APIs serve the local runtime
 * and AWS; on AWS, CloudWatch Logs ingests lines seconds after they are written, so the counts
 * settle later than locally.
 */
import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { filterAll, logGroupsWithPrefix } from './trace/sources';

/** The messages sdk/consumer logs for a record: its outcome. */
export const OUTCOME_MESSAGES = {
  processed: 'Event processed',
  skipped: 'Event already processed; duplicate delivery skipped',
  failed: ['Event can never be processed; it will reach the DLQ', 'Event processing failed; it will be retried'],
} as const;

export interface ConsumerReplayCount {
  /** The function's name: its log group without `/aws/lambda/`. */
  readonly function: string;
  readonly processed: number;
  readonly skipped: number;
  /** Failed attempts (a record retried three times counts three). */
  readonly failed: number;
}

/** Lines read per log group at most; a larger replay is reported as truncated. */
export const MAX_LINES_PER_GROUP = 100_000;

/**
 * Counts the outcomes of the replay's records in every function log group with the prefix.
 * Groups without a line for the replay are left out.
 */
export async function countReplay(
  logs: CloudWatchLogsClient,
  groupPrefix: string,
  replayName: string,
  startTime: number,
): Promise<{ consumers: ConsumerReplayCount[]; truncated: boolean }> {
  const consumers: ConsumerReplayCount[] = [];
  let truncated = false;
  for (const group of (await logGroupsWithPrefix(logs, groupPrefix)).sort()) {
    // Replay names are [.-_A-Za-z0-9] only, so the quoted value needs no escaping.
    const read = await filterAll(
      logs,
      { logGroupName: group, filterPattern: `{ $.replayName = "${replayName}" }`, startTime },
      MAX_LINES_PER_GROUP,
    );
    truncated ||= read.truncated;
    const count = { processed: 0, skipped: 0, failed: 0 };
    for (const line of read.lines) {
      let message: unknown;
      try {
        message = (JSON.parse(line.message) as { message?: unknown }).message;
      } catch {
        continue;
      }
      if (message === OUTCOME_MESSAGES.processed) count.processed++;
      else if (message === OUTCOME_MESSAGES.skipped) count.skipped++;
      else if ((OUTCOME_MESSAGES.failed as readonly unknown[]).includes(message)) count.failed++;
    }
    if (count.processed + count.skipped + count.failed > 0) consumers.push({ function: group.replace(/^\/aws\/lambda\//, ''), ...count });
  }
  return { consumers, truncated };
}
