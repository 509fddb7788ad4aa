import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { beforeAll, describe, expect, it } from 'vitest';
import { MemoryPasskeyCounterStore, type PasskeyCounterStore } from '../../src/store/passkey-counter-store.js';
import { RedisPasskeyCounterStore } from '../../src/store/passkey-counter-store-redis.js';
import { useRedis } from '../support/use-redis.js';

function newId(): string {
  return randomBytes(16).toString('base64url');
}

/** The behaviour every PasskeyCounterStore owes its callers, whatever the backend. */
function describeCounterStoreContract(name: string, make: () => PasskeyCounterStore): void {
  describe(`${name} honours the PasskeyCounterStore contract`, () => {
    let store: PasskeyCounterStore;
    beforeAll(() => {
      store = make();
    });

    it('accepts a counter that moves forward, and refuses one that stays or goes back, saying what it holds', async () => {
      const id = newId();
      expect(await store.advance(id, 1)).toEqual({ ok: true });
      expect(await store.advance(id, 5)).toEqual({ ok: true });
      expect(await store.advance(id, 5)).toEqual({ ok: false, stored: 5 });
      expect(await store.advance(id, 3)).toEqual({ ok: false, stored: 5 });
      expect(await store.advance(id, 0)).toEqual({ ok: false, stored: 5 });
      expect(await store.advance(id, 6)).toEqual({ ok: true });
    });

    it('accepts 0 again and again from an authenticator that does not count', async () => {
      const id = newId();
      expect(await store.advance(id, 0)).toEqual({ ok: true });
      expect(await store.advance(id, 0)).toEqual({ ok: true });
      // It starts counting: believed from there on.
      expect(await store.advance(id, 2)).toEqual({ ok: true });
      expect(await store.advance(id, 0)).toEqual({ ok: false, stored: 2 });
    });

    it('keeps each credential apart, and forgets one on remove', async () => {
      const [a, b] = [newId(), newId()];
      await store.advance(a, 10);
      expect(await store.advance(b, 1)).toEqual({ ok: true });
      await store.remove(a);
      expect(await store.advance(a, 1)).toEqual({ ok: true });
      expect(await store.advance(b, 1)).toEqual({ ok: false, stored: 1 });
      await store.remove(newId()); // unknown: nothing happens
    });

    it('lets only one of many concurrent responses with the same count through', async () => {
      const id = newId();
      await store.advance(id, 1);
      const results = await Promise.all(Array.from({ length: 20 }, () => store.advance(id, 2)));
      expect(results.filter((r) => r.ok)).toHaveLength(1);
    });
  });
}

describeCounterStoreContract('MemoryPasskeyCounterStore', () => new MemoryPasskeyCounterStore());

describe('on Redis', () => {
  let redis: Redis;
  useRedis((started) => ({ redis } = started));

  describeCounterStoreContract('RedisPasskeyCounterStore', () => new RedisPasskeyCounterStore(redis, `test:${newId()}:`));

  it('keeps the count under the prefix with a long expiry, shared by two instances', async () => {
    const a = new RedisPasskeyCounterStore(redis, 'shared-counters:');
    const b = new RedisPasskeyCounterStore(redis, 'shared-counters:');
    const id = newId();
    expect(await a.advance(id, 7)).toEqual({ ok: true });
    expect(await redis.get(`shared-counters:${id}`)).toBe('7');
    expect(await redis.ttl(`shared-counters:${id}`)).toBeGreaterThan(365 * 24 * 3600);
    expect(await b.advance(id, 7)).toEqual({ ok: false, stored: 7 });
  });
});
