/**
 * The command tree. `run(argv, io)` parses, runs one command and returns its exit code:
 * 0 ok, 1 failure, 2 usage error. Nothing here calls process.exit, so tests run it in-process.
 */
import { Command, CommanderError, Option } from 'commander';
import { AppNames, BUS_ENV, STACK_ENV } from './app-names';
import { AwsClients } from './aws';
import { PROGRAM_NAME, readPackage, type Action, type GlobalOptions } from './command';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, hintFor, UsageError } from './errors';
import type { CliIO } from './io';
import { Output } from './output';
import { registerCost } from './commands/cost';
import { registerDiagram } from './commands/diagram';
import { registerDlq } from './commands/dlq';
import { registerInvoke } from './commands/invoke';
import { registerPattern } from './commands/pattern';
import { registerPublish } from './commands/publish';
import { registerReplay } from './commands/replay';
import { registerTail } from './commands/tail';
import { registerTrace } from './commands/trace';
import { registerAudit } from './commands/audit';
import { registerAccess } from './commands/access';

export function buildProgram(io: CliIO, onExit: (code: number) => void): Command {
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

  registerPublish(program, wrap);
  registerTail(program, wrap);
  registerPattern(program, wrap);
  registerDlq(program, wrap);
  registerReplay(program, wrap);
  registerInvoke(program, wrap);
  registerCost(program, wrap);
  registerDiagram(program, wrap);
  registerTrace(program, wrap);
  registerAudit(program, wrap);
  registerAccess(program, wrap);

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
