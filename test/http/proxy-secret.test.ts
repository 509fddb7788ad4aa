import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type AppFixture } from '../support/app-fixture.js';
import { TestClient } from '../support/http-client.js';
import { askVerify } from '../support/verify-client.js';

const SECRET = 'b5c0a1f4e8d2493f9a7c6e1d0f3b2a85';
const CONFIG = {
  server: { public_url: 'http://auth.example.com', trusted_proxies: ['loopback'], proxy_secret: SECRET },
  session: { domain: 'example.com' },
};
const USERS = { alice: { password: 'correct horse battery', role: 'admin', email: 'alice@example.com' } };

let app: AppFixture;
let postern: TestClient;
let clock = Date.now();

beforeAll(async () => {
  app = await startApp(CONFIG, USERS, { now: () => clock });
  postern = new TestClient(app.port);
});
afterAll(() => app.close());

async function signedInBrowser(): Promise<TestClient> {
  const browser = new TestClient(app.port);
  const reply = await browser.submitForm('http://auth.example.com/login', { username: 'alice', password: 'correct horse battery' });
  expect(reply.status).toBe(303);
  return browser;
}

const proxySecretWarnings = () => app.logs.filter((l) => String(l.msg).includes('X-Postern-Proxy-Secret'));

describe.each(['nginx', 'traefik', 'caddy'] as const)('server.proxy_secret set, verify/%s', (flavour) => {
  it.each([
    ['no X-Postern-Proxy-Secret', {}],
    ['an empty one', { 'x-postern-proxy-secret': '' }],
    ['a wrong one of the same length', { 'x-postern-proxy-secret': SECRET.replace(/.$/, '0') }],
    ['a longer one that starts with the secret', { 'x-postern-proxy-secret': `${SECRET}x` }],
    ['the secret in another case', { 'x-postern-proxy-secret': SECRET.toUpperCase() }],
  ])('answers 403 with an empty reply to a signed-in browser when the proxy sends %s', async (_, headers) => {
    const browser = await signedInBrowser();
    const reply = await askVerify(postern, browser, flavour, 'https://photos.example.com/', { headers });
    expect(reply.status).toBe(403);
    expect(reply.body).toBe('');
    expect(reply.header('remote-user')).toBeUndefined();
    expect(reply.header('location')).toBeUndefined();
  });

  it('allows a signed-in browser when the proxy sends the secret', async () => {
    const browser = await signedInBrowser();
    const reply = await askVerify(postern, browser, flavour, 'https://photos.example.com/', { headers: { 'x-postern-proxy-secret': SECRET } });
    expect(reply.status).toBe(200);
    expect(reply.header('remote-user')).toBe('alice');
  });

  it('asks an anonymous browser to sign in, as without a proxy secret, when the proxy sends it', async () => {
    const reply = await askVerify(postern, new TestClient(app.port), flavour, 'https://photos.example.com/', { headers: { 'x-postern-proxy-secret': SECRET } });
    expect(reply.status).toBe(flavour === 'nginx' ? 401 : 302);
    expect(reply.header('location')).toMatch(/^http:\/\/auth\.example\.com\/login\?rd=/);
  });
});

describe('server.proxy_secret and the rest of Postern', () => {
  it('is not asked of a browser on the sign-in page (only verify requests come from the proxy alone)', async () => {
    const reply = await new TestClient(app.port).request('http://auth.example.com/login');
    expect(reply.status).toBe(200);
  });

  it('refuses a request that sends the header twice, even if one copy is right', async () => {
    const reply = await postern.request('http://postern.internal/verify/caddy', {
      headers: { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'photos.example.com', 'x-forwarded-uri': '/', 'x-postern-proxy-secret': [SECRET, 'mallory'] },
    });
    expect(reply.status).toBe(403);
  });
});

describe('the log line about a missing or wrong proxy secret', () => {
  it('names the peer, says missing or wrong, comes at most once a minute per peer, and never shows a secret', async () => {
    clock += 120_000;
    const before = proxySecretWarnings().length;
    const anonymous = new TestClient(app.port);
    await askVerify(postern, anonymous, 'nginx', 'https://photos.example.com/');
    await askVerify(postern, anonymous, 'nginx', 'https://photos.example.com/', { headers: { 'x-postern-proxy-secret': 'wrong-secret-guess-1234' } });
    clock += 30_000;
    await askVerify(postern, anonymous, 'nginx', 'https://photos.example.com/');
    const withinAMinute = proxySecretWarnings().slice(before);
    expect(withinAMinute).toHaveLength(1);
    expect(withinAMinute[0]).toMatchObject({ level: 40, peer: '127.0.0.1', proxy_secret: 'missing' });
    expect(String(withinAMinute[0]!.msg)).toContain('verify request from 127.0.0.1 without the right X-Postern-Proxy-Secret (server.proxy_secret); denied');

    clock += 31_000;
    await askVerify(postern, anonymous, 'nginx', 'https://photos.example.com/', { headers: { 'x-postern-proxy-secret': 'wrong-secret-guess-1234' } });
    const afterAMinute = proxySecretWarnings().slice(before);
    expect(afterAMinute).toHaveLength(2);
    expect(afterAMinute[1]).toMatchObject({ peer: '127.0.0.1', proxy_secret: 'wrong' });
    expect(app.rawLog()).not.toContain(SECRET);
    expect(app.rawLog()).not.toContain('wrong-secret-guess-1234');
  });
});
