/**
 * tokens.basic_account_password: `Authorization: Basic user:password` with the account password.
 * The first request pays one hash (through the sign-in throttle); the pair is then remembered for
 * tokens.basic_cache_ttl, bound to the password and the enabled state.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PasswordHasher } from '../../src/auth/passwords.js';
import { editUsersFile } from '../../src/auth/users-file-writer.js';
import type { UsersFile } from '../../src/auth/users-file.js';
import { type AppFixture, fastHasher, startApp } from '../support/app-fixture.js';
import { basic } from '../support/app-passwords.js';
import { TestClient } from '../support/http-client.js';
import { askVerify } from '../support/verify-client.js';

const CONFIG = {
  server: { public_url: 'http://auth.example.com', trusted_proxies: ['loopback'] },
  session: { domain: 'example.com' },
  login: { rate_limit: '6/minute', account_rate_limit: '100/minute', account_address_rate_limit: '100/minute' },
  tokens: { basic_account_password: true, basic_cache_ttl: '5m' },
};
const USERS = { alice: { password: 'correct horse battery', name: 'Alice' }, bob: { password: 'bob long password' } };

let app: AppFixture;
let verifications = 0;
/** The real hasher, counted: the cache must spare it. */
const counting: PasswordHasher = {
  ...fastHasher,
  verify: (hash, password) => ((verifications += 1), fastHasher.verify(hash, password)),
  verifyDummy: (password) => ((verifications += 1), fastHasher.verifyDummy(password)),
};

const ask = (flavour: 'nginx' | 'traefik', authorization: string, ip = '203.0.113.50') =>
  askVerify(new TestClient(app.port), new TestClient(app.port), flavour, 'https://photos.example.com/', { anonymous: true, accept: 'application/json', headers: { authorization, 'x-forwarded-for': ip } });

beforeAll(async () => {
  app = await startApp(CONFIG, USERS, { extraDeps: () => ({ hasher: counting }) });
});
afterAll(() => app.close());

describe('Basic with the account password', () => {
  it('is the user, with Remote-Auth: basic, no Authorization for the app, and one hash for many requests', async () => {
    verifications = 0;
    for (let i = 0; i < 5; i++) {
      const reply = await ask('nginx', basic('alice', 'correct horse battery'));
      expect(reply.status).toBe(200);
      expect(reply.header('remote-user')).toBe('alice');
      expect(reply.header('remote-auth')).toBe('basic');
      expect(reply.header('authorization')).toBeUndefined();
    }
    expect(verifications).toBe(1);
  });

  it('refuses a wrong password with 401 and no Location', async () => {
    const reply = await ask('traefik', basic('alice', 'wrong password here'), '203.0.113.51');
    expect(reply.status).toBe(401);
    expect(reply.header('location')).toBeUndefined();
  });

  it('stops at once when the user is disabled, and the remembered pair does not come back when re-enabled with a new password', async () => {
    expect((await ask('nginx', basic('bob', 'bob long password'))).status).toBe(200);
    await editUsersFile(app.usersFile, (file) => file.update('bob', { disabled: true }));
    await (app.deps.users as UsersFile).reload();
    expect((await ask('nginx', basic('bob', 'bob long password'))).status).toBe(401);
    const newHash = await fastHasher.hash('bob new password');
    await editUsersFile(app.usersFile, (file) => file.update('bob', { disabled: false, password: newHash }));
    await (app.deps.users as UsersFile).reload();
    expect((await ask('nginx', basic('bob', 'bob long password'))).status).toBe(401);
    expect((await ask('nginx', basic('bob', 'bob new password'))).status).toBe(200);
  });

  it('goes through the sign-in throttle: an address over its limit gets 429 + Retry-After (401 for nginx)', async () => {
    const ip = '203.0.113.52';
    for (let i = 0; i < 6; i++) await ask('nginx', basic('alice', `guess ${i} guess guess`), ip);
    const nginx = await ask('nginx', basic('alice', 'correct horse battery'), ip);
    expect(nginx.status).toBe(401);
    const traefik = await ask('traefik', basic('alice', 'correct horse battery'), ip);
    expect(traefik.status).toBe(429);
    expect(Number(traefik.header('retry-after'))).toBeGreaterThan(0);
  });

  it('never logs the password', () => {
    expect(app.rawLog()).not.toContain('correct horse battery');
  });
});
