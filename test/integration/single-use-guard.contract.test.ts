import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import type { SingleUseGuard } from '../../src/store/single-use-guard.js';
import { MemorySingleUseGuard } from '../../src/store/single-use-guard-memory.js';
import { RedisSingleUseGuard } from '../../src/store/single-use-guard-redis.js';
import type { RedisProcess } from '../support/redis-server.js';
import { useRedis } from '../support/use-redis.js';
import { waitFor } from '../support/wait.js';

function newKey(): string {
  return `totp:alice:${randomBytes(8).toString('hex')}`;
}

/** The behaviour every SingleUseGuard owes its callers, whatever the backend. `second` shares the first one's store (another replica). */
function describeGuardContract(name: string, make: () => { first: SingleUseGuard; second: SingleUseGuard }): void {
  describe(`${name} honours the SingleUseGuard contract`, () => {
    it('gives a key to the first claim only, also when the second comes from another replica', async () => {
      const { first, second } = make();
      const key = newKey();
      expect(await first.claim(key, 60_000)).toBe(true);
      expect(await first.claim(key, 60_000)).toBe(false);
      expect(await second.claim(key, 60_000)).toBe(false);
      expect(await second.claim(newKey(), 60_000)).toBe(true);
    });

    it('gives one of many simultaneous claims of one key', async () => {
      const { first, second } = make();
      const key = newKey();
      const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? first : second).claim(key, 60_000)));
      expect(answers.filter(Boolean)).toHaveLength(1);
    });

    it('gives a key again once its claim has expired', async () => {
      const { first } = make();
      const key = newKey();
      expect(await first.claim(key, 40)).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(await first.claim(key, 40)).toBe(true);
    });
  });
}

describeGuardContract('MemorySingleUseGuard', () => {
  const guard = new MemorySingleUseGuard();
  return { first: guard, second: guard };
});

describe('on Redis', () => {
  let server: RedisProcess;
  let redis: Redis;
  useRedis((started) => ({ server, redis } = started));

  describeGuardContract('RedisSingleUseGuard', () => {
    const prefix = `test:${randomBytes(4).toString('hex')}`;
    return { first: new RedisSingleUseGuard(redis, prefix), second: new RedisSingleUseGuard(redis, prefix) };
  });

  it('keeps a claim under its prefix with the TTL asked for', async () => {
    const key = newKey();
    expect(await new RedisSingleUseGuard(redis, 'ttl-check').claim(key, 90_000)).toBe(true);
    const ttl = await redis.pttl(`ttl-check:${key}`);
    expect(ttl).toBeGreaterThan(85_000);
    expect(ttl).toBeLessThanOrEqual(90_000);
  });

  it('rejects while Redis is down, so that a code is refused rather than accepted twice', async () => {
    const guard = new RedisSingleUseGuard(redis, 'down');
    await server.stop();
    try {
      await waitFor(() => redis.status !== 'ready', { what: 'the client to notice the outage' });
      await expect(guard.claim(newKey(), 60_000)).rejects.toThrow();
    } finally {
      await server.start();
    }
    await waitFor(() => redis.status === 'ready', { what: 'the client to reconnect', timeoutMs: 10_000 });
    expect(await guard.claim(newKey(), 60_000)).toBe(true);
  });
});
