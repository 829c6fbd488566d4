import { rmSync } from 'node:fs';

/**
 * Waits for the background synthesis of global-setup.ts and ends the shared AWS CLI server, so that
 * neither outlives the run, then removes the run's temporary folder.
 */
export default async function globalTeardown(): Promise<void> {
  await Promise.all([globalThis.backgroundSynth, globalThis.sharedAwsCli?.close()]);
  if (globalThis.runTmpDir) rmSync(globalThis.runTmpDir, { recursive: true, force: true });
}
