// @ts-check
// A real redis-server for the tests and the benchmark (plain JavaScript, JSDoc types: see child.js).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { findOnPath } from './child.js';
import { freePort } from './free-port.js';

/** @import { ChildProcess } from 'node:child_process' */

/**
 * A real redis-server owned by one test file, on its own loopback port and temp dir.
 * @typedef {object} RedisProcess
 * @property {number} port
 * @property {string} url `redis://127.0.0.1:<port>/0`
 * @property {number | undefined} pid The running process's id (CPU accounting); undefined when stopped.
 * @property {() => Promise<void>} stop SIGTERM, then resolves once the process has exited. The port stays this object's.
 * @property {() => Promise<void>} start Starts again on the same port after stop(), to test recovery from an outage.
 * @property {() => void} pause SIGSTOP: the port stays open but nothing answers (a stalled or half-dead Redis).
 * @property {() => void} resume SIGCONT after pause().
 * @property {() => Promise<void>} kill SIGKILL, then resolves once the process has exited: a crash, with no shutdown work.
 * @property {string} dir This server's temp dir (its log, and sentinel.conf for a Sentinel).
 */

/**
 * @typedef {object} RedisStartOptions
 * @property {(dir: string) => string[]} [args] More redis-server arguments, given this server's temp dir: `--replicaof`, TLS files...
 * @property {string} [sentinelConf] Runs a Sentinel (`redis-server sentinel.conf --sentinel`) with this
 *   sentinel.conf text; the port, bind address and log file are added here. Ready once it logs `+monitor`.
 */

const START_DEADLINE_MS = 10_000;
const STOP_GRACE_MS = 5_000;
const LOG_TAIL_LINES = 20;

// Whatever happens to the test (failed hook, thrown error, forgotten stop()), no
// redis-server outlives the worker process and no temp dir is left behind.
/** @type {Set<ChildProcess>} */
const liveChildren = new Set();
/** @type {Set<string>} */
const tempDirs = new Set();
let exitHooksInstalled = false;

function killAllAndCleanUp() {
  for (const child of liveChildren) child.kill('SIGKILL');
  liveChildren.clear();
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}

function installExitHooks() {
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  process.on('exit', killAllAndCleanUp);
  // Vitest 4 ends its fork workers with SIGTERM (then SIGKILL), and a signal's default
  // action skips 'exit' listeners. Clean up, then let the signal do what it would have
  // done, unless someone else handles it.
  for (const signal of /** @type {const} */ (['SIGTERM', 'SIGINT', 'SIGHUP'])) {
    process.once(signal, () => {
      killAllAndCleanUp();
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    });
  }
}

// SIGKILL of the worker runs no hook at all: on Linux, setpriv makes the kernel kill
// redis-server when the process that spawned it dies.
const setpriv = process.platform === 'linux' ? findOnPath('setpriv') : undefined;

/**
 * Starts redis-server (from PATH) on a free loopback port, without persistence, and
 * resolves once it answers PING. Never the machine's own Redis on 6379.
 * @param {RedisStartOptions} [opts]
 * @returns {Promise<RedisProcess>}
 */
export async function startRedis(opts = {}) {
  installExitHooks();
  // freePort() only says the port was free a moment ago: retry when another process wins it.
  for (let attempt = 1; ; attempt++) {
    const server = new RedisServer(await freePort(), opts);
    try {
      await server.start();
      return server;
    } catch (err) {
      if (attempt >= 3 || !server.lostPortRace()) throw err;
    }
  }
}

/** @implements {RedisProcess} */
class RedisServer {
  /** @type {string} */
  url;
  /** @type {string} */
  #dir;
  /** @type {RedisStartOptions} */
  #opts;
  /** @type {ChildProcess | undefined} */
  #child;
  /** @type {Promise<void>} */
  #exited = Promise.resolve();

  /**
   * @param {number} port
   * @param {RedisStartOptions} [opts]
   */
  constructor(port, opts = {}) {
    /** @type {number} */
    this.port = port;
    this.url = `redis://127.0.0.1:${port}/0`;
    this.#dir = fs.mkdtempSync(path.join(os.tmpdir(), 'postern-redis-'));
    this.#opts = opts;
    tempDirs.add(this.#dir);
  }

  get dir() {
    return this.#dir;
  }

  get pid() {
    return this.#child?.pid;
  }

  async start() {
    if (this.#child) throw new Error(`redis-server on port ${this.port} is already running`);
    const sentinel = this.#opts.sentinelConf !== undefined;
    const confFile = path.join(this.#dir, 'sentinel.conf');
    // Sentinel rewrites its file as it learns the group: write it once, keep it across restarts.
    if (sentinel && !fs.existsSync(confFile)) fs.writeFileSync(confFile, /** @type {string} */ (this.#opts.sentinelConf));
    const args = [
      ...(sentinel ? [confFile, '--sentinel'] : []),
      '--port', String(this.port),
      '--bind', '127.0.0.1',
      ...(sentinel ? [] : ['--save', '', '--appendonly', 'no']),
      '--dir', this.#dir,
      '--daemonize', 'no',
      '--logfile', path.join(this.#dir, 'redis.log'),
      ...(this.#opts.args?.(this.#dir) ?? []),
    ];
    const readyLine = sentinel ? '+monitor master' : 'Ready to accept connections';
    // stdout/stderr go to a file, not a pipe: a pipe would keep the worker alive and
    // catches only what redis says before it opens its logfile (bad arguments).
    const logStart = this.#logSize('redis.log');
    const outFd = fs.openSync(path.join(this.#dir, 'stdout.log'), 'a');
    /** @type {ChildProcess} */
    let child;
    try {
      const [command, argv] = setpriv
        ? [setpriv, ['--pdeathsig', 'KILL', '--', 'redis-server', ...args]]
        : ['redis-server', args];
      child = spawn(command, argv, { cwd: this.#dir, stdio: ['ignore', outFd, outFd] });
    } finally {
      fs.closeSync(outFd);
    }
    this.#child = child;
    liveChildren.add(child);
    // The exit hook kills it if the test never calls stop(); don't let it hold the worker open.
    child.unref();

    /** @type {string | undefined} */
    let exitReason;
    /** @type {Promise<void>} */
    this.#exited = new Promise((resolve) => {
      /** @param {string} reason */
      const done = (reason) => {
        exitReason ??= reason;
        liveChildren.delete(child);
        if (this.#child === child) this.#child = undefined;
        resolve();
      };
      child.once('exit', (code, signal) => done(`exited with ${signal ?? `code ${code}`}`));
      child.once('error', (err) => done(`could not be spawned: ${err.message}`));
    });

    const deadline = performance.now() + START_DEADLINE_MS;
    let lastProblem = 'no answer yet';
    for (;;) {
      if (exitReason !== undefined) {
        lastProblem = exitReason;
        break;
      }
      const answer = await pingOnce(this.port, 500);
      // With `requirepass`, NOAUTH is the answer of a server that is up.
      const answered = answer === '+PONG' || answer.startsWith('-NOAUTH');
      // A PONG alone could come from another server that won the port; ours says it is
      // ready in its own log (only the lines this start wrote count).
      if (answered && this.#readLog('redis.log', logStart).includes(readyLine)) return;
      lastProblem = answered ? `${answer}, but not from this redis-server` : answer;
      if (performance.now() >= deadline) {
        lastProblem = `no PONG within ${START_DEADLINE_MS} ms (last: ${answer})`;
        break;
      }
      await sleep(20);
    }
    await this.stop();
    throw new Error(
      `redis-server on 127.0.0.1:${this.port} did not start: ${lastProblem}\n` +
        `--- log tail (${this.#dir}) ---\n${this.#logTail()}`,
    );
  }

  pause() {
    this.#signal('SIGSTOP');
  }

  resume() {
    this.#signal('SIGCONT');
  }

  async kill() {
    const child = this.#child;
    if (!child) return;
    child.ref();
    child.kill('SIGKILL');
    await this.#exited;
  }

  async stop() {
    const child = this.#child;
    if (!child) return;
    // Awaiting a promise does not keep Node alive; the child handle must while we wait for it.
    child.ref();
    child.kill('SIGCONT'); // a paused redis-server would not act on SIGTERM
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
    try {
      await this.#exited;
    } finally {
      clearTimeout(killer);
    }
  }

  /** @param {NodeJS.Signals} signal */
  #signal(signal) {
    if (!this.#child) throw new Error(`redis-server on port ${this.port} is not running`);
    this.#child.kill(signal);
  }

  /** True when the last start failed because another process holds the port. */
  lostPortRace() {
    return this.#logTail().includes('Address already in use');
  }

  /** @param {string} name */
  #logSize(name) {
    try {
      return fs.statSync(path.join(this.#dir, name)).size;
    } catch {
      return 0;
    }
  }

  /**
   * The log from byte `from` on; '' when there is none yet.
   * @param {string} name
   */
  #readLog(name, from = 0) {
    try {
      return fs.readFileSync(path.join(this.#dir, name)).subarray(from).toString('utf8');
    } catch {
      return '';
    }
  }

  #logTail() {
    /** @type {string[]} */
    const parts = [];
    for (const name of ['stdout.log', 'redis.log']) {
      const text = this.#readLog(name);
      const lines = text.trimEnd().split('\n');
      if (lines.length === 1 && lines[0] === '') continue;
      parts.push(`[${name}]`, ...lines.slice(-LOG_TAIL_LINES));
    }
    return parts.length > 0 ? parts.join('\n') : '(empty)';
  }
}

/**
 * One raw RESP PING: '+PONG', the server's other answer, or why there was none.
 * @param {number} port
 * @param {number} timeoutMs
 * @returns {Promise<string>}
 */
async function pingOnce(port, timeoutMs) {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let buffered = '';
    /** @param {string} answer */
    const finish = (answer) => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(timeoutMs, () => finish(`no reply within ${timeoutMs} ms`));
    socket.once('error', (err) => finish(err.message));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      buffered += chunk.toString('latin1');
      const end = buffered.indexOf('\r\n');
      if (end !== -1) finish(buffered.slice(0, end));
    });
    socket.once('close', () => finish('connection closed'));
  });
}
