import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { beforeAll, describe, expect, it } from 'vitest';
import { createDeviceTrust } from '../../src/auth/device-trust.js';
import { createPasswordFingerprint } from '../../src/auth/identity.js';
import type { User } from '../../src/auth/user.js';
import type { DeviceStore } from '../../src/store/device-store.js';
import { MemoryDeviceStore } from '../../src/store/device-store-memory.js';
import { RedisDeviceStore } from '../../src/store/device-store-redis.js';
import type { RedisProcess } from '../support/redis-server.js';
import { useRedis } from '../support/use-redis.js';
import { waitFor } from '../support/wait.js';

const DAY = 86_400_000;

/** A store under test, with the clock it judges expiry by. */
interface StoreUnderTest {
  readonly store: DeviceStore;
  now(): number;
}

function newId(): string {
  return randomBytes(16).toString('base64url');
}

/** The behaviour every DeviceStore owes its callers, whatever the backend. */
function describeDeviceStoreContract(name: string, make: () => StoreUnderTest): void {
  describe(`${name} honours the DeviceStore contract`, () => {
    let t: StoreUnderTest;
    beforeAll(() => {
      t = make();
    });

    it('gives back what it was given, and nothing for an unknown id', async () => {
      const id = newId();
      const expires = t.now() + 90 * DAY;
      await t.store.add(id, { user: 'alice', expires });
      expect(await t.store.get(id)).toEqual({ user: 'alice', expires });
      expect(await t.store.get(newId())).toBeUndefined();
    });

    it('forgets one device on remove, and the others of its user stay', async () => {
      const [a, b] = [newId(), newId()];
      await t.store.add(a, { user: 'bob', expires: t.now() + DAY });
      await t.store.add(b, { user: 'bob', expires: t.now() + DAY });
      await t.store.remove(a);
      expect(await t.store.get(a)).toBeUndefined();
      expect(await t.store.get(b)).toMatchObject({ user: 'bob' });
      await t.store.remove(newId()); // unknown: nothing happens
    });

    it('removeUser ends every device of that user and only of that user, and says how many', async () => {
      const carol = [newId(), newId(), newId()];
      const dave = newId();
      for (const id of carol) await t.store.add(id, { user: 'carol', expires: t.now() + DAY });
      await t.store.add(dave, { user: 'dave', expires: t.now() + DAY });
      expect(await t.store.removeUser('carol')).toBe(3);
      for (const id of carol) expect(await t.store.get(id)).toBeUndefined();
      expect(await t.store.get(dave)).toMatchObject({ user: 'dave' });
      expect(await t.store.removeUser('carol')).toBe(0);
      expect(await t.store.removeUser('nobody')).toBe(0);
    });

    it('a device trusted after a revocation is trusted', async () => {
      await t.store.add(newId(), { user: 'erin', expires: t.now() + DAY });
      await t.store.removeUser('erin');
      const later = newId();
      await t.store.add(later, { user: 'erin', expires: t.now() + DAY });
      expect(await t.store.get(later)).toMatchObject({ user: 'erin' });
    });

    it('an expired trust is gone', async () => {
      const id = newId();
      await t.store.add(id, { user: 'frank', expires: t.now() + 50 });
      await new Promise((resolve) => setTimeout(resolve, 120));
      expect(await t.store.get(id)).toBeUndefined();
      // Already over when added: never trusted.
      const past = newId();
      await t.store.add(past, { user: 'frank', expires: t.now() - 1 });
      expect(await t.store.get(past)).toBeUndefined();
    });
  });
}

describeDeviceStoreContract('MemoryDeviceStore', () => ({ store: new MemoryDeviceStore(), now: Date.now }));

describe('on Redis', () => {
  let server: RedisProcess;
  let redis: Redis;
  useRedis((started) => ({ server, redis } = started));

  describeDeviceStoreContract('RedisDeviceStore', () => ({ store: new RedisDeviceStore(redis, `test:${newId()}`), now: Date.now }));

  it('keeps a device under the prefix with the TTL of its trust, and is shared by two instances', async () => {
    const a = new RedisDeviceStore(redis, 'shared-devices');
    const b = new RedisDeviceStore(redis, 'shared-devices');
    const id = newId();
    await a.add(id, { user: 'alice', expires: Date.now() + DAY });
    const ttl = await redis.pttl(`shared-devices:id:${id}`);
    expect(ttl).toBeGreaterThan(DAY - 60_000);
    expect(ttl).toBeLessThanOrEqual(DAY);
    expect(await b.get(id)).toMatchObject({ user: 'alice' });
    expect(await b.removeUser('alice')).toBe(1);
    expect(await a.get(id)).toBeUndefined();
  });

  it('rejects while Redis is down; device trust then recognises nothing and issues nothing, and says so once', async () => {
    const store = new RedisDeviceStore(redis, 'down-devices');
    const alice: User = { username: 'alice', password: '$argon2id$v=19$m=8192,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA', role: 'user', groups: [], email: '', name: '', disabled: false };
    const failures: Error[] = [];
    const trust = createDeviceTrust({
      store,
      secret: 'test-secret-test-secret-test-secret-0123',
      users: { find: (name) => (name.toLowerCase() === 'alice' ? alice : undefined), all: () => [alice] },
      passwordFingerprint: createPasswordFingerprint('test-secret-test-secret-test-secret-0123'),
      ttlMs: DAY,
      now: Date.now,
      onStoreFailure: (err) => failures.push(err),
    });
    const cookie = (await trust.issue(alice))!;
    expect(await trust.recognise(cookie, 'Alice')).toMatch(/^[A-Za-z0-9_-]{22}$/);
    await server.stop();
    try {
      await waitFor(() => redis.status !== 'ready', { what: 'the client to notice the outage' });
      await expect(store.get(newId())).rejects.toThrow();
      await expect(store.add(newId(), { user: 'alice', expires: Date.now() + DAY })).rejects.toThrow();
      expect(await trust.recognise(cookie, 'alice')).toBeUndefined();
      expect(await trust.issue(alice)).toBeUndefined();
      expect(failures).toHaveLength(1);
      await expect(trust.revokeUser('alice')).rejects.toThrow();
    } finally {
      await server.start();
    }
    await waitFor(() => redis.status === 'ready', { what: 'the client to reconnect', timeoutMs: 10_000 });
    // The restarted Redis kept nothing (no persistence in tests): a new sign-in makes a new device.
    const fresh = (await trust.issue(alice))!;
    expect(await trust.recognise(fresh, 'alice')).toBeDefined();
  });
});
