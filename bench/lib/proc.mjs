// The benchmark's process bookkeeping, on top of the harness it shares with the tests
// (test/support/child.js, tcp.js): temp dirs, an orderly stop on Ctrl-C / SIGTERM, and servers whose
// output goes to a log file that is quoted when they fail to start.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isRunning, spawnTracked, stopAllChildren } from '../../test/support/child.js';
import { waitForPort } from '../../test/support/tcp.js';

const tempDirs = new Set();
let hooksInstalled = false;

function removeAllTempDirs() {
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}

/** Installs the exit and signal hooks once. `onSignal` runs the orderly shutdown before exiting. */
export function installHooks(onSignal) {
  if (hooksInstalled) return;
  hooksInstalled = true;
  // Children are killed by test/support/child.js's own exit hook (and by the kernel: setpriv).
  process.on('exit', removeAllTempDirs);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.once(signal, () => {
      process.stderr.write(`\nbench: ${signal}, stopping everything it started…\n`);
      const hardStop = setTimeout(() => process.exit(130), 8000);
      hardStop.unref();
      Promise.resolve(onSignal?.())
        .catch(() => undefined)
        .finally(() => stopAll().finally(() => process.exit(130)));
    });
  }
}

export function makeTempDir(prefix) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

export function removeTempDir(dir) {
  fs.rmSync(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}

/** A long-running server with stdout/stderr in `logFile`, killed with the bench even by SIGKILL (setpriv). */
export function spawnLogged(command, args, { cwd, env, logFile }) {
  return spawnTracked(command, args, { cwd, env, logFile, dieWithParent: true });
}

/** Resolves once `child` listens on 127.0.0.1:port; the error quotes the end of its log. */
export function waitForChild(port, what, child, deadlineMs, logFile) {
  const tail = () => (fs.existsSync(logFile) ? `\n--- ${logFile} ---\n${fs.readFileSync(logFile, 'utf8').split('\n').slice(-30).join('\n')}` : '');
  return waitForPort(port, what, deadlineMs, () => isRunning(child), tail);
}

/** Stops every child still running and removes every temp dir. Safe to call more than once. */
export async function stopAll() {
  await stopAllChildren();
  removeAllTempDirs();
}

/**
 * Runs a bench script's `main`, stops everything it started, and exits: 0 when it ran, 1 (with the
 * error) when it could not.
 */
export async function runScript(name, main) {
  try {
    await main();
    await stopAll();
    process.exit(0);
  } catch (err) {
    process.stderr.write(`\n${name} could not run: ${err?.stack ?? err}\n`);
    await stopAll();
    process.exit(1);
  }
}
