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
};
