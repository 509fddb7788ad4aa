import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisClient } from '../../src/store/redis-client.js';
import { RedisSessionStore } from '../../src/store/redis-store.js';
import { CachedSessionStore } from '../../src/store/cached-store.js';
import { startApp, type AppFixture } from '../support/app-fixture.js';
import { TestClient } from '../support/http-client.js';
import { startRedis, type RedisProcess } from '../support/redis-server.js';
import { askVerify } from '../support/verify-client.js';
import { waitFor } from '../support/wait.js';

const CONFIG = {
  server: { public_url: 'http://auth.example.com', trusted_proxies: ['loopback'] },
  session: { domain: 'example.com' },
};
const PASSWORD = 'correct horse battery';
const RD = 'https://photos.example.com/';

let redis: RedisProcess;
let app: AppFixture;
let postern: TestClient;

beforeAll(async () => {
  redis = await startRedis();
  // Composed as main.ts does: the verify read cache in front of Redis.
  const client = createRedisClient(redis.url);
  const store = new CachedSessionStore(new RedisSessionStore(client), { backendUp: () => client.status === 'ready' });
  await waitFor(() => store.ping(), { what: 'redis to answer' });
  app = await startApp(CONFIG, { alice: { password: PASSWORD } }, { store });
  postern = new TestClient(app.port);
});
afterAll(async () => {
  await app.close();
  await redis.stop();
});

describe('sessions in a real redis-server', () => {
  it('keeps the session in Redis with a TTL, and only an opaque id in the cookie', async () => {
    const browser = new TestClient(app.port);
    await browser.submitForm('http://auth.example.com/login', { username: 'alice', password: PASSWORD });
    expect((await askVerify(postern, browser, 'nginx', RD)).status).toBe(200);
    const sid = /postern_session=([^;]+)/.exec(await browser.jar.getCookieString(RD))![1]!;
    const inspect = createRedisClient(redis.url);
    try {
      await waitFor(() => inspect.ping().then(() => true), { what: 'inspection client' });
      const ttl = await inspect.pttl(`postern:session:${sid}`);
      expect(ttl).toBeGreaterThan(23 * 3600_000);
      expect(ttl).toBeLessThanOrEqual(24 * 3600_000 + 10_000);
      const value = JSON.parse((await inspect.get(`postern:session:${sid}`))!) as Record<string, unknown>;
      expect(value).toMatchObject({ user: 'alice', via: 'local' });
      expect(JSON.stringify(value)).not.toContain('argon2');
    } finally {
      inspect.disconnect();
    }
  });

  it('fails closed within 200 ms while Redis is down, reports not ready, and recovers by itself', async () => {
    const browser = new TestClient(app.port);
    await browser.submitForm('http://auth.example.com/login', { username: 'alice', password: PASSWORD });
    expect((await askVerify(postern, browser, 'traefik', RD)).status).toBe(200);

    await redis.stop();
    for (const flavour of ['nginx', 'traefik', 'caddy'] as const) {
      const started = performance.now();
      const reply = await askVerify(postern, browser, flavour, RD);
      const elapsed = performance.now() - started;
      expect(reply.status).toBe(503);
      expect(reply.header('remote-user')).toBeUndefined();
      expect(reply.header('retry-after')).toBe('1');
      expect(elapsed).toBeLessThan(200);
    }
    const notReady = await postern.request('http://auth.example.com/readyz');
    expect(notReady.status).toBe(503);
    expect(JSON.parse(notReady.body)).toEqual({ status: 'unavailable', failing: ['session store'] });
    const loginPage = await browser.get('http://auth.example.com/login');
    expect(loginPage.status).toBe(503);
    expect(loginPage.body).toContain('The session store is not answering');

    // The test's redis-server keeps nothing on disk, so the restarted one has forgotten the session:
    // recovery means verify decides again (a login redirect), and a new sign-in works, with no restart of Postern.
    await redis.start();
    await waitFor(async () => (await askVerify(postern, browser, 'traefik', RD)).status === 302, { timeoutMs: 5000, what: 'verify to recover' });
    expect((await postern.request('http://auth.example.com/readyz')).status).toBe(200);
    await browser.submitForm('http://auth.example.com/login', { username: 'alice', password: PASSWORD });
    expect((await askVerify(postern, browser, 'traefik', RD)).status).toBe(200);
  });

  it('fails closed within 200 ms while Redis hangs (the command timeout, not a refused connection)', async () => {
    const browser = new TestClient(app.port);
    await browser.submitForm('http://auth.example.com/login', { username: 'alice', password: PASSWORD });
    redis.pause();
    try {
      const started = performance.now();
      const reply = await askVerify(postern, browser, 'nginx', RD);
      expect(reply.status).toBe(503);
      expect(performance.now() - started).toBeLessThan(200 + 100);
    } finally {
      redis.resume();
    }
    await waitFor(async () => (await askVerify(postern, browser, 'nginx', RD)).status === 200, { timeoutMs: 5000, what: 'verify to recover' });
  });
});
