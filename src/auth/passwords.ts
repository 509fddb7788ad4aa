/**
 * Password hashing and verification: argon2id for new hashes, and PBKDF2-SHA256 in the
 * Frigate/Django form `pbkdf2_sha256$<iterations>$<salt>$<base64>` so a Frigate users table can be
 * moved over unchanged. Every computation goes through the optional HashLimiter.
 */
import { pbkdf2 as pbkdf2Callback, randomBytes, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import argon2 from 'argon2';
import type { HashLimiter } from './hash-limiter.js';

const pbkdf2 = promisify(pbkdf2Callback);

export interface Argon2Params {
  /** KiB of memory per hash. */
  memory_cost: number;
  /** Passes over the memory. */
  time_cost: number;
  /** Lanes. */
  parallelism: number;
}

/** OWASP (2023) minimum for argon2id: 19 MiB, 2 passes, 1 lane. */
export const DEFAULT_ARGON2: Argon2Params = { memory_cost: 19456, time_cost: 2, parallelism: 1 };

export type HashAlgorithm = 'argon2id' | 'pbkdf2-sha256';

export interface PasswordHasher {
  /** A new hash of `password`, argon2id unless asked otherwise. Throws PasswordTooLongError, HashBusyError. */
  hash(password: string, algorithm?: HashAlgorithm): Promise<string>;
  /**
   * Whether `password` matches `hash`. A malformed or unsupported hash gives false, never an error.
   * Throws PasswordTooLongError before any work, HashBusyError when the limiter is saturated, and
   * rethrows a failure of the computation itself (e.g. memory allocation), which is not a wrong password.
   */
  verify(hash: string, password: string): Promise<boolean>;
  /**
   * Verify against a dummy hash of the same cost: spends the same time when the user is unknown or
   * disabled, so response time does not reveal which usernames exist. Throws like verify().
   */
  verifyDummy(password: string): Promise<false>;
}

/** Longest accepted password, in UTF-8 bytes: bounds the work an attacker can ask for per attempt. */
export const MAX_PASSWORD_BYTES = 1024;

export class PasswordTooLongError extends Error {
  override readonly name = 'PasswordTooLongError';
  constructor() {
    super(`password is longer than ${MAX_PASSWORD_BYTES} bytes`);
  }
}

/** Iterations written into new PBKDF2 hashes: the OWASP 2023 figure, and what Frigate writes. */
export const PBKDF2_ITERATIONS = 600_000;
/** Fewer iterations than this is too cheap to brute-force: such a hash is refused, not verified. */
export const PBKDF2_MIN_ITERATIONS = 100_000;
/** More than this would let one login occupy a core for seconds. */
export const PBKDF2_MAX_ITERATIONS = 10_000_000;
const PBKDF2_KEY_BYTES = 32;
const PBKDF2_PREFIX = 'pbkdf2_sha256';

// PHC string: `$argon2id$v=19$<params>$<salt>$<hash>`, params m, t, p once each in any order
// (libargon2 writes m,t,p; node-argon2 writes m,p,t), unpadded standard base64 salt (>= 8 bytes)
// and hash (>= 16 bytes).
const ARGON2ID_PHC = /^\$argon2id\$v=19\$([a-z0-9=,]+)\$[A-Za-z0-9+/]{11,}\$[A-Za-z0-9+/]{22,}$/;
/** 4 GiB: a larger memory_cost in a users file is a typo that would take the server down at the first login. */
const ARGON2_MAX_MEMORY_KIB = 4 * 1024 * 1024;

interface Pbkdf2Hash {
  readonly iterations: number;
  readonly salt: string;
  readonly key: Buffer;
}

/** True for an argon2id PHC string or a PBKDF2-SHA256 hash within the accepted iteration range. */
export function isSupportedHash(hash: string): boolean {
  if (hash.startsWith('$argon2id$')) return parseArgon2id(hash);
  return parsePbkdf2(hash) !== undefined;
}

function parseArgon2id(hash: string): boolean {
  const match = ARGON2ID_PHC.exec(hash);
  if (match === null) return false;
  const params = new Map<string, number>();
  for (const pair of (match[1] ?? '').split(',')) {
    const [, key = '', value = ''] = /^([mtp])=([1-9][0-9]{0,9})$/.exec(pair) ?? [];
    if (key === '' || params.has(key)) return false;
    params.set(key, Number(value));
  }
  const memory = params.get('m');
  const time = params.get('t');
  const lanes = params.get('p');
  if (memory === undefined || time === undefined || lanes === undefined) return false;
  return lanes <= 0xff_ffff && time <= 0xffff_ffff && memory >= 8 * lanes && memory <= ARGON2_MAX_MEMORY_KIB;
}

function parsePbkdf2(hash: string): Pbkdf2Hash | undefined {
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

export function createPasswordHasher(opts: { argon2: Argon2Params; limiter?: HashLimiter }): PasswordHasher {
  const params = checkArgon2Params(opts.argon2);
  const limiter = opts.limiter;
  const limited = <T>(fn: () => Promise<T>): Promise<T> => (limiter ? limiter.run(fn) : fn());

  const hashArgon2 = (password: string): Promise<string> =>
    limited(() =>
      argon2.hash(password, {
        type: argon2.argon2id,
        memoryCost: params.memory_cost,
        timeCost: params.time_cost,
        parallelism: params.parallelism,
      }),
    );

  let dummy: Promise<string> | undefined;
  const dummyHash = (): Promise<string> => {
    if (dummy === undefined) {
      dummy = hashArgon2(generatePassword());
      // A failed attempt (e.g. HashBusyError) must not be cached: the next call tries again.
      dummy.catch(() => {
        dummy = undefined;
      });
    }
    return dummy;
  };

  const verify = async (hash: string, password: string): Promise<boolean> => {
    checkLength(password);
    if (hash.startsWith('$argon2id$')) {
      if (!parseArgon2id(hash)) return false;
      return limited(() => argon2.verify(hash, password));
    }
    const parsed = parsePbkdf2(hash);
    if (parsed === undefined) return false;
    return limited(async () => {
      const key = await pbkdf2(password, parsed.salt, parsed.iterations, PBKDF2_KEY_BYTES, 'sha256');
      return key.length === parsed.key.length && timingSafeEqual(key, parsed.key);
    });
  };

  return {
    async hash(password, algorithm = 'argon2id') {
      checkLength(password);
      switch (algorithm) {
        case 'argon2id':
          return hashArgon2(password);
        case 'pbkdf2-sha256': {
          // Exactly what Frigate writes: 32 hex characters of salt, used as UTF-8 text.
          const salt = randomBytes(16).toString('hex');
          const key = await limited(() =>
            pbkdf2(password, salt, PBKDF2_ITERATIONS, PBKDF2_KEY_BYTES, 'sha256'),
          );
          return `${PBKDF2_PREFIX}$${PBKDF2_ITERATIONS}$${salt}$${key.toString('base64')}`;
        }
        default:
          throw new TypeError(`unknown hash algorithm '${String(algorithm)}'; expected argon2id or pbkdf2-sha256`);
      }
    },

    verify,

    async verifyDummy(password) {
      // Same length check as verify(): an over-long password must fail the same way for every username.
      checkLength(password);
      const hash = await dummyHash();
      // Straight to argon2, not through verify(): a format check that turned the dummy down would
      // answer at once and bring back the timing difference this exists to remove.
      await limited(() => argon2.verify(hash, password));
      return false;
    },
  };
}

/** A random password for `--generate` and the first admin: 18 random bytes, 24 base64url characters. */
export function generatePassword(): string {
  return randomBytes(18).toString('base64url');
}

function checkLength(password: string): void {
  if (Buffer.byteLength(password, 'utf8') > MAX_PASSWORD_BYTES) throw new PasswordTooLongError();
}

function checkArgon2Params(p: Argon2Params): Argon2Params {
  const problems: string[] = [];
  const check = (key: keyof Argon2Params, min: number, max: number): void => {
    const v = p[key];
    if (!Number.isSafeInteger(v) || v < min || v > max) {
      problems.push(`argon2.${key} must be an integer from ${min} to ${max}, got ${String(v)}`);
    }
  };
  check('parallelism', 1, 0xff_ffff);
  check('time_cost', 1, 0xffff_ffff);
  check('memory_cost', 8 * (Number.isSafeInteger(p.parallelism) ? Math.max(1, p.parallelism) : 1), ARGON2_MAX_MEMORY_KIB);
  if (problems.length > 0) throw new TypeError(problems.join('; '));
  return Object.freeze({ memory_cost: p.memory_cost, time_cost: p.time_cost, parallelism: p.parallelism });
}
