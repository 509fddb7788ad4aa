import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readExampleTree } from '../support/examples.js';
import { parseForm } from '../support/http-client.js';
import { startNginx, type NginxProcess } from '../support/nginx.js';
import { Browser, signInAtProvider, startIdp, type TestIdp } from '../support/oidc-provider.js';
import { startProxy, startStack, type Stack } from '../support/stack.js';

const SECRET = 'oidc-client-secret-for-the-nginx-example';
let idp: TestIdp;
let stack: Stack;
let nginx: NginxProcess;

beforeAll(async () => {
  idp = await startIdp({
    accounts: { carol: { sub: 'carol-sub', preferred_username: 'carol', email: 'carol@example.com', email_verified: true, name: 'Carol Danvers', groups: ['family'] } },
    clients: [
      {
        client_id: 'postern',
        client_secret: SECRET,
        redirect_uris: ['http://auth.example.com/oidc/keycloak/callback'],
        post_logout_redirect_uris: ['http://auth.example.com/login', 'http://app.example.com/album'],
      },
    ],
  });
  stack = await startStack('oidc/postern.yml', { alice: { password: 'alice password' } }, { OIDC_CLIENT_SECRET: SECRET }, idp.issuer);
  nginx = await startProxy(stack, (ports) => startNginx('include postern.conf;', ports.proxy, readExampleTree('nginx', ports)));
});
afterAll(async () => {
  await nginx?.stop();
  await stack?.close();
  await idp?.close();
});

describe('single sign-on through real nginx, from the published examples', () => {
  it('goes app → sign-in page → provider → callback → app, and the app sees the identity from the claims', async () => {
    const browser = new Browser(stack.ports.proxy);
    const first = await browser.get('http://app.example.com/album');
    expect(first.status).toBe(302);
    const page = await browser.get(first.header('location')!);
    const link = /<a href="([^"]+\/oidc\/keycloak\/start\?rd=[^"]+)">Sign in with Keycloak<\/a>/.exec(page.body)?.[1]?.replaceAll('&amp;', '&');
    expect(link).toBe(`http://auth.example.com/oidc/keycloak/start?rd=${encodeURIComponent('http://app.example.com/album')}`);

    const start = await browser.get(link!);
    expect(start.status).toBe(302);
    expect(new URL(start.header('location')!).origin).toBe(idp.issuer);
    const callback = await signInAtProvider(browser, start.header('location')!, { login: 'carol' });
    expect(callback).toMatch(/^http:\/\/auth\.example\.com\/oidc\/keycloak\/callback\?/);
    const back = await browser.get(callback);
    expect(back.status).toBe(303);
    expect(back.header('location')).toBe('http://app.example.com/album');

    const app = await browser.get('http://app.example.com/album');
    expect(app.status).toBe(200);
    const seen = stack.app.seen.filter((r) => r.url === '/album').at(-1)!;
    expect(seen.headers['remote-user']).toBe('carol');
    expect(seen.headers['remote-role']).toBe('viewer');
    expect(seen.headers['remote-groups']).toBe('family');
    expect(seen.headers['remote-email']).toBe('carol@example.com');
    expect(seen.headers['remote-name']).toBe('Carol Danvers');
  });

  /** Through nginx: the app's login redirect, the Keycloak button, the provider, the callback. */
  async function signInAsCarol(browser: Browser): Promise<void> {
    expect((await browser.get('http://app.example.com/album')).status).toBe(302);
    const start = await browser.get(`http://auth.example.com/oidc/keycloak/start?rd=${encodeURIComponent('http://app.example.com/album')}`);
    expect((await browser.get(await signInAtProvider(browser, start.header('location')!, { login: 'carol' }))).status).toBe(303);
    expect((await browser.get('http://app.example.com/album')).status).toBe(200);
  }

  it('a sign-out link (GET /logout?rd=) ends the Postern session only: back to rd, never to the provider', async () => {
    const browser = new Browser(stack.ports.proxy);
    await signInAsCarol(browser);
    const out = await browser.get(`http://auth.example.com/logout?rd=${encodeURIComponent('http://app.example.com/album')}`);
    expect(out.status).toBe(303);
    expect(out.header('location')).toBe('http://app.example.com/album');
    expect((await browser.get('http://app.example.com/album')).status).toBe(302);
  });

  it('the home page\'s sign-out button (POST with its CSRF token) ends the session at the provider too', async () => {
    const browser = new Browser(stack.ports.proxy);
    await signInAsCarol(browser);
    const home = await browser.get('http://auth.example.com/');
    const form = parseForm(home.body);
    const out = await browser.postern.request(form.action, { method: 'POST', body: new URLSearchParams(form.fields) });
    expect(out.status).toBe(303);
    const target = new URL(out.header('location')!);
    expect(`${target.origin}${target.pathname}`).toBe(`${idp.issuer}/session/end`);
    expect(target.searchParams.get('id_token_hint')).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(target.searchParams.get('post_logout_redirect_uri')).toBe('http://auth.example.com/login');
    expect((await browser.get('http://app.example.com/album')).status).toBe(302);
  });
});
