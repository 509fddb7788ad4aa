/**
 * Real-socket helpers for the Traefik double's contract tests: recording servers (the auth server and
 * the backend) and a client that sends header lines exactly as written.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { gzipSync } from 'node:zlib';

/** One request as a recording server received it. */
export interface Recorded {
  method: string;
  /** The request-target, raw. */
  url: string;
  /** Header lines with their names exactly as sent, in order. */
  lines: Array<[string, string]>;
  body: Buffer;
  /** True when the connection closed before the recording server answered. */
  abandoned: boolean;
}

export type Responder = (req: Recorded, res: ServerResponse) => void | Promise<void>;
export type UpgradeResponder = (req: Recorded, socket: Duplex, head: Buffer) => void;

export interface RecordingServer {
  readonly port: number;
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly seen: Recorded[];
  /** The only request received; fails the test when there were none or several. */
  only(): Recorded;
  /** How the next requests are answered (default: 200, empty body, or the server's own default). */
  respond: Responder;
  onUpgrade: UpgradeResponder | undefined;
  reset(): void;
  close(): Promise<void>;
}

export function pairs(raw: readonly string[]): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let i = 0; i + 1 < raw.length; i += 2) out.push([raw[i]!, raw[i + 1]!]);
  return out;
}

/** Every value of `name` (any case), one per line, in order. */
export function valuesOf(lines: ReadonlyArray<[string, string]>, name: string): string[] {
  const want = name.toLowerCase();
  return lines.filter(([k]) => k.toLowerCase() === want).map(([, v]) => v);
}

/** The single value of `name`; undefined when absent; fails on several lines. */
export function valueOf(lines: ReadonlyArray<[string, string]>, name: string): string | undefined {
  const values = valuesOf(lines, name);
  if (values.length > 1) throw new Error(`expected one ${name} line, got ${JSON.stringify(values)}`);
  return values[0];
}

/** Header lines as a plain object, lower-case names, several values joined with " | " to stay visible. */
export function asObject(lines: ReadonlyArray<[string, string]>, omit: readonly string[] = []): Record<string, string> {
  const skip = new Set(omit.map((n) => n.toLowerCase()));
  const out: Record<string, string> = {};
  for (const [k, v] of lines) {
    const key = k.toLowerCase();
    if (skip.has(key)) continue;
    out[key] = key in out ? `${out[key]} | ${v}` : v;
  }
  return out;
}

export function names(lines: ReadonlyArray<[string, string]>): string[] {
  return lines.map(([k]) => k);
}

/** Writes a reply with an exact Content-Length (so a test can compare it end to end). */
export function reply(res: ServerResponse, status: number, headers: Array<[string, string]> = [], body: string | Buffer = ''): void {
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  const flat: string[] = [];
  for (const [k, v] of headers) flat.push(k, v);
  if (!headers.some(([k]) => k.toLowerCase() === 'content-length')) flat.push('Content-Length', String(bytes.length));
  res.writeHead(status, flat);
  res.end(bytes);
}

export function gzip(text: string): Buffer {
  return gzipSync(Buffer.from(text));
}

async function readAll(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** A server that records every request and answers with `respond` (changeable between tests). */
export async function startRecordingServer(defaultResponder: Responder = (_req, res) => reply(res, 200)): Promise<RecordingServer> {
  const seen: Recorded[] = [];
  const state: { respond: Responder; onUpgrade: UpgradeResponder | undefined } = { respond: defaultResponder, onUpgrade: undefined };
  const server = http.createServer((req, res) => {
    const rec: Recorded = { method: req.method ?? '', url: req.url ?? '', lines: pairs(req.rawHeaders), body: Buffer.alloc(0), abandoned: false };
    seen.push(rec);
    res.on('close', () => {
      if (!res.writableFinished) rec.abandoned = true;
    });
    void readAll(req)
      .then(async (body) => {
        rec.body = body;
        await state.respond(rec, res);
      })
      .catch(() => res.destroy());
  });
  // Upgraded sockets leave the server's connection tracking (and stay half-open): close() ends them.
  const upgraded = new Set<Duplex>();
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    upgraded.add(socket);
    socket.on('close', () => upgraded.delete(socket));
    socket.on('error', () => socket.destroy());
    const rec: Recorded = { method: req.method ?? '', url: req.url ?? '', lines: pairs(req.rawHeaders), body: Buffer.alloc(0), abandoned: false };
    seen.push(rec);
    if (state.onUpgrade) state.onUpgrade(rec, socket, head);
    else socket.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    seen,
    only() {
      if (seen.length !== 1) throw new Error(`expected exactly one request, got ${seen.length}: ${JSON.stringify(seen.map((r) => `${r.method} ${r.url}`))}`);
      return seen[0]!;
    },
    get respond() {
      return state.respond;
    },
    set respond(r: Responder) {
      state.respond = r;
    },
    get onUpgrade() {
      return state.onUpgrade;
    },
    set onUpgrade(u: UpgradeResponder | undefined) {
      state.onUpgrade = u;
    },
    reset() {
      seen.length = 0;
      state.respond = defaultResponder;
      state.onUpgrade = undefined;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of upgraded) socket.destroy();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

export interface SendOptions {
  method?: string;
  /** Request-target, sent as is (`#`, `%2e%2e` and `//` included). Default `/path?q=1`. */
  target?: string;
  /** Host header; `null` sends none. Default `foo.bar` (the host of forward_test.go's request). */
  host?: string | null;
  /** Header lines, names and repeats exactly as given. */
  headers?: Array<[string, string]>;
  body?: string | Buffer;
  /** Send the body with `Transfer-Encoding: chunked` instead of a Content-Length. */
  chunked?: boolean;
}

export interface ClientReply {
  status: number;
  lines: Array<[string, string]>;
  body: Buffer;
  text: string;
}

/**
 * Sends one request to 127.0.0.1:port with exactly the header lines given (Node adds only
 * `Connection: close`, and framing when there is a body), and reads the whole reply.
 */
export function send(port: number, opts: SendOptions = {}): Promise<ClientReply> {
  const lines: Array<[string, string]> = [];
  const host = opts.host === undefined ? 'foo.bar' : opts.host;
  if (host !== null) lines.push(['Host', host]);
  lines.push(...(opts.headers ?? []));
  const body = opts.body === undefined ? undefined : Buffer.from(opts.body);
  if (body !== undefined && !lines.some(([k]) => /^(content-length|transfer-encoding)$/i.test(k))) {
    lines.push(opts.chunked ? ['Transfer-Encoding', 'chunked'] : ['Content-Length', String(body.length)]);
  }
  const flat = lines.flat();
  return new Promise<ClientReply>((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: opts.method ?? 'GET', path: opts.target ?? '/path?q=1', headers: flat, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const bytes = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, lines: pairs(res.rawHeaders), body: bytes, text: bytes.toString('utf8') });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error('request to the Traefik double timed out')));
    req.end(body);
  });
}

/**
 * The reply's header lines minus `Connection`, which the double's own Node HTTP layer adds
 * (connection management, not part of what forwardAuth copies).
 */
export function endToEnd(lines: ReadonlyArray<[string, string]>): Array<[string, string]> {
  return lines.filter(([k]) => k.toLowerCase() !== 'connection');
}
