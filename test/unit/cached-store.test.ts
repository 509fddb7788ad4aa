import { describe, expect, it } from 'vitest';
import { CachedSessionStore } from '../../src/store/cached-store.js';
import { MemorySessionStore } from '../../src/store/memory-store.js';
import { ASK_STORE, type SessionData } from '../../src/store/session-store.js';
import { askedStore } from '../support/asked-store.js';

/** The real memory store, counting the reads that reach it. */
function countingStore(now: () => number) {
  const inner = new MemorySessionStore({ now });
  let reads = 0;
  let fail = false;
  const store = askedStore(inner, (id) => {
    reads++;
    return fail ? Promise.reject(new Error('down')) : inner.get(id);
  });
  return { store, inner, reads: () => reads, failReads: (v: boolean) => (fail = v) };
}

function session(now: number, lifetime = 3_600_000): SessionData {
  return { user: 'alice', via: 'local', created: now, expires: now + lifetime, seen: now };
}

function setup(opts: { backendUp?: () => boolean } = {}) {
  let clock = Date.now();
  const now = () => clock;
  const backing = countingStore(now);
  const cached = new CachedSessionStore(backing.store, { ttlMs: 500, maxEntries: 3, backendUp: opts.backendUp ?? (() => true), now });
  return { cached, backing, advance: (ms: number) => (clock += ms), now };
}

describe('CachedSessionStore', () => {
  it('answers repeated reads of one session from memory for ttlMs, then asks the store again', async () => {
    const { cached, backing, advance, now } = setup();
    await cached.set('a', session(now()), 60_000);
    expect(await cached.get('a')).toMatchObject({ user: 'alice' });
    expect(await cached.get('a')).toMatchObject({ user: 'alice' });
    expect(backing.reads()).toBe(1);
    advance(501);
    await cached.get('a');
    expect(backing.reads()).toBe(2);
  });

  it('shares one store read among concurrent requests for the same id', async () => {
    const { cached, backing, now } = setup();
    await cached.set('a', session(now()), 60_000);
    await Promise.all([cached.get('a'), cached.get('a'), cached.get('a')]);
    expect(backing.reads()).toBe(1);
  });

  it('sees a deletion made elsewhere (another replica) within ttlMs', async () => {
    const { cached, backing, advance, now } = setup();
    await cached.set('a', session(now()), 60_000);
    await cached.get('a');
    await backing.inner.destroy('a');
    expect(await cached.get('a')).toBeDefined();
    advance(501);
    expect(await cached.get('a')).toBeUndefined();
  });

  it('forgets an entry at once when this replica sets or destroys it', async () => {
    const { cached, now } = setup();
    await cached.set('a', session(now()), 60_000);
    await cached.get('a');
    await cached.set('a', { ...session(now()), user: 'bob' }, 60_000);
    expect(await cached.get('a')).toMatchObject({ user: 'bob' });
    await cached.destroy('a');
    expect(await cached.get('a')).toBeUndefined();
  });

  it('a refresh of seen from a cached read does not bring back a session deleted elsewhere (issue 12)', async () => {
    const { cached, backing, advance, now } = setup();
    const data = session(now());
    await cached.set('a', data, 60_000);
    await cached.get('a');
    // Another replica's logout, while this one still holds the read in its cache.
    await backing.inner.destroy('a');
    advance(100);
    expect(await cached.setIfExists('a', { ...data, seen: now() }, 60_000)).toBe(false);
    expect(await backing.inner.get('a')).toBeUndefined();
    expect(await cached.get('a')).toBeUndefined();
  });

  it('a refresh of a session that is still stored writes it and drops the cached read', async () => {
    const { cached, backing, advance, now } = setup();
    const data = session(now());
    await cached.set('a', data, 60_000);
    await cached.get('a');
    advance(100);
    expect(await cached.setIfExists('a', { ...data, seen: now() }, 60_000)).toBe(true);
    expect((await cached.get('a'))?.seen).toBe(now());
    expect(backing.reads()).toBe(2);
  });

  it('lists sessions from the store, never from its cache', async () => {
    const { cached, backing, now } = setup();
    await cached.set('a', session(now()), 60_000);
    await cached.get('a');
    expect((await cached.listByUser('alice')).map((s) => s.id)).toEqual(['a']);
    await backing.inner.destroy('a');
    expect(await cached.listByUser('alice')).toEqual([]);
    expect(await cached.listAll()).toEqual([]);
  });

  it('never serves a session past its own expires, even from the cache', async () => {
    const { cached, advance, now } = setup();
    await cached.set('a', session(now(), 300), 60_000);
    expect(await cached.get('a')).toBeDefined();
    advance(301);
    expect(await cached.get('a')).toBeUndefined();
  });

  it('serves nothing from the cache while the backend is known to be down', async () => {
    let up = true;
    const { cached, backing, now } = setup({ backendUp: () => up });
    await cached.set('a', session(now()), 60_000);
    await cached.get('a');
    up = false;
    backing.failReads(true);
    await expect(cached.get('a')).rejects.toThrow('down');
  });

  it('does not remember a failed read', async () => {
    const { cached, backing, now } = setup();
    await cached.set('a', session(now()), 60_000);
    backing.failReads(true);
    await expect(cached.get('a')).rejects.toThrow('down');
    backing.failReads(false);
    expect(await cached.get('a')).toBeDefined();
    expect(backing.reads()).toBe(2);
  });

  it('keeps at most maxEntries, dropping the oldest', async () => {
    const { cached, backing, now } = setup();
    for (const id of ['a', 'b', 'c', 'd']) {
      await cached.set(id, session(now()), 60_000);
      await cached.get(id);
    }
    expect(backing.reads()).toBe(4);
    await cached.get('d');
    expect(backing.reads()).toBe(4);
    await cached.get('a');
    expect(backing.reads()).toBe(5);
  });

  describe('readNow: the answer get() would give, when it is at hand', () => {
    it('is at hand once a read has come back, and only for ttlMs', async () => {
      const { cached, backing, advance, now } = setup();
      await cached.set('a', session(now()), 60_000);
      expect(cached.readNow('a')).toBe(ASK_STORE);
      const pending = cached.get('a');
      // Asked, not yet answered: still only get() can tell.
      expect(cached.readNow('a')).toBe(ASK_STORE);
      await pending;
      expect(cached.readNow('a')).toMatchObject({ user: 'alice' });
      expect(backing.reads()).toBe(1);
      advance(501);
      expect(cached.readNow('a')).toBe(ASK_STORE);
    });

    it('answers undefined for an absent session read from the store, and for one past its own expires', async () => {
      const { cached, advance, now } = setup();
      expect(await cached.get('nobody')).toBeUndefined();
      expect(cached.readNow('nobody')).toBeUndefined();
      await cached.set('a', session(now(), 300), 60_000);
      await cached.get('a');
      advance(301);
      expect(cached.readNow('a')).toBeUndefined();
    });

    it('is never at hand while the backend is known to be down', async () => {
      let up = true;
      const { cached, now } = setup({ backendUp: () => up });
      await cached.set('a', session(now()), 60_000);
      await cached.get('a');
      up = false;
      expect(cached.readNow('a')).toBe(ASK_STORE);
    });

    it('is gone when this replica sets or destroys the session, and after a failed read', async () => {
      const { cached, backing, now } = setup();
      await cached.set('a', session(now()), 60_000);
      await cached.get('a');
      await cached.destroy('a');
      expect(cached.readNow('a')).toBe(ASK_STORE);
      await cached.set('a', session(now()), 60_000);
      await cached.get('a');
      await cached.setIfExists('a', { ...session(now()), user: 'bob' }, 60_000);
      expect(cached.readNow('a')).toBe(ASK_STORE);
      backing.failReads(true);
      await expect(cached.get('a')).rejects.toThrow('down');
      expect(cached.readNow('a')).toBe(ASK_STORE);
    });
  });
});
