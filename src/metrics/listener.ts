import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Logger } from '../log/logger.js';

export interface MetricsListener {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * `GET /metrics` in the Prometheus text format, on its own node:http server and port
 * (`metrics.address`, `metrics.port`), so the proxy in front of Postern never reaches it.
 * Anything else on this port is 404; another method on /metrics is 405.
 */
export async function startMetricsListener(registry: Registry, at: { address: string; port: number }, logger: Logger): Promise<MetricsListener> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '').split('?', 1)[0];
    if (path !== '/metrics') {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' }).end('Not found: the metrics are at /metrics.\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', 'Cache-Control': 'no-store' }).end();
      return;
    }
    registry.metrics().then(
      (text) => {
        res.writeHead(200, { 'Content-Type': registry.contentType, 'Cache-Control': 'no-store' });
        res.end(req.method === 'HEAD' ? undefined : text);
      },
      (err: unknown) => {
        logger.error({ reason: (err as Error).message }, 'could not collect the metrics');
        res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' }).end('Postern could not collect its metrics; the reason is in its log.\n');
      },
    );
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(new Error(`metrics.port: cannot listen on ${at.address}:${at.port} (${err.code ?? err.message}). Choose another metrics.port or metrics.address.`)),
    );
    server.listen(at.port, at.address, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  logger.info({ event: 'metrics.listening', address: at.address, port }, `metrics are served at http://${at.address.includes(':') ? `[${at.address}]` : at.address}:${port}/metrics`);
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
