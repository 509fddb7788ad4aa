import { pbkdf2Sync } from 'node:crypto';
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

describe('malformed hashes', () => {
  const hasher = createPasswordHasher({ argon2: FAST });
  const key = Buffer.alloc(32).toString('base64');

  it.each([
    ['empty', ''],
    ['plain text', 'password'],
    ['bcrypt', '$2b$12$abcdefghijklmnopqrstuuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZa'],
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
