import { mkdtempSync, rmSync } from 'node:fs';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeUsersFileAtomic } from '../../src/auth/users-file.js';
import { parseConfig } from '../../src/config/load.js';
import { startServer, type RunningServer } from '../../src/main.js';
import { buildUsers, FAST_ARGON2 } from '../support/app-fixture.js';
import { FIXTURE_KEY, testAuthenticator } from '../support/factors.js';
import { TestClient, type Reply } from '../support/http-client.js';
import { metricTypes, parseSamples, valueOf, type Sample } from '../support/prometheus-text.js';
import { startRedis, type RedisProcess } from '../support/redis-server.js';
import { freePort } from '../support/free-port.js';
import { startIdp, type TestIdp } from '../support/oidc-provider.js';
import { askVerify } from '../support/verify-client.js';
import { waitFor } from '../support/wait.js';

const PASSWORD = 'correct horse battery';
const dirs: string[] = [];
/** A user with an authenticator app (sealed under FIXTURE_KEY, the key every server here is given). */
const tina = testAuthenticator('tina');

interface Started {
  readonly server: RunningServer;
  readonly logs: Array<Record<string, unknown>>;
}

/** Postern as main.ts builds it (the CLI's `serve` minus argv parsing), on free loopback ports, logging into memory. */
async function start(extra: Record<string, unknown>): Promise<Started> {
  const dir = mkdtempSync(join(tmpdir(), 'postern-metrics-'));
  dirs.push(dir);
  await writeUsersFileAtomic(join(dir, 'users.yml'), await buildUsers({ alice: { password: PASSWORD }, tina: { password: PASSWORD, factors: tina.factors } }));
  const loaded = parseConfig(
    {
      server: { address: '127.0.0.1', port: 0, public_url: 'http://auth.example.com' },
      session: { domain: 'example.com' },
      data_dir: dir,
      users: { file: join(dir, 'users.yml'), argon2: FAST_ARGON2 },
      secrets: { encryption_key: FIXTURE_KEY },
      access: { default_policy: 'authenticated', rules: [{ hosts: ['public.example.com'], policy: 'bypass' }] },
      ...extra,
    },
    {},
    dir,
  );
  const logs: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split('\n')) if (line) logs.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  const server = await startServer(loaded, { logDestination: sink, announce: () => undefined });
  return { server, logs };
}

async function scrape(port: number): Promise<{ reply: Reply; samples: Sample[] }> {
  const reply = await new TestClient(port).request('http://127.0.0.1/metrics');
  return { reply, samples: parseSamples(reply.body) };
}

async function signedIn(port: number): Promise<TestClient> {
  const browser = new TestClient(port);
  const reply = await browser.submitForm('http://auth.example.com/login', { username: 'alice', password: PASSWORD });
  expect(reply.status).toBe(303);
  return browser;
}

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('with metrics.port set', () => {
  let started: Started;
  let metricsPort: number;
  let postern: TestClient;

  beforeAll(async () => {
    started = await start({ metrics: { address: '127.0.0.1', port: 0 } });
    metricsPort = started.server.metricsPort!;
    postern = new TestClient(started.server.port);
  });
  afterAll(() => started.server.close());

  it('serves GET /metrics on its own port in the Prometheus text format, and says where in the log', async () => {
    const { reply } = await scrape(metricsPort);

    expect(reply.status).toBe(200);
    expect(reply.header('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(reply.header('cache-control')).toBe('no-store');
    expect(metricsPort).not.toBe(started.server.port);
    expect(started.logs.find((l) => l.event === 'metrics.listening')).toMatchObject({ address: '127.0.0.1', port: metricsPort });
  });

  it('exports every Postern metric with its type, and the default process metrics', async () => {
    const types = metricTypes((await scrape(metricsPort)).reply.body);

    expect(Object.fromEntries([...types].filter(([name]) => name.startsWith('postern_')))).toEqual({
      postern_verify_decisions_total: 'counter',
      postern_verify_duration_seconds: 'histogram',
      postern_sign_ins_total: 'counter',
      postern_throttle_refusals_total: 'counter',
      postern_session_store_errors_total: 'counter',
      postern_oidc_provider_up: 'gauge',
      postern_hash_running: 'gauge',
      postern_hash_queue_length: 'gauge',
      postern_hash_slots_total: 'counter',
      postern_hash_wait_seconds_total: 'counter',
      postern_hash_refusals_total: 'counter',
    });
    expect(types.get('process_cpu_user_seconds_total')).toBe('counter');
    expect(types.get('nodejs_eventloop_lag_p99_seconds')).toBe('gauge');
  });

  it('counts each verify answer once, by flavour, outcome and method, and times it', async () => {
    const before = (await scrape(metricsPort)).samples;
    const browser = await signedIn(started.server.port);
    const anonymous = new TestClient(started.server.port);

    expect((await askVerify(postern, browser, 'nginx', 'https://photos.example.com/')).status).toBe(200);
    expect((await askVerify(postern, browser, 'nginx', 'https://photos.example.com/a')).status).toBe(200);
    expect((await askVerify(postern, anonymous, 'nginx', 'https://photos.example.com/')).status).toBe(401);
    expect((await askVerify(postern, anonymous, 'traefik', 'https://photos.example.com/', { accept: 'application/json' })).status).toBe(401);
    expect((await askVerify(postern, anonymous, 'caddy', 'https://public.example.com/')).status).toBe(200);
    expect((await askVerify(postern, anonymous, 'caddy', 'https://elsewhere.example.org/')).status).toBe(403);
    // No X-Forwarded-Host: the proxy did not say which URL it is asking about.
    expect((await postern.request('http://postern.internal/verify/caddy', { headers: { 'x-forwarded-proto': 'https' } })).status).toBe(403);

    const after = (await scrape(metricsPort)).samples;
    const moved = (labels: Record<string, string>) =>
      (valueOf(after, 'postern_verify_decisions_total', labels) ?? 0) - (valueOf(before, 'postern_verify_decisions_total', labels) ?? 0);
    expect(moved({ flavour: 'nginx', outcome: 'allow', method: 'session' })).toBe(2);
    expect(moved({ flavour: 'nginx', outcome: 'redirect', method: 'none' })).toBe(1);
    expect(moved({ flavour: 'traefik', outcome: 'unauthorized', method: 'none' })).toBe(1);
    expect(moved({ flavour: 'caddy', outcome: 'allow', method: 'none' })).toBe(1);
    expect(moved({ flavour: 'caddy', outcome: 'forbid', method: 'none' })).toBe(1);
    expect(moved({ flavour: 'caddy', outcome: 'error', method: 'none' })).toBe(1);
    const total = (samples: Sample[]) => samples.filter((s) => s.name === 'postern_verify_decisions_total').reduce((sum, s) => sum + s.value, 0);
    expect(total(after) - total(before)).toBe(7);

    const count = (samples: Sample[], flavour: string) => valueOf(samples, 'postern_verify_duration_seconds_count', { flavour }) ?? 0;
    expect(count(after, 'nginx') - count(before, 'nginx')).toBe(3);
    expect(count(after, 'caddy') - count(before, 'caddy')).toBe(3);
    // Every answer took under a second (the top finite bucket), as the buckets assume.
    expect(valueOf(after, 'postern_verify_duration_seconds_bucket', { flavour: 'nginx', le: '1' })).toBe(count(after, 'nginx'));
    expect(valueOf(after, 'postern_verify_duration_seconds_bucket', { flavour: 'nginx', le: '0.0001' })).toBeDefined();
  });

  it('counts sign-ins by method and outcome, and throttle refusals by the scope that refused', async () => {
    const before = (await scrape(metricsPort)).samples;
    const moved = (after: Sample[], name: string, labels: Record<string, string>) => (valueOf(after, name, labels) ?? 0) - (valueOf(before, name, labels) ?? 0);
    // From its own address (told by the trusted loopback proxy), so no other test's attempts count with these.
    const guesser = new TestClient(started.server.port);
    const guess = (password: string) =>
      guesser.request('http://auth.example.com/login', { headers: { 'x-forwarded-for': '198.51.100.77' } }).then(async (page) => {
        const csrf = /name="csrf" value="([^"]+)"/.exec(page.body)![1]!;
        return guesser.request('http://auth.example.com/login', {
          method: 'POST',
          headers: { accept: 'text/html', 'x-forwarded-for': '198.51.100.77' },
          body: new URLSearchParams({ csrf, username: 'alice', password }),
        });
      });

    await signedIn(started.server.port);
    // The default limit per username and address is 5 a minute: five wrong guesses, then refusals.
    for (let i = 0; i < 5; i++) expect((await guess(`wrong-${i}`)).status).toBe(401);
    expect((await guess('wrong-again')).status).toBe(429);
    const stale = await new TestClient(started.server.port).request('http://auth.example.com/login', {
      method: 'POST',
      headers: { accept: 'text/html' },
      body: new URLSearchParams({ csrf: 'stale', username: 'alice', password: PASSWORD }),
    });
    expect(stale.status).toBe(403);

    const after = (await scrape(metricsPort)).samples;
    expect(moved(after, 'postern_sign_ins_total', { method: 'password', outcome: 'success' })).toBe(1);
    expect(moved(after, 'postern_sign_ins_total', { method: 'password', outcome: 'failure' })).toBe(5);
    expect(moved(after, 'postern_sign_ins_total', { method: 'password', outcome: 'throttled' })).toBe(1);
    expect(moved(after, 'postern_sign_ins_total', { method: 'password', outcome: 'rejected' })).toBe(1);
    expect(moved(after, 'postern_throttle_refusals_total', { scope: 'user+ip' })).toBe(1);
    expect(moved(after, 'postern_throttle_refusals_total', { scope: 'ip' })).toBe(0);
  });

  it('counts the second step after a right password under its own method: a wrong code, then the right one', async () => {
    const before = (await scrape(metricsPort)).samples;
    const moved = (after: Sample[], labels: Record<string, string>) => (valueOf(after, 'postern_sign_ins_total', labels) ?? 0) - (valueOf(before, 'postern_sign_ins_total', labels) ?? 0);
    const browser = new TestClient(started.server.port);
    const password = await browser.submitForm('http://auth.example.com/login', { username: 'tina', password: PASSWORD });
    expect(password.status).toBe(303);
    expect(password.header('location')).toBe('http://auth.example.com/login/2fa');
    const code = await tina.code(Date.now());
    const wrong = await browser.submitForm('http://auth.example.com/login/2fa', { code: String((Number(code) + 500_000) % 1_000_000).padStart(6, '0') });
    expect(wrong.status).toBe(401);
    expect((await browser.submitForm('http://auth.example.com/login/2fa', { code })).status).toBe(303);

    const after = (await scrape(metricsPort)).samples;
    expect(moved(after, { method: 'second_factor', outcome: 'failure' })).toBe(1);
    expect(moved(after, { method: 'second_factor', outcome: 'success' })).toBe(1);
    // The password step alone signs nobody in: it is not a sign-in success.
    expect(moved(after, { method: 'password', outcome: 'success' })).toBe(0);
  });

  it('carries no user name, host, path or address in any label', async () => {
    await signedIn(started.server.port);
    const { reply } = await scrape(metricsPort);

    for (const leak of ['alice', 'example.com', 'photos', '203.0.113.7', '/album']) expect(reply.body).not.toContain(leak);
  });

  it('reads the hash limiter at scrape time: each password check took a slot', async () => {
    const before = valueOf((await scrape(metricsPort)).samples, 'postern_hash_slots_total')!;
    await signedIn(started.server.port);
    const after = (await scrape(metricsPort)).samples;

    expect(valueOf(after, 'postern_hash_slots_total')).toBeGreaterThanOrEqual(before + 1);
    expect(valueOf(after, 'postern_hash_queue_length')).toBe(0);
    expect(valueOf(after, 'postern_hash_refusals_total', { reason: 'queue_full' })).toBe(0);
    expect(valueOf(after, 'postern_hash_wait_seconds_total')).toBeGreaterThanOrEqual(0);
  });

  it('has no OIDC provider series and no postern_redis_up without OIDC and Redis configured', async () => {
    const { samples } = await scrape(metricsPort);

    expect(samples.filter((s) => s.name === 'postern_oidc_provider_up')).toEqual([]);
    expect(samples.filter((s) => s.name === 'postern_redis_up')).toEqual([]);
  });

  it('answers 404 for any other path on the metrics port, and 405 for another method on /metrics', async () => {
    const client = new TestClient(metricsPort);

    expect((await client.request('http://127.0.0.1/')).status).toBe(404);
    expect((await client.request('http://127.0.0.1/verify/nginx')).status).toBe(404);
    const post = await client.request('http://127.0.0.1/metrics', { method: 'POST', body: '' });
    expect(post.status).toBe(405);
    expect(post.header('allow')).toBe('GET, HEAD');
  });

  it('answers GET /metrics on the public port with 404: the proxy never reaches the metrics', async () => {
    const reply = await postern.request('http://auth.example.com/metrics', { headers: { accept: 'application/json' } });

    expect(reply.status).toBe(404);
    expect(reply.body).not.toContain('postern_');
  });
});

describe('a metrics.port already in use', () => {
  it('stops the start with an error naming metrics.port and the address', async () => {
    const taken = createNetServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as AddressInfo).port;
    try {
      await expect(start({ metrics: { address: '127.0.0.1', port } })).rejects.toThrow(`metrics.port: cannot listen on 127.0.0.1:${port} (EADDRINUSE)`);
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });
});

describe('without metrics.port', () => {
  it('starts no metrics listener, and /metrics on the public port is 404', async () => {
    const { server, logs } = await start({ metrics: { address: '127.0.0.1' } });
    try {
      expect(server.metricsPort).toBeUndefined();
      expect(logs.some((l) => l.event === 'metrics.listening')).toBe(false);
      expect((await new TestClient(server.port).request('http://auth.example.com/metrics')).status).toBe(404);
    } finally {
      await server.close();
    }
  });
});

describe('with Redis', () => {
  let redis: RedisProcess;
  let started: Started;

  beforeAll(async () => {
    redis = await startRedis();
    started = await start({ metrics: { port: 0 }, session: { domain: 'example.com', redis: { url: redis.url } } });
  });
  afterAll(async () => {
    await started?.server.close();
    await redis?.stop();
  });

  it('shows Redis up, then down with the failed session reads counted and verify failing closed as error', async () => {
    const port = started.server.metricsPort!;
    const browser = await signedIn(started.server.port);
    const postern = new TestClient(started.server.port);
    expect(valueOf((await scrape(port)).samples, 'postern_redis_up')).toBe(1);
    const before = (await scrape(port)).samples;

    await redis.stop();
    await waitFor(async () => valueOf((await scrape(port)).samples, 'postern_redis_up') === 0, { what: 'postern_redis_up 0' });
    expect((await askVerify(postern, browser, 'nginx', 'https://photos.example.com/')).status).toBe(503);
    const after = (await scrape(port)).samples;

    const moved = (name: string, labels: Record<string, string>) => (valueOf(after, name, labels) ?? 0) - (valueOf(before, name, labels) ?? 0);
    expect(moved('postern_session_store_errors_total', { operation: 'get' })).toBe(1);
    expect(moved('postern_verify_decisions_total', { flavour: 'nginx', outcome: 'error', method: 'none' })).toBe(1);

    await redis.start();
    await waitFor(async () => valueOf((await scrape(port)).samples, 'postern_redis_up') === 1, { what: 'postern_redis_up 1', timeoutMs: 10_000 });
  });
});

describe('with OIDC providers', () => {
  let idp: TestIdp;
  let started: Started;

  beforeAll(async () => {
    idp = await startIdp({
      accounts: {},
      clients: [{ client_id: 'postern', client_secret: 'a-client-secret-for-tests', redirect_uris: ['http://auth.example.com/oidc/home/callback'] }],
    });
    const closed = await freePort();
    started = await start({
      metrics: { port: 0 },
      oidc: {
        providers: [
          { id: 'home', issuer_url: idp.issuer, client_id: 'postern', client_secret: 'a-client-secret-for-tests' },
          { id: 'gone', issuer_url: `http://127.0.0.1:${closed}`, client_id: 'postern' },
        ],
      },
    });
  });
  afterAll(async () => {
    await started?.server.close();
    await idp?.close();
  });

  it('reads each provider\'s availability at scrape time, labelled by its configured id', async () => {
    const samples = await waitFor(async () => {
      const { samples } = await scrape(started.server.metricsPort!);
      return valueOf(samples, 'postern_oidc_provider_up', { provider: 'home' }) === 1 ? samples : undefined;
    }, { what: 'provider home up' });

    expect(valueOf(samples, 'postern_oidc_provider_up', { provider: 'gone' })).toBe(0);
    expect(samples.filter((s) => s.name === 'postern_oidc_provider_up').map((s) => s.labels)).toEqual([{ provider: 'home' }, { provider: 'gone' }]);
  });
});
