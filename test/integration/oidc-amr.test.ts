import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { identityOf } from '../../src/auth/identity.js';
import { admissionFingerprint } from '../../src/oidc/claims.js';
import { OidcProviders } from '../../src/oidc/providers.js';
import { listSessions, sessionRow } from '../../src/sessions/manage.js';
import { MemorySessionStore } from '../../src/store/memory-store.js';
import { startApp, type AppFixture } from '../support/app-fixture.js';
import { testAuthenticator } from '../support/factors.js';
import { TestClient, type Reply } from '../support/http-client.js';
import { Browser, signInAtProvider, startIdp, type TestIdp } from '../support/oidc-provider.js';
import { askVerify } from '../support/verify-client.js';

/**
 * How a provider's sign-in counts for `policy: two_factor` (README "Step-up"), against a real
 * provider (oidc-provider, in-process) whose ID tokens carry the `amr` each account is given here:
 * two factors when the provider is marked `two_factor: true`, or when its ID token's `amr` holds
 * `mfa` or a second factor beside another method; otherwise one, and a `two_factor` rule sends the
 * session to /login/2fa. An `amr` of any other shape is no second factor, never an error.
 */

const POSTERN = 'http://auth.example.com';
const SECOND = `${POSTERN}/login/2fa`;
const NVR = 'https://nvr.example.com/live/1';
const PHOTOS = 'https://photos.example.com/';
const SECRET = 'amr-client-secret-0123456789';

const account = (name: string) => ({ preferred_username: name, email: `${name}@example.com`, email_verified: true, name, groups: ['family'] });
const ACCOUNTS = {
  pwdotp: account('pwdotp'),
  pwdhwk: account('pwdhwk'),
  mfa: account('mfa'),
  pwd: account('pwd'),
  otponly: account('otponly'),
  none: account('none'),
  marked: account('marked'),
  markedpwd: account('markedpwd'),
  unmarked: account('unmarked'),
  // Two provider accounts with the email of the local user lena: through `link`, they sign in as her.
  lenapwd: { ...account('lena.pwd'), email: 'lena@example.com' },
  lenamfa: { ...account('lena.mfa'), email: 'lena@example.com' },
  string: account('string'),
  numbers: account('numbers'),
  object: account('object'),
  mixed: account('mixed'),
  nullamr: account('nullamr'),
  // Claims `amr` in its profile, which the provider releases in UserInfo; its sign-in records none, so the ID token has none.
  profile: { ...account('profile'), amr: ['pwd', 'mfa'] },
};
const AMR: Record<string, unknown> = {
  pwdotp: ['pwd', 'otp'],
  pwdhwk: ['pwd', 'hwk'],
  mfa: ['mfa'],
  pwd: ['pwd'],
  markedpwd: ['pwd'],
  lenapwd: ['pwd'],
  lenamfa: ['pwd', 'otp'],
  otponly: ['otp'],
  string: 'mfa',
  numbers: [1, 2],
  object: { 0: 'mfa', 1: 'otp', length: 2 },
  mixed: ['mfa', 7],
  nullamr: null,
};

let idp: TestIdp;
let app: AppFixture;
let oidc!: OidcProviders;
let postern: TestClient;
const store = new MemorySessionStore();
const lena = testAuthenticator('lena');

beforeAll(async () => {
  const redirect = (id: string) => [`${POSTERN}/oidc/${id}/callback`];
  idp = await startIdp({
    accounts: ACCOUNTS,
    amr: AMR,
    clients: [
      { client_id: 'postern', client_secret: SECRET, redirect_uris: redirect('corp') },
      { client_id: 'postern-trusted', client_secret: SECRET, redirect_uris: redirect('trusted') },
      { client_id: 'postern-link', client_secret: SECRET, redirect_uris: redirect('link') },
    ],
  });
  const provider = { issuer_url: idp.issuer, client_secret: SECRET, scope: 'openid email profile groups' };
  const config = {
    server: { public_url: POSTERN, trusted_proxies: ['loopback'] },
    session: { domain: 'example.com' },
    access: {
      default_policy: 'deny',
      rules: [
        { hosts: ['nvr.example.com'], policy: 'two_factor' },
        { hosts: ['photos.example.com'], policy: 'authenticated' },
      ],
    },
    oidc: {
      start_rate_limit: '1000/minute',
      providers: [
        { id: 'corp', client_id: 'postern', ...provider },
        { id: 'trusted', client_id: 'postern-trusted', two_factor: true, ...provider },
        { id: 'link', client_id: 'postern-link', link_local_users: 'email', ...provider },
      ],
    },
  };
  const users = { lena: { password: 'lena-password-123', email: 'lena@example.com', groups: ['family'], factors: lena.factors } };
  app = await startApp(config, users, {
    store,
    extraDeps: (base) => {
      oidc = new OidcProviders(base.config.oidc!, { publicUrl: POSTERN, logger: base.logger });
      return { oidc };
    },
  });
  await oidc.start();
  postern = new TestClient(app.port);
});
afterAll(async () => {
  oidc?.close();
  await app?.close();
  await idp?.close();
});

/** Signs `login` in at the provider through Postern's `/oidc/<provider>/...`; the callback must end in 303. */
async function signIn(provider: string, login: string): Promise<Browser> {
  const browser = new Browser(app.port);
  const start = await browser.get(`${POSTERN}/oidc/${provider}/start?rd=${encodeURIComponent(NVR)}`);
  expect(start.status).toBe(302);
  const callback = await browser.get(await signInAtProvider(browser, start.header('location')!, { login }));
  expect(callback.status).toBe(303);
  expect(callback.header('location')).toBe(NVR);
  return browser;
}

const verify = (browser: Browser, url: string): Promise<Reply> => askVerify(postern, browser.postern, 'nginx', url);

/** How `postern sessions list` names the user's one session. */
async function methodOf(user: string): Promise<string[]> {
  return (await listSessions(store, user)).map((s) => sessionRow(s).method);
}

/** The `amr` of the ID token kept in the user's session (for id_token_hint): what the provider sent; absent: undefined. */
async function idTokenAmr(user: string): Promise<unknown> {
  const [session] = await listSessions(store, user);
  const idToken = session!.data.id_token;
  expect(typeof idToken).toBe('string');
  const payload = JSON.parse(Buffer.from(String(idToken).split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
  return payload.amr;
}

/** A two_factor rule allows the session: 200 with the identity headers. */
async function expectTwoFactor(browser: Browser, user: string): Promise<void> {
  const reply = await verify(browser, NVR);
  expect(reply.status).toBe(200);
  expect(reply.header('remote-user')).toBe(user);
  expect(reply.header('remote-email')).toBe(`${user}@example.com`);
  expect(reply.header('remote-groups')).toBe('family');
}

/** A two_factor rule sends the session to the second step (nginx: 401 with Location), which has nothing to ask a provider's session; an authenticated rule still allows it. */
async function expectOneFactor(browser: Browser, user: string): Promise<void> {
  const reply = await verify(browser, NVR);
  expect(reply.status).toBe(401);
  expect(reply.header('location')).toBe(`${SECOND}?rd=${encodeURIComponent(NVR)}`);
  expect(reply.header('remote-user')).toBeUndefined();
  const page = await browser.get(reply.header('location')!);
  expect(page.status).toBe(403);
  expect(page.body).toContain('<h1>Second factor needed</h1>');
  expect(page.body).toContain('your single sign-on provider did not confirm one. Sign out and sign in again with a second factor at your provider.');
  const photos = await verify(browser, PHOTOS);
  expect(photos.status).toBe(200);
  expect(photos.header('remote-user')).toBe(user);
}

describe('an ID token whose amr says two factors', () => {
  it.each([
    ['a password and an authenticator code', 'pwdotp'],
    ['a password and a hardware key', 'pwdhwk'],
    ['mfa alone', 'mfa'],
  ])('%s: a two_factor rule allows the session, listed as oidc:corp+mfa', async (_name, user) => {
    const browser = await signIn('corp', user);
    await expectTwoFactor(browser, user);
    expect(await idTokenAmr(user)).toEqual(AMR[user]);
    expect(await methodOf(user)).toEqual(['oidc:corp+mfa']);
  });
});

describe('an ID token whose amr says one factor, from a provider not marked two_factor', () => {
  it.each([
    ['a password only', 'pwd'],
    ['an authenticator code only (one method)', 'otponly'],
    ['no amr at all', 'none'],
  ])('%s: a two_factor rule sends the session to /login/2fa, listed as oidc:corp', async (_name, user) => {
    const browser = await signIn('corp', user);
    await expectOneFactor(browser, user);
    expect(await idTokenAmr(user)).toEqual(AMR[user]);
    expect(await methodOf(user)).toEqual(['oidc:corp']);
    expect(app.logs.filter((l) => l.event === 'verify.step_up' && l.user === user)).toHaveLength(1);
  });
});

describe('a provider marked two_factor: true', () => {
  it('counts a sign-in whose ID token has no amr as two factors', async () => {
    const browser = await signIn('trusted', 'marked');
    await expectTwoFactor(browser, 'marked');
    expect(await idTokenAmr('marked')).toBeUndefined();
    expect(await methodOf('marked')).toEqual(['oidc:trusted+mfa']);
  });

  it('counts an ID token whose amr says a password only as two factors as well', async () => {
    const browser = await signIn('trusted', 'markedpwd');
    await expectTwoFactor(browser, 'markedpwd');
    expect(await idTokenAmr('markedpwd')).toEqual(['pwd']);
    expect(await methodOf('markedpwd')).toEqual(['oidc:trusted+mfa']);
  });

  it('ends the sessions it opened when two_factor is turned off (as for a change of who it admits)', async () => {
    await signIn('trusted', 'unmarked');
    const [session] = await listSessions(store, 'unmarked');
    const settings = oidc.get('trusted')!.settings;
    const now = Date.now();
    const rulesWith = (fingerprint: string) => ({ inactivity: 0, passwordFingerprint: () => '', oidcProviders: new Map([['trusted', fingerprint]]) });
    const noLocalUsers = { find: () => undefined, all: () => [] };
    expect(identityOf(session!.data, noLocalUsers, rulesWith(admissionFingerprint(settings)), now)).toMatchObject({ user: 'unmarked', twoFactor: true });
    expect(identityOf(session!.data, noLocalUsers, rulesWith(admissionFingerprint({ ...settings, two_factor: false })), now)).toBeUndefined();
  });
});

describe('an amr claim that is not a list of method names is no second factor', () => {
  it.each([
    ['a string ("mfa")', 'string'],
    ['a list of numbers', 'numbers'],
    ['an object shaped like a list', 'object'],
    ['a list holding "mfa" and a number', 'mixed'],
    ['null', 'nullamr'],
  ])('%s: signed in with one factor, never a 500', async (_name, user) => {
    const browser = await signIn('corp', user);
    await expectOneFactor(browser, user);
    expect(await idTokenAmr(user)).toEqual(AMR[user]);
    expect(await methodOf(user)).toEqual(['oidc:corp']);
    expect(app.logs.filter((l) => Number(l.level) >= 50)).toEqual([]);
  });
});

describe('only the ID token says how the person signed in', () => {
  // Regression: the callback read `amr` from the ID token's claims merged over UserInfo's, so an
  // `amr` that only UserInfo carried (a profile attribute, unsigned) counted as the provider's word.
  it('an amr in UserInfo but not in the ID token is no second factor', async () => {
    const browser = await signIn('corp', 'profile');
    await expectOneFactor(browser, 'profile');
    expect(await idTokenAmr('profile')).toBeUndefined();
    expect(await methodOf('profile')).toEqual(['oidc:corp']);
  });
});

describe('a provider sign-in linked to a local user who has an authenticator app', () => {
  it('with one factor at the provider: /login/2fa asks for her code, and the session is then two-factor', async () => {
    const browser = await signIn('link', 'lenapwd');
    const step = await verify(browser, NVR);
    expect(step.status).toBe(401);
    const location = `${SECOND}?rd=${encodeURIComponent(NVR)}`;
    expect(step.header('location')).toBe(location);
    const page = await browser.get(location);
    expect(page.status).toBe(200);
    expect(page.body).toContain('to continue to <strong>nvr.example.com</strong>');
    const done = await browser.postern.submitForm(location, { code: await lena.code(Date.now()) });
    expect(done.status).toBe(303);
    expect(done.header('location')).toBe(NVR);
    const reply = await verify(browser, NVR);
    expect(reply.status).toBe(200);
    expect(reply.header('remote-user')).toBe('lena');
    expect(await methodOf('lena')).toEqual(['oidc:link+otp']);
  });

  it('with two factors at the provider: allowed at once, her code not asked', async () => {
    for (const { id } of await listSessions(store, 'lena')) await store.destroy(id);
    const browser = await signIn('link', 'lenamfa');
    const reply = await verify(browser, NVR);
    expect(reply.status).toBe(200);
    expect(reply.header('remote-user')).toBe('lena');
    expect(await methodOf('lena')).toEqual(['oidc:link+mfa']);
  });
});
