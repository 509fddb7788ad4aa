/**
 * Adding an authenticator app, removing it, and recovery codes, through the real app
 * (/account/2fa/totp, /account/2fa/totp/remove, /account/2fa/recovery).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { generate } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseUsersFile } from '../../src/auth/users-file-parse.js';
import { startApp, type AppFixture } from '../support/app-fixture.js';
import { parseForm, TestClient, type Reply } from '../support/http-client.js';
import { askVerify } from '../support/verify-client.js';

const CONFIG = {
  server: { public_url: 'http://auth.example.com', trusted_proxies: ['loopback'] },
  session: { domain: 'example.com' },
  login: { rate_limit: '50/minute', account_rate_limit: '50/minute', account_address_rate_limit: '50/minute' },
  access: { default_policy: 'deny', rules: [{ hosts: ['nvr.example.com'], policy: 'two_factor' }] },
};
const AUTH = 'http://auth.example.com';
const ENROL = `${AUTH}/account/2fa/totp`;
const NVR = 'https://nvr.example.com/';
const PASSWORD = 'correct horse battery';

// Ahead of the real clock: the memory session store also judges `expires` by the real one.
let clock = Date.parse('2031-06-02T06:00:00Z');
const later = (): number => (clock += 5 * 60_000);
let app: AppFixture;
let postern: TestClient;

beforeAll(async () => {
  app = await startApp(CONFIG, { erin: { password: PASSWORD }, frank: { password: PASSWORD }, gina: { password: PASSWORD }, hank: { password: PASSWORD }, ivan: { password: PASSWORD } }, { now: () => clock });
  postern = new TestClient(app.port);
});
afterAll(() => app.close());

async function signIn(username: string): Promise<TestClient> {
  const b = new TestClient(app.port);
  expect((await b.submitForm(`${AUTH}/login`, { username, password: PASSWORD })).status).toBe(303);
  return b;
}

const secretOf = (page: Reply): string => /<code>([A-Z2-7 ]+)<\/code>/.exec(page.body)![1]!.replaceAll(' ', '');
const codeAt = (secret: string, at: number): Promise<string> => generate({ secret, epoch: Math.floor(at / 1000) });
/** The fixture does not watch the users file (Postern does): the app sees what was written once told. */
const reloadUsers = (): Promise<void> => (app.deps.users as unknown as { reload(): Promise<void> }).reload();
const factorsIn = async (username: string) => parseUsersFile(await readFile(app.usersFile, 'utf8')).users.get(username)?.factors;

/** Signs `username` in and adds an app; returns the browser (now two-factor) and the app's secret. */
async function enrol(username: string): Promise<{ b: TestClient; secret: string; reply: Reply }> {
  const now = later();
  const b = await signIn(username);
  const secret = secretOf(await b.get(ENROL));
  const reply = await b.submitForm(ENROL, { code: await codeAt(secret, now) });
  await reloadUsers();
  return { b, secret, reply };
}

describe('adding an authenticator app', () => {
  it('shows the QR code as inline SVG and the secret as text, under the strict CSP, and keeps the same secret on reload', async () => {
    later();
    const b = await signIn('erin');
    const page = await b.get(ENROL);
    expect(page.status).toBe(200);
    expect(page.body).toMatch(/<svg width="224" height="224" role="img" aria-label="QR code for your authenticator app" xmlns="http:\/\/www\.w3\.org\/2000\/svg" viewBox="0 0 \d+ \d+"/);
    expect(page.body).not.toMatch(/<script|<img|https:\/\//);
    expect(secretOf(page)).toMatch(/^[A-Z2-7]{32}$/);
    expect(page.header('content-security-policy')).toContain("default-src 'none'");
    expect(page.header('cache-control')).toBe('no-store');
    expect(secretOf(await b.get(ENROL))).toBe(secretOf(page));
    // Nothing is written before a code confirms it.
    expect(await factorsIn('erin')).toBeUndefined();
  });

  it('refuses a wrong code and keeps showing the same secret', async () => {
    later();
    const b = await signIn('erin');
    const secret = secretOf(await b.get(ENROL));
    const reply = await b.submitForm(ENROL, { code: '000000' });
    expect(reply.status).toBe(400);
    expect(reply.body).toContain('That code is not right.');
    expect(secretOf(reply)).toBe(secret);
    expect(await factorsIn('erin')).toBeUndefined();
  });

  it('turns it on with one valid code: the secret sealed in the users file, ten recovery codes shown once, the session now two-factor', async () => {
    const { b, secret, reply } = await enrol('erin');
    expect(reply.status).toBe(200);
    const codes = [...reply.body.matchAll(/<li><code>([a-z0-9-]{19})<\/code><\/li>/g)].map((m) => m[1]);
    expect(codes).toHaveLength(10);
    const file = await readFile(app.usersFile, 'utf8');
    expect(file).not.toContain(secret);
    const factors = await factorsIn('erin');
    expect(factors?.totp?.secret).toMatch(/^v1:/);
    expect(factors?.recovery?.codes).toHaveLength(10);
    expect((await askVerify(postern, b, 'nginx', NVR)).status).toBe(200);
    expect(app.logs.find((l) => l.event === 'two_factor.totp_enrolled')).toMatchObject({ user: 'erin' });

    // From now on a password sign-in asks for it.
    const next = new TestClient(app.port);
    const first = await next.submitForm(`${AUTH}/login`, { username: 'erin', password: PASSWORD });
    expect(first.header('location')).toBe(`${AUTH}/login/2fa`);
    const now = (clock += 60_000);
    expect((await next.submitForm(`${AUTH}/login/2fa`, { code: await codeAt(secret, now) })).status).toBe(303);
    expect((await askVerify(postern, next, 'nginx', NVR)).status).toBe(200);
  });

  it('the account page lists the factors with links here, and the enrolment page offers removal once there is one', async () => {
    later();
    const b = await signIn('ivan');
    const before = await b.get(`${AUTH}/account`);
    expect(before.body).toContain(`<a href="${ENROL}">Add an authenticator app</a>`);
    expect(before.body).not.toContain('Recovery codes:');
    const now = later();
    const secret = secretOf(await b.get(ENROL));
    expect((await b.submitForm(ENROL, { code: await codeAt(secret, now) })).status).toBe(200);
    await reloadUsers();
    const after = await b.get(`${AUTH}/account`);
    expect(after.body).toMatch(/<a href="http:\/\/auth\.example\.com\/account\/2fa\/totp">Authenticator app, added 2031-06-\d\d: replace or remove<\/a>/);
    expect(after.body).toContain(`<a href="${AUTH}/account/2fa/recovery">Recovery codes: 10 unused</a>`);
    const replace = await b.get(ENROL);
    expect(replace.body).toContain('It replaces the app you added before.');
    expect(replace.body).toContain(`<form method="post" action="${ENROL}/remove">`);
  });

  it('refuses a POST without the form token', async () => {
    later();
    const b = await signIn('gina');
    await b.get(ENROL);
    const reply = await b.request(ENROL, { method: 'POST', body: new URLSearchParams({ code: '123456' }), headers: { accept: 'text/html' } });
    expect(reply.status).toBe(403);
  });

  it('sends a visitor who is not signed in to the sign-in page and back', async () => {
    const reply = await new TestClient(app.port).get(ENROL);
    expect(reply.status).toBe(302);
    expect(reply.header('location')).toBe(`${AUTH}/login?rd=${encodeURIComponent(ENROL)}`);
  });
});

describe('removing it and recovery codes', () => {
  it('removing asks for the password again; with it, the factor and its recovery codes are gone', async () => {
    const { b } = await enrol('frank');
    const remove = async (password: string) =>
      b.request(`${ENROL}/remove`, { method: 'POST', body: new URLSearchParams({ csrf: await csrfOf(b), password }), headers: { accept: 'text/html' } });
    expect((await remove('not it')).status).toBe(401);
    expect((await factorsIn('frank'))?.totp).toBeDefined();
    const done = await remove(PASSWORD);
    expect(done.status).toBe(303);
    expect(done.header('location')).toBe(`${AUTH}/account`);
    expect(await factorsIn('frank')).toBeUndefined();
    expect(app.logs.find((l) => l.event === 'two_factor.totp_removed')).toMatchObject({ user: 'frank' });
  });

  it('shows how many recovery codes are left, and makes new ones after the password', async () => {
    const { b } = await enrol('gina');
    const before = (await factorsIn('gina'))!.recovery!.codes;
    const status = await b.get(`${AUTH}/account/2fa/recovery`);
    expect(status.status).toBe(200);
    expect(status.body).toContain('10 unused codes left.');
    const wrong = await b.submitForm(`${AUTH}/account/2fa/recovery`, { password: 'not it' });
    expect(wrong.status).toBe(401);
    const fresh = await b.submitForm(`${AUTH}/account/2fa/recovery`, { password: PASSWORD });
    expect(fresh.status).toBe(200);
    expect([...fresh.body.matchAll(/<li><code>/g)]).toHaveLength(10);
    const after = (await factorsIn('gina'))!.recovery!.codes;
    expect(after).toHaveLength(10);
    expect(after.some((h) => before.includes(h))).toBe(false);
  });

  it('a users file that cannot be edited (here: broken by hand meanwhile) gets a page naming the admin command, and nothing is written', async () => {
    const { b } = await enrol('hank');
    const good = await readFile(app.usersFile, 'utf8');
    await writeFile(app.usersFile, `${good}\n  oops: [\n`);
    try {
      const reply = await b.submitForm(`${AUTH}/account/2fa/recovery`, { password: PASSWORD });
      expect(reply.status).toBe(503);
      expect(reply.body).toContain('postern user reset-2fa hank');
      expect(await readFile(app.usersFile, 'utf8')).toBe(`${good}\n  oops: [\n`);
    } finally {
      await writeFile(app.usersFile, good);
    }
  });
});

/** This browser's form token, as any of its pages carries it (the remove form lives on /account). */
async function csrfOf(b: TestClient): Promise<string> {
  return parseForm((await b.get(`${AUTH}/account/2fa/recovery`)).body).fields.csrf!;
}
