/**
 * Contract tests of the Traefik forwardAuth test double against proxy-contracts.md §2.6: one `describe`
 * per numbered step of the algorithm, then every request and reply vector taken from Traefik's
 * forward_test.go. Everything goes over real loopback sockets: a client → the double → a recording auth
 * server and a recording backend, and the assertions are on what each of them received.
 *
 * Unless a test says otherwise, the request is forward_test.go's `GET http://foo.bar/path?q=1`, sent
 * from 127.0.0.1 with no User-Agent.
 */
import http from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it, onTestFinished } from 'vitest';
import { freePort } from '../support/free-port.js';
import {
  startTraefikDouble,
  type EmuConfig,
  type EntryPointConfig,
  type RoutedConfig,
  type TraefikDouble,
  type TraefikDoubleOptions,
} from '../support/traefik-double.js';
import {
  asObject,
  endToEnd,
  gzip,
  names,
  reply,
  send,
  startRecordingServer,
  valueOf,
  valuesOf,
  type RecordingServer,
} from '../support/traefik-double.test-helpers.js';
import { waitFor } from '../support/wait.js';

const HOSTNAME = 'traefik-double';
/** Traefik is the edge: no peer is trusted (the canonical config of §2.5 without a load balancer). */
const TRUST_NOBODY: EntryPointConfig = { trustedCidrs: [], hostname: HOSTNAME };
/** A load balancer on loopback is trusted, so the client's X-headers reach forwardAuth. */
const TRUST_LOOPBACK: EntryPointConfig = { trustedCidrs: ['127.0.0.0/8'], hostname: HOSTNAME };

let auth: RecordingServer;
let backend: RecordingServer;
let authAuthority: string;

beforeAll(async () => {
  auth = await startRecordingServer();
  backend = await startRecordingServer((_req, res) => reply(res, 200, [['Content-Type', 'text/plain; charset=utf-8']], 'backend says hi'));
  authAuthority = `127.0.0.1:${auth.port}`;
});

afterAll(async () => {
  await auth.close();
  await backend.close();
});

beforeEach(() => {
  auth.reset();
  backend.reset();
});

async function start(over: Partial<EmuConfig> = {}, opts: TraefikDoubleOptions = {}): Promise<TraefikDouble> {
  const cfg: EmuConfig = { address: `${auth.url}/verify`, upstream: backend.url, entry: TRUST_NOBODY, ...over };
  const double = await startTraefikDouble(cfg, opts);
  onTestFinished(() => double.close());
  return double;
}

async function startRouted(cfg: RoutedConfig): Promise<TraefikDouble> {
  const double = await startTraefikDouble(cfg);
  onTestFinished(() => double.close());
  return double;
}

/** The X-headers (and X_ aliases) of a header list, as a lower-case object. */
function xHeaders(lines: ReadonlyArray<[string, string]>): Record<string, string> {
  return Object.fromEntries(Object.entries(asObject(lines)).filter(([k]) => k.startsWith('x-') || k.startsWith('x_')));
}

// ---------------------------------------------------------------------------------------------

describe('step 1: request-target parsing, `#` in the path, underscore header strategy', () => {
  it('answers 400 to a `#` in the raw path without asking the auth server', async () => {
    const double = await start();
    const res = await send(double.port, { target: '/a#b' });
    expect(res.status).toBe(400);
    expect(res.text).toBe('');
    expect(auth.seen).toHaveLength(0);
    expect(backend.seen).toHaveLength(0);
  });

  it('looks for `#` in the path only: one in the query passes', async () => {
    const double = await start({ trustForwardHeader: false });
    const res = await send(double.port, { target: '/a?x=#y' });
    expect(res.status).toBe(200);
    expect(valueOf(auth.only().lines, 'X-Forwarded-Uri')).toBe('/a?x=#y');
  });

  it('keep (the default) passes headers whose name contains `_`', async () => {
    const double = await start({ trustForwardHeader: false });
    await send(double.port, { headers: [['X_Custom', 'kept']] });
    expect(valueOf(auth.only().lines, 'X_custom')).toBe('kept');
    expect(valueOf(backend.only().lines, 'X_custom')).toBe('kept');
  });

  it('delete drops every header whose name contains `_`, even from a trusted peer', async () => {
    const double = await start({ trustForwardHeader: true, entry: { ...TRUST_LOOPBACK, underscoreHeaders: 'delete' } });
    const res = await send(double.port, { headers: [['X_Auth_User', 'admin'], ['X_Forwarded_Host', 'evil.example'], ['X-Ok', 'yes']] });
    expect(res.status).toBe(200);
    for (const rec of [auth.only(), backend.only()]) {
      expect(names(rec.lines).filter((n) => n.includes('_'))).toEqual([]);
      expect(valueOf(rec.lines, 'X-Ok')).toBe('yes');
    }
    expect(valueOf(auth.only().lines, 'X-Forwarded-Host')).toBe('foo.bar');
  });

  it('reject answers 400 to a header with `_` and asks nobody', async () => {
    const double = await start({ entry: { ...TRUST_NOBODY, underscoreHeaders: 'reject' } });
    const res = await send(double.port, { headers: [['Remote_User', 'admin']] });
    expect(res.status).toBe(400);
    expect(auth.seen).toHaveLength(0);
    expect(backend.seen).toHaveLength(0);
  });

  it('reject lets a request without `_` headers through', async () => {
    const double = await start({ entry: { ...TRUST_NOBODY, underscoreHeaders: 'reject' } });
    expect((await send(double.port, { headers: [['Remote-User', 'x']] })).status).toBe(200);
  });

  it('takes the host of an absolute-form request-target over the Host header, as Go does', async () => {
    const double = await start({ trustForwardHeader: false });
    await send(double.port, { target: 'http://other.example/p?q=1', host: 'foo.bar' });
    expect(valueOf(auth.only().lines, 'X-Forwarded-Host')).toBe('other.example');
    expect(valueOf(auth.only().lines, 'X-Forwarded-Uri')).toBe('/p?q=1');
    expect(backend.only().url).toBe('/p?q=1');
  });
});

// ---------------------------------------------------------------------------------------------

describe('step 2: path normalisation (normalizePath, then sanitizePath)', () => {
  const cases: Array<[string, string, string]> = [
    ['`%2e%2e` is a dot-segment once decoded', '/a/%2e%2e/b', '/b'],
    ['`..` never climbs above `/`', '/%2E%2e/%2e%2E/admin', '/admin'],
    ['`//` collapses', '/a//b///c', '/a/b/c'],
    ['`.` segments go and one trailing `/` stays', '/a/./b/', '/a/b/'],
    ['percent-encoded unreserved characters are decoded', '/%41%62c%7e%2D%5f', '/Abc~-_'],
    ['other escapes stay encoded, upper-cased', '/a%2fb%5c%00%3b', '/a%2Fb%5C%00%3B'],
    ['an encoded `/` does not make a segment', '/a%2F..%2Fb', '/a%2F..%2Fb'],
    ['the StripPrefix-chain example of CVE-2026-48020', '/api%2e/admin/secret', '/api./admin/secret'],
    ['the query is kept raw', '/p?x=%2e%2e&y=a//b', '/p?x=%2e%2e&y=a//b'],
    ['a lone `?` is kept (ForceQuery)', '/p?', '/p?'],
    ['characters a path may not carry are re-encoded', '/a"b<c>', '/a%22b%3Cc%3E'],
  ];

  it.each(cases)('%s: %s → %s', async (_what, target, expected) => {
    const double = await start({ trustForwardHeader: false });
    const res = await send(double.port, { target });
    expect(res.status).toBe(200);
    expect(valueOf(auth.only().lines, 'X-Forwarded-Uri')).toBe(expected);
    expect(backend.only().url).toBe(expected);
  });

  it('sanitizePath: false keeps dot-segments and `//`, but still decodes unreserved escapes', async () => {
    const double = await start({ trustForwardHeader: false, entry: { ...TRUST_NOBODY, sanitizePath: false } });
    await send(double.port, { target: '/a/%2e%2e/b//c' });
    expect(valueOf(auth.only().lines, 'X-Forwarded-Uri')).toBe('/a/../b//c');
    expect(backend.only().url).toBe('/a/../b//c');
  });

  it('answers 400 to an invalid escape, as Go’s server does, and asks nobody', async () => {
    const double = await start();
    const res = await send(double.port, { target: '/a%zz' });
    expect(res.status).toBe(400);
    expect(auth.seen).toHaveLength(0);
  });
});

// ---------------------------------------------------------------------------------------------

describe('step 3: Go canonical header names', () => {
  it('canonicalises names, keeps `_`, and merges repeated lines under one name in order', async () => {
    const double = await start({ trustForwardHeader: false });
    await send(double.port, {
      headers: [
        ['x-custom-HEADER', 'a'],
        ['X-CustomHeader', 'b'],
        ['x_my_header', 'c'],
        ['X-Multi', 'first'],
        ['x-multi', 'second'],
      ],
    });
    for (const rec of [auth.only(), backend.only()]) {
      expect(valuesOf(rec.lines, 'X-Custom-Header')).toEqual(['a']);
      expect(names(rec.lines)).toContain('X-Custom-Header');
      expect(names(rec.lines)).toContain('X-Customheader');
      expect(names(rec.lines)).toContain('X_my_header');
      expect(rec.lines.filter(([k]) => k.toLowerCase() === 'x-multi')).toEqual([
        ['X-Multi', 'first'],
        ['X-Multi', 'second'],
      ]);
    }
  });

  it('writes the auth request in Go’s order: Host, User-Agent, the map sorted, then Accept-Encoding', async () => {
    const double = await start({ trustForwardHeader: false });
    await send(double.port, { headers: [['user-agent', 'ua/1'], ['x-b', '1'], ['X-A', '2']] });
    expect(names(auth.only().lines)).toEqual([
      'Host',
      'User-Agent',
      'X-A',
      'X-B',
      'X-Forwarded-For',
      'X-Forwarded-Host',
      'X-Forwarded-Method',
      'X-Forwarded-Port',
      'X-Forwarded-Proto',
      'X-Forwarded-Uri',
      'Accept-Encoding',
    ]);
  });
});

// ---------------------------------------------------------------------------------------------

describe('step 4: entrypoint X-headers (forwardedHeaders)', () => {
  const MANAGED_SPOOF: Array<[string, string]> = [
    ['X-Forwarded-Proto', 'https'],
    ['X-Forwarded-For', '6.6.6.6'],
    ['X-Forwarded-Host', 'evil.example'],
    ['X-Forwarded-Port', '8443'],
    ['X-Forwarded-Server', 'evil'],
    ['X-Forwarded-Uri', '/admin'],
    ['X-Forwarded-Method', 'DELETE'],
    ['X-Forwarded-Prefix', '/pfx'],
    ['X-Forwarded-Tls-Client-Cert', 'cert'],
    ['X-Forwarded-Tls-Client-Cert-Info', 'info'],
    ['X-Real-Ip', '6.6.6.6'],
  ];
  const ALIAS_SPOOF: Array<[string, string]> = [
    ['X_Forwarded_For', '7.7.7.7'],
    ['x_real_ip', '7.7.7.7'],
    ['X-Forwarded_Host', 'alias.example'],
    ['X_FORWARDED_PREFIX', '/alias'],
    ['X_Forwarded_Tls_Client_Cert', 'alias-cert'],
  ];
  /** What the entrypoint itself sets for a plain-HTTP request from 127.0.0.1 to foo.bar. */
  const ENTRYPOINT_SET = {
    'x-real-ip': '127.0.0.1',
    'x-forwarded-proto': 'http',
    'x-forwarded-port': '80',
    'x-forwarded-host': 'foo.bar',
    'x-forwarded-server': HOSTNAME,
  };

  it('untrusted peer: every managed X-header and every underscore alias is deleted, then set afresh', async () => {
    const double = await start({ trustForwardHeader: false, entry: TRUST_NOBODY });
    await send(double.port, { headers: [...MANAGED_SPOOF, ...ALIAS_SPOOF] });
    // The backend sees the entrypoint's values plus the reverse proxy's X-Forwarded-For.
    expect(xHeaders(backend.only().lines)).toEqual({ ...ENTRYPOINT_SET, 'x-forwarded-for': '127.0.0.1' });
  });

  it('a peer outside trustedCidrs is untrusted', async () => {
    const double = await start({ trustForwardHeader: true, entry: { ...TRUST_NOBODY, trustedCidrs: ['10.0.0.0/8', '::1/128'] } });
    await send(double.port, { headers: [['X-Forwarded-Host', 'evil.example'], ['X_Real_Ip', '6.6.6.6']] });
    expect(valueOf(auth.only().lines, 'X-Forwarded-Host')).toBe('foo.bar');
    expect(valuesOf(auth.only().lines, 'X_real_ip')).toEqual([]);
    expect(valueOf(auth.only().lines, 'X-Real-Ip')).toBe('127.0.0.1');
  });

  it('trusted peer: its X-headers and aliases are kept; only X-Forwarded-Server is always overwritten', async () => {
    const double = await start({ trustForwardHeader: true, entry: TRUST_LOOPBACK });
    await send(double.port, { headers: [...MANAGED_SPOOF, ...ALIAS_SPOOF] });
    expect(xHeaders(backend.only().lines)).toEqual({
      'x-forwarded-proto': 'https',
      'x-forwarded-for': '6.6.6.6, 127.0.0.1',
      'x-forwarded-host': 'evil.example',
      'x-forwarded-port': '8443',
      'x-forwarded-server': HOSTNAME,
      'x-forwarded-uri': '/admin',
      'x-forwarded-method': 'DELETE',
      'x-forwarded-prefix': '/pfx',
      'x-forwarded-tls-client-cert': 'cert',
      'x-forwarded-tls-client-cert-info': 'info',
      'x-real-ip': '6.6.6.6',
      x_forwarded_for: '7.7.7.7',
      x_real_ip: '7.7.7.7',
      'x-forwarded_host': 'alias.example',
      x_forwarded_prefix: '/alias',
      x_forwarded_tls_client_cert: 'alias-cert',
    });
  });

  it('insecure trusts every peer', async () => {
    const double = await start({ trustForwardHeader: true, entry: { ...TRUST_NOBODY, insecure: true } });
    await send(double.port, { headers: [['X-Forwarded-Host', 'fii.bir']] });
    expect(valueOf(auth.only().lines, 'X-Forwarded-Host')).toBe('fii.bir');
  });

  it('sets the missing ones: X-Forwarded-Port from the Host port, X-Forwarded-Host from Host', async () => {
    const double = await start({ trustForwardHeader: true, entry: TRUST_NOBODY });
    await send(double.port, { host: 'foo.bar:8080' });
    expect(valueOf(auth.only().lines, 'X-Forwarded-Port')).toBe('8080');
    expect(valueOf(auth.only().lines, 'X-Forwarded-Host')).toBe('foo.bar:8080');
  });

  it('derives X-Forwarded-Port 443 from a trusted X-Forwarded-Proto: https', async () => {
    const double = await start({ trustForwardHeader: true, entry: TRUST_LOOPBACK });
    await send(double.port, { headers: [['X-Forwarded-Proto', 'https']] });
    expect(valueOf(auth.only().lines, 'X-Forwarded-Port')).toBe('443');
  });

  it('joins several X-Forwarded-For lines into one with ", "', async () => {
    const double = await start({ trustForwardHeader: true, entry: TRUST_LOOPBACK });
    await send(double.port, { headers: [['X-Forwarded-For', '1.1.1.1'], ['x-forwarded-for', '2.2.2.2, 3.3.3.3']] });
    expect(valuesOf(auth.only().lines, 'X-Forwarded-For')).toEqual(['1.1.1.1, 2.2.2.2, 3.3.3.3, 127.0.0.1']);
    expect(valuesOf(backend.only().lines, 'X-Forwarded-For')).toEqual(['1.1.1.1, 2.2.2.2, 3.3.3.3, 127.0.0.1']);
  });

  it('an empty hostname sends no X-Forwarded-Server', async () => {
    const double = await start({ trustForwardHeader: true, entry: { ...TRUST_NOBODY, hostname: '' } });
    await send(double.port);
    expect(valuesOf(auth.only().lines, 'X-Forwarded-Server')).toEqual([]);
  });

  it('drops the headers named in Connection, but never the managed ones (CVE-2024-45410, any case or alias)', async () => {
    const double = await start({ trustForwardHeader: false, entry: TRUST_NOBODY });
    await send(double.port, {
      headers: [
        ['Connection', 'X-Forwarded-Host, x-real-ip, X_Forwarded_Proto, X-Secret, keep-alive'],
        ['X-Secret', 'hop'],
        ['Keep-Alive', 'timeout=5'],
      ],
    });
    for (const rec of [auth.only(), backend.only()]) {
      expect(valueOf(rec.lines, 'X-Forwarded-Host')).toBe('foo.bar');
      expect(valueOf(rec.lines, 'X-Forwarded-Proto')).toBe('http');
      expect(valuesOf(rec.lines, 'X-Secret')).toEqual([]);
      expect(valuesOf(rec.lines, 'Keep-Alive')).toEqual([]);
    }
    expect(valueOf(backend.only().lines, 'X-Real-Ip')).toBe('127.0.0.1');
  });

  it('keeps a trusted X-Forwarded-Host that the client named in Connection', async () => {
    const double = await start({ trustForwardHeader: true, entry: TRUST_LOOPBACK });
    await send(double.port, { headers: [['Connection', 'X-Forwarded-Host'], ['X-Forwarded-Host', 'fii.bir']] });
    expect(valueOf(auth.only().lines, 'X-Forwarded-Host')).toBe('fii.bir');
  });

  it('marks a websocket upgrade as ws, which reaches the auth server with trust=true and the backend', async () => {
    backend.onUpgrade = (_rec, socket) => {
      socket.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n');
      socket.on('data', (d: Buffer) => socket.write(Buffer.concat([Buffer.from('echo:'), d])));
    };
    const double = await start({ trustForwardHeader: true });
    const echoed = await new Promise<string>((resolve, reject) => {
      const req = http.request({
        host: '127.0.0.1',
        port: double.port,
        path: '/ws',
        headers: { Host: 'foo.bar', Connection: 'Upgrade', Upgrade: 'websocket' },
      });
      req.on('upgrade', (res, socket) => {
        expect(res.statusCode).toBe(101);
        socket.once('data', (d: Buffer) => {
          resolve(d.toString());
          socket.destroy();
        });
        socket.write('ping');
      });
      req.on('response', (res) => reject(new Error(`no upgrade: ${res.statusCode}`)));
      req.on('error', reject);
      req.end();
    });
    expect(echoed).toBe('echo:ping');
    const authReq = auth.only();
    expect(valueOf(authReq.lines, 'X-Forwarded-Proto')).toBe('ws');
    expect(valuesOf(authReq.lines, 'Upgrade')).toEqual([]);
    expect(valuesOf(authReq.lines, 'Connection')).toEqual([]);
    const backendReq = backend.only();
    expect(valueOf(backendReq.lines, 'X-Forwarded-Proto')).toBe('ws');
    expect(valueOf(backendReq.lines, 'Upgrade')).toBe('websocket');
    expect(valueOf(backendReq.lines, 'Connection')).toBe('Upgrade');
  });

  it('answers a denied websocket upgrade with the auth reply', async () => {
    auth.respond = (_rec, res) => reply(res, 401, [['Www-Authenticate', 'Basic']], 'no');
    const double = await start({ trustForwardHeader: false });
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: double.port, path: '/ws', headers: { Host: 'foo.bar', Connection: 'Upgrade', Upgrade: 'websocket' } });
      req.on('upgrade', () => reject(new Error('upgraded without auth')));
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(401);
    expect(valueOf(auth.only().lines, 'X-Forwarded-Proto')).toBe('http');
    expect(backend.seen).toHaveLength(0);
  });
});

// ---------------------------------------------------------------------------------------------

describe('step 5: building the auth request', () => {
  it('sends GET to the address verbatim, with the address host in Host and no client path', async () => {
    const double = await start({ address: `${auth.url}/a/../verify?x=1&y=%2e` });
    await send(double.port, { target: '/some/where?q=2' });
    const rec = auth.only();
    expect(rec.method).toBe('GET');
    expect(rec.url).toBe('/a/../verify?x=1&y=%2e');
    expect(valueOf(rec.lines, 'Host')).toBe(authAuthority);
  });

  it('never sends the client body or its Content-Length (unless forwardBody); the backend gets both', async () => {
    const double = await start({ trustForwardHeader: false });
    await send(double.port, { method: 'POST', body: 'secret=1', headers: [['Content-Type', 'application/x-www-form-urlencoded']] });
    const rec = auth.only();
    expect(rec.method).toBe('GET');
    expect(rec.body.length).toBe(0);
    expect(valuesOf(rec.lines, 'Content-Length')).toEqual([]);
    expect(valueOf(rec.lines, 'X-Forwarded-Method')).toBe('POST');
    expect(valueOf(rec.lines, 'Content-Type')).toBe('application/x-www-form-urlencoded');
    expect(backend.only().body.toString()).toBe('secret=1');
    expect(valueOf(backend.only().lines, 'Content-Length')).toBe('8');
  });

  it('preserveRequestMethod sends the client method, with Content-Length: 0 and no body', async () => {
    const double = await start({ preserveRequestMethod: true });
    await send(double.port, { method: 'POST', body: 'x=1' });
    const rec = auth.only();
    expect(rec.method).toBe('POST');
    expect(valueOf(rec.lines, 'Content-Length')).toBe('0');
    expect(rec.body.length).toBe(0);
  });

  it('forwardBody sends the body with its Content-Length, and replays it to the backend', async () => {
    const double = await start({ forwardBody: true, maxBodySize: 100 });
    await send(double.port, { method: 'POST', body: 'name=value' });
    expect(auth.only().body.toString()).toBe('name=value');
    expect(valueOf(auth.only().lines, 'Content-Length')).toBe('10');
    expect(auth.only().method).toBe('GET');
    expect(backend.only().body.toString()).toBe('name=value');
  });

  it('forwardBody keeps a chunked body chunked', async () => {
    const double = await start({ forwardBody: true });
    await send(double.port, { method: 'PUT', body: 'chunky', chunked: true });
    expect(auth.only().body.toString()).toBe('chunky');
    expect(valueOf(auth.only().lines, 'Transfer-Encoding')).toBe('chunked');
    expect(backend.only().body.toString()).toBe('chunky');
    expect(valueOf(backend.only().lines, 'Transfer-Encoding')).toBe('chunked');
  });

  it('keeps Proxy-Authorization for the auth server (but the reverse proxy drops it)', async () => {
    const double = await start({ trustForwardHeader: false });
    await send(double.port, { headers: [['Proxy-Authorization', 'Basic eDp5']] });
    expect(valueOf(auth.only().lines, 'Proxy-Authorization')).toBe('Basic eDp5');
    expect(valuesOf(backend.only().lines, 'Proxy-Authorization')).toEqual([]);
  });

  describe('the trustForwardHeader modes (§2.3 table), behind a trusted entrypoint', () => {
    const SPOOF: Array<[string, string]> = [
      ['X-Forwarded-For', '1.2.3.4'],
      ['X-Forwarded-Method', 'OPTIONS'],
      ['X-Forwarded-Proto', 'https'],
      ['X-Forwarded-Port', '9999'],
      ['X-Forwarded-Host', 'fii.bir'],
      ['X-Forwarded-Uri', '/forward?q=1'],
      ['X-Forwarded-Prefix', '/pfx'],
      ['X-Real-Ip', '5.6.7.8'],
      ['X-Forwarded-Tls-Client-Cert', 'spoofed-cert'],
    ];
    const modes: Array<[string, boolean | undefined, Record<string, string>]> = [
      [
        'legacy (unset): five headers computed, the rest copied as is (the CVE-2026-35051 class)',
        undefined,
        {
          'x-forwarded-for': '127.0.0.1',
          'x-forwarded-method': 'GET',
          'x-forwarded-proto': 'http',
          'x-forwarded-port': '9999',
          'x-forwarded-host': 'foo.bar',
          'x-forwarded-uri': '/path?q=1',
          'x-forwarded-prefix': '/pfx',
          'x-real-ip': '5.6.7.8',
          'x-forwarded-tls-client-cert': 'spoofed-cert',
          'x-forwarded-server': HOSTNAME,
        },
      ],
      [
        'explicit false: all managed headers deleted, the six recomputed',
        false,
        {
          'x-forwarded-for': '127.0.0.1',
          'x-forwarded-method': 'GET',
          'x-forwarded-proto': 'http',
          'x-forwarded-port': '80',
          'x-forwarded-host': 'foo.bar',
          'x-forwarded-uri': '/path?q=1',
        },
      ],
      [
        'explicit true: every value kept, the peer appended to X-Forwarded-For',
        true,
        {
          'x-forwarded-for': '1.2.3.4, 127.0.0.1',
          'x-forwarded-method': 'OPTIONS',
          'x-forwarded-proto': 'https',
          'x-forwarded-port': '9999',
          'x-forwarded-host': 'fii.bir',
          'x-forwarded-uri': '/forward?q=1',
          'x-forwarded-prefix': '/pfx',
          'x-real-ip': '5.6.7.8',
          'x-forwarded-tls-client-cert': 'spoofed-cert',
          'x-forwarded-server': HOSTNAME,
        },
      ],
    ];

    it.each(modes)('%s', async (_what, trustForwardHeader, expected) => {
      const over: Partial<EmuConfig> = { entry: TRUST_LOOPBACK };
      if (trustForwardHeader !== undefined) over.trustForwardHeader = trustForwardHeader;
      const double = await start(over);
      await send(double.port, { headers: SPOOF });
      expect(xHeaders(auth.only().lines)).toEqual(expected);
    });

    it('explicit true behind an untrusted entrypoint (the recommended setup) gets the entrypoint’s values', async () => {
      const double = await start({ trustForwardHeader: true, entry: TRUST_NOBODY });
      await send(double.port, { headers: SPOOF });
      expect(xHeaders(auth.only().lines)).toEqual({
        'x-forwarded-for': '127.0.0.1',
        'x-forwarded-method': 'GET',
        'x-forwarded-proto': 'http',
        'x-forwarded-port': '80',
        'x-forwarded-host': 'foo.bar',
        'x-forwarded-uri': '/path?q=1',
        'x-real-ip': '127.0.0.1',
        'x-forwarded-server': HOSTNAME,
      });
    });
  });

  it('authRequestHeaders with trust=true lets the managed names through as well', async () => {
    const double = await start({ trustForwardHeader: true, authRequestHeaders: ['X-CustomHeader'], entry: TRUST_LOOPBACK });
    await send(double.port, { headers: [['X-CustomHeader', 'c'], ['Content-Type', 'text/plain'], ['X-Forwarded-Host', 'fii.bir']] });
    const rec = auth.only();
    expect(valueOf(rec.lines, 'X-Customheader')).toBe('c');
    expect(valuesOf(rec.lines, 'Content-Type')).toEqual([]);
    expect(valueOf(rec.lines, 'X-Forwarded-Host')).toBe('fii.bir');
    expect(valueOf(rec.lines, 'X-Real-Ip')).toBe('127.0.0.1');
    expect(valueOf(rec.lines, 'X-Forwarded-Server')).toBe(HOSTNAME);
  });

  it('authRequestHeaders matches names case-insensitively and adds nothing for a name the request lacks', async () => {
    const double = await start({ trustForwardHeader: false, authRequestHeaders: ['x-customheader', 'X-Non-Exists-Header'] });
    await send(double.port, { headers: [['X-CustomHeader', 'CustomHeader'], ['Content-Type', 'multipart/form-data; boundary=---123456']] });
    expect(asObject(auth.only().lines)).toEqual({
      host: authAuthority,
      'x-customheader': 'CustomHeader',
      'x-forwarded-for': '127.0.0.1',
      'x-forwarded-host': 'foo.bar',
      'x-forwarded-method': 'GET',
      'x-forwarded-port': '80',
      'x-forwarded-proto': 'http',
      'x-forwarded-uri': '/path?q=1',
      'accept-encoding': 'gzip',
      // The allow-list drops writeHeader's empty User-Agent, so Go's client adds its own.
      'user-agent': 'Go-http-client/1.1',
    });
  });

  describe('User-Agent', () => {
    it.each([undefined, false, true])('trust=%s: the client’s User-Agent is sent as is', async (trustForwardHeader) => {
      const over: Partial<EmuConfig> = {};
      if (trustForwardHeader !== undefined) over.trustForwardHeader = trustForwardHeader;
      const double = await start(over);
      await send(double.port, { headers: [['User-Agent', 'Mozilla/5.0 test']] });
      expect(valueOf(auth.only().lines, 'User-Agent')).toBe('Mozilla/5.0 test');
    });

    it.each([false, true])('trust=%s: none when the client sent none (writeHeader sets an empty User-Agent, v3.6.9+)', async (trustForwardHeader) => {
      const double = await start({ trustForwardHeader });
      await send(double.port);
      expect(valuesOf(auth.only().lines, 'User-Agent')).toEqual([]);
    });

    it('legacy path (trustForwardHeader unset): Go’s default User-Agent when the client sent none', async () => {
      const double = await start();
      await send(double.port);
      expect(valuesOf(auth.only().lines, 'User-Agent')).toEqual(['Go-http-client/1.1']);
    });

    it.each([undefined, false, true])('trust=%s with an authRequestHeaders list that omits User-Agent: Go’s default, whatever the client sent', async (trustForwardHeader) => {
      const over: Partial<EmuConfig> = { authRequestHeaders: ['Cookie'] };
      if (trustForwardHeader !== undefined) over.trustForwardHeader = trustForwardHeader;
      const double = await start(over);
      await send(double.port, { headers: [['User-Agent', 'Mozilla/5.0 test']] });
      await send(double.port);
      expect(auth.seen.map((r) => valuesOf(r.lines, 'User-Agent'))).toEqual([['Go-http-client/1.1'], ['Go-http-client/1.1']]);
    });
  });

  describe('Accept-Encoding', () => {
    it('adds Accept-Encoding: gzip when the client sent none, and gunzips the reply without a trace', async () => {
      auth.respond = (_rec, res) => reply(res, 403, [['Content-Encoding', 'gzip'], ['Content-Type', 'text/plain']], gzip('denied, in gzip'));
      const double = await start();
      const res = await send(double.port);
      expect(valueOf(auth.only().lines, 'Accept-Encoding')).toBe('gzip');
      expect(res.status).toBe(403);
      expect(res.text).toBe('denied, in gzip');
      expect(valuesOf(res.lines, 'Content-Encoding')).toEqual([]);
      expect(valueOf(res.lines, 'Content-Length')).toBe(String('denied, in gzip'.length));
    });

    it('keeps the client’s Accept-Encoding and passes a compressed reply through untouched', async () => {
      const compressed = gzip('still compressed');
      auth.respond = (_rec, res) => reply(res, 403, [['Content-Encoding', 'gzip']], compressed);
      const double = await start();
      const res = await send(double.port, { headers: [['Accept-Encoding', 'gzip, br']] });
      expect(valueOf(auth.only().lines, 'Accept-Encoding')).toBe('gzip, br');
      expect(valueOf(res.lines, 'Content-Encoding')).toBe('gzip');
      expect(res.body.equals(compressed)).toBe(true);
    });

    it('adds none when the request has a Range header (Go’s transport rule)', async () => {
      const double = await start();
      await send(double.port, { headers: [['Range', 'bytes=0-1']] });
      expect(valuesOf(auth.only().lines, 'Accept-Encoding')).toEqual([]);
    });
  });

  it('follows no redirect: the 302 goes to the client and the auth server is asked once', async () => {
    auth.respond = (_rec, res) => reply(res, 302, [['Location', '/elsewhere']], 'moved');
    const double = await start();
    const res = await send(double.port);
    expect(res.status).toBe(302);
    expect(auth.seen).toHaveLength(1);
    expect(backend.seen).toHaveLength(0);
  });

  it('aborts an auth request that outlives the timeout and answers 500 with an empty body', async () => {
    auth.respond = (_rec, res) => void setTimeout(() => reply(res, 200), 2_000);
    const double = await start({}, { authTimeoutMs: 200 });
    const started = performance.now();
    const res = await send(double.port);
    expect(res.status).toBe(500);
    expect(res.text).toBe('');
    expect(performance.now() - started).toBeLessThan(1_500);
    expect(backend.seen).toHaveLength(0);
    await waitFor(() => auth.seen[0]?.abandoned, { what: 'the auth request to be closed' });
  });
});

// ---------------------------------------------------------------------------------------------

describe('step 6: reading the auth reply', () => {
  it('copies a non-2xx reply: status, every header line (cookies raw, repeats kept), body', async () => {
    auth.respond = (_rec, res) =>
      reply(
        res,
        401,
        [
          ['WWW-Authenticate', 'Basic realm="a"'],
          ['WWW-Authenticate', 'Bearer'],
          ['Set-Cookie', 'flash=sign-in; Path=/; Priority=High'],
          ['Content-Type', 'text/html'],
          ['Cache-Control', 'no-store'],
        ],
        '<p>sign in</p>',
      );
    const double = await start();
    const res = await send(double.port);
    expect(res.status).toBe(401);
    expect(res.text).toBe('<p>sign in</p>');
    expect(valuesOf(res.lines, 'WWW-Authenticate')).toEqual(['Basic realm="a"', 'Bearer']);
    expect(valuesOf(res.lines, 'Set-Cookie')).toEqual(['flash=sign-in; Path=/; Priority=High']);
    expect(valueOf(res.lines, 'Cache-Control')).toBe('no-store');
    expect(valueOf(res.lines, 'Content-Length')).toBe('14');
    expect(backend.seen).toHaveLength(0);
  });

  it.each([[300], [404], [500], [503]])('copies a %i from the auth server as is', async (status) => {
    auth.respond = (_rec, res) => reply(res, status, [['X-Why', 'auth said so']], `status ${status}`);
    const double = await start();
    const res = await send(double.port);
    expect(res.status).toBe(status);
    expect(res.text).toBe(`status ${status}`);
    expect(valueOf(res.lines, 'X-Why')).toBe('auth said so');
    expect(backend.seen).toHaveLength(0);
  });

  it('resolves a relative Location against the address: the auth server’s internal origin leaks', async () => {
    auth.respond = (_rec, res) => reply(res, 302, [['Location', '/login?rd=https%3A%2F%2Ffoo.bar%2F']]);
    const double = await start();
    const res = await send(double.port);
    expect(valueOf(res.lines, 'Location')).toBe(`http://${authAuthority}/login?rd=https%3A%2F%2Ffoo.bar%2F`);
  });

  it('resolves a path-relative Location against the address path', async () => {
    auth.respond = (_rec, res) => reply(res, 302, [['Location', 'login']]);
    const double = await start({ address: `${auth.url}/api/verify` });
    const res = await send(double.port);
    expect(valueOf(res.lines, 'Location')).toBe(`http://${authAuthority}/api/login`);
  });

  it('keeps an absolute Location', async () => {
    auth.respond = (_rec, res) => reply(res, 302, [['Location', 'https://auth.example.com/sign-in?rd=x']]);
    const double = await start();
    expect(valueOf((await send(double.port)).lines, 'Location')).toBe('https://auth.example.com/sign-in?rd=x');
  });

  it('preserveLocationHeader keeps a relative Location as sent', async () => {
    auth.respond = (_rec, res) => reply(res, 302, [['Location', '/login']]);
    const double = await start({ preserveLocationHeader: true });
    expect(valueOf((await send(double.port)).lines, 'Location')).toBe('/login');
  });

  it('answers 500 when the Location cannot be parsed', async () => {
    auth.respond = (_rec, res) => reply(res, 302, [['Location', 'http://[::1']], 'moved');
    const double = await start();
    const res = await send(double.port);
    expect(res.status).toBe(500);
    expect(res.text).toBe('');
  });

  it('ignores a Location on a 2xx reply', async () => {
    auth.respond = (_rec, res) => reply(res, 200, [['Location', '/login']]);
    const double = await start();
    const res = await send(double.port);
    expect(res.status).toBe(200);
    expect(res.text).toBe('backend says hi');
    expect(valuesOf(res.lines, 'Location')).toEqual([]);
  });

  describe('authSigninURL (v3.7+)', () => {
    const V3_7 = { release: 'v3.7.9' } as const;

    it('is refused by a double that follows v3.6.24 (the default), as Traefik v3.6 does not know the option', async () => {
      await expect(startTraefikDouble({ address: `${auth.url}/verify`, upstream: backend.url, entry: TRUST_NOBODY, authSigninURL: SIGNIN })).rejects.toThrow(
        'authSigninURL exists from Traefik v3.7.0',
      );
    });

    const SIGNIN = 'https://auth.example.com/sign-in?rd=1&x=<y>';

    it('turns a 401 into a 302 to the sign-in URL and discards the auth reply', async () => {
      auth.respond = (_rec, res) => reply(res, 401, [['Set-Cookie', 'a=b'], ['Www-Authenticate', 'Basic']], 'nope');
      const double = await start({ authSigninURL: SIGNIN }, V3_7);
      const res = await send(double.port);
      expect(res.status).toBe(302);
      expect(asObject(endToEnd(res.lines), ['date'])).toEqual({
        location: SIGNIN,
        'content-type': 'text/html; charset=utf-8',
        'content-length': String(res.body.length),
      });
      expect(res.text).toBe('<a href="https://auth.example.com/sign-in?rd=1&amp;x=&lt;y&gt;">Found</a>.\n\n');
    });

    it('HEAD: Content-Type but no body; POST: neither', async () => {
      auth.respond = (_rec, res) => reply(res, 401);
      const double = await start({ authSigninURL: SIGNIN }, V3_7);
      const head = await send(double.port, { method: 'HEAD' });
      expect(head.status).toBe(302);
      expect(valueOf(head.lines, 'Content-Type')).toBe('text/html; charset=utf-8');
      expect(head.text).toBe('');
      const post = await send(double.port, { method: 'POST', body: 'x' });
      expect(post.status).toBe(302);
      expect(valuesOf(post.lines, 'Content-Type')).toEqual([]);
      expect(post.text).toBe('');
    });

    it('hex-escapes non-ASCII bytes in the Location', async () => {
      auth.respond = (_rec, res) => reply(res, 401);
      const double = await start({ authSigninURL: 'https://auth.example.com/é' }, V3_7);
      expect(valueOf((await send(double.port)).lines, 'Location')).toBe('https://auth.example.com/%c3%a9');
    });

    it('makes a relative sign-in URL absolute-path against the request path', async () => {
      auth.respond = (_rec, res) => reply(res, 401);
      const double = await start({ authSigninURL: 'sign-in?x=1' }, V3_7);
      expect(valueOf((await send(double.port, { target: '/app/page' })).lines, 'Location')).toBe('/app/sign-in?x=1');
    });

    it('leaves a 403 alone', async () => {
      auth.respond = (_rec, res) => reply(res, 403, [], 'forbidden');
      const double = await start({ authSigninURL: SIGNIN }, V3_7);
      const res = await send(double.port);
      expect(res.status).toBe(403);
      expect(res.text).toBe('forbidden');
    });
  });
});

// ---------------------------------------------------------------------------------------------

describe('step 7: on 2xx, rewrite the request and proxy it to the backend', () => {
  it('deletes the client’s copies of authResponseHeaders even when the reply lacks them', async () => {
    auth.respond = (_rec, res) => reply(res, 200, [['Remote-Groups', 'users']]);
    const double = await start({ authResponseHeaders: ['Remote-User', 'remote-groups', 'Remote-Email'] });
    await send(double.port, { headers: [['Remote-User', 'admin'], ['remote-user', 'root'], ['REMOTE-EMAIL', 'a@b'], ['Remote-Groups', 'admins']] });
    const lines = backend.only().lines;
    expect(valuesOf(lines, 'Remote-User')).toEqual([]);
    expect(valuesOf(lines, 'Remote-Email')).toEqual([]);
    expect(valuesOf(lines, 'Remote-Groups')).toEqual(['users']);
  });

  it('copies every value of a listed header, one line each, and nothing unlisted', async () => {
    auth.respond = (_rec, res) => reply(res, 200, [['Remote-User', 'alice'], ['Remote-Groups', 'a'], ['Remote-Groups', 'b'], ['X-Auth-Secret', 's']]);
    const double = await start({ authResponseHeaders: ['Remote-User', 'Remote-Groups'] });
    await send(double.port);
    const lines = backend.only().lines;
    expect(lines.filter(([k]) => k.startsWith('Remote-'))).toEqual([
      ['Remote-Groups', 'a'],
      ['Remote-Groups', 'b'],
      ['Remote-User', 'alice'],
    ]);
    expect(valuesOf(lines, 'X-Auth-Secret')).toEqual([]);
  });

  it('authResponseHeadersRegex is unanchored: it deletes and copies every matching canonical name', async () => {
    auth.respond = (_rec, res) => reply(res, 200, [['X-Auth-Id', '42'], ['X-Other', 'no']]);
    const double = await start({ authResponseHeadersRegex: 'Auth' });
    await send(double.port, { headers: [['Authorization', 'Basic eDp5'], ['x-auth-role', 'admin'], ['X-Keep', 'yes']] });
    const lines = backend.only().lines;
    expect(valueOf(lines, 'X-Auth-Id')).toBe('42');
    expect(valuesOf(lines, 'Authorization')).toEqual([]);
    expect(valuesOf(lines, 'X-Auth-Role')).toEqual([]);
    expect(valuesOf(lines, 'X-Other')).toEqual([]);
    expect(valueOf(lines, 'X-Keep')).toBe('yes');
  });

  it('lets an underscore alias of a listed header through (by design), unless underscoreHeaders deletes it', async () => {
    auth.respond = (_rec, res) => reply(res, 200, [['Remote-User', 'alice']]);
    const keep = await start({ authResponseHeaders: ['Remote-User'] });
    await send(keep.port, { headers: [['Remote_User', 'admin']] });
    expect(valueOf(backend.only().lines, 'Remote_user')).toBe('admin');
    backend.reset();
    const strict = await start({ authResponseHeaders: ['Remote-User'], entry: { ...TRUST_NOBODY, underscoreHeaders: 'delete' } });
    await send(strict.port, { headers: [['Remote_User', 'admin']] });
    expect(valuesOf(backend.only().lines, 'Remote_user')).toEqual([]);
    expect(valueOf(backend.only().lines, 'Remote-User')).toBe('alice');
  });

  describe('addAuthCookiesToResponse', () => {
    it('replaces a backend cookie of a listed name and adds no unlisted auth cookie', async () => {
      auth.respond = (_rec, res) => reply(res, 200, [['Set-Cookie', 'session=new; Path=/; HttpOnly'], ['Set-Cookie', 'tracking=1']]);
      backend.respond = (_rec, res) => reply(res, 200, [['Set-Cookie', 'session=old'], ['Set-Cookie', 'theme=dark']], 'ok');
      const double = await start({ addAuthCookiesToResponse: ['session'] });
      const res = await send(double.port);
      expect(valuesOf(res.lines, 'Set-Cookie')).toEqual(['theme=dark', 'session=new; Path=/; HttpOnly']);
    });

    it('re-serialises every backend cookie Go’s way once the auth reply had a cookie, even with an empty list', async () => {
      auth.respond = (_rec, res) => reply(res, 200, [['Set-Cookie', 'auth=1']]);
      backend.respond = (_rec, res) =>
        reply(
          res,
          200,
          [
            ['Set-Cookie', 'b=1; path=/app; Foo=Bar; secure; HTTPONLY; Max-Age=60; SameSite=lax; Expires=Wed, 21 Oct 2026 07:28:00 GMT'],
            ['Set-Cookie', 'q="a b"; Domain=.example.com; Max-Age=-1'],
            ['Set-Cookie', 'no-equals-sign'],
          ],
          'ok',
        );
      const double = await start();
      const res = await send(double.port);
      expect(valuesOf(res.lines, 'Set-Cookie')).toEqual([
        'b=1; Path=/app; Expires=Wed, 21 Oct 2026 07:28:00 GMT; Max-Age=60; HttpOnly; Secure; SameSite=Lax',
        'q="a b"; Domain=example.com; Max-Age=0',
      ]);
    });

    it('leaves the backend’s Set-Cookie lines untouched when the auth reply had no cookie', async () => {
      backend.respond = (_rec, res) => reply(res, 200, [['Set-Cookie', 'b=1; Foo=Bar']], 'ok');
      const double = await start({ addAuthCookiesToResponse: ['session'] });
      expect(valuesOf((await send(double.port)).lines, 'Set-Cookie')).toEqual(['b=1; Foo=Bar']);
    });
  });

  it('proxies with the normalised path, the client Host, X-Forwarded-For appended, hop-by-hop headers gone', async () => {
    const double = await start({ trustForwardHeader: true, entry: TRUST_LOOPBACK });
    await send(double.port, {
      method: 'PATCH',
      host: 'app.example.com:8443',
      target: '/a/../b;c?x=1;y=2',
      headers: [
        ['X-Forwarded-For', '203.0.113.9'],
        ['Keep-Alive', 'timeout=1'],
        ['Te', 'trailers, deflate'],
        ['Proxy-Connection', 'keep-alive'],
        ['User-Agent', 'client/1'],
      ],
      body: 'patch',
    });
    const rec = backend.only();
    expect(rec.method).toBe('PATCH');
    // Traefik's director turns `;` into `&` in the query (not in the path).
    expect(rec.url).toBe('/b;c?x=1&y=2');
    expect(valueOf(rec.lines, 'Host')).toBe('app.example.com:8443');
    expect(valueOf(rec.lines, 'X-Forwarded-For')).toBe('203.0.113.9, 127.0.0.1');
    expect(valueOf(rec.lines, 'Te')).toBe('trailers');
    expect(valuesOf(rec.lines, 'Keep-Alive')).toEqual([]);
    expect(valuesOf(rec.lines, 'Proxy-Connection')).toEqual([]);
    expect(valuesOf(rec.lines, 'Connection')).toEqual([]);
    expect(valueOf(rec.lines, 'User-Agent')).toBe('client/1');
    expect(rec.body.toString()).toBe('patch');
  });

  it('passes the backend response through: status, headers minus hop-by-hop, body', async () => {
    backend.respond = (_rec, res) => reply(res, 201, [['X-App', 'yes'], ['Keep-Alive', 'timeout=9'], ['Content-Type', 'application/json']], '{"ok":true}');
    const double = await start();
    const res = await send(double.port);
    expect(res.status).toBe(201);
    expect(res.text).toBe('{"ok":true}');
    expect(asObject(endToEnd(res.lines), ['date'])).toEqual({ 'x-app': 'yes', 'content-type': 'application/json', 'content-length': '11' });
  });

  describe('routing (the dynamic config of §2.5)', () => {
    async function routedDouble(): Promise<{ double: TraefikDouble; other: RecordingServer }> {
      const other = await startRecordingServer((_req, res) => reply(res, 200, [], 'login ui'));
      onTestFinished(() => other.close());
      const double = await startRouted({
        entry: TRUST_NOBODY,
        routers: [
          {
            name: 'app',
            rule: { host: 'app.example.com' },
            middlewares: [{ name: 'fwd-auth', forwardAuth: { address: `${auth.url}/verify`, trustForwardHeader: true, authResponseHeaders: ['Remote-User'] } }],
            service: backend.url,
          },
          { name: 'auth', rule: { host: 'auth.example.com' }, service: other.url },
        ],
      });
      return { double, other };
    }

    it('routes by Host (case-insensitive, port ignored) through the router’s middlewares', async () => {
      auth.respond = (_rec, res) => reply(res, 200, [['Remote-User', 'alice']]);
      const { double } = await routedDouble();
      const res = await send(double.port, { host: 'APP.example.com:80' });
      expect(res.text).toBe('backend says hi');
      expect(valueOf(backend.only().lines, 'Remote-User')).toBe('alice');
      expect(auth.seen).toHaveLength(1);
      expect(double.accessLog.at(-1)).toMatchObject({ router: 'app', status: 200 });
    });

    it('a router without middlewares goes straight to its service', async () => {
      const { double, other } = await routedDouble();
      const res = await send(double.port, { host: 'auth.example.com' });
      expect(res.text).toBe('login ui');
      expect(other.seen).toHaveLength(1);
      expect(auth.seen).toHaveLength(0);
    });

    it('answers 404 like Traefik for an unknown host', async () => {
      const { double } = await routedDouble();
      const res = await send(double.port, { host: 'nobody.example.com' });
      expect(res.status).toBe(404);
      expect(res.text).toBe('404 page not found\n');
      expect(valueOf(res.lines, 'Content-Type')).toBe('text/plain; charset=utf-8');
      expect(auth.seen).toHaveLength(0);
    });

    it('runs a chain of forwardAuth middlewares in order; a denial stops it', async () => {
      const second = await startRecordingServer((_req, res) => reply(res, 200, [['X-Second', 'yes']]));
      onTestFinished(() => second.close());
      auth.respond = (_rec, res) => reply(res, 200, [['X-First', 'yes']]);
      const double = await startRouted({
        entry: TRUST_NOBODY,
        routers: [
          {
            middlewares: [
              { forwardAuth: { address: auth.url, authResponseHeaders: ['X-First'] } },
              { forwardAuth: { address: second.url, authResponseHeaders: ['X-Second'] } },
            ],
            service: backend.url,
          },
        ],
      });
      await send(double.port);
      expect(valueOf(second.only().lines, 'X-First')).toBe('yes');
      expect(valueOf(backend.only().lines, 'X-First')).toBe('yes');
      expect(valueOf(backend.only().lines, 'X-Second')).toBe('yes');

      auth.respond = (_rec, res) => reply(res, 403);
      second.reset();
      expect((await send(double.port)).status).toBe(403);
      expect(second.seen).toHaveLength(0);
    });
  });
});

// ---------------------------------------------------------------------------------------------

describe('step 8: error mapping', () => {
  it('auth server unreachable → 500 with an empty body, backend untouched', async () => {
    const double = await start({ address: `http://127.0.0.1:${await freePort()}/verify` });
    const res = await send(double.port);
    expect(res.status).toBe(500);
    expect(res.text).toBe('');
    expect(backend.seen).toHaveLength(0);
  });

  it('backend unreachable → 502 Bad Gateway (the reverse proxy’s answer)', async () => {
    const double = await start({ upstream: `http://127.0.0.1:${await freePort()}` });
    const res = await send(double.port);
    expect(res.status).toBe(502);
    expect(res.text).toBe('Bad Gateway');
    expect(valuesOf(res.lines, 'Content-Type')).toEqual([]);
  });

  it('client gone while the auth server thinks → 499 in the access log, auth request abandoned', async () => {
    auth.respond = () => new Promise<void>(() => undefined);
    const double = await start();
    const req = http.request({ host: '127.0.0.1', port: double.port, path: '/slow', headers: { Host: 'foo.bar' } });
    req.on('error', () => undefined);
    req.end();
    await waitFor(() => auth.seen.length === 1, { what: 'the auth request' });
    req.destroy();
    await waitFor(() => double.accessLog.find((e) => e.target === '/slow'), { what: 'the access log line' });
    expect(double.accessLog).toEqual([{ method: 'GET', target: '/slow', host: 'foo.bar', router: 'default', status: 499 }]);
    await waitFor(() => auth.seen[0]?.abandoned, { what: 'the auth request to be closed' });
    expect(backend.seen).toHaveLength(0);
  });

  it('forwardBody with a body over maxBodySize → 401, nobody asked', async () => {
    const double = await start({ forwardBody: true, maxBodySize: 4 });
    const res = await send(double.port, { method: 'POST', body: '12345' });
    expect(res.status).toBe(401);
    expect(res.text).toBe('');
    expect(auth.seen).toHaveLength(0);
    expect(backend.seen).toHaveLength(0);
  });

  it('forwardBody with a body of exactly maxBodySize passes', async () => {
    const double = await start({ forwardBody: true, maxBodySize: 5 });
    expect((await send(double.port, { method: 'POST', body: '12345' })).status).toBe(200);
    expect(auth.only().body.toString()).toBe('12345');
  });

  it.each([[403], [200]])('auth reply body over maxResponseBodySize (status %i) → 401 with an empty body', async (status) => {
    auth.respond = (_rec, res) => reply(res, status, [], '12345678901');
    const double = await start({ maxResponseBodySize: 10 });
    const res = await send(double.port);
    expect(res.status).toBe(401);
    expect(res.text).toBe('');
    expect(backend.seen).toHaveLength(0);
  });

  it('maxResponseBodySize counts the gunzipped bytes', async () => {
    auth.respond = (_rec, res) => reply(res, 403, [['Content-Encoding', 'gzip']], gzip('x'.repeat(100)));
    const double = await start({ maxResponseBodySize: 50 });
    expect((await send(double.port)).status).toBe(401);
  });

  it('an auth reply body of exactly maxResponseBodySize passes', async () => {
    auth.respond = (_rec, res) => reply(res, 403, [], '1234567890');
    const double = await start({ maxResponseBodySize: 10 });
    const res = await send(double.port);
    expect(res.status).toBe(403);
    expect(res.text).toBe('1234567890');
  });
});

// ---------------------------------------------------------------------------------------------

describe('forward_test.go request vectors (§2.6 table)', () => {
  /** Hop-by-hop input of the vector; `Transfer-Encoding` carries a valid coding, as it must on the wire. */
  const HOP_BY_HOP: Array<[string, string]> = [
    ['Connection', 'Connection'],
    ['Keep-Alive', 'KeepAlive'],
    ['Proxy-Authenticate', 'ProxyAuthenticate'],
    ['Proxy-Authorization', 'ProxyAuthorization'],
    ['Te', 'Te'],
    ['Trailers', 'Trailers'],
    ['Transfer-Encoding', 'chunked'],
    ['Upgrade', 'Upgrade'],
    ['X-CustomHeader', 'CustomHeader'],
  ];

  // The vectors' "exactly" lists are Go's header map; on the wire the request also carries Host and
  // Accept-Encoding (Go's client) and X-Forwarded-For (the test request in Go had no RemoteAddr).
  const WIRE = () => ({ host: authAuthority, 'accept-encoding': 'gzip', 'x-forwarded-for': '127.0.0.1' });

  it('trust=true keeps X-Forwarded-Host: fii.bir', async () => {
    const double = await start({ trustForwardHeader: true, entry: TRUST_LOOPBACK });
    await send(double.port, { headers: [['Accept', 'application/json'], ['X-Forwarded-Host', 'fii.bir']] });
    expect(valueOf(auth.only().lines, 'X-Forwarded-Host')).toBe('fii.bir');
    expect(valueOf(auth.only().lines, 'Accept')).toBe('application/json');
  });

  it('trust=false overrides X-Forwarded-Host with foo.bar', async () => {
    const double = await start({ trustForwardHeader: false, entry: TRUST_LOOPBACK });
    await send(double.port, { headers: [['Accept', 'application/json'], ['X-Forwarded-Host', 'fii.bir']] });
    expect(valueOf(auth.only().lines, 'X-Forwarded-Host')).toBe('foo.bar');
  });

  it('trust=false, URI: X-Forwarded-Uri /forward?q=1 becomes /path?q=1', async () => {
    const double = await start({ trustForwardHeader: false, entry: TRUST_LOOPBACK });
    await send(double.port, { headers: [['X-Forwarded-Uri', '/forward?q=1']] });
    expect(valueOf(auth.only().lines, 'X-Forwarded-Uri')).toBe('/path?q=1');
  });

  it('trust=false, method: X-Forwarded-Method OPTIONS becomes GET', async () => {
    const double = await start({ trustForwardHeader: false, entry: TRUST_LOOPBACK });
    await send(double.port, { headers: [['X-Forwarded-Method', 'OPTIONS']] });
    expect(valueOf(auth.only().lines, 'X-Forwarded-Method')).toBe('GET');
  });

  it('trust=false, hop-by-hop: exactly X-CustomHeader, the five X-Forwarded-*, Port 80, Proxy-Authenticate/-Authorization, no User-Agent', async () => {
    const double = await start({ trustForwardHeader: false });
    await send(double.port, { headers: HOP_BY_HOP });
    expect(asObject(auth.only().lines)).toEqual({
      ...WIRE(),
      'x-customheader': 'CustomHeader',
      'x-forwarded-proto': 'http',
      'x-forwarded-host': 'foo.bar',
      'x-forwarded-uri': '/path?q=1',
      'x-forwarded-method': 'GET',
      'x-forwarded-port': '80',
      'proxy-authenticate': 'ProxyAuthenticate',
      'proxy-authorization': 'ProxyAuthorization',
    });
  });

  it('legacy, same input: the same minus forwardAuth’s X-Forwarded-Port, and Go’s default User-Agent instead of none', async () => {
    const double = await start({});
    await send(double.port, { headers: HOP_BY_HOP });
    expect(asObject(auth.only().lines)).toEqual({
      ...WIRE(),
      'x-customheader': 'CustomHeader',
      'x-forwarded-proto': 'http',
      'x-forwarded-host': 'foo.bar',
      'x-forwarded-uri': '/path?q=1',
      'x-forwarded-method': 'GET',
      'proxy-authenticate': 'ProxyAuthenticate',
      'proxy-authorization': 'ProxyAuthorization',
      // Not computed by the legacy path: the entrypoint's own values, copied as is.
      'x-forwarded-port': '80',
      'x-real-ip': '127.0.0.1',
      'x-forwarded-server': HOSTNAME,
      // forward_test.go compares the header map; on the wire Go's client adds its default User-Agent.
      'user-agent': 'Go-http-client/1.1',
    });
  });

  it('legacy copies X-Forwarded-Port as is: it does not compute it (shown with a trusted value)', async () => {
    const double = await start({ entry: TRUST_LOOPBACK });
    await send(double.port, { headers: [['X-Forwarded-Port', '9999']] });
    expect(valueOf(auth.only().lines, 'X-Forwarded-Port')).toBe('9999');
  });

  it('authRequestHeaders=[X-CustomHeader], trust=false: exactly X-CustomHeader and -Proto/-Host/-Uri/-Method/-Port', async () => {
    const double = await start({ trustForwardHeader: false, authRequestHeaders: ['X-CustomHeader'] });
    await send(double.port, { headers: [['X-CustomHeader', 'CustomHeader'], ['Content-Type', 'multipart/form-data; boundary=---123456']] });
    expect(asObject(auth.only().lines)).toEqual({
      ...WIRE(),
      'x-customheader': 'CustomHeader',
      'x-forwarded-proto': 'http',
      'x-forwarded-host': 'foo.bar',
      'x-forwarded-uri': '/path?q=1',
      'x-forwarded-method': 'GET',
      'x-forwarded-port': '80',
      // On the wire: the allow-list dropped the empty User-Agent, so Go's default goes out.
      'user-agent': 'Go-http-client/1.1',
    });
  });

  it('trust=false, spoofed proto over plain HTTP: Proto http and Port 80 (CVE-2026-54764)', async () => {
    // Trusted entrypoint, so the spoofed value reaches forwardAuth (and the entrypoint derived 443 from it).
    const double = await start({ trustForwardHeader: false, entry: TRUST_LOOPBACK });
    await send(double.port, { headers: [['X-Forwarded-Proto', 'https']] });
    expect(valueOf(auth.only().lines, 'X-Forwarded-Proto')).toBe('http');
    expect(valueOf(auth.only().lines, 'X-Forwarded-Port')).toBe('80');
  });

  it('trust=false, underscore: no X_forwarded_for, Proto http', async () => {
    const double = await start({ trustForwardHeader: false, entry: TRUST_LOOPBACK });
    await send(double.port, { headers: [['X_forwarded_for', '127.0.0.1'], ['X-Forwarded-Proto', 'xxx']] });
    expect(valuesOf(auth.only().lines, 'X_forwarded_for')).toEqual([]);
    expect(valueOf(auth.only().lines, 'X-Forwarded-Proto')).toBe('http');
  });

  it('legacy keeps X-Forwarded-Prefix: foo.bar', async () => {
    const double = await start({ entry: TRUST_LOOPBACK });
    await send(double.port, { headers: [['X-Forwarded-Prefix', 'foo.bar']] });
    expect(valueOf(auth.only().lines, 'X-Forwarded-Prefix')).toBe('foo.bar');
  });
});

// ---------------------------------------------------------------------------------------------

describe('forward_test.go reply vectors', () => {
  it('TestForwardAuthFail: 403 + Proxy-Authenticate: test + "Forbidden\\n" reach the client', async () => {
    auth.respond = (_rec, res) =>
      reply(res, 403, [['Proxy-Authenticate', 'test'], ['Content-Type', 'text/plain; charset=utf-8'], ['X-Content-Type-Options', 'nosniff']], 'Forbidden\n');
    const double = await start();
    const res = await send(double.port);
    expect(res.status).toBe(403);
    expect(valueOf(res.lines, 'Proxy-Authenticate')).toBe('test');
    expect(res.text).toBe('Forbidden\n');
  });

  it('TestForwardAuthRedirect: a 302 keeps its absolute Location and its body', async () => {
    auth.respond = (_rec, res) =>
      reply(res, 302, [['Location', 'http://example.com/redirect-test'], ['Content-Type', 'text/html; charset=utf-8']], '<a href="http://example.com/redirect-test">Found</a>.\n\n');
    const double = await start();
    const res = await send(double.port);
    expect(res.status).toBe(302);
    expect(valueOf(res.lines, 'Location')).toBe('http://example.com/redirect-test');
    expect(res.text).not.toBe('');
  });

  it('TestForwardAuthRemoveHopByHopHeaders: the reply’s hop-by-hop headers never reach the client', async () => {
    auth.respond = (_rec, res) => {
      res.writeHead(302, ['Connection', 'test', 'Keep-Alive', 'test', 'Te', 'test', 'Trailers', 'test', 'Transfer-Encoding', 'chunked', 'Upgrade', 'test', 'Location', 'http://example.com/redirect-test']);
      res.end('<a href="http://example.com/redirect-test">Found</a>.\n\n');
    };
    const double = await start();
    const res = await send(double.port);
    expect(res.status).toBe(302);
    for (const name of ['Keep-Alive', 'Te', 'Trailers', 'Transfer-Encoding', 'Upgrade']) expect(valuesOf(res.lines, name)).toEqual([]);
    expect(valuesOf(res.lines, 'Connection')).not.toContain('test');
    expect(valueOf(res.lines, 'Location')).toBe('http://example.com/redirect-test');
    expect(res.text).not.toBe('');
  });

  it('TestForwardAuthFailResponseHeaders: a 403’s Set-Cookie and X-Foo reach the client, and only the reply’s headers', async () => {
    auth.respond = (_rec, res) =>
      reply(
        res,
        403,
        [
          ['Set-Cookie', 'example=testing; Path=/'],
          ['X-Foo', 'bar'],
          ['Content-Type', 'text/plain; charset=utf-8'],
          ['X-Content-Type-Options', 'nosniff'],
        ],
        'Forbidden\n',
      );
    const double = await start();
    const res = await send(double.port);
    expect(res.status).toBe(403);
    expect(asObject(endToEnd(res.lines))).toEqual({
      'set-cookie': 'example=testing; Path=/',
      'x-foo': 'bar',
      'content-type': 'text/plain; charset=utf-8',
      'x-content-type-options': 'nosniff',
      'content-length': '10',
      date: expect.any(String) as unknown as string,
    });
    expect(res.text).toBe('Forbidden\n');
  });

  it('an auth server that is down gives 500', async () => {
    const double = await start({ address: `http://127.0.0.1:${await freePort()}` });
    expect((await send(double.port)).status).toBe(500);
  });

  it('with authSigninURL set, a 401 gives 302 to that URL', async () => {
    auth.respond = (_rec, res) => reply(res, 401);
    const double = await start({ authSigninURL: 'https://auth.example.com/sign-in' }, { release: 'v3.7.9' });
    const res = await send(double.port);
    expect(res.status).toBe(302);
    expect(valueOf(res.lines, 'Location')).toBe('https://auth.example.com/sign-in');
  });

  it('TestForwardAuthSuccess: listed and regex headers replace the client’s, cookies merge', async () => {
    auth.respond = (_rec, res) =>
      reply(
        res,
        200,
        [
          ['X-Auth-User', 'user@example.com'],
          ['X-Auth-Secret', 'secret'],
          ['X-Auth-Group', 'group1'],
          ['X-Auth-Group', 'group2'],
          ['Foo-Bar', 'auth-value'],
          ['Set-Cookie', 'authCookie=Auth'],
        ],
        'Success\n',
      );
    backend.respond = (_rec, res) => reply(res, 200, [['Set-Cookie', 'backendCookie=Backend']], 'traefik\n');
    const double = await start({
      authResponseHeaders: ['X-Auth-User', 'X-Auth-Group'],
      authResponseHeadersRegex: '^Foo-',
      addAuthCookiesToResponse: ['authCookie'],
    });
    const res = await send(double.port, { headers: [['X-Auth-Group', 'admin_group'], ['Foo-Bar', 'client-value'], ['Foo-Baz', 'client-value']] });
    const lines = backend.only().lines;
    expect(valueOf(lines, 'X-Auth-User')).toBe('user@example.com');
    expect(valuesOf(lines, 'X-Auth-Secret')).toEqual([]);
    expect(valuesOf(lines, 'X-Auth-Group')).toEqual(['group1', 'group2']);
    expect(valueOf(lines, 'Foo-Bar')).toBe('auth-value');
    expect(valuesOf(lines, 'Foo-Baz')).toEqual([]);
    expect(res.status).toBe(200);
    expect(res.text).toBe('traefik\n');
    expect(valuesOf(res.lines, 'Set-Cookie')).toEqual(['backendCookie=Backend', 'authCookie=Auth']);
  });
});

// ---------------------------------------------------------------------------------------------

describe('config checks', () => {
  it('refuses a bad config, naming every problem with its path and the value seen', async () => {
    const bad = {
      address: 'not a url',
      upstream: 'ftp://x',
      maxBodySize: -5,
      authResponseHeadersRegex: '(',
      headerField: 'X-User',
      entry: { trustedCidrs: ['10.0.0.0/33'], underscoreHeaders: 'drop' },
    } as unknown as EmuConfig;
    const err = await startTraefikDouble(bad).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err?.message).toContain('address must be an absolute http(s) URL, got "not a url"');
    expect(err?.message).toContain('upstream must be an absolute http(s) URL, got "ftp://x"');
    expect(err?.message).toContain('maxBodySize must be an integer >= -1 (-1 = unlimited), got -5');
    expect(err?.message).toContain('authResponseHeadersRegex must be a valid regular expression, got "("');
    expect(err?.message).toContain('headerField is not an option of the double');
    expect(err?.message).toContain('entry.trustedCidrs[0] must be a CIDR or an IP, got "10.0.0.0/33"');
    expect(err?.message).toContain('entry.underscoreHeaders must be one of keep, delete, reject, got "drop"');
  });

  it('names the router and middleware of a bad routed config', async () => {
    const bad = {
      entry: TRUST_NOBODY,
      routers: [{ rule: { host: 'a' }, middlewares: [{ forwardAuth: { address: 'auth:3000' } }, { basicAuth: {} }], service: 'http://app:8080' }],
    } as unknown as RoutedConfig;
    const err = await startTraefikDouble(bad).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err?.message).toContain('routers[0].middlewares[0].forwardAuth.address must be an absolute http(s) URL, got "auth:3000"');
    expect(err?.message).toContain('routers[0].middlewares[1] must be { forwardAuth: {...} }');
  });
});

// ---------------------------------------------------------------------------------------------

describe('the headers middleware (customRequestHeaders), before a forwardAuth', () => {
  async function withSecretHeader(value: string): Promise<TraefikDouble> {
    return startRouted({
      entry: TRUST_NOBODY,
      routers: [
        {
          name: 'app',
          middlewares: [
            { name: 'secret', headers: { customRequestHeaders: { 'x-postern-proxy-secret': value } } },
            { name: 'fwd-auth', forwardAuth: { address: `${auth.url}/verify`, trustForwardHeader: true, authResponseHeaders: ['X-Postern-Proxy-Secret'] } },
          ],
          service: backend.url,
        },
      ],
    });
  }

  it('sets the header on the request, replacing the client’s copy, so forwardAuth sends it to the auth server', async () => {
    const double = await withSecretHeader('s3cret-value');
    await send(double.port, { headers: [['X-Postern-Proxy-Secret', 'client-guess']] });
    expect(valuesOf(auth.only().lines, 'X-Postern-Proxy-Secret')).toEqual(['s3cret-value']);
  });

  it('listed in authResponseHeaders and absent from the reply, the header is deleted before the backend', async () => {
    const double = await withSecretHeader('s3cret-value');
    await send(double.port);
    expect(valuesOf(backend.only().lines, 'X-Postern-Proxy-Secret')).toEqual([]);
  });

  it('an empty value deletes the header (the client’s copy too)', async () => {
    const double = await withSecretHeader('');
    await send(double.port, { headers: [['X-Postern-Proxy-Secret', 'client-guess']] });
    expect(valuesOf(auth.only().lines, 'X-Postern-Proxy-Secret')).toEqual([]);
  });

  it('refuses a headers middleware with an option the double does not have', async () => {
    await expect(
      startTraefikDouble({ entry: TRUST_NOBODY, routers: [{ service: backend.url, middlewares: [{ headers: { customResponseHeaders: { a: 'b' } } as never }] }] }),
    ).rejects.toThrow('routers[0].middlewares[0].headers.customResponseHeaders is not an option of the double');
  });
});

// ---------------------------------------------------------------------------------------------

describe('step 6, Location: resolved as Go’s net/url does (Response.Location, URL.String), not as WHATWG new URL()', () => {
  it.each([
    ['a backslash is a path byte, escaped, never a slash (WHATWG: http://evil.example/x)', '\\\\evil.example/x', (a: string) => `http://${a}/%5C%5Cevil.example/x`],
    ['a default port stays (WHATWG drops :80)', 'http://auth.example.com:80/login', () => 'http://auth.example.com:80/login'],
    ['an origin without a path gets no trailing slash (WHATWG adds one)', 'https://auth.example.com', () => 'https://auth.example.com'],
    ['the query is kept as written, space and bad escape included (WHATWG encodes the space)', '/login?rd=a b&x=%zz', (a: string) => `http://${a}/login?rd=a b&x=%zz`],
    ['dot segments of a relative path are removed', '/a/./b/../c', (a: string) => `http://${a}/a/c`],
    ['a scheme-relative Location takes the address scheme', '//auth.example.com/login', () => 'http://auth.example.com/login'],
  ])('%s', async (_, location, expected) => {
    auth.respond = (_rec, res) => reply(res, 302, [['Location', location]]);
    const double = await start();
    const res = await send(double.port);
    expect(res.status).toBe(302);
    expect(valueOf(res.lines, 'Location')).toBe(expected(authAuthority));
  });

  it.each([['/log%zzin'], ['http://[::1/login'], ['http://auth.example.com:8o/']])('answers 500 for %j, which Go cannot parse (WHATWG would keep or fix it)', async (location) => {
    auth.respond = (_rec, res) => reply(res, 302, [['Location', location]], 'moved');
    const double = await start();
    const res = await send(double.port);
    expect(res.status).toBe(500);
    expect(res.text).toBe('');
  });

  it('preserveLocationHeader: url.Parse(location).String(), so a backslash is escaped and a bad path escape is a 500', async () => {
    auth.respond = (_rec, res) => reply(res, 302, [['Location', '/a\\b?q=1']]);
    const double = await start({ preserveLocationHeader: true });
    expect(valueOf((await send(double.port)).lines, 'Location')).toBe('/a%5Cb?q=1');
    auth.respond = (_rec, res) => reply(res, 302, [['Location', '/a%zz']]);
    expect((await send(double.port)).status).toBe(500);
  });
});
