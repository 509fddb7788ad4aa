import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { CachedSessionStore } from '../../src/store/cached-store.js';
import { MemorySessionStore } from '../../src/store/memory-store.js';
import { StoreUnavailableError } from '../../src/store/session-store.js';
import { createLoginThrottle } from '../../src/auth/login-throttle.js';
import { createRedisClient } from '../../src/store/redis-client.js';
import { startApp, type AppFixture } from '../support/app-fixture.js';
import { askedStore } from '../support/asked-store.js';
import { addAppPassword, basic } from '../support/app-passwords.js';
import { startRedis } from '../support/redis-server.js';
import { TestClient } from '../support/http-client.js';
import { askVerify } from '../support/verify-client.js';

// Verify answers a session whose read the store has at hand (a fresh read in the cache, the memory
// store) within the server's own request call, without waiting for a later turn of the event loop;
// anything else it answers when the store has answered. Same answers either way.

const CONFIG = {
  server: { public_url: 'http://auth.example.com', trusted_proxies: ['loopback'] },
  session: { domain: 'example.com' },
};
const USERS = { alice: { password: 'correct horse battery', role: 'admin', groups: ['family'], email: 'alice@example.com', name: 'Alice' } };

let app: AppFixture | undefined;
let server: Server | undefined;
afterEach(async () => {
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  server = undefined;
  await app?.close();
  app = undefined;
});

/**
 * The app as main.ts serves it, on a second port whose listener records, for each verify request,
 * whether the reply had ended when the app's request call returned.
 */
async function recordingServer(fixture: AppFixture): Promise<{ port: number; endedWithinCall: boolean[] }> {
  const listener = buildApp(fixture.deps).callback();
  const endedWithinCall: boolean[] = [];
  server = createServer((req: IncomingMessage, res: ServerResponse) => {
    void listener(req, res);
    if (req.url?.startsWith('/verify/')) endedWithinCall.push(res.writableEnded);
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, endedWithinCall };
}

async function signIn(port: number): Promise<TestClient> {
  const browser = new TestClient(port);
  const reply = await browser.submitForm('http://auth.example.com/login', { username: 'alice', password: 'correct horse battery' });
  expect(reply.status).toBe(303);
  return browser;
}

describe('verify with the session read at hand', () => {
  it('answers a cached session within the call, with the same 200 and identity headers as a read from the store', async () => {
    const inner = new MemorySessionStore();
    app = await startApp(CONFIG, USERS, { store: new CachedSessionStore(askedStore(inner), { backendUp: () => true }) });
    const { port, endedWithinCall } = await recordingServer(app);
    const postern = new TestClient(port);
    const browser = await signIn(app.port);

    const first = await askVerify(postern, browser, 'nginx', 'https://photos.example.com/');
    const second = await askVerify(postern, browser, 'nginx', 'https://photos.example.com/album');
    expect([first.status, second.status]).toEqual([200, 200]);
    for (const reply of [first, second]) {
      expect(reply.header('remote-user')).toBe('alice');
      expect(reply.header('remote-email')).toBe('alice@example.com');
      expect(reply.header('content-length')).toBe('0');
    }
    // The first read went to the store; the second was in the cache.
    expect(endedWithinCall).toEqual([false, true]);
  });

  it('sees a sign-out at once: the cache entry goes with it, and the store is asked again', async () => {
    const inner = new MemorySessionStore();
    app = await startApp(CONFIG, USERS, { store: new CachedSessionStore(askedStore(inner), { backendUp: () => true }) });
    const { port, endedWithinCall } = await recordingServer(app);
    const postern = new TestClient(port);
    const browser = await signIn(app.port);
    expect((await askVerify(postern, browser, 'nginx', 'https://photos.example.com/')).status).toBe(200);

    const cookie = await browser.jar.getCookieString('https://photos.example.com/');
    // The home page's sign-out form.
    const logout = await browser.submitForm('http://auth.example.com/', {});
    expect(logout.status).toBe(303);
    // The old cookie, replayed straight after: the cache entry went with the session.
    const after = await askVerify(postern, new TestClient(port), 'nginx', 'https://photos.example.com/', { headers: { cookie } });
    expect(after.status).toBe(401);
    expect(after.header('location')).toMatch(/^http:\/\/auth\.example\.com\/login\?rd=/);
    expect(endedWithinCall).toEqual([false, false]);
  });

  it('never answers from the cache while the backend is down: the store is asked, and its failure is a 503', async () => {
    let up = true;
    const inner = new MemorySessionStore();
    const store = askedStore(inner, (id) => (up ? inner.get(id) : Promise.reject(new StoreUnavailableError('redis is down'))));
    app = await startApp(CONFIG, USERS, { store: new CachedSessionStore(store, { backendUp: () => up }) });
    const { port, endedWithinCall } = await recordingServer(app);
    const postern = new TestClient(port);
    const browser = await signIn(app.port);
    expect((await askVerify(postern, browser, 'nginx', 'https://photos.example.com/')).status).toBe(200);
    expect((await askVerify(postern, browser, 'nginx', 'https://photos.example.com/')).status).toBe(200);

    up = false;
    const down = await askVerify(postern, browser, 'nginx', 'https://photos.example.com/');
    expect(down.status).toBe(503);
    expect(endedWithinCall).toEqual([false, true, false]);
  });

  it('answers from the memory store within the call, as the memory store holds every session', async () => {
    app = await startApp(CONFIG, USERS);
    const { port, endedWithinCall } = await recordingServer(app);
    const postern = new TestClient(port);
    const browser = await signIn(app.port);
    const reply = await askVerify(postern, browser, 'traefik', 'https://photos.example.com/');
    expect(reply.status).toBe(200);
    expect(reply.header('remote-user')).toBe('alice');
    const anonymous = await askVerify(postern, new TestClient(port), 'traefik', 'https://photos.example.com/');
    expect(anonymous.status).toBe(302);
    expect(endedWithinCall).toEqual([true, true]);
  });

  it('answers an app password or a Basic pair verified in this window within the call, when the throttle is in Redis', async () => {
    const redisServer = await startRedis();
    const redis = createRedisClient(redisServer.url, { commandTimeoutMs: 1_000 });
    try {
      app = await startApp({ ...CONFIG, tokens: { basic_account_password: true } }, USERS, {
        extraDeps: (base) => ({ throttle: createLoginThrottle(base.config.login.throttle, { redis, keyPrefix: 'at-hand' }) }),
      });
      const { port, endedWithinCall } = await recordingServer(app);
      const postern = new TestClient(port);
      const phone = await addAppPassword(app, 'alice', { name: 'phone' });
      const anonymous = new TestClient(port);
      const asked = (authorization: string) => askVerify(postern, anonymous, 'nginx', 'https://photos.example.com/api', { accept: 'application/json', headers: { authorization: authorization } });

      for (const authorization of [`Bearer ${phone.token}`, basic('alice', 'correct horse battery')]) {
        const first = await asked(authorization);
        const second = await asked(authorization);
        for (const reply of [first, second]) {
          expect(reply.status).toBe(200);
          expect(reply.header('remote-user')).toBe('alice');
        }
      }
      // A wrong one is never at hand: it always takes the full path, and the throttle counts it.
      expect((await asked(`Bearer ${phone.token}x`)).status).toBe(401);
      // First use of each: verified, then remembered for the window.
      expect(endedWithinCall).toEqual([false, true, false, true, false]);
    } finally {
      redis.disconnect();
      await redisServer.stop();
    }
  });
});
