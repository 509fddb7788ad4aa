import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type AppFixture } from '../support/app-fixture.js';
import { TestClient } from '../support/http-client.js';
import { askVerify } from '../support/verify-client.js';

// public_url is https: Postern is reached over TLS, so its cookie is Secure and an http `rd` would be refused after sign-in.
const CONFIG = {
  server: { public_url: 'https://auth.example.com', trusted_proxies: ['loopback'] },
  session: { domain: 'example.com' },
};

let app: AppFixture;
let postern: TestClient;

beforeAll(async () => {
  app = await startApp(CONFIG, { alice: { password: 'correct horse battery' } });
  postern = new TestClient(app.port);
});
afterAll(() => app.close());

describe('verify for an http:// URL when public_url is https', () => {
  it.each(['nginx', 'traefik', 'caddy'] as const)('%s: sends the browser to the https sign-in with the https URL as rd', async (flavour) => {
    const reply = await askVerify(postern, new TestClient(app.port), flavour, 'http://photos.example.com/album/7?x=1');
    expect(reply.status).toBe(flavour === 'nginx' ? 401 : 302);
    expect(reply.header('location')).toBe(`https://auth.example.com/login?rd=${encodeURIComponent('https://photos.example.com/album/7?x=1')}`);
  });

  it('and the login page accepts that rd: the sign-in ends on the https app', async () => {
    const browser = new TestClient(app.port);
    const verify = await askVerify(postern, browser, 'traefik', 'http://photos.example.com/album/7');
    const reply = await browser.submitForm(verify.header('location')!, { username: 'alice', password: 'correct horse battery' });
    expect(reply.status).toBe(303);
    expect(reply.header('location')).toBe('https://photos.example.com/album/7');
    const cookie = ([] as string[]).concat(reply.headers['set-cookie'] ?? []).find((c) => c.startsWith('postern_session='));
    expect(cookie).toMatch(/; secure/i);
  });
});
