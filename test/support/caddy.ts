import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnTracked, stopChild } from './child.js';
import { waitForPort } from './tcp.js';

export const CADDY_BIN = '/usr/bin/caddy';

export interface CaddyProcess {
  readonly port: number;
  /** Caddy's temp dir: its data (the local CA of `local_certs` under data/caddy/pki) and config. */
  readonly dir: string;
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
    dir,
    output: () => output,
    async stop() {
      await stopChild(child, 'SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** `caddy adapt` of a Caddyfile: the JSON config Caddy would run, or the adapter's error. */
export function adaptCaddyfile(caddyfile: string): { ok: true; json: unknown } | { ok: false; output: string } {
  const dir = mkdtempSync(join(tmpdir(), 'postern-caddy-adapt-'));
  try {
    writeFileSync(join(dir, 'Caddyfile'), caddyfile);
    const run = spawnSync(CADDY_BIN, ['adapt', '--config', join(dir, 'Caddyfile'), '--adapter', 'caddyfile'], {
      cwd: dir,
      encoding: 'utf8',
      env: { PATH: process.env.PATH, HOME: dir, XDG_DATA_HOME: join(dir, 'data'), XDG_CONFIG_HOME: join(dir, 'config') },
    });
    return run.status === 0 ? { ok: true, json: JSON.parse(run.stdout) as unknown } : { ok: false, output: `${run.stdout}${run.stderr}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
