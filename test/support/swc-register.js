'use strict';
/**
 * Lets a child process run the TypeScript sources directly (`node -r test/support/swc-register.js x.ts`), the
 * same way jest runs them: @swc/core with the repository's .swcrc (decorators, @app/* path aliases). Used by
 * tests that must kill a real worker process (SIGKILL) and start another.
 */
const fs = require('node:fs');
const path = require('node:path');
const { addHook } = require('pirates');
const { transformSync } = require('@swc/core');

const root = path.resolve(__dirname, '..', '..');
const swcrc = JSON.parse(fs.readFileSync(path.join(root, '.swcrc'), 'utf8'));
delete swcrc.$schema;
swcrc.jsc.baseUrl = root;

addHook((code, filename) => transformSync(code, { ...swcrc, swcrc: false, filename, sourceMaps: 'inline' }).code, {
  exts: ['.ts'],
  ignoreNodeModules: true,
});
