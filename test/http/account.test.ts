import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseUsersFile } from '../../src/auth/users-file-parse.js';
import { fastHasher } from '../support/app-fixture.js';
import { ACCOUNT, accountCsrf, flashOf, PORTAL, postAccountForm, signedIn, useAccountApp } from '../support/account.js';
import { TestClient } from '../support/http-client.js';
import { MemoryDeviceStore } from '../../src/store/device-store-memory.js';

const USERS = {
  alice: { password: 'alice password one', role: 'admin', groups: ['family', 'admins'], email: 'alice@example.com', name: 'Alice Liddell' },
  bob: { password: 'bob password one', groups: ['family'] },
  carol: { password: 'carol password one' },
  dave: { password: 'dave password one' },
  erin: { password: 'erin password one' },
};

const devices = new MemoryDeviceStore();
// Three wrong passwords per username and address a minute: the fourth attempt is throttled.
const fixture = useAccountApp(USERS, { login: { account_address_rate_limit: '3/minute' } }, { extraDeps: () => ({ deviceStore: devices }) });
const address = fixture.address;

/** The trusted device a browser's device cookie names (login.device_ttl is on by default). */
async function deviceOf(client: TestClient): Promise<string> {
  const cookie = (await client.jar.getCookies(`${PORTAL}/login`)).find((c) => c.key.endsWith('_device'));
  return cookie!.value.split('.')[0]!;
}

function storedHash(username: string): string {
  return parseUsersFile(readFileSync(fixture.app.usersFile, 'utf8')).users.get(username)!.password;
}

describe('GET /account', () => {
  it('sends an anonymous visitor to the sign-in page, and back here afterwards', async () => {
    const reply = await new TestClient(fixture.app.port).get(ACCOUNT);
    expect(reply.status).toBe(302);
    expect(reply.header('location')).toBe(`${PORTAL}/login?rd=${encodeURIComponent(ACCOUNT)}`);
  });

  it('answers an anonymous form post with 303 to the sign-in page, and changes nothing', async () => {
    const before = storedHash('alice');
    const reply = await new TestClient(fixture.app.port).request(`${ACCOUNT}/password`, {
      method: 'POST',
      body: new URLSearchParams({ current: USERS.alice.password, password: 'a brand new password', confirm: 'a brand new password' }),
    });
    expect(reply.status).toBe(303);
    expect(reply.header('location')).toContain(`${PORTAL}/login?rd=`);
    expect(storedHash('alice')).toBe(before);
  });

  it('shows who you are, how and when you signed in, under the same strict headers as the sign-in page', async () => {
    const alice = await signedIn(fixture.app.port, 'alice', USERS.alice.password, address());
    const reply = await alice.get(ACCOUNT);
    expect(reply.status).toBe(200);
    expect(reply.header('content-type')).toBe('text/html; charset=utf-8');
    expect(reply.header('cache-control')).toBe('no-store');
    expect(reply.header('content-security-policy')).toContain("default-src 'none'");
    expect(reply.header('x-frame-options')).toBe('DENY');
    expect(reply.body).toContain('<title>Your account</title>');
    expect(reply.body).toContain('<meta name="viewport" content="width=device-width,initial-scale=1">');
    expect(reply.body).toContain('Signed in as <strong>Alice Liddell (alice)</strong>');
    expect(reply.body).toContain('<dt>Role</dt><dd>admin</dd>');
    expect(reply.body).toContain('<dt>Groups</dt><dd>family, admins</dd>');
    expect(reply.body).toContain('<dt>Signed in with</dt><dd>password</dd>');
    expect(reply.body).toMatch(/<dt>Since<\/dt><dd>\d{4}-\d\d-\d\d \d\d:\d\d UTC<\/dd>/);
    expect(reply.body).toContain('<strong>Chrome 131 on Linux</strong> <span class="tag">this device</span>');
    expect(reply.body).toContain('No app passwords.');
    // The second-factor list (handlers/two-factor-routes.ts accountLinks): with none, the way to add one.
    expect(reply.body).toContain('<h2 id="second-factors">Second factors</h2>\n<ul class="items">\n<li><a href="http://auth.example.com/account/2fa/totp">Add an authenticator app</a></li>');
  });

  it('is linked from the home page', async () => {
    const alice = await signedIn(fixture.app.port, 'alice', USERS.alice.password, address());
    const home = await alice.get(`${PORTAL}/`);
    expect(home.body).toContain(`<a href="${ACCOUNT}">Your account</a>`);
  });
});

describe('someone signed in through a provider, without an account in the users file', () => {
  /** A browser holding a single sign-on session, as handlers/oidc.ts stores one (no provider is needed to read it). */
  async function ssoBrowser(): Promise<TestClient> {
    const now = Date.now();
    const id = 'sso-session-0123456789abcdef0123456789abcdef';
    await fixture.app.deps.store.set(
      id,
      { user: 'olga', via: 'oidc:corp', idp: 'corp', created: now, expires: now + 3_600_000, seen: now, role: 'user', groups: ['staff'], email: 'olga@example.com', name: 'Olga', ip: '198.51.100.99', ua: 'Firefox 128 on Linux' },
      3_600_000,
    );
    const client = new TestClient(fixture.app.port);
    await client.jar.setCookie(`postern_session=${id}; Domain=example.com; Path=/`, PORTAL);
    return client;
  }

  it('shows how they signed in, no password form and no app passwords', async () => {
    const reply = await (await ssoBrowser()).get(ACCOUNT);
    expect(reply.status).toBe(200);
    expect(reply.body).toContain('<dt>Signed in with</dt><dd>single sign-on (corp)</dd>');
    expect(reply.body).toContain('You signed in through single sign-on: your password is kept by your provider, not here.');
    expect(reply.body).not.toContain(`action="${ACCOUNT}/password"`);
    expect(reply.body).not.toContain('Your app passwords');
    expect(reply.body).toContain('<strong>Firefox 128 on Linux</strong> <span class="tag">this device</span>');
  });

  it('refuses a password change or an app password (400) and writes nothing', async () => {
    const olga = await ssoBrowser();
    const before = readFileSync(fixture.app.usersFile, 'utf8');
    const csrf = await accountCsrf(olga);
    const password = await olga.request(`${ACCOUNT}/password`, { method: 'POST', body: new URLSearchParams({ csrf, current: 'x', password: 'olga password two', confirm: 'olga password two' }) });
    expect(password.status).toBe(400);
    expect(flashOf(password.body)).toBe('You signed in through single sign-on: there is no password to change here.');
    const token = await olga.request(`${ACCOUNT}/app-passwords`, { method: 'POST', body: new URLSearchParams({ csrf, name: 'phone' }) });
    expect(token.status).toBe(400);
    expect(readFileSync(fixture.app.usersFile, 'utf8')).toBe(before);
  });
});

describe('POST /account/password', () => {
  it('changes the password, keeps this session (under a new id), and ends the other sessions and every device trust', async () => {
    const here = await signedIn(fixture.app.port, 'bob', USERS.bob.password, address());
    const elsewhere = await signedIn(fixture.app.port, 'bob', USERS.bob.password, address());
    const cookieBefore = await here.jar.getCookieString(ACCOUNT);
    expect(await fixture.app.deps.store.listByUser('bob')).toHaveLength(2);
    const trusted = [await deviceOf(here), await deviceOf(elsewhere)];
    for (const id of trusted) expect(await devices.get(id)).toMatchObject({ user: 'bob' });

    const reply = await postAccountForm(here, '/password', { current: USERS.bob.password, password: 'bob password two', confirm: 'bob password two' });
    expect(reply.status).toBe(303);
    expect(reply.header('location')).toBe(`${ACCOUNT}?done=password`);

    expect(await fastHasher.verify(storedHash('bob'), 'bob password two')).toBe(true);
    const page = await here.get(reply.header('location')!);
    expect(page.status).toBe(200);
    expect(flashOf(page.body)).toBe('Your password was changed. Your other sessions and trusted devices were signed out.');
    expect(await here.jar.getCookieString(ACCOUNT)).not.toBe(cookieBefore);
    expect(page.body).toContain('No other sessions.');

    expect((await elsewhere.get(ACCOUNT)).status).toBe(302);
    expect(await fixture.app.deps.store.listByUser('bob')).toHaveLength(1);
    for (const id of trusted) expect(await devices.get(id)).toBeUndefined();
    expect(fixture.app.logs.find((l) => l.event === 'account.password.changed')).toMatchObject({ user: 'bob', endedSessions: 1, endedDevices: 2 });
    expect(fixture.app.rawLog()).not.toContain('bob password two');
    // The new password signs in; the old one no longer does.
    await expect(signedIn(fixture.app.port, 'bob', 'bob password two', address())).resolves.toBeDefined();
    await expect(signedIn(fixture.app.port, 'bob', USERS.bob.password, address())).rejects.toThrow(/sign-in as bob failed: 401/);
  });

  it.each([
    [{ current: USERS.carol.password, password: 'carol password two', confirm: 'carol password 2' }, 'The new password and its repetition differ. Type the new password twice. Nothing was changed.'],
    [{ current: USERS.carol.password, password: 'short one', confirm: 'short one' }, 'The new password has 9 characters; it needs at least 12. Nothing was changed.'],
    [{ current: USERS.carol.password, password: '', confirm: '' }, 'Enter your current password, and the new one twice. Nothing was changed.'],
    [{ current: USERS.carol.password, password: USERS.carol.password, confirm: USERS.carol.password }, 'The new password is the current one. Choose a different one. Nothing was changed.'],
  ])('refuses %j with a clear message (400) and writes nothing', async (fields, message) => {
    const before = readFileSync(fixture.app.usersFile, 'utf8');
    const carol = await signedIn(fixture.app.port, 'carol', USERS.carol.password, address());
    const reply = await postAccountForm(carol, '/password', fields);
    expect(reply.status).toBe(400);
    expect(flashOf(reply.body)).toBe(message);
    expect(readFileSync(fixture.app.usersFile, 'utf8')).toBe(before);
  });

  it('counts a wrong current password as a failed sign-in: the fourth attempt from one address is throttled, the right password too', async () => {
    const before = storedHash('dave');
    const dave = await signedIn(fixture.app.port, 'dave', USERS.dave.password, address());
    const attempt = (current: string) => postAccountForm(dave, '/password', { current, password: 'dave password two', confirm: 'dave password two' });
    for (let i = 0; i < 3; i++) {
      const wrong = await attempt('not my password');
      expect(wrong.status).toBe(400);
      expect(flashOf(wrong.body)).toBe('Your current password was not accepted. Nothing was changed.');
    }
    const throttled = await attempt(USERS.dave.password);
    expect(throttled.status).toBe(429);
    expect(Number(throttled.header('retry-after'))).toBeGreaterThan(0);
    expect(flashOf(throttled.body)).toMatch(/^Too many wrong passwords\. Try again in (\d+ seconds?|1 minute)\.$/);
    expect(storedHash('dave')).toBe(before);
    expect(fixture.app.logs.filter((l) => l.event === 'account.password.failure' && l.user === 'dave')).toHaveLength(3);
    expect(fixture.app.rawLog()).not.toContain('not my password');
  });

  it('refuses a post without this browser\'s CSRF token (403) and writes nothing', async () => {
    const before = storedHash('erin');
    const erin = await signedIn(fixture.app.port, 'erin', USERS.erin.password, address());
    const fields = { current: USERS.erin.password, password: 'erin password two', confirm: 'erin password two' };
    const missing = await erin.request(`${ACCOUNT}/password`, { method: 'POST', body: new URLSearchParams(fields) });
    expect(missing.status).toBe(403);
    expect(missing.body).toContain('This form has expired or did not come from your account page. Nothing was changed.');
    // A token from another browser's page is no better.
    const stranger = await signedIn(fixture.app.port, 'alice', USERS.alice.password, address());
    const foreign = await erin.request(`${ACCOUNT}/password`, { method: 'POST', body: new URLSearchParams({ ...fields, csrf: await accountCsrf(stranger) }) });
    expect(foreign.status).toBe(403);
    expect(storedHash('erin')).toBe(before);
    expect((await erin.get(ACCOUNT)).status).toBe(200);
  });
});
