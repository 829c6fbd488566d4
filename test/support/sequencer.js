/**
 * Jest's default order (failed first, then longest first by recorded duration, else by file size),
 * except that on a tree without cdk.out (a fresh clone, as in CI) the suites that read it (they call
 * ensureSynth) go last: global-setup.ts is synthesizing it, and they would only wait for it.
 * Plain JavaScript: jest loads its sequencer without the test transform.
 */
const { existsSync, readFileSync } = require('node:fs');
const path = require('node:path');
const Sequencer = require('@jest/test-sequencer').default;

const readsCdkOut = (test) => /\bensureSynth\(/.test(readFileSync(test.path, 'utf8'));

class CdkOutLastSequencer extends Sequencer {
  sort(tests) {
    const sorted = super.sort(tests);
    if (existsSync(path.join(__dirname, '..', '..', 'cdk.out', 'manifest.json'))) return sorted;
    return [...sorted.filter((t) => !readsCdkOut(t)), ...sorted.filter(readsCdkOut)];
  }
}

module.exports = CdkOutLastSequencer;
