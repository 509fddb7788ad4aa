import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { spawnTracked, stopChild } from './child.js';
import { freePort } from './free-port.js';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ChildProcess } from 'node:child_process';

export const CLI = resolve(import.meta.dirname, '../../dist/cli/main.js');

export interface PosternProcess {
  readonly port: number;
  readonly dir: string;
  readonly configFile: string;
  /** The running process's id (to read /proc/<pid>/status); undefined once it has exited. */
  readonly pid: number | undefined;
  /** Every line written to stdout and stderr so far. */
  readonly output: string[];
  /** stdout lines that are pino JSON, parsed. */
  logLines(): Array<Record<string, unknown>>;
  stop(): Promise<void>;
  /** Starts again on the same port with the same files. */
  start(): Promise<void>;
  /** Sends `signal` to the running process (SIGTERM: a graceful shutdown). */
  kill(signal: NodeJS.Signals): void;
  /** Resolves when the running process has exited, with its exit code or the signal that ended it. */
  exited(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  cleanup(): Promise<void>;
}

/**
 * Runs the built CLI (`dist/cli/main.js serve`) as a user would, with `config` written to
 * `<dir>/postern.yml`. The port is chosen here and passed as POSTERN_SERVER_PORT.
 * `server.shutdown_grace` is 0 unless `env` sets POSTERN_SERVER_SHUTDOWN_GRACE: stop() then ends the
 * process at once instead of waiting out the 5 s a load balancer gets in production.
 */
export async function startPostern(config: string, opts: { env?: NodeJS.ProcessEnv; dir?: string; port?: number } = {}): Promise<PosternProcess> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'postern-'));
  const configFile = join(dir, 'postern.yml');
  writeFileSync(configFile, config);
  const port = opts.port ?? (await freePort());
  const output: string[] = [];
  let child: ChildProcess | undefined;

  async function start(): Promise<void> {
    const proc = spawnTracked(process.execPath, [CLI, 'serve', '--config', configFile], {
      cwd: dir,
      env: { PATH: process.env.PATH, POSTERN_SERVER_SHUTDOWN_GRACE: '0', ...opts.env, POSTERN_SERVER_PORT: String(port), POSTERN_SERVER_ADDRESS: '127.0.0.1' },
    });
    child = proc;
    output.push(`--- start ${new Date().toISOString()}`);
    let partial = '';
    const collect = (d: Buffer) => {
      partial += d.toString();
      const lines = partial.split('\n');
      partial = lines.pop() ?? '';
      output.push(...lines);
    };
    proc.stdout?.on('data', collect);
    proc.stderr?.on('data', collect);
    const deadline = Date.now() + 20_000;
    const from = output.length;
    while (!output.slice(from).some((l) => l.includes('"event":"listening"'))) {
      if (proc.exitCode !== null) throw new Error(`postern exited with ${proc.exitCode}:\n${output.join('\n')}`);
      if (Date.now() > deadline) throw new Error(`postern did not start within 20 s:\n${output.join('\n')}`);
      await sleep(25);
    }
  }

  await start();
  return {
    get pid() {
      return child && child.exitCode === null && child.signalCode === null ? child.pid : undefined;
    },
    port,
    dir,
    configFile,
    output,
    logLines: () =>
      output.flatMap((l) => {
        if (!l.startsWith('{')) return [];
        try {
          return [JSON.parse(l) as Record<string, unknown>];
        } catch {
          return [];
        }
      }),
    async stop() {
      if (child) await stopChild(child);
    },
    start,
    kill(signal) {
      child?.kill(signal);
    },
    exited() {
      const proc = child;
      if (!proc) throw new Error('postern was never started');
      if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve({ code: proc.exitCode, signal: proc.signalCode });
      return new Promise((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
    },
    async cleanup() {
      if (child) await stopChild(child);
      if (!opts.dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface ExitedProcess {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** From spawn to exit. */
  readonly ms: number;
  /** From the first output on stderr (the reason it gives) to exit; undefined when it wrote none. */
  readonly msAfterStderr: number | undefined;
}

/**
 * Runs the built CLI with `args` (only PATH and `env` in its environment) and waits for it to exit.
 * Killed, and the promise rejected, if it is still running after `timeoutMs`: a process that should
 * have exited and did not is the failure being tested for.
 */
export function runToExit(args: readonly string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<ExitedProcess> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const started = performance.now();
  return new Promise((resolvePromise, reject) => {
    const child = spawnTracked(process.execPath, [CLI, ...args], { cwd: opts.cwd, env: { PATH: process.env.PATH, ...opts.env } });
    let stdout = '';
    let stderr = '';
    let stderrAt: number | undefined;
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => {
      stderrAt ??= performance.now();
      stderr += d.toString();
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`postern ${args.join(' ')} was still running after ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const now = performance.now();
      resolvePromise({ code, signal, stdout, stderr, ms: now - started, msAfterStderr: stderrAt === undefined ? undefined : now - stderrAt });
    });
  });
}
