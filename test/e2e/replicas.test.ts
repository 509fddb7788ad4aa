import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeUsersFileAtomic } from '../../src/auth/users-file.js';
import { buildUsers } from '../support/app-fixture.js';
import { TestClient } from '../support/http-client.js';
import { startPostern, type PosternProcess } from '../support/postern-process.js';
import { startRedis, type RedisProcess } from '../support/redis-server.js';
import { askVerify } from '../support/verify-client.js';

const RD = 'https://photos.example.com/';
const FAST = { POSTERN_USERS_ARGON2_MEMORY_COST: '8192', POSTERN_USERS_ARGON2_TIME_COST: '1' };

let redis: RedisProcess;
let dir: string;
let a: PosternProcess;
let b: PosternProcess;

beforeAll(async () => {
  redis = await startRedis();
  dir = mkdtempSync(join(tmpdir(), 'postern-replicas-'));
  mkdirSync(join(dir, 'data'));
  await writeUsersFileAtomic(join(dir, 'data', 'users.yml'), await buildUsers({ alice: { password: 'alice password' } }));
  const config = `server: { public_url: "http://auth.example.com" }
session: { domain: example.com, secret: "shared-secret-shared-secret-shared-secret", redis: { url: "${redis.url}" } }
data_dir: ${join(dir, 'data')}
`;
  a = await startPostern(config, { env: FAST });
  b = await startPostern(config, { env: FAST });
});
afterAll(async () => {
  await a?.cleanup();
  await b?.cleanup();
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('two Postern replicas sharing one Redis', () => {
  it('accept each other\'s sessions, and a logout on one is seen by the other within 1 s', async () => {
    const browser = new TestClient(a.port);
    expect((await browser.submitForm('http://auth.example.com/login', { username: 'alice', password: 'alice password' })).status).toBe(303);
    const atB = new TestClient(b.port);
    // B reads (and caches) the session.
    expect((await askVerify(atB, browser, 'nginx', RD)).status).toBe(200);
    expect((await askVerify(atB, browser, 'nginx', RD)).status).toBe(200);

    const sessionCookie = await browser.jar.getCookieString(RD);
    expect((await browser.get('http://auth.example.com/logout')).status).toBe(303);
    const loggedOutAt = performance.now();
    // The old cookie, replayed at B, until B refuses it.
    let status = 200;
    while (status === 200 && performance.now() - loggedOutAt < 2000) {
      status = (await askVerify(atB, atB, 'nginx', RD, { headers: { cookie: sessionCookie } })).status;
    }
    expect(status).toBe(401);
    expect(performance.now() - loggedOutAt).toBeLessThan(1000);
  });
});
