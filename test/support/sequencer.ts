/**
 * Jest's default order (failed first, then longest first by recorded duration, else by file size),
 * except that while cdk.out is missing or stale the suites that read it (they call ensureSynth) go
 * last: global-setup.ts is synthesizing it, and they would only wait for it.
 */
import { readFileSync } from 'node:fs';
import Sequencer from '@jest/test-sequencer';
import type { Test } from '@jest/test-result';
import { assemblyState } from '../../assembly';

const readsCdkOut = (test: Test) => /\bensureSynth\(/.test(readFileSync(test.path, 'utf8'));

export default class CdkOutLastSequencer extends Sequencer {
  override sort(tests: Array<Test>): Array<Test> {
    const sorted = super.sort(tests) as Array<Test>;
    if (assemblyState() === 'up to date') return sorted;
    return [...sorted.filter((t) => !readsCdkOut(t)), ...sorted.filter(readsCdkOut)];
  }
}
