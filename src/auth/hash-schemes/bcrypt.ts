/**
 * bcrypt, for verifying hashes imported from `htpasswd -B` and other applications' user tables:
 * `$2a$`, `$2b$` and `$2y$`, cost 10 to 15. Never written: new hashes are argon2id.
 *
 * The computation is the `bcrypt` package's async API (its own thread pool worker, off the event loop).
 * `$2y$` (PHP, Apache's crypt_blowfish) is the same algorithm as `$2b$`; the package knows only `a` and
 * `b`, so a `$2y$` hash is checked under its `$2b$` spelling.
 *
 * Passwords longer than 72 bytes: bcrypt's key schedule takes at most 72 bytes, so every bcrypt
 * (OpenBSD, PHP, Apache, htpasswd) checks only the first 72 bytes of the UTF-8 password, and so do
 * we: we cut the password at 72 bytes ourselves before handing it over. Refusing longer passwords
 * would add nothing (their first 72 bytes would still match) and would lock out an imported user
 * whose password is longer. Cutting it ourselves also keeps the 8-bit length wrap-around of old
 * `$2a$` implementations (a 256-byte password read as a short one) out of reach. Once such a user
 * signs in, the upgrade to argon2id makes every byte count again.
 */
import bcrypt from 'bcrypt';

/** Below this a bcrypt hash is too cheap to brute-force: refused, like PBKDF2 below 100 000 iterations. */
export const BCRYPT_MIN_COST = 10;
/** Cost 15 is about 2 s per check on one core; more would let one login occupy a core for longer. */
export const BCRYPT_MAX_COST = 15;
/** What bcrypt reads of a password. */
export const BCRYPT_MAX_PASSWORD_BYTES = 72;

// `$2<minor>$<cost, two digits>$<22 characters of salt><31 characters of hash>` in bcrypt's base64 alphabet.
const BCRYPT = /^\$2([aby])\$([0-9]{2})\$[./A-Za-z0-9]{53}$/;

export interface BcryptHash {
  readonly cost: number;
  /** The hash as the bcrypt package accepts it (`$2y$` spelled `$2b$`). */
  readonly canonical: string;
}

/** The cost of a bcrypt hash within the accepted range, or undefined. */
export function parseBcrypt(hash: string): BcryptHash | undefined {
  const match = BCRYPT.exec(hash);
  if (match === null) return undefined;
  const cost = Number(match[2]);
  if (cost < BCRYPT_MIN_COST || cost > BCRYPT_MAX_COST) return undefined;
  return { cost, canonical: match[1] === 'y' ? `$2b$${hash.slice(4)}` : hash };
}

export function bcryptCostKey(parsed: BcryptHash): string {
  return `bcrypt cost=${parsed.cost}`;
}

/** The computation (run it inside the HashLimiter). */
export function bcryptMatches(parsed: BcryptHash, password: string): Promise<boolean> {
  const bytes = Buffer.from(password, 'utf8');
  const key = bytes.length > BCRYPT_MAX_PASSWORD_BYTES ? bytes.subarray(0, BCRYPT_MAX_PASSWORD_BYTES) : bytes;
  return bcrypt.compare(key, parsed.canonical);
}
