import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeUsersFileAtomic } from '../../src/auth/users-file.js';
import { adminPost, ADMIN, generatedPassword } from '../support/admin-pages.js';
import { buildUsers } from '../support/app-fixture.js';
import { TestClient } from '../support/http-client.js';
import { startPostern, type PosternProcess } from '../support/postern-process.js';
import { startRedis, type RedisProcess } from '../support/redis-server.js';
import { askVerify } from '../support/verify-client.js';

const RD = 'https://photos.example.com/';
const LOGIN = 'http://auth.example.com/login';
const FAST = { POSTERN_USERS_ARGON2_MEMORY_COST: '8192', POSTERN_USERS_ARGON2_TIME_COST: '1' };

let redis: RedisProcess;
let dir: string;
let a: PosternProcess;
let b: PosternProcess;

beforeAll(async () => {
  redis = await startRedis();
  dir = mkdtempSync(join(tmpdir(), 'postern-admin-replicas-'));
  mkdirSync(join(dir, 'data'));
  await writeUsersFileAtomic(join(dir, 'data', 'users.yml'), await buildUsers({ alice: { password: 'alice admin password', role: 'admin' }, bob: { password: 'bob user password' } }));
  const config = `server: { public_url: "http://auth.example.com" }
session: { domain: example.com, secret: "shared-secret-shared-secret-shared-secret", redis: { url: "${redis.url}" } }
data_dir: ${join(dir, 'data')}
`;
  [a, b] = await Promise.all([startPostern(config, { env: FAST }), startPostern(config, { env: FAST })]);
}, 60_000);
afterAll(async () => {
  await a?.cleanup();
  await b?.cleanup();
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Asks `until` again and again for up to 2 s; returns how long it took to hold, in ms. */
async function within(until: () => Promise<boolean>): Promise<number> {
  const started = performance.now();
  while (!(await until()) && performance.now() - started < 2000) await new Promise((resolve) => setTimeout(resolve, 20));
  return performance.now() - started;
}

describe('a change on the admin page of one replica', () => {
  it('is in force on the other within 1 s: a disabled user is refused there, a new user signs in there', async () => {
    const alice = new TestClient(a.port);
    expect((await alice.submitForm(LOGIN, { username: 'alice', password: 'alice admin password' })).status).toBe(303);
    const bob = new TestClient(b.port);
    expect((await bob.submitForm(LOGIN, { username: 'bob', password: 'bob user password' })).status).toBe(303);
    expect((await askVerify(new TestClient(b.port), bob, 'nginx', RD)).status).toBe(200);

    expect((await adminPost(alice, 'disable', { user: 'bob' })).status).toBe(200);
    const refusedAfter = await within(async () => (await askVerify(new TestClient(b.port), bob, 'nginx', RD)).status === 401);
    expect(refusedAfter).toBeLessThan(1000);

    // Seen through B's own admin page (no sign-in attempts: a failed one would count against carol).
    const atB = new TestClient(b.port);
    expect((await atB.submitForm(LOGIN, { username: 'alice', password: 'alice admin password' })).status).toBe(303);
    const added = await adminPost(alice, 'add-user', { user: 'carol', role: 'user', password_mode: 'generate' });
    const password = generatedPassword(added.body)!;
    const listedAfter = await within(async () => (await atB.get(ADMIN)).body.includes(`${ADMIN}?user=carol`));
    expect(listedAfter).toBeLessThan(1000);
    expect((await new TestClient(b.port).submitForm(LOGIN, { username: 'carol', password })).status).toBe(303);
  });
});
