import { pbkdf2Sync, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UsersFile } from '../../src/auth/users-file.js';
import { startApp, type AppFixture } from '../support/app-fixture.js';
import { TestClient } from '../support/http-client.js';
import { askVerify } from '../support/verify-client.js';
import { waitFor } from '../support/wait.js';

/**
 * Upgrade on sign-in (issue 11, item 4): a user imported with a PBKDF2 hash (Frigate's) who signs in
 * gets an argon2id hash in the users file, written beside the other users and comments, and keeps
 * the session that sign-in opened.
 */

const CONFIG = { server: { public_url: 'http://auth.example.com', trusted_proxies: ['loopback'] }, session: { domain: 'example.com' } };
const LOGIN = 'http://auth.example.com/login';
const APP = 'http://photos.example.com/';

/** Frigate's hash_password(): PBKDF2-SHA256, 600 000 iterations, the salt used as text. */
function frigateHash(password: string): string {
  const salt = randomBytes(16).toString('hex');
  return `pbkdf2_sha256$600000$${salt}$${pbkdf2Sync(password, salt, 600_000, 32, 'sha256').toString('base64')}`;
}

let app: AppFixture;
let originalBob = '';

beforeAll(async () => {
  app = await startApp(CONFIG, { bob: { password: 'bob-password-1' } });
  const text = readFileSync(app.usersFile, 'utf8');
  originalBob = text.slice(text.indexOf('  bob:'));
  // Frank comes from Frigate, with a comment that must survive the rewrite.
  writeFileSync(app.usersFile, `${text.trimEnd()}\n  # imported from Frigate\n  frank:\n    password: "${frigateHash('frank-password-1')}"\n`);
  // The fixture does not watch the file: reload as the watcher would.
  expect(await (app.deps.users as UsersFile).reload()).toBe(true);
  expect(app.deps.users.find('frank')).toBeDefined();
});
afterAll(() => app.close());

describe('a successful sign-in with an imported hash', () => {
  it('rewrites that hash to argon2id, keeps comments and other users, logs user.rehash, and keeps the session', async () => {
    const browser = new TestClient(app.port);
    const reply = await browser.submitForm(`${LOGIN}?rd=${encodeURIComponent(APP)}`, { username: 'frank', password: 'frank-password-1' });
    expect(reply.status).toBe(303);
    expect(reply.headers.location).toBe(APP);

    await waitFor(() => app.logs.some((l) => l.event === 'user.rehash'), { timeoutMs: 10_000, what: 'user.rehash' });
    const text = readFileSync(app.usersFile, 'utf8');
    expect(text).toMatch(/frank:\n {4}password: "?\$argon2id\$/);
    expect(text).not.toContain('pbkdf2_sha256');
    expect(text).toContain('# imported from Frigate');
    expect(text).toContain(originalBob.split('\n')[1]);
    expect(app.logs.find((l) => l.event === 'user.rehash')).toMatchObject({ user: 'frank' });
    expect(app.rawLog()).not.toContain('frank-password-1');

    // The server follows the file; the session opened before the rewrite still opens the app.
    expect(await (app.deps.users as UsersFile).reload()).toBe(true);
    expect(app.deps.users.find('frank')?.password).toMatch(/^\$argon2id\$/);
    const postern = new TestClient(app.port);
    expect((await askVerify(postern, browser, 'nginx', APP)).status).toBe(200);
    // And the new hash takes the same password.
    expect((await new TestClient(app.port).submitForm(LOGIN, { username: 'frank', password: 'frank-password-1' })).status).toBe(303);
  });

  it('leaves a current argon2id hash alone', async () => {
    const before = readFileSync(app.usersFile, 'utf8');
    expect((await new TestClient(app.port).submitForm(LOGIN, { username: 'bob', password: 'bob-password-1' })).status).toBe(303);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(readFileSync(app.usersFile, 'utf8')).toBe(before);
  });
});
