/**
 * `postern sessions list|revoke` (issue 12, item 1), run as an operator runs it: the built CLI
 * against the Redis that two running replicas share. Sign-ins go through the real login form with a
 * browser's User-Agent and a proxy's X-Forwarded-For, so the listing shows what sign-in recorded.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeUsersFileAtomic } from '../../src/auth/users-file.js';
import { createRedisClient, waitUntilReachable } from '../../src/store/redis-client.js';
import { RedisSessionStore } from '../../src/store/redis-store.js';
import { sessionHandle, type SessionData } from '../../src/store/session-store.js';
import { buildUsers } from '../support/app-fixture.js';
import { parseForm, TestClient } from '../support/http-client.js';
import { CLI, startPostern, type PosternProcess } from '../support/postern-process.js';
import { startRedis, type RedisProcess } from '../support/redis-server.js';
import { askVerify } from '../support/verify-client.js';

const RD = 'https://photos.example.com/';
const LOGIN = 'http://auth.example.com/login';
const FAST = { POSTERN_USERS_ARGON2_MEMORY_COST: '8192', POSTERN_USERS_ARGON2_TIME_COST: '1' };
const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0';
const HEADER = /^ID {8}USER +METHOD +CREATED +LAST SEEN +ADDRESS +AGENT$/;
const HOUR = 3_600_000;

let redis: RedisProcess;
let dir: string;
let a: PosternProcess;
let b: PosternProcess;
/** The sessions' own store, on the same Redis, for sessions the test writes itself (a provider's, many at once). */
let store: RedisSessionStore;

beforeAll(async () => {
  redis = await startRedis();
  dir = mkdtempSync(join(tmpdir(), 'postern-sessions-'));
  mkdirSync(join(dir, 'data'));
  await writeUsersFileAtomic(join(dir, 'data', 'users.yml'), await buildUsers({ alice: { password: 'alice password' }, bob: { password: 'bob password' } }));
  const config = `server: { public_url: "http://auth.example.com", trusted_proxies: [loopback] }
session: { domain: example.com, secret: "shared-secret-shared-secret-shared-secret", redis: { url: "${redis.url}" } }
data_dir: ${join(dir, 'data')}
`;
  [a, b] = await Promise.all([startPostern(config, { env: FAST }), startPostern(config, { env: FAST })]);
  const client = createRedisClient(redis.url, { commandTimeoutMs: 1_000 });
  store = new RedisSessionStore(client);
  await waitUntilReachable(client, 3_000);
});
afterAll(async () => {
  await store?.close();
  await a?.cleanup();
  await b?.cleanup();
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** `postern --config <A's config> ...args`, with only PATH from the environment. */
function sessions(args: readonly string[], configFile = a.configFile): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [CLI, '--config', configFile, 'sessions', ...args], { env: { PATH: process.env.PATH }, timeout: 15_000 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') reject(err);
      else resolve({ code: err ? (err.code as number) : 0, stdout, stderr });
    });
  });
}

async function listJson(user?: string): Promise<Array<Record<string, string>>> {
  const result = await sessions(['list', '--json', ...(user ? ['--user', user] : [])]);
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as Array<Record<string, string>>;
}

/** The real login form, from a browser with `userAgent`, through a proxy that says the client is `address`. */
async function signIn(replica: PosternProcess, username: string, opts: { userAgent: string; address: string }): Promise<TestClient> {
  const browser = new TestClient(replica.port);
  const headers = { 'user-agent': opts.userAgent, 'x-forwarded-for': opts.address };
  const form = parseForm((await browser.get(LOGIN, headers)).body);
  const params = new URLSearchParams({ ...form.fields, username, password: `${username} password` });
  const reply = await browser.request(new URL(form.action, LOGIN).href, { method: 'POST', body: params, headers: { accept: 'text/html', ...headers } });
  expect(reply.status).toBe(303);
  return browser;
}

async function sessionIdOf(browser: TestClient): Promise<string> {
  return /postern_session=([^;]+)/.exec(await browser.jar.getCookieString(RD))![1]!;
}

async function verifyAt(replica: PosternProcess, browser: TestClient): Promise<number> {
  return (await askVerify(new TestClient(replica.port), browser, 'nginx', RD)).status;
}

/** Clean-up between tests, without the cost of another CLI process. */
async function revokeDirectly(): Promise<void> {
  for (const { id } of await store.listAll()) await store.destroy(id);
}

/** A session as handlers/oidc.ts writes it for someone who signed in at provider `corp`. */
function providerSession(user: string): SessionData {
  const now = Date.now();
  return { user, via: 'oidc:corp', idp: 'corp', adm: 'x', created: now, expires: now + HOUR, seen: now, role: 'user', groups: [], email: '', name: user, ip: '192.0.2.9', ua: 'Safari 17 on iOS' };
}

// Each CLI run is a Node process start: seconds on a loaded two-core machine.
describe('postern sessions', { timeout: 90_000 }, () => {
  it('lists every session under a header: handle, user, method, times, address and agent, never the cookie value', async () => {
    const alice = await signIn(a, 'alice', { userAgent: FIREFOX, address: '198.51.100.23' });
    const bob = await signIn(b, 'bob', { userAgent: 'curl/8.5.0', address: '2001:db8::7' });

    const table = await sessions(['list']);
    expect(table.code, table.stderr).toBe(0);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(HEADER);
    const aliceLine = lines.find((l) => / alice /.test(l))!;
    expect(aliceLine).toMatch(/^[0-9a-f]{8}  alice +password +\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ +\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ +198\.51\.100\.23 +Firefox 128 on Linux$/);
    expect(lines.find((l) => / bob /.test(l))).toMatch(/ 2001:db8::7 +curl\/8\.5\.0$/);
    for (const id of [await sessionIdOf(alice), await sessionIdOf(bob)]) {
      expect(table.stdout).not.toContain(id);
      expect(table.stdout).toContain(sessionHandle(id).slice(0, 8));
    }

    const json = await listJson('alice');
    expect(json).toEqual([
      {
        id: sessionHandle(await sessionIdOf(alice)).slice(0, 8),
        user: 'alice',
        method: 'password',
        created: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
        last_seen: expect.stringMatching(/Z$/),
        address: '198.51.100.23',
        agent: 'Firefox 128 on Linux',
      },
    ]);
    expect(await sessions(['revoke', '--all'])).toMatchObject({ code: 0, stdout: 'Revoked 2 sessions. Every replica refuses them within 1 second.\n' });
  });

  it('revoke --id ends that one session on every replica within 1 s, and no other', async () => {
    const first = await signIn(a, 'alice', { userAgent: FIREFOX, address: '198.51.100.23' });
    const second = await signIn(a, 'alice', { userAgent: FIREFOX, address: '198.51.100.24' });
    // B reads and caches both sessions.
    for (const browser of [first, second]) expect(await verifyAt(b, browser)).toBe(200);
    const handle = sessionHandle(await sessionIdOf(first)).slice(0, 8);

    const revoked = await sessions(['revoke', '--id', handle]);
    expect(revoked).toMatchObject({ code: 0, stdout: `Revoked session ${handle} of alice. Every replica refuses it within 1 second.\n` });
    const revokedAt = performance.now();
    let status = 200;
    while (status === 200 && performance.now() - revokedAt < 2_000) status = await verifyAt(b, first);
    expect(status).toBe(401);
    expect(performance.now() - revokedAt).toBeLessThan(1_000);
    await sleep(1_100 - (performance.now() - revokedAt));
    expect([await verifyAt(a, first), await verifyAt(b, first)]).toEqual([401, 401]);
    expect([await verifyAt(a, second), await verifyAt(b, second)]).toEqual([200, 200]);
    expect((await store.listByUser('alice')).map((s) => s.data.ip)).toEqual(['198.51.100.24']);
    await revokeDirectly();
  });

  it("revoke --user ends a user's password and provider sessions alike (a user disabled at the provider)", async () => {
    const browser = await signIn(a, 'alice', { userAgent: FIREFOX, address: '198.51.100.23' });
    await store.set('provider-session-of-alice-aaaaaaaaaaaaaaaaaaaaa', providerSession('alice'), HOUR);
    await store.set('provider-session-of-dave-aaaaaaaaaaaaaaaaaaaaaa', providerSession('dave'), HOUR);
    expect(await verifyAt(b, browser)).toBe(200);
    expect((await listJson('alice')).map((s) => s.method).sort()).toEqual(['oidc:corp', 'password']);

    // As typed by a person: the users file's normal form is found too.
    const revoked = await sessions(['revoke', '--user', 'Alice']);
    expect(revoked).toMatchObject({ code: 0, stdout: 'Revoked 2 sessions of Alice. Every replica refuses them within 1 second.\n' });
    await sleep(1_100);
    expect([await verifyAt(a, browser), await verifyAt(b, browser)]).toEqual([401, 401]);
    expect(await store.listByUser('alice')).toEqual([]);
    expect((await store.listAll()).map((s) => s.data.user)).toEqual(['dave']);
    expect(await sessions(['revoke', '--user', 'alice'])).toMatchObject({ code: 0, stdout: 'alice has no sessions; nothing to revoke.\n' });
    await revokeDirectly();
  });

  describe('refuses what does not name sessions clearly: exit 2, and nothing revoked', () => {
    beforeAll(async () => {
      // 17 sessions: two of them must share the first character of their handle (16 hex digits).
      for (let i = 0; i < 17; i++) await store.set(`session-of-carol-${String(i).padStart(26, '0')}`, { ...providerSession('carol'), via: 'local', idp: undefined }, HOUR);
    });

    it.each([
      ['no filter', ['revoke'], /needs exactly one of --user USERNAME, --id ID or --all; nothing was revoked/],
      ['two filters', ['revoke', '--user', 'carol', '--all'], /needs exactly one of --user USERNAME, --id ID or --all; nothing was revoked/],
      ['something that is not an ID', ['revoke', '--id', 'not-an-id'], /'not-an-id' is not a session ID .*; nothing was revoked/],
      ['an unknown option', ['revoke', '--everyone'], /Unknown option '--everyone'/],
    ])('%s', async (_what, args, message) => {
      const result = await sessions(args);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(message);
      expect(result.stdout).toBe('');
      expect(await store.listByUser('carol')).toHaveLength(17);
    });

    it('an ID prefix that matches no session', async () => {
      const handles = (await store.listAll()).map((s) => sessionHandle(s.id));
      const unknown = ['00000000', 'ffffffff', '12345678'].find((p) => !handles.some((h) => h.startsWith(p)))!;
      const result = await sessions(['revoke', '--id', unknown]);
      expect(result).toMatchObject({ code: 2, stdout: '' });
      expect(result.stderr).toContain(`no session has an ID starting with '${unknown}'; nothing was revoked`);
      expect(await store.listByUser('carol')).toHaveLength(17);
    });

    it('an ID prefix that matches more than one session', async () => {
      const handles = (await store.listAll()).map((s) => sessionHandle(s.id));
      const shared = handles.find((h, i) => handles.some((other, j) => j !== i && other[0] === h[0]))![0]!;
      const result = await sessions(['revoke', '--id', shared]);
      expect(result).toMatchObject({ code: 2, stdout: '' });
      expect(result.stderr).toMatch(new RegExp(`\\d+ sessions have an ID starting with '${shared}'; nothing was revoked`));
      expect(await store.listByUser('carol')).toHaveLength(17);
    });

    it('revoke --all, by contrast, ends them all', async () => {
      expect(await sessions(['revoke', '--all'])).toMatchObject({ code: 0, stdout: 'Revoked 17 sessions. Every replica refuses them within 1 second.\n' });
      expect(await sessions(['list'])).toMatchObject({ code: 0, stdout: expect.stringMatching(/^ID +USER +METHOD +CREATED +LAST SEEN +ADDRESS +AGENT\n$/) });
    });
  });

  it('says that sessions kept in memory cannot be listed or revoked from the command line', async () => {
    const configFile = join(dir, 'memory.yml');
    writeFileSync(configFile, 'server: { public_url: "http://auth.example.com" }\nsession: { domain: example.com }\n');
    const list = await sessions(['list'], configFile);
    expect(list).toMatchObject({ code: 1, stdout: '' });
    expect(list.stderr).toContain('sessions live in the memory of the running server (session.redis.url is not set), so they cannot be listed from the command line');
    const revoke = await sessions(['revoke', '--all'], configFile);
    expect(revoke.code).toBe(1);
    expect(revoke.stderr).toContain('restarting Postern ends them all');
  });
});
