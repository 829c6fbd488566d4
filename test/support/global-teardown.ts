/** Waits for the background synthesis of global-setup.ts and ends the shared AWS CLI server, so that neither outlives the run. */
export default async function globalTeardown(): Promise<void> {
  await Promise.all([globalThis.backgroundSynth, globalThis.sharedAwsCli?.close()]);
}
