import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryDeviceStore } from '../../src/store/device-store-memory.js';
import { startApp, type AppFixture, type TestUser } from '../support/app-fixture.js';
import { parseForm, TestClient, type Reply } from '../support/http-client.js';

/**
 * Trusted devices (issue 11): after 30 wrong guesses for alice from 30 addresses, alice herself got
 * 429 from the browser she had signed in with minutes before. A browser that has proven it knows the
 * password is now judged by its own limit only.
 */

const LOGIN = 'http://auth.example.com/login';
const HOUR = 3_600_000;
// The per-user window is small, so that a storm from a few addresses fills it; the others stay out of the way.
const CONFIG = {
  server: { public_url: 'http://auth.example.com', trusted_proxies: ['loopback'] },
  session: { domain: 'example.com' },
  login: { rate_limit: '50/minute', account_rate_limit: '5/minute', account_address_rate_limit: '50/minute', device_rate_limit: '3/minute', device_ttl: '2h' },
};
const USERS: Record<string, TestUser> = Object.fromEntries(
  ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi', 'ivan'].map((name) => [name, { password: `${name}-password-1` }]),
);
const passwordOf = (user: string) => `${user}-password-1`;

let app: AppFixture;
let clock = Date.now();
const devices = new MemoryDeviceStore(() => clock);

beforeAll(async () => {
  app = await startApp(CONFIG, USERS, { now: () => clock, extraDeps: () => ({ deviceStore: devices }) });
});
afterAll(() => app.close());

let nextAddress = 1;
/** A browser at its own address (told by the trusted proxy in X-Forwarded-For), with its own cookie jar. */
function browserAt(ip = `198.51.100.${nextAddress++}`): TestClient {
  const client = new TestClient(app.port);
  const request = client.request.bind(client);
  client.request = (url, opts = {}) => request(url, { ...opts, headers: { 'x-forwarded-for': ip, ...(opts.headers ?? {}) } });
  return client;
}

function deviceCookieOf(reply: Reply): string | undefined {
  return (reply.headers['set-cookie'] as string[] | undefined)?.find((c) => c.startsWith('postern_session_device='));
}

/** Wrong guesses for `user` from many addresses until the per-user window is full. */
async function storm(user: string): Promise<void> {
  for (let i = 0; i < 5; i++) expect((await browserAt().submitForm(LOGIN, { username: user, password: `guess-${i}` })).status).toBe(401);
  expect((await browserAt().submitForm(LOGIN, { username: user, password: passwordOf(user) })).status).toBe(429);
}

/** The owner's browser, signed in (and so trusted) before the storm, its session since ended: it keeps only the device cookie. */
async function trustedBrowser(user: string, ip?: string): Promise<TestClient> {
  const cookie = await trustedCookie(user);
  expect(cookie).toBeDefined();
  return withCookie(cookie!, ip);
}

describe('the device cookie', () => {
  it('is set at a password sign-in: random id and MAC, HttpOnly, SameSite=Lax, host-only, for the sign-in path, for login.device_ttl', async () => {
    const reply = await browserAt().submitForm(LOGIN, { username: 'alice', password: passwordOf('alice') });
    expect(reply.status).toBe(303);
    const cookie = deviceCookieOf(reply);
    expect(cookie).toMatch(/^postern_session_device=[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}; path=\/login; expires=[^;]+; samesite=lax; httponly$/);
    expect(cookie).not.toContain('domain=');
    expect(cookie).not.toContain('secure');
    const expires = Date.parse(/expires=([^;]+)/.exec(cookie!)![1]!);
    expect(Math.abs(expires - (Date.now() + 2 * HOUR))).toBeLessThan(60_000);
  });

  it('is Secure when the trusted proxy says the browser used HTTPS', async () => {
    const browser = browserAt();
    const page = await browser.get(LOGIN, { 'x-forwarded-proto': 'https' });
    const csrf = (page.headers['set-cookie'] as string[]).find((c) => c.startsWith('postern_session_csrf='))!.split(';')[0]!;
    const reply = await browser.request(LOGIN, {
      method: 'POST',
      headers: { 'x-forwarded-proto': 'https', cookie: csrf },
      body: new URLSearchParams({ ...parseForm(page.body).fields, username: 'alice', password: passwordOf('alice') }),
    });
    expect(reply.status).toBe(303);
    expect(deviceCookieOf(reply)).toMatch(/; secure; httponly$/);
  });

  it('is not set by a failed attempt', async () => {
    const reply = await browserAt().submitForm(LOGIN, { username: 'alice', password: 'wrong' });
    expect(reply.status).toBe(401);
    expect(deviceCookieOf(reply)).toBeUndefined();
  });
});

describe('a trusted device', () => {
  it('signs its owner in at once during a storm that refuses a new browser', async () => {
    const owner = await trustedBrowser('bob');
    await storm('bob');
    expect((await browserAt().submitForm(LOGIN, { username: 'bob', password: passwordOf('bob') })).status).toBe(429);
    const reply = await owner.submitForm(LOGIN, { username: 'bob', password: passwordOf('bob') });
    expect(reply.status).toBe(303);
    expect(app.logs.filter((l) => l.event === 'login.success' && l.user === 'bob').at(-1)).toMatchObject({ device: true });
  });

  it('is not blocked by its address being refused, and its failures count neither for the address nor the user', async () => {
    const ip = `198.51.100.${nextAddress++}`;
    const owner = await trustedBrowser('carol', ip);
    // carol's and the address's counters (other tests' counters may end meanwhile).
    const ordinary = async () => (await app.deps.throttle.list()).filter((row) => row.scope !== 'device' && (row.key.startsWith('carol') || row.key.endsWith(ip)));
    const before = await ordinary();
    // Two typos from the trusted browser: 401, counted for the device only, not for carol or the address.
    for (let i = 0; i < 2; i++) expect((await owner.submitForm(LOGIN, { username: 'carol', password: 'typo' })).status).toBe(401);
    // Her sign-in counted nowhere: it gave back its own point and ended the pair's counter.
    expect(before).toEqual([]);
    expect(await ordinary()).toEqual(before);
    expect(await app.deps.throttle.list()).toContainEqual({ scope: 'device', key: ownerCookie(owner).split('.')[0], failures: 2, blockedForSec: 0 });
    // The address fills up with guesses at other names from another browser behind it.
    for (let i = 0; i < 50; i++) await app.deps.throttle.take(ip, `someone${i}`);
    expect((await browserAt(ip).submitForm(LOGIN, { username: 'carol', password: passwordOf('carol') })).status).toBe(429);
    expect((await withCookie(ownerCookie(owner), ip).submitForm(LOGIN, { username: 'carol', password: passwordOf('carol') })).status).toBe(303);
  });

  it('that reaches its own limit loses its trust and falls back to the ordinary limits', async () => {
    const cookie = (await trustedCookie('dave'))!;
    const owner = withCookie(cookie);
    await storm('dave');
    for (let i = 0; i < 3; i++) expect((await owner.submitForm(LOGIN, { username: 'dave', password: 'typo' })).status).toBe(401);
    // The fourth: over the device's limit, judged as anyone, and dave's window is full.
    const refused = await owner.submitForm(LOGIN, { username: 'dave', password: passwordOf('dave') });
    expect(refused.status).toBe(429);
    expect(Number(refused.header('retry-after'))).toBeGreaterThan(0);
    expect(deviceCookieOf(refused)).toMatch(/^postern_session_device=; path=\/login; expires=Thu, 01 Jan 1970/);
    expect(app.logs.some((l) => l.event === 'login.device_untrusted' && l.user === 'dave')).toBe(true);
    // The store no longer trusts it: the cookie is no good any more, even sent again by hand.
    expect(await devices.get(cookie.split('.')[0]!)).toBeUndefined();
  });

  it('is ignored for another username: a stolen device cookie gives nothing', async () => {
    const owner = await trustedBrowser('erin');
    await storm('frank');
    const reply = await owner.submitForm(LOGIN, { username: 'frank', password: passwordOf('frank') });
    expect(reply.status).toBe(429);
    // Erin's own sign-in still works with it.
    expect((await withCookie(ownerCookie(owner)).submitForm(LOGIN, { username: 'erin', password: passwordOf('erin') })).status).toBe(303);
  });

  it('forged, malformed or expired cookies are ignored (ordinary limits), never an error', async () => {
    const genuine = (await trustedCookie('grace'))!;
    await storm('grace');
    const [id] = genuine.split('.');
    const forged = [
      `${id}.${'A'.repeat(43)}`,
      'not-a-device-cookie',
      `${'x'.repeat(22)}.${'y'.repeat(43)}`,
      '%00%ff',
      'a'.repeat(4000),
    ];
    for (const value of forged) {
      const browser = browserAt();
      await browser.jar.setCookie(`postern_session_device=${value}; Path=/login`, LOGIN);
      const reply = await browser.submitForm(LOGIN, { username: 'grace', password: passwordOf('grace') });
      expect(reply.status).toBe(429);
    }
    // The genuine one works, until its lifetime is over.
    expect((await withCookie(genuine).submitForm(LOGIN, { username: 'grace', password: passwordOf('grace') })).status).toBe(303);
    // A trusted device signing in keeps its cookie (and its lifetime).
    expect(await trustedCookieWhileTrusted('grace', genuine)).toBe(genuine);
    clock += 2 * HOUR + 1_000;
    try {
      // grace's window is still full (the windows keep real time): only the device could let her in.
      expect((await withCookie(genuine).submitForm(LOGIN, { username: 'grace', password: passwordOf('grace') })).status).toBe(429);
    } finally {
      clock -= 2 * HOUR + 1_000;
    }
  });

  it('ends with a password change, and when the user is disabled or removed', async () => {
    const cookie = (await trustedCookie('heidi'))!;
    await storm('heidi');
    expect((await withCookie(cookie).submitForm(LOGIN, { username: 'heidi', password: passwordOf('heidi') })).status).toBe(303);

    await app.setUsers({ ...USERS, heidi: { password: 'a-new-password-2' } });
    const afterChange = await withCookie(cookie).submitForm(LOGIN, { username: 'heidi', password: 'a-new-password-2' });
    expect(afterChange.status).toBe(429);

    await app.setUsers({ ...USERS, heidi: { password: passwordOf('heidi'), disabled: true } });
    expect((await withCookie(cookie).submitForm(LOGIN, { username: 'heidi', password: passwordOf('heidi') })).status).toBe(429);
    await app.setUsers(USERS);
  });

  it('ends when its user\'s trust is revoked in the store (postern throttle clear --user)', async () => {
    const cookie = (await trustedCookie('ivan'))!;
    await storm('ivan');
    expect(await devices.removeUser('ivan')).toBe(1);
    expect((await withCookie(cookie).submitForm(LOGIN, { username: 'ivan', password: passwordOf('ivan') })).status).toBe(429);
  });
});

/** Signs `user` in from a fresh browser at a fresh address and returns the device cookie's value. */
async function trustedCookie(user: string): Promise<string | undefined> {
  return trustedCookieWhileTrusted(user, undefined);
}

/** Same, from a browser that already holds `cookie` (a trusted device signs in with its own limit and keeps its cookie). */
async function trustedCookieWhileTrusted(user: string, cookie: string | undefined): Promise<string | undefined> {
  const browser = cookie === undefined ? browserAt() : withCookie(cookie);
  const reply = await browser.submitForm(LOGIN, { username: user, password: passwordOf(user) });
  if (reply.status !== 303) return undefined;
  return /^postern_session_device=([^;]+)/.exec(deviceCookieOf(reply) ?? '')?.[1] ?? cookie;
}

/** A fresh browser (at `ip`, or a fresh address) holding `cookie` as its device cookie and nothing else. */
function withCookie(cookie: string, ip?: string): TestClient {
  const browser = browserAt(ip);
  browser.jar.setCookieSync(`postern_session_device=${cookie}; Path=/login`, LOGIN);
  return browser;
}

/** The device cookie a browser holds. */
function ownerCookie(browser: TestClient): string {
  return /postern_session_device=([^;]+)/.exec(browser.jar.getCookieStringSync(LOGIN))![1]!;
}
