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
  cleanup(): Promise<void>;
}

/**
 * Runs the built CLI (`dist/cli/main.js serve`) as a user would, with `config` written to
 * `<dir>/postern.yml`. The port is chosen here and passed as POSTERN_SERVER_PORT.
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
      env: { PATH: process.env.PATH, ...opts.env, POSTERN_SERVER_PORT: String(port), POSTERN_SERVER_ADDRESS: '127.0.0.1' },
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
    async cleanup() {
      if (child) await stopChild(child);
      if (!opts.dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}
