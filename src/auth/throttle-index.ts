/**
 * Which throttle counters exist, for `postern throttle list|clear`: rate-limiter-flexible does not
 * say which keys it holds, so throttle-counters.ts writes every counter it starts down here, in a
 * Redis sorted set scored by when the counter ends (shared by every replica) when there is Redis,
 * and always in this process's memory (what it started, Redis or not).
 */
import type { Redis } from 'ioredis';

/** A counter: its window (scope and length) and its key. */
export interface CounterId {
  readonly scope: string;
  readonly durationSec: number;
  readonly key: string;
}

export interface CounterIndex {
  /** A window of this length exists: Redis's index is kept as long as the longest window. */
  windowAdded(durationSec: number): void;
  /**
   * A counter took a point and runs for another `msLeft` (-1 or 0: no expiry). `first`: this point
   * started it, the one moment it joins Redis's index (`viaRedis`: Redis counted it, not memory).
   */
  record(id: CounterId, msLeft: number, first: boolean, viaRedis: boolean): Promise<void>;
  /** The counters that have not ended: Redis's index when there is Redis (an outage rejects), else memory's. */
  live(): Promise<CounterId[]>;
  /** The counters this process wrote down that `matches` picks, ended or not. */
  known(matches: (c: CounterId) => boolean): CounterId[];
  /** Strikes the counters out of both indexes. */
  forget(ids: Iterable<CounterId>): Promise<void>;
}

const MEMORY_INDEX_SWEEP = 10_000;

/** The index entry of a counter; parseMember reads it back. */
export function memberOf(id: CounterId): string {
  return `${id.scope}:${id.durationSec}:${id.key}`;
}

function parseMember(m: string): CounterId | undefined {
  const a = m.indexOf(':');
  const b = a < 0 ? -1 : m.indexOf(':', a + 1);
  if (b < 0) return undefined;
  const durationSec = Number(m.slice(a + 1, b));
  return Number.isSafeInteger(durationSec) ? { scope: m.slice(0, a), durationSec, key: m.slice(b + 1) } : undefined;
}

/** `redisKey` names the sorted set; without `redis`, memory only. */
export function createCounterIndex(redis: Redis | undefined, redisKey: string): CounterIndex {
  let longestMs = 0;
  /** Member → when its counter ends (ms): every counter this process started, Redis or not. */
  const memoryIndex = new Map<string, number>();

  async function record(id: CounterId, msLeft: number, first: boolean, viaRedis: boolean): Promise<void> {
    const m = memberOf(id);
    const until = msLeft > 0 ? Date.now() + msLeft : Number.MAX_SAFE_INTEGER;
    if (memoryIndex.size >= MEMORY_INDEX_SWEEP && !memoryIndex.has(m)) {
      const now = Date.now();
      for (const [k, end] of memoryIndex) if (end <= now) memoryIndex.delete(k);
    }
    memoryIndex.set(m, until);
    // The counter's first point starts it (and its expiry): the one moment it joins Redis's index.
    if (first && viaRedis && redis) {
      await redis.multi().zadd(redisKey, until, m).pexpire(redisKey, longestMs).exec().catch(() => undefined);
    }
  }

  async function live(): Promise<CounterId[]> {
    let members: string[];
    const now = Date.now();
    if (redis) {
      await redis.zremrangebyscore(redisKey, '-inf', now);
      members = await redis.zrangebyscore(redisKey, now, '+inf');
    } else {
      members = [];
      for (const [m, until] of memoryIndex) {
        if (until > now) members.push(m);
        else memoryIndex.delete(m);
      }
    }
    return members.map(parseMember).filter((id) => id !== undefined);
  }

  function known(matches: (c: CounterId) => boolean): CounterId[] {
    const out: CounterId[] = [];
    for (const m of memoryIndex.keys()) {
      const id = parseMember(m);
      if (id && matches(id)) out.push(id);
    }
    return out;
  }

  async function forget(ids: Iterable<CounterId>): Promise<void> {
    const members = new Set([...ids].map(memberOf));
    for (const m of members) memoryIndex.delete(m);
    if (redis && members.size > 0) await redis.zrem(redisKey, ...members);
  }

  return {
    windowAdded: (durationSec) => void (longestMs = Math.max(longestMs, durationSec * 1000)),
    record,
    live,
    known,
    forget,
  };
}
