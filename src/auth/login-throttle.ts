import type { Redis } from 'ioredis';
import { parseRateLimit, type RateWindow } from './rate-limit-spec.js';
import { createCounterStore, isLive, type FixedWindow } from './throttle-counters.js';
import { addressKey, countersConcerning, throttleEntries, type ThrottleEntry, type ThrottleScope } from './throttle-listing.js';
import { DEFAULT_DEVICE_SPEC, DEFAULT_THROTTLE_SPECS } from './throttle-defaults.js';
import { createRefusalMemory, refusedFor, type ThrottleCheck } from './throttle-refusals.js';
import { normaliseUsername } from './username.js';

export { addressKey, type ThrottleEntry, type ThrottleScope } from './throttle-listing.js';
export { refusedFor, type ThrottleCheck } from './throttle-refusals.js';
export { DEFAULT_DEVICE_SPEC, DEFAULT_THROTTLE_SPECS } from './throttle-defaults.js';

/**
 * Failed-login throttling in three scopes, each with one or more fixed windows:
 *   ip       failures from one address, whatever the username (guessing across many accounts);
 *   user     failures for one username, from anywhere (guessing one account from many addresses);
 *   user+ip  failures for one username from one address (the common case, cleared by a success).
 * IPv6 addresses count per /64: one host usually holds a whole /64 and could otherwise step
 * through it to get a fresh budget for every attempt.
 * A fourth scope, device, counts the attempts of one trusted browser (see device-trust.ts), which
 * are judged by it alone instead of the three above.
 */

export interface ThrottleConfig {
  perIp: RateWindow[];
  perUser: RateWindow[];
  perUserIp: RateWindow[];
  /** A trusted device's own windows; DEFAULT_DEVICE_SPEC when absent. */
  perDevice?: RateWindow[];
}

export interface LoginThrottle {
  /**
   * An attempt, before any password work: one point from every window of the three scopes, taken
   * atomically per window, so that N concurrent attempts against a limit of L get at most L through.
   * A refused attempt keeps none of its points.
   */
  take(ip: string, username: string): Promise<ThrottleCheck>;
  /** A request that could not be an attempt at all (a malformed or oversized form): one point from the address's windows. */
  takeAddress(ip: string): Promise<ThrottleCheck>;
  /** An attempt from a trusted device: one point from each of the device's own windows, and nothing else. */
  takeDevice(deviceId: string): Promise<ThrottleCheck>;
  /** After a right password from a trusted device: its counters end. */
  deviceSuccess(deviceId: string): Promise<void>;
  /** What an attempt would get now, without taking anything. */
  check(ip: string, username: string): Promise<ThrottleCheck>;
  /**
   * Before the request is even read: a refusal for the address alone, when one is known without
   * asking Redis (a refusal Redis gave less than a second ago; without Redis, the counters in memory).
   * Undefined means "not known to be refused": take() still decides.
   */
  addressRefusal(ip: string): Promise<ThrottleCheck | undefined>;
  /**
   * After a right password: ends the username-and-address counters, and gives the address and
   * username windows back the point this attempt took (they count failures, including other people's).
   */
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
  /** Redis failed and this process's memory answered instead: called once per outage. */
  onStoreFailure?: (err: Error) => void;
  /** The clock of the refusal memory (see throttle-refusals.ts); Redis keeps its own time for the windows. */
  now?: () => number;
}

export const DEFAULT_THROTTLE_CONFIG: Readonly<ThrottleConfig> = Object.freeze({
  perIp: windowsOf(DEFAULT_THROTTLE_SPECS.perIp),
  perUser: windowsOf(DEFAULT_THROTTLE_SPECS.perUser),
  perUserIp: windowsOf(DEFAULT_THROTTLE_SPECS.perUserIp),
});

const DEFAULT_KEY_PREFIX = 'postern:throttle';
const SCOPES: readonly ThrottleScope[] = ['ip', 'user', 'user+ip', 'device'];

export function createLoginThrottle(cfg: ThrottleConfig, opts: LoginThrottleOptions = {}): LoginThrottle {
  const { redis } = opts;
  const store = createCounterStore({ redis, keyPrefix: opts.keyPrefix ?? DEFAULT_KEY_PREFIX, onStoreFailure: opts.onStoreFailure });
  const limiters: FixedWindow[] = [];
  for (const scope of SCOPES) {
    const windows = scope === 'ip' ? cfg.perIp : scope === 'user' ? cfg.perUser : scope === 'user+ip' ? cfg.perUserIp : (cfg.perDevice ?? windowsOf(DEFAULT_DEVICE_SPEC));
    for (const window of windows) {
      checkWindow(scope, window);
      limiters.push(store.window(scope, window));
    }
  }
  const deviceLimiters = limiters.filter((l) => l.scope === 'device');
  const accountLimiters = limiters.filter((l) => l.scope !== 'device');
  const pointsByWindow = new Map(limiters.map((l) => [`${l.scope}:${l.durationSec}`, l.points]));

  function keyFor(scope: string, ip: string, user: string): string {
    return scope === 'ip' ? ip : scope === 'user' ? user : `${user}|${ip}`;
  }

  // Usernames are keys, in the users file's one spelling (NFKC, lower case): `Alice` and `ａｌｉｃｅ`
  // share a budget. Each scope has its own key prefix, so no username can collide with an address.
  function keysOf(ip: string, username: string): string[] {
    const a = addressKey(ip);
    const u = normaliseUsername(username);
    return accountLimiters.map((l) => keyFor(l.scope, a, u));
  }

  /** Refusals Redis gave, believed for a moment without asking again. Only with Redis. */
  const refusals = createRefusalMemory(redis !== undefined);
  const now = opts.now ?? Date.now;

  const addressLimiters = limiters.filter((l) => l.scope === 'ip');

  async function addressRefusal(ip: string): Promise<ThrottleCheck | undefined> {
    if (addressLimiters.length === 0) return undefined;
    const key = addressKey(ip);
    const at = now();
    let retryMs = 0;
    for (const l of addressLimiters) {
      if (redis) {
        retryMs = Math.max(retryMs, refusals.msLeft(l, key, at));
      } else {
        const count = await l.peek(key);
        if (count !== null && isLive(count) && count.consumed >= l.points) retryMs = Math.max(retryMs, count.msLeft);
      }
    }
    return retryMs > 0 ? refusedFor(retryMs, 'ip') : undefined;
  }

  /** One point from each window, each window's key given; a refusal keeps none of them. */
  async function takeFrom(ls: readonly FixedWindow[], keys: readonly string[]): Promise<ThrottleCheck> {
    const started = now();
    const remembered = refusals.refusal(ls, keys, started);
    if (remembered) return remembered;
    const taken = await Promise.all(ls.map((l, i) => l.take(keys[i]!)));
    let retryMs = 0;
    let scope: string | undefined;
    taken.forEach((t, i) => {
      if (t.granted) return;
      if (scope === undefined || t.msLeft > retryMs) [retryMs, scope] = [Math.max(retryMs, t.msLeft), ls[i]!.scope];
      // Only what Redis said: memory's answers during an outage are not worth remembering.
      if (!t.fromMemory) refusals.remember(ls[i]!, keys[i]!, t.msLeft, started);
    });
    if (taken.every((t) => t.granted)) return { allowed: true };
    // A refused attempt counts nowhere: every window gets its point back. Otherwise one address
    // hammering its own full window would go on filling the per-user window and lock the owner out.
    await Promise.all(ls.map((l, i) => l.giveBack(keys[i]!)));
    return refusedFor(retryMs, scope);
  }

  function take(ip: string, username: string): Promise<ThrottleCheck> {
    return takeFrom(accountLimiters, keysOf(ip, username));
  }

  function takeAddress(ip: string): Promise<ThrottleCheck> {
    const key = addressKey(ip);
    return takeFrom(
      addressLimiters,
      addressLimiters.map(() => key),
    );
  }

  function takeDevice(deviceId: string): Promise<ThrottleCheck> {
    return takeFrom(
      deviceLimiters,
      deviceLimiters.map(() => deviceId),
    );
  }

  async function deviceSuccess(deviceId: string): Promise<void> {
    await Promise.all(
      deviceLimiters.map((l) => {
        refusals.forget(l, deviceId);
        return l.clear(deviceId);
      }),
    );
  }

  async function check(ip: string, username: string): Promise<ThrottleCheck> {
    const keys = keysOf(ip, username);
    const started = now();
    const remembered = refusals.refusal(accountLimiters, keys, started);
    if (remembered) return remembered;
    const counts = await Promise.all(accountLimiters.map((l, i) => l.peek(keys[i]!)));
    let retryMs = 0;
    let blocked = false;
    let scope: string | undefined;
    counts.forEach((c, i) => {
      const l = accountLimiters[i]!;
      if (c === null || !isLive(c) || c.consumed < l.points) return;
      if (!blocked || c.msLeft > retryMs) scope = l.scope;
      blocked = true;
      retryMs = Math.max(retryMs, c.msLeft);
      if (!c.fromMemory) refusals.remember(l, keys[i]!, c.msLeft, started);
    });
    return blocked ? refusedFor(retryMs, scope) : { allowed: true };
  }

  async function recordSuccess(ip: string, username: string): Promise<void> {
    const keys = keysOf(ip, username);
    await Promise.all(
      accountLimiters.map((l, i) => {
        if (l.scope !== 'user+ip') return l.giveBack(keys[i]!);
        refusals.forget(l, keys[i]!);
        return l.clear(keys[i]!);
      }),
    );
  }

  async function list(): Promise<ThrottleEntry[]> {
    return throttleEntries(await store.counters(), pointsByWindow);
  }

  async function clear(by: { ip?: string; user?: string }): Promise<number> {
    const matches = countersConcerning(by);
    // What this process remembers of Redis's refusals goes at once; other replicas forget within a second.
    refusals.clear();
    const removed = await store.remove(matches);
    return new Set(removed.map((c) => `${c.scope}\n${c.key}`)).size;
  }

  return { take, takeAddress, takeDevice, deviceSuccess, check, addressRefusal, recordSuccess, list, clear };
}

function checkWindow(scope: string, window: RateWindow): void {
  if (!(Number.isSafeInteger(window.points) && window.points > 0)) {
    throw new Error(`throttle ${scope}: points must be a positive integer, got ${window.points}`);
  }
  if (!(Number.isSafeInteger(window.durationSec) && window.durationSec > 0)) {
    throw new Error(`throttle ${scope}: durationSec must be a positive integer, got ${window.durationSec}`);
  }
}

function windowsOf(spec: string): RateWindow[] {
  const parsed = parseRateLimit(spec);
  if (!parsed.ok) throw new Error(`default throttle '${spec}' ${parsed.error}`);
  return parsed.windows;
}
