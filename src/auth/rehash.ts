/**
 * Upgrade on sign-in: after a successful password sign-in with a hash that is not argon2id at the
 * configured parameters (PBKDF2, bcrypt, argon2id with older parameters), the user's hash in the
 * users file is replaced by a fresh argon2id hash of the password just verified.
 *
 * - Under the users-file lock, on a fresh read: only when the user's hash is still the one the
 *   person signed in with (a `postern user passwd` in between wins). Other users and comments are
 *   untouched (editUsersFile).
 * - Sessions are not ended: the new hash is written with the fingerprint the user's sessions already
 *   carry (carried-fingerprint.ts), so `pwv` still matches.
 * - A users file that cannot be written here (a Kubernetes Secret, a read-only mount) is left alone,
 *   with one warning per user per day.
 * - Never rejects: sign-in has already succeeded, whatever happens here. Failures are logged, never
 *   with the password or a hash. The caller may leave the promise running (`void rehash(...)`).
 */
import type { Logger } from '../log/logger.js';
import { carryFingerprint } from './carried-fingerprint.js';
import type { PasswordHasher } from './passwords.js';
import type { User } from './user.js';
import { assertUsersFileWritable, cannotWriteUsersFile } from './users-file-lock.js';
import { editUsersFile } from './users-file-writer.js';

export interface RehasherDeps {
  /** Path of the users file (config `users.file`). */
  readonly usersFile: string;
  /** Makes the new hash: argon2id at the configured parameters. */
  readonly hasher: Pick<PasswordHasher, 'hash'>;
  /** Whether a stored hash should be replaced (the hasher's needsRehash). */
  readonly needsRehash: (hash: string) => boolean;
  /** The session fingerprint of a user (SessionRules.passwordFingerprint): carried over to the new hash. */
  readonly passwordFingerprint: (user: User) => string;
  readonly logger: Pick<Logger, 'info' | 'warn' | 'error'>;
  readonly now: () => number;
}

/**
 * What became of one request: `current` (nothing to do), `rehashed`, `changed` (the user or their
 * hash changed meanwhile: left alone), `busy` (a rehash of this user is already running),
 * `read-only` (the file cannot be written here), `failed` (logged).
 */
export type RehashOutcome = 'current' | 'rehashed' | 'changed' | 'busy' | 'read-only' | 'failed';

export interface Rehasher {
  /** `username` as stored (normalised); `oldHash` the hash `password` was just verified against. */
  rehash(username: string, password: string, oldHash: string): Promise<RehashOutcome>;
}

const WARN_EVERY_MS = 24 * 60 * 60 * 1000;

export function createRehasher(deps: RehasherDeps): Rehasher {
  const running = new Set<string>();
  const lastWarned = new Map<string, number>();

  const warnCannotWrite = (username: string, err: unknown): void => {
    const now = deps.now();
    const last = lastWarned.get(username);
    if (last !== undefined && now - last < WARN_EVERY_MS) return;
    lastWarned.set(username, now);
    deps.logger.warn(
      { event: 'user.rehash.skipped', user: username, reason: errorMessage(err) },
      'password hash not upgraded: the users file cannot be written here; upgrade it where the file comes from (postern hash-password), or make it writable',
    );
  };

  const upgrade = async (username: string, password: string, oldHash: string): Promise<RehashOutcome> => {
    // Cheap, and before the hash: on a read-only file every sign-in would otherwise pay for a hash it cannot keep.
    await assertUsersFileWritable(deps.usersFile);
    const newHash = await deps.hasher.hash(password);
    const written = await editUsersFile(deps.usersFile, (file) => {
      const user = file.users.get(username);
      if (user === undefined || user.password !== oldHash) return false;
      file.update(username, { password: newHash, sessionFingerprint: carryFingerprint(deps.passwordFingerprint(user), newHash) });
      return true;
    });
    if (!written) return 'changed';
    deps.logger.info({ event: 'user.rehash', user: username }, 'password hash upgraded to the current argon2id parameters');
    return 'rehashed';
  };

  return {
    async rehash(username, password, oldHash) {
      try {
        if (!deps.needsRehash(oldHash)) return 'current';
        if (running.has(username)) return 'busy';
        running.add(username);
        try {
          return await upgrade(username, password, oldHash);
        } finally {
          running.delete(username);
        }
      } catch (err) {
        if (cannotWriteUsersFile(err)) {
          warnCannotWrite(username, err);
          return 'read-only';
        }
        deps.logger.error({ event: 'user.rehash.failure', user: username, reason: errorMessage(err) }, 'password hash upgrade failed; the sign-in itself succeeded');
        return 'failed';
      }
    },
  };
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
