import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { writeUsersFileAtomic } from '../../src/auth/users-file.js';
import { buildUsers } from '../support/app-fixture.js';
import { freePort } from '../support/free-port.js';
import { TestClient } from '../support/http-client.js';
import { CLI, startPostern, type PosternProcess } from '../support/postern-process.js';
import { command, startSentinelGroup, type SentinelGroup } from '../support/redis-sentinel.js';
import { makeTestCa } from '../support/test-ca.js';
import { askVerify } from '../support/verify-client.js';

// Postern behind a Sentinel-managed Redis (one primary, one replica, three Sentinels, all real
// redis-server processes started here): the primary dies while verifies run.

const RD = 'https://photos.example.com/';
const LOGIN = 'http://auth.example.com/login';
const FAST = { POSTERN_USERS_ARGON2_MEMORY_COST: '8192', POSTERN_USERS_ARGON2_TIME_COST: '1' };
const SENTINEL_PASSWORD = 'hunter2-sentinel-password';
const REDIS_PASSWORD = 'hunter2-redis-password';

let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'postern-sentinel-'));
  mkdirSync(join(dir, 'data'));
  await writeUsersFileAtomic(join(dir, 'data', 'users.yml'), await buildUsers({ alice: { password: 'alice password' } }));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function configFor(sentinels: readonly string[], extra = ''): string {
  return `server: { public_url: "http://auth.example.com" }
session:
  domain: example.com
  secret: "shared-secret-shared-secret-shared-secret"
  redis:
    sentinels: [${sentinels.map((s) => `"${s}"`).join(', ')}]
    name: postern-test
${extra}data_dir: ${join(dir, 'data')}
`;
}

async function signIn(postern: PosternProcess): Promise<TestClient> {
  const browser = new TestClient(postern.port);
  expect((await browser.submitForm(LOGIN, { username: 'alice', password: 'alice password' })).status).toBe(303);
  return browser;
}

async function waitUntil(check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // not yet
    }
    if (performance.now() > deadline) throw new Error(`not true within ${timeoutMs} ms: ${check.toString()}`);
    await sleep(200);
  }
}

interface Sample {
  readonly at: number;
  readonly kind: 'signed in' | 'signed out' | 'anonymous';
  readonly status: number;
  readonly ms: number;
}

describe('Redis Sentinel failover', () => {
  let group: SentinelGroup;
  let postern: PosternProcess;

  beforeAll(async () => {
    group = await startSentinelGroup();
    postern = await startPostern(configFor(group.sentinelAddresses), { env: FAST });
  }, 60_000);
  afterAll(async () => {
    await postern?.cleanup();
    await group?.stop();
  });

  it('fails closed while the primary is gone, recovers by itself within 10 s of the promotion, and keeps the sessions', async () => {
    const signedIn = await signIn(postern);
    const signedOut = await signIn(postern);
    expect((await signedOut.get('http://auth.example.com/logout')).status).toBe(303);
    const signedOutCookie = await signedOut.jar.getCookieString(RD);
    const atPostern = new TestClient(postern.port);
    expect((await askVerify(atPostern, signedIn, 'nginx', RD)).status).toBe(200);
    expect((await askVerify(atPostern, atPostern, 'nginx', RD, { headers: { cookie: signedOutCookie } })).status).toBe(401);
    // The replica has every session the primary has, so losing the primary loses none.
    await group.waitForReplication();
    expect(await group.primaryPort()).toBe(group.primary.port);

    const samples: Sample[] = [];
    let running = true;
    const ask = async (kind: Sample['kind']): Promise<void> => {
      const start = performance.now();
      const reply =
        kind === 'signed in'
          ? await askVerify(atPostern, signedIn, 'nginx', RD)
          : kind === 'signed out'
            ? await askVerify(atPostern, atPostern, 'nginx', RD, { headers: { cookie: signedOutCookie } })
            : await askVerify(atPostern, atPostern, 'nginx', RD, { anonymous: true });
      samples.push({ at: start, kind, status: reply.status, ms: performance.now() - start });
    };
    const load = (async () => {
      while (running) {
        await Promise.all([ask('signed in'), ask('signed out'), ask('anonymous')]);
        await sleep(20);
      }
    })();

    await sleep(300);
    const killedAt = performance.now();
    await group.primary.kill();
    let promotedAt: number | undefined;
    while (performance.now() - killedAt < 30_000) {
      if ((await group.primaryPort()) === group.replica.port) {
        promotedAt = performance.now();
        break;
      }
      await sleep(50);
    }
    expect(promotedAt, 'the Sentinels promoted the replica within 30 s').toBeDefined();
    // Verifies keep running until the signed-in browser has been let in for a second in a row.
    let recoveredAt: number | undefined;
    while (performance.now() - promotedAt! < 15_000) {
      const lastFailure = samples.findLast((s) => s.kind === 'signed in' && s.status !== 200);
      const since = lastFailure?.at ?? killedAt;
      if (since > killedAt && performance.now() - since > 1000) {
        recoveredAt = samples.find((s) => s.kind === 'signed in' && s.at > since)!.at;
        break;
      }
      await sleep(100);
    }
    running = false;
    await load;

    const during = samples.filter((s) => s.at >= killedAt);
    const statuses = (kind: Sample['kind']) => new Set(during.filter((s) => s.kind === kind).map((s) => s.status));
    // Fail closed: the outage was seen (503), and nobody was let in who should not be.
    expect(statuses('signed in').has(503)).toBe(true);
    expect([...statuses('signed in')].every((status) => status === 200 || status === 503)).toBe(true);
    expect([...statuses('signed out')].every((status) => status === 401 || status === 503)).toBe(true);
    expect([...statuses('anonymous')]).toEqual([401]);
    // Fast: no verify waited on the dead primary (command timeout 150 ms, no offline queue).
    expect(Math.max(...during.map((s) => s.ms))).toBeLessThan(2_000);
    // By itself, within 10 s of the promotion, with the session written before the failover.
    expect(recoveredAt, 'the signed-in browser was let in again').toBeDefined();
    expect(recoveredAt! - promotedAt!).toBeLessThan(10_000);
    expect((await askVerify(atPostern, signedIn, 'nginx', RD)).status).toBe(200);
    expect((await askVerify(atPostern, atPostern, 'nginx', RD, { headers: { cookie: signedOutCookie } })).status).toBe(401);
    // Writes go to the new primary: a new sign-in and its logout work.
    const later = await signIn(postern);
    expect((await askVerify(atPostern, later, 'nginx', RD)).status).toBe(200);
    expect((await postern.logLines().some((l) => l.msg === 'redis is unreachable: verify fails closed until it is back'))).toBe(true);
    expect((await atPostern.get('http://auth.example.com/readyz')).status).toBe(200);
  }, 90_000);

  it('counts failed sign-ins on the promoted primary, where `postern throttle list` finds them through the Sentinels', async () => {
    const browser = new TestClient(postern.port);
    expect((await browser.submitForm(LOGIN, { username: 'alice', password: 'wrong password' })).status).toBe(401);

    const list = await promisify(execFile)(process.execPath, [CLI, '--config', postern.configFile, 'throttle', 'list'], { env: { PATH: process.env.PATH } });

    expect(list.stdout).toMatch(/^ip\s+127\.0\.0\.1\s+1\s+-$/m);
  });

  it('follows a planned failover (SENTINEL FAILOVER) away from a primary that stays up: writes go to the new primary', async () => {
    // The old primary comes back empty, as a replica of the promoted one (as the Sentinels would make it, only sooner).
    await group.primary.start();
    await command(group.primary.port, ['REPLICAOF', '127.0.0.1', String(group.replica.port)]);
    await waitUntil(async () => String(await command(group.primary.port, ['INFO', 'replication'])).includes('master_link_status:up'));
    const browser = await signIn(postern);
    expect(await command(group.replica.port, ['WAIT', '1', '5000'])).toBe(1);

    expect(await command(group.sentinels[0]!.port, ['SENTINEL', 'FAILOVER', group.name])).toBe('OK');
    await waitUntil(async () => (await group.primaryPort()) === group.primary.port);
    // Redis drops the clients of a primary it demotes (and a write it refuses READONLY would do the same): Postern asks the Sentinels again.
    await waitUntil(async () => (await new TestClient(postern.port).submitForm(LOGIN, { username: 'alice', password: 'alice password' })).status === 303);
    const atPostern = new TestClient(postern.port);
    expect((await askVerify(atPostern, browser, 'nginx', RD)).status).toBe(200);
    expect((await browser.get('http://auth.example.com/logout')).status).toBe(303);
    await sleep(600); // past the read cache
    expect((await askVerify(atPostern, browser, 'nginx', RD)).status).toBe(401);
  }, 60_000);
});

describe('Sentinel config naming no reachable Sentinel', () => {
  it('starts anyway, answers /readyz 503 and logs which Sentinels it tried, never the password', async () => {
    const nobody = [`127.0.0.1:${await freePort()}`, `127.0.0.1:${await freePort()}`];
    const postern = await startPostern(configFor(nobody, `    sentinel_password: "${SENTINEL_PASSWORD}"\n`), { env: FAST });
    try {
      const client = new TestClient(postern.port);

      const ready = await client.get('http://auth.example.com/readyz');
      expect(ready.status).toBe(503);
      expect(JSON.parse(ready.body)).toEqual({ status: 'unavailable', failing: ['session store'] });
      // Nothing is let in: an anonymous request is still sent to sign in.
      expect((await askVerify(client, client, 'nginx', RD)).status).toBe(401);
      const down = postern.logLines().find((l) => l.msg === 'redis is unreachable: verify fails closed until it is back');
      expect(down).toMatchObject({ sentinels: nobody, name: 'postern-test' });
      expect(String(down!.reason)).toMatch(/All sentinels are unreachable/);
      expect(postern.output.join('\n')).not.toContain(SENTINEL_PASSWORD);
    } finally {
      await postern.cleanup();
    }
  });
});

describe('Sentinels and primary over TLS, with passwords', () => {
  it('finds the primary through the Sentinels and keeps sessions there, all over TLS with the CA in tls.ca_file', async () => {
    const ca = makeTestCa(dir);
    const group = await startSentinelGroup({ tls: ca, password: REDIS_PASSWORD, sentinelPassword: SENTINEL_PASSWORD });
    // Only TLS ports are named: the Sentinels', and the primary's that they announce.
    const extra = `    password: "${REDIS_PASSWORD}"\n    sentinel_password: "${SENTINEL_PASSWORD}"\n    tls: { enabled: true, ca_file: ${ca.caFile} }\n`;
    const postern = await startPostern(configFor(group.sentinelAddresses, extra), { env: FAST });
    try {
      const browser = await signIn(postern);

      expect((await askVerify(browser, browser, 'nginx', RD)).status).toBe(200);
      expect(await command(group.primary.port, ['DBSIZE'], REDIS_PASSWORD)).toBeGreaterThan(0);
      expect(postern.logLines().find((l) => l.msg === 'redis is reachable')).toMatchObject({ sentinels: group.sentinelAddresses });
      expect(postern.output.join('\n')).not.toMatch(/hunter2/);
    } finally {
      await postern.cleanup();
      await group.stop();
    }
  }, 60_000);
});
