import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { spawnTracked, stopChild } from './child.js';
import { waitForPort } from './tcp.js';

export interface NginxProcess {
  readonly port: number;
  readonly dir: string;
  errorLog(): string;
  stop(): Promise<void>;
}

export const NGINX_BIN = '/usr/sbin/nginx';

/**
 * Runs a real nginx in the foreground from a temp dir. `httpBlock` is what goes inside `http { }`
 * (an example file with its hosts and ports substituted); `files` are written beside nginx.conf (the
 * example's snippets). The harness adds only what a packaged nginx.conf has: pid, logs and temp paths.
 */
export async function startNginx(httpBlock: string, port: number, files: Readonly<Record<string, string>> = {}): Promise<NginxProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'postern-nginx-'));
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), content);
  }
  for (const sub of ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(dir, sub));
  const conf = `daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
${httpBlock}
}
`;
  writeFileSync(join(dir, 'nginx.conf'), conf);
  const child = spawnTracked(NGINX_BIN, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')]);
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const errorLog = () => {
    try {
      return readFileSync(join(dir, 'error.log'), 'utf8');
    } catch {
      return '';
    }
  };
  try {
    await waitForPort(port, 'nginx', 10_000, () => child.exitCode === null);
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${stderr}\n${errorLog()}`);
  }
  return {
    port,
    dir,
    errorLog,
    async stop() {
      await stopChild(child, 'SIGQUIT');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
