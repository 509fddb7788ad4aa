#!/usr/bin/env node
// Makes sure the real programs the test suite starts are installed: redis-server, nginx, caddy, chromium.
// As root with apt, it installs the missing Debian packages; otherwise it stops with the exact command to run.
// `node scripts/ensure-test-binaries.mjs wrk` does the same for the named programs only (the bench's wrk).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';

const POLICY_RC_D = '/usr/sbin/policy-rc.d';
const POLICY_MARK = 'written by postern scripts/ensure-test-binaries.mjs';

const known = [
  { bin: 'redis-server', pkg: 'redis-server', paths: ['/usr/bin/redis-server', '/usr/local/bin/redis-server'] },
  { bin: 'nginx', pkg: 'nginx', paths: ['/usr/sbin/nginx', '/usr/bin/nginx'] },
  { bin: 'caddy', pkg: 'caddy', paths: ['/usr/bin/caddy', '/usr/local/bin/caddy'] },
  // The real-browser test drives Debian's Chromium with playwright-core (which never downloads a browser).
  { bin: 'chromium', pkg: 'chromium', paths: ['/usr/bin/chromium'] },
  // The bench's load generator (npm run bench); not needed by the tests.
  { bin: 'wrk', pkg: 'wrk', paths: ['/usr/bin/wrk'], benchOnly: true },
];
const named = process.argv.slice(2);
const unknown = named.filter((name) => !known.some((k) => k.bin === name));
if (unknown.length > 0) {
  console.error(`ensure-test-binaries: unknown program ${unknown.join(', ')} (known: ${known.map((k) => k.bin).join(', ')})`);
  process.exit(2);
}
const needed = named.length > 0 ? known.filter((k) => named.includes(k.bin)) : known.filter((k) => !k.benchOnly);

function found({ bin, paths }) {
  if (paths.some((p) => existsSync(p))) return true;
  return spawnSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' }).status === 0;
}

const missing = needed.filter((n) => !found(n));
if (missing.length === 0) process.exit(0);

const pkgs = missing.map((m) => m.pkg);
const command = `apt-get update && apt-get install -y ${pkgs.join(' ')}`;
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const hasApt = spawnSync('sh', ['-c', 'command -v apt-get'], { stdio: 'ignore' }).status === 0;

if (!isRoot || !hasApt) {
  console.error(`${named.length > 0 ? 'This' : 'The test suite'} needs ${pkgs.join(', ')}, which ${pkgs.length === 1 ? 'is' : 'are'} not installed.`);
  console.error(`Install ${pkgs.length === 1 ? 'it' : 'them'} with:\n\n  sudo ${command}\n`);
  process.exit(1);
}

console.log(`Installing test dependencies: ${pkgs.join(' ')}`);
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
// Debian starts a packaged service (nginx, caddy, redis) as it installs it; the tests start their own
// on free ports and need no system-wide one. A policy-rc.d that answers 101 ("action forbidden")
// keeps every service from starting during the install, so nothing has to be stopped afterwards
// (this script never stops a process it did not start). Ours only if there was none; removed after.
const ownPolicy = blockServiceStarts();
try {
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...pkgs], { stdio: 'inherit', env });
} finally {
  if (ownPolicy) rmSync(POLICY_RC_D, { force: true });
}

/** True when it wrote POLICY_RC_D (or finds one it wrote before and was stopped from removing). */
function blockServiceStarts() {
  if (existsSync(POLICY_RC_D)) return readFileSync(POLICY_RC_D, 'utf8').includes(POLICY_MARK);
  writeFileSync(POLICY_RC_D, `#!/bin/sh\n# ${POLICY_MARK}: no service starts while test dependencies install.\nexit 101\n`, { mode: 0o755, flag: 'wx' });
  return true;
}
