/**
 * The AWS SDK warns, once per process, that its releases after January 2027 need Node.js 22.
 * That is for whoever upgrades the dependencies; test output drops it (runtime/start.ts does
 * the same for the CLI). Every other warning still prints.
 */
const emitWarning = process.emitWarning.bind(process);
process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
  if (String(warning instanceof Error ? warning.message : warning).startsWith('NodeVersionSupportWarning')) return;
  (emitWarning as (...a: unknown[]) => void)(warning, ...rest);
}) as typeof process.emitWarning;

export {};
