/**
 * `access`: the app's publish/subscribe surface, answered from the synthesized app by the same
 * evaluator the local runtime enforces with: who may publish which event types, who may manage
 * the bus's rules, who may use which queue and which key, and under which conditions.
 * `access check` decides one request and explains it; it exits 0 when allowed, 1 when denied.
 */
import { resolve } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { EXIT_FAILURE, EXIT_OK, UsageError } from '../errors';
import { PROGRAM_NAME, type Wrap } from '../command';
import { DEFAULT_ACCOUNT, DEFAULT_REGION, loadAccessApp, type AccessApp } from '../access/app';
import { checkAccess, checkAction, parseContext, resolvePrincipal, resolveResource } from '../access/check';
import { renderSurface } from '../access/render';
import { buildSurface } from '../access/surface';

interface SourceOptions {
  assembly: string;
  account?: string;
}

const accountOption = (value: string) => {
  if (!/^\d{12}$/.test(value)) throw new InvalidArgumentError(`must be a 12-digit account id (given '${value}')`);
  return value;
};

const REGION = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;

/** Loads the app: its stacks' own environments, else --account and the global --region. */
function load(io: { cwd: string }, opts: SourceOptions, region: string | undefined, note: (m: string) => void): AccessApp {
  if (region !== undefined && !REGION.test(region))
    throw new UsageError(`--region must look like us-east-1 (given '${region.slice(0, 40)}')`);
  const app = loadAccessApp(resolve(io.cwd, opts.assembly), { account: opts.account, region });
  if (app.agnostic && (opts.account === undefined || region === undefined)) {
    note(
      `the app is environment-agnostic: ARNs use account ${opts.account ?? DEFAULT_ACCOUNT} and Region ${region ?? DEFAULT_REGION} (set them with --account and --region)`,
    );
  }
  return app;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function registerAccess(program: Command, wrap: Wrap): void {
  const access = program
    .command('access')
    .description('who may publish, subscribe, read which queue and use which key: the app’s policies, evaluated')
    .addHelpText(
      'after',
      `
Examples:
  $ ${PROGRAM_NAME} access                      # the whole surface, as tables
  $ ${PROGRAM_NAME} access --json               # the same, as JSON
  $ ${PROGRAM_NAME} access check loan-intake events:PutEvents loan-events \\
      events:source=com.example.loans.intake events:detail-type=LoanApplicationSubmitted`,
    );

  access
    .command('surface', { isDefault: true })
    .description('every grant of the synthesized app, by principal, with the conditions it needs')
    .option('--assembly <dir>', 'cloud assembly directory', 'cdk.out')
    .option('--account <id>', `account of environment-agnostic stacks (default: ${DEFAULT_ACCOUNT})`, accountOption)
    .action(
      wrap<SourceOptions>(async ({ io, out, globals }, opts) => {
        const app = load(io, opts, globals.region, (m) => out.note(m));
        const surface = buildSurface(app);
        out.data(surface);
        renderSurface(out, surface, app);
        return EXIT_OK;
      }),
    );

  access
    .command('check')
    .description('decide one request: Allow, implicit deny or explicit deny, the deciding statements and AWS’s message')
    .argument('<principal>', 'ARN, account id, service principal, anonymous, or a role, publisher or consumer name of the app')
    .argument('<action>', 'service:Action, e.g. events:PutEvents')
    .argument('<resource>', 'ARN, or the name of a bus, rule, queue or key of the app')
    .argument('[context...]', 'request context as key=value (repeat a key for a list), e.g. events:source=com.example.loans.intake')
    .option('--assembly <dir>', 'cloud assembly directory', 'cdk.out')
    .option('--account <id>', `account of environment-agnostic stacks (default: ${DEFAULT_ACCOUNT})`, accountOption)
    .option('--principal-tag <key=value>', 'a tag of the principal (aws:PrincipalTag/<key>); repeatable', collect, [])
    .option(
      '--assume-identity-allow',
      'for a principal the app does not define: evaluate as if its own IAM policies allowed everything',
      false,
    )
    .addHelpText(
      'after',
      `
Exit codes: 0 allowed, 1 denied (implicit or explicit), 2 usage error.
aws:SecureTransport is true unless given.`,
    )
    .action(
      wrap<SourceOptions & { principalTag: string[]; assumeIdentityAllow: boolean }>(async ({ io, out, globals }, opts, args) => {
        const [principalArg, action, resourceArg, ...contextArgs] = args;
        if (principalArg === undefined || action === undefined || resourceArg === undefined) {
          throw new UsageError('access check needs <principal> <action> <resource>');
        }
        checkAction(action);
        const app = load(io, opts, globals.region, (m) => out.note(m));
        const partition = (app.buses[0]?.arn ?? app.queues[0]?.arn ?? 'arn:aws').split(':')[1] ?? 'aws';
        const tags = parseContext(opts.principalTag, '--principal-tag');
        const result = checkAccess(app, {
          principal: resolvePrincipal(app, principalArg, partition),
          action,
          resource: resolveResource(app, resourceArg, action),
          context: parseContext(contextArgs),
          principalTags: Object.fromEntries(Object.entries(tags).map(([k, v]) => [k, typeof v === 'string' ? v : v.join(',')])),
          assumeIdentityAllow: opts.assumeIdentityAllow,
        });
        const code = result.decision === 'Allow' ? EXIT_OK : EXIT_FAILURE;
        out.data({ ...result, exitCode: code });
        const word =
          result.decision === 'Allow'
            ? out.style('green', 'Allow')
            : out.style('red', result.decision === 'ExplicitDeny' ? 'Explicit deny' : 'Implicit deny');
        out.line(word);
        out.line(`  ${result.explanation}`);
        out.line();
        out.table([
          ['principal', result.principal],
          ['action', result.action],
          ['resource', result.resource],
          [
            'context',
            Object.entries(result.context)
              .map(([k, v]) => `${k}=${typeof v === 'string' ? v : v.join('|')}`)
              .join(', ') || '-',
          ],
          ...(Object.keys(result.principalTags).length > 0
            ? [
                [
                  'principal tags',
                  Object.entries(result.principalTags)
                    .map(([k, v]) => `${k}=${v}`)
                    .join(', '),
                ],
              ]
            : []),
        ]);
        out.line();
        out.line(out.style('bold', result.decision === 'ExplicitDeny' ? 'Deciding statement' : 'Statements that apply'));
        if (result.statements.length === 0) out.line('  none: no statement allows this request');
        for (const s of result.statements) out.line(`  ${s.effect} ${s.label}`);
        if (result.message) {
          out.line();
          out.line(out.style('bold', 'AWS would answer'));
          out.line(`  ${result.message}`);
        }
        return code;
      }),
    );
}
