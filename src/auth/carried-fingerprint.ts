/**
 * The `session_fingerprint` of a user in the users file: how a sign-in rehash keeps that user's
 * sessions open.
 *
 * A session remembers a keyed fingerprint of the password hash it was opened with (`pwv`, see
 * createPasswordFingerprint in identity.ts), so a changed hash ends every older session. A rehash
 * (PBKDF2 → argon2id on sign-in) changes the hash but not the password, so it writes the
 * fingerprint the user's sessions already carry next to the new hash, bound to that hash:
 *
 *   session_fingerprint: "<fingerprint sessions carry>.<digest of the hash it was written with>"
 *
 * The value counts only while `password` is still that hash. Anyone who replaces the hash (by hand,
 * by `postern user passwd`, by any tool) therefore still ends the user's sessions, even when they
 * leave this line behind. The value holds no secret: the fingerprint is keyed, and the digest is of
 * a hash that sits on the line above.
 */
import { createHash } from 'node:crypto';

/** The YAML key in a user's entry. */
export const CARRIED_FINGERPRINT_KEY = 'session_fingerprint';

const FORMAT = /^([A-Za-z0-9_-]{8,64})\.([A-Za-z0-9_-]{16})$/;

function digestOf(hash: string): string {
  return createHash('sha256').update(hash).digest('base64url').slice(0, 16);
}

/** The value to write beside `newHash` so that sessions carrying `fingerprint` keep standing. */
export function carryFingerprint(fingerprint: string, newHash: string): string {
  const value = `${fingerprint}.${digestOf(newHash)}`;
  if (!FORMAT.test(value)) throw new TypeError('a session fingerprint must be 8 to 64 base64url characters');
  return value;
}

/** Whether `value` has the form carryFingerprint writes. */
export function isCarriedFingerprint(value: string): boolean {
  return FORMAT.test(value);
}

/** The fingerprint `value` carries when it was written for `hash`; undefined for any other hash. */
export function carriedFingerprintFor(value: string, hash: string): string | undefined {
  const match = FORMAT.exec(value);
  if (match === null || match[2] !== digestOf(hash)) return undefined;
  return match[1];
}
