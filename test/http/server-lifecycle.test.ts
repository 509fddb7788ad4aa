import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { closeConnectionsWhile, drain, listen } from '../../src/http/server-lifecycle.js';

/**
 * The listener's start and end, on real sockets: a bind failure explained in one line, the drain that
 * lets requests in flight finish, and `Connection: close` while shutting down.
 */

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
});

/** A server whose handler waits `delayMs` (or forever, for -1) before answering 200 'done'. */
function slowListener(delayMs: number) {
  return (_req: IncomingMessage, res: ServerResponse) => {
    if (delayMs < 0) return;
    setTimeout(() => res.end('done'), delayMs);
  };
}

function slowServer(delayMs: number, wrap = (listener: ReturnType<typeof slowListener>) => listener): Server {
  const server = createServer(wrap(slowListener(delayMs)));
  servers.push(server);
  return server;
}

function get(port: number): Promise<{ status: number; connection: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/', agent: false, headers: { connection: 'keep-alive' } }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const portOf = (server: Server) => (server.address() as AddressInfo).port;

describe('listen', () => {
  it('a port in use: one line with the address, what to do, and the original error as cause', async () => {
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const port = (holder.address() as AddressInfo).port;
    try {
      const error = await listen(slowServer(0), port, '127.0.0.1').then(
        () => undefined,
        (err: Error) => err,
      );
      expect(error?.message).toBe(
        `cannot listen on 127.0.0.1:${port}: the port is already in use by another process; stop that process, or set server.port (POSTERN_SERVER_PORT) to a free port`,
      );
      expect((error?.cause as NodeJS.ErrnoException).code).toBe('EADDRINUSE');
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
  });

  it('an address this machine does not have: says to set server.address', async () => {
    // 192.0.2.1 is TEST-NET-1: never an address of a test machine.
    await expect(listen(slowServer(0), 0, '192.0.2.1')).rejects.toThrow(
      'cannot listen on 192.0.2.1:0: 192.0.2.1 is not an address of this machine; set server.address to one of its addresses, or 0.0.0.0',
    );
  });

  it('binds and resolves when the port is free', async () => {
    const server = slowServer(0);
    await listen(server, 0, '127.0.0.1');
    expect((await get(portOf(server))).status).toBe(200);
  });
});

describe('drain', () => {
  it('lets a request in flight finish, refuses new connections, and resolves true', async () => {
    const server = slowServer(300);
    await listen(server, 0, '127.0.0.1');
    const port = portOf(server);
    const inFlight = get(port);
    await sleep(50);
    const drained = drain(server, 5000);
    await sleep(20);
    await expect(get(port)).rejects.toThrow(/ECONNREFUSED/);
    expect(await inFlight).toMatchObject({ status: 200, body: 'done' });
    expect(await drained).toBe(true);
  });

  it('cuts a request still running after the drain time and resolves false', async () => {
    const server = slowServer(-1);
    await listen(server, 0, '127.0.0.1');
    const stuck = get(portOf(server)).then(
      () => 'answered',
      () => 'cut',
    );
    await sleep(50);
    const started = performance.now();
    expect(await drain(server, 200)).toBe(false);
    expect(performance.now() - started).toBeGreaterThanOrEqual(150);
    expect(await stuck).toBe('cut');
  });
});

describe('closeConnectionsWhile', () => {
  it('adds Connection: close to every response while the condition holds, and only then', async () => {
    let shuttingDown = false;
    const server = slowServer(0, (listener) => closeConnectionsWhile(listener, () => shuttingDown));
    await listen(server, 0, '127.0.0.1');
    expect((await get(portOf(server))).connection).toBe('keep-alive');
    shuttingDown = true;
    expect((await get(portOf(server))).connection).toBe('close');
  });
});
