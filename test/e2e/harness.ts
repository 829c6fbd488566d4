/** The local runtime as the end-to-end suites run it. */
import type { LocalRuntimeOptions } from '../../runtime';
import { startIdleDrivenHarness, type Harness } from '../runtime/helpers';

/**
 * The runtime on a virtual clock that jumps to its next timer once the app has been idle (no
 * event, no function running) for 5 ms of real time, rather than startIdleDrivenHarness's 25:
 * batching windows, visibility timeouts and a poison message's receives take dozens of jumps,
 * whose idle waits were most of a flow's wall time. A running function still holds the clock,
 * so a visibility timeout never passes while its record's handler runs.
 */
export function startE2eHarness(assemblyDir: string, options: Partial<LocalRuntimeOptions> = {}): Promise<Harness> {
  return startIdleDrivenHarness(assemblyDir, options, 5);
}
