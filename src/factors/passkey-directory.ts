/**
 * Whose passkey is this, and the users-file writes that add or remove one (through editUsersFile:
 * the lock, a fresh read, an atomic write). No Koa.
 */
import type { User, UserDirectory } from '../auth/user.js';
import { editUsersFile } from '../auth/users-file-writer.js';
import type { Passkey } from './passkey-parse.js';

export function passkeysOf(user: User): readonly Passkey[] {
  return user.factors?.passkeys ?? [];
}

/**
 * The user who registered credential `id`, with the passkey, when that user may sign in (not
 * disabled). Credential ids are unique across the users file (users-file-parse.ts checks it).
 * A walk over every user's passkeys: a users file holds a household, not a million accounts.
 */
export function findCredential(users: UserDirectory, id: string): { readonly user: User; readonly passkey: Passkey } | undefined {
  for (const user of users.all()) {
    const passkey = passkeysOf(user).find((p) => p.id === id);
    if (passkey !== undefined) return user.disabled ? undefined : { user, passkey };
  }
  return undefined;
}

/** The user does not exist any more (removed while the page was open): nothing was written. */
export class NoSuchUserError extends Error {
  override readonly name = 'NoSuchUserError';
}

/** Appends `passkey` to the user's passkeys. */
export async function addPasskey(usersFile: string, username: string, passkey: Passkey): Promise<void> {
  await editUsersFile(usersFile, (file) => {
    const user = file.users.get(username);
    if (user === undefined) throw new NoSuchUserError(`user '${username}' does not exist`);
    file.setFactors(username, { ...user.factors, passkeys: [...passkeysOf(user), passkey] });
  });
}

/** Removes the user's passkey `id`; the removed passkey, or undefined when the user had none by that id (nothing written). */
export async function removePasskey(usersFile: string, username: string, id: string): Promise<Passkey | undefined> {
  return editUsersFile(usersFile, (file) => {
    const user = file.users.get(username);
    if (user === undefined) throw new NoSuchUserError(`user '${username}' does not exist`);
    const removed = passkeysOf(user).find((p) => p.id === id);
    if (removed !== undefined) file.setFactors(username, { ...user.factors, passkeys: passkeysOf(user).filter((p) => p !== removed) });
    return removed;
  });
}
