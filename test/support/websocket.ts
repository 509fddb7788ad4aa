/**
 * Just enough RFC 6455 for the examples' WebSocket tests, on node:http and node:net alone: the
 * opening handshake (§4) and single-frame text messages (§5.2, payloads under 64 KiB), masked from
 * the client and unmasked from the server. No extensions, fragmentation, ping/pong or close handshake.
 */
import { createHash, randomBytes } from 'node:crypto';
import { request, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** §4.2.2: the Sec-WebSocket-Accept a server answers to a client's Sec-WebSocket-Key. */
export function acceptKey(key: string): string {
  return createHash('sha1').update(key + GUID).digest('base64');
}

/** One final text frame; clients must mask (§5.3), servers must not. */
export function encodeTextFrame(text: string, masked: boolean): Buffer {
  const payload = Buffer.from(text, 'utf8');
  if (payload.length >= 65_536) throw new Error('the test WebSocket sends frames under 64 KiB only');
  const length = payload.length < 126 ? Buffer.from([payload.length]) : Buffer.from([126, payload.length >> 8, payload.length & 0xff]);
  length[0]! |= masked ? 0x80 : 0;
  if (!masked) return Buffer.concat([Buffer.from([0x81]), length, payload]);
  const mask = randomBytes(4);
  return Buffer.concat([Buffer.from([0x81]), length, mask, payload.map((b, i) => b ^ mask[i % 4]!)]);
}

/** Reads text frames off a socket as they complete, masked or not. */
export class TextFrameReader {
  private buffer = Buffer.alloc(0);
  private readonly waiting: Array<(text: string) => void> = [];
  private readonly ready: string[] = [];

  /** With `onText`, every message goes there as it completes; otherwise `next()` hands them out. */
  constructor(
    socket: Duplex,
    head: Buffer = Buffer.alloc(0),
    private readonly onText?: (text: string) => void,
  ) {
    socket.on('data', (chunk: Buffer) => this.push(chunk));
    if (head.length > 0) this.push(head);
  }

  /** The next text message, or a rejection after `timeoutMs`. */
  next(timeoutMs = 5_000): Promise<string> {
    const ready = this.ready.shift();
    if (ready !== undefined) return Promise.resolve(ready);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no WebSocket frame within ${timeoutMs} ms`)), timeoutMs);
      this.waiting.push((text) => {
        clearTimeout(timer);
        resolve(text);
      });
    });
  }

  private push(chunk: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    for (;;) {
      if (this.buffer.length < 2) return;
      const opcode = this.buffer[0]! & 0x0f;
      const masked = (this.buffer[1]! & 0x80) !== 0;
      let length = this.buffer[1]! & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (this.buffer.length < 4) return;
        length = this.buffer.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) throw new Error('the test WebSocket reads frames under 64 KiB only');
      const maskAt = offset;
      if (masked) offset += 4;
      if (this.buffer.length < offset + length) return;
      const payload = Buffer.from(this.buffer.subarray(offset, offset + length));
      if (masked) for (let i = 0; i < payload.length; i++) payload[i]! ^= this.buffer[maskAt + (i % 4)]!;
      this.buffer = this.buffer.subarray(offset + length);
      if (opcode !== 1) continue;
      const text = payload.toString('utf8');
      if (this.onText) {
        this.onText(text);
        continue;
      }
      const waiter = this.waiting.shift();
      if (waiter) waiter(text);
      else this.ready.push(text);
    }
  }
}

export type WebSocketAttempt =
  | {
      readonly kind: 'open';
      readonly status: 101;
      readonly headers: IncomingHttpHeaders;
      send(text: string): void;
      receive(timeoutMs?: number): Promise<string>;
      close(): void;
    }
  | { readonly kind: 'refused'; readonly status: number; readonly headers: IncomingHttpHeaders; readonly body: string };

/**
 * Opens a WebSocket as a browser would: `GET` with `Connection: Upgrade`, `Upgrade: websocket`, a
 * fresh key and version 13, to `127.0.0.1:port` with `Host` from `url`. A 101 is checked (its
 * Sec-WebSocket-Accept must answer the key); anything else comes back as `refused` with its body.
 */
export function openWebSocket(port: number, url: string, headers: Record<string, string> = {}): Promise<WebSocketAttempt> {
  const target = new URL(url);
  const key = randomBytes(16).toString('base64');
  return new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1',
      port,
      path: target.pathname + target.search,
      headers: {
        host: target.host,
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-key': key,
        'sec-websocket-version': '13',
        origin: `${target.protocol === 'wss:' ? 'https' : 'http'}://${target.host}`,
        ...headers,
      },
    });
    req.setTimeout(10_000, () => req.destroy(new Error(`no answer to the WebSocket upgrade of ${url} within 10 s`)));
    req.on('error', reject);
    req.on('response', (res: IncomingMessage) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ kind: 'refused', status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('upgrade', (res: IncomingMessage, socket: Duplex, head: Buffer) => {
      if (res.headers['sec-websocket-accept'] !== acceptKey(key)) {
        socket.destroy();
        reject(new Error(`101 with a Sec-WebSocket-Accept that does not answer the key: ${String(res.headers['sec-websocket-accept'])}`));
        return;
      }
      const reader = new TextFrameReader(socket, head);
      resolve({
        kind: 'open',
        status: 101,
        headers: res.headers,
        send: (text) => void socket.write(encodeTextFrame(text, true)),
        receive: (timeoutMs) => reader.next(timeoutMs),
        close: () => socket.destroy(),
      });
    });
    req.end();
  });
}
