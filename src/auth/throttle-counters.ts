import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { RateWindow } from './rate-limit-spec.js';

/**
 * Fixed-window counters over rate-limiter-flexible, used through its public API only (consume,
 * reward, delete, get, set): in Redis when one is given, shared by every replica, with this
 * process's memory answering while Redis fails; in memory otherwise.
 *
 * The library does not say which keys it holds, so this module keeps its own index of the counters
 * it has started (a Redis sorted set scored by expiry, or a Map), for `postern throttle list|clear`.
 */

/** A window's count; `msLeft` -1 means the counter has no expiry. */
export interface Count {
  readonly consumed: number;
  readonly msLeft: number;
}

/** What one point taken from a window got: `granted` false when the window was already full. */
export interface Take extends Count {
  readonly granted: boolean;
  /** Memory answered because Redis failed: not worth remembering as Redis's word. */
  readonly fromMemory: boolean;
}

export interface FixedWindow {
  readonly scope: string;
  readonly points: number;
  readonly durationSec: number;
  /** One point, atomically: of N concurrent takes on a window of L points, at most L are granted. */
  take(key: string): Promise<Take>;
  /** Gives one point back (a refused attempt, or the success's own point). */
  giveBack(key: string): Promise<void>;
  /** Ends the counter. */
  clear(key: string): Promise<void>;
  /** Reads only; null when no counter runs. */
  peek(key: string): Promise<(Count & { readonly fromMemory: boolean }) | null>;
}

export interface Counter {
  readonly scope: string;
  readonly durationSec: number;
  readonly key: string;
  readonly consumed: number;
  readonly msLeft: number;
}

export interface CounterStore {
  window(scope: string, window: RateWindow): FixedWindow;
  /** Every live counter, from the index (Redis's, when given: an outage rejects rather than answering "none"). */
  counters(): Promise<Counter[]>;
  /** Ends every counter `matches` picks, in Redis and in memory; returns the live ones it ended. */
  remove(matches: (c: { scope: string; key: string }) => boolean): Promise<Counter[]>;
}

export interface CounterStoreOptions {
  readonly redis?: Redis;
  readonly keyPrefix: string;
  /** Redis failed and memory answered: called once per outage (again after Redis has answered in between). */
  readonly onStoreFailure?: (err: Error) => void;
}

/** Memory keeps an expired record until its timer fires; it no longer counts. */
export function isLive(c: Count): boolean {
  return c.msLeft > 0 || c.msLeft === -1;
}

function settle(p: Promise<RateLimiterRes>): Promise<{ res: RateLimiterRes; granted: boolean }> {
  return p.then(
    (res) => ({ res, granted: true }),
    (err: unknown) => {
      if (err instanceof RateLimiterRes) return { res: err, granted: false };
      throw err;
    },
  );
}

function countOf(res: RateLimiterRes | null): Count | null {
  return res === null ? null : { consumed: res.consumedPoints, msLeft: res.msBeforeNext };
}

const MEMORY_INDEX_SWEEP = 10_000;

export function createCounterStore(opts: CounterStoreOptions): CounterStore {
  const { redis, keyPrefix } = opts;
  const indexKey = `${keyPrefix}:index`;
  const windows = new Map<string, { primary: RateLimiterRedis | RateLimiterMemory; memory: RateLimiterMemory }>();
  let longestMs = 0;
  /** Member → when its counter ends (ms): every counter this process started, Redis or not. */
  const memoryIndex = new Map<string, number>();
  let down = false;

  function failed(err: unknown, what: string): void {
    if (down) return;
    down = true;
    const reason = err instanceof Error ? err.message : String(err);
    opts.onStoreFailure?.(new Error(`rate-limit store failed during ${what} (${reason}; redis status: ${redis?.status}); counting in this process's memory`));
  }

  /** On Redis when there is one; its failure (not a full window) hands the operation to memory. */
  async function onStore<T>(what: string, viaRedis: (() => Promise<T>) | undefined, viaMemory: () => Promise<T>): Promise<{ value: T; fromMemory: boolean }> {
    if (viaRedis) {
      try {
        const value = await viaRedis();
        down = false;
        return { value, fromMemory: false };
      } catch (err) {
        failed(err, what);
      }
    }
    return { value: await viaMemory(), fromMemory: viaRedis !== undefined };
  }

  function member(scope: string, durationSec: number, key: string): string {
    return `${scope}:${durationSec}:${key}`;
  }

  function parseMember(m: string): { scope: string; durationSec: number; key: string } | undefined {
    const a = m.indexOf(':');
    const b = a < 0 ? -1 : m.indexOf(':', a + 1);
    if (b < 0) return undefined;
    const durationSec = Number(m.slice(a + 1, b));
    return Number.isSafeInteger(durationSec) ? { scope: m.slice(0, a), durationSec, key: m.slice(b + 1) } : undefined;
  }

  async function index(m: string, msLeft: number, first: boolean, viaRedis: boolean): Promise<void> {
    const until = msLeft > 0 ? Date.now() + msLeft : Number.MAX_SAFE_INTEGER;
    if (memoryIndex.size >= MEMORY_INDEX_SWEEP && !memoryIndex.has(m)) {
      const now = Date.now();
      for (const [k, end] of memoryIndex) if (end <= now) memoryIndex.delete(k);
    }
    memoryIndex.set(m, until);
    // The counter's first point starts it (and its expiry): the one moment it joins Redis's index.
    if (first && viaRedis && redis) {
      await redis.multi().zadd(indexKey, until, m).pexpire(indexKey, longestMs).exec().catch(() => undefined);
    }
  }

  function window(scope: string, w: RateWindow): FixedWindow {
    const id = `${scope}:${w.durationSec}`;
    if (windows.has(id)) throw new Error(`throttle ${scope}: more than one window of ${w.durationSec}s`);
    const base = { points: w.points, duration: w.durationSec, keyPrefix: `${keyPrefix}:${scope}:${w.durationSec}` };
    const memory = new RateLimiterMemory(base);
    // No insuranceLimiter: this module falls back itself, so that it knows when memory answered.
    const primary = redis ? new RateLimiterRedis({ ...base, storeClient: redis, useRedisPackage: false, rejectIfRedisNotReady: true }) : memory;
    const shared = primary !== memory ? (primary as RateLimiterRedis) : undefined;
    windows.set(id, { primary, memory });
    longestMs = Math.max(longestMs, w.durationSec * 1000);

    /** Memory kept at Redis's count (which includes other replicas'), so an outage starts from what we last knew. */
    async function shadow(key: string, res: RateLimiterRes): Promise<void> {
      if (res.msBeforeNext > 0) await memory.set(key, res.consumedPoints, res.msBeforeNext / 1000);
    }

    return {
      scope,
      points: w.points,
      durationSec: w.durationSec,
      async take(key) {
        const { value, fromMemory } = await onStore(
          'an attempt',
          shared &&
            (async () => {
              const r = await settle(shared.consume(key));
              await shadow(key, r.res);
              return r;
            }),
          () => settle(memory.consume(key)),
        );
        const { res, granted } = value;
        if (granted) await index(member(scope, w.durationSec, key), res.msBeforeNext, res.consumedPoints === 1, !fromMemory);
        return { granted, consumed: res.consumedPoints, msLeft: res.msBeforeNext, fromMemory };
      },
      async giveBack(key) {
        await onStore(
          'giving back a point',
          shared &&
            (async () => {
              await shadow(key, await shared.reward(key));
            }),
          async () => {
            await memory.reward(key);
          },
        );
      },
      async clear(key) {
        await onStore('a success', shared && (() => shared.delete(key)), () => Promise.resolve(true));
        await memory.delete(key);
      },
      async peek(key) {
        const { value, fromMemory } = await onStore('a check', shared && (() => shared.get(key)), () => memory.get(key));
        const count = countOf(value);
        return count && { ...count, fromMemory };
      },
    };
  }

  async function counters(): Promise<Counter[]> {
    let members: string[];
    const now = Date.now();
    if (redis) {
      await redis.zremrangebyscore(indexKey, '-inf', now);
      members = await redis.zrangebyscore(indexKey, now, '+inf');
    } else {
      members = [];
      for (const [m, until] of memoryIndex) {
        if (until > now) members.push(m);
        else memoryIndex.delete(m);
      }
    }
    const out: Counter[] = [];
    await Promise.all(
      members.map(async (m) => {
        const parsed = parseMember(m);
        const w = parsed && windows.get(`${parsed.scope}:${parsed.durationSec}`);
        if (!parsed || !w) return;
        // The primary store, without falling back: the CLI must see an outage, not an empty list.
        const count = countOf(await w.primary.get(parsed.key));
        if (count !== null && isLive(count) && count.consumed > 0) out.push({ ...parsed, ...count });
      }),
    );
    return out;
  }

  async function remove(matches: (c: { scope: string; key: string }) => boolean): Promise<Counter[]> {
    const doomed = (await counters()).filter(matches);
    const stale: string[] = [];
    for (const m of memoryIndex.keys()) {
      const parsed = parseMember(m);
      if (parsed && matches(parsed)) stale.push(m);
    }
    const members = new Set([...doomed.map((c) => member(c.scope, c.durationSec, c.key)), ...stale]);
    for (const m of members) {
      const parsed = parseMember(m)!;
      const w = windows.get(`${parsed.scope}:${parsed.durationSec}`);
      if (!w) continue;
      if (w.primary !== w.memory) await w.primary.delete(parsed.key);
      await w.memory.delete(parsed.key);
      memoryIndex.delete(m);
    }
    if (redis && members.size > 0) await redis.zrem(indexKey, ...members);
    return doomed;
  }

  return { window, counters, remove };
}
