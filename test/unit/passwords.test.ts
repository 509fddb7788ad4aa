import { pbkdf2Sync } from 'node:crypto';
import bcrypt from 'bcrypt';
import { describe, expect, it } from 'vitest';
import { HashBusyError, HashLimiter } from '../../src/auth/hash-limiter.js';
import {
  type Argon2Params,
  createPasswordHasher,
  DEFAULT_ARGON2,
  isSupportedHash,
  MAX_PASSWORD_BYTES,
  PasswordTooLongError,
} from '../../src/auth/passwords.js';
import { MARGIN } from '../../src/auth/refusal-floor.js';
import { parseUsersFile } from '../../src/auth/users-file.js';

const FAST: Argon2Params = { memory_cost: 8192, time_cost: 1, parallelism: 1 };

/** What Frigate's hash_password() writes: hashlib.pbkdf2_hmac('sha256', pw.encode(), salt.encode(), n), base64. */
function frigateHash(password: string, salt: string, iterations: number): string {
  const key = pbkdf2Sync(Buffer.from(password, 'utf8'), Buffer.from(salt, 'utf8'), iterations, 32, 'sha256');
  return `pbkdf2_sha256$${iterations}$${salt}$${key.toString('base64')}`;
}

/** A limiter stand-in that counts how many computations were started. */
function countingLimiter(): { limiter: HashLimiter; calls: () => number } {
  let calls = 0;
  const limiter = {
    run<T>(fn: () => Promise<T>): Promise<T> {
      calls++;
      return fn();
    },
  } as unknown as HashLimiter;
  return { limiter, calls: () => calls };
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

describe('argon2id', () => {
  const hasher = createPasswordHasher({ argon2: FAST });

  it('hashes with argon2id and the configured parameters by default', async () => {
    const hash = await hasher.hash('correct horse');
    expect(hash).toMatch(/^\$argon2id\$v=19\$m=8192,p=1,t=1\$/);
    expect(isSupportedHash(hash)).toBe(true);
  });

  it('verifies the right password and rejects a wrong one', async () => {
    const hash = await hasher.hash('correct horse');
    expect(await hasher.verify(hash, 'correct horse')).toBe(true);
    expect(await hasher.verify(hash, 'correct horsE')).toBe(false);
    expect(await hasher.verify(hash, '')).toBe(false);
  });

  it('accepts argon2id parameters in either order (libargon2 writes m,t,p; node-argon2 m,p,t)', () => {
    const tail = '$c29tZXNhbHRzb21lc2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA';
    expect(isSupportedHash(`$argon2id$v=19$m=65536,t=3,p=4${tail}`)).toBe(true);
    expect(isSupportedHash(`$argon2id$v=19$m=65536,p=4,t=3${tail}`)).toBe(true);
  });

  it('verifies a hash written in the m,t,p order of other argon2 tools', async () => {
    const hash = (await hasher.hash('correct horse')).replace('m=8192,p=1,t=1', 'm=8192,t=1,p=1');
    expect(await hasher.verify(hash, 'correct horse')).toBe(true);
    expect(await hasher.verify(hash, 'wrong')).toBe(false);
  });

  it('gives each hash its own salt', async () => {
    expect(await hasher.hash('same')).not.toBe(await hasher.hash('same'));
  });

  it('keeps the OWASP 2023 minimum as the default parameters', () => {
    expect(DEFAULT_ARGON2).toEqual({ memory_cost: 19456, time_cost: 2, parallelism: 1 });
  });

  it('refuses argon2 parameters outside the valid range at construction', () => {
    expect(() => createPasswordHasher({ argon2: { memory_cost: 4, time_cost: 1, parallelism: 1 } })).toThrow(
      /argon2.memory_cost/,
    );
    expect(() => createPasswordHasher({ argon2: { memory_cost: 8192, time_cost: 0, parallelism: 1 } })).toThrow(
      /argon2.time_cost/,
    );
  });
});

describe('pbkdf2-sha256 (Frigate format)', () => {
  const hasher = createPasswordHasher({ argon2: FAST });

  it('matches the fixed vector for password/abcdef... at 600000 iterations', async () => {
    const salt = 'abcdefabcdefabcdefabcdefabcdefab';
    // Computed once with pbkdf2Sync and cross-checked with Python's hashlib.pbkdf2_hmac.
    const expected = 'llm2bLbXjVsyQ1RwQLj8fbSRX963ogzsn8t8WDj6pos=';
    expect(pbkdf2Sync('password', salt, 600_000, 32, 'sha256').toString('base64')).toBe(expected);
    const hash = `pbkdf2_sha256$600000$${salt}$${expected}`;
    expect(isSupportedHash(hash)).toBe(true);
    expect(await hasher.verify(hash, 'password')).toBe(true);
    expect(await hasher.verify(hash, 'Password')).toBe(false);
  });

  it('verifies a hash computed the way Frigate computes it, with a non-ASCII password', async () => {
    const hash = frigateHash('grüße 🔑', 'c0ffee00c0ffee00c0ffee00c0ffee00', 120_000);
    expect(await hasher.verify(hash, 'grüße 🔑')).toBe(true);
    expect(await hasher.verify(hash, 'grusse 🔑')).toBe(false);
  });

  it('writes new hashes exactly as Frigate does: 600000 iterations, 32 hex characters of salt', async () => {
    const hash = await hasher.hash('hunter2', 'pbkdf2-sha256');
    const match = /^pbkdf2_sha256\$600000\$([0-9a-f]{32})\$([A-Za-z0-9+/]{43}=)$/.exec(hash);
    expect(match).not.toBeNull();
    // Round trip against the independent computation.
    expect(hash).toBe(frigateHash('hunter2', match![1]!, 600_000));
    expect(await hasher.verify(hash, 'hunter2')).toBe(true);
    expect(await hasher.verify(hash, 'hunter3')).toBe(false);
  });

  it('refuses a hash below 100000 iterations even with the right password', async () => {
    const weak = frigateHash('password', 'saltsalt', 99_999);
    expect(isSupportedHash(weak)).toBe(false);
    expect(await hasher.verify(weak, 'password')).toBe(false);
    expect(isSupportedHash(frigateHash('password', 'saltsalt', 100_000))).toBe(true);
  });

  it('refuses a hash above 10,000,000 iterations without computing it', async () => {
    const { limiter, calls } = countingLimiter();
    const h = createPasswordHasher({ argon2: FAST, limiter });
    const key = Buffer.alloc(32).toString('base64');
    const huge = `pbkdf2_sha256$10000001$salt$${key}`;
    expect(isSupportedHash(huge)).toBe(false);
    expect(isSupportedHash(`pbkdf2_sha256$10000000$salt$${key}`)).toBe(true);
    expect(await h.verify(huge, 'password')).toBe(false);
    expect(calls()).toBe(0);
  });
});

/** Published vectors, computed by other bcrypt implementations: PHP's password_verify manual page ($2y$, what `htpasswd -B` writes) and jBCrypt's/OpenBSD's test suite ($2a$). */
const BCRYPT_VECTORS: Array<[label: string, password: string, hash: string]> = [
  ['$2y$ (PHP, htpasswd -B)', 'rasmuslerdorf', '$2y$10$.vGA1O9wmRjrwAVXD98HNOgsNpDczlqm3Jq7KnEd1rVAGv3Fykk1a'],
  ['$2a$', 'abc', '$2a$10$WvvTPHKwdBJ3uk0Z37EMR.hLA2W6N9AEBhEgrAOljy2Ae5MtaSIUi'],
  ['$2a$ with symbols and spaces', '~!@#$%^&*()      ~!@#$%^&*()PNBFRD', '$2a$10$LgfYWkbzEvQ4JakH7rOvHe0y8pHKF9OaFgwUZ2q7W2FFZmZzJYlfS'],
];

describe('bcrypt (verification only)', () => {
  const hasher = createPasswordHasher({ argon2: FAST });

  it.each(BCRYPT_VECTORS)('verifies a %s hash and refuses a wrong password', async (_label, password, hash) => {
    expect(isSupportedHash(hash)).toBe(true);
    expect(await hasher.verify(hash, password)).toBe(true);
    expect(await hasher.verify(hash, `${password}x`)).toBe(false);
    expect(await hasher.verify(hash, password.slice(1))).toBe(false);
  });

  it('treats $2y$ and $2b$ as the same algorithm, as PHP and OpenBSD do', async () => {
    const hash = await bcrypt.hash('grüße 🔑', 10);
    expect(hash.startsWith('$2b$10$')).toBe(true);
    const asPhpWritesIt = `$2y$${hash.slice(4)}`;
    expect(await hasher.verify(asPhpWritesIt, 'grüße 🔑')).toBe(true);
    expect(await hasher.verify(asPhpWritesIt, 'grusse 🔑')).toBe(false);
  });

  it('refuses a cost below 10 even with the right password, without computing it', async () => {
    const { limiter, calls } = countingLimiter();
    const h = createPasswordHasher({ argon2: FAST, limiter });
    // jBCrypt's vector for the empty password at cost 6.
    const cheap = '$2a$06$DCq7YPn5Rq63x1Lad4cll.TV4S6ytwfsfvkgY8jIucDrjc8deX1s.';
    expect(await bcrypt.compare('', cheap)).toBe(true); // a real hash of ''
    expect(isSupportedHash(cheap)).toBe(false);
    expect(isSupportedHash(`$2b$09$${cheap.slice(7)}`)).toBe(false);
    expect(isSupportedHash(`$2b$10$${cheap.slice(7)}`)).toBe(true);
    expect(await h.verify(cheap, '')).toBe(false);
    expect(calls()).toBe(0);
  });

  it('refuses a cost above 15 without computing it (one check would hold a core for seconds)', async () => {
    const { limiter, calls } = countingLimiter();
    const h = createPasswordHasher({ argon2: FAST, limiter });
    const tail = BCRYPT_VECTORS[0]![2].slice(7);
    expect(isSupportedHash(`$2b$15$${tail}`)).toBe(true);
    expect(isSupportedHash(`$2b$16$${tail}`)).toBe(false);
    expect(isSupportedHash(`$2b$31$${tail}`)).toBe(false);
    expect(await h.verify(`$2b$31$${tail}`, 'rasmuslerdorf')).toBe(false);
    expect(calls()).toBe(0);
  });

  it('is never written: hash() knows only argon2id and pbkdf2-sha256', async () => {
    await expect(hasher.hash('x', 'bcrypt' as never)).rejects.toThrow(/unknown hash algorithm 'bcrypt'; expected argon2id or pbkdf2-sha256/);
  });

  it('checks the first 72 bytes of the UTF-8 password, as every bcrypt does', async () => {
    const first72 = `${'é'.repeat(35)}ab`; // 70 + 2 = 72 bytes
    const hash = await bcrypt.hash(first72, 10);
    expect(await hasher.verify(hash, first72)).toBe(true);
    // Bytes after the 72nd are not in the hash: what follows them does not matter…
    expect(await hasher.verify(hash, `${first72}anything after`)).toBe(true);
    // …but every one of the 72 does.
    expect(await hasher.verify(hash, `${'é'.repeat(35)}a`)).toBe(false);
    expect(await hasher.verify(hash, `${'é'.repeat(35)}aX`)).toBe(false);
  });

  it('cuts at 72 bytes itself, so a $2a$ hash is not open to the 8-bit length wrap-around of old implementations', async () => {
    const hash = await bcrypt.hash('pw', 10).then((h) => `$2a$${h.slice(4)}`);
    expect(await hasher.verify(hash, 'pw')).toBe(true);
    // 258 bytes, read as 258 mod 256 = 2 bytes and the terminator: the package alone says yes.
    const wrapped = `pw\0${'x'.repeat(255)}`;
    expect(await bcrypt.compare(wrapped, hash)).toBe(true);
    expect(await hasher.verify(hash, wrapped)).toBe(false);
  });

  it('names the user of a too-cheap bcrypt hash when the users file is loaded', () => {
    const text = 'users:\n  carol:\n    password: "$2y$09$.vGA1O9wmRjrwAVXD98HNOgsNpDczlqm3Jq7KnEd1rVAGv3Fykk1a"\n';
    expect(parseUsersFile(text).problems).toEqual([
      'users.carol.password is not a supported hash (argon2id, pbkdf2_sha256 of at least 100000 iterations, or bcrypt $2a$/$2b$/$2y$ of cost 10 to 15)',
    ]);
    const ok = parseUsersFile('users:\n  carol:\n    password: "$2y$10$.vGA1O9wmRjrwAVXD98HNOgsNpDczlqm3Jq7KnEd1rVAGv3Fykk1a"\n');
    expect(ok.problems).toEqual([]);
    expect(ok.users.get('carol')?.password).toBe('$2y$10$.vGA1O9wmRjrwAVXD98HNOgsNpDczlqm3Jq7KnEd1rVAGv3Fykk1a');
  });
});

describe('needsRehash', () => {
  const hasher = createPasswordHasher({ argon2: { memory_cost: 19456, time_cost: 2, parallelism: 1 } });
  const salted = '$c29tZXNhbHRzb21lc2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA';
  const pbkdf2 = `pbkdf2_sha256$600000$abcdefabcdefabcdefabcdefabcdefab$${'A'.repeat(43)}=`;

  it.each([
    ['argon2id at the configured parameters, as node-argon2 writes them', `$argon2id$v=19$m=19456,p=1,t=2${salted}`, false],
    ['argon2id at the configured parameters, in libargon2 order', `$argon2id$v=19$m=19456,t=2,p=1${salted}`, false],
    ['argon2id with less memory', `$argon2id$v=19$m=8192,t=2,p=1${salted}`, true],
    ['argon2id with more passes', `$argon2id$v=19$m=19456,t=3,p=1${salted}`, true],
    ['argon2id with more lanes', `$argon2id$v=19$m=19456,t=2,p=2${salted}`, true],
    ['argon2id of an older version', `$argon2id$v=16$m=19456,t=2,p=1${salted}`, true],
    ['argon2i', `$argon2i$v=19$m=19456,t=2,p=1${salted}`, true],
    ['PBKDF2-SHA256 at 600000 iterations', pbkdf2, true],
    ['bcrypt $2y$', BCRYPT_VECTORS[0]![2], true],
    ['bcrypt $2a$', BCRYPT_VECTORS[1]![2], true],
    ['garbage', 'not a hash', true],
  ])('%s: %s', (_label, hash, expected) => {
    expect(hasher.needsRehash(hash)).toBe(expected);
  });

  it('compares against the parameters the hasher was made with', async () => {
    const fast = createPasswordHasher({ argon2: FAST });
    const hash = await fast.hash('x');
    expect(fast.needsRehash(hash)).toBe(false);
    expect(hasher.needsRehash(hash)).toBe(true);
  });
});

describe('malformed hashes', () => {
  const hasher = createPasswordHasher({ argon2: FAST });
  const key = Buffer.alloc(32).toString('base64');

  it.each([
    ['empty', ''],
    ['plain text', 'password'],
    ['bcrypt one character too long', '$2b$12$abcdefghijklmnopqrstuuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZa'],
    ['bcrypt of an unknown minor version', '$2x$10$.vGA1O9wmRjrwAVXD98HNOgsNpDczlqm3Jq7KnEd1rVAGv3Fykk1a'],
    ['bcrypt with a one-digit cost', '$2b$9$.vGA1O9wmRjrwAVXD98HNOgsNpDczlqm3Jq7KnEd1rVAGv3Fykk1a'],
    ['bcrypt outside its base64 alphabet', '$2b$10$.vGA1O9wmRjrwAVXD98HNOgsNpDczlqm3Jq7KnEd1rVAGv3Fykk1+'],
    ['argon2i', '$argon2i$v=19$m=8192,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA'],
    ['argon2id with a truncated hash', '$argon2id$v=19$m=8192,t=1,p=1$c29tZXNhbHQ'],
    ['argon2id with absurd memory', '$argon2id$v=19$m=99999999,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA'],
    ['pbkdf2 with a missing part', `pbkdf2_sha256$600000$${key}`],
    ['pbkdf2 with an empty salt', `pbkdf2_sha256$600000$$${key}`],
    ['pbkdf2 with a short key', `pbkdf2_sha256$600000$salt$${Buffer.alloc(16).toString('base64')}`],
    ['pbkdf2 with a non-numeric iteration count', `pbkdf2_sha256$6e5$salt$${key}`],
    ['pbkdf2 with another digest', `pbkdf2_sha1$600000$salt$${key}`],
    ['argon2id with a repeated parameter', '$argon2id$v=19$m=8192,m=8192,p=1$c29tZXNhbHRzb21lc2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA'],
  ])('%s is unsupported and verifies false without throwing', async (_label, hash) => {
    expect(isSupportedHash(hash)).toBe(false);
    await expect(hasher.verify(hash, 'password')).resolves.toBe(false);
  });
});

describe('password length', () => {
  it(`throws PasswordTooLongError above ${MAX_PASSWORD_BYTES} bytes before any hashing`, async () => {
    const { limiter, calls } = countingLimiter();
    const hasher = createPasswordHasher({ argon2: FAST, limiter });
    const long = 'é'.repeat(513); // 513 characters, 1026 bytes: the limit is in bytes
    const hash = frigateHash('x', 'saltsalt', 100_000);
    await expect(hasher.hash(long)).rejects.toBeInstanceOf(PasswordTooLongError);
    await expect(hasher.hash(long, 'pbkdf2-sha256')).rejects.toBeInstanceOf(PasswordTooLongError);
    await expect(hasher.verify(hash, long)).rejects.toBeInstanceOf(PasswordTooLongError);
    await expect(hasher.verifyDummy(long)).rejects.toBeInstanceOf(PasswordTooLongError);
    expect(calls()).toBe(0);
  });

  it(`accepts exactly ${MAX_PASSWORD_BYTES} bytes`, async () => {
    const hasher = createPasswordHasher({ argon2: FAST });
    const max = 'a'.repeat(MAX_PASSWORD_BYTES);
    expect(await hasher.verify(await hasher.hash(max), max)).toBe(true);
  });
});

describe('verifyDummy', () => {
  it('returns false, and computes the dummy hash only once', async () => {
    const { limiter, calls } = countingLimiter();
    const hasher = createPasswordHasher({ argon2: FAST, limiter });
    expect(await hasher.verifyDummy('anything')).toBe(false);
    expect(calls()).toBe(2); // make the dummy hash, then verify against it
    expect(await hasher.verifyDummy('anything else')).toBe(false);
    expect(calls()).toBe(3); // verify only
  });
});

describe('refusals held to the slowest hash in use', () => {
  const pbkdf2At600k = frigateHash('pbkdf2-password', 'c0ffee00c0ffee00c0ffee00c0ffee00', 600_000);
  // Slower than FAST argon2id too, at a third of the cost: for the tests that need a floor, not a figure.
  const pbkdf2At200k = frigateHash('pbkdf2-password', 'c0ffee00c0ffee00c0ffee00c0ffee00', 200_000);
  const since = (t0: number): number => performance.now() - t0;

  it('calibrate() times each class in use, the dummy included, and the floor is a margin over the slowest', async () => {
    const hasher = createPasswordHasher({ argon2: FAST });
    const argonHash = await hasher.hash('argon-password');
    const result = await hasher.calibrate([argonHash, pbkdf2At600k, BCRYPT_VECTORS[0]![2], 'not a hash']);
    expect(Object.keys(result.classes).sort()).toEqual(['argon2id m=8192 t=1 p=1', 'bcrypt cost=10', 'pbkdf2_sha256 i=600000']);
    expect(result.floorMs).toBe(MARGIN * Math.max(...Object.values(result.classes)));
    // PBKDF2 at 600 000 iterations costs several times FAST argon2id.
    expect(result.classes['pbkdf2_sha256 i=600000']).toBeGreaterThan(2 * result.classes['argon2id m=8192 t=1 p=1']!);
  });

  it('holds an unknown user (verifyDummy) and a wrong argon2id password to the floor; a right password is not held', async () => {
    const hasher = createPasswordHasher({ argon2: FAST });
    const argonHash = await hasher.hash('argon-password');
    const { floorMs } = await hasher.calibrate([argonHash, pbkdf2At200k]);
    let t0 = performance.now();
    expect(await hasher.verifyDummy('guess')).toBe(false);
    expect(since(t0)).toBeGreaterThanOrEqual(floorMs - 1);
    t0 = performance.now();
    expect(await hasher.verify(argonHash, 'guess')).toBe(false);
    expect(since(t0)).toBeGreaterThanOrEqual(floorMs - 1);
    t0 = performance.now();
    expect(await hasher.verify('not a hash', 'guess')).toBe(false);
    expect(since(t0)).toBeGreaterThanOrEqual(floorMs - 1);
    t0 = performance.now();
    expect(await hasher.verify(argonHash, 'argon-password')).toBe(true);
    expect(since(t0)).toBeLessThan(floorMs);
  });

  it('forgets a class that has left the users file', async () => {
    const hasher = createPasswordHasher({ argon2: FAST });
    const argonHash = await hasher.hash('argon-password');
    const withPbkdf2 = await hasher.calibrate([argonHash, pbkdf2At200k]);
    const without = await hasher.calibrate([argonHash]);
    expect(Object.keys(without.classes)).toEqual(['argon2id m=8192 t=1 p=1']);
    expect(without.floorMs).toBeLessThan(withPbkdf2.floorMs);
  });

  it('does not hold a hashing slot while it waits', async () => {
    const limiter = new HashLimiter({ concurrency: 1, maxQueue: 0, maxWaitMs: 1000 });
    const hasher = createPasswordHasher({ argon2: FAST, limiter });
    const { floorMs } = await hasher.calibrate([pbkdf2At200k]);
    expect(floorMs).toBeGreaterThan(0);
    let settled = false;
    const refusal = hasher.verifyDummy('guess').finally(() => {
      settled = true;
    });
    const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
    while (limiter.running === 0) await tick(); // computing…
    while (limiter.running === 1) await tick(); // …done
    expect(settled).toBe(false); // computed, now waiting
    // With one slot and no queue, this would be refused with HashBusyError if the wait held the slot.
    expect(isSupportedHash(await hasher.hash('meanwhile'))).toBe(true);
    expect(await refusal).toBe(false);
  });

  it('answers a busy limiter at once, without a hold (the same 503 for every account)', async () => {
    const limiter = new HashLimiter({ concurrency: 1, maxQueue: 0, maxWaitMs: 1000 });
    const hasher = createPasswordHasher({ argon2: FAST, limiter });
    await hasher.calibrate([pbkdf2At200k]);
    const gate = deferred();
    const busy = limiter.run(() => gate.promise);
    const t0 = performance.now();
    await expect(hasher.verify(pbkdf2At200k, 'guess')).rejects.toBeInstanceOf(HashBusyError);
    expect(since(t0)).toBeLessThan(50);
    gate.resolve();
    await busy;
  });
});

describe('HashLimiter', () => {
  it('runs at most `concurrency` functions at once and queues the rest in FIFO order', async () => {
    const limiter = new HashLimiter({ concurrency: 2, maxQueue: 10, maxWaitMs: 5000 });
    const gates = Array.from({ length: 5 }, deferred);
    const started: number[] = [];
    let running = 0;
    let peak = 0;
    const results = gates.map((gate, i) =>
      limiter.run(async () => {
        started.push(i);
        running++;
        peak = Math.max(peak, running);
        await gate.promise;
        running--;
        return i;
      }),
    );
    await Promise.resolve();
    expect(limiter.running).toBe(2);
    expect(limiter.queued).toBe(3);
    for (const gate of [...gates].reverse()) gate.resolve();
    expect(await Promise.all(results)).toEqual([0, 1, 2, 3, 4]);
    expect(peak).toBe(2);
    expect(started).toEqual([0, 1, 2, 3, 4]);
    expect(limiter.running).toBe(0);
  });

  it('rejects with HashBusyError at once when the queue is full', async () => {
    const limiter = new HashLimiter({ concurrency: 1, maxQueue: 1, maxWaitMs: 5000 });
    const gate = deferred();
    const first = limiter.run(() => gate.promise);
    const second = limiter.run(async () => 'second');
    const third = limiter.run(async () => 'third');
    await expect(third).rejects.toSatisfy((e) => e instanceof HashBusyError && e.reason === 'queue_full');
    gate.resolve();
    await first;
    expect(await second).toBe('second');
  });

  it('rejects a caller with HashBusyError when it waited longer than maxWaitMs', async () => {
    const limiter = new HashLimiter({ concurrency: 1, maxQueue: 5, maxWaitMs: 20 });
    const gate = deferred();
    const first = limiter.run(() => gate.promise);
    const waiting = limiter.run(async () => 'late');
    await expect(waiting).rejects.toSatisfy((e) => e instanceof HashBusyError && e.reason === 'timeout');
    expect(limiter.queued).toBe(0);
    gate.resolve();
    await first;
    // The timed-out caller did not leak its slot.
    expect(await limiter.run(async () => 'next')).toBe('next');
    expect(limiter.running).toBe(0);
  });

  it('frees the slot when the function rejects', async () => {
    const limiter = new HashLimiter({ concurrency: 1, maxQueue: 0, maxWaitMs: 10 });
    await expect(limiter.run(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await limiter.run(async () => 'ok')).toBe('ok');
  });

  it('bounds the password hasher: a second concurrent hash is refused when there is no queue', async () => {
    const limiter = new HashLimiter({ concurrency: 1, maxQueue: 0, maxWaitMs: 1000 });
    const hasher = createPasswordHasher({ argon2: FAST, limiter });
    const first = hasher.hash('one');
    await expect(hasher.hash('two')).rejects.toBeInstanceOf(HashBusyError);
    expect(isSupportedHash(await first)).toBe(true);
  });

  it('refuses nonsensical options', () => {
    expect(() => new HashLimiter({ concurrency: 0, maxQueue: 1, maxWaitMs: 1 })).toThrow(/concurrency/);
    expect(() => new HashLimiter({ concurrency: 1, maxQueue: -1, maxWaitMs: 1 })).toThrow(/maxQueue/);
  });
});
