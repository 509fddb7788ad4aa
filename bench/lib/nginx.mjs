// nginx for the benchmark: test/support/nginx.js running examples/nginx/postern.conf (+ snippets)
// with its addresses substituted, plus one server block of its own: the "app", a static file.
import { readExampleTree } from '../../test/support/examples.js';
import { freePort } from '../../test/support/free-port.js';
import { startNginx as startSharedNginx } from '../../test/support/nginx.js';
import { waitForPort } from '../../test/support/tcp.js';

/** `authPort`: where `postern:9190` points (Postern or the floor). Returns { port, appPort, pid, dir, errorLog, stop }. */
export async function startNginx(authPort, label, { workers = 1 } = {}) {
  const port = await freePort();
  const appPort = await freePort();
  const files = Object.fromEntries(Object.entries(readExampleTree('nginx', { postern: authPort, app: appPort, proxy: port })).filter(([name]) => !name.endsWith('.yml')));
  files['www/index.html'] = 'ok\n';
  const httpBlock = `
  # The example, as published (addresses substituted):
  include postern.conf;

  # The protected "app": a static file served by nginx itself.
  server {
    listen 127.0.0.1:${appPort};
    location / { root www; }
  }
`;
  const nginx = await startSharedNginx(httpBlock, port, files, { workers, workerConnections: 4096 });
  await waitForPort(appPort, `nginx static app (${label})`, 10_000);
  return { ...nginx, appPort };
}
