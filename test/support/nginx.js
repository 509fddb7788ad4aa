// @ts-check
// A real nginx for the tests and the benchmark (plain JavaScript, JSDoc types: see child.js).
import { chmodSync, mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { spawnTracked, stopChild } from './child.js';
import { waitForPort } from './tcp.js';

/**
 * @typedef {object} NginxProcess
 * @property {number} port
 * @property {string} dir
 * @property {number | undefined} pid The master process (its workers are its children).
 * @property {() => string} errorLog
 * @property {() => Promise<void>} stop
 */

/**
 * @typedef {object} NginxOptions
 * @property {number | 'auto'} [workers] `worker_processes`; 1 unless said (the benchmark also runs `auto`, as packaged nginx.conf files have it).
 * @property {number} [workerConnections] Default 1024.
 */

export const NGINX_BIN = '/usr/sbin/nginx';

/**
 * Runs a real nginx in the foreground from a temp dir. `httpBlock` is what goes inside `http { }`
 * (an example file with its hosts and ports substituted); `files` are written beside nginx.conf (the
 * example's snippets, a static file). The harness adds only what a packaged nginx.conf has: pid, logs
 * and temp paths.
 * @param {string} httpBlock
 * @param {number} port
 * @param {Readonly<Record<string, string>>} [files]
 * @param {NginxOptions} [opts]
 * @returns {Promise<NginxProcess>}
 */
export async function startNginx(httpBlock, port, files = {}, opts = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'postern-nginx-'));
  // Workers drop to `nobody` when nginx runs as root: what they serve must be readable by them.
  chmodSync(dir, 0o755);
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true, mode: 0o755 });
    writeFileSync(join(dir, name), content, { mode: 0o644 });
  }
  for (const sub of ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(dir, sub));
  const conf = `daemon off;
worker_processes ${opts.workers ?? 1};
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections ${opts.workerConnections ?? 1024}; }
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
  child.stderr?.on('data', (/** @type {Buffer} */ d) => (stderr += d.toString()));
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
    await stopChild(child, 'SIGQUIT');
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`${/** @type {Error} */ (err).message}\n${stderr}\n${errorLog()}`);
  }
  return {
    port,
    dir,
    pid: child.pid,
    errorLog,
    async stop() {
      await stopChild(child, 'SIGQUIT');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
