/**
 * A sign-in rehash in a running server (the built `postern serve`, which follows the users file):
 * the session that sign-in opened still opens the app after the PBKDF2 hash became argon2id, while
 * a password change still ends it.
 */
import { pbkdf2Sync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { editUsersFile } from '../../src/auth/users-file-writer.js';
import { runCli } from '../support/cli.js';
import { TestClient } from '../support/http-client.js';
import { startPostern, type PosternProcess } from '../support/postern-process.js';
import { askVerify } from '../support/verify-client.js';
import { waitFor } from '../support/wait.js';

const SECRET = 'rehash-session-secret-0123456789-abcdefghij';
const ARGON2 = { memory_cost: 8192, time_cost: 1, parallelism: 1 };
const CONFIG = `
server: { public_url: "http://auth.example.com", trusted_proxies: [loopback] }
session: { domain: example.com, secret: "${SECRET}" }
users: { argon2: { memory_cost: ${ARGON2.memory_cost}, time_cost: ${ARGON2.time_cost}, parallelism: ${ARGON2.parallelism} } }
`;

describe('a sign-in rehash beside a running server', () => {
  let postern: PosternProcess;
  const usersFile = () => join(postern.dir, 'data', 'users.yml');
  const reloads = () => postern.logLines().filter((l) => l.event === 'users.reload').length;

  beforeAll(async () => {
    postern = await startPostern(CONFIG);
  });

  afterAll(async () => {
    await postern?.cleanup();
  });

  it("keeps the user's session; a password change afterwards still ends it", async () => {
    // An account imported from Frigate: PBKDF2 (at the lowest accepted cost, to keep the test fast).
    const salt = randomBytes(16).toString('hex');
    const pbkdf2 = `pbkdf2_sha256$100000$${salt}$${pbkdf2Sync('frigate-password', salt, 100_000, 32, 'sha256').toString('base64')}`;
    const before = reloads();
    await editUsersFile(usersFile(), (file) => file.add({ username: 'frank', password: pbkdf2, role: 'user', groups: [], email: '', name: '', disabled: false }));
    await waitFor(() => reloads() > before, { what: 'the server to load frank' });
    const loadedFrank = reloads();

    const browser = new TestClient(postern.port);
    expect((await browser.submitForm('http://auth.example.com/login', { username: 'frank', password: 'frigate-password' })).status).toBe(303);
    const verify = () => askVerify(new TestClient(postern.port), browser, 'nginx', 'https://photos.example.com/');
    expect((await verify()).status).toBe(200);

    // The sign-in itself upgraded the hash (POST /login's rehasher); the server then reloads the file.
    await waitFor(() => postern.logLines().some((l) => l.event === 'user.rehash' && l.user === 'frank'), { what: 'the sign-in rehash' });
    await waitFor(() => reloads() > loadedFrank, { what: 'the server to load the new hash' });
    expect(readFileSync(usersFile(), 'utf8')).not.toContain(pbkdf2);

    const answer = await verify();
    expect(answer.status).toBe(200);
    expect(answer.header('remote-user')).toBe('frank');

    const passwd = await runCli(['--config', postern.configFile, 'user', 'passwd', 'frank', '--password-stdin'], { stdin: 'a-brand-new-password\n', cwd: postern.dir, timeoutMs: 30_000 });
    expect(passwd.code).toBe(0);
    await waitFor(async () => (await verify()).status === 401, { what: "frank's session to end after the password change" });
  });
});
