import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type AppFixture } from '../support/app-fixture.js';
import { addAppPassword, basic, rawGet } from '../support/app-passwords.js';
import { TestClient } from '../support/http-client.js';
import { askVerify } from '../support/verify-client.js';
import type { ProxyFlavour } from '../../src/http/original-request.js';

const CONFIG = {
  server: { public_url: 'http://auth.example.com', trusted_proxies: ['loopback'] },
  session: { domain: 'example.com' },
  login: { rate_limit: '8/minute' },
  access: {
    default_policy: 'authenticated',
    rules: [
      { hosts: ['share.example.com'], paths: ['/s/**'], policy: 'bypass' },
      { hosts: ['admin.example.com'], policy: 'authenticated', subjects: ['group:admins'] },
    ],
  },
};
const USERS = {
  alice: { password: 'correct horse battery', role: 'user', groups: ['family'], email: 'alice@example.com', name: 'Alice' },
  bob: { password: 'another long password', role: 'user' },
};
const FLAVOURS: ProxyFlavour[] = ['nginx', 'traefik', 'caddy'];

let app: AppFixture;
let postern: TestClient;
let alice: { token: string; id: string };
let photosOnly: { token: string; id: string };
let readOnly: { token: string; id: string };
let expired: { token: string; id: string };
let addressCounter = 0;

/** A fresh client address per test, so one test's failures do not throttle another. */
function address(): string {
  addressCounter += 1;
  return `198.51.100.${addressCounter}`;
}

function ask(flavour: ProxyFlavour, url: string, headers: Record<string, string>, opts: { method?: string; ip?: string } = {}) {
  return askVerify(postern, new TestClient(app.port), flavour, url, {
    accept: 'application/json',
    anonymous: true,
    ...(opts.method ? { method: opts.method } : {}),
    headers: { 'x-forwarded-for': opts.ip ?? address(), ...headers },
  });
}

beforeAll(async () => {
  app = await startApp(CONFIG, USERS);
  postern = new TestClient(app.port);
  alice = await addAppPassword(app, 'alice', { name: 'phone' });
  photosOnly = await addAppPassword(app, 'alice', { name: 'photos', hosts: ['photos.example.com'] });
  readOnly = await addAppPassword(app, 'alice', { name: 'ha', readOnly: true });
  expired = await addAppPassword(app, 'alice', { name: 'old', expires: Date.now() - 1000 });
});
afterAll(() => app.close());

describe.each(FLAVOURS)('an app password at /verify/%s', (flavour) => {
  it.each([
    ['Authorization: Bearer', () => ({ authorization: `Bearer ${alice.token}` })],
    ['Authorization: Basic with the owner', () => ({ authorization: basic('alice', alice.token) })],
    ['X-Postern-Token', () => ({ 'x-postern-token': alice.token })],
  ])('presented as %s is the owner, with Remote-Auth: token and no Authorization for the app', async (_how, headers) => {
    const reply = await ask(flavour, 'https://photos.example.com/api/assets', headers());
    expect(reply.status).toBe(200);
    expect(reply.header('remote-user')).toBe('alice');
    expect(reply.header('remote-groups')).toBe('family');
    expect(reply.header('remote-email')).toBe('alice@example.com');
    expect(reply.header('remote-auth')).toBe('token');
    // Consumed: the app must not receive it (Caddy gets the header empty, see verify.ts).
    expect(reply.header('authorization') ?? '').toBe('');
    expect(reply.header('location')).toBeUndefined();
  });

  it.each([
    ['an unknown token', () => ({ authorization: `Bearer pst_AAAAAAAA_${'a'.repeat(43)}` })],
    ['a token with a wrong secret', () => ({ authorization: `Bearer ${alice.token.slice(0, -3)}xyz` })],
    ['an expired token', () => ({ authorization: `Bearer ${expired.token}` })],
    ['a Basic pair naming another user', () => ({ authorization: basic('bob', alice.token) })],
    ['a token one character short', () => ({ authorization: `Bearer ${alice.token.slice(0, -1)}` })],
    ['a token with a character outside base62', () => ({ authorization: `Bearer ${alice.token.slice(0, -1)}-` })],
    ['a 10 KB token', () => ({ authorization: `Bearer pst_${'a'.repeat(10_240)}` })],
    ['a 10 KB X-Postern-Token', () => ({ 'x-postern-token': 'x'.repeat(10_240) })],
    ['a token header and a Bearer token at once', () => ({ authorization: `Bearer ${alice.token}`, 'x-postern-token': alice.token })],
  ])('refuses %s with 401 and no Location, even for a browser', async (_what, headers) => {
    const reply = await askVerify(postern, new TestClient(app.port), flavour, 'https://photos.example.com/', { anonymous: true, headers: { 'x-forwarded-for': address(), ...headers() } });
    expect(reply.status).toBe(401);
    expect(reply.header('location')).toBeUndefined();
    expect(reply.header('www-authenticate')).toBe('Postern realm="postern"');
    expect(reply.header('remote-user')).toBeUndefined();
  });

  it('is held to its hosts (403 elsewhere) and to read_only (403 for a POST)', async () => {
    expect((await ask(flavour, 'https://photos.example.com/', { authorization: `Bearer ${photosOnly.token}` })).status).toBe(200);
    expect((await ask(flavour, 'https://nvr.example.com/', { authorization: `Bearer ${photosOnly.token}` })).status).toBe(403);
    expect((await ask(flavour, 'https://nvr.example.com/api/events', { authorization: `Bearer ${readOnly.token}` })).status).toBe(200);
    expect((await ask(flavour, 'https://nvr.example.com/api/events', { authorization: `Bearer ${readOnly.token}` }, { method: 'POST' })).status).toBe(403);
  });

  it("is subject to the owner's access rules (alice is not in group admins)", async () => {
    const reply = await ask(flavour, 'https://admin.example.com/', { authorization: `Bearer ${alice.token}` });
    expect(reply.status).toBe(403);
  });

  it("leaves an app's own Authorization alone and hands it back for the app", async () => {
    const reply = await ask(flavour, 'https://share.example.com/s/abc', { authorization: 'Bearer app-own-jwt' });
    expect(reply.status).toBe(200);
    expect(reply.header('authorization')).toBe('Bearer app-own-jwt');
  });
});

describe('Authorization headers', () => {
  it("passes a signed-in browser's own Authorization: Bearer through to the app", async () => {
    const browser = new TestClient(app.port);
    expect((await browser.submitForm('http://auth.example.com/login', { username: 'alice', password: 'correct horse battery' })).status).toBe(303);
    const reply = await askVerify(postern, browser, 'nginx', 'https://photos.example.com/', { headers: { authorization: 'Bearer immich-session' } });
    expect(reply.status).toBe(200);
    expect(reply.header('remote-auth')).toBe('session');
    expect(reply.header('authorization')).toBe('Bearer immich-session');
  });

  it('refuses several Authorization headers of which one is ours with 401', async () => {
    const common = ['host', 'postern.internal', 'x-forwarded-for', address(), 'x-original-url', 'https://photos.example.com/', 'x-original-method', 'GET', 'accept', 'application/json'];
    const reply = await rawGet(app.port, '/verify/nginx', [...common, 'Authorization', 'Bearer other', 'Authorization', `Bearer ${alice.token}`]);
    expect(reply.status).toBe(401);
    const ours = await rawGet(app.port, '/verify/nginx', [...common, 'Authorization', `Bearer ${alice.token}`]);
    expect(ours.status).toBe(200);
  });

  it('does not take a Basic account password while tokens.basic_account_password is off: the pair is left for the app', async () => {
    const reply = await ask('nginx', 'https://photos.example.com/', { authorization: basic('alice', 'correct horse battery') });
    expect(reply.status).toBe(401);
    expect(reply.header('remote-user')).toBeUndefined();
  });
});

describe('the sign-in throttle', () => {
  it('counts bad tokens against the address, then refuses its token attempts before any lookup (401 nginx, 429 + Retry-After elsewhere)', async () => {
    const ip = '192.0.2.99';
    const bad = { authorization: `Bearer pst_BBBBBBBB_${'b'.repeat(43)}` };
    // Verified a moment ago, so remembered (tokens/verified-cache.ts): the refusal below must still win.
    expect((await ask('nginx', 'https://photos.example.com/', { authorization: `Bearer ${alice.token}` }, { ip })).status).toBe(200);
    for (let i = 0; i < 8; i++) expect((await ask('nginx', 'https://photos.example.com/', bad, { ip })).status).toBe(401);
    // Even a valid token is refused now: the address is over its limit.
    const nginx = await ask('nginx', 'https://photos.example.com/', { authorization: `Bearer ${alice.token}` }, { ip });
    expect(nginx.status).toBe(401);
    expect(nginx.header('location')).toBeUndefined();
    for (const flavour of ['traefik', 'caddy'] as const) {
      const reply = await ask(flavour, 'https://photos.example.com/', { authorization: `Bearer ${alice.token}` }, { ip });
      expect(reply.status).toBe(429);
      expect(Number(reply.header('retry-after'))).toBeGreaterThan(0);
    }
    // Another address is unaffected.
    expect((await ask('nginx', 'https://photos.example.com/', { authorization: `Bearer ${alice.token}` })).status).toBe(200);
  });

  it('never logs a token', () => {
    expect(app.rawLog()).not.toContain(alice.token);
    expect(app.rawLog()).not.toMatch(/pst_[0-9A-Za-z]{8}_/);
  });
});

describe('revocation and reload', () => {
  it('refuses a token once its owner is disabled', async () => {
    const mine = await addAppPassword(app, 'bob', { name: 'script' });
    expect((await ask('nginx', 'https://photos.example.com/', { 'x-postern-token': mine.token })).status).toBe(200);
    const { editUsersFile } = await import('../../src/auth/users-file-writer.js');
    await editUsersFile(app.usersFile, (file) => file.update('bob', { disabled: true }));
    await (app.deps.users as import('../../src/auth/users-file.js').UsersFile).reload();
    expect((await ask('nginx', 'https://photos.example.com/', { 'x-postern-token': mine.token })).status).toBe(401);
  });
});

describe('refusal timing', () => {
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  let n = 0;
  const freshIp = () => ((n += 1), `10.77.${Math.floor(n / 250)}.${(n % 250) + 1}`);

  it('refuses a malformed, an unknown and a wrong-secret token in the same time (medians of interleaved rounds)', async () => {
    const cases: Record<string, Record<string, string>> = {
      unknown: { authorization: `Bearer pst_CCCCCCCC_${'c'.repeat(43)}` },
      wrongSecret: { authorization: `Bearer ${alice.token.slice(0, -3)}xyz` },
      malformed: { authorization: `Bearer pst_${'a'.repeat(10_240)}` },
      nonBase62: { 'x-postern-token': `${alice.token.slice(0, -1)}!` },
      headerUnknown: { 'x-postern-token': `pst_CCCCCCCC_${'c'.repeat(43)}` },
    };
    const times: Record<string, number[]> = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
    for (let round = 0; round < 21; round++) {
      for (const [name, headers] of Object.entries(cases)) {
        const started = performance.now();
        const reply = await ask('nginx', 'https://photos.example.com/', headers, { ip: freshIp() });
        times[name]!.push(performance.now() - started);
        expect(reply.status).toBe(401);
      }
    }
    const reference = median(times.unknown!);
    for (const name of Object.keys(cases)) {
      // Generous for a loaded two-core machine (timer and scheduling noise of ~10 ms seen): what
      // matters is no work of another order on one path (an argon2 hash, a store round trip).
      expect(Math.abs(median(times[name]!) - reference), name).toBeLessThan(Math.max(15, reference));
    }
  });
});
