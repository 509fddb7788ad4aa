import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PASSKEY_SCRIPT, PASSKEY_SCRIPT_URL } from '../../src/views/passkey-script.js';
import { startApp, type AppFixture } from '../support/app-fixture.js';
import { clientFrom, TestClient } from '../support/http-client.js';
import { passkeyFormOf, passkeySignIn, registerPasskey, type Tamper } from '../support/passkey-flows.js';
import { askVerify } from '../support/verify-client.js';
import { SoftAuthenticator } from '../support/webauthn.js';

const CONFIG = {
  server: { public_url: 'http://auth.example.com', trusted_proxies: ['loopback'] },
  session: { domain: 'example.com' },
  login: { rate_limit: '4/minute', account_rate_limit: '50/minute', account_address_rate_limit: '50/minute', passkey_rate_limit: '10/minute' },
};
const USERS = { alice: { password: 'alice password one' }, carol: { password: 'carol password one' }, dave: { password: 'dave password one' } };
const LOGIN = 'http://auth.example.com/login';
const PAGE = 'http://auth.example.com/account/2fa/passkeys';
const RD = 'https://photos.example.com/album/1';
const RP = 'example.com';

let app: AppFixture;
/** Alice's passkey verifies her (PIN or biometrics); Carol's is a plain security key (presence only). */
const aliceKey = new SoftAuthenticator({ userVerified: true });
const carolKey = new SoftAuthenticator({ userVerified: false });

let nextAddress = 1;
const browserFrom = () => clientFrom(app.port, `198.51.100.${nextAddress++}`);

async function register(user: keyof typeof USERS, key: SoftAuthenticator): Promise<void> {
  const client = browserFrom();
  expect((await client.submitForm(LOGIN, { username: user, password: USERS[user].password })).status).toBe(303);
  expect((await registerPasskey(client, PAGE, key, `${user}'s key`)).reply.status).toBe(303);
}

beforeAll(async () => {
  app = await startApp(CONFIG, USERS);
  const before = await browserFrom().get(LOGIN);
  // Nobody has a passkey yet: no button that could only fail, and no script.
  expect(before.body).not.toContain('data-passkey=');
  expect(before.body).not.toContain('<script');
  await register('alice', aliceKey);
  await register('carol', carolKey);
});
afterAll(() => app.close());

const loginWithRd = `${LOGIN}?rd=${encodeURIComponent(RD)}`;
const sessionCookie = (client: TestClient) => client.jar.getCookiesSync(LOGIN).find((c) => c.key === 'postern_session')?.value;
const sessionsOf = (user: string) => app.deps.store.listByUser(user);

describe('"Sign in with a passkey" on the sign-in page', () => {
  it('offers the passkey form once someone has a passkey, hidden until the script shows it, with the destination', async () => {
    const page = await browserFrom().get(loginWithRd);
    expect(page.body).toContain(`<script src="${PASSKEY_SCRIPT_URL}" defer></script>`);
    const form = passkeyFormOf(page.body);
    expect(form).toMatchObject({ mode: 'get', action: `${LOGIN}/passkey`, options: `${LOGIN}/passkey/options` });
    expect(form.fields.rd).toBe(RD);
    expect(form.fields.csrf).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('serves the script as JavaScript, cacheable for a year under its content hash', async () => {
    const reply = await browserFrom().get(`http://auth.example.com${PASSKEY_SCRIPT_URL}`);
    expect(reply.status).toBe(200);
    expect(reply.header('content-type')).toBe('text/javascript; charset=utf-8');
    expect(reply.header('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(reply.header('x-content-type-options')).toBe('nosniff');
    expect(reply.body).toBe(PASSKEY_SCRIPT);
    expect(reply.body).toContain('navigator.credentials.get');
  });

  it('signs in with a passkey that verified its user: two factors, a fresh session id, back to rd, and verify lets the browser through', async () => {
    const client = browserFrom();
    const { options, reply } = await passkeySignIn(client, loginWithRd, aliceKey, RP);
    // Discoverable: no list of credentials, so the page reveals nothing about who has which passkey.
    expect(options).toMatchObject({ rpId: RP, userVerification: 'preferred' });
    expect(options).not.toHaveProperty('allowCredentials');
    expect(reply.status).toBe(303);
    expect(reply.header('location')).toBe(RD);
    const sessions = await sessionsOf('alice');
    const mine = sessions.find((s) => s.id === sessionCookie(client));
    expect(mine?.data).toMatchObject({ user: 'alice', via: 'local', amr: ['hwk', 'mfa'] });
    expect(app.logs.at(-1)).toMatchObject({ event: 'login.success', method: 'passkey', user: 'alice', amr: ['hwk', 'mfa'] });
    expect((await askVerify(new TestClient(app.port), client, 'nginx', RD)).status).toBe(200);
  });

  it('regenerates the session id: the anonymous session that held the challenge is not the signed-in one', async () => {
    const client = browserFrom();
    const page = await client.get(LOGIN);
    const form = passkeyFormOf(page.body);
    await client.request(form.options, { method: 'POST', body: new URLSearchParams(form.fields) });
    const holder = sessionCookie(client);
    expect(holder).toBeDefined();
    const { reply } = await passkeySignIn(client, LOGIN, aliceKey, RP);
    expect(reply.status).toBe(303);
    expect(sessionCookie(client)).not.toBe(holder);
    expect(await app.deps.store.get(holder!)).toBeUndefined();
  });

  it('does not sign in with a presence-only passkey alone while a second factor is required: the password comes first', async () => {
    const client = browserFrom();
    const { reply } = await passkeySignIn(client, LOGIN, carolKey, RP);
    expect(reply.status).toBe(401);
    expect(reply.body).toContain('This passkey did not ask for your PIN, fingerprint or face, so it cannot sign you in on its own.');
    expect(app.logs.at(-1)).toMatchObject({ event: 'login.failure', method: 'passkey', user: 'carol', reason: 'user not verified' });
    expect(await sessionsOf('carol')).toHaveLength(1); // the one that registered the key
  });

  it('signs in with a presence-only passkey as one factor (amr hwk) when two_factor.required_for_enrolled is off', async () => {
    const relaxed = await startApp({ ...CONFIG, two_factor: { required_for_enrolled: false } }, USERS);
    try {
      const client = new TestClient(relaxed.port);
      expect((await client.submitForm(LOGIN, { username: 'carol', password: USERS.carol.password })).status).toBe(303);
      const key = new SoftAuthenticator({ userVerified: false });
      expect((await registerPasskey(client, PAGE, key, 'Plain key')).reply.status).toBe(303);
      const fresh = new TestClient(relaxed.port);
      expect((await passkeySignIn(fresh, LOGIN, key, RP)).reply.status).toBe(303);
      const id = fresh.jar.getCookiesSync(LOGIN).find((c) => c.key === 'postern_session')?.value;
      expect((await relaxed.deps.store.get(id!))?.amr).toEqual(['hwk']);
    } finally {
      await relaxed.close();
    }
  });
});

describe('refused passkey responses', () => {
  async function refused(tamper: Tamper, key = aliceKey) {
    const client = browserFrom();
    const { reply } = await passkeySignIn(client, LOGIN, key, RP, tamper);
    expect(reply.status).toBe(401);
    expect(reply.body).toContain('That passkey could not sign you in. Try again, or sign in with your password.');
    expect(sessionCookie(client) === undefined || (await app.deps.store.get(sessionCookie(client)!))?.user === '').toBe(true);
    return app.logs.at(-1);
  }

  it('another challenge, origin, RP id or ceremony: refused and logged with the reason', async () => {
    expect(await refused({ ceremony: { challenge: 'c29tZXRoaW5nIGVsc2UgZW50aXJlbHk' } })).toMatchObject({ event: 'login.failure', method: 'passkey', reason: 'wrong challenge', user: 'alice' });
    expect(await refused({ ceremony: { origin: 'https://auth.example.com.evil.net' } })).toMatchObject({ reason: 'wrong origin' });
    expect(await refused({ ceremony: { rpId: 'evil.net' } })).toMatchObject({ reason: 'wrong rp id' });
    expect(await refused({ ceremony: { type: 'webauthn.create' } })).toMatchObject({ reason: 'wrong ceremony' });
    expect(await refused({}, new SoftAuthenticator())).toMatchObject({ reason: 'unknown credential' });
    expect(await refused({ response: () => 'not json' })).toMatchObject({ reason: 'malformed response' });
  });

  it('a replayed response: its challenge was used by the first', async () => {
    const client = browserFrom();
    let first = '';
    const { reply } = await passkeySignIn(client, LOGIN, aliceKey, RP, { response: (real) => (first = real) });
    expect(reply.status).toBe(303);
    const other = browserFrom();
    const form = passkeyFormOf((await other.get(LOGIN)).body);
    // Without asking for options (no challenge in this session), and after asking (another challenge).
    const replay = () => other.request(form.action, { method: 'POST', body: new URLSearchParams({ ...form.fields, response: first }) });
    expect((await replay()).status).toBe(401);
    expect(app.logs.at(-1)).toMatchObject({ event: 'login.failure', method: 'passkey', reason: 'no challenge' });
    await other.request(form.options, { method: 'POST', body: new URLSearchParams(form.fields) });
    expect((await replay()).status).toBe(401);
    expect(app.logs.at(-1)).toMatchObject({ reason: 'wrong challenge', user: 'alice' });
  });

  it('a challenge made for a registration does not complete a sign-in', async () => {
    // Dave has no passkey yet: signed in with the password alone, he asks the account page for registration options.
    const client = browserFrom();
    expect((await client.submitForm(LOGIN, { username: 'dave', password: USERS.dave.password })).header('location')).toBe('http://auth.example.com/');
    const account = passkeyFormOf((await client.get(PAGE)).body);
    const { options } = JSON.parse((await client.request(account.options, { method: 'POST', body: new URLSearchParams({ ...account.fields, name: 'x' }) })).body);
    const response = new SoftAuthenticator().assert({ challenge: options.challenge, origin: 'http://auth.example.com', rpId: RP });
    const signIn = passkeyFormOf((await browserFrom().get(LOGIN)).body);
    const reply = await client.request(signIn.action, { method: 'POST', body: new URLSearchParams({ csrf: account.fields.csrf!, response: JSON.stringify(response) }) });
    expect(reply.status).toBe(401);
    expect(app.logs.at(-1)).toMatchObject({ reason: 'challenge for another ceremony' });
  });

  it('a counter that goes back (a cloned authenticator): refused with a warning naming both counts', async () => {
    // The copy was taken before the real authenticator signed in again.
    const clone = aliceKey.clone(0);
    expect((await passkeySignIn(browserFrom(), LOGIN, aliceKey, RP)).reply.status).toBe(303);
    const line = await refused({}, clone);
    expect(line).toMatchObject({ level: 40, reason: 'counter went back', user: 'alice', counter: 1 });
    expect(line!.stored).toBeGreaterThan(1);
    expect(line!.msg).toContain('cloned');
  });

  it('counts failed assertions for the client address in the sign-in throttle', async () => {
    const client = browserFrom();
    const attempt = () => passkeySignIn(client, LOGIN, aliceKey, RP, { ceremony: { origin: 'https://evil.example.net' } });
    // login.rate_limit is 4 a minute: four refusals, then the address is refused before any options are given.
    for (let i = 0; i < 4; i++) expect((await attempt()).reply.status).toBe(401);
    const form = passkeyFormOf((await client.get(LOGIN)).body);
    const options = await client.request(form.options, { method: 'POST', body: new URLSearchParams(form.fields) });
    expect(options.status).toBe(429);
    expect(options.header('retry-after')).toMatch(/^\d+$/);
    expect(JSON.parse(options.body).error).toMatch(/^Too many failed sign-in attempts\. Try again in 1 minute\.$/);
    // And a response posted anyway is not looked at.
    const posted = await client.request(form.action, { method: 'POST', body: new URLSearchParams({ ...form.fields, response: '{}' }) });
    expect(posted.status).toBe(429);
    expect(posted.body).toContain('Too many failed sign-in attempts. Try again in 1 minute.');
  });

  it('counts passkey sign-ins started per address (each keeps a challenge in the store): beyond login.passkey_rate_limit, 429', async () => {
    const client = browserFrom();
    const form = passkeyFormOf((await client.get(LOGIN)).body);
    const start = () => client.request(form.options, { method: 'POST', body: new URLSearchParams(form.fields) });
    for (let i = 0; i < 10; i++) expect((await start()).status).toBe(200);
    const refused = await start();
    expect(refused.status).toBe(429);
    expect(refused.header('retry-after')).toMatch(/^\d+$/);
    expect(JSON.parse(refused.body).error).toBe('Too many passkey sign-ins started from this address. Try again in 1 minute.');
  });

  it('a missing or stale form token: 403, nothing checked', async () => {
    const client = browserFrom();
    const form = passkeyFormOf((await client.get(LOGIN)).body);
    const reply = await client.request(form.action, { method: 'POST', body: new URLSearchParams({ ...form.fields, csrf: 'stale', response: '{}' }) });
    expect(reply.status).toBe(403);
    const options = await client.request(form.options, { method: 'POST', body: new URLSearchParams({}) });
    expect(options.status).toBe(403);
  });
});
