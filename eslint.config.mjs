// @ts-check
/**
 * ESLint over the whole repository: TypeScript with typescript-eslint's strict type-checked rules (typed linting
 * through the TypeScript project service: the root tsconfig.json for the server side, apps/console/tsconfig.json for
 * the console), the React hooks rules for the console, JavaScript files with the recommended rules. Formatting is
 * Prettier's job: eslint-config-prettier comes last and turns off every rule it would fight with.
 * Every rule relaxed below carries its reason on the line above it.
 */
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import reactHooks from 'eslint-plugin-react-hooks';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: ['**/node_modules/**', 'dist/**', 'packages/*/dist/**', 'coverage/**', 'docs/**', 'deploy/**'],
  },
  {
    linterOptions: { reportUnusedDisableDirectives: 'error' },
  },
  {
    files: ['**/*.{js,cjs,mjs}'],
    extends: [js.configs.recommended],
    languageOptions: { globals: { ...globals.node }, sourceType: 'commonjs', ecmaVersion: 2022 },
  },
  {
    files: ['**/*.mjs'],
    languageOptions: { sourceType: 'module' },
  },
  {
    files: ['**/*.{ts,tsx}'],
    extends: [tseslint.configs.strictTypeChecked],
    languageOptions: {
      parserOptions: {
        // vite.config.ts is in neither tsconfig (the console's covers src/ only): linted with the default program.
        projectService: { allowDefaultProject: ['apps/console/vite.config.ts'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      // Numbers and booleans print as expected in messages; nullish and objects stay errors.
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      // `return send(res, …)` ends a handler and answers in one statement; the rule's fix splits every early return in two.
      '@typescript-eslint/no-confusing-void-expression': 'off',
      // Without noUncheckedIndexedAccess the rule calls guards on index lookups unnecessary; removing them would crash.
      '@typescript-eslint/no-unnecessary-condition': 'off',
      // A leading underscore marks a deliberately unused binding (a parameter a signature needs, an omitted field).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
    },
  },
  {
    files: ['test/**/*.ts', 'hardening/**/*.ts', 'bench/**/*.ts', '**/*.spec.ts'],
    rules: {
      // Tests read JSON bodies as untyped values and assert their shape: a wrong guess fails the assertion.
      ...Object.fromEntries(
        ['no-explicit-any', 'no-unsafe-member-access', 'no-unsafe-assignment', 'no-unsafe-argument', 'no-unsafe-call', 'no-unsafe-return'].map(
          (rule) => [`@typescript-eslint/${rule}`, 'off'],
        ),
      ),
      // In a test `x!` asserts that a fixture exists: if it does not, the test fails at that line.
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  {
    files: ['apps/console/src/**/*.{ts,tsx}'],
    extends: [reactHooks.configs.flat.recommended],
  },
  prettier,
);
