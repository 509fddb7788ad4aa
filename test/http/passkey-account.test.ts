import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseUsersFile } from '../../src/auth/users-file-parse.js';
import { startApp, type AppFixture } from '../support/app-fixture.js';
import { clientFrom, parseForm, TestClient } from '../support/http-client.js';
import { passkeyFormOf, passkeySecondStep, registerPasskey } from '../support/passkey-flows.js';
import { SoftAuthenticator } from '../support/webauthn.js';

const CONFIG = {
  server: { public_url: 'http://auth.example.com', trusted_proxies: ['loopback'] },
  session: { domain: 'example.com' },
  login: { rate_limit: '20/minute', account_rate_limit: '3/minute', account_address_rate_limit: '3/minute' },
};
const USERS = { alice: { password: 'alice password one', name: 'Alice' }, bob: { password: 'bob password one' } };
const LOGIN = 'http://auth.example.com/login';
const PAGE = 'http://auth.example.com/account/2fa/passkeys';

let app: AppFixture;
beforeAll(async () => {
  app = await startApp(CONFIG, USERS);
});
afterAll(() => app.close());

let nextAddress = 1;
/** The passkey each user adds below; once they have one, a password sign-in asks for it as the second step. */
const KEYS = { alice: new SoftAuthenticator({ userVerified: true }), bob: new SoftAuthenticator() };

async function signedIn(user: keyof typeof USERS): Promise<TestClient> {
  const client = clientFrom(app.port, `198.51.100.${nextAddress++}`);
  const reply = await client.submitForm(LOGIN, { username: user, password: USERS[user].password });
  expect(reply.status).toBe(303);
  if (reply.header('location') === `${LOGIN}/2fa`) expect((await passkeySecondStep(client, `${LOGIN}/2fa`, KEYS[user], 'example.com')).reply.status).toBe(303);
  return client;
}

async function storedPasskeys(user: string) {
  const parsed = parseUsersFile(await readFile(app.usersFile, 'utf8'));
  expect(parsed.problems).toEqual([]);
  return parsed.users.get(user)?.factors?.passkeys ?? [];
}

/** The page's remove form for the passkey named `name`. */
function removeFormFor(html: string, name: string) {
  const at = html.indexOf(`<button type="submit">Remove ${name}</button>`);
  const start = html.lastIndexOf('<form', at);
  return parseForm(html.slice(start));
}

describe('the passkeys page', () => {
  it('sends a visitor who is not signed in to the sign-in page, coming back here', async () => {
    const reply = await new TestClient(app.port).get(PAGE);
    expect(reply.status).toBe(302);
    expect(reply.header('location')).toBe(`${LOGIN}?rd=${encodeURIComponent(PAGE)}`);
  });

  it('lists nothing at first, and offers the add form (hidden until the script runs) with an explanation for browsers without', async () => {
    const client = await signedIn('bob');
    const page = await client.get(PAGE);
    expect(page.status).toBe(200);
    expect(page.header('content-security-policy')).toContain("script-src 'self'");
    expect(page.body).toContain('<p>No passkey yet.</p>');
    expect(page.body).toMatch(/<script src="\/static\/passkey\.js\?v=[A-Za-z0-9_-]{12}" defer><\/script>/);
    expect(passkeyFormOf(page.body)).toMatchObject({ action: PAGE, mode: 'create', options: `${PAGE}/options` });
    expect(page.body).toContain('<p data-passkey-fallback>Adding a passkey needs a browser with JavaScript that supports passkeys.</p>');
  });

  it('adds a passkey: options for this user, the response checked, the users file written, the page says so', async () => {
    const client = await signedIn('alice');
    const before = client.jar.getCookiesSync(PAGE).find((c) => c.key === 'postern_session')?.value;
    const authenticator = KEYS.alice;
    const { options, reply } = await registerPasskey(client, PAGE, authenticator, 'Laptop');
    expect(options).toMatchObject({ rp: { id: 'example.com' }, user: { name: 'alice', displayName: 'Alice' }, attestation: 'none' });
    expect(reply.status).toBe(303);
    expect(reply.header('location')).toBe(`${PAGE}?done=added`);
    expect(await storedPasskeys('alice')).toEqual([expect.objectContaining({ id: authenticator.credentialId, name: 'Laptop', transports: ['internal'], userVerified: true })]);
    // Just used in this browser: the session has it among its methods now, under a fresh id.
    const after = client.jar.getCookiesSync(PAGE).find((c) => c.key === 'postern_session')?.value;
    expect(after).not.toBe(before);
    expect((await app.deps.store.get(after!))?.amr).toEqual(['pwd', 'hwk']);
    const page = await client.get(`${PAGE}?done=added`);
    expect(page.body).toContain('<div class="notice" role="status">Passkey added.</div>');
    expect(page.body).toContain('<strong>Laptop</strong>');
    expect(app.logs.some((l) => l.event === 'passkey.added' && l.user === 'alice' && l.passkey === 'Laptop')).toBe(true);
    // The account page lists it among the second factors.
    expect((await client.get('http://auth.example.com/account')).body).toContain(`<li><a href="${PAGE}">Passkeys: 1</a></li>`);
    // The next options exclude it, so one authenticator is not registered twice.
    const again = await client.request(`${PAGE}/options`, { method: 'POST', body: new URLSearchParams({ ...passkeyFormOf(page.body).fields, name: 'Again' }) });
    expect(JSON.parse(again.body).options.excludeCredentials).toEqual([{ id: authenticator.credentialId, type: 'public-key', transports: ['internal'] }]);
  });

  it('refuses a response for another origin, RP id or challenge, and one answered twice, writing nothing', async () => {
    const client = await signedIn('bob');
    const cases = [
      { tamper: { ceremony: { origin: 'http://evil.example.net' } }, reason: 'wrong origin' },
      { tamper: { ceremony: { rpId: 'evil.example.net' } }, reason: 'wrong rp id' },
      { tamper: { ceremony: { challenge: 'c29tZXRoaW5nIGVsc2UgZW50aXJlbHk' } }, reason: 'wrong challenge' },
    ];
    for (const { tamper, reason } of cases) {
      const { reply } = await registerPasskey(client, PAGE, new SoftAuthenticator(), 'Key', tamper);
      expect(reply.status).toBe(400);
      expect(reply.body).toContain('The passkey could not be added. Please try again.');
      expect(app.logs.at(-1)).toMatchObject({ event: 'passkey.register_failed', user: 'bob', reason });
    }
    // A good response posted a second time: its challenge was used up by the first.
    let first = '';
    const { reply } = await registerPasskey(client, PAGE, KEYS.bob, 'Key', { response: (real) => (first = real) });
    expect(reply.status).toBe(303);
    const form = passkeyFormOf((await client.get(PAGE)).body);
    const replay = await client.request(PAGE, { method: 'POST', body: new URLSearchParams({ ...form.fields, name: 'Key', response: first }) });
    expect(replay.status).toBe(400);
    expect(app.logs.at(-1)).toMatchObject({ event: 'passkey.register_failed', reason: 'no challenge' });
    expect(await storedPasskeys('bob')).toHaveLength(1);
  });

  it('asks for a name, says when the browser sent no passkey, and refuses a stale form token', async () => {
    const client = await signedIn('bob');
    const fields = passkeyFormOf((await client.get(PAGE)).body).fields;
    const post = (more: Record<string, string>) => client.request(PAGE, { method: 'POST', body: new URLSearchParams({ ...fields, ...more }) });
    expect((await post({ name: ' ', response: '{}' })).body).toContain('The name must not be empty.');
    const nojs = await post({ name: 'Phone', response: '' });
    expect(nojs.status).toBe(400);
    expect(nojs.body).toContain('Adding a passkey needs a browser with JavaScript that supports passkeys.');
    expect((await post({ name: 'Phone', response: '{}', csrf: 'forged' })).status).toBe(403);
    const options = await client.request(`${PAGE}/options`, { method: 'POST', body: new URLSearchParams({ ...fields, csrf: 'forged', name: 'x' }) });
    expect(options.status).toBe(403);
    expect(JSON.parse(options.body)).toEqual({ error: 'This page has expired. Reload it and try again.' });
    const anonymous = await new TestClient(app.port).request(`${PAGE}/options`, { method: 'POST', body: new URLSearchParams({ name: 'x' }) });
    expect(anonymous.status).toBe(401);
  });

  it('removes a passkey only with the password again, counted like a sign-in; never another user\'s', async () => {
    const client = await signedIn('alice');
    const authenticator = new SoftAuthenticator();
    await registerPasskey(client, PAGE, authenticator, 'Old phone');
    const page = (await client.get(PAGE)).body;
    const form = removeFormFor(page, 'Old phone');
    expect(form.action).toBe(`${PAGE}/remove`);
    expect(form.fields.id).toBe(authenticator.credentialId);

    const wrong = await client.request(form.action, { method: 'POST', body: new URLSearchParams({ ...form.fields, password: 'not it' }) });
    expect(wrong.status).toBe(401);
    expect(wrong.body).toContain('That password or code is not right. The passkey was kept.');
    expect((await storedPasskeys('alice')).map((p) => p.name)).toContain('Old phone');

    // Bob cannot remove Alice's passkey by naming its id.
    const bob = await signedIn('bob');
    const bobForm = removeFormFor((await bob.get(PAGE)).body, 'Key');
    const foreign = await bob.request(bobForm.action, { method: 'POST', body: new URLSearchParams({ ...bobForm.fields, id: authenticator.credentialId, password: USERS.bob.password }) });
    expect(foreign.status).toBe(404);

    const right = await client.request(form.action, { method: 'POST', body: new URLSearchParams({ ...form.fields, password: USERS.alice.password }) });
    expect(right.status).toBe(303);
    expect(right.header('location')).toBe(`${PAGE}?done=removed`);
    expect((await storedPasskeys('alice')).map((p) => p.name)).not.toContain('Old phone');
    expect(app.logs.at(-1)).toMatchObject({ event: 'passkey.removed', user: 'alice', passkey: 'Old phone' });
  });
});
