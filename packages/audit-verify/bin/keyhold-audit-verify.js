#!/usr/bin/env node
'use strict';
// The compiled verifier: `npm run build` in this package (standalone) or the repository's `npm run build:server`.
const path = require('node:path');
const fs = require('node:fs');
const candidates = [
  path.join(__dirname, '..', 'dist', 'cli.js'),
  path.join(__dirname, '..', '..', '..', 'dist', 'packages', 'audit-verify', 'src', 'cli.js'),
];
const cli = candidates.find((f) => fs.existsSync(f));
if (!cli) {
  process.stderr.write('keyhold-audit-verify is not built: run `npm run build` in packages/audit-verify\n');
  process.exit(2);
}
require(cli)
  .run(process.argv.slice(2))
  .then(
    (code) => process.exit(code),
    (e) => {
      process.stderr.write(`keyhold-audit-verify failed: ${String(e)}\n`);
      process.exit(2);
    },
  );
