import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { oidcCommand } from '../../src/cli/oidc-command.js';
import { identityOf } from '../../src/auth/identity.js';
import { admissionFingerprint } from '../../src/oidc/claims.js';
import { OidcProviders } from '../../src/oidc/providers.js';
import type { SessionData } from '../../src/store/session-store.js';
import { startApp, type AppFixture } from '../support/app-fixture.js';
import { parseForm, TestClient, type Reply } from '../support/http-client.js';
import { Browser, confirmProviderLogout, signInAtProvider, startIdp, type TestIdp } from '../support/oidc-provider.js';
import { askVerify } from '../support/verify-client.js';

/**
 * Single sign-on against two real identity providers (oidc-provider, in-process): the whole
 * browser flow through their login and consent pages, and every way it must fail.
 */

const POSTERN = 'http://auth.example.com';
const LOGIN = `${POSTERN}/login`;
const RD = 'https://photos.example.com/album/1';
const SECRET_A = 'provider-a-client-secret-0123456789';
const SECRET_B = 'provider-b-client-secret-0123456789';

const ACCOUNTS_A = {
  alice: { preferred_username: 'Alice', email: 'alice@example.com', email_verified: true, name: 'Alice Liddell', groups: ['family', 'admins'], postern_role: 'admin' },
  bob: { preferred_username: 'bob', email: 'bob@example.com', email_verified: false, name: 'Bob', groups: ['family'] },
  carol: { preferred_username: 'carol', email: 'carol@example.com', email_verified: true, groups: ['outsiders'] },
  mallory: { preferred_username: 'admin', email: 'mallory@evil.test', email_verified: true, groups: ['family'] },
  linda: { preferred_username: 'linda.sso', email: 'Linda@Example.com', email_verified: true, groups: ['family'] },
  lindy: { preferred_username: 'lindy', email: 'linda@example.com', email_verified: false },
  nameless: { email: 'x@example.com', email_verified: true },
  // Another account at the same provider claiming a name another subject holds.
  alice2: { preferred_username: 'ALICE', email: 'alice2@example.com', email_verified: true },
  dora: { preferred_username: 'dora', email: 'dora@example.com', email_verified: true },
  dora2: { preferred_username: 'Dora', email: 'dora2@example.com', email_verified: true },
};
const ACCOUNTS_B = {
  alice: { preferred_username: 'alice.b', email: 'alice@b.example.com', email_verified: true, name: 'Alice (B)', groups: ['b-team'] },
  // Another provider's account claiming the username provider A's alice holds.
  impostor: { preferred_username: 'alice', email: 'alice@evil.test', email_verified: true, groups: ['admins'] },
};

const LOCAL_USERS = {
  admin: { password: 'admin-password-123', role: 'admin', groups: ['admins'], email: 'admin@example.com' },
  linda: { password: 'linda-password-123', role: 'editor', groups: ['family'], email: 'linda@example.com', name: 'Linda Local' },
};

const callback = (id: string) => `${POSTERN}/oidc/${id}/callback`;

let idpA: TestIdp;
let idpB: TestIdp;
let app: AppFixture;
let oidc!: OidcProviders;
let postern: TestClient;
/** Added to the app's clock: the expired-state test moves it forward. */
let skew = 0;

beforeAll(async () => {
  [idpA, idpB] = await Promise.all([
    startIdp({
      accounts: ACCOUNTS_A,
      clients: [
        { client_id: 'postern', client_secret: SECRET_A, redirect_uris: [callback('idp')], post_logout_redirect_uris: [LOGIN, RD] },
        { client_id: 'postern-strict', client_secret: SECRET_A, token_endpoint_auth_method: 'client_secret_post', redirect_uris: [callback('strict')] },
        { client_id: 'postern-link', redirect_uris: [callback('link')] },
      ],
    }),
    // Provider B advertises no end_session_endpoint: sign-out there is local only.
    startIdp({ accounts: ACCOUNTS_B, clients: [{ client_id: 'postern-b', client_secret: SECRET_B, redirect_uris: [callback('other')] }], rpInitiatedLogout: false }),
  ]);
  const config = {
    server: { public_url: POSTERN, trusted_proxies: ['loopback'] },
    session: { domain: 'example.com' },
    oidc: {
      // These tests start many sign-ins from one address; the limit has its own tests below.
      start_rate_limit: '1000/minute',
      providers: [
        { id: 'idp', button_text: 'Sign in with SSO', issuer_url: idpA.issuer, client_id: 'postern', client_secret: SECRET_A, scope: 'openid email profile groups', claims: { role: 'postern_role' } },
        {
          id: 'strict',
          issuer_url: idpA.issuer,
          client_id: 'postern-strict',
          client_secret: SECRET_A,
          token_endpoint_auth_method: 'client_secret_post',
          scope: 'openid email profile groups',
          allowed_groups: ['family'],
          allowed_emails: ['@example.com'],
        },
        { id: 'link', issuer_url: idpA.issuer, client_id: 'postern-link', token_endpoint_auth_method: 'none', scope: 'openid email profile groups', link_local_users: 'email' },
        {
          id: 'other',
          button_text: 'Sign in with B',
          issuer_url: idpB.issuer,
          client_id: 'postern-b',
          client_secret: SECRET_B,
          scope: 'openid email profile groups',
          groups_prefix: 'b:',
          session_ttl: '2h',
        },
      ],
    },
  };
  app = await startApp(config, LOCAL_USERS, {
    now: () => Date.now() + skew,
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
  await Promise.all([idpA?.close(), idpB?.close()]);
});

/** GET /oidc/<id>/start; returns the provider's authorization URL. */
async function start(browser: Browser, id: string, rd?: string): Promise<string> {
  const reply = await browser.get(`${POSTERN}/oidc/${id}/start${rd ? `?rd=${encodeURIComponent(rd)}` : ''}`);
  expect(reply.status).toBe(302);
  return reply.header('location')!;
}

/** Start, then sign in at the provider: the callback URL the provider sends the browser to. */
async function throughProvider(browser: Browser, id: string, login: string, rd?: string): Promise<string> {
  return signInAtProvider(browser, await start(browser, id, rd), { login });
}

async function signedInHeaders(browser: Browser): Promise<Reply> {
  return askVerify(postern, browser.postern, 'nginx', RD);
}

function sessionCookie(reply: Reply): string | undefined {
  const cookies = (reply.headers['set-cookie'] as string[] | undefined) ?? [];
  return cookies.find((c) => c.startsWith('postern_session='));
}

async function sessionId(browser: Browser): Promise<string | undefined> {
  return /postern_session=([^;]+)/.exec(await browser.postern.jar.getCookieString(RD))?.[1];
}

/** The last failure log line for `provider`. */
function lastFailure(provider: string): Record<string, unknown> | undefined {
  return app.logs.filter((l) => l.event === 'oidc.login.failure' && l.provider === provider).at(-1);
}

/** Asserts a failed callback: the sign-in page with the message, and nobody signed in. */
async function expectRefused(browser: Browser, reply: Reply, status: number, message: string): Promise<void> {
  expect(reply.status).toBe(status);
  expect(reply.header('content-type')).toBe('text/html; charset=utf-8');
  expect(reply.body).toContain('<h1>Sign in</h1>');
  expect(reply.body).toContain(message);
  expect((await signedInHeaders(browser)).status).toBe(401);
}

describe('the sign-in page', () => {
  it('shows one link per provider, carrying rd, above the password form', async () => {
    const reply = await new Browser(app.port).get(`${LOGIN}?rd=${encodeURIComponent(RD)}`);
    expect(reply.status).toBe(200);
    const rd = encodeURIComponent(RD);
    expect(reply.body).toContain(`<a href="${POSTERN}/oidc/idp/start?rd=${rd}">Sign in with SSO</a>`);
    expect(reply.body).toContain(`<a href="${POSTERN}/oidc/strict/start?rd=${rd}">Sign in with strict</a>`);
    expect(reply.body).toContain(`<a href="${POSTERN}/oidc/other/start?rd=${rd}">Sign in with B</a>`);
    expect(reply.body.indexOf('/oidc/idp/start')).toBeLessThan(reply.body.indexOf('<form'));
    expect(parseForm(reply.body).action).toBe(LOGIN);
    expect(reply.body).not.toContain('<script');
  });

  it('shows the provider links again after a failed password sign-in', async () => {
    const browser = new Browser(app.port);
    const reply = await browser.postern.submitForm(`${LOGIN}?rd=${encodeURIComponent(RD)}`, { username: "nobody", password: "wrong password" });
    expect(reply.status).toBe(401);
    expect(reply.body).toContain('Invalid username or password.');
    expect(reply.body).toContain(`<a href="${POSTERN}/oidc/idp/start?rd=${encodeURIComponent(RD)}">Sign in with SSO</a>`);
  });

  it('answers 404 for a provider that is not configured', async () => {
    expect((await new Browser(app.port).get(`${POSTERN}/oidc/nope/start`)).status).toBe(404);
  });
});

describe('signing in through a provider', () => {
  it('goes start → provider login and consent → callback → 303 to rd, and verify answers with the claims', async () => {
    const browser = new Browser(app.port);
    const authorization = new URL(await start(browser, 'idp', RD));
    expect(authorization.origin).toBe(idpA.issuer);
    const params = authorization.searchParams;
    expect(params.get('redirect_uri')).toBe(callback('idp'));
    expect(params.get('code_challenge_method')).toBe('S256');
    expect(params.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(params.get('state')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(params.get('nonce')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(params.get('scope')).toBe('openid email profile groups');
    const holder = await sessionId(browser);
    expect(holder).toBeDefined();

    const back = await signInAtProvider(browser, authorization.href, { login: 'alice' });
    expect(back.startsWith(`${callback('idp')}?`)).toBe(true);
    const reply = await browser.get(back);
    expect(reply.status).toBe(303);
    expect(reply.header('location')).toBe(RD);
    expect(sessionCookie(reply)).toMatch(/^postern_session=[A-Za-z0-9_-]{43}; path=\/; domain=example\.com; samesite=lax; httponly$/);
    // A fresh id at sign-in: the anonymous holder's id is worth nothing.
    expect(await sessionId(browser)).not.toBe(holder);

    const verdict = await signedInHeaders(browser);
    expect(verdict.status).toBe(200);
    expect(verdict.header('remote-user')).toBe('alice');
    expect(verdict.header('remote-role')).toBe('admin');
    expect(verdict.header('remote-groups')).toBe('family,admins');
    expect(verdict.header('remote-email')).toBe('alice@example.com');
    expect(verdict.header('remote-name')).toBe('Alice Liddell');

    // Server-side: keyed by issuer and subject, with the ID token for logout and the provider's admission rules; the cookie holds only the id.
    const stored = await app.deps.store.get((await sessionId(browser))!);
    expect(stored).toMatchObject({ user: 'alice', via: 'oidc:idp', idp: 'idp', adm: admissionFingerprint(oidc.get('idp')!.settings), iss: idpA.issuer, sub: 'alice', role: 'admin' });
    expect(typeof stored?.id_token).toBe('string');
    expect(stored?.oidc_pending).toBeUndefined();
    expect(app.logs.find((l) => l.event === 'oidc.login.success' && l.provider === 'idp')).toMatchObject({ user: 'alice', sub: 'alice', linked: false });
  });

  it('works with two providers configured at once, each with its own identity', async () => {
    const a = new Browser(app.port);
    const b = new Browser(app.port);
    const [backA, backB] = await Promise.all([throughProvider(a, 'idp', 'alice', RD), throughProvider(b, 'other', 'alice', RD)]);
    expect(new URL(backB).searchParams.get('iss')).toBe(idpB.issuer);
    expect((await a.get(backA)).status).toBe(303);
    expect((await b.get(backB)).status).toBe(303);
    expect((await signedInHeaders(a)).header('remote-user')).toBe('alice');
    const verdictB = await signedInHeaders(b);
    expect(verdictB.header('remote-user')).toBe('alice.b');
    expect(verdictB.header('remote-role')).toBe('viewer');
    // groups_prefix: provider B's groups cannot pass for provider A's.
    expect(verdictB.header('remote-groups')).toBe('b:b-team');
    expect((await app.deps.store.get((await sessionId(b))!))?.iss).toBe(idpB.issuer);
  });

  it('keeps two sign-ins in flight in one browser (two tabs) apart', async () => {
    const browser = new Browser(app.port);
    const first = await start(browser, 'idp', 'https://one.example.com/');
    const second = await start(browser, 'other', 'https://two.example.com/');
    const backSecond = await signInAtProvider(browser, second, { login: 'alice' });
    const backFirst = await signInAtProvider(browser, first, { login: 'alice' });
    expect((await browser.get(backFirst)).header('location')).toBe('https://one.example.com/');
    const reply = await browser.get(backSecond);
    expect(reply.header('location')).toBe('https://two.example.com/');
    expect((await signedInHeaders(browser)).header('remote-user')).toBe('alice.b');
  });

  it('sends the browser to / without rd, and drops an rd outside the protected domain', async () => {
    const browser = new Browser(app.port);
    const reply = await browser.get(await throughProvider(browser, 'idp', 'alice', 'https://evil.test/'));
    expect(reply.status).toBe(303);
    expect(reply.header('location')).toBe(`${POSTERN}/`);
  });

  it('leaves Remote-Email empty when the provider has not verified the address', async () => {
    const browser = new Browser(app.port);
    expect((await browser.get(await throughProvider(browser, 'idp', 'bob'))).status).toBe(303);
    const verdict = await signedInHeaders(browser);
    expect(verdict.header('remote-user')).toBe('bob');
    expect(verdict.header('remote-email')).toBe('');
  });

  it('admits an identity that passes allowed_groups and allowed_emails (client_secret_post)', async () => {
    const browser = new Browser(app.port);
    expect((await browser.get(await throughProvider(browser, 'strict', 'alice'))).status).toBe(303);
    const verdict = await signedInHeaders(browser);
    expect(verdict.header('remote-user')).toBe('alice');
    // No role claim configured for this provider: default_role.
    expect(verdict.header('remote-role')).toBe('viewer');
  });

  it('reuses the provider session on a second sign-in (no login form), still with a fresh state', async () => {
    const browser = new Browser(app.port);
    await browser.get(await throughProvider(browser, 'idp', 'alice'));
    const again = await start(browser, 'idp');
    const back = await signInAtProvider(browser, again, { login: 'unused' });
    expect((await browser.get(back)).status).toBe(303);
  });
});

describe('a failed sign-in ends on the sign-in page, logged, with no session', () => {
  it('refuses a callback whose state does not match, and the real one still works', async () => {
    const browser = new Browser(app.port);
    const back = new URL(await throughProvider(browser, 'idp', 'alice', RD));
    const forged = new URL(back);
    forged.searchParams.set('state', 'forged-state-forged-state-forged-state-0123');
    const reply = await browser.get(forged.href);
    await expectRefused(browser, reply, 400, 'This sign-in link has expired or was already used. Please sign in again.');
    expect(lastFailure('idp')?.reason).toMatch(/no sign-in in flight with this state/);
    // A forged callback cannot cancel the real sign-in in flight.
    expect((await browser.get(back.href)).status).toBe(303);
  });

  it('refuses a replayed callback: the state is usable once', async () => {
    const browser = new Browser(app.port);
    const back = await throughProvider(browser, 'idp', 'alice', RD);
    const first = await browser.get(back);
    expect(first.status).toBe(303);
    const signedIn = await sessionId(browser);
    const replay = await browser.get(back);
    expect(replay.status).toBe(400);
    expect(replay.body).toContain('This sign-in link has expired or was already used.');
    expect(sessionCookie(replay)).toBeUndefined();
    expect(await sessionId(browser)).toBe(signedIn);
  });

  it('refuses a callback carried to another browser, without burning the code for the right one', async () => {
    const victim = new Browser(app.port);
    const back = await throughProvider(victim, 'idp', 'alice', RD);
    const attacker = new Browser(app.port);
    const reply = await attacker.get(back);
    await expectRefused(attacker, reply, 400, 'This sign-in link has expired or was already used.');
    expect(sessionCookie(reply)).toBeUndefined();
    expect((await victim.get(back)).status).toBe(303);
  });

  it('refuses a callback after 10 minutes', async () => {
    const browser = new Browser(app.port);
    const back = await throughProvider(browser, 'idp', 'alice', RD);
    skew = 11 * 60_000;
    try {
      const reply = await browser.get(back);
      await expectRefused(browser, reply, 400, 'This sign-in took too long and has expired. Please sign in again.');
      expect(lastFailure('idp')?.reason).toMatch(/longer than 10 minutes/);
    } finally {
      skew = 0;
    }
    // Used once, even though it failed.
    expect((await browser.get(back)).status).toBe(400);
  });

  it('shows error=access_denied from the provider as a cancelled sign-in', async () => {
    const browser = new Browser(app.port);
    const back = await signInAtProvider(browser, await start(browser, 'idp', RD), { login: 'alice', abort: true });
    expect(new URL(back).searchParams.get('error')).toBe('access_denied');
    const reply = await browser.get(back);
    await expectRefused(browser, reply, 403, `The sign-in was cancelled or refused at 127.0.0.1:${idpA.port}.`);
    // The page keeps the destination, so signing in again still leads there.
    expect(parseForm(reply.body).fields.rd).toBe(RD);
    expect(lastFailure('idp')?.reason).toMatch(/error=access_denied/);
  });

  it('refuses a mix-up: a callback carrying the iss of another provider', async () => {
    const browser = new Browser(app.port);
    const back = new URL(await throughProvider(browser, 'idp', 'alice', RD));
    back.searchParams.set('iss', idpB.issuer);
    const reply = await browser.get(back.href);
    await expectRefused(browser, reply, 400, 'did not work. Please try again.');
    const failure = lastFailure('idp');
    expect(failure?.reason).toMatch(/unexpected "iss" \(issuer\) response parameter value/);
    expect(failure?.level).toBe(40);
  });

  it('refuses an unverified email when allowed_emails is set', async () => {
    const browser = new Browser(app.port);
    const reply = await browser.get(await throughProvider(browser, 'strict', 'bob'));
    await expectRefused(browser, reply, 403, 'Your email address is not verified at');
    expect(lastFailure('strict')?.reason).toMatch(/email not verified/);
  });

  it('refuses an identity outside allowed_groups', async () => {
    const browser = new Browser(app.port);
    const reply = await browser.get(await throughProvider(browser, 'strict', 'carol'));
    await expectRefused(browser, reply, 403, 'Your account is not in a group that may sign in here.');
    expect(lastFailure('strict')?.reason).toBe('none of the groups [outsiders] is in allowed_groups');
  });

  it('refuses an identity without the username claim', async () => {
    const browser = new Browser(app.port);
    const reply = await browser.get(await throughProvider(browser, 'idp', 'nameless'));
    await expectRefused(browser, reply, 403, 'has no username that can be used here');
    expect(lastFailure('idp')?.reason).toMatch(/claim 'preferred_username' \(username\) is missing/);
  });

  it('never merges a provider identity into a local user of the same name', async () => {
    const browser = new Browser(app.port);
    const reply = await browser.get(await throughProvider(browser, 'idp', 'mallory'));
    await expectRefused(browser, reply, 403, 'An account named admin already exists here');
    expect(lastFailure('idp')?.reason).toBe("username 'admin' is a local user and link_local_users (none) did not link them");
    // Refused before anything is bound: a local username never becomes a provider's.
    expect((await bindings()).map((b) => b.user)).not.toContain('admin');
  });

  it('never logs the code, the tokens or the client secrets', async () => {
    const browser = new Browser(app.port);
    const back = await throughProvider(browser, 'idp', 'alice');
    await browser.get(back);
    const code = new URL(back).searchParams.get('code')!;
    const idToken = (await app.deps.store.get((await sessionId(browser))!))?.id_token as string;
    const log = app.rawLog();
    expect(log).not.toContain(code);
    expect(log).not.toContain(idToken);
    expect(log).not.toContain(idToken.split('.')[1]!);
    expect(log).not.toContain(SECRET_A);
    expect(log).not.toContain(SECRET_B);
  });
});

/** Runs `postern oidc bindings …` against this app's configuration (its data_dir); returns the exit code and output. */
async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c: Buffer) => (out += c.toString()));
  stderr.on('data', (c: Buffer) => (err += c.toString()));
  const code = await oidcCommand(['bindings', ...args], { stdin: new PassThrough(), stdout, stderr }, app.deps.config);
  return { code, stdout: out, stderr: err };
}

async function bindings(): Promise<Array<Record<string, string>>> {
  const listed = await cli('list', '--json');
  expect(listed.code).toBe(0);
  return JSON.parse(listed.stdout) as Array<Record<string, string>>;
}

describe('one identity per person across providers', () => {
  const BOUND = 'The username alice already belongs to another account here, so this sign-in cannot be used for it. Ask the administrator.';

  it('binds the username to the subject at its first sign-in, and the same subject signs in again', async () => {
    for (let i = 0; i < 2; i++) {
      const browser = new Browser(app.port);
      expect((await browser.get(await throughProvider(browser, 'idp', 'alice'))).status).toBe(303);
      expect((await signedInHeaders(browser)).header('remote-user')).toBe('alice');
    }
    expect((await bindings()).find((b) => b.user === 'alice')).toMatchObject({ issuer: idpA.issuer, subject: 'alice' });
  });

  it('lets the same subject in through another provider entry of the same issuer', async () => {
    const browser = new Browser(app.port);
    expect((await browser.get(await throughProvider(browser, 'strict', 'alice'))).status).toBe(303);
    expect((await signedInHeaders(browser)).header('remote-user')).toBe('alice');
  });

  it('refuses another subject of the same provider claiming a bound username', async () => {
    const browser = new Browser(app.port);
    const reply = await browser.get(await throughProvider(browser, 'idp', 'alice2'));
    await expectRefused(browser, reply, 403, BOUND);
    expect(lastFailure('idp')).toMatchObject({
      status: 403,
      reason: "username 'alice' is bound to another subject (the same provider); 'postern oidc bindings remove alice' releases it",
    });
  });

  it("refuses another provider's subject claiming a bound username", async () => {
    const browser = new Browser(app.port);
    const reply = await browser.get(await throughProvider(browser, 'other', 'impostor'));
    await expectRefused(browser, reply, 403, BOUND);
    expect(lastFailure('other')).toMatchObject({ status: 403, reason: expect.stringMatching(/^username 'alice' is bound to another subject \(provider (idp|strict)\)/) });
    expect((await bindings()).find((b) => b.user === 'alice')).toMatchObject({ issuer: idpA.issuer, subject: 'alice' });
  });

  it('lists bindings on the command line, and releasing one lets the next subject bind it', async () => {
    const first = new Browser(app.port);
    expect((await first.get(await throughProvider(first, 'idp', 'dora'))).status).toBe(303);
    const second = new Browser(app.port);
    await expectRefused(second, await second.get(await throughProvider(second, 'idp', 'dora2')), 403, 'The username dora already belongs to another account here');

    const listed = await cli('list');
    expect(listed.code).toBe(0);
    const lines = listed.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^USER +PROVIDER +ISSUER +SUBJECT +BOUND$/);
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^dora +idp +${idpA.issuer} +dora +\\d{4}-\\d\\d-\\d\\dT`)));

    const removed = await cli('remove', 'Dora');
    expect(removed).toEqual({
      code: 0,
      stdout: `Released 'dora' (was bound to subject dora at ${idpA.issuer}, provider idp). The next subject that signs in as 'dora' binds it.\n`,
      stderr: '',
    });
    const again = new Browser(app.port);
    expect((await again.get(await throughProvider(again, 'idp', 'dora2'))).status).toBe(303);
    expect((await signedInHeaders(again)).header('remote-email')).toBe('dora2@example.com');
    expect((await bindings()).find((b) => b.user === 'dora')).toMatchObject({ subject: 'dora2' });
  });

  it('says so, exit code 2, when asked to release a username that is not bound', async () => {
    expect(await cli('remove', 'nobody-bound')).toEqual({
      code: 2,
      stdout: '',
      stderr: "No username 'nobody-bound' is bound; nothing was changed. 'postern oidc bindings list' shows the bound usernames.\n",
    });
    expect((await cli('frobnicate')).code).toBe(2);
  });
});

describe('a provider session lifetime (session_ttl)', () => {
  it('defaults to session.ttl (24 h)', async () => {
    const browser = new Browser(app.port);
    await browser.get(await throughProvider(browser, 'idp', 'alice'));
    const stored = await app.deps.store.get((await sessionId(browser))!);
    expect(stored!.expires - stored!.created).toBe(24 * 3_600_000);
  });

  it("ends a session opened through the provider after the provider's own session_ttl (2 h)", async () => {
    const browser = new Browser(app.port);
    await browser.get(await throughProvider(browser, 'other', 'alice'));
    const stored = await app.deps.store.get((await sessionId(browser))!);
    expect(stored!.expires - stored!.created).toBe(2 * 3_600_000);
    try {
      skew = 2 * 3_600_000 - 60_000;
      expect((await signedInHeaders(browser)).status).toBe(200);
      skew = 2 * 3_600_000 + 1000;
      expect((await signedInHeaders(browser)).status).toBe(401);
    } finally {
      skew = 0;
    }
  });
});

describe('link_local_users: email', () => {
  it('signs in as the local user whose email the provider verified, with the local role and groups', async () => {
    const browser = new Browser(app.port);
    expect((await browser.get(await throughProvider(browser, 'link', 'linda', RD))).status).toBe(303);
    const verdict = await signedInHeaders(browser);
    expect(verdict.header('remote-user')).toBe('linda');
    expect(verdict.header('remote-role')).toBe('editor');
    expect(verdict.header('remote-name')).toBe('Linda Local');
    const stored = await app.deps.store.get((await sessionId(browser))!);
    expect(stored).toMatchObject({ user: 'linda', via: 'local', idp: 'link', sub: 'linda' });
    expect(app.logs.filter((l) => l.event === 'oidc.login.success' && l.provider === 'link').at(-1)).toMatchObject({ linked: true });
  });

  it('does not link on an unverified email: the provider identity signs in on its own', async () => {
    const browser = new Browser(app.port);
    expect((await browser.get(await throughProvider(browser, 'link', 'lindy'))).status).toBe(303);
    const verdict = await signedInHeaders(browser);
    expect(verdict.header('remote-user')).toBe('lindy');
    expect(verdict.header('remote-role')).toBe('viewer');
  });

  it('without it, a verified email equal to a local user\'s does not link', async () => {
    const browser = new Browser(app.port);
    expect((await browser.get(await throughProvider(browser, 'idp', 'linda'))).status).toBe(303);
    expect((await signedInHeaders(browser)).header('remote-user')).toBe('linda.sso');
  });
});

describe('logout of a session opened through a provider', () => {
  /** The home page's sign-out button: POST /logout with its CSRF token (and `rd` when given). */
  async function signOutFromHome(browser: Browser, rd?: string): Promise<Reply> {
    const home = await browser.get(`${POSTERN}/`);
    expect(home.status).toBe(200);
    const form = parseForm(home.body);
    expect(form.action).toBe(`${POSTERN}/logout`);
    return browser.postern.request(form.action, { method: 'POST', body: new URLSearchParams({ ...form.fields, ...(rd ? { rd } : {}) }) });
  }

  it('the sign-out button (POST with CSRF) ends the session and continues to the end_session_endpoint with id_token_hint, which comes back to Postern', async () => {
    const browser = new Browser(app.port);
    await browser.get(await throughProvider(browser, 'idp', 'alice'));
    const idToken = (await app.deps.store.get((await sessionId(browser))!))?.id_token;
    const reply = await signOutFromHome(browser);
    expect(reply.status).toBe(303);
    const target = new URL(reply.header('location')!);
    expect(`${target.origin}${target.pathname}`).toBe(`${idpA.issuer}/session/end`);
    expect(target.searchParams.get('id_token_hint')).toBe(idToken);
    expect(target.searchParams.get('post_logout_redirect_uri')).toBe(LOGIN);
    expect(target.searchParams.get('client_id')).toBe('postern');
    expect((await signedInHeaders(browser)).status).toBe(401);
    expect(app.logs.filter((l) => l.event === 'logout').at(-1)).toMatchObject({ user: 'alice', provider: 'idp', at_provider: true });
    // The provider accepts the hint and the registered redirect, and sends the browser back.
    expect(await confirmProviderLogout(browser, target.href)).toBe(LOGIN);
  });

  it('the sign-out button passes a validated rd as post_logout_redirect_uri', async () => {
    const browser = new Browser(app.port);
    await browser.get(await throughProvider(browser, 'idp', 'alice'));
    const reply = await signOutFromHome(browser, RD);
    expect(new URL(reply.header('location')!).searchParams.get('post_logout_redirect_uri')).toBe(RD);
  });

  it('GET /logout ends only the Postern session and goes to the sign-in page, never to the provider', async () => {
    const browser = new Browser(app.port);
    await browser.get(await throughProvider(browser, 'idp', 'alice'));
    const reply = await browser.get(`${POSTERN}/logout`);
    expect(reply.status).toBe(303);
    expect(reply.header('location')).toBe(LOGIN);
    expect((await signedInHeaders(browser)).status).toBe(401);
    expect(app.logs.filter((l) => l.event === 'logout').at(-1)).toMatchObject({ user: 'alice', provider: 'idp', at_provider: false });
    // Still signed in at the provider: a new sign-in comes back with a code without its login page
    // (`abort` would cancel that page and come back with an error instead).
    const again = new URL(await signInAtProvider(browser, await start(browser, 'idp'), { login: 'alice', abort: true }));
    expect(again.searchParams.has('code')).toBe(true);
  });

  it('GET /logout?rd= (a sign-out link any page can hold) goes to the validated rd, never to the provider', async () => {
    const browser = new Browser(app.port);
    await browser.get(await throughProvider(browser, 'idp', 'alice'));
    const reply = await browser.get(`${POSTERN}/logout?rd=${encodeURIComponent(RD)}`);
    expect(reply.status).toBe(303);
    expect(reply.header('location')).toBe(RD);
    expect((await signedInHeaders(browser)).status).toBe(401);
  });

  it('POST /logout without the CSRF token is refused: the session stays, nothing goes to the provider', async () => {
    const browser = new Browser(app.port);
    await browser.get(await throughProvider(browser, 'idp', 'alice'));
    const reply = await browser.postern.request(`${POSTERN}/logout`, { method: 'POST', body: new URLSearchParams({ rd: RD }) });
    expect(reply.status).toBe(403);
    expect(reply.header('location')).toBeUndefined();
    expect((await signedInHeaders(browser)).status).toBe(200);
  });

  it('lets the home page sign-out form reach the provider (form-action)', async () => {
    const browser = new Browser(app.port);
    await browser.get(await throughProvider(browser, 'idp', 'alice'));
    const home = await browser.get(`${POSTERN}/`);
    expect(home.status).toBe(200);
    expect(home.header('content-security-policy')).toContain(`form-action ${idpA.issuer} 'self'`);
    const form = parseForm(home.body);
    const reply = await browser.postern.request(form.action, { method: 'POST', body: new URLSearchParams(form.fields) });
    expect(reply.status).toBe(303);
    expect(reply.header('location')!.startsWith(`${idpA.issuer}/session/end?`)).toBe(true);
  });

  it('is local only when the provider advertises no end_session_endpoint, even from the button', async () => {
    const browser = new Browser(app.port);
    await browser.get(await throughProvider(browser, 'other', 'alice'));
    const reply = await signOutFromHome(browser, RD);
    expect(reply.status).toBe(303);
    expect(reply.header('location')).toBe(RD);
    expect((await signedInHeaders(browser)).status).toBe(401);
  });

  it('"Sign in as someone else" on the not-allowed page (a POST with its token) also ends the session at the provider', async () => {
    // bob has no role claim: the provider's default_role, viewer, may not POST.
    const browser = new Browser(app.port);
    await browser.get(await throughProvider(browser, 'idp', 'bob'));
    const page = await askVerify(postern, browser.postern, 'traefik', RD, { method: 'POST' });
    expect(page.status).toBe(403);
    const form = parseForm(page.body);
    const reply = await browser.postern.request(form.action, { method: 'POST', body: new URLSearchParams(form.fields), headers: { accept: 'text/html' } });
    expect(reply.status).toBe(303);
    const target = new URL(reply.header('location')!);
    expect(`${target.origin}${target.pathname}`).toBe(`${idpA.issuer}/session/end`);
    expect(target.searchParams.get('post_logout_redirect_uri')).toBe(RD);
    expect((await signedInHeaders(browser)).status).toBe(401);
  });

  it('is unchanged for a local session', async () => {
    const browser = new TestClient(app.port);
    await browser.submitForm(LOGIN, { username: 'admin', password: LOCAL_USERS.admin.password });
    const reply = await browser.get(`${POSTERN}/logout`);
    expect(reply.header('location')).toBe(LOGIN);
  });
});

describe('sessions and configuration', () => {
  const now = Date.now();
  const base: SessionData = { user: 'alice', via: 'oidc:idp', idp: 'idp', adm: 'rules-1', created: now, expires: now + 60_000, seen: now, role: 'r', groups: [], email: '', name: '' };
  const users = { find: () => undefined, all: () => [] };
  const rules = { inactivity: 0, passwordFingerprint: () => '', oidcProviders: new Map([['idp', 'rules-1']]) };

  it('a session stands while its provider is configured, and ends when the provider is removed', () => {
    expect(identityOf(base, users, rules, now)?.user).toBe('alice');
    expect(identityOf(base, users, { ...rules, oidcProviders: new Map([['other', 'rules-1']]) }, now)).toBeUndefined();
    expect(identityOf({ ...base, via: 'local' }, users, { ...rules, oidcProviders: new Map() }, now)).toBeUndefined();
  });

  it("a session ends when its provider's admission rules change (allowed_groups, allowed_emails, …)", () => {
    expect(identityOf({ ...base }, users, { ...rules, oidcProviders: new Map([['idp', 'rules-2']]) }, now)).toBeUndefined();
    expect(identityOf({ ...base, via: 'local', pwv: '' }, users, { ...rules, oidcProviders: new Map([['idp', 'rules-2']]) }, now)).toBeUndefined();
    // A session from before admission fingerprints existed has none: it ends too, and the person signs in again.
    const { adm: _adm, ...older } = base;
    expect(identityOf(older as SessionData, users, rules, now)).toBeUndefined();
  });

  it('fingerprints exactly the admission rules', () => {
    const settings = oidc.get('strict')!.settings;
    expect(admissionFingerprint(settings)).toBe(admissionFingerprint({ ...settings, button_text: 'Changed', scope: 'openid' }));
    expect(admissionFingerprint(settings)).not.toBe(admissionFingerprint({ ...settings, allowed_groups: [] }));
    expect(admissionFingerprint(settings)).not.toBe(admissionFingerprint({ ...settings, allowed_emails: ['@example.org'] }));
    expect(admissionFingerprint(settings)).not.toBe(admissionFingerprint({ ...settings, require_verified_email: !settings.require_verified_email }));
    // groups_prefix changes the groups a session carries; an empty one leaves older fingerprints as they were.
    expect(admissionFingerprint(settings)).not.toBe(admissionFingerprint({ ...settings, groups_prefix: 'kc-' }));
    expect(admissionFingerprint(oidc.get('other')!.settings)).not.toBe(admissionFingerprint({ ...oidc.get('other')!.settings, groups_prefix: '' }));
    // two_factor: true makes every session two-factor; one opened under it must end when it is turned off. Left false, older fingerprints stay as they were.
    expect(admissionFingerprint(settings)).not.toBe(admissionFingerprint({ ...settings, two_factor: true }));
    expect(settings.two_factor).toBe(false);
  });
});

describe('sign-ins started from one address', () => {
  let limited: AppFixture;
  let limitedOidc: OidcProviders;
  beforeAll(async () => {
    const config = {
      server: { public_url: POSTERN, trusted_proxies: ['loopback'] },
      session: { domain: 'example.com' },
      oidc: { start_rate_limit: '2/minute', providers: [{ id: 'idp', issuer_url: idpA.issuer, client_id: 'postern', client_secret: SECRET_A }] },
    };
    limited = await startApp(config, LOCAL_USERS, {
      extraDeps: (base) => {
        limitedOidc = new OidcProviders(base.config.oidc!, { publicUrl: POSTERN, logger: base.logger });
        return { oidc: limitedOidc };
      },
    });
    await limitedOidc.start();
  });
  afterAll(async () => {
    limitedOidc?.close();
    await limited?.close();
  });

  it('are limited per address (oidc.start_rate_limit): beyond it, 429 with Retry-After, and nothing is kept for them', async () => {
    const from = (ip: string) => {
      const browser = new Browser(limited.port);
      return () => browser.get(`${POSTERN}/oidc/idp/start`, { 'x-forwarded-for': ip });
    };
    const attacker = from('203.0.113.7');
    expect((await attacker()).status).toBe(302);
    expect((await attacker()).status).toBe(302);
    const refused = await attacker();
    expect(refused.status).toBe(429);
    expect(Number(refused.header('retry-after'))).toBeGreaterThanOrEqual(59);
    expect(refused.body).toContain('Too many sign-ins were started from your address. Try again in 1 minute.');
    expect(refused.headers['set-cookie']).toBeUndefined();
    expect(limited.logs.filter((l) => l.event === 'oidc.start.throttled')).toEqual([
      expect.objectContaining({ provider: 'idp', client: '203.0.113.7', retryAfter: Number(refused.header('retry-after')) }),
    ]);
    // Someone else, from another address, starts as usual.
    expect((await from('198.51.100.3')()).status).toBe(302);
  });
});

