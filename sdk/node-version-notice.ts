/**
 * The AWS SDK warns, once per process, that its releases after early January 2027 need Node.js 22.
 * That is advice for whoever upgrades the dependencies, and noise in the runtime's, the CLI's, the
 * benchmarks' and the tests' output; every other warning still prints.
 */
let silenced = false;

export function silenceSdkNodeVersionWarning(): void {
  if (silenced) return;
  silenced = true;
  const emitWarning = process.emitWarning.bind(process);
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    if (String(warning instanceof Error ? warning.message : warning).startsWith('NodeVersionSupportWarning')) return;
    (emitWarning as (...a: unknown[]) => void)(warning, ...rest);
  }) as typeof process.emitWarning;
}
