/**
 * Every write to the users file goes through here (the `postern user` commands, the sign-in rehash,
 * the first start): one lock, a fresh read under it, an edit of the YAML document, an atomic write.
 *
 *   await editUsersFile(path, (file) => {
 *     if (!file.users.has('bob')) throw new Error('no bob');
 *     file.update('bob', { disabled: true });
 *   });
 *
 * - One lock (users-file-lock.ts). Writers wait their turn.
 * - The edit sees the file as it is under the lock, so two writers never lose each other's change.
 * - Comments, key order and the rest of the file are kept: the edit changes nodes of the YAML
 *   document (users-file-document.ts), it does not re-serialise a map. Hashes are never folded.
 * - A symlinked file (a Kubernetes ConfigMap/Secret `..data` link) is written through to its target,
 *   and locked there, so the link stays a link (users-file-lock.ts resolves it).
 * - What is written is parsed back first: a writer never leaves a file the server would refuse.
 */
import { lstat, readFile } from 'node:fs/promises';
import { errnoOf, writeFileAtomic } from '../util/atomic-file.js';
import { generatePassword, type PasswordHasher } from './passwords.js';
import type { User } from './user.js';
import { DocumentEditor, serialiseUsers, type UsersFileEditor } from './users-file-document.js';
import { withUsersFileLock } from './users-file-lock.js';
import { parseUsersFile } from './users-file-parse.js';

export { serialiseUsers, type UserChanges, type UsersFileEditor } from './users-file-document.js';

/** The file has problems: as read (`stage: 'read'`, fix by hand) or after the edit (`'edit'`, nothing written). */
export class UsersFileProblemsError extends Error {
  override readonly name = 'UsersFileProblemsError';
  constructor(
    readonly path: string,
    readonly problems: readonly string[],
    readonly stage: 'read' | 'edit',
  ) {
    const count = `${problems.length} problem${problems.length === 1 ? '' : 's'}`;
    super(`users file ${path} has ${count}${stage === 'edit' ? ' after the change; nothing was written' : ''}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

/**
 * Runs `edit` on the users file at `path` under the lock, and writes the result atomically when the
 * edit changed anything. A missing file is created (mode 0600, parent directory 0700). Resolves with
 * what `edit` returned; rejects with whatever `edit` threw (nothing written), a UsersFileProblemsError,
 * or the file system's error (its `code` kept: EROFS, EACCES, ... for a read-only file).
 */
export async function editUsersFile<T>(path: string, edit: (file: UsersFileEditor) => T | Promise<T>): Promise<T> {
  return withUsersFileLock(path, async (target, checkLock) => {
    const text = await readFile(target, 'utf8').catch((err: unknown) => {
      if (errnoOf(err) === 'ENOENT') return undefined;
      throw err;
    });
    let users: ReadonlyMap<string, User> = new Map();
    if (text !== undefined) {
      const parsed = parseUsersFile(text, path);
      if (parsed.problems.length > 0) throw new UsersFileProblemsError(path, parsed.problems, 'read');
      users = parsed.users;
    }
    const editor = new DocumentEditor(text, users);
    const result = await edit(editor);
    if (!editor.changed) return result;

    const next = editor.text();
    const check = parseUsersFile(next, path);
    if (check.problems.length > 0) throw new UsersFileProblemsError(path, check.problems, 'edit');
    checkLock();
    await writeFileAtomic(target, next, { exclusive: false });
    return result;
  });
}

/**
 * Replaces the whole users file with `users` (sorted by username), under the lock. For tests and
 * tools that build a file from scratch; an edit of an existing file uses editUsersFile.
 */
export async function writeUsersFileAtomic(path: string, users: Iterable<User>): Promise<void> {
  const text = serialiseUsers(users);
  await withUsersFileLock(path, async (target, checkLock) => {
    checkLock();
    await writeFileAtomic(target, text, { exclusive: false });
  });
}

/**
 * When `path` does not exist, creates it with one user `admin` (role admin, groups [admins]) and a
 * generated 24-character password, returned so main.ts can print it once. Returns undefined when the
 * file exists; never overwrites, even when two processes race.
 */
export async function createInitialUsersFile(
  path: string,
  hasher: PasswordHasher,
): Promise<{ username: 'admin'; password: string } | undefined> {
  // lstat: a dangling symlink counts as existing, and opening it later gives a clear error.
  if (await exists(path)) return undefined;
  const password = generatePassword();
  const admin: User = {
    username: 'admin',
    password: await hasher.hash(password),
    role: 'admin',
    groups: ['admins'],
    email: '',
    name: '',
    disabled: false,
  };
  const text = serialiseUsers([admin]);
  // Under the lock as well, so that a `postern user add` creating the file at the same moment
  // either sees this one or is seen by it; link() still refuses to replace an existing file.
  const created = await withUsersFileLock(path, (target) => writeFileAtomic(target, text, { exclusive: true }));
  return created ? { username: 'admin', password } : undefined;
}

async function exists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    (err: unknown) => {
      if (errnoOf(err) === 'ENOENT') return false;
      throw err;
    },
  );
}
