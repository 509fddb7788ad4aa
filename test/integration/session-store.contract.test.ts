import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MemorySessionStore } from '../../src/store/memory-store.js';
import { createRedisClient, type RedisStatus } from '../../src/store/redis-client.js';
import { DEFAULT_SESSION_PREFIX, RedisSessionStore } from '../../src/store/redis-store.js';
import { ASK_STORE, StoreUnavailableError, type SessionData, type SessionStore } from '../../src/store/session-store.js';
import { startRedis, type RedisProcess } from '../support/redis-server.js';
import { waitFor } from '../support/wait.js';

/** A store under test, with the clock it judges expiry by. */
interface StoreUnderTest {
  readonly store: SessionStore;
  now(): number;
  /** Lets `ms` pass for the store: moves an injected clock, or really waits. */
  elapse(ms: number): Promise<void>;
}

const HOUR = 3_600_000;

/** Shaped like a real session id: 32 random bytes, base64url. */
function newId(): string {
  return randomBytes(32).toString('base64url');
}

/** A typical local sign-in: user 'alice', three timestamps, a 16-character password fingerprint. */
function typicalSession(now: number, overrides: Partial<SessionData> = {}): SessionData {
  return { user: 'alice', via: 'local', created: now, expires: now + 12 * HOUR, seen: now, pwv: 'Zq3xV9kP2mW7tR4s', ...overrides };
}

async function errorOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (err: unknown) => err,
  );
}

/** The behaviour every SessionStore owes its callers, whatever the backend. */
function describeSessionStoreContract(name: string, makeStore: () => Promise<StoreUnderTest> | StoreUnderTest): void {
  describe(`${name} honours the SessionStore contract`, () => {
    let t: StoreUnderTest;
    beforeEach(async () => {
      t = await makeStore();
    });
    afterEach(async () => {
      await t.store.close();
    });

    it('returns undefined for an unknown id', async () => {
      expect(await t.store.get(newId())).toBeUndefined();
    });

    it('round-trips what was set, extra fields included', async () => {
      const id = newId();
      const data = typicalSession(t.now(), { idt: 'eyJhbGciOi.id.token', groups: ['admins', 'ops'] });
      await t.store.set(id, data, HOUR);
      expect(await t.store.get(id)).toEqual(data);
    });

    it('keeps its own copy: mutating the object written or read changes nothing stored', async () => {
      const id = newId();
      const written = { ...typicalSession(t.now()), groups: ['ops'] };
      await t.store.set(id, written, HOUR);
      written.groups.push('admins');
      const read = await t.store.get(id);
      expect(read?.groups).toEqual(['ops']);
      (read?.groups as string[]).push('root');
      expect((await t.store.get(id))?.groups).toEqual(['ops']);
    });

    it('destroy removes the session, and destroying an unknown id is fine', async () => {
      const id = newId();
      await t.store.set(id, typicalSession(t.now()), HOUR);
      await t.store.destroy(id);
      expect(await t.store.get(id)).toBeUndefined();
      await expect(t.store.destroy(newId())).resolves.toBeUndefined();
    });

    it('forgets a session once its TTL has passed', async () => {
      const id = newId();
      await t.store.set(id, typicalSession(t.now()), 200);
      expect(await t.store.get(id)).toBeDefined();
      await t.elapse(250);
      expect(await t.store.get(id)).toBeUndefined();
    });

    it('does not return a session whose expires has passed, however long the TTL', async () => {
      const id = newId();
      await t.store.set(id, typicalSession(t.now(), { expires: t.now() + 200 }), HOUR);
      expect(await t.store.get(id)).toBeDefined();
      await t.elapse(250);
      expect(await t.store.get(id)).toBeUndefined();
    });

    it('does not store a session that has already expired', async () => {
      const id = newId();
      await t.store.set(id, typicalSession(t.now(), { expires: t.now() - 1 }), HOUR);
      expect(await t.store.get(id)).toBeUndefined();
    });

    it('set overwrites the previous session under the same id', async () => {
      const id = newId();
      await t.store.set(id, typicalSession(t.now()), HOUR);
      const second = typicalSession(t.now(), { user: 'bob', via: 'oidc:corp' });
      await t.store.set(id, second, HOUR);
      expect(await t.store.get(id)).toEqual(second);
    });

    it('keeps ids isolated', async () => {
      const [a, b] = [newId(), newId()];
      const alice = typicalSession(t.now());
      const bob = typicalSession(t.now(), { user: 'bob' });
      await t.store.set(a, alice, HOUR);
      await t.store.set(b, bob, HOUR);
      await t.store.destroy(a);
      expect(await t.store.get(a)).toBeUndefined();
      expect(await t.store.get(b)).toEqual(bob);
      expect(await t.store.get(b.slice(0, -1))).toBeUndefined();
    });

    it('setIfExists rewrites a stored session and says so', async () => {
      const id = newId();
      const data = typicalSession(t.now());
      await t.store.set(id, data, HOUR);
      const refreshed = { ...data, seen: data.seen + 1_000 };
      expect(await t.store.setIfExists(id, refreshed, HOUR)).toBe(true);
      expect(await t.store.get(id)).toEqual(refreshed);
    });

    it('setIfExists after destroy does not bring the session back (a touch after a logout, issue 12)', async () => {
      const id = newId();
      const data = typicalSession(t.now());
      await t.store.set(id, data, HOUR);
      await t.store.destroy(id);
      expect(await t.store.setIfExists(id, { ...data, seen: data.seen + 1_000 }, HOUR)).toBe(false);
      expect(await t.store.get(id)).toBeUndefined();
      expect(await t.store.listByUser('alice')).toEqual([]);
    });

    it('setIfExists never creates: an unknown id or a session past its TTL stays absent', async () => {
      const unknown = newId();
      expect(await t.store.setIfExists(unknown, typicalSession(t.now()), HOUR)).toBe(false);
      expect(await t.store.get(unknown)).toBeUndefined();
      const lapsed = newId();
      await t.store.set(lapsed, typicalSession(t.now()), 200);
      await t.elapse(250);
      expect(await t.store.setIfExists(lapsed, typicalSession(t.now()), HOUR)).toBe(false);
      expect(await t.store.get(lapsed)).toBeUndefined();
    });

    it("listByUser returns one user's live sessions, oldest first, with their ids", async () => {
      const [first, second, bobs, holder] = [newId(), newId(), newId(), newId()];
      const start = t.now();
      await t.store.set(second, typicalSession(start, { created: start - 1_000, via: 'oidc:corp', idp: 'corp' }), HOUR);
      await t.store.set(first, typicalSession(start, { created: start - 2_000 }), HOUR);
      await t.store.set(bobs, typicalSession(start, { user: 'bob' }), HOUR);
      // An anonymous holder (a sign-in at a provider in flight) is nobody's session.
      await t.store.set(holder, typicalSession(start, { user: '' }), HOUR);
      expect((await t.store.listByUser('alice')).map((s) => s.id)).toEqual([first, second]);
      expect(await t.store.listByUser('bob')).toEqual([{ id: bobs, data: typicalSession(start, { user: 'bob' }) }]);
      expect(await t.store.listByUser('')).toEqual([]);
      expect(await t.store.listByUser('carol')).toEqual([]);
    });

    it('listByUser leaves out destroyed and expired sessions, and a session rewritten for another user', async () => {
      const [destroyed, lapsing, moved, kept] = [newId(), newId(), newId(), newId()];
      for (const id of [destroyed, lapsing, moved, kept]) await t.store.set(id, typicalSession(t.now()), id === lapsing ? 200 : HOUR);
      await t.store.destroy(destroyed);
      await t.store.set(moved, typicalSession(t.now(), { user: 'bob' }), HOUR);
      await t.elapse(250);
      expect((await t.store.listByUser('alice')).map((s) => s.id)).toEqual([kept]);
      expect((await t.store.listByUser('bob')).map((s) => s.id)).toEqual([moved]);
    });

    it('listAll returns every user\'s sessions and nothing else', async () => {
      const [a, b, holder] = [newId(), newId(), newId()];
      await t.store.set(a, typicalSession(t.now()), HOUR);
      await t.store.set(b, typicalSession(t.now(), { user: 'bob' }), HOUR);
      await t.store.set(holder, typicalSession(t.now(), { user: '' }), HOUR);
      const all = await t.store.listAll();
      expect(all.map((s) => [s.data.user, s.id]).sort()).toEqual([['alice', a], ['bob', b]].sort());
      await t.store.destroy(a);
      expect((await t.store.listAll()).map((s) => s.id)).toEqual([b]);
    });

    it('answers ping with true', async () => {
      expect(await t.store.ping()).toBe(true);
    });

    it('after close, rejects with StoreUnavailableError and pings false', async () => {
      await t.store.close();
      expect(await errorOf(t.store.get(newId()))).toBeInstanceOf(StoreUnavailableError);
      expect(await t.store.ping()).toBe(false);
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Memory

describeSessionStoreContract('MemorySessionStore', () => {
  let clock = 1_700_000_000_000;
  return {
    store: new MemorySessionStore({ now: () => clock }),
    now: () => clock,
    elapse: async (ms) => {
      clock += ms;
    },
  };
});

describe('MemorySessionStore housekeeping', () => {
  let clock = 1_700_000_000_000;
  const stores: MemorySessionStore[] = [];
  const make = (opts: { sweepIntervalMs?: number; maxEntries?: number }): MemorySessionStore => {
    const store = new MemorySessionStore({ now: () => clock, ...opts });
    stores.push(store);
    return store;
  };
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((s) => s.close()));
  });

  it('sweeps expired entries without anyone reading them', async () => {
    const store = make({ sweepIntervalMs: 5 });
    for (let i = 0; i < 3; i++) await store.set(newId(), typicalSession(clock), 1_000);
    const survivor = newId();
    await store.set(survivor, typicalSession(clock), 10_000);
    expect(store.size).toBe(4);
    clock += 2_000;
    await waitFor(() => store.size === 1, { timeoutMs: 2_000, what: 'the sweep to drop 3 expired entries' });
    expect(await store.get(survivor)).toBeDefined();
  });

  it('when full, evicts the session closest to expiry', async () => {
    const store = make({ maxEntries: 2 });
    const [soon, late, middle] = [newId(), newId(), newId()];
    await store.set(soon, typicalSession(clock), 1_000);
    await store.set(late, typicalSession(clock), 5_000);
    await store.set(middle, typicalSession(clock), 3_000);
    expect(store.size).toBe(2);
    expect(await store.get(soon)).toBeUndefined();
    expect(await store.get(late)).toBeDefined();
    expect(await store.get(middle)).toBeDefined();
  });

  it('when full, overwriting an existing id evicts nothing', async () => {
    const store = make({ maxEntries: 2 });
    const [a, b] = [newId(), newId()];
    await store.set(a, typicalSession(clock), 1_000);
    await store.set(b, typicalSession(clock), 5_000);
    await store.set(b, typicalSession(clock, { user: 'bob' }), 5_000);
    expect(await store.get(a)).toBeDefined();
    expect((await store.get(b))?.user).toBe('bob');
  });

  it('has every session at hand (readNow), as get() answers it; once closed, only get() can say so', async () => {
    const store = new MemorySessionStore({ now: () => clock });
    const id = newId();
    await store.set(id, typicalSession(clock), 1_000);
    expect(store.readNow(id)).toEqual(await store.get(id));
    expect(store.readNow(newId())).toBeUndefined();
    clock += 1_000;
    expect(store.readNow(id)).toBeUndefined();
    await store.close();
    expect(store.readNow(id)).toBe(ASK_STORE);
    await expect(store.get(id)).rejects.toThrow('closed');
  });
});

// ---------------------------------------------------------------------------------------------
// Redis, on a redis-server of our own

describe('RedisSessionStore on a real redis-server', () => {
  let server: RedisProcess;
  let inspect: Redis;
  beforeAll(async () => {
    server = await startRedis();
    inspect = createRedisClient(server.url, { commandTimeoutMs: 1_000 });
    await waitFor(async () => (await inspect.ping()) === 'PONG', { what: 'the inspection client' });
  });
  afterAll(async () => {
    inspect?.disconnect();
    await server?.stop();
  });

  async function connectedStore(opts: { prefix?: string; onStatus?: (s: RedisStatus) => void } = {}): Promise<RedisSessionStore> {
    const client = createRedisClient(server.url, opts.onStatus ? { onStatus: opts.onStatus } : {});
    const store = new RedisSessionStore(client, opts.prefix !== undefined ? { prefix: opts.prefix } : {});
    await waitFor(() => store.ping(), { what: 'a fresh client to be ready' });
    return store;
  }

  describeSessionStoreContract('RedisSessionStore', async () => ({
    // A prefix of its own per test: the listings see only that test's sessions.
    store: await connectedStore({ prefix: `contract:${randomBytes(4).toString('hex')}:` }),
    now: () => Date.now(),
    elapse: (ms) => sleep(ms),
  }));

  describe('storage in Redis', () => {
    let store: RedisSessionStore;
    afterEach(async () => {
      await store?.close();
    });

    it('keeps each session under the prefix, with a TTL', async () => {
      store = await connectedStore({ prefix: 'test:sess:' });
      const id = newId();
      await store.set(id, typicalSession(Date.now()), HOUR);
      const pttl = await inspect.pttl(`test:sess:${id}`);
      expect(pttl).toBeGreaterThan(0);
      expect(pttl).toBeLessThanOrEqual(HOUR);
      expect(await inspect.exists(DEFAULT_SESSION_PREFIX + id)).toBe(0);
    });

    it('uses the postern:session: prefix by default', async () => {
      store = await connectedStore();
      const id = newId();
      await store.set(id, typicalSession(Date.now()), HOUR);
      expect(await inspect.pttl(`postern:session:${id}`)).toBeGreaterThan(0);
    });

    it('never keeps a session in Redis past its expires', async () => {
      store = await connectedStore();
      const id = newId();
      await store.set(id, typicalSession(Date.now(), { expires: Date.now() + 5_000 }), HOUR);
      expect(await inspect.pttl(DEFAULT_SESSION_PREFIX + id)).toBeLessThanOrEqual(5_000);
    });

    it('keeps a typical session, with its address and agent, within 300 bytes of Redis memory (issues 7, 12)', async () => {
      store = await connectedStore();
      const id = newId();
      await store.set(id, typicalSession(Date.now(), { ip: '203.0.113.7', ua: 'Firefox 128 on Linux' }), 12 * HOUR);
      const key = DEFAULT_SESSION_PREFIX + id;
      const bytes = await inspect.memory('USAGE', key);
      const value = await inspect.get(key);
      expect(value, 'stored as compact JSON').toBe(JSON.stringify(JSON.parse(value!)));
      expect(bytes, `MEMORY USAGE for a ${key.length}-byte key and a ${value?.length}-byte value`).toBeLessThanOrEqual(300);
    });

    it('indexes each user\'s sessions in one sorted set, at most 80 bytes more per session, that expires with its last session', async () => {
      store = await connectedStore({ prefix: 'index:' });
      const [short, long] = [newId(), newId()];
      const now = Date.now();
      await store.set(short, typicalSession(now, { expires: now + 5_000 }), HOUR);
      const oneMember = await inspect.memory('USAGE', 'index:by-user:alice');
      await store.set(long, typicalSession(now), HOUR);
      const twoMembers = await inspect.memory('USAGE', 'index:by-user:alice');
      expect(twoMembers! - oneMember!, 'Redis memory of one more index member').toBeLessThanOrEqual(80);
      expect(await inspect.zrange('index:by-user:alice', '0', '-1', 'WITHSCORES')).toEqual([short, String(now + 5_000), long, expect.any(String)]);
      const pttl = await inspect.pttl('index:by-user:alice');
      expect(pttl).toBeGreaterThan(HOUR - 60_000);
      expect(pttl).toBeLessThanOrEqual(HOUR);
    });

    it('lists one user from their index: no SCAN or KEYS over the keyspace', async () => {
      store = await connectedStore({ prefix: 'noscan:' });
      const id = newId();
      await store.set(id, typicalSession(Date.now()), HOUR);
      await inspect.config('RESETSTAT');
      expect((await store.listByUser('alice')).map((s) => s.id)).toEqual([id]);
      const stats = await inspect.info('commandstats');
      expect(stats).not.toMatch(/cmdstat_(scan|keys):/);
      expect(stats).toMatch(/cmdstat_zrangebyscore:calls=1,/);
    });

    it('drops a destroyed session from its index at the next listing', async () => {
      store = await connectedStore({ prefix: 'tidy:' });
      const [gone, kept] = [newId(), newId()];
      await store.set(gone, typicalSession(Date.now()), HOUR);
      await store.set(kept, typicalSession(Date.now()), HOUR);
      await store.destroy(gone);
      expect(await inspect.zcard('tidy:by-user:alice')).toBe(2);
      expect((await store.listByUser('alice')).map((s) => s.id)).toEqual([kept]);
      expect(await inspect.zrange('tidy:by-user:alice', '0', '-1')).toEqual([kept]);
    });

    it('refreshes only with SET XX: a session deleted behind its back stays deleted', async () => {
      store = await connectedStore();
      const id = newId();
      const data = typicalSession(Date.now());
      await store.set(id, data, HOUR);
      await inspect.del(DEFAULT_SESSION_PREFIX + id);
      expect(await store.setIfExists(id, { ...data, seen: Date.now() }, HOUR)).toBe(false);
      expect(await inspect.exists(DEFAULT_SESSION_PREFIX + id)).toBe(0);
    });

    it('ignores a stored session whose expires has passed, whatever its TTL', async () => {
      store = await connectedStore();
      const id = newId();
      const stale = typicalSession(Date.now() - 2 * HOUR, { expires: Date.now() - 1 });
      await inspect.set(DEFAULT_SESSION_PREFIX + id, JSON.stringify(stale), 'PX', HOUR);
      expect(await store.get(id)).toBeUndefined();
    });

    it('treats a malformed stored value as absent', async () => {
      store = await connectedStore();
      const [notJson, wrongShape] = [newId(), newId()];
      await inspect.set(DEFAULT_SESSION_PREFIX + notJson, '{not json', 'PX', HOUR);
      await inspect.set(DEFAULT_SESSION_PREFIX + wrongShape, JSON.stringify({ user: 'alice', expires: 'never' }), 'PX', HOUR);
      expect(await store.get(notJson)).toBeUndefined();
      expect(await store.get(wrongShape)).toBeUndefined();
    });

    it('refuses a client that would queue commands while Redis is down', () => {
      const queueing = new Redis(server.url, { lazyConnect: true });
      try {
        expect(() => new RedisSessionStore(queueing)).toThrow(/createRedisClient/);
      } finally {
        queueing.disconnect();
      }
    });
  });

  // Last: these stop and pause the server.
  describe('outages', () => {
    let store: RedisSessionStore;
    afterEach(async () => {
      await store?.close();
    });

    it('fails closed within the bound while redis-server is stopped, then recovers on the same client', async () => {
      const statuses: RedisStatus[] = [];
      store = await connectedStore({ onStatus: (s) => statuses.push(s) });
      const id = newId();
      await store.set(id, typicalSession(Date.now()), HOUR);

      await server.stop();

      let started = performance.now();
      const err = await errorOf(store.get(id));
      const getMs = performance.now() - started;
      expect(err).toBeInstanceOf(StoreUnavailableError);
      expect((err as Error).message).not.toContain(id);
      // The contract says 200 ms; the margin is for a loaded CI machine, not for the code.
      expect(getMs).toBeLessThan(500);

      expect(await errorOf(store.set(newId(), typicalSession(Date.now()), HOUR))).toBeInstanceOf(StoreUnavailableError);
      expect(await errorOf(store.destroy(id))).toBeInstanceOf(StoreUnavailableError);
      started = performance.now();
      expect(await store.ping()).toBe(false);
      expect(performance.now() - started).toBeLessThan(500);

      await server.start();

      await waitFor(() => store.ping(), { timeoutMs: 10_000, what: 'the same client to reconnect' });
      const again = newId();
      const data = typicalSession(Date.now());
      await store.set(again, data, HOUR);
      expect(await store.get(again)).toEqual(data);
      expect(statuses).toEqual(['up', 'down', 'up']);
    });

    it('fails closed within the bound while redis-server hangs, then carries on', async () => {
      store = await connectedStore();
      const id = newId();
      const data = typicalSession(Date.now());
      await store.set(id, data, HOUR);

      server.pause();
      try {
        const started = performance.now();
        const err = await errorOf(store.get(id));
        const getMs = performance.now() - started;
        expect(err).toBeInstanceOf(StoreUnavailableError);
        expect((err as Error).message).not.toContain(id);
        expect(getMs).toBeLessThan(500);
        expect(await store.ping()).toBe(false);
      } finally {
        server.resume();
      }

      await waitFor(() => store.ping(), { timeoutMs: 10_000, what: 'redis-server to answer again' });
      expect(await store.get(id)).toEqual(data);
    });
  });
});
