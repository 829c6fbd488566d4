/**
 * `invoke`: runs one function of the app once, with an event from a file or a sample built from
 * the catalog schema of an event type its consumer subscribes to, and prints its result
 * (batchItemFailures) and the log lines it wrote. Calls Lambda `Invoke` on the local runtime
 * (runtime/lambda-api.ts); against AWS, use `aws lambda invoke` (the CLI signs no Lambda calls).
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Command } from 'commander';
import type { ConsumerDefinition, EventCatalog } from '../../sdk/catalog';
import { isLocalEndpoint, LOCAL_DEFAULT_REGION } from '../aws';
import { CommandFailedError, EXIT_FAILURE, EXIT_OK, UsageError } from '../errors';
import { isRecord, readJsonObject } from '../input';
import { sampleOf } from '../sample';
import { filterAll, logsClient } from '../trace/sources';
import { PROGRAM_NAME, type Wrap } from '../command';
import { projectCatalog } from './publish';

const LOCAL_ACCOUNT = '000000000000';

/** An EventBridge event as the bus delivers it, with a sample detail for the event type. */
export function sampleEnvelope(
  catalog: EventCatalog,
  consumer: ConsumerDefinition,
  detailType: string,
  region: string,
): Record<string, unknown> {
  const subscribed = consumer.subscriptions.map((s) => s.event);
  const event = subscribed.find((e) => e.detailType === detailType);
  if (!event) {
    throw new UsageError(
      `--sample: consumer '${consumer.name}' does not subscribe to '${detailType}'; it subscribes to: ${subscribed.map((e) => e.detailType).join(', ')}`,
    );
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { findEvent, detailJsonSchema } = require('../../sdk/catalog') as typeof import('../../sdk/catalog');
  const definition = findEvent(catalog, event.source, event.detailType) ?? event;
  const detail = sampleOf(detailJsonSchema(definition, 'draft-2020-12'));
  const parsed = definition.detail.safeParse(detail);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UsageError(
      `--sample: cannot build a valid ${detailType} from its schema (${issue ? `detail.${issue.path.map(String).join('.')}: ${issue.message}` : 'invalid'}); write one and pass it with --event`,
    );
  }
  return {
    version: '0',
    // A new id per run: a fixed one would be skipped as a duplicate from the second run on.
    id: randomUUID(),
    'detail-type': event.detailType,
    source: event.source,
    account: LOCAL_ACCOUNT,
    time: new Date().toISOString(),
    region,
    resources: [],
    detail: parsed.data,
  };
}

/** One SQS record carrying `body`, as the event source mapping hands it to the function. */
export function sqsRecordOf(body: string, queueArn: string, region: string): Record<string, unknown> {
  const now = String(Date.now());
  return {
    messageId: randomUUID(),
    receiptHandle: `invoke-${randomUUID()}`,
    body,
    attributes: { ApproximateReceiveCount: '1', SentTimestamp: now, SenderId: LOCAL_ACCOUNT, ApproximateFirstReceiveTimestamp: now },
    messageAttributes: {},
    md5OfBody: createHash('md5').update(body).digest('hex'),
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: region,
  };
}

/** A Powertools JSON line as `LEVEL message`, other lines as they are. */
function foldLine(message: string): string {
  try {
    const l = JSON.parse(message) as unknown;
    if (isRecord(l) && typeof l.message === 'string') return `${String(l.level ?? '').padEnd(5)} ${l.message}`;
  } catch {
    // Not JSON: printed as is.
  }
  return message.trimEnd();
}

interface InvokeOptions {
  event?: string;
  sample?: string;
  logs: boolean;
}

export function registerInvoke(program: Command, wrap: Wrap): void {
  program
    .command('invoke')
    .description('run one function once with an event from a file or a sample from the catalog, and print its result and logs')
    .argument('<function-or-consumer>', "a consumer's name (its function is <stack>-<consumer>) or a function name")
    .option(
      '--event <file>',
      "an SQS event ({ Records: [...] }), or an EventBridge event that is wrapped in one SQS record; '-' reads stdin",
    )
    .option('--sample <detail-type>', 'a sample event of this type, built from its catalog schema (consumers only)')
    .option('--no-logs', "do not read the function's log lines")
    .addHelpText(
      'after',
      `
Runs against the local runtime's Lambda Invoke (AWS_ENDPOINT_URL or --endpoint-url). The event
goes to the function as its event source mapping would hand it: an EventBridge event becomes the
body of one SQS record. Against AWS, use: aws lambda invoke --function-name <name> --payload ...
Examples:
  $ ${PROGRAM_NAME} invoke underwriting --sample LoanApplicationSubmitted
  $ ${PROGRAM_NAME} invoke underwriting --event event.json`,
    )
    .action(
      wrap<InvokeOptions>(async ({ out, globals, names, io }, o, [target = '']) => {
        if (Boolean(o.event) === Boolean(o.sample)) throw new UsageError('give one of --event <file> or --sample <detail-type>');
        const endpoint = globals.endpointUrl ?? io.env.AWS_ENDPOINT_URL_LAMBDA ?? io.env.AWS_ENDPOINT_URL;
        if (!endpoint || !isLocalEndpoint(endpoint))
          throw new UsageError(
            `invoke runs functions of the local runtime: set AWS_ENDPOINT_URL=http://127.0.0.1:4566 (or pass --endpoint-url) and start it with 'npm start'; against AWS use 'aws lambda invoke --function-name <name>'`,
          );
        const region = globals.region ?? io.env.AWS_REGION ?? io.env.AWS_DEFAULT_REGION ?? LOCAL_DEFAULT_REGION;
        const catalog = await projectCatalog().catch(() => undefined);
        const consumer = catalog?.consumers.find((c) => c.name === target);
        const functionName = consumer ? `${names.app()}-${consumer.name}` : target;
        const queueArn = `arn:aws:sqs:${region}:${LOCAL_ACCOUNT}:${functionName}`;

        let payload: Record<string, unknown>;
        if (o.sample) {
          if (!catalog || !consumer)
            throw new UsageError(
              `--sample needs a consumer of the catalog; '${target}' is not one (${catalog?.consumers.map((c) => c.name).join(', ') ?? 'no catalog'})`,
            );
          payload = { Records: [sqsRecordOf(JSON.stringify(sampleEnvelope(catalog, consumer, o.sample, region)), queueArn, region)] };
        } else {
          const event = await readJsonObject('--event', o.event!, io);
          if (Array.isArray(event.Records)) payload = event;
          else if (typeof event.source === 'string' && typeof event['detail-type'] === 'string')
            payload = { Records: [sqsRecordOf(JSON.stringify(event), queueArn, region)] };
          else
            throw new UsageError(
              '--event: expected an SQS event ({ "Records": [...] }) or an EventBridge event (with source and detail-type)',
            );
        }

        const started = Date.now();
        let res: Response;
        try {
          res = await fetch(`${endpoint.replace(/\/$/, '')}/2015-03-31/functions/${encodeURIComponent(functionName)}/invocations`, {
            method: 'POST',
            headers: { 'Content-Type': 'application/json', 'X-Amz-Invocation-Type': 'RequestResponse' },
            body: JSON.stringify(payload),
          });
        } catch (err) {
          throw new CommandFailedError(
            `no runtime answers at ${endpoint} (${(err as Error).cause ?? (err as Error).message}); start one with 'npm start'`,
          );
        }
        const text = await res.text();
        if (res.status === 404)
          throw new UsageError(
            `function '${functionName}' is not in the runtime${catalog ? `; consumers: ${catalog.consumers.map((c) => c.name).join(', ')}` : ''}`,
          );
        if (!res.ok) throw new CommandFailedError(`Invoke ${functionName} answered ${res.status}: ${text.slice(0, 500)}`);
        const functionError = res.headers.get('x-amz-function-error');
        let result: unknown = text;
        try {
          result = JSON.parse(text);
        } catch {
          // Not JSON: shown as text.
        }

        let lines: string[] = [];
        if (o.logs) {
          const logs = logsClient({ region, profile: globals.profile, endpointUrl: endpoint }, io.env);
          try {
            const read = await filterAll(logs, { logGroupName: `/aws/lambda/${functionName}`, startTime: started - 1000 }, 10_000);
            lines = read.lines.filter((l) => l.timestamp >= started - 1000).map((l) => l.message);
          } catch (err) {
            out.warn(`could not read the log group /aws/lambda/${functionName}: ${(err as Error).message}`);
          } finally {
            logs.destroy();
          }
        }
        out.data({ function: functionName, payload, result, ...(functionError ? { functionError } : {}), logs: lines });
        for (const l of lines) out.line(out.style('dim', foldLine(l)));
        out.line(`${functionName}: ${functionError ? out.style('red', `function error (${functionError})`) : 'ok'}`);
        out.line(typeof result === 'string' ? result : JSON.stringify(result, null, 2));
        const failures = isRecord(result) && Array.isArray(result.batchItemFailures) ? result.batchItemFailures.length : 0;
        return functionError || failures > 0 ? EXIT_FAILURE : EXIT_OK;
      }),
    );
}
