// Lint rules: typescript-eslint's recommended set; formatting is Biome's job (`npm run format`).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  // What git ignores, as Biome does: caches, the tests' scratch folders and benchmark output are not source.
  { ignores: ['cdk.out*/**', 'node_modules/**', 'coverage/**', '.cache/**', '.bench-out/**', 'tmp/**', '**/*.js', '**/*.cjs', '**/*.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  // The framework knows nothing of the example application: its catalog and handlers are inputs.
  // The rule matches the path that reaches the project root from each folder depth (so that
  // sdk/consumer's `../catalog`, which is sdk/catalog, stays allowed).
  ...[1, 2, 3, 4].map((depth) => ({
    files: ['lib', 'sdk', 'runtime', 'cli'].map((dir) => `${dir}/${'*/'.repeat(depth - 1)}*.ts`),
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: `^(\\.\\./){${depth}}(catalog|lambdas)(/.*)?$`,
              message: 'The framework must not import the example app (catalog/, lambdas/): take the app definition as an input.',
            },
          ],
        },
      ],
    },
  })),
  {
    // Template assertions walk untyped CloudFormation JSON.
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
);
