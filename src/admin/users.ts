/**
 * The admin page's changes to the users file. Each goes through editUsersFile (one lock with every
 * other writer, a fresh read, an atomic write) and checks, under that lock and against the file as
 * it is then, that the user exists and that the last administrator stays one. A refusal is an
 * AdminRefusal (status and words for the page); nothing is written then.
 */
import { errnoOf } from '../util/atomic-file.js';
import { generatePassword, type PasswordHasher } from '../auth/passwords.js';
import type { User } from '../auth/user.js';
import type { UserChange } from '../auth/user-change.js';
import { assertUsersFileWritable, cannotWriteUsersFile } from '../auth/users-file-lock.js';
import { editUsersFile, UsersFileProblemsError, type UsersFileEditor } from '../auth/users-file-writer.js';
import type { SubjectMatcher } from '../access/rules.js';
import { factorsOf, resetFactors } from './factors.js';
import type { AdminCommand, UserAction } from './input.js';
import { lastAdminRefusal, type UserAfter } from './permission.js';

/** A change refused: the page shows `message` with `status`, and nothing was written. */
export class AdminRefusal extends Error {
  override readonly name = 'AdminRefusal';
  constructor(
    readonly status: 400 | 404 | 409,
    message: string,
  ) {
    super(message);
  }
}

export interface UsersFileDeps {
  readonly usersFile: string;
  readonly hasher: Pick<PasswordHasher, 'hash'>;
  readonly subjects: SubjectMatcher;
}

/** What a change did: words for the page, and what follows from it (ending sessions). */
export interface UserOutcome {
  readonly notice: string;
  readonly username: string;
  readonly change: UserChange | undefined;
  /** A password Postern generated: shown once on the page, never logged. */
  readonly generated?: string;
  /** Audit log fields (never a secret). */
  readonly audit: Readonly<Record<string, unknown>>;
}

/** The command-line equivalents, for a page that cannot write. */
export const CLI_EQUIVALENTS = 'postern user add|passwd|disable|enable|remove NAME and postern token revoke ID';

/** Why the users file cannot be written by this process (a read-only mount, no permission), or undefined. */
export async function usersFileReadOnly(path: string): Promise<string | undefined> {
  try {
    await assertUsersFileWritable(path);
    return undefined;
  } catch (err) {
    return readOnlyReason(path, errnoOf(err) ?? 'not writable');
  }
}

function readOnlyReason(path: string, code: string): string {
  return `The users file ${path} cannot be written by Postern here (${code}): it may be mounted read-only, such as a Kubernetes Secret. Change users at the file's source, or with ${CLI_EQUIVALENTS} where the file is writable.`;
}

/**
 * Runs a write of the users file; a file that cannot be written here or has problems is a refusal
 * (nothing was written).
 */
export async function writing<T>(path: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (err) {
    if (cannotWriteUsersFile(err)) throw new AdminRefusal(409, readOnlyReason(path, errnoOf(err)!));
    if (err instanceof UsersFileProblemsError) throw new AdminRefusal(409, `${err.message}. Nothing was changed.`);
    throw err;
  }
}

/** Runs `edit` under the users-file lock (editUsersFile), as a write. */
function edit<T>(path: string, fn: (file: UsersFileEditor) => T): Promise<T> {
  return writing(path, () => editUsersFile(path, fn));
}

function existing(file: UsersFileEditor, username: string): User {
  const user = file.users.get(username);
  if (user === undefined) throw new AdminRefusal(404, `There is no user ${username}; nothing was changed.`);
  return user;
}

function keepAnAdmin(deps: UsersFileDeps, file: UsersFileEditor, username: string, after: UserAfter): void {
  const refusal = lastAdminRefusal(file.users, username, after, deps.subjects);
  if (refusal !== undefined) throw new AdminRefusal(409, `${refusal}.`);
}

/** The commands that change the users file's entry of one user. */
export type UserFileCommand = Extract<AdminCommand, { action: 'add-user' | 'set-role' | Exclude<UserAction, 'revoke-sessions' | 'reset-password'> }>;

/** Carries out a command on a user's entry in the users file (reset-password: auth/password-change.ts). */
export async function changeUser(deps: UsersFileDeps, command: UserFileCommand): Promise<UserOutcome> {
  const { username } = command;
  const path = deps.usersFile;
  switch (command.action) {
    case 'add-user': {
      const generated = command.password === undefined ? generatePassword() : undefined;
      const hash = await deps.hasher.hash(command.password ?? generated!);
      const { role, groups, name, email } = command;
      await edit(path, (file) => {
        if (file.users.has(username)) throw new AdminRefusal(409, `A user ${username} already exists; nothing was changed.`);
        file.add({ username, password: hash, role, groups, email, name, disabled: false });
      });
      const audit = { role, groups, password_source: generated === undefined ? 'set' : 'generated' };
      return { notice: `Added ${username} (role ${role}).`, username, change: 'added', ...(generated === undefined ? {} : { generated }), audit };
    }
    case 'set-role': {
      const { role, groups } = command;
      await edit(path, (file) => {
        keepAnAdmin(deps, file, username, { ...existing(file, username), role, groups });
        file.update(username, { role, groups });
      });
      return { notice: `${username} now has role ${role}${groups.length > 0 ? ` and groups ${groups.join(', ')}` : ' and no groups'}.`, username, change: undefined, audit: { role, groups } };
    }
    case 'disable':
    case 'enable': {
      const disabled = command.action === 'disable';
      await edit(path, (file) => {
        const user = existing(file, username);
        if (user.disabled === disabled) throw new AdminRefusal(409, `${username} is already ${command.action}d; nothing was changed.`);
        if (disabled) keepAnAdmin(deps, file, username, { ...user, disabled });
        file.update(username, { disabled });
      });
      return disabled
        ? { notice: `Disabled ${username}: they cannot sign in, and their sessions have ended.`, username, change: 'disabled', audit: {} }
        : { notice: `Enabled ${username}: they can sign in again.`, username, change: 'enabled', audit: {} };
    }
    case 'reset-factors':
      await edit(path, (file) => {
        if (factorsOf(existing(file, username)).length === 0) throw new AdminRefusal(409, `${username} has no second factors; nothing was changed.`);
        resetFactors(file, username);
      });
      return { notice: `Removed the second factors of ${username}.`, username, change: undefined, audit: {} };
    case 'remove':
      await edit(path, (file) => {
        existing(file, username);
        keepAnAdmin(deps, file, username, undefined);
        file.remove(username);
      });
      return { notice: `Removed ${username}; their sessions have ended.`, username, change: 'removed', audit: {} };
  }
}
