/**
 * PBKDF2-SHA256 in the Frigate/Django form `pbkdf2_sha256$<iterations>$<salt>$<base64>`, so a
 * Frigate users table can be moved over unchanged. The salt is used as UTF-8 text, as Frigate does.
 */
import { pbkdf2 as pbkdf2Callback, randomBytes, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';

const pbkdf2 = promisify(pbkdf2Callback);

/** Iterations written into new PBKDF2 hashes: the OWASP 2023 figure, and what Frigate writes. */
export const PBKDF2_ITERATIONS = 600_000;
/** Fewer iterations than this is too cheap to brute-force: such a hash is refused, not verified. */
export const PBKDF2_MIN_ITERATIONS = 100_000;
/** More than this would let one login occupy a core for seconds. */
export const PBKDF2_MAX_ITERATIONS = 10_000_000;
const PBKDF2_KEY_BYTES = 32;
const PBKDF2_PREFIX = 'pbkdf2_sha256';

export interface Pbkdf2Hash {
  readonly iterations: number;
  readonly salt: string;
  readonly key: Buffer;
}

/** The parts of a PBKDF2-SHA256 hash within the accepted iteration range, or undefined. */
export function parsePbkdf2(hash: string): Pbkdf2Hash | undefined {
  const parts = hash.split('$');
  if (parts.length !== 4) return undefined;
  const [prefix, iterationsText, salt, keyText] = parts as [string, string, string, string];
  if (prefix !== PBKDF2_PREFIX) return undefined;
  if (!/^[1-9][0-9]{0,8}$/.test(iterationsText)) return undefined;
  const iterations = Number(iterationsText);
  if (iterations < PBKDF2_MIN_ITERATIONS || iterations > PBKDF2_MAX_ITERATIONS) return undefined;
  if (salt.length === 0) return undefined;
  // 32 bytes in standard base64 is 43 characters and one '='.
  if (!/^[A-Za-z0-9+/]{43}=$/.test(keyText)) return undefined;
  const key = Buffer.from(keyText, 'base64');
  if (key.length !== PBKDF2_KEY_BYTES) return undefined;
  return { iterations, salt, key };
}

export function pbkdf2CostKey(parsed: Pbkdf2Hash): string {
  return `pbkdf2_sha256 i=${parsed.iterations}`;
}

/** The computation (run it inside the HashLimiter). */
export async function pbkdf2Matches(parsed: Pbkdf2Hash, password: string): Promise<boolean> {
  const key = await pbkdf2(password, parsed.salt, parsed.iterations, PBKDF2_KEY_BYTES, 'sha256');
  return key.length === parsed.key.length && timingSafeEqual(key, parsed.key);
}

/** A new hash exactly as Frigate writes it: 600000 iterations, 32 hex characters of salt used as text. */
export async function pbkdf2Hash(password: string): Promise<string> {
  const salt = randomBytes(16).toString('hex');
  const key = await pbkdf2(password, salt, PBKDF2_ITERATIONS, PBKDF2_KEY_BYTES, 'sha256');
  return `${PBKDF2_PREFIX}$${PBKDF2_ITERATIONS}$${salt}$${key.toString('base64')}`;
}
