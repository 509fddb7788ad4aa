/**
 * An operator who disables or removes a user by editing the users file by hand, then enables them
 * again (or adds the name back), must not bring back the sessions the user had before: the running
 * server ends them when it reloads the file, as `postern user disable|remove` does. Postern as
 * main.ts builds it, with its sessions in memory and in a real Redis.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { REMOVAL_SETTLE_MS } from '../../src/auth/end-access-on-reload.js';
import { startServer, type RunningServer } from '../../src/main.js';
import { PORTAL, postAccountForm, signedIn } from '../support/account.js';
import { FAST_ARGON2, fastHasher } from '../support/app-fixture.js';
import { FIXTURE_KEY } from '../support/factors.js';
import { TestClient, type Reply } from '../support/http-client.js';
import { startRedis, type RedisProcess } from '../support/redis-server.js';
import { askVerify } from '../support/verify-client.js';
import { waitFor } from '../support/wait.js';

const RD = 'https://photos.example.com/album/7';
const PASSWORDS = { alice: 'alice long password', bob: 'bob long password' } as const;
let hashes: Record<'alice' | 'bob', string>;
const dirs: string[] = [];

beforeAll(async () => {
  hashes = { alice: await fastHasher.hash(PASSWORDS.alice), bob: await fastHasher.hash(PASSWORDS.bob) };
});
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

interface Entry {
  readonly hash: string;
  readonly disabled?: boolean;
}

/** The users file as an operator writes it: only the keys they need. */
function usersYaml(users: Record<string, Entry>): string {
  const entries = Object.entries(users).map(([name, u]) => `  ${name}:\n    password: "${u.hash}"\n${u.disabled ? '    disabled: true\n' : ''}`);
  return `users:\n${entries.join('')}`;
}

interface Replica {
  readonly server: RunningServer;
  readonly logs: Array<Record<string, unknown>>;
  /** Resolves once a log line after `mark` (an index into logs) matches `fields`. */
  logged(mark: number, fields: Record<string, unknown>): Promise<Record<string, unknown>>;
}

/** Postern as main.ts builds it (the CLI's `serve` minus argv parsing), logging into memory. */
async function startReplica(dir: string, redisUrl: string | undefined): Promise<Replica> {
  const loaded = parseConfig(
    {
      server: { address: '127.0.0.1', port: 0, public_url: PORTAL, trusted_proxies: ['loopback'] },
      session: { domain: 'example.com', ...(redisUrl ? { redis: { url: redisUrl } } : {}) },
      data_dir: dir,
      users: { file: join(dir, 'users.yml'), argon2: FAST_ARGON2 },
      secrets: { encryption_key: FIXTURE_KEY },
      access: { default_policy: 'authenticated' },
    },
    {},
    dir,
  );
  const logs: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split('\n')) if (line) logs.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  const server = await startServer(loaded, { logDestination: sink, announce: () => undefined });
  return {
    server,
    logs,
    logged: (mark, fields) =>
      waitFor(() => logs.slice(mark).find((line) => Object.entries(fields).every(([k, v]) => line[k] === v)), { what: `a log line ${JSON.stringify(fields)}` }),
  };
}

/** Verify's answer (nginx flavour) for the browser's session cookie. */
const verify = (replica: Replica, browser: TestClient): Promise<Reply> => askVerify(new TestClient(replica.server.port), browser, 'nginx', RD);

function expectRefused(reply: Reply): void {
  expect(reply.status).toBe(401);
  expect(reply.header('location')).toBe(`${PORTAL}/login?rd=${encodeURIComponent(RD)}`);
  expect(reply.header('remote-user')).toBeUndefined();
}

function expectAllowed(reply: Reply, user: string): void {
  expect(reply.status).toBe(200);
  expect(reply.header('remote-user')).toBe(user);
}

describe.each(['memory', 'redis'] as const)('sessions in %s', (kind) => {
  let redis: RedisProcess | undefined;
  let dir: string;
  let usersFile: string;
  let postern: Replica;
  let address = 0;
  const browserOf = (user: 'alice' | 'bob') => signedIn(postern.server.port, user, PASSWORDS[user], `198.51.100.${++address}`);
  /** Writes the users file in place, as an editor saves it, and waits until the server has loaded it. */
  async function editByHand(users: Record<string, Entry>): Promise<number> {
    const mark = postern.logs.length;
    await writeFile(usersFile, usersYaml(users));
    await postern.logged(mark, { event: 'users.reload', count: Object.keys(users).length });
    return mark;
  }

  beforeAll(async () => {
    if (kind === 'redis') redis = await startRedis();
    dir = mkdtempSync(join(tmpdir(), 'postern-hand-edits-'));
    dirs.push(dir);
    usersFile = join(dir, 'users.yml');
    await writeFile(usersFile, usersYaml({ alice: { hash: hashes.alice }, bob: { hash: hashes.bob } }), { mode: 0o600 });
    postern = await startReplica(dir, redis?.url);
  });
  afterAll(async () => {
    await postern?.server.close({ drainMs: 0 });
    await redis?.stop();
  });

  it('a user disabled by hand and enabled again: the old session stays refused, a fresh sign-in works, and one line says so', async () => {
    const before = await browserOf('alice');
    const bob = await browserOf('bob');
    expectAllowed(await verify(postern, before), 'alice');

    const mark = await editByHand({ alice: { hash: hashes.alice, disabled: true }, bob: { hash: hashes.bob } });
    const line = await postern.logged(mark, { event: 'users.access_ended', user: 'alice' });
    expect(line).toMatchObject({ level: 30, change: 'disabled', endedSessions: 1 });
    expectRefused(await verify(postern, before));

    await editByHand({ alice: { hash: hashes.alice }, bob: { hash: hashes.bob } });
    const after = await browserOf('alice');
    expectAllowed(await verify(postern, after), 'alice');
    // Before the fix the old session stood again here: it had only been refused while alice was disabled.
    expectRefused(await verify(postern, before));
    // Nobody else's session ended, and the log names the user, never a session.
    expectAllowed(await verify(postern, bob), 'bob');
    expect(postern.logs.filter((l) => l.event === 'users.access_ended' && l.user !== 'alice')).toEqual([]);
    const cookies = (await before.jar.getCookies(`${PORTAL}/`)).map((c) => c.value).filter((v) => v.length > 16);
    expect(cookies.length).toBeGreaterThan(0);
    for (const value of cookies) expect(JSON.stringify(postern.logs)).not.toContain(value);
  });

  it('a user removed by hand and added back: the old session stays refused, a fresh sign-in works', async () => {
    const before = await browserOf('bob');
    expectAllowed(await verify(postern, before), 'bob');

    const mark = await editByHand({ alice: { hash: hashes.alice } });
    expect(await postern.logged(mark, { event: 'users.access_ended', user: 'bob' })).toMatchObject({ change: 'removed' });
    expectRefused(await verify(postern, before));

    await editByHand({ alice: { hash: hashes.alice }, bob: { hash: hashes.bob } });
    const after = await browserOf('bob');
    expectAllowed(await verify(postern, after), 'bob');
    expectRefused(await verify(postern, before));
  });

  it('a save read half-way, cut exactly at an entry boundary, then read whole within the settle delay: nobody is signed out', async () => {
    const bob = await browserOf('bob');
    expectAllowed(await verify(postern, bob), 'bob');

    // What an in-place save of the file can look like when read mid-write: valid YAML, bob not there yet.
    const mark = await editByHand({ alice: { hash: hashes.alice } });
    await writeFile(usersFile, usersYaml({ alice: { hash: hashes.alice }, bob: { hash: hashes.bob } }));
    await postern.logged(mark, { event: 'users.reload', count: 2 });
    await new Promise((resolve) => setTimeout(resolve, REMOVAL_SETTLE_MS + 300));

    // Before the fix bob's sessions ended at the first reload, for good.
    expectAllowed(await verify(postern, bob), 'bob');
    expect(postern.logs.slice(mark).filter((l) => l.event === 'users.access_ended')).toEqual([]);
  });

  it('a password hash replaced by hand and put back: the old session stays refused', async () => {
    const before = await browserOf('alice');
    expectAllowed(await verify(postern, before), 'alice');

    const mark = await editByHand({ alice: { hash: await fastHasher.hash('another long password') }, bob: { hash: hashes.bob } });
    expect(await postern.logged(mark, { event: 'users.access_ended', user: 'alice' })).toMatchObject({ change: 'password' });
    expectRefused(await verify(postern, before));

    await editByHand({ alice: { hash: hashes.alice }, bob: { hash: hashes.bob } });
    const after = await browserOf('alice');
    expectAllowed(await verify(postern, after), 'alice');
    expectRefused(await verify(postern, before));
  });

  it('a password change on the account page keeps the session it was made from through the reload, and ends the others', async () => {
    const changer = await browserOf('alice');
    const other = await browserOf('alice');
    const mark = postern.logs.length;

    const changed = await postAccountForm(changer, '/password', { current: PASSWORDS.alice, password: 'alice new long password', confirm: 'alice new long password' });
    expect(changed.status).toBe(303);
    await postern.logged(mark, { event: 'users.access_ended', user: 'alice', change: 'password' });
    // The file watcher's own sighting of the same edit comes later and changes nothing.
    await new Promise((resolve) => setTimeout(resolve, 1_200));

    expectAllowed(await verify(postern, changer), 'alice');
    expectRefused(await verify(postern, other));
    await editByHand({ alice: { hash: hashes.alice }, bob: { hash: hashes.bob } });
  });
});

describe('two replicas sharing Redis and the users file', () => {
  let redis: RedisProcess;
  let a: Replica;
  let b: Replica;

  beforeAll(async () => {
    redis = await startRedis();
    const dir = mkdtempSync(join(tmpdir(), 'postern-hand-edits-replicas-'));
    dirs.push(dir);
    await writeFile(join(dir, 'users.yml'), usersYaml({ alice: { hash: hashes.alice }, bob: { hash: hashes.bob } }), { mode: 0o600 });
    a = await startReplica(dir, redis.url);
    b = await startReplica(dir, redis.url);
  });
  afterAll(async () => {
    await b?.server.close({ drainMs: 0 });
    await a?.server.close({ drainMs: 0 });
    await redis?.stop();
  });

  it("a password change on one replica's account page survives the other replica's reload of the new hash", async () => {
    const changer = await signedIn(a.server.port, 'alice', PASSWORDS.alice, '198.51.100.200');
    const other = await signedIn(a.server.port, 'alice', PASSWORDS.alice, '198.51.100.201');
    const mark = b.logs.length;

    const changed = await postAccountForm(changer, '/password', { current: PASSWORDS.alice, password: 'alice new long password', confirm: 'alice new long password' });
    expect(changed.status).toBe(303);
    // B ends what the new password ended, and only that: the session A re-stamped carries the new fingerprint.
    await b.logged(mark, { event: 'users.access_ended', user: 'alice', change: 'password' });

    expectAllowed(await verify(b, changer), 'alice');
    expectAllowed(await verify(a, changer), 'alice');
    expectRefused(await verify(b, other));
  });
});

describe('a users file edited while no server ran', () => {
  let redis: RedisProcess;
  let dir: string;
  let postern: Replica | undefined;

  beforeAll(async () => {
    redis = await startRedis();
    dir = mkdtempSync(join(tmpdir(), 'postern-hand-edits-offline-'));
    dirs.push(dir);
    await writeFile(join(dir, 'users.yml'), usersYaml({ alice: { hash: hashes.alice }, bob: { hash: hashes.bob } }), { mode: 0o600 });
  });
  afterAll(async () => {
    await postern?.server.close({ drainMs: 0 });
    await redis?.stop();
  });

  it('a user disabled by hand while the server was down loses their sessions at the next start; enabling them again brings none back', async () => {
    const first = await startReplica(dir, redis.url);
    const before = await signedIn(first.server.port, 'alice', PASSWORDS.alice, '198.51.100.100');
    const bob = await signedIn(first.server.port, 'bob', PASSWORDS.bob, '198.51.100.101');
    expectAllowed(await verify(first, before), 'alice');
    await first.server.close({ drainMs: 0 });

    // carol was disabled from the start and never signed in: nothing of hers to end, nothing said.
    await writeFile(
      join(dir, 'users.yml'),
      usersYaml({ alice: { hash: hashes.alice, disabled: true }, bob: { hash: hashes.bob }, carol: { hash: hashes.bob, disabled: true } }),
    );
    postern = await startReplica(dir, redis.url);
    const running = postern;
    // Before the server listens: the line is already there.
    expect(running.logs.filter((l) => l.event === 'users.access_ended')).toEqual([
      expect.objectContaining({ level: 30, user: 'alice', change: 'disabled', endedSessions: 1 }),
    ]);
    expectRefused(await verify(running, before));
    expectAllowed(await verify(running, bob), 'bob');

    const mark = running.logs.length;
    await writeFile(join(dir, 'users.yml'), usersYaml({ alice: { hash: hashes.alice }, bob: { hash: hashes.bob }, carol: { hash: hashes.bob, disabled: true } }));
    await running.logged(mark, { event: 'users.reload', count: 3 });
    // Before the fix the old session stood again here: the reload saw only "enabled".
    expectRefused(await verify(running, before));
    const after = await signedIn(running.server.port, 'alice', PASSWORDS.alice, '198.51.100.102');
    expectAllowed(await verify(running, after), 'alice');
    const cookies = (await before.jar.getCookies(`${PORTAL}/`)).map((c) => c.value).filter((v) => v.length > 16);
    expect(cookies.length).toBeGreaterThan(0);
    for (const value of cookies) expect(JSON.stringify(running.logs)).not.toContain(value);
  });
});
