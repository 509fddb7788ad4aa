import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type AppFixture } from '../support/app-fixture.js';
import { TestClient } from '../support/http-client.js';
import { askVerify } from '../support/verify-client.js';

const RD = 'https://photos.example.com/';
// The app's clock runs ahead of the store's (real) clock: the store never expires what the app still trusts.
let clock = Date.now();
let app: AppFixture;
let postern: TestClient;

beforeAll(async () => {
  app = await startApp(
    { server: { public_url: 'http://auth.example.com' }, session: { domain: 'example.com', ttl: '2h', inactivity: '2m' } },
    { alice: { password: 'alice password' } },
    { now: () => clock },
  );
  postern = new TestClient(app.port);
});
afterAll(() => app.close());

async function signedIn(): Promise<TestClient> {
  const browser = new TestClient(app.port);
  expect((await browser.submitForm('http://auth.example.com/login', { username: 'alice', password: 'alice password' })).status).toBe(303);
  return browser;
}

describe('session lifetime, on the verify path', () => {
  it('ends a session idle for longer than session.inactivity, and activity keeps it alive', async () => {
    const browser = await signedIn();
    clock += 90_000;
    expect((await askVerify(postern, browser, 'nginx', RD)).status).toBe(200);
    clock += 110_000; // 200 s since sign-in, but only 110 s since the last request
    expect((await askVerify(postern, browser, 'nginx', RD)).status).toBe(200);
    clock += 121_000;
    expect((await askVerify(postern, browser, 'nginx', RD)).status).toBe(401);
  });

  it('ends a session at session.ttl however active it is', async () => {
    const browser = await signedIn();
    for (let i = 0; i < 119; i++) {
      clock += 60_000;
      expect((await askVerify(postern, browser, 'traefik', RD)).status).toBe(200);
    }
    clock += 61_000; // 7201 s since sign-in, but only 61 s idle
    expect((await askVerify(postern, browser, 'traefik', RD)).status).toBe(302);
  });

  it('never sets a cookie on a verify reply', async () => {
    const browser = await signedIn();
    clock += 100_000;
    const reply = await askVerify(postern, browser, 'caddy', RD);
    expect(reply.status).toBe(200);
    expect(reply.headers['set-cookie']).toBeUndefined();
  });
});

describe('"keep me signed in"', () => {
  it('keeps the cookie persistent, to the same end, when the session is written again after activity', async () => {
    const browser = new TestClient(app.port);
    const signIn = await browser.submitForm('http://auth.example.com/login', { username: 'alice', password: 'alice password', remember_me: '1' });
    expect(signIn.status).toBe(303);
    const expiresOf = (setCookie: unknown) =>
      (setCookie as string[] | undefined)?.filter((c) => c.startsWith('postern_session=')).map((c) => /expires=([^;]+)/i.exec(c)?.[1])[0];
    const first = expiresOf(signIn.headers['set-cookie']);
    expect(first).toBeDefined();

    // Later activity refreshes `seen`, and koa-session writes the session and its cookie again.
    clock += 90_000;
    const again = await browser.get('http://auth.example.com/login');
    const rewritten = (again.headers['set-cookie'] as string[] | undefined)?.find((c) => c.startsWith('postern_session='));
    expect(rewritten).toBeDefined();
    const second = expiresOf(again.headers['set-cookie']);
    expect(second).toBeDefined();
    // The same end (give or take the second the cookie date is rounded to), not a browser-session cookie.
    expect(Math.abs(Date.parse(second!) - Date.parse(first!))).toBeLessThanOrEqual(91_000);
  });
});
