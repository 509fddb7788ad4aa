import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type AppFixture } from '../support/app-fixture.js';
import { TestClient } from '../support/http-client.js';
import { askVerify } from '../support/verify-client.js';

const CONFIG = {
  server: { public_url: 'http://auth.example.com', trusted_proxies: ['loopback'] },
  session: { domain: 'example.com' },
};
const USERS = { alice: { password: 'correct horse battery', role: 'admin', groups: ['family', 'admins'], email: 'alice@example.com', name: 'Alice Liddell' } };

let app: AppFixture;
let postern: TestClient;

async function signedInBrowser(): Promise<TestClient> {
  const browser = new TestClient(app.port);
  const reply = await browser.submitForm('http://auth.example.com/login', { username: 'alice', password: 'correct horse battery' });
  expect(reply.status).toBe(303);
  return browser;
}

beforeAll(async () => {
  app = await startApp(CONFIG, USERS);
  postern = new TestClient(app.port);
});
afterAll(() => app.close());

function expectEmptyVerifyReply(reply: { body: string; header(n: string): string | undefined }) {
  expect(reply.body).toBe('');
  expect(reply.header('content-length')).toBe('0');
  expect(reply.header('cache-control')).toBe('no-store');
  expect(reply.header('etag')).toBeUndefined();
}

describe('GET /verify/nginx', () => {
  it('answers an anonymous browser with 401 and an absolute Location to the login page carrying the original URL', async () => {
    const reply = await askVerify(postern, new TestClient(app.port), 'nginx', 'https://photos.example.com/album/7?x=1');
    expect(reply.status).toBe(401);
    expect(reply.header('location')).toBe(`http://auth.example.com/login?rd=${encodeURIComponent('https://photos.example.com/album/7?x=1')}`);
    expectEmptyVerifyReply(reply);
  });

  it('answers an anonymous API client with 401 and no Location, so nginx does not redirect it', async () => {
    const reply = await askVerify(postern, new TestClient(app.port), 'nginx', 'https://photos.example.com/api/x', { accept: 'application/json' });
    expect(reply.status).toBe(401);
    expect(reply.header('location')).toBeUndefined();
    expect(reply.header('www-authenticate')).toBe('Postern realm="postern"');
    expectEmptyVerifyReply(reply);
  });

  it('answers an anonymous POST with 401 + Location too (nginx turns any 3xx into a 500)', async () => {
    const reply = await askVerify(postern, new TestClient(app.port), 'nginx', 'https://photos.example.com/upload', { method: 'POST' });
    expect(reply.status).toBe(401);
    expect(reply.header('location')).toMatch(/^http:\/\/auth\.example\.com\/login\?rd=/);
  });

  it('allows a signed-in user with all five identity headers', async () => {
    const browser = await signedInBrowser();
    const reply = await askVerify(postern, browser, 'nginx', 'https://photos.example.com/');
    expect(reply.status).toBe(200);
    expect(reply.header('remote-user')).toBe('alice');
    expect(reply.header('remote-role')).toBe('admin');
    expect(reply.header('remote-groups')).toBe('family,admins');
    expect(reply.header('remote-email')).toBe('alice@example.com');
    expect(reply.header('remote-name')).toBe('Alice Liddell');
    expectEmptyVerifyReply(reply);
  });

  it('never answers 304, whatever conditional headers the client sent', async () => {
    const browser = await signedInBrowser();
    const reply = await askVerify(postern, browser, 'nginx', 'https://photos.example.com/', { headers: { 'if-none-match': '*', 'if-modified-since': new Date().toUTCString() } });
    expect(reply.status).toBe(200);
  });

  it('denies with 403 a signed-in user on a host outside session.domain', async () => {
    const browser = await signedInBrowser();
    const reply = await askVerify(postern, browser, 'nginx', 'https://evil.test/', { headers: { cookie: (await browser.jar.getCookieString('https://photos.example.com/')) } });
    expect(reply.status).toBe(403);
    expectEmptyVerifyReply(reply);
  });

  it('denies with 403 a request that does not say which URL it is about', async () => {
    const reply = await postern.request('http://postern.internal/verify/nginx', { headers: { accept: 'text/html' } });
    expect(reply.status).toBe(403);
    expect(app.logs.some((l) => String(l.msg).includes('does not say which URL'))).toBe(true);
  });

  it('ignores a session cookie that the store does not know', async () => {
    const reply = await askVerify(postern, new TestClient(app.port), 'nginx', 'https://photos.example.com/', { headers: { cookie: 'postern_session=forged-0123456789abcdef0123456789abcdef' } });
    expect(reply.status).toBe(401);
  });
});

describe.each(['traefik', 'caddy'] as const)('GET /verify/%s', (flavour) => {
  it('redirects an anonymous browser GET with 302 to the login page with the original URL', async () => {
    const reply = await askVerify(postern, new TestClient(app.port), flavour, 'https://photos.example.com/a?b=1');
    expect(reply.status).toBe(302);
    expect(reply.header('location')).toBe(`http://auth.example.com/login?rd=${encodeURIComponent('https://photos.example.com/a?b=1')}`);
    expectEmptyVerifyReply(reply);
  });

  it('redirects an anonymous HEAD with 302 and any other method with 303', async () => {
    expect((await askVerify(postern, new TestClient(app.port), flavour, 'https://photos.example.com/', { method: 'HEAD' })).status).toBe(302);
    expect((await askVerify(postern, new TestClient(app.port), flavour, 'https://photos.example.com/', { method: 'POST' })).status).toBe(303);
    expect((await askVerify(postern, new TestClient(app.port), flavour, 'https://photos.example.com/', { method: 'DELETE' })).status).toBe(303);
  });

  it.each([{ accept: 'application/json' }, { accept: 'text/html', headers: { 'x-requested-with': 'XMLHttpRequest' } }, { accept: '*/*' }])(
    'answers an anonymous API or XHR client (%j) with 401 and a JSON body naming the login URL',
    async (opts) => {
      const reply = await askVerify(postern, new TestClient(app.port), flavour, 'https://photos.example.com/api', opts);
      expect(reply.status).toBe(401);
      expect(reply.header('location')).toBeUndefined();
      expect(reply.header('content-type')).toMatch(/^application\/json/);
      expect(JSON.parse(reply.body)).toEqual({
        error: 'unauthenticated',
        message: 'Sign in first.',
        login_url: `http://auth.example.com/login?rd=${encodeURIComponent('https://photos.example.com/api')}`,
      });
    },
  );

  it('does not decide on User-Agent', async () => {
    const reply = await askVerify(postern, new TestClient(app.port), flavour, 'https://photos.example.com/', { accept: 'application/json', headers: { 'user-agent': 'Mozilla/5.0 (X11; Linux) Chrome/120' } });
    expect(reply.status).toBe(401);
  });

  it('ignores a client-sent X-Original-URL, which this proxy passes through untouched', async () => {
    const browser = await signedInBrowser();
    const reply = await askVerify(postern, browser, flavour, 'https://evil.test/', {
      headers: { 'x-original-url': 'https://photos.example.com/', cookie: await browser.jar.getCookieString('https://photos.example.com/') },
    });
    expect(reply.status).toBe(403);
  });

  it('allows a signed-in user with the identity headers', async () => {
    const browser = await signedInBrowser();
    const reply = await askVerify(postern, browser, flavour, 'https://photos.example.com/');
    expect(reply.status).toBe(200);
    expect(reply.header('remote-user')).toBe('alice');
  });
});

describe('a verify request from a peer outside server.trusted_proxies', () => {
  it('is denied with 403 and the log names the address to add, once a minute', async () => {
    const strict = await startApp({ ...CONFIG, server: { ...CONFIG.server, trusted_proxies: ['10.0.0.0/8'] } }, USERS);
    try {
      const client = new TestClient(strict.port);
      const first = await askVerify(client, client, 'nginx', 'https://photos.example.com/');
      const second = await askVerify(client, client, 'nginx', 'https://photos.example.com/');
      expect(first.status).toBe(403);
      expect(second.status).toBe(403);
      const warnings = strict.logs.filter((l) => String(l.msg).includes('not in server.trusted_proxies'));
      expect(warnings).toHaveLength(1);
      expect(String(warnings[0]!.msg)).toContain('add 127.0.0.1 to server.trusted_proxies');
    } finally {
      await strict.close();
    }
  });
});
