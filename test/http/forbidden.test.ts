import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type AppFixture } from '../support/app-fixture.js';
import { TestClient, parseForm, type Reply } from '../support/http-client.js';
import { askVerify } from '../support/verify-client.js';

const CONFIG = {
  server: { public_url: 'http://auth.example.com', trusted_proxies: ['loopback'] },
  session: { domain: 'example.com' },
  access: {
    default_policy: 'deny',
    rules: [
      { hosts: ['closed.example.com'], policy: 'deny' },
      { hosts: ['admin.example.com'], subjects: ['role:admin'], policy: 'authenticated' },
      { hosts: ['nvr.example.com'], subjects: ['role:admin', 'role:viewer'], policy: 'authenticated' },
      { hosts: ['*.example.com'], policy: 'authenticated' },
    ],
  },
};
const USERS = {
  alice: { password: 'correct horse battery', role: 'admin' },
  vera: { password: 'viewer password one', role: 'viewer', name: 'Vera Viewer' },
  bob: { password: 'plain user password', role: 'user' },
};

let app: AppFixture;
let postern: TestClient;

async function signedIn(user: keyof typeof USERS): Promise<TestClient> {
  const browser = new TestClient(app.port);
  const reply = await browser.submitForm('http://auth.example.com/login', { username: user, password: USERS[user].password });
  expect(reply.status).toBe(303);
  return browser;
}

function expectPageHeaders(reply: Reply) {
  expect(reply.header('content-type')).toBe('text/html; charset=utf-8');
  expect(reply.header('cache-control')).toBe('no-store');
  expect(reply.header('x-frame-options')).toBe('DENY');
  expect(reply.header('content-security-policy')).toContain("form-action http://auth.example.com 'self'");
}

beforeAll(async () => {
  app = await startApp(CONFIG, USERS);
  postern = new TestClient(app.port);
});
afterAll(() => app.close());

describe("verify's 403 for a browser (Traefik and Caddy show its body)", () => {
  it('tells a viewer who they are, that writes are not allowed for their role, and offers to switch user', async () => {
    const vera = await signedIn('vera');
    const reply = await askVerify(postern, vera, 'traefik', 'http://nvr.example.com/settings', { method: 'POST' });
    expect(reply.status).toBe(403);
    expectPageHeaders(reply);
    // Served on the protected host's origin, where 'self' is the app: this page allows no script at all.
    expect(reply.header('content-security-policy')).not.toContain('script-src');
    expect(reply.header('content-length')).toBe(String(Buffer.byteLength(reply.body)));
    expect(reply.body).toContain('You are signed in as <strong>Vera Viewer</strong> (vera), role <strong>viewer</strong>.');
    expect(reply.body).toContain('you may look at <strong>nvr.example.com</strong>, but not change anything there (a POST request was refused)');
    expect(reply.body).not.toMatch(/rules\[\d+\]|rule \d/);
    const form = parseForm(reply.body);
    expect(form.action).toBe('http://auth.example.com/forbidden');
    expect(form.fields.rd).toBe('http://nvr.example.com/settings');
    expect(form.fields.csrf).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(reply.body).toContain('<a href="http://auth.example.com/">');
  });

  it('says a user outside the rule\'s subjects is not one of those allowed', async () => {
    const bob = await signedIn('bob');
    const reply = await askVerify(postern, bob, 'caddy', 'http://admin.example.com/');
    expect(reply.status).toBe(403);
    expect(reply.body).toContain('You are signed in as <strong>bob</strong>, role <strong>user</strong>.');
    expect(reply.body).toContain('is open only to some users, groups or roles, and your account is not one of them.');
  });

  it('tells an anonymous visitor on a closed host that it is closed to everyone, with no sign-in offer (it would not help)', async () => {
    const reply = await askVerify(postern, new TestClient(app.port), 'traefik', 'http://closed.example.com/x');
    expect(reply.status).toBe(403);
    expect(reply.body).toContain('You are not signed in.');
    expect(reply.body).toContain('The access rules close <strong>closed.example.com</strong> to everyone');
    expect(reply.body).not.toContain('<form');
    expect(reply.body).not.toContain('/login');
  });

  it('keeps the 403 empty for API clients, XHR, and nginx (which drops the body anyway)', async () => {
    const vera = await signedIn('vera');
    const replies = [
      await askVerify(postern, vera, 'traefik', 'http://nvr.example.com/api', { method: 'POST', accept: 'application/json' }),
      await askVerify(postern, vera, 'caddy', 'http://nvr.example.com/api', { method: 'POST', headers: { 'x-requested-with': 'XMLHttpRequest' } }),
      await askVerify(postern, vera, 'nginx', 'http://nvr.example.com/api', { method: 'POST' }),
    ];
    for (const reply of replies) {
      expect(reply.status).toBe(403);
      expect(reply.body).toBe('');
      expect(reply.header('content-length')).toBe('0');
    }
  });
});

describe('GET /forbidden (what nginx error_page 403 asks for)', () => {
  it('decides again from the session and the trusted X-Original-URL, with the original method', async () => {
    const vera = await signedIn('vera');
    const cookie = await vera.jar.getCookieString('http://nvr.example.com/');
    const reply = await postern.request('http://nvr.example.com/forbidden', {
      headers: { accept: 'text/html', cookie, 'x-original-url': 'http://nvr.example.com/settings?x=1', 'x-original-method': 'DELETE', 'x-forwarded-for': '203.0.113.7' },
    });
    expect(reply.status).toBe(403);
    expectPageHeaders(reply);
    expect(reply.body).toContain('(a DELETE request was refused)');
    expect(parseForm(reply.body).fields.rd).toBe('http://nvr.example.com/settings?x=1');
  });

  it('takes ?rd= from a visitor, as a GET, and never shows text the visitor wrote as the reason', async () => {
    const bob = await signedIn('bob');
    const rd = 'http://admin.example.com/<script>';
    const reply = await bob.get(`http://auth.example.com/forbidden?rd=${encodeURIComponent(rd)}&reason=${encodeURIComponent('you are banned')}`);
    expect(reply.status).toBe(403);
    expect(reply.body).toContain('your account is not one of them');
    expect(reply.body).not.toContain('you are banned');
    expect(reply.body).not.toContain('<script>');
  });

  it('sends an anonymous visitor to sign in, says "allowed" when the rules allow, gives API clients an empty 403, and answers 400 with nothing to explain', async () => {
    const anonymous = await new TestClient(app.port).get(`http://auth.example.com/forbidden?rd=${encodeURIComponent('http://admin.example.com/a')}`);
    expect(anonymous.status).toBe(302);
    expect(anonymous.header('location')).toBe(`http://auth.example.com/login?rd=${encodeURIComponent('http://admin.example.com/a')}`);

    const alice = await signedIn('alice');
    const allowed = await alice.get(`http://auth.example.com/forbidden?rd=${encodeURIComponent('http://admin.example.com/a')}`);
    expect(allowed.status).toBe(200);
    expect(allowed.body).toContain('You may open admin.example.com now.');

    const api = await alice.request(`http://auth.example.com/forbidden?rd=${encodeURIComponent('http://closed.example.com/a')}`, { headers: { accept: 'application/json' } });
    expect(api.status).toBe(403);
    expect(api.body).toBe('');

    for (const query of ['', '?rd=', '?rd=javascript%3Aalert(1)']) {
      const reply = await alice.get(`http://auth.example.com/forbidden${query}`);
      expect(reply.status, query).toBe(400);
      expect(reply.body).toContain('no site address came with the request');
    }
  });
});

describe('GET /forbidden asked by a peer outside server.trusted_proxies', () => {
  it('ignores its X-Original-URL and stays a 403, explaining nothing', async () => {
    const strict = await startApp({ ...CONFIG, server: { ...CONFIG.server, trusted_proxies: ['10.0.0.0/8'] } }, USERS);
    try {
      const reply = await new TestClient(strict.port).request('http://nvr.example.com/forbidden', {
        headers: { accept: 'text/html', 'x-original-url': 'http://nvr.example.com/settings', 'x-original-method': 'POST' },
      });
      expect(reply.status).toBe(403);
      expect(reply.body).toContain('no site address came with the request');
      expect(reply.body).not.toContain('nvr.example.com');
    } finally {
      await strict.close();
    }
  });
});

describe('POST /forbidden ("sign in as someone else")', () => {
  it('ends the session and goes back to rd, where verify asks for a sign-in again', async () => {
    const vera = await signedIn('vera');
    const page = await askVerify(postern, vera, 'traefik', 'http://nvr.example.com/settings', { method: 'POST' });
    const form = parseForm(page.body);
    const reply = await vera.request(form.action, { method: 'POST', body: new URLSearchParams(form.fields), headers: { accept: 'text/html' } });
    expect(reply.status).toBe(303);
    expect(reply.header('location')).toBe('http://nvr.example.com/settings');
    const after = await askVerify(postern, vera, 'traefik', 'http://nvr.example.com/settings');
    expect(after.status).toBe(302);
    expect(app.logs.some((l) => l.event === 'logout' && l.user === 'vera')).toBe(true);
  });

  it('refuses a token of another session, or none, and leaves the session standing', async () => {
    const vera = await signedIn('vera');
    const bob = await signedIn('bob');
    const bobsPage = await askVerify(postern, bob, 'traefik', 'http://admin.example.com/');
    const bobsToken = parseForm(bobsPage.body).fields.csrf!;
    for (const csrf of [bobsToken, '', 'x'.repeat(200)]) {
      const reply = await vera.request('http://auth.example.com/forbidden', { method: 'POST', body: new URLSearchParams({ csrf, rd: 'http://nvr.example.com/' }), headers: { accept: 'text/html' } });
      expect(reply.status).toBe(403);
      expect(reply.body).toContain('This form has expired or belongs to another session.');
    }
    expect((await askVerify(postern, vera, 'traefik', 'http://nvr.example.com/')).status).toBe(200);
  });
});
