/**
 * What `trace` and `audit` read, through the same APIs on AWS and against the local runtime:
 * the trail's CloudWatch Logs group (CloudTrail records, data events included, which
 * LookupEvents never returns), the functions' log groups (Powertools JSON lines), and the
 * stack's dead-letter queues.
 */
import type { FilteredLogEvent, CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { clientConfig, type AwsOptions, sdk } from '../aws';
import { UsageError } from '../errors';
import { silenceSdkNodeVersionWarning } from '../../sdk/node-version-notice';

silenceSdkNodeVersionWarning();

/**
 * A CloudWatch Logs client configured as the other clients: --endpoint-url, then
 * AWS_ENDPOINT_URL_CLOUDWATCH_LOGS, then AWS_ENDPOINT_URL.
 */
export function logsClient(options: AwsOptions, env: Readonly<Record<string, string | undefined>>): CloudWatchLogsClient {
  const endpointUrl = options.endpointUrl ?? env.AWS_ENDPOINT_URL_CLOUDWATCH_LOGS ?? env.AWS_ENDPOINT_URL;
  // clientConfig knows the EventBridge and SQS variables; hide the SQS one so it cannot apply here.
  const config = clientConfig('SQS', { ...options, ...(endpointUrl ? { endpointUrl } : {}) }, { ...env, AWS_ENDPOINT_URL_SQS: undefined });
  return new (sdk.logs().CloudWatchLogsClient)(config);
}

export interface LogLine {
  readonly group: string;
  readonly stream: string;
  readonly timestamp: number;
  readonly message: string;
}

/** Ids we put into filter patterns: anything else could change the pattern's meaning. */
export function checkId(option: string, id: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/.test(id)) {
    throw new UsageError(`${option}: '${id.slice(0, 40)}' is not an id (letters, digits, '.', '_', ':', '-'; at most 128)`);
  }
  return id;
}

/** Every event of a FilterLogEvents query, following nextToken, up to `limit` events. */
export async function filterAll(
  client: CloudWatchLogsClient,
  input: { logGroupName: string; filterPattern?: string; startTime?: number; endTime?: number },
  limit: number,
): Promise<{ lines: LogLine[]; truncated: boolean }> {
  const lines: LogLine[] = [];
  let nextToken: string | undefined;
  do {
    const r = await client.send(
      new (sdk.logs().FilterLogEventsCommand)({
        ...input,
        ...(nextToken ? { nextToken } : {}),
        limit: Math.min(10_000, limit - lines.length),
      }),
    );
    for (const e of r.events ?? []) lines.push(toLine(input.logGroupName, e));
    nextToken = r.nextToken;
  } while (nextToken && lines.length < limit);
  return { lines, truncated: Boolean(nextToken) };
}

function toLine(group: string, e: FilteredLogEvent): LogLine {
  return { group, stream: e.logStreamName ?? '', timestamp: e.timestamp ?? 0, message: e.message ?? '' };
}

/** Log group names with a prefix (DescribeLogGroups, all pages). */
export async function logGroupsWithPrefix(client: CloudWatchLogsClient, prefix: string): Promise<string[]> {
  const names: string[] = [];
  let nextToken: string | undefined;
  do {
    const r = await client.send(
      new (sdk.logs().DescribeLogGroupsCommand)({ logGroupNamePrefix: prefix, ...(nextToken ? { nextToken } : {}) }),
    );
    for (const g of r.logGroups ?? []) if (g.logGroupName) names.push(g.logGroupName);
    nextToken = r.nextToken;
  } while (nextToken && names.length < 1000);
  return names;
}

/** The trail's log group: lib/stacks.ts names the trail `<app>-audit` and AuditTrail its group `/aws/cloudtrail/<trail>`. */
export const defaultTrailLogGroup = (app: string) => `/aws/cloudtrail/${app}-audit`;
/** Function log groups of the stack: `/aws/lambda/<stack>-<consumer>`. */
export const defaultFunctionLogGroupPrefix = (stack: string) => `/aws/lambda/${stack}-`;
