import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemorySessionStore } from '../../src/store/memory-store.js';
import type { SessionData } from '../../src/store/session-store.js';
import { startApp, type AppFixture } from '../support/app-fixture.js';

/**
 * Requests the fuzz test (test/e2e/fuzz.test.ts) found answered with a 5xx, each pinned here:
 * a bad request gets a 4xx, never a 500.
 */

let app: AppFixture;
const store = new MemorySessionStore();

beforeAll(async () => {
  app = await startApp(
    { server: { public_url: 'http://auth.example.com', trusted_proxies: ['loopback'] }, session: { domain: 'example.com' } },
    { alice: { password: 'alice-password-123' } },
    { store },
  );
});
afterAll(async () => {
  await app?.close();
});

/** Sends exactly this method and request target (TestClient would normalise the path). */
function raw(method: string, path: string, body?: string, cookie?: string, more: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: app.port, method, path, headers: { host: 'auth.example.com', ...more, ...(cookie ? { cookie } : {}), ...(body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('odd requests get a 4xx', () => {
  // Found by the fuzzer: @koa/router answers 501 Not Implemented for a method it has never heard of.
  it.each(['PROPFIND', 'M-SEARCH', 'MKCOL'])('a method no route knows (%s) on a known path: 405 with Allow', async (method) => {
    const reply = await raw(method, '/login');
    expect(reply.status).toBe(405);
    expect(reply.headers.allow).toBe('HEAD, GET, POST');
  });

  // Found by the fuzzer: a request target starting with '//' (a network-path reference) answered 500.
  it.each(['//=K(44K96[F^hIvAb#2f=xNh-S@)M7N5', '//login', '//[::1', '//a:b@c'])('a request target starting with // (%s)', async (path) => {
    for (const method of ['GET', 'POST']) {
      const reply = await raw(method, path, method === 'POST' ? 'csrf=x' : undefined);
      expect(reply.status, `${method} ${path}`).toBeGreaterThanOrEqual(400);
      expect(reply.status, `${method} ${path}`).toBeLessThan(500);
    }
  });

  // Found by the fuzzer: koa-session copies stored keys onto its Session object, so a stored "__proto__"
  // replaced its prototype and a stored "toJSON" its method (then session.toJSON is not a function): 500.
  // "length" (a getter) is refused the same way; "_maxAge" is koa-session's own field and only shapes the cookie.
  it.each([
    ['an own "__proto__" key', '{"__proto__":{"user":"admin"},"x":1}'],
    ['a "length" key', '{"length":3}'],
    ['a "toJSON" key', '{"toJSON":"x"}'],
    ['a "_maxAge" key', '{"_maxAge":"x"}'],
  ])('a stored session with %s is a signed-out visitor on every page', async (_name, extra) => {
    const now = Date.now();
    const base = { user: 'alice', via: 'local', created: now, expires: now + 60_000, seen: now };
    const id = `odd${'x'.repeat(40)}`;
    await store.set(id, { ...(JSON.parse(extra) as object), ...base } as SessionData, 60_000);
    for (const [method, path] of [['GET', '/login'], ['GET', '/'], ['GET', '/logout'], ['POST', '/login'], ['POST', '/logout']] as const) {
      const reply = await raw(method, path, method === 'POST' ? 'csrf=x' : undefined, `postern_session=${id}`);
      expect(reply.status, `${method} ${path}`).toBeLessThan(500);
    }
    expect((await raw('GET', '/login', undefined, `postern_session=${id}`)).body).toContain('<h1>Sign in</h1>');
  });
});

// Verify is answered from the server's request listener, ahead of Koa (http/exact-routes.ts); a
// request target that only Koa's URL parsing reads as a verify path reaches the same handler there.
describe('verify, however the request target spells its path', () => {
  const asked = { 'x-original-url': 'https://photos.example.com/a', accept: 'text/html' };
  const targets = ['/verify/nginx', '/verify/nginx?x=1', '/verify/nginx#x', 'http://auth.example.com/verify/nginx'];

  it.each(targets)('GET %s: the same verify answer (401 + Location, empty, no-store)', async (target) => {
    const reply = await raw('GET', target, undefined, undefined, asked);
    expect(reply.status).toBe(401);
    expect(reply.headers.location).toBe(`http://auth.example.com/login?rd=${encodeURIComponent('https://photos.example.com/a')}`);
    expect(reply.headers['content-length']).toBe('0');
    expect(reply.headers['cache-control']).toBe('no-store');
    expect(reply.body).toBe('');
  });

  it.each(targets)('POST %s: 405 with Allow: HEAD, GET', async (target) => {
    const reply = await raw('POST', target, 'x=1', undefined, asked);
    expect(reply.status).toBe(405);
    expect(reply.headers.allow).toBe('HEAD, GET');
  });
});
