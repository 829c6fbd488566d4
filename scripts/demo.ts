/**
 * `npm run demo`: the main job. Starts the local runtime with the example app, publishes
 * four loan applications (one approved, one rejected, one large enough for manual review,
 * one poison message) and waits until each has reached where it should: notification
 * records, a review case, and the poison message in underwriting's dead-letter queue after
 * exactly maxReceiveCount receives. The runtime keeps serving afterwards unless `--exit`.
 *
 * It runs with `--iam enforce`: each producer assumes its publisher role through the runtime's
 * STS (role names from the app definition) and publishes with that session, and one forged
 * publish (an event type of another source, sent by a publisher) is shown refused, with the
 * policy that decided it.
 *
 * Afterwards it watches the sources (runtime/watch.ts): a handler edit is served in about a
 * second and a stack or catalog edit is re-synthesized, with the demo's queues and tables kept.
 *
 * Options: --port <n> (default 4566; 0 = any free port), --exit, --no-watch, --quiet.
 */
import { app } from '../catalog';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { DynamoDBClient, ListTablesCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand, GetQueueUrlCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { CloudWatchClient, DescribeAlarmHistoryCommand, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { LoanApplicationSubmitted, underwriting } from '../catalog/loans';
import { names, PUBLISHER_TAG_KEY, type DataOf } from '../sdk/catalog';
import { startLocalRuntime, type LocalRuntime } from '../runtime';
import { VirtualClock, driveWhenIdle } from '../runtime/clock';
import { runtimeActivity } from '../runtime/stream';
import { ensureSynth } from '../assembly';
import { PROJECT_ROOT } from '../assembly/synth';
import { startWatch } from '../runtime/watch';
import { appEnvironment, homeAccount } from '../runtime/template';
import { EventPublisher } from '../sdk';
import { run as runCli } from '../cli/program';
import { Readable } from 'node:stream';
import * as path from 'node:path';
import type { UserConfig } from '../runtime/identity';

/** The developer the demo signs in as: allowed to assume the app's publisher roles, which trust the account. */
const DEVELOPER = { accessKeyId: 'demo-developer', secretAccessKey: 'demo-developer-secret', userName: 'demo-developer' };
/**
 * Who reads the dead letters: the keys admit the deployment role through SQS (and named operators,
 * `operatorRoleArns`), not the account's root user, so the demo reads them as a session of it.
 */
const DEAD_LETTER_READER = { accessKeyId: 'demo-dead-letter-reader', secretAccessKey: 'demo-reader-secret' };

function deadLetterReader(account: string, region: string): UserConfig {
  return {
    ...DEAD_LETTER_READER,
    arn: `arn:aws:sts::${account}:assumed-role/cdk-hnb659fds-cfn-exec-role-${account}-${region}/demo-dead-letters`,
    policies: [{ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['sqs:*', 'kms:Decrypt'], Resource: '*' }] }],
  };
}

/** Failed records come back after this many seconds instead of the template's minutes. */
const DEMO_VISIBILITY_TIMEOUT_SECONDS = 5;

type Application = DataOf<typeof LoanApplicationSubmitted>;

export interface DemoOptions {
  readonly port?: number;
  readonly quiet?: boolean;
  /** Where the runtime's lines go. @default stdout */
  readonly log?: (line: string) => void;
  /** Where the demo's own narration goes. @default stdout */
  readonly say?: (line: string) => void;
  /** The runtime stops when the demo ends (`--exit`): no suggestion of commands against it. @default false */
  readonly exitAfter?: boolean;
  /** Give up waiting for the flow after this long. @default 120 s */
  readonly timeoutMs?: number;
  /**
   * Run the runtime on a virtual clock that jumps to its next timer whenever the app is idle
   * (no event for a moment, no function running): the same flow, receive for receive, minus
   * the waiting. For tests; an interactive session keeps real time. @default false
   */
  readonly virtualTime?: boolean;
}

export interface DemoResult {
  readonly runtime: LocalRuntime;
  /** The notification records, by application id: which template each applicant got. */
  readonly notifications: Record<string, string>;
  /** Application ids with an open manual-review case. */
  readonly reviewCases: string[];
  /** The poison message as it sits in underwriting's DLQ. */
  readonly deadLetter: { readonly applicationId: string | undefined; readonly receiveCount: number };
  /** The forged publish: who sent what, and the access-denied error the runtime answered. */
  readonly forged: {
    readonly principal: string;
    readonly source: string;
    readonly detailType: string;
    readonly error: string;
    readonly message: string;
  };
  /** `trace` of the approved application, as printed: from the trail's and the functions' log groups. */
  readonly trace: string[];
  /** The template's alarm on that DLQ, once CloudWatch evaluated it, and the topics its ALARM notified. */
  readonly deadLetterAlarm: { readonly name: string; readonly state: string; readonly notified: string[] };
}

/**
 * The developer user: may assume the publisher roles of the app (same-account publishers), nothing
 * else; tagged as the intake publisher's principal, which that publisher's role trusts.
 */
function developer(account: string, publisher: string): UserConfig {
  return {
    tags: { [PUBLISHER_TAG_KEY]: publisher },
    accessKeyId: DEVELOPER.accessKeyId,
    secretAccessKey: DEVELOPER.secretAccessKey,
    arn: `arn:aws:iam::${account}:user/${DEVELOPER.userName}`,
    policies: [
      {
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Action: 'sts:AssumeRole', Resource: `arn:aws:iam::${account}:role/${names.publisherRole(app, '*')}` },
        ],
      },
    ],
  };
}

function intakePublisher() {
  const intake = app.catalog.publishers.find((p) => p.publishes.includes(LoanApplicationSubmitted));
  if (!intake) throw new Error(`No publisher of ${LoanApplicationSubmitted.detailType} in the catalog`);
  return intake;
}

function application(id: string, overrides: Partial<Application> & { creditScore?: number }): Application {
  const { creditScore, ...rest } = overrides;
  return {
    applicationId: id,
    applicant: {
      applicantId: `c-${id}`,
      name: 'Ada Lovelace',
      email: 'ada@example.com',
      annualIncome: 150_000,
      creditScore: creditScore ?? 780,
    },
    amount: 20_000,
    currency: 'USD',
    termMonths: 60,
    purpose: 'home',
    channel: 'web',
    submittedAt: new Date().toISOString(),
    ...rest,
  };
}

/**
 * On virtual time, how long the app must have been idle (no event, no function running) before
 * the clock jumps to its next timer. Each jump waits at least this long, and the poison message's
 * five receives take about 150 jumps (the pollers' long polls, batching windows, the visibility
 * timeouts), so the default 25 ms made that about 5 s of doing nothing; a running function still
 * holds the clock however short this is.
 */
const IDLE_STEP_MS = 5;

async function waitFor<T>(what: string, deadline: number, probe: () => Promise<T | undefined>): Promise<T> {
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

export async function runDemo(options: DemoOptions = {}): Promise<DemoResult> {
  const say = options.say ?? ((line: string) => process.stdout.write(`${line}\n`));
  const clock = options.virtualTime ? new VirtualClock() : undefined;
  const assemblyDir = await ensureSynth();
  // The account the runtime runs the app in (as startLocalRuntime picks it), so the developer's policy names its roles.
  const account = appEnvironment(assemblyDir).account ?? homeAccount(assemblyDir) ?? '000000000000';
  const runtime = await startLocalRuntime({
    assemblyDir,
    iam: 'enforce',
    users: [developer(account, intakePublisher().name), deadLetterReader(account, 'us-east-1')],
    accountId: account,
    port: options.port ?? 4566,
    quiet: options.quiet,
    log: options.log,
    clock,
    // On a virtual clock the template's visibility timeouts cost nothing; on real time they are capped.
    maxVisibilityTimeoutSeconds: clock ? undefined : DEMO_VISIBILITY_TIMEOUT_SECONDS,
  });
  if (clock) {
    const activity = runtimeActivity(runtime.stream);
    const driver = driveWhenIdle(clock, activity, IDLE_STEP_MS);
    runtime.stream.subscribe('runtime.closing', () => {
      driver.stop();
      activity.stop();
    });
  }
  const started = runtime.clock.now();
  try {
    const client = { endpoint: runtime.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'demo', secretAccessKey: 'demo' } };
    const dynamodb = new DynamoDBClient(client);
    const deadline = Date.now() + (options.timeoutMs ?? 120_000);

    // The producer signs in as the developer and assumes its publisher role, as it would on AWS.
    const intake = intakePublisher();
    const roleArn = `arn:aws:iam::${account}:role/${names.publisherRole(app, intake.name)}`;
    const sts = new STSClient({
      ...client,
      credentials: { accessKeyId: DEVELOPER.accessKeyId, secretAccessKey: DEVELOPER.secretAccessKey },
    });
    const assumed = await sts.send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: `demo-${intake.name}` }));
    sts.destroy();
    const session = {
      accessKeyId: assumed.Credentials!.AccessKeyId!,
      secretAccessKey: assumed.Credentials!.SecretAccessKey!,
      sessionToken: assumed.Credentials!.SessionToken!,
    };
    const eventBridge = new EventBridgeClient({ ...client, credentials: session });
    const publisher = new EventPublisher({ eventBusName: app.eventBusName, catalog: app.catalog, client: eventBridge });

    say(`\n== Demo: publishing to ${runtime.endpoint} (AWS_ENDPOINT_URL=${runtime.endpoint} works for the AWS CLI and SDK)`);
    say(`== IAM enforced: ${intake.name} publishes as ${assumed.AssumedRoleUser?.Arn} (assumed ${roleArn})`);
    const approved = application('app-demo-approved', {});
    const rejected = application('app-demo-rejected', { creditScore: 540 });
    const large = application('app-demo-large', { amount: 300_000, termMonths: 360 });
    for (const [label, data] of [
      ['approved', approved],
      ['rejected', rejected],
      ['large (manual review)', large],
    ] as const) {
      const id = await publisher.publishEvent(LoanApplicationSubmitted, data, { correlationId: `demo-${data.applicationId}` });
      say(`== published ${label}: ${data.applicationId} as event ${id}`);
    }
    // A poison message: the bus accepts any detail, but the catalog schema rejects this one
    // (no amount), so underwriting fails it on every receive until SQS moves it to the DLQ.
    const poison = await eventBridge.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: 'loan-events',
            Source: LoanApplicationSubmitted.source,
            DetailType: LoanApplicationSubmitted.detailType,
            Detail: JSON.stringify({
              metadata: { correlationId: 'demo-poison', schemaVersion: '1' },
              data: { applicationId: 'app-demo-poison' },
            }),
          },
        ],
      }),
    );
    say(`== published poison: app-demo-poison as event ${poison.Entries?.[0]?.EventId} (bypassing the publisher's validation)`);

    // A forged decision: the intake publisher sends an event type another source owns.
    const forgedEvent = app.catalog.events.find((e) => e.source !== LoanApplicationSubmitted.source);
    if (!forgedEvent) throw new Error('The catalog has no event of another source to forge');
    const refused = await eventBridge
      .send(
        new PutEventsCommand({
          Entries: [
            {
              EventBusName: app.eventBusName,
              Source: forgedEvent.source,
              DetailType: forgedEvent.detailType,
              Detail: JSON.stringify({ metadata: { correlationId: 'demo-forged' }, data: { applicationId: 'app-demo-forged' } }),
            },
          ],
        }),
      )
      .then(
        () => undefined,
        (e: Error) => e,
      );
    if (!refused) throw new Error(`The forged ${forgedEvent.detailType} from ${intake.name} was accepted: IAM is not enforced`);
    const forged = {
      principal: assumed.AssumedRoleUser?.Arn ?? '',
      source: forgedEvent.source,
      detailType: forgedEvent.detailType,
      error: refused.name,
      message: refused.message,
    };
    say(
      `== forged ${forgedEvent.detailType} (source ${forgedEvent.source}) from ${intake.name}: refused, ${refused.name}: ${refused.message}`,
    );

    const tables = (await dynamodb.send(new ListTablesCommand({}))).TableNames ?? [];
    const tableOf = (name: string) => {
      const found = tables.find((t) => t.includes(name));
      if (!found) throw new Error(`No table named like ${name} in the template (have: ${tables.join(', ')})`);
      return found;
    };
    const scan = async (table: string) => (await dynamodb.send(new ScanCommand({ TableName: table }))).Items ?? [];

    const notifications = await waitFor('three notification records', deadline, async () => {
      const items = await scan(tableOf('notifications-state'));
      const byApp = Object.fromEntries(items.map((i) => [i.applicationId?.S ?? '?', i.template?.S ?? '?']));
      return Object.keys(byApp).length >= 3 ? byApp : undefined;
    });
    for (const [app, template] of Object.entries(notifications)) say(`== notified ${app}: ${template}`);

    const reviewCases = await waitFor('a manual-review case', deadline, async () => {
      const items = await scan(tableOf('manual-review-state'));
      return items.length > 0 ? items.map((i) => i.applicationId?.S ?? '?') : undefined;
    });
    say(`== manual review cases: ${reviewCases.join(', ')}`);

    const deadLetters = new SQSClient({ ...client, credentials: DEAD_LETTER_READER });
    const dlqUrl = (await deadLetters.send(new GetQueueUrlCommand({ QueueName: `LoanEvents-${underwriting.name}-dlq` }))).QueueUrl!;
    await waitFor('the poison message in the underwriting DLQ', deadline, async () => {
      const attrs = await deadLetters.send(
        new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['ApproximateNumberOfMessages'] }),
      );
      return Number(attrs.Attributes?.ApproximateNumberOfMessages ?? 0) > 0 ? true : undefined;
    });
    // Read it without consuming it for long: it becomes visible again at once.
    const received = await deadLetters.send(
      new ReceiveMessageCommand({
        QueueUrl: dlqUrl,
        MaxNumberOfMessages: 1,
        VisibilityTimeout: 0,
        MessageSystemAttributeNames: ['ApproximateReceiveCount'],
      }),
    );
    deadLetters.destroy();
    const message = received.Messages?.[0];
    const body = message?.Body ? JSON.parse(message.Body) : undefined;
    // The DLQ receive above counts as one more receive of the moved message.
    const receiveCount = Number(message?.Attributes?.ApproximateReceiveCount ?? 0) - 1;
    const deadLetter = { applicationId: body?.detail?.data?.applicationId as string | undefined, receiveCount };
    say(`== dead letter in LoanEvents-${underwriting.name}-dlq: ${deadLetter.applicationId} after ${receiveCount} receives`);
    if (!options.exitAfter) say('== inspect it with: AWS_ENDPOINT_URL=' + runtime.endpoint + ' npm run cli -- dlq list');

    // The approved application's life, as the operator CLI rebuilds it from CloudTrail and CloudWatch Logs.
    const correlationId = `demo-${approved.applicationId}`;
    let printed = '';
    const window = ['--since', new Date(started - 60_000).toISOString(), '--until', new Date(runtime.clock.now() + 60_000).toISOString()];
    await runCli(['trace', correlationId, ...window, '--no-dlq'], {
      stdout: { write: (text: string) => (printed += text), isTTY: false },
      stderr: { write: (text: string) => (printed += text), isTTY: false },
      stdin: Readable.from([]),
      env: {
        PATH: process.env.PATH,
        NO_COLOR: '1',
        AWS_ENDPOINT_URL: runtime.endpoint,
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'demo',
        AWS_SECRET_ACCESS_KEY: 'demo',
      },
      cwd: path.dirname(assemblyDir),
      onInterrupt: () => () => undefined,
    });
    const trace = printed.trimEnd().split('\n');
    say(`== trace of ${approved.applicationId}${options.exitAfter ? '' : ` (npm run cli -- trace ${correlationId})`}:`);
    for (const line of trace) say(`   ${line}`);
    // The template's alarm on that DLQ, read through the CloudWatch API as on AWS.
    const cloudwatch = new CloudWatchClient(client);
    const dlqName = `LoanEvents-${underwriting.name}-dlq`;
    say(`== waiting for CloudWatch to evaluate the alarm on ${dlqName} (once a minute on the runtime's clock)`);
    const alarm = await waitFor(`the alarm on ${dlqName} in ALARM`, Date.now() + 180_000, async () => {
      const all = (await cloudwatch.send(new DescribeAlarmsCommand({ StateValue: 'ALARM' }))).MetricAlarms ?? [];
      return all.find((a) => a.Dimensions?.some((d) => d.Name === 'QueueName' && d.Value === dlqName));
    });
    const history = await cloudwatch.send(new DescribeAlarmHistoryCommand({ AlarmName: alarm.AlarmName, HistoryItemType: 'Action' }));
    // The actions of its last transition, to ALARM (its first evaluation, to OK, notified the OK actions).
    const since = alarm.StateTransitionedTimestamp?.getTime() ?? 0;
    const notified = (history.AlarmHistoryItems ?? [])
      .filter((i) => (i.Timestamp?.getTime() ?? 0) >= since)
      .map((i) => (JSON.parse(i.HistoryData ?? '{}') as { notificationResource?: string }).notificationResource ?? '?');
    const deadLetterAlarm = { name: alarm.AlarmName ?? '?', state: alarm.StateValue ?? '?', notified };
    say(`== alarm ${deadLetterAlarm.name}: ${deadLetterAlarm.state} (${alarm.StateReason}); SNS notification to ${notified.join(', ')}`);
    cloudwatch.destroy();
    return { runtime, notifications, reviewCases, deadLetter, forged, trace, deadLetterAlarm };
  } catch (err) {
    await runtime.close();
    throw err;
  }
}

if (require.main === module) {
  const arg = (name: string) => {
    const i = process.argv.indexOf(`--${name}`);
    return i >= 0 ? process.argv[i + 1] : undefined;
  };
  const exitAfter = process.argv.includes('--exit');
  runDemo({ port: Number(arg('port') ?? process.env.PORT ?? 4566), quiet: process.argv.includes('--quiet'), exitAfter })
    .then(async ({ runtime }) => {
      if (exitAfter) {
        await runtime.close();
        process.stdout.write('== The runtime has stopped (--exit). Run `npm run demo` without --exit to keep it serving for the CLI.\n');
        return;
      }
      process.stdout.write(`== The runtime keeps serving on ${runtime.endpoint}; Ctrl-C stops it (state is in memory).\n`);
      const watcher = process.argv.includes('--no-watch')
        ? undefined
        : startWatch({
            root: PROJECT_ROOT,
            functions: () => runtime.functions.functions.values(),
            reload: (dir) => runtime.reload(dir),
            stream: runtime.stream,
            log: (line) => process.stdout.write(`${line}\n`),
          });
      if (watcher)
        process.stdout.write('== Watching: edit a handler in lambdas/ and the next event runs it (--no-watch turns this off).\n');
      const stop = () => void Promise.all([watcher?.close(), runtime.close()]).then(() => process.exit(0));
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    })
    .catch((err) => {
      process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    });
}
