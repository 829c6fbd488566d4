/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // Type checking is done once by `tsc --noEmit` in `npm test`; ts-jest only transpiles.
  transform: { '^.+\\.tsx?$': ['ts-jest', { tsconfig: 'tsconfig.jest.json', diagnostics: false }] },
  // The AWS SDK's Node.js-version notice is for whoever upgrades dependencies, not test output.
  setupFiles: ['<rootDir>/test/support/sdk-warning.ts'],
  testTimeout: 60000,
  // Jest's default is one worker fewer than the cores, which on a 2-core machine means one file at a
  // time in one process. The files are independent (each makes its own temporary folders and ports),
  // and the main process only collects results, so every core runs a worker.
  maxWorkers: '100%',
};
