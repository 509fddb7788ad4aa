import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OidcProviders } from '../../src/oidc/providers.js';
import { startApp, type AppFixture } from '../support/app-fixture.js';
import { TestClient } from '../support/http-client.js';
import { Browser, signInAtProvider, startIdp, type TestIdp } from '../support/oidc-provider.js';
import { askVerify } from '../support/verify-client.js';

/**
 * Identities holding what no header can carry (a lone surrogate, control characters, 10 000
 * characters), from a provider's claims or from the users file: refused at sign-in, or sent
 * encoded (or left out when too long). Verify answers 200 or 401 for them, never 500.
 */

const POSTERN = 'http://auth.example.com';
const RD = 'https://photos.example.com/';
const SECRET = 'odd-client-secret-0123456789';
const LONG = 'x'.repeat(10_000);

const ACCOUNTS = {
  surrogate: { preferred_username: 'ev\uD800e' },
  control: { preferred_username: 'ev\u0007e' },
  long: { preferred_username: LONG },
  odd: { preferred_username: 'odd', email: 'o\uD800@example.com', email_verified: true, name: LONG, groups: ['ok', 'g\u0000', 'h\uDC00', LONG, 'fine'] },
  oddname: { preferred_username: 'oddname', email: 'odd\u0085@example.com', email_verified: true, name: 'Zoë \uD83D\uDE00 Müller', groups: 'solo' },
};

let idp: TestIdp;
let app: AppFixture;
let oidc!: OidcProviders;
let postern: TestClient;

beforeAll(async () => {
  idp = await startIdp({ accounts: ACCOUNTS, clients: [{ client_id: 'postern', client_secret: SECRET, redirect_uris: [`${POSTERN}/oidc/idp/callback`] }] });
  const config = {
    server: { public_url: POSTERN, trusted_proxies: ['loopback'] },
    session: { domain: 'example.com' },
    oidc: { providers: [{ id: 'idp', issuer_url: idp.issuer, client_id: 'postern', client_secret: SECRET, scope: 'openid email profile groups' }] },
  };
  const users = {
    lone: { password: 'lone-password-123', role: 'r\uD800', groups: ['g\uDC00', 'ok'], email: 'l\uD800@example.com', name: 'Lone \uDBFF' },
    huge: { password: 'huge-password-123', groups: ['ok', LONG], email: `${LONG}@example.com`, name: LONG },
  };
  app = await startApp(config, users, {
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

async function viaProvider(login: string) {
  const browser = new Browser(app.port);
  const start = await browser.get(`${POSTERN}/oidc/idp/start`);
  const reply = await browser.get(await signInAtProvider(browser, start.header('location')!, { login }));
  return { browser, reply, verdict: await askVerify(postern, browser.postern, 'nginx', RD) };
}

function lastFailureReason(): unknown {
  return app.logs.filter((l) => l.event === 'oidc.login.failure').at(-1)?.reason;
}

describe('a username claim that is not a username is refused at sign-in', () => {
  it.each([
    ['a lone surrogate', 'surrogate', "claim 'preferred_username' (username) contains a lone surrogate (not text)"],
    ['a control character', 'control', "claim 'preferred_username' (username) contains a control character"],
    ['10 000 characters', 'long', "claim 'preferred_username' (username) is 10000 characters long after normalisation; the limit is 64"],
  ])('%s', async (_name, login, reason) => {
    const { reply, verdict } = await viaProvider(login);
    expect(reply.status).toBe(403);
    expect(reply.body).toContain('cannot be used here. Ask the administrator.');
    expect(lastFailureReason()).toBe(reason);
    expect(verdict.status).toBe(401);
  });
});

describe('other claims that no header can carry are left out', () => {
  it('drops an email with a lone surrogate, a 10 000-character name, and the groups that cannot be sent', async () => {
    const { reply, verdict } = await viaProvider('odd');
    expect(reply.status).toBe(303);
    expect(verdict.status).toBe(200);
    expect(verdict.header('remote-user')).toBe('odd');
    expect(verdict.header('remote-email')).toBe('');
    expect(verdict.header('remote-name')).toBe('');
    expect(verdict.header('remote-groups')).toBe('ok,fine');
  });

  it('drops an email with a C1 control character, and sends a name with an emoji percent-encoded', async () => {
    const { verdict } = await viaProvider('oddname');
    expect(verdict.status).toBe(200);
    expect(verdict.header('remote-email')).toBe('');
    expect(verdict.header('remote-name')).toBe('Zo%C3%AB %F0%9F%98%80 M%C3%BCller');
    expect(verdict.header('remote-groups')).toBe('solo');
  });
});

describe('users-file values that no header can carry', () => {
  async function signIn(username: string, password: string): Promise<TestClient> {
    const browser = new TestClient(app.port);
    expect((await browser.submitForm(`${POSTERN}/login`, { username, password })).status).toBe(303);
    return browser;
  }

  // Regression: headerValue called encodeURIComponent on a lone surrogate, which throws: verify answered 500.
  it('sends a lone surrogate as U+FFFD, percent-encoded, instead of answering 500', async () => {
    const verdict = await askVerify(postern, await signIn('lone', 'lone-password-123'), 'nginx', RD);
    expect(verdict.status).toBe(200);
    expect(verdict.header('remote-role')).toBe('r%EF%BF%BD');
    expect(verdict.header('remote-groups')).toBe('g%EF%BF%BD,ok');
    expect(verdict.header('remote-email')).toBe('l%EF%BF%BD@example.com');
    expect(verdict.header('remote-name')).toBe('Lone %EF%BF%BD');
  });

  // Regression: a 10 000-character name went out whole; nginx cannot read a reply header block beyond proxy_buffer_size, and the request fails.
  it('leaves out a 10 000-character value instead of sending a header nginx cannot take', async () => {
    const verdict = await askVerify(postern, await signIn('huge', 'huge-password-123'), 'nginx', RD);
    expect(verdict.status).toBe(200);
    expect(verdict.header('remote-user')).toBe('huge');
    expect(verdict.header('remote-name')).toBe('');
    expect(verdict.header('remote-email')).toBe('');
    expect(verdict.header('remote-groups')).toBe('ok');
  });
});
