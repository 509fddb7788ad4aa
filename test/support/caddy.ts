import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnTracked, stopChild } from './child.js';
import { waitForPort } from './tcp.js';

export const CADDY_BIN = '/usr/bin/caddy';

export interface CaddyProcess {
  readonly port: number;
  output(): string;
  stop(): Promise<void>;
}

/** Runs a real Caddy in the foreground with the given Caddyfile; its data and config dirs live in a temp dir. */
export async function startCaddy(caddyfile: string, port: number): Promise<CaddyProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'postern-caddy-'));
  writeFileSync(join(dir, 'Caddyfile'), caddyfile);
  const child = spawnTracked(CADDY_BIN, ['run', '--config', join(dir, 'Caddyfile'), '--adapter', 'caddyfile'], {
    cwd: dir,
    env: { PATH: process.env.PATH, HOME: dir, XDG_DATA_HOME: join(dir, 'data'), XDG_CONFIG_HOME: join(dir, 'config') },
  });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  try {
    await waitForPort(port, 'caddy', 15_000, () => child.exitCode === null);
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${output}`);
  }
  return {
    port,
    output: () => output,
    async stop() {
      await stopChild(child, 'SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
