/**
 * The command tree. `run(argv, io)` parses, runs one command and returns its exit code:
 * 0 ok, 1 failure, 2 usage error. Nothing here calls process.exit, so tests run it in-process.
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { AwsClients } from './aws';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, UsageError } from './errors';
import type { CliIO } from './io';
import { Output } from './output';
import { registerCost } from './commands/cost';
import { registerDiagram } from './commands/diagram';
import { registerDlq } from './commands/dlq';
import { registerPattern } from './commands/pattern';
import { registerPublish } from './commands/publish';
import { registerReplay } from './commands/replay';
import { registerTail } from './commands/tail';
import { registerTrace } from './commands/trace';
import { registerAudit } from './commands/audit';

/** Options every command accepts; they may be given before or after the command name. */
export interface GlobalOptions {
  readonly region?: string;
  readonly profile?: string;
  readonly endpointUrl?: string;
  readonly bus: string;
  readonly stack: string;
  readonly json: boolean;
  readonly color: boolean;
  readonly quiet: boolean;
}

/** What an action gets: its streams, output, AWS clients and global options. */
export interface CommandContext {
  readonly io: CliIO;
  readonly out: Output;
  readonly aws: AwsClients;
  readonly globals: GlobalOptions;
}

/** A command's implementation: returns its exit code (default 0) or throws (UsageError: 2, else 1). */
export type Action<O> = (ctx: CommandContext, options: O, args: string[]) => Promise<number | void>;
/** Turns an Action into a commander action handler with its context; each register* function gets one. */
export type Wrap = <O>(fn: Action<O>) => (this: Command, ...params: unknown[]) => Promise<void>;

/** The default bus: LOAN_EVENTS_BUS, or the name the stack gives it. */
export const DEFAULT_BUS = 'loan-events';
/** The stack whose resources the commands look for (names are prefixed with it). */
export const DEFAULT_STACK = 'LoanEvents';

/** A commander option parser for an integer in [min, max], naming the range when it is not. */
export function intInRange(min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`must be an integer from ${min} to ${max} (given '${value}')`);
    }
    return n;
  };
}

/** A commander option parser for a number in [min, max]. */
export function numberInRange(min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < min || n > max) {
      throw new InvalidArgumentError(`must be a number from ${min} to ${max} (given '${value}')`);
    }
    return n;
  };
}

export function buildProgram(io: CliIO, onExit: (code: number) => void): Command {
  const program = new Command('loan-events');
  program
    .description('Operate the loan-events application: publish, tail, test patterns, dead letters, replay, cost, diagram.')
    .version(readVersion(), '-V, --version')
    .addOption(new Option('--region <region>', "AWS Region (default: AWS_REGION, AWS_DEFAULT_REGION, the profile's region)"))
    .addOption(new Option('--profile <name>', 'named profile from ~/.aws/config'))
    .addOption(
      new Option(
        '--endpoint-url <url>',
        'endpoint of every service, e.g. the local runtime http://127.0.0.1:4566 (default: AWS_ENDPOINT_URL)',
      ),
    )
    .addOption(
      new Option('--bus <name>', 'event bus name or ARN').default(
        io.env.LOAN_EVENTS_BUS ?? DEFAULT_BUS,
        io.env.LOAN_EVENTS_BUS ? 'LOAN_EVENTS_BUS' : DEFAULT_BUS,
      ),
    )
    .addOption(
      new Option('--stack <name>', 'stack name, the prefix of queue and rule names').default(io.env.LOAN_EVENTS_STACK ?? DEFAULT_STACK),
    )
    .option('--json', 'print machine-readable JSON on stdout', false)
    .option('--no-color', 'no colour (also when NO_COLOR is set or stdout is not a terminal)')
    .option('-q, --quiet', 'no progress output on stderr', false)
    .addHelpText(
      'after',
      `
Exit codes: 0 ok, 1 failure, 2 usage error.
Environment: AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL (e.g. http://127.0.0.1:4566 for the local
runtime), LOAN_EVENTS_BUS, LOAN_EVENTS_STACK, NO_COLOR. See docs/cli.md.`,
    );

  const wrap = <O>(fn: Action<O>) =>
    async function (this: Command, ...params: unknown[]) {
      // commander calls actions with the command as `this`.
      // eslint-disable-next-line @typescript-eslint/no-this-alias
      const cmd = this;
      const globals = cmd.optsWithGlobals() as GlobalOptions & O;
      const out = new Output(io, { json: globals.json, color: globals.color, quiet: globals.quiet });
      const aws = new AwsClients({ region: globals.region, profile: globals.profile, endpointUrl: globals.endpointUrl }, io.env);
      try {
        const code = await fn(
          { io, out, aws, globals },
          globals,
          params.filter((p): p is string => typeof p === 'string'),
        );
        onExit(code ?? EXIT_OK);
      } finally {
        aws.destroy();
      }
    };

  registerPublish(program, wrap);
  registerTail(program, wrap);
  registerPattern(program, wrap);
  registerDlq(program, wrap);
  registerReplay(program, wrap);
  registerCost(program, wrap);
  registerDiagram(program, wrap);
  registerTrace(program, wrap);
  registerAudit(program, wrap);

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
  const program = buildProgram(io, (code) => {
    exitCode = code;
  });
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
    if (err instanceof UsageError) return EXIT_USAGE;
    return typeof e?.exitCode === 'number' ? e.exitCode : EXIT_FAILURE;
  }
}

function readVersion(): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('../package.json') as { version: string }).version;
}
