#!/usr/bin/env node
/**
 * `npm test` runs the console's browser tests in Chromium (Playwright drives a system browser: it cannot download
 * its own here). This step finds one, or installs Debian's package when it can (root with apt-get), or stops at once
 * with one sentence saying what to install, so a fresh machine never spends minutes on tests that must fail.
 */
const { execFileSync, spawnSync } = require('node:child_process');
const { accessSync, constants } = require('node:fs');

const CANDIDATES = [process.env.KEYHOLD_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter(Boolean);

function found() {
  for (const path of CANDIDATES) {
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      /* not this one */
    }
  }
  return null;
}

function canApt() {
  return (
    typeof process.getuid === 'function' && process.getuid() === 0 && spawnSync('apt-get', ['--version']).status === 0
  );
}

let path = found();
if (!path && canApt()) {
  process.stdout.write("Chromium not found: installing Debian's chromium package for the console's browser tests\n");
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  try {
    execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
    execFileSync('apt-get', ['install', '-y', '-qq', 'chromium'], { stdio: ['ignore', 'ignore', 'inherit'], env });
  } catch {
    /* reported below */
  }
  path = found();
}
if (!path) {
  process.stderr.write(
    "npm test needs Chromium for the console's browser tests: install Debian's package (apt-get install chromium) or set KEYHOLD_CHROMIUM to a Chromium binary.\n",
  );
  process.exit(1);
}
if (path !== '/usr/bin/chromium' && !process.env.KEYHOLD_CHROMIUM) {
  process.stdout.write(`Chromium: ${path} (export KEYHOLD_CHROMIUM=${path} when running jest directly)\n`);
}
