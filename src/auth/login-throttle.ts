import type { Redis } from 'ioredis';
import ipaddr from 'ipaddr.js';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { parseIp } from '../http/trusted-proxies.js';
import { parseRateLimit, type RateWindow } from './rate-limit-spec.js';
import { normaliseUsername } from './username.js';

/**
 * Failed-login throttling in three scopes, each with one or more fixed windows:
 *   ip       failures from one address, whatever the username (guessing across many accounts);
 *   user     failures for one username, from anywhere (guessing one account from many addresses);
 *   user+ip  failures for one username from one address (the common case, cleared by a success).
 * IPv6 addresses count per /64: one host usually holds a whole /64 and could otherwise step
 * through it to get a fresh budget for every attempt.
 */

export interface ThrottleConfig {
  perIp: RateWindow[];
  perUser: RateWindow[];
  perUserIp: RateWindow[];
}

export type ThrottleCheck = { allowed: true } | { allowed: false; retryAfterSec: number };

export type ThrottleScope = 'ip' | 'user' | 'user+ip';

export interface ThrottleEntry {
  scope: ThrottleScope;
  /** The address (an IPv6 /64 for IPv6), the username, or `username|address`. */
  key: string;
  /** Failures in the longest window still counting. */
  failures: number;
  /** 0 unless a window is full. */
  blockedForSec: number;
}

export interface LoginThrottle {
  /** Before any password hashing. Reads only. */
  check(ip: string, username: string): Promise<ThrottleCheck>;
  /**
   * Before the request is even read: a refusal for the address alone, when one is known without
   * asking Redis (a refusal Redis gave less than a second ago; without Redis, the counters in memory).
   * Undefined means "not known to be refused": check() still decides.
   */
  addressRefusal(ip: string): Promise<ThrottleCheck | undefined>;
  /** One point in every window of the three scopes. */
  recordFailure(ip: string, username: string): Promise<void>;
  /** Clears the username-and-address counters only: the other two also count other people's guesses. */
  recordSuccess(ip: string, username: string): Promise<void>;
  /** For `postern throttle list`: every counter still running. */
  list(): Promise<ThrottleEntry[]>;
  /**
   * For `postern throttle clear`: removes every counter concerning the address or the username
   * (both given: either). An empty filter clears everything. Returns how many counters (as `list`
   * shows them) were removed.
   */
  clear(by: { ip?: string; user?: string }): Promise<number>;
}

export interface LoginThrottleOptions {
  /** Shared counters for every replica. Without it, counters live in this process. */
  redis?: Redis;
  keyPrefix?: string;
  /** Redis failed and this process's memory answered instead. Called once per affected operation; log it once. */
  onStoreFailure?: (err: Error) => void;
  /** The clock of the refusal memory (see REFUSAL_MEMORY_MS); Redis keeps its own time for the windows. */
  now?: () => number;
}

/**
 * How long a full window that Redis reported is believed without asking again: an address that keeps
 * trying while refused costs no Redis round trip, and `postern throttle clear` (or a window ending)
 * is seen by every replica within this time. Redis is the only place a window can be emptied early.
 */
const REFUSAL_MEMORY_MS = 1_000;
const REFUSAL_MEMORY_MAX = 10_000;

/**
 * Defaults, in the config notation.
 *
 * Per-user limits stop distributed guessing but hand an attacker a way to lock the owner out:
 * whoever fills the per-user window blocks that username from everywhere until it expires.
 * So the defaults keep ONE attacking address from ever filling it: that address can spend at most
 * perUserIp on one username per window, and windows are fixed (they start at the first failure),
 * so at most twice that across a window boundary: 2 x 5 = 10 < 20 a minute, 2 x 20 = 40 < 100 an
 * hour. perIp caps the same address across all usernames (10/minute, 50/hour). The owner, from an
 * address that never failed, therefore still gets in while a single address attacks. Many
 * addresses can still fill the per-user window; `postern throttle clear` for the user undoes that.
 * Keep 2 x perUserIp below perUser, unit by unit, when changing these.
 */
export const DEFAULT_THROTTLE_SPECS = Object.freeze({
  perIp: '10/minute;50/hour',
  perUser: '20/minute;100/hour',
  perUserIp: '5/minute;20/hour',
});

export const DEFAULT_THROTTLE_CONFIG: Readonly<ThrottleConfig> = Object.freeze({
  perIp: windowsOf(DEFAULT_THROTTLE_SPECS.perIp),
  perUser: windowsOf(DEFAULT_THROTTLE_SPECS.perUser),
  perUserIp: windowsOf(DEFAULT_THROTTLE_SPECS.perUserIp),
});

const DEFAULT_KEY_PREFIX = 'postern:throttle';
const SCOPES: readonly ThrottleScope[] = ['ip', 'user', 'user+ip'];

type MemoryOptions = ConstructorParameters<typeof RateLimiterMemory>[0];

/**
 * The in-memory insurance of a Redis limiter. rate-limiter-flexible calls it, with the caller's own
 * options object, whenever Redis fails; marking that object is how a caller learns its answer came
 * from memory, which the library otherwise keeps to itself.
 */
class Insurance extends RateLimiterMemory {
  constructor(
    opts: MemoryOptions,
    private readonly served: WeakSet<object>,
  ) {
    super(opts);
  }

  override penalty(key: string | number, points?: number, options?: Record<string, unknown>): Promise<RateLimiterRes> {
    if (options) this.served.add(options);
    return super.penalty(key, points, options);
  }

  override delete(key: string | number, options?: Record<string, unknown>): Promise<boolean> {
    if (options) this.served.add(options);
    return super.delete(key, options);
  }
}

interface Limiter {
  readonly scope: ThrottleScope;
  readonly window: RateWindow;
  /** Where the counts live: Redis (insured by `memory`), or `memory` itself. */
  readonly store: RateLimiterRedis | RateLimiterMemory;
  /** This process's view; without Redis the only one, with Redis the insurance, kept in step. */
  readonly memory: RateLimiterMemory;
}

export function createLoginThrottle(cfg: ThrottleConfig, opts: LoginThrottleOptions = {}): LoginThrottle {
  const { redis, onStoreFailure } = opts;
  const prefix = opts.keyPrefix ?? DEFAULT_KEY_PREFIX;
  const served = new WeakSet<object>();

  const limiters: Limiter[] = [];
  for (const scope of SCOPES) {
    const windows = scope === 'ip' ? cfg.perIp : scope === 'user' ? cfg.perUser : cfg.perUserIp;
    const durations = new Set<number>();
    for (const window of windows) {
      if (!(Number.isSafeInteger(window.points) && window.points > 0)) {
        throw new Error(`throttle ${scope}: points must be a positive integer, got ${window.points}`);
      }
      if (!(Number.isSafeInteger(window.durationSec) && window.durationSec > 0)) {
        throw new Error(`throttle ${scope}: durationSec must be a positive integer, got ${window.durationSec}`);
      }
      // The duration is part of the key: two windows of one length would share a counter.
      if (durations.has(window.durationSec)) {
        throw new Error(`throttle ${scope}: more than one window of ${window.durationSec}s`);
      }
      durations.add(window.durationSec);
      const limiterOpts = {
        points: window.points,
        duration: window.durationSec,
        keyPrefix: `${prefix}:${scope}:${window.durationSec}`,
      };
      if (redis) {
        const memory = new Insurance(limiterOpts, served);
        const store = new RateLimiterRedis({
          ...limiterOpts,
          storeClient: redis,
          useRedisPackage: false, // ioredis, not node-redis
          // Fail over to the insurance at once instead of queueing behind a reconnecting client.
          rejectIfRedisNotReady: true,
          insuranceLimiter: memory,
        });
        limiters.push({ scope, window, store, memory });
      } else {
        const memory = new RateLimiterMemory(limiterOpts);
        limiters.push({ scope, window, store: memory, memory });
      }
    }
  }
  const pointsByWindow = new Map(limiters.map((l) => [`${l.scope}:${l.window.durationSec}`, l.window.points]));

  /** One report per operation, however many windows it touched. */
  function report(failed: boolean, what: string): void {
    if (!failed || !redis || !onStoreFailure) return;
    onStoreFailure(
      new Error(`rate-limit store failed during ${what} (redis status: ${redis.status}); counting in this process's memory`),
    );
  }

  function keyFor(scope: ThrottleScope, ip: string, user: string): string {
    return scope === 'ip' ? ip : scope === 'user' ? user : `${user}|${ip}`;
  }

  /**
   * Every window's count in one round trip and one command: a script that GETs and PTTLs each
   * window's key, read as rate-limiter-flexible's own `get` reads them, instead of one MULTI per
   * window (measured: most of a throttled attempt's CPU went to building and timing those commands).
   * When Redis is not ready or fails, memory answers for every window; never "no limit".
   */
  async function readAll(keys: readonly string[]): Promise<{ counts: Array<Count | null>; failed: boolean }> {
    if (redis && redis.status === 'ready') {
      try {
        const rlKeys = limiters.map((l, i) => l.store.getKey(keys[i]!));
        const reply = (await redis.eval(READ_WINDOWS_SCRIPT, rlKeys.length, ...rlKeys)) as Array<string | number | null>;
        const counts = limiters.map((_, i) => {
          const points = reply[2 * i];
          return typeof points === 'string' ? { consumedPoints: Number.parseInt(points, 10), msBeforeNext: Number(reply[2 * i + 1]) } : null;
        });
        return { counts, failed: false };
      } catch {
        // Redis failed: memory answers below.
      }
    }
    const counts = await Promise.all(limiters.map((l, i) => l.memory.get(keys[i]!)));
    return { counts, failed: redis !== undefined };
  }

  async function add(l: Limiter, key: string): Promise<boolean> {
    const marker = {};
    let res: RateLimiterRes;
    try {
      res = await l.store.penalty(key, 1, marker);
    } catch (err) {
      if (err instanceof RateLimiterRes) return false;
      await l.memory.penalty(key, 1);
      return true;
    }
    if (served.has(marker)) return true;
    // Redis answered: keep memory at Redis's count (which includes other replicas' failures), so
    // that if Redis goes away the insurance starts from what we last knew rather than from zero.
    if (l.store !== l.memory && res.msBeforeNext > 0) {
      await l.memory.set(key, res.consumedPoints, res.msBeforeNext / 1000);
    }
    return false;
  }

  async function remove(l: Limiter, key: string): Promise<boolean> {
    const marker = {};
    let failed = false;
    try {
      await l.store.delete(key, marker);
      failed = served.has(marker);
    } catch (err) {
      failed = !(err instanceof RateLimiterRes);
    }
    if (l.store !== l.memory) await l.memory.delete(key);
    return failed;
  }

  // Usernames are keys, in the users file's one spelling (NFKC, lower case): `Alice` and `ａｌｉｃｅ`
  // share a budget. Each scope has its own key prefix, so no username can collide with an address.
  function subject(ip: string, username: string): { ip: string; user: string } {
    return { ip: addressKey(ip), user: normaliseUsername(username) };
  }

  /** Redis key → when the window it reported full ends, and when it said so. Only with Redis. */
  const refusals = new Map<string, { readonly until: number; readonly seen: number }>();
  const now = opts.now ?? Date.now;

  /** How long a refusal Redis gave for this key less than REFUSAL_MEMORY_MS ago still runs; 0 when none. */
  function rememberedMs(rlKey: string, at: number): number {
    const r = refusals.get(rlKey);
    return r !== undefined && at - r.seen < REFUSAL_MEMORY_MS && r.until > at ? r.until - at : 0;
  }

  /** A remembered refusal for one of these windows, still running. */
  function rememberedRefusal(keys: readonly string[], at: number): ThrottleCheck | undefined {
    let retryMs = 0;
    for (let i = 0; i < limiters.length; i++) retryMs = Math.max(retryMs, rememberedMs(limiters[i]!.store.getKey(keys[i]!), at));
    return retryMs > 0 ? refusedFor(retryMs) : undefined;
  }

  function rememberRefusal(rlKey: string, msLeft: number, at: number): void {
    if (refusals.size >= REFUSAL_MEMORY_MAX) {
      for (const [k, r] of refusals) if (at - r.seen >= REFUSAL_MEMORY_MS) refusals.delete(k);
      if (refusals.size >= REFUSAL_MEMORY_MAX) refusals.clear();
    }
    refusals.set(rlKey, { until: at + msLeft, seen: at });
  }

  const addressLimiters = limiters.filter((l) => l.scope === 'ip');

  async function addressRefusal(ip: string): Promise<ThrottleCheck | undefined> {
    if (addressLimiters.length === 0) return undefined;
    const key = addressKey(ip);
    const at = now();
    let retryMs = 0;
    for (const l of addressLimiters) {
      if (redis) {
        retryMs = Math.max(retryMs, rememberedMs(l.store.getKey(key), at));
      } else {
        const res = await l.memory.get(key);
        if (res !== null && isLive(res) && res.consumedPoints >= l.window.points) retryMs = Math.max(retryMs, res.msBeforeNext);
      }
    }
    return retryMs > 0 ? refusedFor(retryMs) : undefined;
  }

  async function check(ip: string, username: string): Promise<ThrottleCheck> {
    const s = subject(ip, username);
    const keys = limiters.map((l) => keyFor(l.scope, s.ip, s.user));
    const started = now();
    if (redis) {
      const remembered = rememberedRefusal(keys, started);
      if (remembered) return remembered;
    }
    const { counts, failed } = await readAll(keys);
    report(failed, 'check');
    let retryMs = 0;
    let blocked = false;
    for (let i = 0; i < limiters.length; i++) {
      const res = counts[i];
      if (res === null || res === undefined || !isLive(res)) continue;
      if (res.consumedPoints >= limiters[i]!.window.points) {
        blocked = true;
        retryMs = Math.max(retryMs, res.msBeforeNext);
        // Only what Redis said: memory's answers during an outage are not worth remembering.
        if (redis && !failed && res.msBeforeNext > 0) rememberRefusal(limiters[i]!.store.getKey(keys[i]!), res.msBeforeNext, started);
      }
    }
    return blocked ? refusedFor(retryMs) : { allowed: true };
  }

  async function recordFailure(ip: string, username: string): Promise<void> {
    const s = subject(ip, username);
    const failed = await Promise.all(limiters.map((l) => add(l, keyFor(l.scope, s.ip, s.user))));
    report(failed.includes(true), 'recordFailure');
  }

  async function recordSuccess(ip: string, username: string): Promise<void> {
    const s = subject(ip, username);
    const pair = limiters.filter((l) => l.scope === 'user+ip');
    for (const l of pair) refusals.delete(l.store.getKey(keyFor(l.scope, s.ip, s.user)));
    const failed = await Promise.all(pair.map((l) => remove(l, keyFor(l.scope, s.ip, s.user))));
    report(failed.includes(true), 'recordSuccess');
  }

  /** Every live counter as (limiter scope, duration, key, count, ms left). */
  async function counters(): Promise<Counter[]> {
    if (!redis) {
      const now = Date.now();
      const out: Counter[] = [];
      for (const l of limiters) {
        for (const record of l.memory.dump().storage) {
          const msLeft = record.expiresAt === null ? Infinity : record.expiresAt - now;
          if (msLeft <= 0) continue;
          const { scope, window } = l;
          out.push({ scope, durationSec: window.durationSec, key: String(record.key), consumed: record.value, msLeft });
        }
      }
      return out;
    }
    const keys = await scanKeys(redis, `${escapeGlob(prefix)}:*`);
    const out: Counter[] = [];
    for (let i = 0; i < keys.length; i += 500) {
      const batch = keys.slice(i, i + 500);
      const pipeline = redis.pipeline();
      for (const k of batch) pipeline.get(k).pttl(k);
      const results = (await pipeline.exec()) ?? [];
      batch.forEach((redisKey, j) => {
        const [getErr, value] = results[2 * j] ?? [];
        const [ttlErr, ttl] = results[2 * j + 1] ?? [];
        if (getErr) throw getErr;
        if (ttlErr) throw ttlErr;
        const parsed = parseRedisKey(prefix, redisKey);
        const consumed = Number(value);
        // Gone since the SCAN (-2), or not one of ours.
        if (parsed === undefined || value === null || !Number.isFinite(consumed)) return;
        const msLeft = typeof ttl === 'number' && ttl >= 0 ? ttl : ttl === -1 ? Infinity : 0;
        if (msLeft <= 0) return;
        out.push({ ...parsed, consumed, msLeft });
      });
    }
    return out;
  }

  async function list(): Promise<ThrottleEntry[]> {
    const rows = new Map<string, ThrottleEntry>();
    for (const c of await counters()) {
      const id = `${c.scope}\n${c.key}`;
      let row = rows.get(id);
      if (row === undefined) {
        row = { scope: c.scope, key: c.key, failures: 0, blockedForSec: 0 };
        rows.set(id, row);
      }
      row.failures = Math.max(row.failures, c.consumed);
      const points = pointsByWindow.get(`${c.scope}:${c.durationSec}`);
      if (points !== undefined && c.consumed >= points && Number.isFinite(c.msLeft)) {
        row.blockedForSec = Math.max(row.blockedForSec, Math.ceil(c.msLeft / 1000));
      }
    }
    return [...rows.values()].sort((a, b) => a.scope.localeCompare(b.scope) || a.key.localeCompare(b.key));
  }

  async function clear(by: { ip?: string; user?: string }): Promise<number> {
    const ip = by.ip === undefined ? undefined : addressKey(by.ip.trim());
    const user = by.user === undefined ? undefined : normaliseUsername(by.user);
    const everything = ip === undefined && user === undefined;
    const matches = (c: { scope: ThrottleScope; key: string }): boolean => {
      if (everything) return true;
      if (c.scope === 'ip') return c.key === ip;
      if (c.scope === 'user') return c.key === user;
      const bar = c.key.lastIndexOf('|');
      return c.key.slice(0, bar) === user || c.key.slice(bar + 1) === ip;
    };

    // What this process remembers of Redis's refusals goes at once; other replicas forget within REFUSAL_MEMORY_MS.
    refusals.clear();
    const doomed = (await counters()).filter(matches);
    const cleared = new Set(doomed.map((c) => `${c.scope}\n${c.key}`));
    if (redis) {
      const keys = doomed.map((c) => `${prefix}:${c.scope}:${c.durationSec}:${c.key}`);
      for (let i = 0; i < keys.length; i += 500) await redis.del(...keys.slice(i, i + 500));
    }
    // Memory: the counters themselves, or the insurance that must not outlive them.
    for (const l of limiters) {
      for (const record of l.memory.dump().storage) {
        const key = String(record.key);
        if (matches({ scope: l.scope, key })) await l.memory.delete(key);
      }
    }
    return cleared.size;
  }

  return { check, addressRefusal, recordFailure, recordSuccess, list, clear };
}

interface Counter {
  scope: ThrottleScope;
  durationSec: number;
  key: string;
  consumed: number;
  msLeft: number;
}

/** The address a counter is kept for: IPv4 as is, IPv6 as its /64. Anything else as given. */
export function addressKey(ip: string): string {
  const canonical = parseIp(ip);
  if (canonical === undefined || !canonical.includes(':')) return canonical ?? ip;
  const parts = ipaddr.IPv6.parse(canonical).parts.slice(0, 4);
  return `${new ipaddr.IPv6([...parts, 0, 0, 0, 0]).toString()}/64`;
}

/** `<prefix>:<scope>:<durationSec>:<key>`; undefined for anything else under the prefix. */
function parseRedisKey(prefix: string, redisKey: string): { scope: ThrottleScope; durationSec: number; key: string } | undefined {
  if (!redisKey.startsWith(`${prefix}:`)) return undefined;
  const rest = redisKey.slice(prefix.length + 1);
  const a = rest.indexOf(':');
  const b = a < 0 ? -1 : rest.indexOf(':', a + 1);
  if (b < 0) return undefined;
  const scope = rest.slice(0, a);
  const durationSec = Number(rest.slice(a + 1, b));
  if (!(SCOPES as readonly string[]).includes(scope) || !Number.isSafeInteger(durationSec)) return undefined;
  return { scope: scope as ThrottleScope, durationSec, key: rest.slice(b + 1) };
}

async function scanKeys(redis: Redis, pattern: string): Promise<string[]> {
  const keys = new Set<string>();
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
    for (const k of batch) keys.add(k);
    cursor = next;
  } while (cursor !== '0');
  return [...keys];
}

function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}

/** A refusal whose window ends in `retryMs`: Retry-After in whole seconds, at least 1. */
export function refusedFor(retryMs: number): ThrottleCheck {
  return { allowed: false, retryAfterSec: Math.max(1, Math.ceil(retryMs / 1000)) };
}

/** For each key, its count (nil when absent) and its PTTL: a flat list, two entries per key. */
const READ_WINDOWS_SCRIPT = `
local out = {}
for i, key in ipairs(KEYS) do
  out[2 * i - 1] = redis.call('GET', key)
  out[2 * i] = redis.call('PTTL', key)
end
return out`;

/** A window's count as Redis or memory reports it; `msBeforeNext` -1 means the counter has no expiry. */
interface Count {
  readonly consumedPoints: number;
  readonly msBeforeNext: number;
}

/** Memory keeps an expired record until its timer fires; it no longer counts. */
function isLive(res: Count): boolean {
  return res.msBeforeNext > 0 || res.msBeforeNext === -1;
}

function windowsOf(spec: string): RateWindow[] {
  const parsed = parseRateLimit(spec);
  if (!parsed.ok) throw new Error(`default throttle '${spec}' ${parsed.error}`);
  return parsed.windows;
}
