/** tokens/verified-cache.ts: what a presented credential was verified as, for ≤ 500 ms and until the users file reloads. */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { createVerifiedCache } from '../../src/tokens/verified-cache.js';

function cacheAt(opts: { maxEntries?: number; ttlMs?: number } = {}) {
  const clock = { t: 1_000_000, users: {} as object };
  const cache = createVerifiedCache<string>({ ttlMs: opts.ttlMs ?? 500, maxEntries: opts.maxEntries ?? 10, now: () => clock.t, generation: () => clock.users });
  return { cache, clock };
}

describe('the verified-credential cache', () => {
  it('answers the exact value it was given, and nothing else', () => {
    const { cache } = cacheAt();
    cache.set('Bearer pst_A', 'alice');
    expect(cache.get('Bearer pst_A')).toBe('alice');
    expect(cache.get('Bearer pst_B')).toBeUndefined();
    expect(cache.get('bearer pst_A')).toBeUndefined();
  });

  it('forgets everything 500 ms after its window opened, however often it is asked', () => {
    const { cache, clock } = cacheAt();
    cache.set('Bearer pst_A', 'alice');
    clock.t += 300;
    cache.set('Bearer pst_B', 'bob');
    expect(cache.get('Bearer pst_A')).toBe('alice');
    clock.t += 199;
    expect(cache.get('Bearer pst_B')).toBe('bob');
    clock.t += 1;
    expect(cache.get('Bearer pst_A')).toBeUndefined();
    expect(cache.get('Bearer pst_B')).toBeUndefined();
  });

  it('forgets everything when the users file is reloaded (a new users list)', () => {
    const { cache, clock } = cacheAt();
    cache.set('Basic YWxpY2U6cGFzc3dvcmQ=', 'alice');
    clock.users = {};
    expect(cache.get('Basic YWxpY2U6cGFzc3dvcmQ=')).toBeUndefined();
  });

  it('holds at most maxEntries values, evicting the oldest first', () => {
    const { cache } = cacheAt({ maxEntries: 3 });
    for (const v of ['a', 'b', 'c', 'd']) cache.set(v, v.toUpperCase());
    expect(['a', 'b', 'c', 'd'].map((v) => cache.get(v))).toEqual([undefined, 'B', 'C', 'D']);
  });

  it('lets go of the secret-bearing keys when the window ends, though no request comes to clear them', async () => {
    const { cache } = cacheAt({ ttlMs: 20 });
    cache.set('Basic YWxpY2U6cGFzc3dvcmQ=', 'alice');
    await sleep(60);
    // The injected clock has not moved: only the real timer can have emptied it.
    expect(cache.get('Basic YWxpY2U6cGFzc3dvcmQ=')).toBeUndefined();
  });
});
