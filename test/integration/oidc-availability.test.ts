import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/log/logger.js';
import { OidcProviders, type Scheduler } from '../../src/oidc/providers.js';
import { startApp, type AppFixture } from '../support/app-fixture.js';
import { freePort } from '../support/free-port.js';
import { TestClient } from '../support/http-client.js';
import { Browser, signInAtProvider, startIdp, type TestIdp } from '../support/oidc-provider.js';
import { askVerify } from '../support/verify-client.js';
import { waitFor } from '../support/wait.js';

/**
 * A provider that is down when Postern starts: Postern starts anyway, says which provider is not
 * ready, explains it on the sign-in page, and recovers by itself when the provider comes up.
 * Also `auto_launch` with `password_login: false`.
 */

const POSTERN = 'http://auth.example.com';
const LOGIN = `${POSTERN}/login`;
const RD = 'https://photos.example.com/';
const SECRET = 'home-client-secret-0123456789abcdef';

let port: number;
let idp: TestIdp | undefined;
const apps: AppFixture[] = [];
const providers: OidcProviders[] = [];
let plain: AppFixture;
let auto: AppFixture;

async function startPostern(oidcSection: Record<string, unknown>): Promise<AppFixture> {
  let oidc!: OidcProviders;
  const app = await startApp(
    { server: { public_url: POSTERN, trusted_proxies: ['loopback'] }, session: { domain: 'example.com' }, oidc: oidcSection },
    { local: { password: 'local-password-123' } },
    {
      extraDeps: (base) => {
        // Short backoff: the test waits for recovery, not for minutes.
        oidc = new OidcProviders(base.config.oidc!, { publicUrl: POSTERN, logger: base.logger, backoff: { initialMs: 50, maxMs: 200 }, timeoutSec: 2 });
        return { oidc };
      },
    },
  );
  await oidc.start();
  apps.push(app);
  providers.push(oidc);
  return app;
}

beforeAll(async () => {
  port = await freePort();
  const provider = { id: 'home', issuer_url: `http://127.0.0.1:${port}`, client_id: 'postern', client_secret: SECRET, scope: 'openid email profile' };
  plain = await startPostern({ providers: [provider] });
  auto = await startPostern({ auto_launch: true, password_login: false, providers: [provider] });
});
afterAll(async () => {
  for (const p of providers) p.close();
  await Promise.all(apps.map((a) => a.close()));
  await idp?.close();
});

describe('a provider that is down at start', () => {
  it('does not stop Postern: /readyz stays 200 (verify and passwords still work) and names the provider as degraded', async () => {
    const ready = await new TestClient(plain.port).request(`${POSTERN}/readyz`);
    expect(ready.status).toBe(200);
    expect(ready.header('cache-control')).toBe('no-store');
    expect(JSON.parse(ready.body)).toEqual({ status: 'ready', degraded: ['oidc provider home'] });
    expect(plain.logs.filter((l) => l.event === 'oidc.discovery.failure' && l.level === 40)).toHaveLength(1);
  });

  it('explains on its button instead of linking to it, and keeps the password form', async () => {
    const page = await new Browser(plain.port).get(LOGIN);
    expect(page.status).toBe(200);
    expect(page.body).toContain('<strong aria-disabled="true">Sign in with home</strong>');
    expect(page.body).toContain(`127.0.0.1:${port} is not reachable right now; try again in a minute.`);
    expect(page.body).not.toContain('/oidc/home/start');
    expect(page.body).toContain('<form method="post"');
  });

  it('answers its start URL with a friendly 503 page', async () => {
    const reply = await new Browser(plain.port).get(`${POSTERN}/oidc/home/start?rd=${encodeURIComponent(RD)}`);
    expect(reply.status).toBe(503);
    expect(reply.header('retry-after')).toBe('30');
    expect(reply.body).toContain('is not reachable right now; try again in a minute.');
    expect(reply.body).toContain(`href="${LOGIN}?rd=${encodeURIComponent(RD)}"`);
  });

  it('with auto_launch, /login shows the explanation instead of redirecting, and no password form', async () => {
    const page = await new Browser(auto.port).get(`${LOGIN}?rd=${encodeURIComponent(RD)}`);
    expect(page.status).toBe(200);
    expect(page.body).toContain('is not reachable right now');
    expect(page.body).not.toContain('<form');
  });

  it('recovers by itself when the provider comes up, and sign-in works', async () => {
    idp = await startIdp({
      port,
      accounts: { alice: { preferred_username: 'alice', email: 'alice@example.com', email_verified: true } },
      clients: [{ client_id: 'postern', client_secret: SECRET, redirect_uris: [`${POSTERN}/oidc/home/callback`] }],
    });
    const postern = new TestClient(plain.port);
    await waitFor(async () => JSON.parse((await postern.request(`${POSTERN}/readyz`)).body).degraded === undefined, { timeoutMs: 3000, what: 'the provider to become ready' });
    expect(JSON.parse((await postern.request(`${POSTERN}/readyz`)).body)).toEqual({ status: 'ready' });
    expect(plain.logs.some((l) => l.event === 'oidc.discovery' && l.provider === 'home')).toBe(true);

    const browser = new Browser(plain.port);
    const page = await browser.get(LOGIN);
    expect(page.body).toContain(`<a href="${POSTERN}/oidc/home/start">Sign in with home</a>`);
    const start = await browser.get(`${POSTERN}/oidc/home/start?rd=${encodeURIComponent(RD)}`);
    const reply = await browser.get(await signInAtProvider(browser, start.header('location')!, { login: 'alice' }));
    expect(reply.status).toBe(303);
    expect((await askVerify(postern, browser.postern, 'nginx', RD)).header('remote-user')).toBe('alice');
  });
});

describe('auto_launch with password_login: false', () => {
  it('sends /login straight to the one provider, with rd', async () => {
    await waitFor(async () => JSON.parse((await new TestClient(auto.port).request(`${POSTERN}/readyz`)).body).degraded === undefined, { timeoutMs: 3000 });
    const browser = new Browser(auto.port);
    const reply = await browser.get(`${LOGIN}?rd=${encodeURIComponent(RD)}`);
    expect(reply.status).toBe(302);
    expect(reply.header('location')).toBe(`${POSTERN}/oidc/home/start?rd=${encodeURIComponent(RD)}`);
    const start = await browser.get(reply.header('location')!);
    const done = await browser.get(await signInAtProvider(browser, start.header('location')!, { login: 'alice' }));
    expect(done.header('location')).toBe(RD);
  });

  it('refuses a password sign-in posted anyway', async () => {
    const browser = new TestClient(auto.port);
    await browser.get(LOGIN);
    const reply = await browser.request(LOGIN, { method: 'POST', body: new URLSearchParams({ username: 'local', password: 'local-password-123' }) });
    expect(reply.status).toBe(403);
    expect(reply.body).toContain('Signing in with a password is turned off here.');
    expect((await askVerify(new TestClient(auto.port), browser, 'nginx', RD)).status).toBe(401);
  });
});

describe('a provider that goes down during a sign-in', () => {
  it('ends on the sign-in page with 502 and the explanation, and no session', async () => {
    const browser = new Browser(plain.port);
    const start = await browser.get(`${POSTERN}/oidc/home/start?rd=${encodeURIComponent(RD)}`);
    const back = await signInAtProvider(browser, start.header('location')!, { login: 'alice' });
    await idp!.close();
    idp = undefined;
    const reply = await browser.get(back);
    expect(reply.status).toBe(502);
    expect(reply.body).toContain(`127.0.0.1:${port} is not reachable right now; try again in a minute.`);
    expect((await askVerify(new TestClient(plain.port), browser.postern, 'nginx', RD)).status).toBe(401);
    const failure = plain.logs.filter((l) => l.event === 'oidc.login.failure').at(-1);
    expect(failure?.reason).toMatch(/fetch failed/);
  });
});

describe('discovery retries', () => {
  it('wait 1 s, then double up to the cap, through the injected scheduler', async () => {
    const closed = await freePort();
    const { config } = parseConfig({ oidc: { providers: [{ id: 'gone', issuer_url: `http://127.0.0.1:${closed}`, client_id: 'x' }] } });
    const delays: number[] = [];
    let due: (() => void) | undefined;
    const scheduler: Scheduler = {
      schedule(run, delayMs) {
        delays.push(delayMs);
        due = run;
        return () => undefined;
      },
    };
    const oidc = new OidcProviders(config.oidc!, { publicUrl: POSTERN, logger: createLogger('silent'), scheduler, backoff: { initialMs: 1000, maxMs: 4000 } });
    await oidc.start();
    for (let i = 0; i < 3; i++) {
      const run = due!;
      due = undefined;
      run();
      await waitFor(() => due !== undefined, { what: 'the next retry to be scheduled' });
    }
    oidc.close();
    expect(delays).toEqual([1000, 2000, 4000, 4000]);
    expect(oidc.get('gone')?.ready).toBe(false);
    expect(oidc.get('gone')?.problem).toMatch(/fetch failed: connect ECONNREFUSED/);
  });
});
