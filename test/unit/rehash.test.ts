/**
 * Upgrade on sign-in (src/auth/rehash.ts) against real files: an imported PBKDF2 hash becomes
 * argon2id in the users file, the rest of the file is left as it was, the user's sessions keep
 * standing, and a read-only file is left alone with one warning per user per day.
 */
import { pbkdf2Sync, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import bcrypt from 'bcrypt';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createPasswordFingerprint, identityOf, type SessionRules } from '../../src/auth/identity.js';
import { createPasswordHasher, type PasswordHasher } from '../../src/auth/passwords.js';
import { createRehasher, type RehasherDeps } from '../../src/auth/rehash.js';
import type { User } from '../../src/auth/user.js';
import { parseUsersFile } from '../../src/auth/users-file-parse.js';
import { editUsersFile } from '../../src/auth/users-file-writer.js';
import { createLogger } from '../../src/log/logger.js';
import type { SessionData } from '../../src/store/session-store.js';
import { readOnlyDirectory, type Mounted } from '../support/mounts.js';

const OLD_ARGON2 = { memory_cost: 8192, time_cost: 1, parallelism: 1 };
const CURRENT_ARGON2 = { memory_cost: 9216, time_cost: 1, parallelism: 1 };
const SECRET = 'session-secret-for-the-fingerprint-0123456789';
const DAY = 24 * 60 * 60 * 1000;

let hasher: PasswordHasher;
let oldHasher: PasswordHasher;
let bobHash: string;
let dir: string;
let usersFile: string;

beforeAll(async () => {
  hasher = createPasswordHasher({ argon2: CURRENT_ARGON2 });
  oldHasher = createPasswordHasher({ argon2: OLD_ARGON2 });
  bobHash = await hasher.hash('bob-password');
});

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'postern-rehash-'));
  usersFile = join(dir, 'users.yml');
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A Frigate-style hash, at the lowest accepted cost so the test stays fast. */
function pbkdf2Hash(password: string): string {
  const salt = randomBytes(16).toString('hex');
  return `pbkdf2_sha256$100000$${salt}$${pbkdf2Sync(password, salt, 100_000, 32, 'sha256').toString('base64')}`;
}

const HOUSEHOLD = (aliceHash: string) => `# Household users.
users:
  # Imported from Frigate.
  alice:
    password: "${aliceHash}"
    role: admin # the owner
    groups: [family]
  bob:
    password: "${bobHash}"
    email: bob@example.com
`;

interface Harness {
  rehash: ReturnType<typeof createRehasher>['rehash'];
  logs: Array<Record<string, unknown>>;
  hashes: () => number;
  clock: { now: number };
}

function harness(overrides: Partial<RehasherDeps> = {}): Harness {
  const logs: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n')) if (line !== '') logs.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  let hashes = 0;
  const clock = { now: Date.parse('2026-01-01T00:00:00Z') };
  const { rehash } = createRehasher({
    usersFile,
    hasher: {
      hash: (password, algorithm) => {
        hashes++;
        return hasher.hash(password, algorithm);
      },
    },
    needsRehash: (hash) => hasher.needsRehash(hash),
    passwordFingerprint: createPasswordFingerprint(SECRET),
    logger: createLogger('info', destination),
    now: () => clock.now,
    ...overrides,
  });
  return { rehash, logs, hashes: () => hashes, clock };
}

async function usersOnDisk(path = usersFile): Promise<Map<string, User>> {
  const { users, problems } = parseUsersFile(await readFile(path, 'utf8'));
  expect(problems).toEqual([]);
  return users;
}

/** A session opened as `user` was in the file, and whether it still stands for the users in the file now. */
function sessionOf(user: User): SessionData {
  const now = Date.now();
  return { user: user.username, via: 'local', created: now, expires: now + DAY, seen: now, pwv: createPasswordFingerprint(SECRET)(user) };
}
async function stillStands(session: SessionData): Promise<boolean> {
  const users = await usersOnDisk();
  const rules: SessionRules = { inactivity: 0, passwordFingerprint: createPasswordFingerprint(SECRET) };
  return identityOf(session, { find: (u) => users.get(u), all: () => [...users.values()] }, rules, Date.now()) !== undefined;
}

describe('a PBKDF2 user who signs in', () => {
  it('gets an argon2id hash in the file; comments, order and the other users stay as they were', async () => {
    const oldHash = pbkdf2Hash('alice-password');
    const before = HOUSEHOLD(oldHash);
    await writeFile(usersFile, before, { mode: 0o600 });
    const { rehash, logs } = harness();

    expect(await rehash('alice', 'alice-password', oldHash)).toBe('rehashed');

    const alice = (await usersOnDisk()).get('alice')!;
    expect(alice.password).toMatch(/^\$argon2id\$v=19\$m=9216,p=1,t=1\$/);
    expect(await hasher.verify(alice.password, 'alice-password')).toBe(true);
    const text = await readFile(usersFile, 'utf8');
    const carried = /session_fingerprint: "([^"]+)"/.exec(text)?.[1];
    expect(text).toBe(
      before
        .replace(oldHash, alice.password)
        .replace('    groups: [family]\n', `    groups: [family]\n    session_fingerprint: "${carried}"\n`),
    );
    // Bob's lines, byte for byte.
    expect(text.slice(text.indexOf('  bob:'))).toBe(before.slice(before.indexOf('  bob:')));
    expect(await readdir(dir)).toEqual(['users.yml']); // no temp file, no lock left behind

    expect(logs.filter((l) => l.event === 'user.rehash')).toEqual([expect.objectContaining({ level: 30, user: 'alice' })]);
    const logText = JSON.stringify(logs);
    for (const secret of ['alice-password', oldHash, alice.password, 'pbkdf2_sha256$', '$argon2id$']) expect(logText).not.toContain(secret);
  });

  it('keeps their sessions: a session opened on the PBKDF2 hash still stands on the argon2id one', async () => {
    const oldHash = pbkdf2Hash('alice-password');
    await writeFile(usersFile, HOUSEHOLD(oldHash), { mode: 0o600 });
    const session = sessionOf((await usersOnDisk()).get('alice')!);
    const bobSession = sessionOf((await usersOnDisk()).get('bob')!);

    expect(await harness().rehash('alice', 'alice-password', oldHash)).toBe('rehashed');
    expect(await stillStands(session)).toBe(true);
    expect(await stillStands(bobSession)).toBe(true);

    // A password change still ends it...
    await editUsersFile(usersFile, (file) => file.update('alice', { password: bobHash }));
    expect(await stillStands(session)).toBe(false);
  });

  it('a bcrypt user (htpasswd -B) is upgraded the same way, and keeps their sessions', async () => {
    const oldHash = await bcrypt.hash('alice-password', 10);
    await writeFile(usersFile, HOUSEHOLD(oldHash), { mode: 0o600 });
    const session = sessionOf((await usersOnDisk()).get('alice')!);
    expect(await harness().rehash('alice', 'alice-password', oldHash)).toBe('rehashed');
    const alice = (await usersOnDisk()).get('alice')!;
    expect(hasher.needsRehash(alice.password)).toBe(false);
    expect(await hasher.verify(alice.password, 'alice-password')).toBe(true);
    expect(await stillStands(session)).toBe(true);
  });

  it('keeps their sessions across two upgrades (PBKDF2, then argon2id at older parameters)', async () => {
    const pbkdf2 = pbkdf2Hash('alice-password');
    await writeFile(usersFile, HOUSEHOLD(pbkdf2), { mode: 0o600 });
    const session = sessionOf((await usersOnDisk()).get('alice')!);
    // First to argon2id at older parameters (as an older Postern would have), then to the current ones.
    const older = harness({ hasher: oldHasher, needsRehash: (h) => !h.startsWith('$argon2id$') });
    expect(await older.rehash('alice', 'alice-password', pbkdf2)).toBe('rehashed');
    const middle = (await usersOnDisk()).get('alice')!.password;
    expect(middle).toContain('m=8192');
    expect(await harness().rehash('alice', 'alice-password', middle)).toBe('rehashed');
    expect((await usersOnDisk()).get('alice')!.password).toContain('m=9216');
    expect(await stillStands(session)).toBe(true);
  });

  it('a hash replaced by hand afterwards ends the sessions, even when session_fingerprint is left in the file', async () => {
    const oldHash = pbkdf2Hash('alice-password');
    await writeFile(usersFile, HOUSEHOLD(oldHash), { mode: 0o600 });
    const session = sessionOf((await usersOnDisk()).get('alice')!);
    expect(await harness().rehash('alice', 'alice-password', oldHash)).toBe('rehashed');
    const rehashed = (await usersOnDisk()).get('alice')!.password;

    const handEdited = (await readFile(usersFile, 'utf8')).replace(rehashed, await hasher.hash('a-new-password'));
    expect(handEdited).toContain('session_fingerprint');
    await writeFile(usersFile, handEdited);
    expect((await usersOnDisk()).get('alice')?.sessionFingerprint).toBeUndefined();
    expect(await stillStands(session)).toBe(false);
  });
});

describe('what is left alone', () => {
  it('a hash that is current: nothing is hashed or written', async () => {
    const text = HOUSEHOLD(pbkdf2Hash('alice-password'));
    await writeFile(usersFile, text, { mode: 0o600 });
    const h = harness();
    expect(await h.rehash('bob', 'bob-password', bobHash)).toBe('current');
    expect(h.hashes()).toBe(0);
    expect(await readFile(usersFile, 'utf8')).toBe(text);
  });

  it('a hash changed since the sign-in (a passwd in between): the newer hash wins', async () => {
    const oldHash = pbkdf2Hash('alice-password');
    const newer = pbkdf2Hash('changed-meanwhile');
    const text = HOUSEHOLD(newer);
    await writeFile(usersFile, text, { mode: 0o600 });
    expect(await harness().rehash('alice', 'alice-password', oldHash)).toBe('changed');
    expect(await readFile(usersFile, 'utf8')).toBe(text);
  });

  it('a user removed since the sign-in', async () => {
    const text = HOUSEHOLD(pbkdf2Hash('alice-password'));
    await writeFile(usersFile, text, { mode: 0o600 });
    expect(await harness().rehash('carol', 'carol-password', pbkdf2Hash('carol-password'))).toBe('changed');
    expect(await readFile(usersFile, 'utf8')).toBe(text);
  });

  it('two sign-ins of one user at once: one upgrade', async () => {
    const oldHash = pbkdf2Hash('alice-password');
    await writeFile(usersFile, HOUSEHOLD(oldHash), { mode: 0o600 });
    const h = harness();
    const outcomes = await Promise.all([h.rehash('alice', 'alice-password', oldHash), h.rehash('alice', 'alice-password', oldHash)]);
    expect(outcomes.sort()).toEqual(['busy', 'rehashed']);
    expect(h.logs.filter((l) => l.event === 'user.rehash')).toHaveLength(1);
  });
});

describe('never throws into the sign-in', () => {
  it('a users file with problems: logged as an error, nothing written', async () => {
    const oldHash = pbkdf2Hash('alice-password');
    const broken = `${HOUSEHOLD(oldHash)}  carol:\n    password: not-a-hash\n`;
    await writeFile(usersFile, broken, { mode: 0o600 });
    const h = harness();
    expect(await h.rehash('alice', 'alice-password', oldHash)).toBe('failed');
    expect(await readFile(usersFile, 'utf8')).toBe(broken);
    const failure = h.logs.find((l) => l.event === 'user.rehash.failure');
    expect(failure).toMatchObject({ level: 50, user: 'alice', reason: expect.stringContaining('users.carol.password is not a supported hash') });
  });

  it('a hasher that fails: logged, nothing written', async () => {
    const oldHash = pbkdf2Hash('alice-password');
    const text = HOUSEHOLD(oldHash);
    await writeFile(usersFile, text, { mode: 0o600 });
    const h = harness({ hasher: { hash: () => Promise.reject(new Error('too many password checks at once')) } });
    expect(await h.rehash('alice', 'alice-password', oldHash)).toBe('failed');
    expect(h.logs.find((l) => l.event === 'user.rehash.failure')).toMatchObject({ reason: 'too many password checks at once' });
    expect(await readFile(usersFile, 'utf8')).toBe(text);
  });
});

describe('a read-only users file (a Kubernetes Secret)', () => {
  let mounted: Mounted | undefined;
  afterEach(async () => {
    await mounted?.cleanup();
    mounted = undefined;
  });

  it('is left alone, with one warning per user per day and no hash computed', async (ctx) => {
    const oldHash = pbkdf2Hash('alice-password');
    const carolHash = pbkdf2Hash('carol-password');
    const text = `${HOUSEHOLD(oldHash)}  carol:\n    password: "${carolHash}"\n`;
    mounted = await readOnlyDirectory({ 'users.yml': text });
    if (mounted === undefined) return ctx.skip('cannot make a read-only directory here (root without mount rights)');
    usersFile = join(mounted.dir, 'users.yml');
    const h = harness();

    expect(await h.rehash('alice', 'alice-password', oldHash)).toBe('read-only');
    expect(await h.rehash('alice', 'alice-password', oldHash)).toBe('read-only');
    expect(await h.rehash('carol', 'carol-password', carolHash)).toBe('read-only');
    h.clock.now += DAY - 1;
    expect(await h.rehash('alice', 'alice-password', oldHash)).toBe('read-only');
    expect(h.logs.filter((l) => l.event === 'user.rehash.skipped').map((l) => l.user)).toEqual(['alice', 'carol']);
    h.clock.now += 1;
    expect(await h.rehash('alice', 'alice-password', oldHash)).toBe('read-only');
    expect(h.logs.filter((l) => l.event === 'user.rehash.skipped').map((l) => l.user)).toEqual(['alice', 'carol', 'alice']);

    const warning = h.logs.find((l) => l.event === 'user.rehash.skipped')!;
    expect(warning).toMatchObject({ level: 40, reason: expect.stringMatching(/not writable here \((EROFS|EACCES)\)/) });
    expect(h.logs.filter((l) => (l.level as number) >= 50)).toEqual([]);
    expect(h.hashes()).toBe(0);
    expect(await readFile(usersFile, 'utf8')).toBe(text);
  });
});
