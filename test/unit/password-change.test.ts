import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createPasswordFingerprint } from '../../src/auth/identity.js';
import { changePassword, PasswordChangedMeanwhileError } from '../../src/auth/password-change.js';
import { parseUsersFile } from '../../src/auth/users-file-parse.js';
import { writeUsersFileAtomic } from '../../src/auth/users-file-writer.js';
import { MemoryDeviceStore } from '../../src/store/device-store-memory.js';
import { MemorySessionStore } from '../../src/store/memory-store.js';
import { buildUsers, fastHasher } from '../support/app-fixture.js';

const NOW = Date.now();
const fingerprint = createPasswordFingerprint('test-secret-test-secret-test-secret-0123');
let dir: string;
let usersFile: string;
let sessions: MemorySessionStore;
let devices: MemoryDeviceStore;

const session = (user: string) => ({ user, via: 'local', created: NOW, expires: NOW + 3_600_000, seen: NOW });
const usersNow = () => parseUsersFile(readFileSync(usersFile, 'utf8')).users;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'postern-password-change-'));
  usersFile = join(dir, 'users.yml');
  await writeUsersFileAtomic(usersFile, await buildUsers({ alice: { password: 'alice password one' }, bob: { password: 'bob password one' } }));
  sessions = new MemorySessionStore();
  devices = new MemoryDeviceStore();
  for (const id of ['a1', 'a2', 'a3']) await sessions.set(id, session('alice'), 3_600_000);
  await sessions.set('b1', session('bob'), 3_600_000);
  await devices.add('device-a', { user: 'alice', expires: NOW + 3_600_000 });
  await devices.add('device-b', { user: 'bob', expires: NOW + 3_600_000 });
});
afterEach(async () => {
  await sessions.close();
  rmSync(dir, { recursive: true, force: true });
});

const deps = () => ({ usersFile, hasher: fastHasher, passwordFingerprint: fingerprint, sessions, devices: { revokeUser: (u: string) => devices.removeUser(u) } });

describe('changePassword', () => {
  it("writes the new hash, ends the user's other sessions and device trusts, and names the fingerprint the kept session must carry", async () => {
    const before = usersNow().get('alice')!;
    const changed = await changePassword(deps(), { username: 'Alice', password: 'alice password two', checkedHash: before.password, keepSession: 'a2' });

    const after = usersNow().get('alice')!;
    expect(await fastHasher.verify(after.password, 'alice password two')).toBe(true);
    expect(changed).toEqual({ fingerprint: fingerprint(after), endedSessions: 2, endedDevices: 1 });
    expect(changed.fingerprint).not.toBe(fingerprint(before));
    expect((await sessions.listByUser('alice')).map((s) => s.id)).toEqual(['a2']);
    expect(await sessions.get('b1')).toBeDefined();
    expect(await devices.get('device-a')).toBeUndefined();
    expect(await devices.get('device-b')).toBeDefined();
  });

  it('changes nothing when the hash is no longer the one that was checked (a `postern user passwd` in between)', async () => {
    const text = readFileSync(usersFile, 'utf8');
    await expect(changePassword(deps(), { username: 'alice', password: 'alice password two', checkedHash: 'an older hash', keepSession: 'a1' })).rejects.toBeInstanceOf(PasswordChangedMeanwhileError);
    expect(readFileSync(usersFile, 'utf8')).toBe(text);
    expect(await sessions.listByUser('alice')).toHaveLength(3);
    expect(await devices.get('device-a')).toBeDefined();
  });
});
