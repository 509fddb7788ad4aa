import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { endAccessAtStart, endAccessOnReload } from '../../src/auth/end-access-on-reload.js';
import { createPasswordFingerprint } from '../../src/auth/identity.js';
import type { User } from '../../src/auth/user.js';
import { createLogger } from '../../src/log/logger.js';
import { MemoryDeviceStore } from '../../src/store/device-store-memory.js';
import { MemorySessionStore } from '../../src/store/memory-store.js';

const NOW = Date.now();
const HOUR = 3_600_000;
const fingerprint = createPasswordFingerprint('test-secret-test-secret-test-secret-0123');
const OLD_HASH = '$argon2id$v=19$m=8192,t=1,p=1$b2xkIHNhbHQ$b2xkIGhhc2ggb2xkIGhhc2ggb2xkIGhhc2g';
const NEW_HASH = '$argon2id$v=19$m=8192,t=1,p=1$bmV3IHNhbHQ$bmV3IGhhc2ggbmV3IGhhc2ggbmV3IGhhc2g';

function user(username: string, extra: Partial<User> = {}): User {
  return { username, password: OLD_HASH, role: 'user', groups: [], email: '', name: '', disabled: false, ...extra };
}
const keyed = (...users: User[]): ReadonlyMap<string, User> => new Map(users.map((u) => [u.username, u]));
const session = (u: User) => ({ user: u.username, via: 'local', created: NOW, expires: NOW + HOUR, seen: NOW, pwv: fingerprint(u) });

let sessions: MemorySessionStore;
let devices: MemoryDeviceStore;
let lines: Array<Record<string, unknown>>;
/** Postern's own logger, writing into `lines`: what an operator reads, redaction included. */
const logger = createLogger(
  'info',
  new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  }),
);
/** Alice's sessions as they stood each time the users file was read again. */
let atReread: string[][];
/**
 * The deps, with `inForce` the users file as it reads after the settle delay (removals are checked
 * against it); the delay is 0 here, the integration test runs the real one.
 */
const deps = (inForce: ReadonlyMap<string, User> = keyed()) => ({
  sessions,
  devices: { revokeUser: (u: string) => devices.removeUser(u) },
  passwordFingerprint: fingerprint,
  logger,
  users: {
    find: (u: string) => inForce.get(u),
    reload: async () => {
      atReread.push(await idsOf('alice'));
      return true;
    },
  },
  settleMs: 0,
});
/** What a log line says, without its time, pid and host. */
const said = () => lines.map(({ level, event, user, change, endedSessions, endedDevices, reason, msg }) => ({ level, event, user, change, endedSessions, endedDevices, reason, msg }));

beforeEach(async () => {
  sessions = new MemorySessionStore();
  devices = new MemoryDeviceStore();
  lines = [];
  atReread = [];
  for (const id of ['alice-laptop', 'alice-phone']) await sessions.set(id, session(user('alice')), HOUR);
  await sessions.set('bob-laptop', session(user('bob')), HOUR);
  await devices.add('alice-device', { user: 'alice', expires: NOW + HOUR });
  await devices.add('bob-device', { user: 'bob', expires: NOW + HOUR });
});
afterEach(() => sessions.close());

const idsOf = async (name: string) => (await sessions.listByUser(name)).map((s) => s.id).sort();

describe('endAccessOnReload: what a reload of the users file ends', () => {
  it("ends a disabled user's sessions and device trusts, nobody else's, and logs one line naming the user, never a session", async () => {
    await endAccessOnReload(deps())({ previous: keyed(user('alice'), user('bob')), next: keyed(user('alice', { disabled: true }), user('bob')) });

    expect(await idsOf('alice')).toEqual([]);
    expect(await devices.get('alice-device')).toBeUndefined();
    expect(await idsOf('bob')).toEqual(['bob-laptop']);
    expect(await devices.get('bob-device')).toBeDefined();
    expect(said()).toEqual([
      { level: 30, event: 'users.access_ended', user: 'alice', change: 'disabled', endedSessions: 2, endedDevices: 1, msg: 'alice is disabled in the users file: their sessions and device trusts ended' },
    ]);
    expect(JSON.stringify(lines)).not.toMatch(/alice-laptop|alice-phone|alice-device/);
  });

  it('ends a removed user the same way', async () => {
    await endAccessOnReload(deps(keyed(user('bob'))))({ previous: keyed(user('alice'), user('bob')), next: keyed(user('bob')) });

    // Only once the file, read again, still leaves alice out.
    expect(atReread).toEqual([['alice-laptop', 'alice-phone']]);
    expect(await idsOf('alice')).toEqual([]);
    expect(await devices.get('alice-device')).toBeUndefined();
    expect(said()).toEqual([{ level: 30, event: 'users.access_ended', user: 'alice', change: 'removed', endedSessions: 2, endedDevices: 1, msg: 'alice is no longer in the users file: their sessions and device trusts ended' }]);
  });

  it('on a new password, keeps the sessions opened with it (the account page re-stamps its own) and ends the older ones', async () => {
    const renewed = user('alice', { password: NEW_HASH });
    await sessions.set('alice-restamped', session(renewed), HOUR);

    await endAccessOnReload(deps())({ previous: keyed(user('alice'), user('bob')), next: keyed(renewed, user('bob')) });

    expect(await idsOf('alice')).toEqual(['alice-restamped']);
    expect(await devices.get('alice-device')).toBeUndefined();
    expect(said()).toEqual([{ level: 30, event: 'users.access_ended', user: 'alice', change: 'password', endedSessions: 2, endedDevices: 1, msg: 'alice has another password in the users file: their sessions and device trusts ended' }]);
  });

  it('ends nothing and says nothing when a user is re-enabled, added back, or only changed role', async () => {
    const end = endAccessOnReload(deps());
    await end({ previous: keyed(user('alice', { disabled: true })), next: keyed(user('alice')) });
    await end({ previous: keyed(), next: keyed(user('alice'), user('bob')) });
    await end({ previous: keyed(user('alice'), user('bob')), next: keyed(user('alice', { role: 'admin' }), user('bob')) });

    expect(await idsOf('alice')).toEqual(['alice-laptop', 'alice-phone']);
    expect(await devices.get('alice-device')).toBeDefined();
    expect(lines).toEqual([]);
  });

  it('a store that fails is logged with what to do, never rejects, and the next user is still ended', async () => {
    const failing = {
      listByUser: async (name: string) => {
        if (name === 'alice') throw new Error('connect ECONNREFUSED 127.0.0.1:6379');
        return sessions.listByUser(name);
      },
      destroy: (id: string) => sessions.destroy(id),
    };
    await endAccessOnReload({ ...deps(), sessions: failing })({ previous: keyed(user('alice'), user('bob')), next: keyed() });

    expect(await idsOf('bob')).toEqual([]);
    expect(said()).toEqual([
      {
        level: 50,
        event: 'users.access_end_failed',
        user: 'alice',
        change: 'removed',
        reason: 'connect ECONNREFUSED 127.0.0.1:6379',
        msg: "alice is no longer in the users file, but the session store could not end their sessions (they stay refused while the file says so). Once the store is back, run 'postern sessions revoke --user alice' and 'postern throttle clear --user alice'",
      },
      { level: 30, event: 'users.access_ended', user: 'bob', change: 'removed', endedSessions: 1, endedDevices: 1, msg: 'bob is no longer in the users file: their sessions and device trusts ended' },
    ]);
  });

  it('a removal the file no longer shows when read again (a save read half-way, cut at an entry boundary) ends nothing', async () => {
    await endAccessOnReload(deps(keyed(user('alice'), user('bob'))))({ previous: keyed(user('alice'), user('bob')), next: keyed(user('bob')) });

    expect(atReread).toHaveLength(1);
    expect(await idsOf('alice')).toEqual(['alice-laptop', 'alice-phone']);
    expect(await devices.get('alice-device')).toBeDefined();
    expect(lines).toEqual([]);
  });

  it('a removed user back in the file read again, but disabled, ends as disabled', async () => {
    await endAccessOnReload(deps(keyed(user('alice', { disabled: true }), user('bob'))))({ previous: keyed(user('alice'), user('bob')), next: keyed(user('bob')) });

    expect(await idsOf('alice')).toEqual([]);
    expect(said()).toEqual([{ level: 30, event: 'users.access_ended', user: 'alice', change: 'disabled', endedSessions: 2, endedDevices: 1, msg: 'alice is disabled in the users file: their sessions and device trusts ended' }]);
  });

  it('a disabled user and a new password in the same edit as a removal end at once, without reading the file again', async () => {
    await endAccessOnReload(deps(keyed()))({ previous: keyed(user('alice'), user('bob')), next: keyed(user('alice', { disabled: true })) });

    expect(atReread).toEqual([[]]);
    expect(said().map(({ user, change }) => ({ user, change }))).toEqual([
      { user: 'alice', change: 'disabled' },
      { user: 'bob', change: 'removed' },
    ]);
  });
});

describe('endAccessAtStart: a users file edited while no server ran', () => {
  it('ends the sessions and device trusts of the users it marks disabled, and logs only those who had any', async () => {
    await endAccessAtStart(deps(), [user('alice', { disabled: true }), user('bob'), user('carol', { disabled: true })]);

    expect(await idsOf('alice')).toEqual([]);
    expect(await devices.get('alice-device')).toBeUndefined();
    expect(await idsOf('bob')).toEqual(['bob-laptop']);
    expect(await devices.get('bob-device')).toBeDefined();
    expect(said()).toEqual([
      { level: 30, event: 'users.access_ended', user: 'alice', change: 'disabled', endedSessions: 2, endedDevices: 1, msg: 'alice is disabled in the users file: their sessions and device trusts ended' },
    ]);
    expect(JSON.stringify(lines)).not.toMatch(/alice-laptop|alice-phone|alice-device/);
  });

  it('a second start (or a replica starting beside it) ends nothing more and says nothing', async () => {
    const disabled = [user('alice', { disabled: true })];
    await endAccessAtStart(deps(), disabled);
    lines.length = 0;
    await endAccessAtStart(deps(), disabled);

    expect(lines).toEqual([]);
  });
});
