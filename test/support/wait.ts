/**
 * The one polling helper of the test suite, for the few things that are genuinely
 * asynchronous (worker threads running handlers, child processes, sockets). Anything that
 * waits on time inside the runtime is driven with a VirtualClock instead.
 */

/** Polls until `check` returns a value other than undefined, or fails after `timeoutMs` of real time. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 20000,
  intervalMs = 20,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
