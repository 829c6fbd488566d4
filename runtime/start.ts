/**
 * `npm start`: synthesizes the app when cdk.out is stale, then runs the local runtime.
 * Options: --port <n> (default 4566, or PORT), --host <h> (default 127.0.0.1), --quiet, --verbose,
 * --assembly <dir> (skip synth and run that cloud assembly), --max-visibility-timeout <s>
 * (cap queue visibility timeouts so failed records come back sooner while developing),
 * --iam off|warn|enforce (what a call the app's policies deny does; default warn),
 * --users <file> (access keys of IAM users: `{ "users": [{ "accessKeyId", "secretAccessKey", "arn", "policies"? }] }`),
 * --verify-signatures (check SigV4 signatures of sessions and configured users; off by default),
 * --state-dir <dir> (keep queues, messages, rules, archives and tables across restarts),
 * --watch (serve handler edits within a second and re-synthesize on stack edits; runtime/watch.ts).
 */
import net from 'node:net';
import { silenceSdkNodeVersionWarning } from '../sdk/node-version-notice';

/**
 * The runtime, the synth and the watcher, required only once they are needed: --help and a port
 * that is taken answer without loading them (they are most of the start-up's CPU time).
 */
const load = {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  runtime: () => require('./index') as typeof import('./index'),
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  iamMode: () => require('./iam-mode') as typeof import('./iam-mode'),
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  identity: () => require('./identity') as typeof import('./identity'),
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  assembly: () => require('../assembly') as typeof import('../assembly'),
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  synth: () => require('../assembly/synth') as typeof import('../assembly/synth'),
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  watch: () => require('./watch') as typeof import('./watch'),
};

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

silenceSdkNodeVersionWarning();

const HELP = `Usage: npm start -- [options]

Runs the app on the local runtime (EventBridge, SQS, DynamoDB, CloudWatch Logs, Lambda Invoke),
synthesizing it first when cdk.out is stale.

Options:
  --port <n>                    port to listen on (default 4566, or PORT; 0 picks a free port)
  --host <h>                    address to bind (default 127.0.0.1)
  --quiet                       only the ready line, topology, warnings and what went wrong
                                (failures, dead letters, DROPPED, alarms, functions' ERROR records)
  --verbose                     functions' log records in full (JSON), not folded to level and message
  --assembly <dir>              run this cloud assembly, without synthesizing
  --max-visibility-timeout <s>  cap queue visibility timeouts, so failed records come back sooner
  --watch                       serve handler edits in about a second, re-synthesize on stack and
                                catalog edits; queues, tables and archives keep their state
  --state-dir <dir>             keep queues, messages, rules, archives and tables across restarts
  --iam off|warn|enforce        what a call or delivery the app's policies deny does (default warn)
  --users <file>                access keys of IAM users: { "users": [{ "accessKeyId", "secretAccessKey",
                                "arn", "policies"?, "tags"? }] } (docs/runtime.md, Identities)
  --verify-signatures           check the SigV4 signatures of sessions and configured users
  --help                        print this help

Then: AWS_ENDPOINT_URL=http://127.0.0.1:4566 npm run cli -- dlq list   (see docs/runtime.md)
`;

/** Fails fast when the port is taken, before a synth of several seconds. */
function checkPortFree(port: number, host: string): Promise<void> {
  if (port === 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', (err: NodeJS.ErrnoException) => reject(Object.assign(err, { port })));
    probe.listen(port, host, () => probe.close(() => resolve()));
  });
}

async function main(): Promise<void> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    process.stdout.write(HELP);
    return;
  }
  const port = Number(arg('port') ?? process.env.PORT ?? 4566);
  await checkPortFree(port, arg('host') ?? '127.0.0.1');
  const { startLocalRuntime } = load.runtime();
  const { DEFAULT_IAM_MODE, parseIamMode } = load.iamMode();
  const { readUsersFile } = load.identity();
  const assembly = arg('assembly');
  let assemblyDir = assembly;
  if (!assemblyDir) {
    process.stdout.write('Synthesizing the app (skipped when cdk.out is up to date)...\n');
    const synth = await load.assembly().synthesize();
    process.stdout.write(
      synth.synthesized ? `Synthesized ${synth.outdir} (${synth.reason})\n` : `Reused ${synth.outdir} (${synth.reason})\n`,
    );
    assemblyDir = synth.outdir;
  }
  const usersFile = arg('users');
  const starting = startLocalRuntime({
    iam: parseIamMode(arg('iam') ?? DEFAULT_IAM_MODE),
    users: usersFile === undefined ? undefined : readUsersFile(usersFile),
    verifySignatures: process.argv.includes('--verify-signatures'),
    assemblyDir,
    port,
    host: arg('host') ?? '127.0.0.1',
    quiet: process.argv.includes('--quiet'),
    verbose: process.argv.includes('--verbose'),
    maxVisibilityTimeoutSeconds: arg('max-visibility-timeout') === undefined ? undefined : Number(arg('max-visibility-timeout')),
    stateDir: arg('state-dir'),
  });
  // Watch mode starts once the runtime is up; a failed start is reported by main's catch.
  const watching = process.argv.includes('--watch')
    ? starting.then(
        (runtime) =>
          load.watch().startWatch({
            root: load.synth().PROJECT_ROOT,
            functions: () => runtime.functions.functions.values(),
            reload: (dir) => runtime.reload(dir),
            // An assembly given by path is not the one a synth of this project writes.
            resynth: assembly === undefined,
            stream: runtime.stream,
            log: (line) => process.stdout.write(`${line}\n`),
          }),
        () => undefined,
      )
    : undefined;
  // Handlers before the runtime is up: a signal that comes while it starts (or right after its
  // ready line) closes it once it is up, rather than end the process by the default action.
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(
      arg('state-dir') ? `Stopping; state is written to ${arg('state-dir')}.\n` : 'Stopping; in-memory state is discarded.\n',
    );
    // A failed start is reported by main's catch.
    void starting.then(
      (r) => Promise.all([watching?.then((w) => w?.close()), r.close()]).then(() => process.exit(0)),
      () => undefined,
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  // `npm start` execs node, so a signal to npm reaches this process; if npm is killed outright
  // (SIGKILL), this process is re-parented and stops rather than keep the port as an orphan.
  // Nothing tells a process that its parent died (npm shares its pipes with this process, so
  // none closes), so the parent is asked for: a getppid() every 100 ms costs nothing measurable
  // and frees the port within a tenth of a second rather than half a second.
  const parent = process.ppid;
  setInterval(() => process.ppid !== parent && stop(), 100).unref();
  await starting;
}

main().catch((err) => {
  const e = err as NodeJS.ErrnoException & { port?: number };
  if (e.code === 'EADDRINUSE') {
    process.stderr.write(
      `Port ${e.port ?? ''} is already in use (another local runtime?). Stop it, or pass --port <n> (0 picks a free port).\n`,
    );
  } else {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  }
  process.exit(1);
});
