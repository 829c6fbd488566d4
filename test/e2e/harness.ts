/** The local runtime as the end-to-end suites run it. */
import type { LocalRuntimeOptions } from '../../runtime';
import { driveWhenIdle, VirtualClock } from '../../runtime/clock';
import { runtimeActivity } from '../../runtime/stream';
import { startHarness, type Harness } from '../runtime/helpers';

/**
 * The runtime on a virtual clock that jumps to its next timer once the app has been idle (no
 * event, no function running) for 5 ms of real time, rather than startIdleDrivenHarness's 25:
 * batching windows, visibility timeouts and a poison message's receives take dozens of jumps,
 * whose idle waits were most of a flow's wall time. A running function still holds the clock,
 * so a visibility timeout never passes while its record's handler runs.
 */
export async function startE2eHarness(assemblyDir: string, options: Partial<LocalRuntimeOptions> = {}): Promise<Harness> {
  const clock = new VirtualClock();
  const harness = await startHarness(assemblyDir, { ...options, clock });
  const activity = runtimeActivity(harness.stream);
  const driver = driveWhenIdle(clock, activity, 5);
  return {
    ...harness,
    close: async () => {
      driver.stop();
      activity.stop();
      await harness.close();
    },
  };
}
