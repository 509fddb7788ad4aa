import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_PASSWORD_BYTES } from '../../src/auth/passwords.js';
import { fastHasher, startApp, type AppFixture } from '../support/app-fixture.js';
import { parseForm, TestClient } from '../support/http-client.js';
import { askVerify } from '../support/verify-client.js';

const CONFIG = {
  server: { public_url: 'http://auth.example.com', trusted_proxies: ['loopback'] },
  session: { domain: 'example.com' },
  login: { rate_limit: '4/minute', account_rate_limit: '50/minute', account_address_rate_limit: '50/minute' },
};
const PASSWORD = 'correct horse battery';
const USERS = {
  alice: { password: PASSWORD, role: 'admin', groups: ['family'], email: 'alice@example.com', name: 'Alice' },
  dora: { password: 'dora-password-1', disabled: true },
};
const LOGIN = 'http://auth.example.com/login';
const RD = 'https://photos.example.com/album/1';

let app: AppFixture;
let postern: TestClient;
const evaluatedBytes: number[] = [];

beforeAll(async () => {
  app = await startApp(CONFIG, USERS, {
    // The real hasher, noting the size of every password it is asked to evaluate.
    extraDeps: () => ({
      hasher: {
        ...fastHasher,
        hash: (password, algorithm) => fastHasher.hash(password, algorithm),
        verify: (hash, password) => {
          evaluatedBytes.push(Buffer.byteLength(password));
          return fastHasher.verify(hash, password);
        },
        verifyDummy: (password) => {
          evaluatedBytes.push(Buffer.byteLength(password));
          return fastHasher.verifyDummy(password);
        },
      },
    }),
  });
  postern = new TestClient(app.port);
});
afterAll(() => app.close());

/** Each test signs in from its own address so the per-address throttle of one test does not leak into another. */
let nextAddress = 1;
function browserFrom(): TestClient {
  const client = new TestClient(app.port);
  const ip = `198.51.100.${nextAddress++}`;
  const request = client.request.bind(client);
  client.request = (url, opts = {}) => request(url, { ...opts, headers: { 'x-forwarded-for': ip, ...(opts.headers ?? {}) } });
  return client;
}

function cookieNamed(setCookie: string[] | undefined, name: string): string | undefined {
  return setCookie?.find((c) => c.startsWith(`${name}=`));
}

describe('GET /login', () => {
  it('renders the sign-in form with a CSRF token and says where the user is going', async () => {
    const reply = await browserFrom().get(`${LOGIN}?rd=${encodeURIComponent(RD)}`);
    expect(reply.status).toBe(200);
    expect(reply.header('content-type')).toBe('text/html; charset=utf-8');
    expect(reply.body).toContain('Sign in to continue to <strong>photos.example.com</strong>.');
    expect(reply.body).toContain('autocomplete="username"');
    expect(reply.body).toContain('autocomplete="current-password"');
    expect(reply.body).toContain('<label for="password">Password</label>');
    const form = parseForm(reply.body);
    expect(form.action).toBe(LOGIN);
    expect(form.fields.rd).toBe(RD);
    expect(form.fields.csrf).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('sends a strict Content-Security-Policy and no-referrer, and cannot be framed', async () => {
    const reply = await browserFrom().get(LOGIN);
    const csp = reply.header('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toMatch(/style-src 'sha256-[A-Za-z0-9+/=]+'/);
    expect(csp).not.toContain('unsafe-inline');
    // Scripts only from Postern's own origin (the passkey ceremony's one file), never inline.
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(reply.header('referrer-policy')).toBe('no-referrer');
    expect(reply.header('x-frame-options')).toBe('DENY');
    expect(reply.header('cache-control')).toBe('no-store');
  });

  it('escapes what the page echoes', async () => {
    const reply = await browserFrom().submitForm(LOGIN, { username: '"><script>alert(1)</script>', password: 'x' });
    expect(reply.status).toBe(401);
    expect(reply.body).not.toContain('<script>');
    expect(reply.body).toContain('value="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"');
  });

  it('drops an rd outside the protected domain', async () => {
    const reply = await browserFrom().get(`${LOGIN}?rd=${encodeURIComponent('https://evil.test/')}`);
    expect(reply.body).toContain('Sign in to continue.');
    expect(parseForm(reply.body).fields.rd).toBeUndefined();
  });

  it('sends a signed-in visitor straight on to rd', async () => {
    const browser = browserFrom();
    await browser.submitForm(LOGIN, { username: 'alice', password: PASSWORD });
    const reply = await browser.get(`${LOGIN}?rd=${encodeURIComponent(RD)}`);
    expect(reply.status).toBe(302);
    expect(reply.header('location')).toBe(RD);
  });
});

describe('POST /login', () => {
  it('signs in and answers 303 to rd with an HttpOnly, SameSite=Lax session cookie for the whole domain', async () => {
    const browser = browserFrom();
    const reply = await browser.submitForm(`${LOGIN}?rd=${encodeURIComponent(RD)}`, { username: 'alice', password: PASSWORD });
    expect(reply.status).toBe(303);
    expect(reply.header('location')).toBe(RD);
    const cookie = cookieNamed(reply.headers['set-cookie'] as string[], 'postern_session');
    expect(cookie).toMatch(/^postern_session=[A-Za-z0-9_-]{43}; path=\/; domain=example\.com; samesite=lax; httponly$/);
    expect(cookie).not.toContain('secure');
    expect(cookie).not.toContain('expires');
    expect((await askVerify(postern, browser, 'nginx', RD)).status).toBe(200);
  });

  it('matches the username case-insensitively after NFKC normalisation', async () => {
    const reply = await browserFrom().submitForm(LOGIN, { username: 'ＡＬＩＣＥ', password: PASSWORD });
    expect(reply.status).toBe(303);
  });

  it('sends the user to / when rd is absent or not allowed', async () => {
    const none = await browserFrom().submitForm(LOGIN, { username: 'alice', password: PASSWORD });
    expect(none.header('location')).toBe('http://auth.example.com/');
    for (const rd of ['//evil.test/', 'https://example.com.evil.test/', 'javascript:alert(1)', '/\\evil.test']) {
      const reply = await browserFrom().submitForm(LOGIN, { username: 'alice', password: PASSWORD, rd });
      expect(reply.status).toBe(303);
      expect(reply.header('location')).toBe('http://auth.example.com/');
    }
  });

  it('gives a fresh session id at sign-in: an id planted beforehand is worth nothing', async () => {
    const browser = browserFrom();
    const planted = 'planted-session-id-0123456789abcdefghijklmnop';
    await browser.jar.setCookie(`postern_session=${planted}; Domain=example.com; Path=/`, LOGIN);
    const reply = await browser.submitForm(LOGIN, { username: 'alice', password: PASSWORD });
    const cookie = cookieNamed(reply.headers['set-cookie'] as string[], 'postern_session');
    expect(cookie).toBeDefined();
    expect(cookie).not.toContain(planted);
    const attacker = new TestClient(app.port);
    const verdict = await askVerify(postern, attacker, 'nginx', RD, { headers: { cookie: `postern_session=${planted}` } });
    expect(verdict.status).toBe(401);
  });

  it('makes a persistent cookie when "keep me signed in" is ticked', async () => {
    const reply = await browserFrom().submitForm(LOGIN, { username: 'alice', password: PASSWORD, remember_me: '1' });
    const cookie = cookieNamed(reply.headers['set-cookie'] as string[], 'postern_session') ?? '';
    const expires = /expires=([^;]+)/.exec(cookie)?.[1];
    expect(expires).toBeDefined();
    const days = (Date.parse(expires!) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(29);
    expect(days).toBeLessThan(31);
  });

  it('marks the cookie Secure when the trusted proxy says the browser used HTTPS', async () => {
    const browser = browserFrom();
    const page = await browser.get(LOGIN, { 'x-forwarded-proto': 'https' });
    // The CSRF cookie is Secure too, so a jar would not send it over this test's plain socket: carry it by hand.
    const csrfCookie = cookieNamed(page.headers['set-cookie'] as string[], 'postern_session_csrf');
    expect(csrfCookie).toMatch(/; secure; httponly$/);
    const form = parseForm(page.body);
    const reply = await browser.request(LOGIN, {
      method: 'POST',
      headers: { 'x-forwarded-proto': 'https', cookie: csrfCookie!.split(';')[0]! },
      body: new URLSearchParams({ ...form.fields, username: 'alice', password: PASSWORD }),
    });
    expect(reply.status).toBe(303);
    expect(cookieNamed(reply.headers['set-cookie'] as string[], 'postern_session')).toMatch(/; secure; httponly$/);
  });

  it.each([
    ['a wrong password', 'alice', 'wrong password'],
    ['an unknown user', 'mallory', PASSWORD],
    ['a disabled user', 'dora', 'dora-password-1'],
  ])('refuses %s with 401 and the same generic message', async (_what, username, password) => {
    const browser = browserFrom();
    const reply = await browser.submitForm(LOGIN, { username, password });
    expect(reply.status).toBe(401);
    expect(reply.body).toContain('Invalid username or password.');
    expect(cookieNamed(reply.headers['set-cookie'] as string[], 'postern_session')).toBeUndefined();
    expect(parseForm(reply.body).fields.csrf).toBeDefined();
  });

  it('refuses a form without a valid CSRF token with 403 and creates no session', async () => {
    const browser = browserFrom();
    await browser.get(LOGIN);
    for (const csrf of ['', 'forged-token-forged-token-forged-token-abc']) {
      const reply = await browser.request(LOGIN, { method: 'POST', body: new URLSearchParams({ username: 'alice', password: PASSWORD, csrf }) });
      expect(reply.status).toBe(403);
      expect(reply.body).toContain('This sign-in form has expired');
      expect(cookieNamed(reply.headers['set-cookie'] as string[], 'postern_session')).toBeUndefined();
    }
  });

  it('refuses a token that belongs to another browser', async () => {
    const other = browserFrom();
    const token = parseForm((await other.get(LOGIN)).body).fields.csrf!;
    const browser = browserFrom();
    await browser.get(LOGIN);
    const reply = await browser.request(LOGIN, { method: 'POST', body: new URLSearchParams({ username: 'alice', password: PASSWORD, csrf: token }) });
    expect(reply.status).toBe(403);
  });

  it('refuses a password longer than 1024 bytes before hashing', async () => {
    const reply = await browserFrom().submitForm(LOGIN, { username: 'alice', password: 'é'.repeat(513) });
    expect(reply.status).toBe(400);
    expect(reply.body).toContain('Passwords are limited to 1024 bytes.');
  });

  it('answers a body that is not a form, or too large, with a 4xx and never a 500', async () => {
    const browser = browserFrom();
    const big = await browser.request(LOGIN, { method: 'POST', body: new URLSearchParams({ username: 'a'.repeat(40_000) }) });
    expect(big.status).toBe(413);
    const json = await browser.request(LOGIN, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"username":"alice"}' });
    expect(json.status).toBeGreaterThanOrEqual(400);
    expect(json.status).toBeLessThan(500);
    const nested = await browser.request(LOGIN, { method: 'POST', body: 'username[a]=1&password[]=2&csrf[x]=y' , headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(nested.status).toBe(403);
  });

  it('throttles an address after repeated failures: 429, Retry-After, and the page says when to try again', async () => {
    const browser = browserFrom();
    for (let i = 0; i < 4; i++) expect((await browser.submitForm(LOGIN, { username: `nobody${i}`, password: 'x' })).status).toBe(401);
    const reply = await browser.submitForm(LOGIN, { username: 'alice', password: PASSWORD });
    expect(reply.status).toBe(429);
    const retry = Number(reply.header('retry-after'));
    expect(retry).toBeGreaterThan(0);
    expect(retry).toBeLessThanOrEqual(60);
    expect(reply.body).toMatch(/Too many failed sign-in attempts\. Try again in \d+ (seconds?|minute)\./);
  });

  it('refuses a refused address before reading its request: 429 at once, even without a form token, and a way back', async () => {
    const browser = browserFrom();
    const client = `198.51.100.${nextAddress - 1}`;
    for (let i = 0; i < 4; i++) await browser.submitForm(LOGIN, { username: `nobody${i}`, password: 'x' });
    expect((await browser.submitForm(LOGIN, { username: 'alice', password: PASSWORD })).status).toBe(429);
    const bare = await browser.request(LOGIN, { method: 'POST', body: 'not a form', headers: { 'content-type': 'text/plain' } });
    expect(bare.status).toBe(429);
    expect(Number(bare.header('retry-after'))).toBeGreaterThan(0);
    expect(bare.header('content-type')).toBe('text/html; charset=utf-8');
    expect(bare.body).toMatch(/Too many failed sign-in attempts\. Try again in \d+ (seconds?|minute)\./);
    expect(bare.body).toContain('href="http://auth.example.com/login"');
    expect(bare.headers['set-cookie']).toBeUndefined();
    expect(app.logs.filter((l) => l.event === 'login.throttled' && l.client === client).at(-1)).toMatchObject({ scope: 'ip' });
    // Another address is not refused.
    expect((await browserFrom().submitForm(LOGIN, { username: 'alice', password: 'wrong-one' })).status).toBe(401);
  });

  it('logs success and failure with user and client address, and never the password or the session id', async () => {
    const browser = browserFrom();
    await browser.submitForm(LOGIN, { username: 'alice', password: 'not-it-123' });
    const ok = await browser.submitForm(LOGIN, { username: 'alice', password: PASSWORD });
    const sid = /postern_session=([^;]+)/.exec(cookieNamed(ok.headers['set-cookie'] as string[], 'postern_session') ?? '')?.[1];
    expect(sid).toBeDefined();
    const success = app.logs.find((l) => l.event === 'login.success' && l.client === `198.51.100.${nextAddress - 1}`);
    expect(success).toMatchObject({ user: 'alice' });
    const failure = app.logs.find((l) => l.event === 'login.failure' && l.client === `198.51.100.${nextAddress - 1}`);
    expect(failure).toMatchObject({ user: 'alice', reason: 'wrong password' });
    const log = app.rawLog();
    expect(log).not.toContain(PASSWORD);
    expect(log).not.toContain('not-it-123');
    expect(log).not.toContain(sid!);
    expect(log).not.toContain('$argon2id$');
  });
});

describe('bad input in the sign-in form', () => {
  /** Posts `body` as it is (bytes, not re-encoded) with a valid form token, from a fresh address; the failures counted for that address after it. */
  async function postRaw(body: Buffer | string): Promise<{ status: number; body: string; addressFailures: number }> {
    const browser = browserFrom();
    const ip = `198.51.100.${nextAddress - 1}`;
    const page = await browser.get(LOGIN);
    const csrf = parseForm(page.body).fields.csrf!;
    const cookie = await browser.jar.getCookieString(LOGIN);
    const payload = Buffer.concat([Buffer.from(`csrf=${encodeURIComponent(csrf)}&`), Buffer.isBuffer(body) ? body : Buffer.from(body)]);
    const reply = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest(
        {
          host: '127.0.0.1',
          port: app.port,
          method: 'POST',
          path: '/login',
          headers: { host: 'auth.example.com', cookie, 'x-forwarded-for': ip, accept: 'text/html', 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(payload.length) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
    const row = (await app.deps.throttle.list()).find((r) => r.scope === 'ip' && r.key === ip);
    return { ...reply, addressFailures: row?.failures ?? 0 };
  }

  it.each([
    ['a NUL in the username', 'username=ali%00ce&password=secret-1'],
    ['a NUL in the password', 'username=alice&password=secret%00-1'],
    ['a lone surrogate in the username (CESU-8)', 'username=alice%ED%A0%80&password=secret-1'],
    ['a lone surrogate in the password (CESU-8)', 'username=alice&password=secret%ED%B0%80'],
    ['invalid UTF-8 escaped in the username', 'username=%FF%FEalice&password=secret-1'],
    ['invalid UTF-8 escaped in the password', 'username=alice&password=%C3%28'],
    ['invalid UTF-8 bytes in the password', Buffer.concat([Buffer.from('username=alice&password=se'), Buffer.from([0xff, 0xfe]), Buffer.from('cret')])],
    ['a 100-character username', `username=${'a'.repeat(100)}&password=secret-1`],
  ])('refuses %s with 400, counts it for the address, and hashes nothing', async (_what, body) => {
    const before = evaluatedBytes.length;
    const reply = await postRaw(body);
    expect(reply.status).toBe(400);
    expect(reply.body).toMatch(/holds characters that cannot be part of one|Usernames are at most 64 characters/);
    expect(reply.addressFailures).toBe(1);
    expect(evaluatedBytes.length).toBe(before);
  });

  it.each([
    ['username', `username=${'a'.repeat(100_000)}&password=secret-1`],
    ['password', `username=alice&password=${'p'.repeat(100_000)}`],
  ])('refuses a 100 KB %s with 413 before reading it whole, counted for the address, never hashed', async (_field, body) => {
    const before = evaluatedBytes.length;
    const reply = await postRaw(body);
    expect(reply.status).toBe(413);
    expect(reply.addressFailures).toBe(1);
    expect(evaluatedBytes.length).toBe(before);
  });

  it('refuses a password just over the maximum with 400 without hashing it, and hashes one at the maximum', async () => {
    const before = evaluatedBytes.length;
    const over = await postRaw(`username=alice&password=${'p'.repeat(MAX_PASSWORD_BYTES + 1)}`);
    expect(over.status).toBe(400);
    expect(over.body).toContain(`Passwords are limited to ${MAX_PASSWORD_BYTES} bytes.`);
    expect(over.addressFailures).toBe(1);
    expect(evaluatedBytes.length).toBe(before);
    const at = await postRaw(`username=alice&password=${'p'.repeat(MAX_PASSWORD_BYTES)}`);
    expect(at.status).toBe(401);
    expect(evaluatedBytes.slice(before)).toEqual([MAX_PASSWORD_BYTES]);
    expect(Math.max(...evaluatedBytes)).toBeLessThanOrEqual(MAX_PASSWORD_BYTES);
  });

  it('a burst of junk from one address ends in 429 like any other failures', async () => {
    const browser = browserFrom();
    let last = 0;
    for (let i = 0; i < 5; i++) last = (await browser.submitForm(LOGIN, { username: 'ali\u0000ce', password: 'x' })).status;
    expect(last).toBe(429);
  });

  it('never echoes a username it refused as malformed, and gives a fresh form', async () => {
    const reply = await postRaw('username=ali%00ce&password=secret-1');
    expect(reply.body).not.toContain('ali\u0000ce');
    expect(parseForm(reply.body).fields.csrf).toBeDefined();
  });
});

describe('a session after the users file changes', () => {
  it('ends when the user is disabled, removed, or changes password, and works again after a new sign-in', async () => {
    const browser = browserFrom();
    await browser.submitForm(LOGIN, { username: 'alice', password: PASSWORD });
    expect((await askVerify(postern, browser, 'nginx', RD)).status).toBe(200);

    await app.setUsers({ ...USERS, alice: { ...USERS.alice, password: 'a brand new password' } });
    expect((await askVerify(postern, browser, 'nginx', RD)).status).toBe(401);

    await browser.submitForm(LOGIN, { username: 'alice', password: 'a brand new password' });
    expect((await askVerify(postern, browser, 'nginx', RD)).status).toBe(200);

    await app.setUsers({ dora: USERS.dora });
    expect((await askVerify(postern, browser, 'nginx', RD)).status).toBe(401);
    await app.setUsers(USERS);
  });
});

describe('GET / and logout', () => {
  it('shows a signed-in user who they are, with a sign-out button', async () => {
    const browser = browserFrom();
    await browser.submitForm(LOGIN, { username: 'alice', password: PASSWORD });
    const home = await browser.get('http://auth.example.com/');
    expect(home.status).toBe(200);
    expect(home.body).toContain('<dd>alice</dd>');
    expect(home.body).toContain('<dd>admin</dd>');
    expect(parseForm(home.body).action).toBe('http://auth.example.com/logout');
  });

  it('redirects an anonymous visitor of / to the login page', async () => {
    const reply = await browserFrom().get('http://auth.example.com/');
    expect(reply.status).toBe(302);
    expect(reply.header('location')).toBe(LOGIN);
  });

  it('POST /logout with the CSRF token ends the session: store entry deleted, cookie cleared', async () => {
    const browser = browserFrom();
    await browser.submitForm(LOGIN, { username: 'alice', password: PASSWORD });
    const cookie = await browser.jar.getCookieString(RD);
    const reply = await browser.submitForm('http://auth.example.com/', {});
    expect(reply.status).toBe(303);
    expect(reply.header('location')).toBe(LOGIN);
    expect(cookieNamed(reply.headers['set-cookie'] as string[], 'postern_session')).toMatch(/^postern_session=; path=\/; expires=Thu, 01 Jan 1970/);
    // The old cookie, replayed, is worth nothing: the store entry is gone.
    expect((await askVerify(postern, new TestClient(app.port), 'nginx', RD, { headers: { cookie } })).status).toBe(401);
  });

  it('POST /logout without the CSRF token is refused and the session stays', async () => {
    const browser = browserFrom();
    await browser.submitForm(LOGIN, { username: 'alice', password: PASSWORD });
    const reply = await browser.request('http://auth.example.com/logout', { method: 'POST', body: new URLSearchParams({}) });
    expect(reply.status).toBe(403);
    expect((await askVerify(postern, browser, 'nginx', RD)).status).toBe(200);
  });

  it('GET /logout?rd= ends the session and redirects to a validated rd, or to the login page', async () => {
    const browser = browserFrom();
    await browser.submitForm(LOGIN, { username: 'alice', password: PASSWORD });
    const reply = await browser.get(`http://auth.example.com/logout?rd=${encodeURIComponent(RD)}`);
    expect(reply.status).toBe(303);
    expect(reply.header('location')).toBe(RD);
    expect((await askVerify(postern, browser, 'nginx', RD)).status).toBe(401);
    const evil = await browserFrom().get(`http://auth.example.com/logout?rd=${encodeURIComponent('https://evil.test/')}`);
    expect(evil.header('location')).toBe(LOGIN);
  });
});

describe('health', () => {
  it('GET /healthz and /readyz answer 200 with the memory store', async () => {
    expect((await postern.request('http://auth.example.com/healthz')).status).toBe(200);
    const ready = await postern.request('http://auth.example.com/readyz');
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.body)).toEqual({ status: 'ready' });
  });

  it('answers an unknown path with 404 and an unsupported method with 405', async () => {
    expect((await postern.request('http://auth.example.com/nope')).status).toBe(404);
    expect((await postern.request('http://auth.example.com/verify/nginx', { method: 'POST' })).status).toBe(405);
  });
});
