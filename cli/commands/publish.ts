/**
 * `publish`: one event from flags or a file, or many from JSON Lines (a file or stdin), through
 * the project's EventPublisher: catalog validation before anything is sent, PutEvents packing,
 * retries of failed entries only. Prints each event's id or error.
 */
import type { Command } from 'commander';
import { join } from 'path';
import type { EventCatalog, EventPublisher, PublishEntry } from '../../sdk';
import { EXIT_FAILURE, EXIT_OK, UsageError } from '../errors';
import { isRecord, parseJson, parseJsonLines, readJsonObject, readJsonText } from '../input';
import { intInRange, PROGRAM_NAME, type Wrap } from '../command';
import { PROJECT_ROOT } from '../../assembly';

/**
 * The project's catalog, loaded by path: the framework imports nothing from the example app, and
 * the CLI will take the app definition as an option. Required, not imported: the installed
 * command (cli/bin.cjs) registers tsx's require hook only, and an `import()` of the folder failed
 * there ("Directory import ... is not supported"), so `publish` failed and `invoke --sample`
 * found no catalog.
 */
export async function projectCatalog(): Promise<EventCatalog> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require(join(PROJECT_ROOT, 'catalog')) as { app?: { catalog: EventCatalog } };
  if (!mod.app) throw new UsageError(`${join(PROJECT_ROOT, 'catalog')} exports no 'app' definition`);
  return mod.app.catalog;
}

interface PublishOptions {
  source?: string;
  detailType?: string;
  detail?: string;
  resources?: string;
  time?: string;
  file?: string;
  jsonl?: string;
  concurrency: number;
  maxAttempts: number;
}

/**
 * A publisher entry from a JSON object: `{ source, detailType | "detail-type" | DetailType,
 * detail | Detail, resources?, time? }`. `where` names the input in errors ("line 3").
 */
export function toEntry(value: unknown, where: string): PublishEntry {
  if (!isRecord(value)) throw new UsageError(`${where}: must be a JSON object with source, detailType and detail`);
  const source = value.source ?? value.Source;
  const detailType = value.detailType ?? value['detail-type'] ?? value.DetailType;
  let detail = value.detail ?? value.Detail;
  if (typeof source !== 'string' || source.length === 0) throw new UsageError(`${where}: 'source' is required and must be a string`);
  if (typeof detailType !== 'string' || detailType.length === 0)
    throw new UsageError(`${where}: 'detailType' is required and must be a string`);
  if (typeof detail === 'string') detail = parseJson(`${where}: detail`, detail);
  if (!isRecord(detail)) throw new UsageError(`${where}: 'detail' is required and must be an object { metadata?, data }`);
  const resources = value.resources ?? value.Resources;
  if (resources !== undefined && !(Array.isArray(resources) && resources.every((r) => typeof r === 'string'))) {
    throw new UsageError(`${where}: 'resources' must be an array of strings`);
  }
  const timeValue = value.time ?? value.Time;
  let time: Date | undefined;
  if (timeValue !== undefined) {
    time = new Date(String(timeValue));
    if (typeof timeValue !== 'string' || Number.isNaN(time.getTime()))
      throw new UsageError(`${where}: 'time' must be an ISO 8601 timestamp`);
  }
  return { source, detailType, detail, ...(resources ? { resources: resources as string[] } : {}), ...(time ? { time } : {}) };
}

export function registerPublish(program: Command, wrap: Wrap): void {
  program
    .command('publish')
    .description('publish events through the project publisher (catalog validation, batching, retries)')
    .option('--source <source>', 'event source, e.g. com.example.orders')
    .option('--detail-type <type>', 'event detail-type, e.g. OrderPlaced')
    .option('--detail <json|file|->', 'event detail { metadata?, data }: inline JSON, a file, or - for stdin')
    .option('--resources <arns>', 'comma-separated resource ARNs')
    .option('--time <iso>', 'event time (default: when EventBridge receives it)')
    .option('-f, --file <file|->', 'one event as JSON: { source, detailType, detail, resources?, time? }')
    .option('--jsonl <file|->', 'many events, one JSON object per line (- for stdin)')
    .option('--concurrency <n>', 'PutEvents requests in flight', intInRange(1, 100), 4)
    .option('--max-attempts <n>', 'attempts per event for retryable failures', intInRange(1, 20), 8)
    .addHelpText(
      'after',
      `
Examples:
  $ ${PROGRAM_NAME} publish --source com.example.orders --detail-type OrderPlaced --detail @detail.json
  $ ${PROGRAM_NAME} publish --file event.json
  $ generate-events | ${PROGRAM_NAME} publish --jsonl - --json`,
    )
    .action(
      wrap<PublishOptions>(async ({ io, out, aws, names }, o) => {
        const modes = [
          o.file !== undefined,
          o.jsonl !== undefined,
          o.source !== undefined || o.detailType !== undefined || o.detail !== undefined,
        ].filter(Boolean).length;
        if (modes !== 1) throw new UsageError('give exactly one of: --source/--detail-type/--detail, --file, or --jsonl');
        const entries: PublishEntry[] = [];
        /** Where each entry came from, for error messages. */
        const origin: string[] = [];
        if (o.jsonl !== undefined) {
          const lines = parseJsonLines('--jsonl', await readJsonText('--jsonl', o.jsonl, io));
          if (lines.length === 0) throw new UsageError('--jsonl: no events (the input is empty)');
          for (const { line, value } of lines) {
            entries.push(toEntry(value, `--jsonl line ${line}`));
            origin.push(`line ${line}`);
          }
        } else if (o.file !== undefined) {
          entries.push(toEntry(await readJsonObject('--file', o.file, io), '--file'));
          origin.push('--file');
        } else {
          if (!o.source || !o.detailType || o.detail === undefined)
            throw new UsageError('--source, --detail-type and --detail are all required to publish from flags');
          entries.push(
            toEntry(
              {
                source: o.source,
                detailType: o.detailType,
                detail: await readJsonObject('--detail', o.detail, io),
                ...(o.resources
                  ? {
                      resources: o.resources
                        .split(',')
                        .map((s) => s.trim())
                        .filter(Boolean),
                    }
                  : {}),
                ...(o.time ? { time: o.time } : {}),
              },
              'event',
            ),
          );
          origin.push('event');
        }

        const bus = names.bus();
        // The publisher library (with the SDK and the catalog's schemas) is required when a run
        // publishes, not when the command is registered (help lists every command).
        const { EventPublisher, EventTooLargeError, EventValidationError, InvalidOptionError } =
          // eslint-disable-next-line @typescript-eslint/no-require-imports
          require('../../sdk') as typeof import('../../sdk');
        let publisher: EventPublisher;
        try {
          publisher = new EventPublisher({
            catalog: await projectCatalog(),
            eventBusName: bus,
            client: aws.eventBridge,
            maxConcurrency: o.concurrency,
            maxAttempts: o.maxAttempts,
          });
        } catch (err) {
          if (err instanceof InvalidOptionError) throw new UsageError(err.message);
          throw err;
        }
        const progress = entries.length > 1 ? out.progress('publish', entries.length) : undefined;
        let result;
        try {
          result = await publisher.publish(entries, { onProgress: (done, total) => progress?.update(done, total) });
        } catch (err) {
          // Nothing was sent: the publisher validates every entry first.
          if (err instanceof EventValidationError || err instanceof EventTooLargeError) {
            throw new UsageError(`${origin[err.index] ?? 'event'}: ${err.message}; nothing was published`);
          }
          throw err;
        }
        progress?.finish();
        out.data({ bus, successCount: result.successCount, failedCount: result.failedCount, outcomes: result.outcomes });
        for (const oc of result.outcomes) {
          const label = entries.length > 1 ? `${origin[oc.index]}\t` : '';
          out.line(
            oc.eventId !== undefined
              ? `${label}${oc.eventId}`
              : `${label}${out.style('red', 'error')} ${oc.errorCode}: ${oc.errorMessage ?? ''}`,
          );
        }
        if (entries.length > 1 || result.failedCount > 0)
          out.note(`published ${result.successCount} of ${entries.length} to ${bus}; ${result.failedCount} failed`);
        return result.failedCount > 0 ? EXIT_FAILURE : EXIT_OK;
      }),
    );
}
