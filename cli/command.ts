/**
 * What every command module shares with the program: the global options, the context an action
 * gets, and option parsers. The program imports the commands and the commands import this module,
 * never the program.
 */
import { InvalidArgumentError, type Command } from 'commander';
import type { AppNames } from './app-names';
import type { AwsClients } from './aws';
import type { CliIO } from './io';
import type { Output } from './output';

/** The project's package.json, for the command's name and version. */
export function readPackage(): { version: string; bin?: Record<string, string> } {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('../package.json') as { version: string; bin?: Record<string, string> };
}

/** The command's name, as package.json "bin" installs it; help examples use it. */
export const PROGRAM_NAME = Object.keys(readPackage().bin ?? {})[0] ?? 'cli';

/** Options every command accepts; they may be given before or after the command name. */
export interface GlobalOptions {
  readonly region?: string;
  readonly profile?: string;
  readonly endpointUrl?: string;
  /** --bus as given; commands read the resolved name from CommandContext.names. */
  readonly bus?: string;
  /** --stack as given; commands read the resolved name from CommandContext.names. */
  readonly stack?: string;
  readonly json: boolean;
  readonly color: boolean;
  readonly quiet: boolean;
}

/** What an action gets: its streams, output, AWS clients, global options and the app's names. */
export interface CommandContext {
  readonly io: CliIO;
  readonly out: Output;
  readonly aws: AwsClients;
  readonly globals: GlobalOptions;
  /** The bus and stack: from the options, the environment or the synthesized app, when asked. */
  readonly names: AppNames;
}

/** A command's implementation: returns its exit code (default 0) or throws (UsageError: 2, else 1). */
export type Action<O> = (ctx: CommandContext, options: O, args: string[]) => Promise<number | void>;
/** Turns an Action into a commander action handler with its context; each register* function gets one. */
export type Wrap = <O>(fn: Action<O>) => (this: Command, ...params: unknown[]) => Promise<void>;

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
