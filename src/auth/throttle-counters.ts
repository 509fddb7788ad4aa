import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { RateWindow } from './rate-limit-spec.js';
import { createCounterIndex, memberOf } from './throttle-index.js';

/**
 * Fixed-window counters over rate-limiter-flexible, used through its public API only (consume,
 * reward, delete, get, set): in Redis when one is given, shared by every replica, with this
 * process's memory answering while Redis fails; in memory otherwise.
 *
 * The library does not say which keys it holds, so every counter started is written down in an index
 * (throttle-index.ts), for `postern throttle list|clear`.
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

type OnStore = <T>(what: string, viaRedis: (() => Promise<T>) | undefined, viaMemory: () => Promise<T>) => Promise<{ value: T; fromMemory: boolean }>;

/**
 * On Redis when there is one; its failure (not a full window) hands the operation to memory, and is
 * reported once per outage (again after Redis has answered in between).
 */
function createFallback(opts: CounterStoreOptions): OnStore {
  let down = false;

  function failed(err: unknown, what: string): void {
    if (down) return;
    down = true;
    const reason = err instanceof Error ? err.message : String(err);
    opts.onStoreFailure?.(new Error(`rate-limit store failed during ${what} (${reason}; redis status: ${opts.redis?.status}); counting in this process's memory`));
  }

  return async (what, viaRedis, viaMemory) => {
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
  };
}

export function createCounterStore(opts: CounterStoreOptions): CounterStore {
  const { redis, keyPrefix } = opts;
  const index = createCounterIndex(redis, `${keyPrefix}:index`);
  const windows = new Map<string, { primary: RateLimiterRedis | RateLimiterMemory; memory: RateLimiterMemory }>();
  const onStore = createFallback(opts);

  function window(scope: string, w: RateWindow): FixedWindow {
    const id = `${scope}:${w.durationSec}`;
    if (windows.has(id)) throw new Error(`throttle ${scope}: more than one window of ${w.durationSec}s`);
    const base = { points: w.points, duration: w.durationSec, keyPrefix: `${keyPrefix}:${scope}:${w.durationSec}` };
    const memory = new RateLimiterMemory(base);
    // No insuranceLimiter: this module falls back itself, so that it knows when memory answered.
    const primary = redis ? new RateLimiterRedis({ ...base, storeClient: redis, useRedisPackage: false, rejectIfRedisNotReady: true }) : memory;
    const shared = primary !== memory ? (primary as RateLimiterRedis) : undefined;
    windows.set(id, { primary, memory });
    index.windowAdded(w.durationSec);

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
        if (granted) await index.record({ scope, durationSec: w.durationSec, key }, res.msBeforeNext, res.consumedPoints === 1, !fromMemory);
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
    const out: Counter[] = [];
    await Promise.all(
      (await index.live()).map(async (id) => {
        const w = windows.get(`${id.scope}:${id.durationSec}`);
        if (!w) return;
        // The primary store, without falling back: the CLI must see an outage, not an empty list.
        const count = countOf(await w.primary.get(id.key));
        if (count !== null && isLive(count) && count.consumed > 0) out.push({ ...id, ...count });
      }),
    );
    return out;
  }

  async function remove(matches: (c: { scope: string; key: string }) => boolean): Promise<Counter[]> {
    const doomed = (await counters()).filter(matches);
    // And the ones this process started that have ended in Redis but may linger in memory.
    const ids = new Map([...doomed, ...index.known(matches)].map((c) => [memberOf(c), c] as const));
    for (const id of ids.values()) {
      const w = windows.get(`${id.scope}:${id.durationSec}`);
      if (!w) continue;
      if (w.primary !== w.memory) await w.primary.delete(id.key);
      await w.memory.delete(id.key);
    }
    await index.forget(ids.values());
    return doomed;
  }

  return { window, counters, remove };
}
