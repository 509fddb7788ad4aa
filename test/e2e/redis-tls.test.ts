import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { writeUsersFileAtomic } from '../../src/auth/users-file.js';
import { buildUsers } from '../support/app-fixture.js';
import { freePort } from '../support/free-port.js';
import { TestClient } from '../support/http-client.js';
import { CLI, startPostern } from '../support/postern-process.js';
import { startRedis, type RedisProcess } from '../support/redis-server.js';
import { command } from '../support/redis-sentinel.js';
import { makeTestCa, redisTlsArgs, type TestCa } from '../support/test-ca.js';
import { askVerify } from '../support/verify-client.js';

// session.redis.url 'rediss://' with tls.ca_file: a real redis-server with a TLS port and a
// certificate from a CA made here with openssl.

const RD = 'https://photos.example.com/';
const FAST = { POSTERN_USERS_ARGON2_MEMORY_COST: '8192', POSTERN_USERS_ARGON2_TIME_COST: '1' };
const run = promisify(execFile);
const UNREACHABLE = 'redis is unreachable: verify fails closed until it is back';

let dir: string;
let ca: TestCa;
let redis: RedisProcess;
let tlsPort: number;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'postern-redis-tls-'));
  mkdirSync(join(dir, 'data'));
  await writeUsersFileAtomic(join(dir, 'data', 'users.yml'), await buildUsers({ alice: { password: 'alice password' } }));
  ca = makeTestCa(dir);
  tlsPort = await freePort();
  redis = await startRedis({ args: () => redisTlsArgs(ca, tlsPort) });
});
afterAll(async () => {
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function configFor(redisKeys: string): string {
  return `server: { public_url: "http://auth.example.com" }
session:
  domain: example.com
  secret: "shared-secret-shared-secret-shared-secret"
  redis:
${redisKeys}data_dir: ${join(dir, 'data')}
`;
}

describe('Redis over TLS (rediss://)', () => {
  it('keeps sessions in Redis over TLS, trusting the CA in tls.ca_file', async () => {
    const postern = await startPostern(configFor(`    url: "rediss://127.0.0.1:${tlsPort}/0"\n    tls: { ca_file: ca.pem }\n`), { env: FAST, dir });
    try {
      const browser = new TestClient(postern.port);
      expect((await browser.get('http://auth.example.com/readyz')).status).toBe(200);
      expect((await browser.submitForm('http://auth.example.com/login', { username: 'alice', password: 'alice password' })).status).toBe(303);

      expect((await askVerify(browser, browser, 'nginx', RD)).status).toBe(200);
      // The session is in this Redis (read here over its plain port).
      expect(await command(redis.port, ['DBSIZE'])).toBeGreaterThan(0);
      expect(postern.logLines().find((l) => l.msg === 'redis is reachable')).toMatchObject({ redis: `rediss://127.0.0.1:${tlsPort}` });
    } finally {
      await postern.stop();
    }
  });

  it('refuses a certificate that does not chain to a trusted CA: /readyz 503, fail closed, the reason logged', async () => {
    const postern = await startPostern(configFor(`    url: "rediss://127.0.0.1:${tlsPort}/0"\n`), { env: FAST, dir });
    try {
      const client = new TestClient(postern.port);
      const ready = await client.get('http://auth.example.com/readyz');

      expect(ready.status).toBe(503);
      expect(JSON.parse(ready.body)).toEqual({ status: 'unavailable', failing: ['session store'] });
      const down = postern.logLines().find((l) => l.msg === UNREACHABLE);
      expect(String(down?.reason)).toMatch(/certificate/);
    } finally {
      await postern.stop();
    }
  });

  it('an unreadable tls.ca_file stops the start with the key named', async () => {
    const config = configFor(`    url: "rediss://127.0.0.1:${tlsPort}/0"\n    tls: { ca_file: missing-ca.pem }\n`);

    const started = startPostern(config, { env: FAST, dir });

    await expect(started).rejects.toThrow(/postern exited with 2/);
    await expect(started).rejects.toThrow(`session.redis.tls.ca_file cannot be read: '${join(dir, 'missing-ca.pem')}' (ENOENT)`);
  });

  it('postern config check reads tls.ca_file too, and reports an unreadable one with the key', async () => {
    const configFile = join(dir, 'check.yml');
    writeFileSync(configFile, configFor(`    url: "rediss://127.0.0.1:${tlsPort}/0"\n    tls: { ca_file: missing-ca.pem }\n`));

    const check = await run(process.execPath, [CLI, '--config', configFile, 'config', 'check'], { env: { PATH: process.env.PATH } }).catch((err: { code: number; stderr: string }) => err);

    expect(check).toMatchObject({ code: 2 });
    expect(check.stderr).toContain(`session.redis.tls.ca_file cannot be read: '${join(dir, 'missing-ca.pem')}' (ENOENT)`);
    writeFileSync(configFile, configFor(`    url: "rediss://127.0.0.1:${tlsPort}/0"\n    tls: { ca_file: ca.pem }\n`));
    expect((await run(process.execPath, [CLI, '--config', configFile, 'config', 'check'], { env: { PATH: process.env.PATH } })).stdout).toMatch(/^configuration is valid/);
  });
});
