/**
 * App passwords: `pst_<id>_<secret>`, for clients that cannot follow a sign-in page.
 *
 * - `id`: 8 base62 characters, for lookup and display (not secret: it appears in `token list`).
 * - `secret`: 43 base62 characters, 256 bits (43 × log2 62 ≈ 256.03).
 * - Only SHA-256 of the secret is stored: a secret of this entropy needs no slow hash, so the token
 *   path never runs argon2 or PBKDF2. Comparison is constant-time.
 * - base62 only, so a token is safe anywhere: a header, a Basic password, URL userinfo (no `:`, `@`, `/`, `%`).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export const TOKEN_PREFIX = 'pst_';
export const ID_LENGTH = 8;
export const SECRET_LENGTH = 43;
/** `pst_` + id + `_` + secret. */
export const TOKEN_LENGTH = TOKEN_PREFIX.length + ID_LENGTH + 1 + SECRET_LENGTH;

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const ID_PATTERN = /^[0-9A-Za-z]{8}$/;
const TOKEN_PATTERN = /^pst_([0-9A-Za-z]{8})_([0-9A-Za-z]{43})$/;
const HASH_PATTERN = /^[0-9a-f]{64}$/;

/** An app password as the users file holds it (`users.<name>.app_passwords[i]`). */
export interface AppPassword {
  readonly id: string;
  readonly name: string;
  /** SHA-256 of the secret, lower-case hex. */
  readonly hash: string;
  /** Milliseconds since the epoch. */
  readonly created: number;
  /** Milliseconds since the epoch; absent = never expires. */
  readonly expires?: number;
  /** Hosts it is valid for (canonical host names); absent = every host the owner may reach. */
  readonly hosts?: readonly string[];
  /** Safe methods only (GET, HEAD, OPTIONS). */
  readonly readOnly: boolean;
}

/** A presented token, split; says nothing yet about whether it is valid. */
export interface PresentedToken {
  readonly id: string;
  readonly secret: string;
}

/** Uniform base62 characters from the CSPRNG (rejection sampling: no modulo bias). */
function base62(length: number): string {
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < 248 && out.length < length) out += BASE62[byte % 62];
    }
  }
  return out;
}

/** A new token: the full string (shown once) and what is stored. */
export function generateToken(): { token: string; id: string; hash: string } {
  const id = base62(ID_LENGTH);
  const secret = base62(SECRET_LENGTH);
  return { token: `${TOKEN_PREFIX}${id}_${secret}`, id, hash: hashSecret(secret) };
}

/** True when `value` claims to be one of ours (the prefix), valid or not. */
export function looksLikeToken(value: string): boolean {
  return value.startsWith(TOKEN_PREFIX);
}

/** Splits a token; undefined when it is not exactly `pst_<8 base62>_<43 base62>`. Length checked first: a 10 KB value costs nothing. */
export function parseToken(value: string): PresentedToken | undefined {
  if (value.length !== TOKEN_LENGTH) return undefined;
  const m = TOKEN_PATTERN.exec(value);
  return m ? { id: m[1]!, secret: m[2]! } : undefined;
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** Constant-time: does `secret` hash to `storedHash`? Always hashes, so a miss costs what a hit costs. */
export function secretMatches(secret: string, storedHash: string): boolean {
  const a = Buffer.from(hashSecret(secret), 'hex');
  const b = Buffer.from(HASH_PATTERN.test(storedHash) ? storedHash : '0'.repeat(64), 'hex');
  return timingSafeEqual(a, b) && HASH_PATTERN.test(storedHash);
}

export function isTokenId(value: string): boolean {
  return ID_PATTERN.test(value);
}

export function isSecretHash(value: string): boolean {
  return HASH_PATTERN.test(value);
}
