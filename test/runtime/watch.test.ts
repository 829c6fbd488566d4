/**
 * Watch mode (runtime/watch.ts) on a small app made here: one function built from a TypeScript
 * entry, a queue and a table, in a hand-made cloud assembly. Handler edits are rebuilt with the
 * stack's esbuild options; stack edits call an injected synth and reload (no `cdk synth` here).
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { startLocalRuntime, type LocalRuntime, type RuntimeEvent } from '../../runtime';
import type { LambdaFunction } from '../../runtime/lambda';
import { planChanges, startWatch, type Watcher, type WatchOptions } from '../../runtime/watch';
import { ENTRY_METADATA_KEY } from '../../assembly';
import { bundleHandler } from '../../sdk/build';
import { waitFor } from '../support/wait';

const FUNCTION = 'watch-fn';
const QUEUE = 'watch-queue';
const TABLE = 'watch-table';
const ENTRY = 'handler/index.ts';

/** The handler at a given version: records each call in `calls` and holds until `release` exists, if asked. */
function handlerSource(version: number): string {
  return `import { appendFileSync, existsSync } from 'node:fs';
import { label } from './label';

interface Event { calls?: string; release?: string; tag?: string }

export const handler = async (event: Event) => {
  if (event.calls) appendFileSync(event.calls, \`\${${version}} \${event.tag ?? ''}\\n\`);
  if (event.release) while (!existsSync(event.release)) await new Promise((r) => setTimeout(r, 10));
  return { version: ${version}, label: label() };
};
`;
}

function template(): object {
  return {
    Resources: {
      Queue: { Type: 'AWS::SQS::Queue', Properties: { QueueName: QUEUE } },
      Table: {
        Type: 'AWS::DynamoDB::Table',
        Properties: {
          TableName: TABLE,
          KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
          AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
          BillingMode: 'PAY_PER_REQUEST',
        },
      },
      Fn: {
        Type: 'AWS::Lambda::Function',
        Metadata: { 'aws:asset:path': 'asset.fn', [ENTRY_METADATA_KEY]: ENTRY },
        Properties: { FunctionName: FUNCTION, Handler: 'index.handler', Runtime: 'nodejs22.x', Timeout: 30, MemorySize: 128 },
      },
    },
  };
}

interface App {
  root: string;
  runtime: LocalRuntime;
  watcher: Watcher;
  lines: string[];
  events: RuntimeEvent[];
  synth: jest.Mock<Promise<{ outdir: string }>, []>;
  reload: jest.Mock<Promise<{ summary: string }>, [string]>;
  fn(): LambdaFunction;
  invoke(event?: object): Promise<{ version: number; label: string }>;
  write(relative: string, text: string): void;
}

const apps: App[] = [];

/** The app in a temporary root, its assembly bundled from the entry, the runtime and the watcher started. */
async function startApp(watchOptions: Partial<WatchOptions> = {}): Promise<App> {
  const root = mkdtempSync(path.join(os.tmpdir(), 'watch-test-'));
  const write = (relative: string, text: string) => {
    mkdirSync(path.dirname(path.join(root, relative)), { recursive: true });
    writeFileSync(path.join(root, relative), text);
  };
  write(ENTRY, handlerSource(1));
  write('handler/label.ts', `export const label = () => 'first';\n`);
  write('cdk.json', JSON.stringify({ app: 'npx tsx bin/app.ts' }));
  write('bin/app.ts', `import { stackName } from '../lib/stack';\nconsole.log(stackName);\n`);
  write('lib/stack.ts', `export const stackName = 'Watch';\n`);
  const outdir = path.join(root, 'cdk.out');
  write(
    'cdk.out/manifest.json',
    JSON.stringify({
      version: '55.0.0',
      artifacts: {
        Watch: {
          type: 'aws:cloudformation:stack',
          environment: 'aws://unknown-account/unknown-region',
          properties: { templateFile: 'Watch.template.json' },
        },
      },
    }),
  );
  write('cdk.out/Watch.template.json', JSON.stringify(template()));
  await bundleHandler({ entry: path.join(root, ENTRY), outdir: path.join(outdir, 'asset.fn') });

  const lines: string[] = [];
  const runtime = await startLocalRuntime({ assemblyDir: outdir, port: 0, log: () => undefined });
  const events: RuntimeEvent[] = [];
  runtime.stream.subscribeAll((e) => {
    if (e.type.startsWith('function.code') || e.type.startsWith('app.')) events.push(e);
  });
  const synth = jest.fn(async () => ({ outdir }));
  const reload = jest.fn(async (dir: string) => ({ summary: `applied ${path.basename(dir)}` }));
  const watcher = startWatch({
    root,
    functions: () => runtime.functions.functions.values(),
    synthesize: synth,
    reload,
    stream: runtime.stream,
    log: (line) => lines.push(line),
    debounceMs: 30,
    ...watchOptions,
  });
  await watcher.ready;
  const fn = () => runtime.functions.get(FUNCTION)!;
  const app: App = {
    root,
    runtime,
    watcher,
    lines,
    events,
    synth,
    reload,
    fn,
    write,
    invoke: async (event = {}) => {
      const r = await fn().invoke(JSON.stringify(event));
      if (!r.ok) throw new Error(`${r.error.errorType}: ${r.error.errorMessage}`);
      return JSON.parse(r.payload) as { version: number; label: string };
    },
  };
  apps.push(app);
  return app;
}

afterEach(async () => {
  for (const app of apps.splice(0)) {
    await app.watcher.close();
    await app.runtime.close();
    rmSync(app.root, { recursive: true, force: true });
  }
});

const updates = (app: App) => app.events.filter((e) => e.type === 'function.code-updated');
const waitForUpdates = (app: App, n: number) =>
  waitFor(`${n} code update(s) of ${FUNCTION}`, () => (updates(app).length >= n ? true : undefined), 10000);

describe('handler edits', () => {
  test('an edit serves new code at the next invocation, while queued messages and table items stay', async () => {
    // GIVEN
    const app = await startApp();
    expect(await app.invoke()).toEqual({ version: 1, label: 'first' });
    const config = { endpoint: app.runtime.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };
    const sqs = new SQSClient(config);
    const dynamodb = new DynamoDBClient(config);
    const queueUrl = `${app.runtime.endpoint}/000000000000/${QUEUE}`;
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'kept' }));
    await dynamodb.send(new PutItemCommand({ TableName: TABLE, Item: { pk: { S: 'kept' } } }));

    // WHEN: the handler and a module it imports change
    app.write(ENTRY, handlerSource(2));
    await waitForUpdates(app, 1);
    const afterHandlerEdit = await app.invoke();
    app.write('handler/label.ts', `export const label = () => 'second';\n`);
    await waitForUpdates(app, 2);

    // THEN
    expect(afterHandlerEdit).toEqual({ version: 2, label: 'first' });
    expect(await app.invoke()).toEqual({ version: 2, label: 'second' });
    const update = updates(app)[1]!.properties as { functionName: string; files: string[]; codeDir: string };
    expect(update.functionName).toBe(FUNCTION);
    expect(update.files).toEqual(['handler/label.ts']);
    // The new bundle is the watcher's, not written into the assembly CDK owns.
    expect(update.codeDir.startsWith(path.join(app.root, 'cdk.out'))).toBe(false);
    const attrs = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }));
    expect(attrs.Attributes?.ApproximateNumberOfMessages).toBe('1');
    const item = await dynamodb.send(new GetItemCommand({ TableName: TABLE, Key: { pk: { S: 'kept' } } }));
    expect(item.Item?.pk?.S).toBe('kept');
    // A handler file is not a stack input: nothing was re-synthesized.
    expect(app.synth).not.toHaveBeenCalled();
    expect(app.lines.filter((l) => l.includes(`${FUNCTION} serves new code`))).toHaveLength(2);
    sqs.destroy();
    dynamodb.destroy();
  });

  test('a syntax error keeps the old code running and reports the error once', async () => {
    // GIVEN
    const app = await startApp();

    // WHEN
    app.write(ENTRY, handlerSource(2).replace('return {', 'return {{'));
    await waitFor('the build failure', () => app.events.find((e) => e.type === 'function.code-update-failed'), 10000);

    // THEN
    expect(await app.invoke()).toEqual({ version: 1, label: 'first' });
    const failures = app.lines.filter((l) => l.includes('failed; the previous code keeps running'));
    expect(failures).toHaveLength(1);
    expect(failures[0]).toContain(`build of ${FUNCTION} failed`);
    expect(failures[0]).toContain(`${ENTRY}:`);
    expect(updates(app)).toHaveLength(0);

    // AND fixing it serves the fix
    app.write(ENTRY, handlerSource(3));
    await waitForUpdates(app, 1);
    expect(await app.invoke()).toEqual({ version: 3, label: 'first' });
  });

  test('an invocation running during the swap completes on the old code and is not run again', async () => {
    // GIVEN: an invocation of version 1 that holds until released
    const app = await startApp();
    const calls = path.join(app.root, 'calls.log');
    const release = path.join(app.root, 'release');
    const read = () => (existsSync(calls) ? readFileSync(calls, 'utf8').trim().split('\n') : []);
    const held = app.invoke({ calls, release, tag: 'held' });
    await waitFor('the held invocation to start', () => (read().length === 1 ? true : undefined));

    // WHEN: the code changes while it runs, and another invocation comes
    app.write(ENTRY, handlerSource(2));
    await waitForUpdates(app, 1);
    const next = await app.invoke({ calls, tag: 'next' });
    writeFileSync(release, '');

    // THEN
    expect(next.version).toBe(2);
    expect((await held).version).toBe(1);
    expect((updates(app)[0]!.properties as { drainingWorkers: number }).drainingWorkers).toBe(1);
    expect(read().sort()).toEqual(['1 held', '2 next']);
    // The old environment stopped once its invocation returned; the one of the new code serves on.
    expect(await app.invoke({ calls, tag: 'after' })).toEqual({ version: 2, label: 'first' });
    expect(read().filter((l) => l.startsWith('1 '))).toEqual(['1 held']);
  });

  test('closing stops watching and removes the rebuilt bundles', async () => {
    // GIVEN
    const app = await startApp();
    app.write(ENTRY, handlerSource(2));
    await waitForUpdates(app, 1);
    const codeDir = (updates(app)[0]!.properties as { codeDir: string }).codeDir;
    expect(existsSync(path.join(codeDir, 'index.js'))).toBe(true);

    // WHEN
    await app.watcher.close();
    app.write(ENTRY, handlerSource(3));

    // THEN: nothing is watched or pending, so no rebuild follows the edit
    expect(existsSync(codeDir)).toBe(false);
    expect(app.watcher.idle).toBe(true);
    expect(app.fn().currentCodeDir).toBe(codeDir);
    expect(updates(app)).toHaveLength(1);
  });
});

describe('stack edits', () => {
  test('a stack edit re-synthesizes and reloads; edits during a synth queue exactly one more, never two at once', async () => {
    // GIVEN: a synth that holds until released
    let running = 0;
    let most = 0;
    let release!: () => void;
    const app = await startApp();
    app.synth.mockImplementation(async () => {
      running++;
      most = Math.max(most, running);
      await new Promise<void>((resolve) => (release = resolve));
      running--;
      return { outdir: path.join(app.root, 'cdk.out') };
    });

    // WHEN: one edit starts a synth, two more come while it runs
    app.write('lib/stack.ts', `export const stackName = 'Watch2';\n`);
    await waitFor('the first synth', () => (app.synth.mock.calls.length === 1 ? true : undefined));
    app.write('lib/stack.ts', `export const stackName = 'Watch3';\n`);
    app.write('cdk.json', JSON.stringify({ app: 'npx tsx bin/app.ts', context: {} }));
    await waitFor('the edits queued behind it', () => (app.lines.some((l) => l.includes('another follows it')) ? true : undefined));
    release();
    await waitFor('the second synth', () => (app.synth.mock.calls.length === 2 ? true : undefined));
    release();
    await waitFor('the watcher to settle', () => (app.watcher.idle ? true : undefined));

    // THEN
    expect(app.synth).toHaveBeenCalledTimes(2);
    expect(most).toBe(1);
    expect(app.reload).toHaveBeenCalledTimes(2);
    expect(app.reload.mock.calls[0]![0]).toBe(path.join(app.root, 'cdk.out'));
    expect(app.events.filter((e) => e.type === 'app.resynthesized')).toHaveLength(2);
    // A stack file is not a handler input: the function kept its code.
    expect(updates(app)).toHaveLength(0);
  });

  test('a synth failure is printed and the running app keeps serving', async () => {
    // GIVEN
    const app = await startApp();
    app.synth.mockRejectedValue(new Error('synthesis of the app failed (exit 1): lib/stack.ts(1,1): error TS1005'));

    // WHEN
    app.write('bin/app.ts', `import { stackName } from '../lib/stack';\nconsole.log(stackName, 1);\n`);
    await waitFor('the synth failure', () => app.events.find((e) => e.type === 'app.resynth-failed'), 10000);

    // THEN
    expect(app.reload).not.toHaveBeenCalled();
    expect(app.lines.some((l) => l.includes('re-synthesis failed; the app runs as before') && l.includes('TS1005'))).toBe(true);
    expect(await app.invoke()).toEqual({ version: 1, label: 'first' });
  });

  test('without reload, a stack edit is re-synthesized and the restart it needs is said', async () => {
    const app = await startApp({ reload: undefined });
    app.write('lib/stack.ts', `export const stackName = 'Watch2';\n`);
    await waitFor('the re-synthesis', () => app.events.find((e) => e.type === 'app.resynthesized'), 10000);
    expect(app.lines.some((l) => l.includes('restart to pick it up'))).toBe(true);
  });
});

describe('planChanges', () => {
  const handlerInputs = new Map([
    ['/app/lambdas/a/index.ts', new Set(['arn:a'])],
    ['/app/catalog/loans.ts', new Set(['arn:a', 'arn:b'])],
  ]);
  const appInputs = new Set(['/app/lib/stack.ts', '/app/catalog/loans.ts']);
  const rootFiles = new Set(['/app/cdk.json']);

  test.each([
    ['a handler file rebuilds its function only', ['/app/lambdas/a/index.ts'], ['arn:a'], false],
    ['a stack file re-synthesizes only', ['/app/lib/stack.ts'], [], true],
    ['a file both import does both', ['/app/catalog/loans.ts'], ['arn:a', 'arn:b'], true],
    ['cdk.json re-synthesizes', ['/app/cdk.json'], [], true],
    ['a file neither reads does nothing', ['/app/README.md', '/app/lambdas/a/.index.ts.swp'], [], false],
  ])('%s', (_name, changed, functions, resynth) => {
    const plan = planChanges(changed, handlerInputs, appInputs, rootFiles);
    expect([...plan.functions].sort()).toEqual(functions);
    expect(plan.resynth).toBe(resynth);
  });
});
