import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OidcProviders } from '../../src/oidc/providers.js';
import { startApp, type AppFixture } from '../support/app-fixture.js';
import { testAuthenticator } from '../support/factors.js';
import type { Reply } from '../support/http-client.js';
import { Browser, signInAtProvider, startIdp, type TestIdp } from '../support/oidc-provider.js';
import { passkeyFormOf, passkeySignIn, registerPasskey } from '../support/passkey-flows.js';
import { askVerify } from '../support/verify-client.js';
import { SoftAuthenticator } from '../support/webauthn.js';

/**
 * A single sign-on sign-in started in one tab (GET /oidc/<id>/start, the browser now away at the
 * provider) stays in flight when the same browser signs in another way meanwhile, in another tab:
 * the session that sign-in starts (under a fresh id) carries it, so the provider's callback still
 * succeeds. A real provider (oidc-provider, in-process) and the real app.
 */

const POSTERN = 'http://auth.example.com';
const LOGIN = `${POSTERN}/login`;
const RD = 'https://photos.example.com/album/1';
/** Where the sign-in in flight was headed: the callback sends the browser there. */
const OTHER_TAB = 'https://music.example.com/playlist/7';
const SECRET = 'provider-client-secret-0123456789';
const PASSWORD = 'correct horse battery';

const carolApp = testAuthenticator('carol');
/** Dave's passkey verifies him (PIN or biometrics): two factors on its own. */
const daveKey = new SoftAuthenticator({ userVerified: true });

let idp: TestIdp;
let app: AppFixture;
let oidc!: OidcProviders;

beforeAll(async () => {
  idp = await startIdp({
    accounts: { sso: { preferred_username: 'sso.alice', email: 'sso.alice@example.com', email_verified: true, groups: ['family'] } },
    clients: [{ client_id: 'postern', client_secret: SECRET, redirect_uris: [`${POSTERN}/oidc/corp/callback`] }],
  });
  const config = {
    server: { public_url: POSTERN, trusted_proxies: ['loopback'] },
    session: { domain: 'example.com' },
    oidc: { providers: [{ id: 'corp', issuer_url: idp.issuer, client_id: 'postern', client_secret: SECRET, scope: 'openid email profile groups' }] },
  };
  const users = { bob: { password: PASSWORD }, carol: { password: PASSWORD, factors: carolApp.factors }, dave: { password: PASSWORD } };
  app = await startApp(config, users, {
    extraDeps: (base) => {
      oidc = new OidcProviders(base.config.oidc!, { publicUrl: POSTERN, logger: base.logger });
      return { oidc };
    },
  });
  await oidc.start();
  // Nobody has a passkey yet: the single sign-on page offers none.
  expect((await new Browser(app.port).get(LOGIN)).body).not.toContain('data-passkey=');
  const dave = new Browser(app.port);
  expect((await dave.postern.submitForm(LOGIN, { username: 'dave', password: PASSWORD })).status).toBe(303);
  expect((await registerPasskey(dave.postern, `${POSTERN}/account/2fa/passkeys`, daveKey, "dave's key")).reply.status).toBe(303);
});
afterAll(async () => {
  oidc?.close();
  await app?.close();
  await idp?.close();
});

const loginWithRd = `${LOGIN}?rd=${encodeURIComponent(RD)}`;

async function sessionId(browser: Browser): Promise<string | undefined> {
  return /postern_session=([^;]+)/.exec(await browser.postern.jar.getCookieString(RD))?.[1];
}

async function remoteUser(browser: Browser): Promise<string | undefined> {
  const verdict = await askVerify(new Browser(app.port).postern, browser.postern, 'nginx', RD);
  expect(verdict.status).toBe(200);
  return verdict.header('remote-user');
}

const failures = () => app.logs.filter((l) => l.event === 'oidc.login.failure');

/**
 * Each local way in, run to its last answer: the 303 that signs the browser in. (The password form
 * used to start its session without the sign-ins in flight, and the callback then answered 400
 * "This sign-in link has expired or was already used.")
 */
const waysIn: Array<[string, string, (browser: Browser) => Promise<Reply>]> = [
  ['the password form', 'bob', (browser) => browser.postern.submitForm(loginWithRd, { username: 'bob', password: PASSWORD })],
  [
    'the password form and an authenticator code',
    'carol',
    async (browser) => {
      const first = await browser.postern.submitForm(loginWithRd, { username: 'carol', password: PASSWORD });
      expect(first.status).toBe(303);
      expect(first.header('location')).toBe(`${LOGIN}/2fa?rd=${encodeURIComponent(RD)}`);
      return browser.postern.submitForm(first.header('location')!, { code: await carolApp.code(Date.now()) });
    },
  ],
  ['a passkey', 'dave', async (browser) => (await passkeySignIn(browser.postern, loginWithRd, daveKey, 'example.com')).reply],
];

describe('the single sign-on sign-in page', () => {
  it('offers "Sign in with a passkey" once someone has one, as the password form does, with the destination', async () => {
    const page = await new Browser(app.port).get(loginWithRd);
    expect(page.status).toBe(200);
    expect(page.body).toContain(`${POSTERN}/oidc/corp/start`);
    const form = passkeyFormOf(page.body);
    expect(form).toMatchObject({ mode: 'get', action: `${LOGIN}/passkey`, options: `${LOGIN}/passkey/options` });
    expect(form.fields.rd).toBe(RD);
  });
});

describe('a sign-in through a provider in flight in another tab', () => {
  it.each(waysIn)('survives a sign-in with %s in the same browser, and its callback then succeeds', async (_way, user, signIn) => {
    const failuresBefore = failures().length;
    const browser = new Browser(app.port);
    const started = await browser.get(`${POSTERN}/oidc/corp/start?rd=${encodeURIComponent(OTHER_TAB)}`);
    expect(started.status).toBe(302);
    const authorization = started.header('location')!;
    expect(authorization.startsWith(`${idp.issuer}/`)).toBe(true);
    const holder = await sessionId(browser);
    expect(holder).toBeDefined();

    const signedIn = await signIn(browser);
    expect(signedIn.status).toBe(303);
    expect(signedIn.header('location')).toBe(RD);
    // Still a fresh id at sign-in: only the sign-ins in flight are carried, never the id.
    expect(await sessionId(browser)).not.toBe(holder);
    expect(await remoteUser(browser)).toBe(user);

    const back = await signInAtProvider(browser, authorization, { login: 'sso' });
    const reply = await browser.get(back);
    expect(reply.status).toBe(303);
    expect(reply.header('location')).toBe(OTHER_TAB);
    expect(await remoteUser(browser)).toBe('sso.alice');
    expect(failures().slice(failuresBefore)).toEqual([]);
  });
});
