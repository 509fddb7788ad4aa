/**
 * A user's new password, and what follows from it: the hash goes into the users file (one lock, a
 * fresh read, editUsersFile), then every other session of the user and every device trust ends.
 *
 * Older sessions would stop standing anyway once the file is reloaded (a session carries the
 * fingerprint of the hash it was opened with, `pwv`), but only in a replica that has reloaded it;
 * ending them in the shared store ends them everywhere at once, and frees their store entries.
 * The session the change was made from is kept: the caller stamps it with `fingerprint`.
 *
 * Checking the current password is the caller's (the account page counts a wrong one in the
 * sign-in throttle); this module only insists that the hash it replaces is the one that was checked,
 * so a change made meanwhile (`postern user passwd`) is never silently overwritten.
 */
import { revokeSessionsOf, type SessionsKept } from '../sessions/manage.js';
import type { SessionStore } from '../store/session-store.js';
import type { PasswordHasher } from './passwords.js';
import type { User } from './user.js';
import { assertUsersFileWritable } from './users-file-lock.js';
import { editUsersFile } from './users-file-writer.js';
import { normaliseUsername } from './username.js';

export interface PasswordChangeDeps {
  /** Path of the users file (config `users.file`). */
  readonly usersFile: string;
  readonly hasher: Pick<PasswordHasher, 'hash'>;
  /** SessionRules.passwordFingerprint: what sessions opened with the new password will carry. */
  readonly passwordFingerprint: (user: User) => string;
  readonly sessions: Pick<SessionStore, 'listByUser' | 'destroy'>;
  /** Ends every device trust of a (normalised) username; absent when device trust is off. */
  readonly devices?: { revokeUser(username: string): Promise<number> };
}

/** The user's hash is no longer the one the current password was checked against: nothing was written. */
export class PasswordChangedMeanwhileError extends Error {
  override readonly name = 'PasswordChangedMeanwhileError';
  constructor(readonly username: string) {
    super(`the password of '${username}' changed while a new one was being set; nothing was written`);
  }
}

export interface PasswordChanged {
  /** The fingerprint of the new hash, for the session that is kept. */
  readonly fingerprint: string;
  readonly endedSessions: number;
  readonly endedDevices: number;
}

/**
 * Sets `username`'s password to `password` when its hash is still `checkedHash`, then ends the
 * user's sessions except `keepSession` (a store id) and all of their device trusts. Rejects with
 * PasswordChangedMeanwhileError, the hasher's errors, or the file system's (EROFS, EACCES, ...:
 * nothing was changed). Once the file is written, a store failure still rejects: the password is
 * changed, and older sessions end when the file is reloaded.
 */
export async function changePassword(
  deps: PasswordChangeDeps,
  change: { readonly username: string; readonly password: string; readonly checkedHash: string; readonly keepSession?: string },
): Promise<PasswordChanged> {
  const username = normaliseUsername(change.username);
  // Cheap, and before the hash: a read-only file says so at once.
  await assertUsersFileWritable(deps.usersFile);
  const hash = await deps.hasher.hash(change.password);
  const updated = await editUsersFile(deps.usersFile, (file) => {
    const user = file.users.get(username);
    if (user === undefined || user.password !== change.checkedHash) throw new PasswordChangedMeanwhileError(username);
    // A new hash drops the user's session_fingerprint: sessions opened with the old password end.
    file.update(username, { password: hash });
    const { sessionFingerprint: _, ...rest } = user;
    return { ...rest, password: hash };
  });
  const ended = await endUserSessions(deps, username, { keep: change.keepSession });
  return { fingerprint: deps.passwordFingerprint(updated), ...ended };
}

/**
 * Ends the sessions of `username` in the store, all but those `kept` names (the session a change
 * was made from; the sessions opened with a new password), and every device trust of theirs. What
 * a new password, a disabled or a removed user calls for.
 */
export async function endUserSessions(
  deps: Pick<PasswordChangeDeps, 'sessions' | 'devices'>,
  username: string,
  kept: SessionsKept = {},
): Promise<{ endedSessions: number; endedDevices: number }> {
  const doomed = await revokeSessionsOf(deps.sessions, username, kept);
  const endedDevices = (await deps.devices?.revokeUser(username)) ?? 0;
  return { endedSessions: doomed.length, endedDevices };
}
