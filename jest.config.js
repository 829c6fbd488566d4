/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // Type checking is done once by `tsc --noEmit` in `npm test`; the transform only strips types.
  // swc strips the project's 307 files in 1.5 s where TypeScript's transpileModule took 36 s
  // (load 14), a cost a fresh clone such as CI pays in full. Output as tsconfig.json: ES2022, CommonJS.
  transform: {
    '^.+\\.tsx?$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } }],
  },
  // The AWS SDK's Node.js-version notice is for whoever upgrades dependencies, not test output.
  setupFiles: ['<rootDir>/test/support/sdk-warning.ts'],
  // A fresh clone synthesizes cdk.out in the background from the start; its readers run last.
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  testSequencer: '<rootDir>/test/support/sequencer.js',
  // Jest's runtime, keeping each module's compiled code for the worker's next test file.
  runtime: '<rootDir>/test/support/jest-runtime.js',
  testTimeout: 60000,
  // Jest's default is one worker fewer than the cores, which on a 2-core machine means one file at a
  // time in one process. The files are independent (each makes its own temporary folders and ports),
  // and the main process only collects results, so every core runs a worker.
  maxWorkers: '100%',
};
