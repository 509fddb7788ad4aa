// Process and temp-dir bookkeeping for the benchmark: everything started here is stopped, and every
// temp dir removed, on a normal end, on an error, and on Ctrl-C / SIGTERM.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const children = new Set();
const tempDirs = new Set();
let hooksInstalled = false;

function findOnPath(name) {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
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

// With setpriv, the kernel kills a child when this process dies, even by SIGKILL (no hook runs then).
const setpriv = process.platform === 'linux' ? findOnPath('setpriv') : undefined;

function killAllNow() {
  for (const child of children) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  children.clear();
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}

/** Installs the exit and signal hooks once. `onSignal` runs the orderly shutdown before exiting. */
export function installHooks(onSignal) {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', killAllNow);
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

/**
 * Spawns a long-running process with stdout/stderr captured to `<logFile>` (a file, not a pipe: a
 * process that writes a lot can never block on us). Returns the ChildProcess with `.exited` (a
 * promise) and `.pid` of the program itself (setpriv execs it, so the pid is the same).
 */
export function spawnTracked(command, args, { cwd, env, logFile } = {}) {
  const out = logFile ? fs.openSync(logFile, 'a') : 'ignore';
  const [cmd, argv] = setpriv ? [setpriv, ['--pdeathsig', 'KILL', '--', command, ...args]] : [command, args];
  let child;
  try {
    child = spawn(cmd, argv, { cwd, env, stdio: ['ignore', out, out] });
  } finally {
    if (typeof out === 'number') fs.closeSync(out);
  }
  children.add(child);
  child.exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      children.delete(child);
      resolve({ code, signal });
    });
    child.once('error', (err) => {
      children.delete(child);
      resolve({ code: null, signal: null, error: err });
    });
  });
  return child;
}

export function isRunning(child) {
  return child.exitCode === null && child.signalCode === null;
}

/** Sends `signal`, waits for the exit, SIGKILL after `graceMs`. */
export async function stopChild(child, signal = 'SIGTERM', graceMs = 5000) {
  if (!isRunning(child)) return;
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await child.exited;
  clearTimeout(timer);
}

/** Stops every child still running and removes every temp dir. Safe to call more than once. */
export async function stopAll() {
  await Promise.all([...children].map((child) => stopChild(child)));
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}

/** A loopback port that was free a moment ago. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
      const { port } = server.address();
      server.close((err) => (err ? reject(err) : resolve(port)));
    });
  });
}

/** Resolves once 127.0.0.1:port accepts TCP; rejects when `child` exits first or at the deadline. */
export async function waitForPort(port, what, child, deadlineMs = 20_000, logFile) {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const ok = await new Promise((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    const tail = () => (logFile && fs.existsSync(logFile) ? `\n--- ${logFile} ---\n${fs.readFileSync(logFile, 'utf8').split('\n').slice(-30).join('\n')}` : '');
    if (child && !isRunning(child)) throw new Error(`${what} exited before listening on port ${port}${tail()}`);
    if (Date.now() > deadline) throw new Error(`${what} did not listen on port ${port} within ${deadlineMs} ms${tail()}`);
    await sleep(25);
  }
}

export function which(name) {
  return findOnPath(name) ?? (fs.existsSync(`/usr/sbin/${name}`) ? `/usr/sbin/${name}` : undefined);
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
