/**
 * A passkey as the second step after the password (/login/2fa "Use a passkey"), and as the factor a
 * `policy: two_factor` rule steps a one-factor session up with.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { noMetrics } from '../../src/metrics/metrics.js';
import { testAuthenticator } from '../support/factors.js';
import { startApp, type AppFixture } from '../support/app-fixture.js';
import { clientFrom, parseForm, TestClient } from '../support/http-client.js';
import { passkeyFormOf, passkeySecondStep } from '../support/passkey-flows.js';
import { askVerify } from '../support/verify-client.js';
import { SoftAuthenticator } from '../support/webauthn.js';

const CONFIG = {
  server: { public_url: 'http://auth.example.com', trusted_proxies: ['loopback'] },
  session: { domain: 'example.com' },
  login: { rate_limit: '50/minute', account_rate_limit: '4/minute', account_address_rate_limit: '4/minute' },
  access: { default_policy: 'deny', rules: [{ hosts: ['nvr.example.com'], policy: 'two_factor' }, { hosts: ['photos.example.com'], policy: 'authenticated' }] },
};
const LOGIN = 'http://auth.example.com/login';
const SECOND = `${LOGIN}/2fa`;
const NVR = 'https://nvr.example.com/live/1';
const RP = 'example.com';
const PASSKEYS = 'http://auth.example.com/account/2fa/passkeys';
const PASSWORD = 'correct horse battery';

/** Alice has a passkey only; Bob a passkey and an authenticator app; Erin only an authenticator app. */
const aliceKey = new SoftAuthenticator({ userVerified: false });
const bobKey = new SoftAuthenticator();
const bobApp = testAuthenticator('bob');
const USERS = {
  alice: { password: PASSWORD, factors: { passkeys: [aliceKey.passkey('Key on the ring')] } },
  bob: { password: PASSWORD, factors: { ...bobApp.factors, passkeys: [bobKey.passkey('Phone')] } },
  erin: { password: PASSWORD, factors: testAuthenticator('erin').factors },
};

let nextAddress = 1;
async function passwordFirst(app: AppFixture, user: string): Promise<TestClient> {
  const client = clientFrom(app.port, `198.51.100.${nextAddress++}`);
  const reply = await client.submitForm(`${LOGIN}?rd=${encodeURIComponent(NVR)}`, { username: user, password: PASSWORD });
  expect(reply.status).toBe(303);
  expect(reply.header('location')).toBe(`${SECOND}?rd=${encodeURIComponent(NVR)}`);
  return client;
}
const sessionId = (client: TestClient) => client.jar.getCookiesSync(LOGIN).find((c) => c.key === 'postern_session')?.value;

describe('a passkey as the second step', () => {
  let app: AppFixture;
  /** What the sign-in metrics were told (postern_sign_ins_total), as `method:outcome`. */
  const counted: string[] = [];
  beforeAll(async () => {
    app = await startApp(CONFIG, USERS, { extraDeps: () => ({ metrics: { ...noMetrics, signIn: (method, outcome) => void counted.push(`${method}:${outcome}`) } }) });
  });
  afterAll(() => app.close());

  it('offers "Use a passkey" to a user who has one (and no code form when there are no codes); the script is loaded', async () => {
    const alice = await passwordFirst(app, 'alice');
    const page = await alice.get(`${SECOND}?rd=${encodeURIComponent(NVR)}`);
    expect(page.status).toBe(200);
    expect(passkeyFormOf(page.body)).toMatchObject({ mode: 'get', action: `${SECOND}/passkey`, options: `${SECOND}/passkey/options`, fields: { rd: NVR } });
    expect(page.body).toContain('<script src="/static/passkey.js?v=');
    expect(page.body).not.toContain('name="code"');
    const bob = await passwordFirst(app, 'bob');
    const both = (await bob.get(SECOND)).body;
    expect(both).toContain('Use a passkey');
    expect(both).toContain('name="code"');
    const erin = await passwordFirst(app, 'erin');
    const codesOnly = (await erin.get(SECOND)).body;
    expect(codesOnly).not.toContain('data-passkey=');
    expect(codesOnly).not.toContain('<script');
  });

  it('completes the sign-in: the password and the passkey (amr pwd, hwk), under a fresh session id, back to rd', async () => {
    const alice = await passwordFirst(app, 'alice');
    const pending = sessionId(alice);
    // Not signed in yet: verify answers as for anyone.
    expect((await askVerify(new TestClient(app.port), alice, 'nginx', NVR)).status).toBe(401);
    const { options, reply } = await passkeySecondStep(alice, `${SECOND}?rd=${encodeURIComponent(NVR)}`, aliceKey, RP);
    // Only her passkeys are asked for.
    expect(options.allowCredentials).toEqual([{ id: aliceKey.credentialId, type: 'public-key', transports: ['internal'] }]);
    expect(reply.status).toBe(303);
    expect(reply.header('location')).toBe(NVR);
    expect(sessionId(alice)).not.toBe(pending);
    expect((await app.deps.store.get(sessionId(alice)!))?.amr).toEqual(['pwd', 'hwk']);
    expect((await askVerify(new TestClient(app.port), alice, 'nginx', NVR)).status).toBe(200);
    expect(app.logs.at(-1)).toMatchObject({ event: 'login.success', user: 'alice', factor: 'hwk', passkey: 'Key on the ring', step: 'pending' });
    expect(counted.at(-1)).toBe('second_factor:success');
  });

  it("refuses another user's passkey, another origin, and a replay; each attempt counts for the username and address", async () => {
    const bob = await passwordFirst(app, 'bob');
    // Alice's own, real passkey cannot answer for Bob.
    expect((await passkeySecondStep(bob, SECOND, aliceKey, RP)).reply.status).toBe(401);
    expect(app.logs.at(-1)).toMatchObject({ event: 'two_factor.failure', method: 'passkey', user: 'bob', reason: 'unknown credential' });
    const wrongOrigin = await passkeySecondStep(bob, SECOND, bobKey, RP, { ceremony: { origin: 'https://evil.example.net' } });
    expect(wrongOrigin.reply.status).toBe(401);
    expect(wrongOrigin.reply.body).toContain('That passkey could not confirm it is you.');
    expect(app.logs.at(-1)).toMatchObject({ reason: 'wrong origin' });
    let first = '';
    await passkeySecondStep(bob, SECOND, bobKey, RP, { ceremony: { rpId: 'evil.net' }, response: (r) => (first = r) });
    expect(app.logs.at(-1)).toMatchObject({ reason: 'wrong rp id' });
    const form = passkeyFormOf((await bob.get(SECOND)).body);
    const replay = await bob.request(form.action, { method: 'POST', body: new URLSearchParams({ ...form.fields, response: first }) });
    expect(replay.status).toBe(401);
    expect(app.logs.at(-1)).toMatchObject({ reason: 'no challenge' });
    // account_rate_limit 4/minute: the fifth attempt for bob is not even looked at.
    const throttled = (await passkeySecondStep(bob, SECOND, bobKey, RP)).reply;
    expect(throttled.status).toBe(429);
    expect(throttled.header('retry-after')).toMatch(/^\d+$/);
    expect(counted.slice(-5)).toEqual(['second_factor:failure', 'second_factor:failure', 'second_factor:failure', 'second_factor:failure', 'second_factor:throttled']);
  });
});

describe('changing passkeys keeps the rules of a factor change', () => {
  let app: AppFixture;
  beforeAll(async () => {
    app = await startApp(CONFIG, USERS);
  });
  afterAll(() => app.close());

  it('removes a passkey with a code from the authenticator app instead of the password', async () => {
    const bob = await passwordFirst(app, 'bob');
    expect((await passkeySecondStep(bob, SECOND, bobKey, RP)).reply.status).toBe(303);
    const page = (await bob.get(PASSKEYS)).body;
    expect(page).toContain('<label for="remove-' );
    expect(page).toContain('Or a code from your authenticator app</label>');
    const csrf = passkeyFormOf(page).fields.csrf!;
    const remove = (code: string) => bob.request(`${PASSKEYS}/remove`, { method: 'POST', body: new URLSearchParams({ csrf, id: bobKey.credentialId, code }) });
    expect((await remove('000000')).status).toBe(401);
    const right = await remove(await bobApp.code(Date.now()));
    expect(right.status).toBe(303);
    expect(app.logs.at(-1)).toMatchObject({ event: 'passkey.removed', user: 'bob' });
  });
});

describe('a passkey for a step-up', () => {
  let app: AppFixture;
  beforeAll(async () => {
    app = await startApp({ ...CONFIG, two_factor: { required_for_enrolled: false } }, USERS);
  });
  afterAll(() => app.close());

  it('steps a password session up for a two_factor rule: same user, amr pwd then hwk, fresh id', async () => {
    const alice = clientFrom(app.port, '198.51.100.200');
    expect((await alice.submitForm(LOGIN, { username: 'alice', password: PASSWORD })).header('location')).toBe('http://auth.example.com/');
    const oneFactor = sessionId(alice);
    const postern = new TestClient(app.port);
    const refused = await askVerify(postern, alice, 'nginx', NVR);
    expect(refused.status).toBe(401);
    expect(refused.header('location')).toBe(`${SECOND}?rd=${encodeURIComponent(NVR)}`);
    const { reply } = await passkeySecondStep(alice, refused.header('location')!, aliceKey, RP);
    expect(reply.status).toBe(303);
    expect(reply.header('location')).toBe(NVR);
    expect(sessionId(alice)).not.toBe(oneFactor);
    expect((await app.deps.store.get(sessionId(alice)!))?.amr).toEqual(['pwd', 'hwk']);
    expect((await askVerify(postern, alice, 'nginx', NVR)).status).toBe(200);
  });

  it('asks a one-factor session of a user with a factor to step up before changing passkeys', async () => {
    const alice = clientFrom(app.port, '198.51.100.201');
    expect((await alice.submitForm(LOGIN, { username: 'alice', password: PASSWORD })).status).toBe(303);
    const page = await alice.get(PASSKEYS);
    expect(page.status).toBe(302);
    expect(page.header('location')).toBe(`${SECOND}?rd=${encodeURIComponent(PASSKEYS)}`);
    const csrf = parseForm((await alice.get('http://auth.example.com/account')).body).fields.csrf!;
    const options = await alice.request(`${PASSKEYS}/options`, { method: 'POST', body: new URLSearchParams({ csrf, name: 'Another' }) });
    expect(options.status).toBe(401);
    expect(JSON.parse(options.body)).toEqual({ error: 'Confirm it is you with your second factor first: reload the page.' });
  });
});
