/**
 * Step-up: an access rule with `policy: two_factor` sends a session signed in with one factor to
 * /login/2fa (401/302/303 per proxy, as for sign-in), which asks for a factor and returns to rd.
 * Here `two_factor.required_for_enrolled: false`, so a password alone opens a one-factor session.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type AppFixture } from '../support/app-fixture.js';
import { addAppPassword, basic } from '../support/app-passwords.js';
import { testAuthenticator } from '../support/factors.js';
import { TestClient } from '../support/http-client.js';
import { askVerify } from '../support/verify-client.js';

const BASE = {
  server: { public_url: 'http://auth.example.com', trusted_proxies: ['loopback'] },
  session: { domain: 'example.com' },
  login: { rate_limit: '50/minute', account_rate_limit: '50/minute', account_address_rate_limit: '50/minute' },
  access: {
    default_policy: 'deny',
    rules: [
      { hosts: ['nvr.example.com'], policy: 'two_factor' },
      { hosts: ['photos.example.com'], policy: 'authenticated' },
    ],
  },
};
const LOGIN = 'http://auth.example.com/login';
const SECOND = 'http://auth.example.com/login/2fa';
const NVR = 'https://nvr.example.com/live/1';
const PHOTOS = 'https://photos.example.com/';
const PASSWORD = 'correct horse battery';

// Ahead of the real clock: the memory session store also judges `expires` by the real one.
let clock = Date.parse('2031-06-02T06:00:00Z');
const later = (): number => (clock += 5 * 60_000);
const alice = testAuthenticator('alice', { recovery: true });

async function signedIn(app: AppFixture, username: string): Promise<TestClient> {
  const b = new TestClient(app.port);
  const reply = await b.submitForm(LOGIN, { username, password: PASSWORD });
  expect(reply.status).toBe(303);
  return b;
}

describe('with two_factor.required_for_enrolled: false', () => {
  let app: AppFixture;
  let postern: TestClient;
  beforeAll(async () => {
    app = await startApp({ ...BASE, two_factor: { required_for_enrolled: false } }, { alice: { password: PASSWORD, factors: alice.factors }, bob: { password: PASSWORD } }, { now: () => clock });
    postern = new TestClient(app.port);
  });
  afterAll(() => app.close());

  it('a one-factor session reaches authenticated rules, and is sent to /login/2fa by a two_factor rule, per proxy flavour', async () => {
    later();
    const b = await signedIn(app, 'alice');
    expect((await askVerify(postern, b, 'nginx', PHOTOS)).status).toBe(200);
    const location = `${SECOND}?rd=${encodeURIComponent(NVR)}`;
    const nginx = await askVerify(postern, b, 'nginx', NVR);
    expect(nginx.status).toBe(401);
    expect(nginx.header('location')).toBe(location);
    const traefik = await askVerify(postern, b, 'traefik', NVR);
    expect(traefik.status).toBe(302);
    expect(traefik.header('location')).toBe(location);
    expect((await askVerify(postern, b, 'caddy', NVR, { method: 'POST' })).status).toBe(303);
    const api = await askVerify(postern, b, 'traefik', NVR, { accept: 'application/json' });
    expect(api.status).toBe(401);
    expect(JSON.parse(api.body)).toEqual({ error: 'second_factor_required', message: 'Confirm with a second factor first.', login_url: location });
    expect(app.logs.find((l) => l.event === 'verify.step_up')).toMatchObject({ user: 'alice', host: 'nvr.example.com' });
  });

  it('asks for the code on /login/2fa and comes back to rd, now two-factor, under a new session id', async () => {
    const now = later();
    const b = await signedIn(app, 'alice');
    const before = await b.jar.getCookieString(NVR);
    const page = await b.get(`${SECOND}?rd=${encodeURIComponent(NVR)}`);
    expect(page.status).toBe(200);
    expect(page.body).toContain('to continue to <strong>nvr.example.com</strong>');
    const done = await b.submitForm(`${SECOND}?rd=${encodeURIComponent(NVR)}`, { code: await alice.code(now) });
    expect(done.status).toBe(303);
    expect(done.header('location')).toBe(NVR);
    expect(await b.jar.getCookieString(NVR)).not.toBe(before);
    const verdict = await askVerify(postern, b, 'nginx', NVR);
    expect(verdict.status).toBe(200);
    expect(verdict.header('remote-user')).toBe('alice');
    // Once two-factor, the page has nothing more to ask.
    const again = await b.get(`${SECOND}?rd=${encodeURIComponent(NVR)}`);
    expect(again.status).toBe(302);
    expect(again.header('location')).toBe(NVR);
  });

  it('a wrong code leaves the session one-factor', async () => {
    later();
    const b = await signedIn(app, 'alice');
    const reply = await b.submitForm(`${SECOND}?rd=${encodeURIComponent(NVR)}`, { code: '123456' });
    expect(reply.status).toBe(401);
    expect((await askVerify(postern, b, 'nginx', NVR)).status).toBe(401);
    expect((await askVerify(postern, b, 'nginx', PHOTOS)).status).toBe(200);
  });

  it('a user without a factor is told to add one, with a link to the enrolment page', async () => {
    later();
    const b = await signedIn(app, 'bob');
    const page = await b.get(`${SECOND}?rd=${encodeURIComponent(NVR)}`);
    expect(page.status).toBe(403);
    expect(page.body).toContain('your account has none yet');
    expect(page.body).toContain(`href="http://auth.example.com/account/2fa/totp?rd=${encodeURIComponent(NVR)}"`);
  });

  it('an app password is one factor: a two_factor rule refuses it with 403 (it cannot be asked for a code), an authenticated rule lets it through', async () => {
    const { token } = await addAppPassword(app, 'alice');
    const bearer = { authorization: `Bearer ${token}` };
    expect((await askVerify(postern, new TestClient(app.port), 'traefik', PHOTOS, { anonymous: true, headers: bearer })).status).toBe(200);
    const refused = await askVerify(postern, new TestClient(app.port), 'traefik', NVR, { anonymous: true, headers: bearer });
    expect(refused.status).toBe(403);
    expect(refused.header('location')).toBeUndefined();
    expect(app.logs.find((l) => l.event === 'verify.forbid' && l.auth === 'token')).toMatchObject({ reason: 'the rule asks for a second factor, which a credential cannot give' });
  });

  it('a user with a factor in a one-factor session must step up before changing factors', async () => {
    later();
    const b = await signedIn(app, 'alice');
    const reply = await b.get('http://auth.example.com/account/2fa/totp');
    expect(reply.status).toBe(302);
    expect(reply.header('location')).toBe(`${SECOND}?rd=${encodeURIComponent('http://auth.example.com/account/2fa/totp')}`);
  });
});

describe('with two_factor.enrol_on_sign_in: true', () => {
  let app: AppFixture;
  beforeAll(async () => {
    app = await startApp({ ...BASE, two_factor: { enrol_on_sign_in: true } }, { bob: { password: PASSWORD } }, { now: () => clock });
  });
  afterAll(() => app.close());

  it('a user without a factor is walked through enrolment, and reaches rd with two factors', async () => {
    const now = later();
    const b = await signedIn(app, 'bob');
    const step = await b.get(`${SECOND}?rd=${encodeURIComponent(NVR)}`);
    expect(step.status).toBe(302);
    const enrol = `http://auth.example.com/account/2fa/totp?rd=${encodeURIComponent(NVR)}`;
    expect(step.header('location')).toBe(enrol);
    const page = await b.get(enrol);
    const secret = /<code>([A-Z2-7 ]+)<\/code>/.exec(page.body)![1]!.replaceAll(' ', '');
    const { generate } = await import('otplib');
    const done = await b.submitForm(enrol, { code: await generate({ secret, epoch: Math.floor(now / 1000) }) });
    expect(done.status).toBe(200);
    expect(done.body).toContain('Your recovery codes');
    expect(done.body).toContain(`href="${NVR}"`);
    expect((await askVerify(new TestClient(app.port), b, 'nginx', NVR)).status).toBe(200);
  });
});

describe('with tokens.basic_account_password: true', () => {
  let app: AppFixture;
  beforeAll(async () => {
    app = await startApp({ ...BASE, tokens: { basic_account_password: true } }, { alice: { password: PASSWORD, factors: alice.factors }, bob: { password: PASSWORD } }, { now: () => clock });
  });
  afterAll(() => app.close());

  it('a user with a second factor cannot use Basic with the account password (one factor, and Basic cannot ask for a code); one without can', async () => {
    const ask = (user: string) =>
      askVerify(new TestClient(app.port), new TestClient(app.port), 'traefik', PHOTOS, { anonymous: true, accept: 'application/json', headers: { authorization: basic(user, PASSWORD) } });
    expect((await ask('alice')).status).toBe(401);
    expect((await ask('bob')).status).toBe(200);
  });
});
