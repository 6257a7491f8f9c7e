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
    // Build outputs (the console's bundle is built by npm run build before CI lints) and non-code folders.
    ignores: [
      '**/node_modules/**',
      'dist/**',
      'packages/*/dist/**',
      'apps/console/dist/**',
      'coverage/**',
      'test-results/**',
      '.keyhold/**',
      'docs/**',
      'deploy/**',
    ],
  },
  {
    linterOptions: { reportUnusedDisableDirectives: 'error' },
  },
  {
    files: ['**/*.{js,cjs,mjs}'],
    extends: [js.configs.recommended],
    languageOptions: { globals: { ...globals.node }, sourceType: 'commonjs', ecmaVersion: 2022 },
    rules: {
      // A leading underscore marks a deliberately unused binding (an omitted field of a rest destructuring).
      'no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true }],
    },
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
        // vite.config.ts is in neither tsconfig (the console's covers src/ only): linted with the console's options.
        projectService: {
          allowDefaultProject: ['apps/console/vite.config.ts'],
          defaultProject: 'apps/console/tsconfig.json',
        },
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
      // pg returns bigint columns as strings under number-typed rows, and a caught value need not be an Error: real conversions.
      '@typescript-eslint/no-unnecessary-type-conversion': 'off',
      // An async implementation of a Promise-returning port needs no await: `async` turns a throw into a rejection.
      '@typescript-eslint/require-await': 'off',
      // `x!` states an invariant the types cannot see (a RETURNING row, a Map entry set just before); tests assert fixtures.
      '@typescript-eslint/no-non-null-assertion': 'off',
      // TypeScript types classes structurally; SDK option types declared as classes accept any object of their shape.
      '@typescript-eslint/no-unsafe-class-instance-assignment': 'off',
      // `'valid' | 'invalid' | string` names the known values of an open set (wire values newer servers may extend).
      '@typescript-eslint/no-redundant-type-constituents': 'off',
      // Nest modules are decorated classes by design.
      '@typescript-eslint/no-extraneous-class': ['error', { allowWithDecorator: true }],
      // Wire values (BullMQ job names, envelope header bytes) are compared with the enum members that name them.
      '@typescript-eslint/no-unsafe-enum-comparison': 'off',
      // A leading underscore marks a deliberately unused binding (a parameter a signature needs, an omitted field).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
    },
  },
  {
    files: ['test/**/*.ts', 'hardening/**/*.ts', 'bench/**/*.ts', 'stack/**/*.ts', '**/*.spec.ts'],
    rules: {
      // `expect(obj.method)` passes the method to jest to inspect, never to call.
      '@typescript-eslint/unbound-method': 'off',
      // Tests read JSON bodies as untyped values and assert their shape: a wrong guess fails the assertion.
      ...Object.fromEntries(
        [
          'no-explicit-any',
          'no-unsafe-member-access',
          'no-unsafe-assignment',
          'no-unsafe-argument',
          'no-unsafe-call',
          'no-unsafe-return',
        ].map((rule) => [`@typescript-eslint/${rule}`, 'off']),
      ),
    },
  },
  {
    files: ['apps/api/src/http/**/*.ts'],
    rules: {
      // A Fastify reply is a thenable that settles when the response is sent: handlers return it and never await it.
      '@typescript-eslint/return-await': 'off',
    },
  },
  {
    files: ['apps/kms-emulator/**/*.ts', 'bench/**/*.ts', 'hardening/**/*.ts'],
    rules: {
      // The emulators' state and the bench/hardening records are plain JSON objects (persisted and compared as such).
      '@typescript-eslint/no-dynamic-delete': 'off',
      // The emulators echo untrusted request fields back in names and error texts: String() of them is the intent.
      '@typescript-eslint/no-base-to-string': 'off',
    },
  },
  {
    files: ['apps/kms-emulator/src/gcp/kms-service.ts'],
    // @grpc/proto-loader decodes requests to untyped objects (its `Msg`); each field is checked where it is read.
    rules: Object.fromEntries(
      ['no-unsafe-member-access', 'no-unsafe-assignment', 'no-unsafe-argument'].map((rule) => [
        `@typescript-eslint/${rule}`,
        'off',
      ]),
    ),
  },
  {
    files: ['apps/console/src/**/*.{ts,tsx}'],
    extends: [reactHooks.configs.flat.recommended],
    rules: {
      // The console is not compiled by the React Compiler: a ref set during render (the latest-callback pattern), a
      // state reset in an effect and Date.now() in render are correct without it.
      'react-hooks/refs': 'off',
      // (see react-hooks/refs)
      'react-hooks/set-state-in-effect': 'off',
      // (see react-hooks/refs)
      'react-hooks/purity': 'off',
    },
  },
  prettier,
);
