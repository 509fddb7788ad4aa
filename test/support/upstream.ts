import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { acceptKey, encodeTextFrame, TextFrameReader } from './websocket.js';

export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
}

export interface Upstream {
  readonly port: number;
  /** Every request that reached the app, in order. */
  readonly seen: SeenRequest[];
  close(): Promise<void>;
}

function shownUser(headers: IncomingHttpHeaders): string {
  const user = headers['remote-user'];
  return typeof user === 'string' && user ? user : 'anonymous';
}

/**
 * The protected app: records what reached it and shows the identity headers it received.
 * A WebSocket upgrade (`GET` + `Upgrade: websocket`) is recorded the same way and answered with 101;
 * the app then says `hello <Remote-User>` and answers each text message with `echo: <message>`.
 */
export async function startUpstream(): Promise<Upstream> {
  const seen: SeenRequest[] = [];
  // Upgraded sockets leave the HTTP server's hands: closed here with it.
  const upgraded = new Set<Duplex>();
  const server: Server = createServer((req, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    req.resume();
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(`<!doctype html><title>app</title><h1>Hello ${shownUser(req.headers)}</h1>`);
  });
  server.on('upgrade', (req, socket, head) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    const key = req.headers['sec-websocket-key'];
    if (req.headers.upgrade?.toLowerCase() !== 'websocket' || typeof key !== 'string') {
      socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptKey(key)}\r\n\r\n`);
    socket.write(encodeTextFrame(`hello ${shownUser(req.headers)}`, false));
    new TextFrameReader(socket, head, (text) => socket.write(encodeTextFrame(`echo: ${text}`, false)));
    upgraded.add(socket);
    socket.on('close', () => upgraded.delete(socket));
    socket.on('error', () => socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        for (const socket of upgraded) socket.destroy();
      }),
  };
}
