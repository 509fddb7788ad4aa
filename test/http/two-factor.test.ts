/**
 * The second step of a password sign-in, through the real app: a user with an authenticator app
 * is asked for a code after the right password, and is signed in only once it is right.
 */
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type AppFixture } from '../support/app-fixture.js';
import { testAuthenticator } from '../support/factors.js';
import { clientFrom, TestClient, type Reply } from '../support/http-client.js';
import { askVerify } from '../support/verify-client.js';

const CONFIG = {
  server: { public_url: 'http://auth.example.com', trusted_proxies: ['loopback'] },
  session: { domain: 'example.com' },
  login: { rate_limit: '50/minute', account_rate_limit: '50/minute', account_address_rate_limit: '5/minute' },
};
const LOGIN = 'http://auth.example.com/login';
const SECOND = 'http://auth.example.com/login/2fa';
const RD = 'https://photos.example.com/album/1';
const PASSWORD = 'correct horse battery';

// Ahead of the real clock: the memory session store also judges `expires` by the real one.
let clock = Date.parse('2031-06-02T06:00:00Z');
const alice = testAuthenticator('alice', { recovery: true });
const carol = testAuthenticator('carol', { key: 'a-key-this-installation-never-had-0123456789' });
let app: AppFixture;
let postern: TestClient;

beforeAll(async () => {
  app = await startApp(
    CONFIG,
    {
      alice: { password: PASSWORD, factors: alice.factors },
      bob: { password: PASSWORD },
      carol: { password: PASSWORD, factors: carol.factors },
      dave: { password: PASSWORD, factors: testAuthenticator('dave').factors },
    },
    { now: () => clock },
  );
  postern = new TestClient(app.port);
});
afterAll(() => app.close());

let nextAddress = 1;
/** A browser from its own address, so one test's throttle counts do not leak into another's. */
function browser(): TestClient {
  return clientFrom(app.port, `198.51.100.${nextAddress++}`);
}

/** Each test in its own 30-second steps: a code accepted in one test is not a replay in the next. */
function later(): number {
  clock += 5 * 60_000;
  return clock;
}

async function passwordStep(b: TestClient, username: string): Promise<Reply> {
  return b.submitForm(`${LOGIN}?rd=${encodeURIComponent(RD)}`, { username, password: PASSWORD });
}

const sessionCookie = (reply: Reply): string | undefined => (reply.headers['set-cookie'] as string[] | undefined)?.find((c) => c.startsWith('postern_session='))?.split(';')[0];

describe('a user with an authenticator app', () => {
  it('is asked for a code after the right password, and is not signed in until it is given', async () => {
    const now = later();
    const b = browser();
    const first = await passwordStep(b, 'alice');
    expect(first.status).toBe(303);
    expect(first.header('location')).toBe(`${SECOND}?rd=${encodeURIComponent(RD)}`);
    const pendingCookie = sessionCookie(first);
    expect(pendingCookie).toBeDefined();
    // The pending step is nobody: verify answers as for anyone not signed in.
    expect((await askVerify(postern, b, 'nginx', RD)).status).toBe(401);
    expect((await askVerify(postern, b, 'traefik', RD)).status).toBe(302);
    expect((await b.get('http://auth.example.com/')).status).toBe(302);

    const page = await b.get(first.header('location')!);
    expect(page.status).toBe(200);
    expect(page.body).toContain('Confirm with the second factor of <strong>alice</strong> to continue to <strong>photos.example.com</strong>.');
    expect(page.body).toContain('to continue to <strong>photos.example.com</strong>');
    expect(page.body).toContain('autocomplete="one-time-code"');
    expect(page.body).toContain('Or a recovery code');

    const done = await b.submitForm(first.header('location')!, { code: await alice.code(now) });
    expect(done.status).toBe(303);
    expect(done.header('location')).toBe(RD);
    // A fresh session id once signed in: the pending one is worth nothing.
    const signedIn = sessionCookie(done);
    expect(signedIn).toBeDefined();
    expect(signedIn).not.toBe(pendingCookie);
    const verdict = await askVerify(postern, b, 'nginx', RD);
    expect(verdict.status).toBe(200);
    expect(verdict.header('remote-user')).toBe('alice');
    expect(verdict.header('remote-auth')).toBe('session');
    expect((await askVerify(postern, browser(), 'nginx', RD, { headers: { cookie: pendingCookie! } })).status).toBe(401);
    // The account page says how this session was signed in.
    expect((await b.get('http://auth.example.com/account')).body).toContain('<dt>Signed in with</dt><dd>password + authenticator app</dd>');
  });

  it.each([
    ['a wrong code', async (now: number) => ((Number(await alice.code(now)) + 1) % 1_000_000).toString().padStart(6, '0')],
    ['an expired code (three steps old)', (now: number) => alice.code(now - 90_000)],
    ['a non-numeric code', async () => 'abcdef'],
    ['a code too short', async () => '12345'],
    ['no code at all', async () => ''],
  ])('refuses %s with the same generic failure, still not signed in', async (_name, makeCode) => {
    const now = later();
    const b = browser();
    const first = await passwordStep(b, 'alice');
    const reply = await b.submitForm(first.header('location')!, { code: await makeCode(now) });
    expect(reply.status).toBe(401);
    expect(reply.body).toContain('That code is not valid.');
    expect((await askVerify(postern, b, 'nginx', RD)).status).toBe(401);
  });

  it('accepts a code once: the same code again, from another browser, is refused as a replay', async () => {
    const now = later();
    const code = await alice.code(now);
    const first = browser();
    await first.submitForm((await passwordStep(first, 'alice')).header('location')!, { code });
    expect((await askVerify(postern, first, 'nginx', RD)).status).toBe(200);
    const second = browser();
    const replay = await second.submitForm((await passwordStep(second, 'alice')).header('location')!, { code });
    expect(replay.status).toBe(401);
    expect(replay.body).toContain('That code is not valid.');
    expect(app.logs.some((l) => l.event === 'two_factor.failure' && l.reason === 'replayed')).toBe(true);
    // The next step's code is fine (±1 step).
    expect((await second.submitForm(SECOND, { code: await alice.code(now + 30_000) })).status).toBe(303);
  });

  it('counts wrong codes in the sign-in throttle: the sixth attempt from one address is refused with 429', async () => {
    later();
    const b = browser();
    // The right password gave its point back; each wrong code takes one from 5/minute per username and address.
    const location = (await passwordStep(b, 'dave')).header('location')!;
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await b.submitForm(location, { code: '000000' })).status);
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
  });

  it('signs in with a recovery code once, records it in the users file, and logs it', async () => {
    later();
    const b = browser();
    const location = (await passwordStep(b, 'alice')).header('location')!;
    const done = await b.submitForm(location, { recovery: alice.recoveryCodes[0]! });
    expect(done.status).toBe(303);
    expect((await askVerify(postern, b, 'nginx', RD)).status).toBe(200);
    const file = await readFile(app.usersFile, 'utf8');
    expect(file).toMatch(/used:\n\s+- at: 2031-06-02T/);
    expect(app.logs.find((l) => l.event === 'two_factor.recovery_used')).toMatchObject({ user: 'alice', remaining: 9 });

    const again = browser();
    const reused = await again.submitForm((await passwordStep(again, 'alice')).header('location')!, { recovery: alice.recoveryCodes[0]! });
    expect(reused.status).toBe(401);
  });

  it('a trusted device does not skip the second factor', async () => {
    const now = later();
    const b = browser();
    await b.submitForm((await passwordStep(b, 'alice')).header('location')!, { code: await alice.code(now) });
    expect((await b.jar.getCookieString(LOGIN))).toContain('postern_session_device=');
    await b.request('http://auth.example.com/logout', { method: 'GET' });
    later();
    const again = await passwordStep(b, 'alice');
    expect(again.header('location')).toBe(`${SECOND}?rd=${encodeURIComponent(RD)}`);
    expect((await askVerify(postern, b, 'nginx', RD)).status).toBe(401);
  });

  it('a pending step lasts five minutes', async () => {
    later();
    const b = browser();
    const location = (await passwordStep(b, 'alice')).header('location')!;
    clock += 5 * 60_000 + 1_000;
    const page = await b.get(location);
    expect(page.status).toBe(302);
    expect(page.header('location')).toBe(`${LOGIN}?rd=${encodeURIComponent(RD)}`);
  });
});

describe('a user whose factor cannot be decrypted (another installation key)', () => {
  it('is still asked for it, never signed in without it, and the log names the user and the key setting', async () => {
    const now = later();
    const b = browser();
    const first = await passwordStep(b, 'carol');
    expect(first.header('location')).toBe(`${SECOND}?rd=${encodeURIComponent(RD)}`);
    const reply = await b.submitForm(first.header('location')!, { code: await carol.code(now) });
    expect(reply.status).toBe(401);
    expect((await askVerify(postern, b, 'nginx', RD)).status).toBe(401);
    expect(app.logs.find((l) => l.event === 'two_factor.undecryptable')).toMatchObject({ user: 'carol', setting: 'secrets.encryption_key', level: 50 });
    expect(app.rawLog()).not.toContain(carol.secret);
  });
});

describe('a user without a factor', () => {
  it('signs in with the password alone, and /login/2fa has nothing to ask', async () => {
    later();
    const b = browser();
    const reply = await passwordStep(b, 'bob');
    expect(reply.header('location')).toBe(RD);
    expect((await askVerify(postern, b, 'nginx', RD)).status).toBe(200);
  });

  it('/login/2fa without any session sends to the sign-in page', async () => {
    const reply = await browser().get(`${SECOND}?rd=${encodeURIComponent(RD)}`);
    expect(reply.status).toBe(302);
    expect(reply.header('location')).toBe(`${LOGIN}?rd=${encodeURIComponent(RD)}`);
  });
});

it('never logs a code or a secret', () => {
  expect(app.rawLog()).not.toContain(alice.secret);
  for (const code of alice.recoveryCodes) expect(app.rawLog()).not.toContain(code);
});
