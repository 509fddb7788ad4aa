// A real nginx in the foreground from a temp dir, running examples/nginx/postern.conf (+ snippets)
// with its addresses substituted, plus one extra server block: the "app", a static file.
import fs from 'node:fs';
import path from 'node:path';
import { readExampleTree } from './examples.mjs';
import { freePort, makeTempDir, removeTempDir, spawnTracked, stopChild, waitForPort, which } from './proc.mjs';

/** `authPort`: where `postern:9190` points (Postern or the floor). Returns { port, appPort, pid, stop }. */
export async function startNginx(authPort, label, { workers = 1 } = {}) {
  const bin = which('nginx');
  if (!bin) throw new Error('nginx is not installed (Debian: apt-get install nginx-light)');
  const dir = makeTempDir(`postern-bench-nginx-${label}-`);
  const port = await freePort();
  const appPort = await freePort();
  const files = readExampleTree('nginx', { postern: authPort, app: appPort, proxy: port });
  for (const [name, content] of Object.entries(files)) {
    if (name.endsWith('.yml')) continue;
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), content);
  }
  for (const sub of ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi', 'www']) fs.mkdirSync(path.join(dir, sub));
  fs.writeFileSync(path.join(dir, 'www', 'index.html'), 'ok\n');
  // nginx's workers drop to `nobody` when started as root: the static file must be readable by them.
  fs.chmodSync(dir, 0o755);
  fs.chmodSync(path.join(dir, 'www'), 0o755);
  fs.chmodSync(path.join(dir, 'www', 'index.html'), 0o644);
  const conf = `daemon off;
worker_processes ${workers};
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;

  # The example, as published (addresses substituted):
  include postern.conf;

  # The protected "app": a static file served by nginx itself.
  server {
    listen 127.0.0.1:${appPort};
    location / { root ${dir}/www; }
  }
}
`;
  fs.writeFileSync(path.join(dir, 'nginx.conf'), conf);
  const errorLog = path.join(dir, 'error.log');
  const child = spawnTracked(bin, ['-p', dir, '-c', path.join(dir, 'nginx.conf'), '-e', errorLog], { cwd: dir, logFile: path.join(dir, 'stdout.log') });
  await waitForPort(port, `nginx (${label})`, child, 10_000, errorLog);
  await waitForPort(appPort, `nginx static app (${label})`, child, 10_000, errorLog);
  return {
    port,
    appPort,
    pid: child.pid,
    dir,
    errorLog: () => (fs.existsSync(errorLog) ? fs.readFileSync(errorLog, 'utf8') : ''),
    async stop() {
      await stopChild(child, 'SIGQUIT');
      removeTempDir(dir);
    },
  };
}
