/**
 * The command tree. `run(argv, io)` parses, runs one command and returns its exit code:
 * 0 ok, 1 failure, 2 usage error. Nothing here calls process.exit, so tests run it in-process.
 */
import { Command, CommanderError, Option } from 'commander';
import { AppNames, BUS_ENV, STACK_ENV } from './app-names';
import { AwsClients } from './aws';
import { PROGRAM_NAME, readPackage, type Action, type GlobalOptions, type Wrap } from './command';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, hintFor, UsageError } from './errors';
import type { CliIO } from './io';
import { Output } from './output';

type Register = (program: Command, wrap: Wrap) => void;

/**
 * The commands in the order help lists them, each module required only when its command is
 * registered: a run registers the one command it names (its module and what that needs, not the
 * AWS SDK, the catalog and the policy evaluator of every other command), and help or a name that
 * is not a command registers them all.
 */
/* eslint-disable @typescript-eslint/no-require-imports */
const COMMANDS: ReadonlyArray<readonly [string, () => Register]> = [
  ['publish', () => (require('./commands/publish') as typeof import('./commands/publish')).registerPublish],
  ['tail', () => (require('./commands/tail') as typeof import('./commands/tail')).registerTail],
  ['pattern', () => (require('./commands/pattern') as typeof import('./commands/pattern')).registerPattern],
  ['dlq', () => (require('./commands/dlq') as typeof import('./commands/dlq')).registerDlq],
  ['replay', () => (require('./commands/replay') as typeof import('./commands/replay')).registerReplay],
  ['invoke', () => (require('./commands/invoke') as typeof import('./commands/invoke')).registerInvoke],
  ['cost', () => (require('./commands/cost') as typeof import('./commands/cost')).registerCost],
  ['diagram', () => (require('./commands/diagram') as typeof import('./commands/diagram')).registerDiagram],
  ['trace', () => (require('./commands/trace') as typeof import('./commands/trace')).registerTrace],
  ['audit', () => (require('./commands/audit') as typeof import('./commands/audit')).registerAudit],
  ['access', () => (require('./commands/access') as typeof import('./commands/access')).registerAccess],
];
/* eslint-enable @typescript-eslint/no-require-imports */

/** Global options that take a value (`--bus x` or `--bus=x`): their value is not a command name. */
const VALUE_OPTIONS = new Set(['--region', '--profile', '--endpoint-url', '--bus', '--stack']);

/** The command an argv names, when it names one of COMMANDS before anything else that is not a global option. */
export function commandOf(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (VALUE_OPTIONS.has(a)) i++;
    else if (!a.startsWith('-')) return COMMANDS.some(([name]) => name === a) ? a : undefined;
  }
  return undefined;
}

/**
 * The command tree. With `argv`, only the command it names is registered (all of them when it
 * names none, for help and for commander's unknown-command error).
 */
export function buildProgram(io: CliIO, onExit: (code: number) => void, argv?: readonly string[]): Command {
  const program = new Command(PROGRAM_NAME);
  program
    .description('Operate an event router app: publish, tail, test patterns, dead letters, replay, cost, diagram, access.')
    .version(readVersion(), '-V, --version')
    .addOption(new Option('--region <region>', "AWS Region (default: AWS_REGION, AWS_DEFAULT_REGION, the profile's region)"))
    .addOption(new Option('--profile <name>', 'named profile from ~/.aws/config'))
    .addOption(
      new Option(
        '--endpoint-url <url>',
        'endpoint of every service, e.g. the local runtime http://127.0.0.1:4566 (default: AWS_ENDPOINT_URL)',
      ),
    )
    .addOption(new Option('--bus <name>', `event bus name or ARN (default: ${BUS_ENV}, else the bus of the synthesized app in cdk.out)`))
    .addOption(
      new Option(
        '--stack <name>',
        `stack name, the prefix of queue and rule names (default: ${STACK_ENV}, else the stack of cdk.out that defines the bus)`,
      ),
    )
    .option('--json', 'print machine-readable JSON on stdout', false)
    .option('--no-color', 'no colour (also when NO_COLOR is set or stdout is not a terminal)')
    .option('-q, --quiet', 'no progress output on stderr', false)
    .addHelpText(
      'after',
      `
Exit codes: 0 ok, 1 failure, 2 usage error.
Environment: AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL (e.g. http://127.0.0.1:4566 for the local
runtime), ${BUS_ENV}, ${STACK_ENV}, NO_COLOR. See docs/cli.md.`,
    );

  const wrap = <O>(fn: Action<O>) =>
    async function (this: Command, ...params: unknown[]) {
      // commander calls actions with the command as `this`.
      // eslint-disable-next-line @typescript-eslint/no-this-alias
      const cmd = this;
      const globals = cmd.optsWithGlobals() as GlobalOptions & O;
      const out = new Output(io, { json: globals.json, color: globals.color, quiet: globals.quiet });
      const aws = new AwsClients({ region: globals.region, profile: globals.profile, endpointUrl: globals.endpointUrl }, io.env);
      const names = new AppNames({ bus: globals.bus, stack: globals.stack, env: io.env, cwd: io.cwd, notice: (m) => out.note(m) });
      try {
        const code = await fn(
          { io, out, aws, globals, names },
          globals,
          // Positional arguments in order; a variadic one (`[context...]`) arrives as a list.
          params.flatMap((p) => (Array.isArray(p) ? p : [p])).filter((p): p is string => typeof p === 'string'),
        );
        onExit(code ?? EXIT_OK);
      } finally {
        aws.destroy();
      }
    };

  const only = argv === undefined ? undefined : commandOf(argv);
  for (const [name, register] of COMMANDS) if (only === undefined || name === only) register()(program, wrap);

  // Every subcommand reports through the same streams and never exits the process itself.
  const configure = (cmd: Command) => {
    cmd.exitOverride();
    cmd.configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) });
    cmd.showHelpAfterError('(add --help for usage)');
    cmd.commands.forEach(configure);
  };
  configure(program);
  return program;
}

/** Parses `argv` (without node and script), runs the command and returns its exit code. */
export async function run(argv: readonly string[], io: CliIO): Promise<number> {
  let exitCode = EXIT_OK;
  const program = buildProgram(
    io,
    (code) => {
      exitCode = code;
    },
    argv,
  );
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return EXIT_OK;
      // Commander has already printed the message (or, for a command group without a
      // subcommand, the help); every parse error is a usage error.
      return EXIT_USAGE;
    }
    const e = err as Error & { exitCode?: number };
    const message = e?.message ?? String(err);
    io.stderr.write(`error: ${message}\n`);
    const hint = hintFor(err, io.env, endpointOption(argv));
    if (hint) io.stderr.write(`hint: ${hint}\n`);
    if (err instanceof UsageError) return EXIT_USAGE;
    return typeof e?.exitCode === 'number' ? e.exitCode : EXIT_FAILURE;
  }
}

function readVersion(): string {
  return readPackage().version;
}

/** The --endpoint-url value of an argv, for the hint after a connection error. */
function endpointOption(argv: readonly string[]): string | undefined {
  const i = argv.findIndex((a) => a === '--endpoint-url' || a.startsWith('--endpoint-url='));
  if (i < 0) return undefined;
  const a = argv[i]!;
  return a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[i + 1];
}
