import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseUsersFile } from '../../src/auth/users-file-parse.js';
import { UsersFile, writeUsersFileAtomic } from '../../src/auth/users-file.js';
import { editUsersFile } from '../../src/auth/users-file-writer.js';
import { findCredential, passkeysOf } from '../../src/factors/passkey-directory.js';
import type { Passkey } from '../../src/factors/passkey-parse.js';
import { buildUsers } from '../support/app-fixture.js';

const KEY = 'pQECAyYgASFYIBfm0R6nXl1YoXQ';
const passkey = (id: string, name = 'Laptop'): Passkey => ({ id, name, publicKey: KEY, transports: ['internal'], created: Date.parse('2026-12-02T06:00:00Z'), userVerified: true });
const A = 'AAECAwQFBgcICQoLDA0ODw';
const B = 'BBECAwQFBgcICQoLDA0ODw';

/** As the passkeys page saves them (handlers/factor-change.ts saveFactors): the user's factors with the list changed. */
function editPasskeys(path: string, user: string, change: (list: readonly Passkey[]) => Passkey[]): Promise<void> {
  return editUsersFile(path, (file) => {
    const current = file.users.get(user)!.factors;
    file.setFactors(user, { ...current, passkeys: change(current?.passkeys ?? []) });
  });
}
const addPasskey = (path: string, user: string, p: Passkey) => editPasskeys(path, user, (list) => [...list, p]);

describe('passkeys in the users file', () => {
  let dir: string;
  let path: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'postern-passkeys-'));
    path = join(dir, 'users.yml');
    await writeUsersFileAtomic(path, await buildUsers({ alice: { password: 'alice password one' }, bob: { password: 'bob password one', disabled: true } }));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('writes passkeys through the locked writer, reads them back, and finds their owner by credential id', async () => {
    await addPasskey(path, 'alice', passkey(A));
    await addPasskey(path, 'alice', passkey(B, 'Phone'));
    const text = await readFile(path, 'utf8');
    expect(text).toContain(`    factors:\n      passkeys:\n        - id: ${A}\n          name: Laptop\n          public_key: ${KEY}\n          transports:\n            - internal\n`);
    const users = await UsersFile.open(path, { watch: false });
    expect(passkeysOf(users.find('alice')!).map((p) => p.name)).toEqual(['Laptop', 'Phone']);
    expect(findCredential(users, B)).toEqual({ user: users.find('alice'), passkey: passkey(B, 'Phone') });
    expect(findCredential(users, 'CCECAwQFBgcICQoLDA0ODw')).toBeUndefined();

    await editPasskeys(path, 'alice', () => []);
    // None left: the factors key goes.
    expect(await readFile(path, 'utf8')).not.toContain('factors');
  });

  it("does not find a disabled user's passkey", async () => {
    await addPasskey(path, 'bob', passkey(A));
    const users = await UsersFile.open(path, { watch: false });
    expect(passkeysOf(users.find('bob')!)).toHaveLength(1);
    expect(findCredential(users, A)).toBeUndefined();
  });

  it('refuses one credential id for two users', async () => {
    await addPasskey(path, 'alice', passkey(A));
    await expect(addPasskey(path, 'bob', passkey(A))).rejects.toThrow(`users.bob.factors.passkeys: id ${A} is also used by alice; ids must be unique`);
    expect(parseUsersFile(await readFile(path, 'utf8')).problems).toEqual([]);
  });
});
