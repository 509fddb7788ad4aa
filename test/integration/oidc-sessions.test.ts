import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OidcProviders } from '../../src/oidc/providers.js';
import { MemorySessionStore } from '../../src/store/memory-store.js';
import { sessionMethod } from '../../src/store/session-store.js';
import { startApp, type AppFixture } from '../support/app-fixture.js';
import { Browser, signInAtProvider, startIdp, type TestIdp } from '../support/oidc-provider.js';
import { askVerify } from '../support/verify-client.js';

/**
 * What a sign-in records for `postern sessions` (issue 12), through both ways in: the password form
 * and a real provider (oidc-provider, in-process). The app keeps its sessions in the memory store
 * given here, whose per-user index this reads as the CLI reads Redis's.
 */

const POSTERN = 'http://auth.example.com';
const RD = 'https://photos.example.com/';
const SECRET = 'provider-client-secret-0123456789';
const BROWSER = { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0', 'x-forwarded-for': '198.51.100.40' };

let idp: TestIdp;
let app: AppFixture;
let oidc!: OidcProviders;
const store = new MemorySessionStore();

beforeAll(async () => {
  idp = await startIdp({
    accounts: { sso: { preferred_username: 'sso.alice', email: 'sso.alice@example.com', email_verified: true, name: 'Alice', groups: ['family'] } },
    clients: [{ client_id: 'postern', client_secret: SECRET, redirect_uris: [`${POSTERN}/oidc/corp/callback`] }],
  });
  const config = {
    server: { public_url: POSTERN, trusted_proxies: ['loopback'] },
    session: { domain: 'example.com' },
    oidc: { providers: [{ id: 'corp', issuer_url: idp.issuer, client_id: 'postern', client_secret: SECRET, scope: 'openid email profile groups' }] },
  };
  app = await startApp(config, { alice: { password: 'alice password' } }, {
    store,
    extraDeps: (base) => {
      oidc = new OidcProviders(base.config.oidc!, { publicUrl: POSTERN, logger: base.logger });
      return { oidc };
    },
  });
  await oidc.start();
});
afterAll(async () => {
  oidc?.close();
  await app?.close();
  await idp?.close();
});

describe('a sign-in records where it came from, for postern sessions', () => {
  it('through a provider: the client address, a short agent, and the provider as method; revoking by user ends it', async () => {
    const browser = new Browser(app.port);
    const authorization = (await browser.get(`${POSTERN}/oidc/corp/start?rd=${encodeURIComponent(RD)}`)).header('location')!;
    const callback = await signInAtProvider(browser, authorization, { login: 'sso' });
    expect((await browser.get(callback, BROWSER)).status).toBe(303);
    const verifier = new Browser(app.port).postern;
    expect((await askVerify(verifier, browser.postern, 'nginx', RD)).status).toBe(200);

    const [session, ...others] = await store.listByUser('sso.alice');
    expect(others).toEqual([]);
    expect(session!.data).toMatchObject({ ip: '198.51.100.40', ua: 'Firefox 128 on Linux' });
    expect(sessionMethod(session!.data)).toBe('oidc:corp');

    // What `postern sessions revoke --user sso.alice` does, on this store.
    for (const { id } of await store.listByUser('sso.alice')) await store.destroy(id);
    expect((await askVerify(verifier, browser.postern, 'nginx', RD)).status).toBe(401);
    expect(await store.listByUser('sso.alice')).toEqual([]);
  });

  it('through the password form: the same fields, and password as method', async () => {
    const browser = new Browser(app.port);
    const page = await browser.postern.get(`${POSTERN}/login`, BROWSER);
    const csrf = /name="csrf" value="([^"]+)"/.exec(page.body)![1]!;
    const reply = await browser.postern.request(`${POSTERN}/login`, {
      method: 'POST',
      body: new URLSearchParams({ csrf, username: 'alice', password: 'alice password' }),
      headers: { accept: 'text/html', ...BROWSER },
    });
    expect(reply.status).toBe(303);
    const [session] = await store.listByUser('alice');
    expect(session!.data).toMatchObject({ user: 'alice', ip: '198.51.100.40', ua: 'Firefox 128 on Linux' });
    expect(sessionMethod(session!.data)).toBe('password');
    expect((await store.listAll()).map((s) => s.data.user).sort()).toEqual(['alice']);
  });
});
