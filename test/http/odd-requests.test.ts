import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type AppFixture } from '../support/app-fixture.js';

/**
 * Requests the fuzz test (test/e2e/fuzz.test.ts) found answered with a 5xx, each pinned here:
 * a bad request gets a 4xx, never a 500.
 */

let app: AppFixture;

beforeAll(async () => {
  app = await startApp({ server: { public_url: 'http://auth.example.com', trusted_proxies: ['loopback'] }, session: { domain: 'example.com' } }, { alice: { password: 'alice-password-123' } });
});
afterAll(async () => {
  await app?.close();
});

/** Sends exactly this method and request target (TestClient would normalise the path). */
function raw(method: string, path: string, body?: string): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: app.port, method, path, headers: { host: 'auth.example.com', ...(body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) } }, (res) => {
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
});
