/**
 * Whether the cloud assembly a command reads (`pattern rules`, `diagram`) is older than the app's
 * sources, so the rules and queues it shows may not be the app's any more.
 */
import { relative, resolve } from 'node:path';
import { assemblyState, PROJECT_ROOT } from '../assembly';

/** A warning when the assembly is the project's and is stale; undefined otherwise (or for an assembly elsewhere). */
export function staleAssemblyWarning(cwd: string, assembly: string, root: string = PROJECT_ROOT): string | undefined {
  const outdir = resolve(cwd, assembly);
  if (relative(root, outdir).startsWith('..')) return undefined;
  if (assemblyState({ root, outdir }) !== 'stale') return undefined;
  return `${assembly} is older than the app's sources, so what follows may not match the app: run 'npx cdk synth' (or 'npm start', which synthesizes when stale)`;
}
