/**
 * Graceful shutdown behind a real load balancer (issue #12, item 5): two Postern replicas share one
 * Redis behind one nginx `upstream`, and a client drives keep-alive load at a protected app through
 * nginx's auth_request. One replica gets SIGTERM: its /readyz turns 503 at once, it keeps serving for
 * `server.shutdown_grace`, then stops accepting, finishes what is in flight and exits 0, and the
 * client sees not one failed request.
 */
import { Agent, request } from 'node:http';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeUsersFileAtomic } from '../../src/auth/users-file.js';
import { buildUsers } from '../support/app-fixture.js';
import { readExampleTree } from '../support/examples.js';
import { freePort } from '../support/free-port.js';
import { TestClient } from '../support/http-client.js';
import { startNginx, type NginxProcess } from '../support/nginx.js';
import { startPostern, type PosternProcess } from '../support/postern-process.js';
import { startRedis, type RedisProcess } from '../support/redis-server.js';
import { startUpstream, type Upstream } from '../support/upstream.js';
import { waitFor } from '../support/wait.js';

const APP = 'http://app.example.com/';
const GRACE_MS = 1000;
const ENV = { POSTERN_USERS_ARGON2_MEMORY_COST: '8192', POSTERN_USERS_ARGON2_TIME_COST: '1', POSTERN_SERVER_SHUTDOWN_GRACE: '1s' };
/** Bounds on the load, whatever happens: requests in all, and seconds. */
const MAX_REQUESTS = 6000;
const MAX_LOAD_MS = 20_000;
const CONNECTIONS = 6;

let redis: RedisProcess;
let app: Upstream;
let dir: string;
let a: PosternProcess;
let b: PosternProcess;
let nginx: NginxProcess;
let proxyPort: number;

/**
 * The published snippets (auth_request wiring) with one upstream of both replicas. nginx's default
 * `proxy_next_upstream error timeout` sends a verify that meets a closed port or a connection closed
 * under it to the other replica (an auth subrequest is a GET to nginx, whatever the client's method).
 * Open-source nginx does not poll /readyz, so it keeps sending to a replica until the port closes, and
 * a connection accepted in the last instant before that is reset: Postern's own pages get
 * `non_idempotent` so that a POST (sign-in, sign-out) that meets it is retried too, as the README says.
 * `X-Verified-By` tells the app (and so the test) which replica decided.
 */
function nginxConfig(): string {
  return `
# postern-protect.conf's WebSocket lines use it (postern.conf defines it the same way).
map $http_upgrade $connection_upgrade {
    default upgrade;
    ''      close;
}
# postern-protect.conf's Cookie line uses it (postern.conf defines it the same way).
map $http_cookie $postern_app_cookie {
    "~^(?<postern_before>(?:[^;]*;\\s*)*?)postern_session=[^;]*(?:;\\s*)?(?<postern_after>.*)$" "$postern_before$postern_after";
    default $http_cookie;
}
upstream postern {
    server 127.0.0.1:${a.port};
    server 127.0.0.1:${b.port};
    keepalive 32;
}
upstream app {
    server 127.0.0.1:${app.port};
}
server {
    listen 127.0.0.1:${proxyPort};
    server_name auth.example.com;
    location / {
        proxy_pass http://postern;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Host $host;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_set_header X-Forwarded-For $remote_addr;
        proxy_next_upstream error timeout non_idempotent;
    }
}
server {
    listen 127.0.0.1:${proxyPort};
    server_name app.example.com;
    include snippets/postern-authrequest.conf;
    location / {
        include snippets/postern-protect.conf;
        auth_request_set $verified_by $upstream_addr;
        proxy_set_header X-Verified-By $verified_by;
        proxy_pass http://app;
    }
}
`;
}

beforeAll(async () => {
  redis = await startRedis();
  app = await startUpstream();
  dir = mkdtempSync(join(tmpdir(), 'postern-shutdown-'));
  mkdirSync(join(dir, 'data'));
  await writeUsersFileAtomic(join(dir, 'data', 'users.yml'), await buildUsers({ alice: { password: 'alice password' } }));
  const config = `server: { public_url: "http://auth.example.com" }
session: { domain: example.com, secret: "shared-secret-shared-secret-shared-secret", redis: { url: "${redis.url}" } }
data_dir: ${join(dir, 'data')}
`;
  [a, b] = await Promise.all([startPostern(config, { env: ENV }), startPostern(config, { env: ENV })]);
  proxyPort = await freePort();
  const snippets = readExampleTree('nginx', { postern: a.port, app: app.port, proxy: proxyPort });
  nginx = await startNginx(nginxConfig(), proxyPort, snippets);
});
afterAll(async () => {
  await nginx?.stop();
  await a?.cleanup();
  await b?.cleanup();
  await app?.close();
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

interface LoadResult {
  readonly sent: number;
  readonly failures: string[];
}

/**
 * What the clients ask, in turn: the protected app by GET and by POST (both decided by verify through
 * auth_request), and a POST to Postern's own sign-out form without its token (403 from Postern).
 */
const ASKS = [
  { method: 'GET', host: 'app.example.com', path: '/', status: 200, body: 'Hello alice' },
  { method: 'POST', host: 'app.example.com', path: '/', status: 200, body: 'Hello alice' },
  { method: 'POST', host: 'auth.example.com', path: '/logout', status: 403, body: 'This sign-out form has expired' },
] as const;

/**
 * `CONNECTIONS` clients, each on one keep-alive connection to nginx, send ASKS in turn with the
 * session cookie until `done()` says so (or the bounds are reached). A failure is any reply other
 * than the expected one, or a connection error.
 */
async function driveLoad(cookie: string, done: () => boolean): Promise<LoadResult> {
  const failures: string[] = [];
  let sent = 0;
  const started = performance.now();
  const once = (agent: Agent, ask: (typeof ASKS)[number]) =>
    new Promise<void>((resolve) => {
      const body = ask.method === 'POST' ? 'q=1' : undefined;
      const headers = { host: ask.host, cookie, ...(body ? { 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(body.length) } : {}) };
      const req = request({ host: '127.0.0.1', port: proxyPort, path: ask.path, method: ask.method, agent, headers }, (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => {
          if (res.statusCode !== ask.status || !text.includes(ask.body)) failures.push(`${ask.method} ${ask.host}${ask.path} → ${res.statusCode}: ${text.slice(0, 120)}`);
          resolve();
        });
      });
      req.on('error', (err) => {
        failures.push(`${ask.method} ${ask.host}${ask.path} → error: ${err.message}`);
        resolve();
      });
      req.end(body);
    });
  const worker = async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    while (!done() && sent < MAX_REQUESTS && performance.now() - started < MAX_LOAD_MS) {
      await once(agent, ASKS[sent++ % ASKS.length]!);
    }
    agent.destroy();
  };
  await Promise.all(Array.from({ length: CONNECTIONS }, worker));
  return { sent, failures };
}

/** Which replica's port decided each request the app saw from `from` on. */
function decidedBy(from: number): string[] {
  return app.seen.slice(from).map((r) => String(r.headers['x-verified-by'] ?? ''));
}

describe('SIGTERM to one of two replicas behind one nginx upstream, under keep-alive load', () => {
  it('turns its /readyz 503 at once, serves through the grace period, exits 0, and no client request fails', async () => {
    const browser = new TestClient(proxyPort);
    const login = await browser.get(APP);
    expect(login.status).toBe(302);
    expect((await browser.submitForm(login.header('location')!, { username: 'alice', password: 'alice password' })).status).toBe(303);
    const cookie = await browser.jar.getCookieString(APP);

    let aExitedAt: number | undefined;
    let signalledAt = 0;
    let seenAtSignal = 0;
    let readyAfterSignal: number | undefined;
    const load = driveLoad(cookie, () => aExitedAt !== undefined && performance.now() - aExitedAt > 500);

    // Both replicas carry the load before the signal.
    await waitFor(() => new Set(decidedBy(0)).size >= 2 && app.seen.length > 100, { timeoutMs: 10_000, what: 'both replicas to decide requests' });
    const aAddress = `127.0.0.1:${a.port}`;
    const bAddress = `127.0.0.1:${b.port}`;
    expect(new Set(decidedBy(0))).toEqual(new Set([aAddress, bAddress]));

    const exited = a.exited();
    void exited.then(() => (aExitedAt = performance.now()));
    seenAtSignal = app.seen.length;
    signalledAt = performance.now();
    a.kill('SIGTERM');
    // Where the app's record stands halfway through the grace period: what comes after was decided later.
    const seenAtHalfGrace = new Promise<number>((resolve) => setTimeout(() => resolve(app.seen.length), GRACE_MS / 2));
    // At once: /readyz on A answers 503 while A still accepts connections.
    await waitFor(
      async () => {
        const reply = await new TestClient(a.port).get('http://auth.example.com/readyz');
        if (reply.status !== 503) return false;
        readyAfterSignal = performance.now() - signalledAt;
        return JSON.parse(reply.body).status === 'shutting down';
      },
      { timeoutMs: 2000, intervalMs: 10, what: "A's /readyz to turn 503" },
    );

    const { code, signal } = await exited;
    const result = await load;

    expect(result.failures, `nginx's error log:\n${nginx.errorLog()}`).toEqual([]);
    expect(code).toBe(0);
    expect(signal).toBe(null);
    expect(readyAfterSignal).toBeLessThan(GRACE_MS);
    // A kept deciding requests well into the grace period, and B took over.
    expect(decidedBy(await seenAtHalfGrace).filter((by) => by === aAddress).length).toBeGreaterThan(0);
    expect(decidedBy(seenAtSignal).at(-1)).toBe(bAddress);
    // A's own account: the signal, the grace period, then a clean stop.
    const events = a.logLines().map((l) => l.event).filter((e) => e === 'shutdown' || e === 'stopped' || e === 'shutdown.cut');
    expect(events).toEqual(['shutdown', 'stopped']);
    expect(a.logLines().find((l) => l.event === 'shutdown')).toMatchObject({ signal: 'SIGTERM', grace_ms: GRACE_MS });
    // B serves on alone.
    expect((await new TestClient(b.port).get('http://auth.example.com/readyz')).status).toBe(200);
  });
});

describe('a second SIGTERM (or SIGINT) during the grace period', () => {
  it('ends the grace period at once: the process drains and exits 0', async () => {
    const alone = await startPostern('server: { public_url: "http://auth.example.com" }\nsession: { domain: example.com }\n', {
      env: { ...ENV, POSTERN_SERVER_SHUTDOWN_GRACE: '5m' },
    });
    try {
      const exited = alone.exited();
      alone.kill('SIGTERM');
      await waitFor(async () => (await new TestClient(alone.port).get('http://auth.example.com/readyz')).status === 503, { what: '/readyz to turn 503' });
      // Still serving in the grace period.
      expect((await new TestClient(alone.port).get('http://auth.example.com/healthz')).status).toBe(200);
      const secondAt = performance.now();
      alone.kill('SIGINT');
      expect(await exited).toEqual({ code: 0, signal: null });
      // Generous for a loaded machine, and far below the 5 minutes the grace period would have lasted.
      expect(performance.now() - secondAt).toBeLessThan(10_000);
      expect(alone.logLines().find((l) => l.event === 'shutdown')).toMatchObject({ signal: 'SIGTERM', grace_ms: 300_000 });
    } finally {
      await alone.cleanup();
    }
  });
});
