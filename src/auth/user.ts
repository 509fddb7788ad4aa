import type { UserFactors } from '../factors/factors.js';
import type { AppPassword } from '../tokens/app-password.js';

/** A local user as loaded from the users file. Identity values are validated at load: no control characters. */
export interface User {
  /** Normalised key: NFKC, lower-cased. Used for lookups and in Remote-User. */
  readonly username: string;
  /** argon2id PHC string or `pbkdf2_sha256$<iterations>$<salt>$<base64>`. */
  readonly password: string;
  readonly role: string;
  readonly groups: readonly string[];
  readonly email: string;
  readonly name: string;
  readonly disabled: boolean;
  /**
   * The fingerprint this user's sessions carry, when a sign-in rehash replaced the hash they were
   * opened with (users file `session_fingerprint`, see carried-fingerprint.ts). Absent otherwise.
   */
  readonly sessionFingerprint?: string;
  /** App passwords (users file `app_passwords`, see tokens/app-password-parse.ts). Absent when none. */
  readonly appPasswords?: readonly AppPassword[];
  /** Second factors (users file `factors`, see factors/factors.ts). Absent when none. */
  readonly factors?: UserFactors;
}

/** Read side of the users file, always the last valid version on disk. */
export interface UserDirectory {
  find(username: string): User | undefined;
  all(): readonly User[];
  /**
   * Re-reads the users file now, for a writer in this process that must see its own write at once
   * (the account page after a password change). Absent: the directory follows the file by itself.
   */
  reload?(): Promise<boolean>;
}

/** Users in the order every listing and the users file show them: by username, code point by code point. */
export function byUsername(a: User, b: User): number {
  return a.username < b.username ? -1 : a.username > b.username ? 1 : 0;
}
