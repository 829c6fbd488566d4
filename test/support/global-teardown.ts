/** Waits for the background synthesis of global-setup.ts, so that no synth outlives the run. */
export default async function globalTeardown(): Promise<void> {
  await globalThis.backgroundSynth;
}
