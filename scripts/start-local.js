#!/usr/bin/env node
'use strict';
/**
 * `npm start`: brings the whole product up on this machine without Docker — the cloud emulators, the API (which also
 * serves the console) and the worker — against the local Postgres and Redis. Ctrl-C stops everything.
 */
const { spawn } = require('node:child_process');
const path = require('node:path');
const { localEnv } = require('./local-env');

const root = path.resolve(__dirname, '..');
const env = localEnv(root);
const children = [];
let stopping = false;

function run(name, script, color) {
  const child = spawn(process.execPath, ['--enable-source-maps', path.join(root, script)], {
    cwd: root,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const prefix = `\x1b[${color}m${name.padEnd(9)}\x1b[0m| `;
  for (const stream of [child.stdout, child.stderr]) {
    let buf = '';
    stream.on('data', (d) => {
      buf += d;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        process.stdout.write(prefix + buf.slice(0, i) + '\n');
        buf = buf.slice(i + 1);
      }
    });
  }
  child.on('exit', (code, signal) => {
    if (!stopping) {
      console.error(`${name} exited (${signal ?? code}); stopping everything`);
      stop(1);
    }
  });
  children.push(child);
  return child;
}

async function waitFor(url, what, timeoutMs = 60000) {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${what} did not come up at ${url} within ${timeoutMs / 1000}s`);
}

function stop(code = 0) {
  stopping = true;
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  setTimeout(() => process.exit(code), 1500).unref();
}

process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));

(async () => {
  run('emulators', 'dist/apps/kms-emulator/src/main.js', '35');
  await waitFor('http://127.0.0.1:4569/health', 'the emulators');
  run('api', 'dist/apps/api/src/main.js', '36');
  await waitFor(`http://127.0.0.1:${env.PORT}/readyz`, 'the API');
  if (!env.KEYHOLD_INTERNAL_TLS_CERT)
    await waitFor(`http://127.0.0.1:${env.KEYHOLD_INTERNAL_PORT}/readyz`, 'the internal API listener');
  run('worker', 'dist/apps/worker/src/main.js', '33');
  console.log(`\nKeyhold is up: console and API on http://127.0.0.1:${env.PORT}  (OpenAPI: /openapi.json)`);
  const internal = `${env.KEYHOLD_INTERNAL_TLS_CERT ? 'https' : 'http'}://${env.KEYHOLD_INTERNAL_HOST}:${env.KEYHOLD_INTERNAL_PORT}`;
  console.log(`Internal listener (DEK API, service tokens, /metrics) on ${internal}: point your services there.`);
  console.log('Emulator admin API on http://127.0.0.1:4569. Ctrl-C stops everything.');
  console.log(`Create a tenant with the operator token (printed above) and its first key admin's email — no password:`);
  console.log(`  POST /v1/tenants {"name": "Acme", "admin": {"email": "kim@acme.example"}}`);
  console.log(
    `The invitation link is "emailed": locally it appears in this log ("dev mail sent") and at http://127.0.0.1:${env.PORT}/dev/mailbox.\n`,
  );
})().catch((err) => {
  console.error(err.message);
  stop(1);
});
