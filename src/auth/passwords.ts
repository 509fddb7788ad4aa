/**
 * Password hashing and verification. New hashes are argon2id; stored hashes may also be
 * PBKDF2-SHA256 in Frigate's form or bcrypt (`$2a$/$2b$/$2y$`), both for imported accounts, both
 * reported by needsRehash() so a sign-in can upgrade them. The schemes' formats live in
 * hash-schemes/; every computation goes through the optional HashLimiter. This module decides what
 * is a refusal; refusal-timing.ts times the checks and holds the refusals.
 *
 * Refusals cost the same whatever the account. A refused check (verify() answering false, for a
 * wrong password or an unusable hash, and every verifyDummy()) is held until the refusal floor
 * (refusal-floor.ts) has passed since its computation started: a margin over the time of the slowest
 * hash class in use, raised (never lowered) when a check turns out slower. So an unknown username
 * (a dummy argon2id check at the configured parameters) takes as long to refuse as a wrong password
 * for a PBKDF2-600k or bcrypt account. calibrate(hashes), called when the users file is loaded and
 * reloaded, times each class in use afresh and sets the floor; until then nothing is held.
 *
 * The hold is a timer after the computation, outside the HashLimiter: a held refusal occupies no
 * hashing slot, and is measured from the moment its computation started, not from the call, so
 * a queue in front of the limiter adds the same wait to every kind of refusal. A successful check
 * is not held (it reveals nothing the answer does not). Errors (PasswordTooLongError before any
 * work, HashBusyError from the limiter) are not held either: they answer the same for every account.
 *
 * What the floor does not hide: how long a check occupies its hashing slot. Under a burst of
 * parallel attempts for one username, the queue in front of the limiter grows by each check's own
 * cost, so a burst against a PBKDF2 account drains more slowly than one against an unknown name.
 * Hiding that too would take a dummy that burns as much CPU as the slowest hash on every unknown
 * name (more work per attempt for an attacker to ask for); the login throttle, which counts an
 * attempt before it is hashed, bounds how many checks one username gets instead.
 */
import { randomBytes } from 'node:crypto';
import argon2 from 'argon2';
import type { HashLimiter } from './hash-limiter.js';
import {
  ARGON2ID_PREFIX,
  type Argon2Params,
  argon2idCostKey,
  checkArgon2Params,
  parseArgon2id,
} from './hash-schemes/argon2id.js';
import { bcryptCostKey, bcryptMatches, parseBcrypt } from './hash-schemes/bcrypt.js';
import { parsePbkdf2, pbkdf2CostKey, pbkdf2Hash, pbkdf2Matches } from './hash-schemes/pbkdf2.js';
import { MAX_PASSWORD_BYTES } from './password-length.js';
import type { RefusalFloor } from './refusal-floor.js';
import { createRefusalTiming, type Calibration, type RefusalClock, type TimedCheck } from './refusal-timing.js';
import type { User } from './user.js';

export { type Argon2Params, DEFAULT_ARGON2 } from './hash-schemes/argon2id.js';
export { PBKDF2_ITERATIONS, PBKDF2_MAX_ITERATIONS, PBKDF2_MIN_ITERATIONS } from './hash-schemes/pbkdf2.js';
export { BCRYPT_MAX_COST, BCRYPT_MIN_COST } from './hash-schemes/bcrypt.js';
export { type Calibration, CALIBRATION_RUNS, type RefusalClock } from './refusal-timing.js';
export { MAX_PASSWORD_BYTES } from './password-length.js';

/** The schemes new hashes can be written in (bcrypt is read, never written). */
export type HashAlgorithm = 'argon2id' | 'pbkdf2-sha256';

export interface PasswordHasher {
  /** A new hash of `password`, argon2id unless asked otherwise. Throws PasswordTooLongError, HashBusyError. */
  hash(password: string, algorithm?: HashAlgorithm): Promise<string>;
  /**
   * Whether `password` matches `hash`. A malformed or unsupported hash gives false, never an error.
   * False is answered no sooner than the refusal floor. Throws PasswordTooLongError before any work,
   * HashBusyError when the limiter is saturated, and rethrows a failure of the computation itself
   * (e.g. memory allocation), which is not a wrong password.
   */
  verify(hash: string, password: string): Promise<boolean>;
  /**
   * For an unknown or disabled user: a check against a dummy argon2id hash at the configured
   * parameters, held to the refusal floor like every refusal, so response time does not reveal
   * which usernames exist. Throws like verify().
   */
  verifyDummy(password: string): Promise<false>;
  /**
   * True when `hash` is not argon2id (v=19) at the configured parameters: PBKDF2, bcrypt, argon2id
   * with other m/t/p, or anything unsupported. A sign-in that verified it should store a new hash.
   */
  needsRehash(hash: string): boolean;
  /**
   * Times each hash class now in use (those of `hashes`, plus the dummy's) CALIBRATION_RUNS times
   * and sets the refusal floor over the slowest. Call it when the users file is loaded and whenever
   * it is reloaded. Never rejects: a class it could not time now (limiter busy) keeps the time it
   * had at the last calibration.
   */
  calibrate(hashes: Iterable<string>): Promise<Calibration>;
}


export class PasswordTooLongError extends Error {
  override readonly name = 'PasswordTooLongError';
  constructor() {
    super(`password is longer than ${MAX_PASSWORD_BYTES} bytes`);
  }
}

/** A stored hash we accept, as its cost class and the computation that checks a password against it. */
type ParsedHash = TimedCheck;

function parseHash(hash: string): ParsedHash | undefined {
  if (hash.startsWith(ARGON2ID_PREFIX)) {
    const params = parseArgon2id(hash);
    return params && { costKey: argon2idCostKey(params), matches: (password) => argon2.verify(hash, password) };
  }
  const bcrypt = parseBcrypt(hash);
  if (bcrypt) return { costKey: bcryptCostKey(bcrypt), matches: (password) => bcryptMatches(bcrypt, password) };
  const pbkdf2 = parsePbkdf2(hash);
  if (pbkdf2) return { costKey: pbkdf2CostKey(pbkdf2), matches: (password) => pbkdf2Matches(pbkdf2, password) };
  return undefined;
}

/**
 * True for an argon2id PHC string, a PBKDF2-SHA256 hash of 100 000 to 10 000 000 iterations, or a
 * bcrypt hash (`$2a$`, `$2b$`, `$2y$`) of cost 10 to 15.
 */
export function isSupportedHash(hash: string): boolean {
  return parseHash(hash) !== undefined;
}

export interface PasswordHasherOptions {
  argon2: Argon2Params;
  limiter?: HashLimiter;
  clock?: RefusalClock;
  /** The refusal floor this hasher holds refusals to; its own unless given (tests set one directly). */
  floor?: RefusalFloor;
}

export function createPasswordHasher(opts: PasswordHasherOptions): PasswordHasher {
  const params = checkArgon2Params(opts.argon2);
  const limiter = opts.limiter;
  const limited = <T>(fn: () => Promise<T>): Promise<T> => (limiter ? limiter.run(fn) : fn());
  const timing = createRefusalTiming({ limited, clock: opts.clock, floor: opts.floor });
  const dummyKey = argon2idCostKey(params);

  const hashArgon2 = (password: string): Promise<string> =>
    limited(() =>
      argon2.hash(password, {
        type: argon2.argon2id,
        memoryCost: params.memory_cost,
        timeCost: params.time_cost,
        parallelism: params.parallelism,
      }),
    );

  let dummy: Promise<ParsedHash> | undefined;
  const dummyHash = (): Promise<ParsedHash> => {
    if (dummy === undefined) {
      const made = hashArgon2(generatePassword()).then((hash) => ({ costKey: dummyKey, matches: (password: string) => argon2.verify(hash, password) }));
      dummy = made;
      // A failed attempt (e.g. HashBusyError) must not be cached: the next call tries again.
      made.catch(() => {
        if (dummy === made) dummy = undefined;
      });
    }
    return dummy;
  };

  return {
    async hash(password, algorithm = 'argon2id') {
      checkLength(password);
      switch (algorithm) {
        case 'argon2id':
          return hashArgon2(password);
        case 'pbkdf2-sha256':
          return limited(() => pbkdf2Hash(password));
        default:
          throw new TypeError(`unknown hash algorithm '${String(algorithm)}'; expected argon2id or pbkdf2-sha256`);
      }
    },

    async verify(hash, password) {
      checkLength(password);
      const parsed = parseHash(hash);
      if (parsed === undefined) {
        // Nothing to compute, but still a refusal: it waits like one.
        await timing.holdFromNow();
        return false;
      }
      const { ok, started } = await timing.timed(parsed, password);
      if (!ok) await timing.hold(started);
      return ok;
    },

    async verifyDummy(password) {
      // Same length check as verify(): an over-long password must fail the same way for every username.
      checkLength(password);
      const { started } = await timing.timed(await dummyHash(), password);
      await timing.hold(started);
      return false;
    },

    needsRehash(hash) {
      if (!hash.startsWith(ARGON2ID_PREFIX)) return true;
      const stored = parseArgon2id(hash);
      return (
        stored === undefined ||
        stored.memory_cost !== params.memory_cost ||
        stored.time_cost !== params.time_cost ||
        stored.parallelism !== params.parallelism
      );
    },

    async calibrate(hashes) {
      const classes = new Map<string, () => Promise<ParsedHash>>([[dummyKey, dummyHash]]);
      for (const hash of hashes) {
        const parsed = parseHash(hash);
        if (parsed && !classes.has(parsed.costKey)) classes.set(parsed.costKey, async () => parsed);
      }
      return timing.calibrate(classes, generatePassword);
    },
  };
}

/**
 * The one way to check a sign-in's password (the form, Basic): an unknown or disabled user costs a
 * full hash too (verifyDummy), so timing does not reveal which usernames exist. False for them.
 * Throws like verify().
 */
export function verifyUserPassword(hasher: PasswordHasher, user: User | undefined, password: string): Promise<boolean> {
  return user && !user.disabled ? hasher.verify(user.password, password) : hasher.verifyDummy(password);
}

/** A random password for `--generate` and the first admin: 18 random bytes, 24 base64url characters. */
export function generatePassword(): string {
  return randomBytes(18).toString('base64url');
}

function checkLength(password: string): void {
  if (Buffer.byteLength(password, 'utf8') > MAX_PASSWORD_BYTES) throw new PasswordTooLongError();
}
