/**
 * The names a command needs, the event bus and the stack, without a built-in default: an option
 * (--bus, --stack), else an environment variable, else the synthesized app: the stack of the
 * cloud assembly that defines an AWS::Events::EventBus, and that bus's name.
 */
import { existsSync, readdirSync } from 'node:fs';
import { CloudAssembly, TemplateError } from '../assembly';
import { join, resolve } from 'node:path';
import { UsageError } from './errors';
import { loadTopology, type Topology } from './topology';

/** Environment variables read when --bus / --stack are not given. */
export const BUS_ENV = 'EVENT_BUS_NAME';
export const STACK_ENV = 'EVENTS_STACK_NAME';
/** Older names, still read (after the ones above), with a notice to move. */
export const DEPRECATED_ENV: Readonly<Record<string, string>> = { LOAN_EVENTS_BUS: BUS_ENV, LOAN_EVENTS_STACK: STACK_ENV };

/** The assembly directory commands read unless told otherwise. */
export const DEFAULT_ASSEMBLY = 'cdk.out';

const HOW_TO = `run 'npx cdk synth' first, or pass --template <file>, or name them with --stack and --bus (or ${STACK_ENV}, ${BUS_ENV})`;

/** The stack names of a cloud assembly (read by the assembly module), else of its `<stack>.template.json` files. */
export function assemblyStacks(dir: string): string[] {
  if (existsSync(join(dir, 'manifest.json'))) {
    try {
      return CloudAssembly.load(dir)
        .stacks.map((s) => s.stackName)
        .sort();
    } catch (err) {
      if (err instanceof TemplateError) throw new UsageError(err.message);
      throw err;
    }
  }
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.template.json'))
    .map((f) => f.slice(0, -'.template.json'.length))
    .sort();
}

/** The name prefix stacks share up to a '-' (`LoanEvents` for `LoanEvents-Router` and `LoanEvents-orders`); undefined without stacks. */
export function appPrefix(stackNames: readonly string[]): string | undefined {
  const [first, ...rest] = stackNames;
  if (first === undefined) return undefined;
  let prefix = first;
  for (const name of rest) while (!name.startsWith(prefix)) prefix = prefix.slice(0, -1);
  const dash = prefix.lastIndexOf('-');
  if (rest.length === 0) return first;
  return dash > 0 ? prefix.slice(0, dash) : prefix;
}

export interface AppNamesOptions {
  readonly bus?: string;
  readonly stack?: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  /** Told once about each deprecated environment variable in use. */
  readonly notice?: (message: string) => void;
}

/** Resolves the bus and the stack when a command first asks, and remembers them. */
export class AppNames {
  private readonly routers = new Map<string, { stack: string; topology: Topology } | null>();
  private readonly noticed = new Set<string>();

  constructor(private readonly options: AppNamesOptions) {}

  /** The stack: --stack, EVENTS_STACK_NAME, or the router stack of the assembly (throws when there is none). */
  stack(assembly: string = DEFAULT_ASSEMBLY): string {
    const stack = this.tryStack(assembly);
    if (stack === undefined)
      throw new UsageError(`no stack given, and no synthesized app with an event bus in ${resolve(this.options.cwd, assembly)}: ${HOW_TO}`);
    return stack;
  }

  /** The stack, or undefined when neither an option, the environment nor an assembly names one. */
  tryStack(assembly: string = DEFAULT_ASSEMBLY): string | undefined {
    return this.options.stack ?? this.fromEnv(STACK_ENV) ?? this.router(assembly)?.stack;
  }

  /**
   * The stacks that make up the app, as the prefix their names share (`LoanEvents` for
   * `LoanEvents-Router`, `LoanEvents-underwriting`, ...): --stack or EVENTS_STACK_NAME when given,
   * else the assembly's common name prefix up to a '-'. `loadTopology` reads every stack it names.
   */
  /** The stack or prefix named by --stack or EVENTS_STACK_NAME, if any. */
  given(): string | undefined {
    return this.options.stack ?? this.fromEnv(STACK_ENV);
  }

  app(assembly: string = DEFAULT_ASSEMBLY): string {
    const app = this.tryApp(assembly);
    if (app === undefined)
      throw new UsageError(`no stack given, and no synthesized app in ${resolve(this.options.cwd, assembly)}: ${HOW_TO}`);
    return app;
  }

  /** The app's stack prefix, or undefined when neither an option, the environment nor an assembly names one. */
  tryApp(assembly: string = DEFAULT_ASSEMBLY): string | undefined {
    return this.given() ?? appPrefix(assemblyStacks(resolve(this.options.cwd, assembly)));
  }

  /** The bus: --bus, EVENT_BUS_NAME, or the bus the stack's template defines (throws when there is none). */
  bus(assembly: string = DEFAULT_ASSEMBLY): string {
    const given = this.options.bus ?? this.fromEnv(BUS_ENV);
    if (given !== undefined) return given;
    const explicit = this.options.stack ?? this.fromEnv(STACK_ENV);
    if (explicit !== undefined) {
      const dir = resolve(this.options.cwd, assembly);
      if (!assemblyStacks(dir).includes(explicit)) {
        throw new UsageError(`no bus given, and stack '${explicit}' is not in ${dir}: pass --bus or set ${BUS_ENV}`);
      }
      const topology = loadTopology({ assembly, stack: explicit, cwd: this.options.cwd });
      if (topology.busId === undefined) throw new UsageError(`stack '${explicit}' defines no event bus: pass --bus or set ${BUS_ENV}`);
      return topology.busName;
    }
    const router = this.router(assembly);
    if (router === undefined)
      throw new UsageError(`no bus given, and no synthesized app with an event bus in ${resolve(this.options.cwd, assembly)}: ${HOW_TO}`);
    return router.topology.busName;
  }

  private fromEnv(name: string): string | undefined {
    const value = this.options.env[name];
    if (value !== undefined && value !== '') return value;
    for (const [old, now] of Object.entries(DEPRECATED_ENV)) {
      if (now !== name) continue;
      const legacy = this.options.env[old];
      if (legacy === undefined || legacy === '') continue;
      if (!this.noticed.has(old)) {
        this.noticed.add(old);
        this.options.notice?.(`${old} is deprecated; set ${now} instead`);
      }
      return legacy;
    }
    return undefined;
  }

  /** The one stack of the assembly that defines an event bus; undefined when there is no assembly. */
  private router(assembly: string): { stack: string; topology: Topology } | undefined {
    const dir = resolve(this.options.cwd, assembly);
    const cached = this.routers.get(dir);
    if (cached !== undefined) return cached ?? undefined;
    const withBus = assemblyStacks(dir)
      .map((stack) => ({ stack, topology: loadTopology({ assembly, stack, cwd: this.options.cwd }) }))
      .filter((s) => s.topology.busId !== undefined);
    if (withBus.length > 1) {
      throw new UsageError(
        `${dir} has several stacks with an event bus (${withBus.map((s) => s.stack).join(', ')}): choose one with --stack`,
      );
    }
    const [found] = withBus;
    this.routers.set(dir, found ?? null);
    return found;
  }
}
