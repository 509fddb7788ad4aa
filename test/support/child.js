// @ts-check
// Plain JavaScript with JSDoc types (checked by `npm run typecheck`): the tests and the benchmark
// (bench/*.mjs, run by Node 20 without a TypeScript loader) start their servers with this one module.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** @import { ChildProcess, SpawnOptions } from 'node:child_process' */

/** @type {Set<ChildProcess>} */
const running = new Set();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/**
 * The executable `name` on PATH, or undefined.
 * @param {string} name
 * @returns {string | undefined}
 */
export function findOnPath(name) {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir === '') continue;
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

// With setpriv (Linux), the kernel kills a child when the process that spawned it dies, even by
// SIGKILL, when no exit hook runs.
const setpriv = process.platform === 'linux' ? findOnPath('setpriv') : undefined;

/**
 * @typedef {SpawnOptions & {
 *   logFile?: string,
 *   dieWithParent?: boolean,
 * }} TrackedSpawnOptions
 * `logFile`: stdout and stderr appended to this file instead of pipes (a process that writes a lot
 * never blocks on a reader). `dieWithParent`: run under `setpriv --pdeathsig KILL` where there is one
 * (the pid stays the program's own: setpriv execs it).
 */

/**
 * Spawns a server process that is killed when this process exits, whatever happened.
 * @param {string} command
 * @param {readonly string[]} args
 * @param {TrackedSpawnOptions} [options]
 * @returns {ChildProcess}
 */
export function spawnTracked(command, args, options = {}) {
  const { logFile, dieWithParent, ...spawnOptions } = options;
  const out = logFile === undefined ? undefined : fs.openSync(logFile, 'a');
  const [cmd, argv] = dieWithParent && setpriv ? [setpriv, ['--pdeathsig', 'KILL', '--', command, ...args]] : [command, [...args]];
  let child;
  try {
    child = spawn(cmd, argv, { stdio: out === undefined ? ['ignore', 'pipe', 'pipe'] : ['ignore', out, out], ...spawnOptions });
  } finally {
    if (out !== undefined) fs.closeSync(out);
  }
  running.add(child);
  child.once('exit', () => running.delete(child));
  child.once('error', () => running.delete(child));
  return child;
}

/**
 * @param {ChildProcess} child
 * @returns {boolean}
 */
export function isRunning(child) {
  return child.exitCode === null && child.signalCode === null;
}

/**
 * Sends a signal and waits for the exit (SIGKILL after a grace period).
 * @param {ChildProcess} child
 * @param {NodeJS.Signals} [signal]
 * @param {number} [graceMs]
 * @returns {Promise<void>}
 */
export async function stopChild(child, signal = 'SIGTERM', graceMs = 5000) {
  if (!isRunning(child)) return;
  /** @type {Promise<void>} */
  const exited = new Promise((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/**
 * Stops every process spawnTracked() started that is still running.
 * @returns {Promise<void>}
 */
export async function stopAllChildren() {
  await Promise.all([...running].map((child) => stopChild(child)));
}
