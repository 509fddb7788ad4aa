import type { Redis } from 'ioredis';
import { parseRateLimit, type RateWindow } from './rate-limit-spec.js';
import { createCounterStore, type FixedWindow } from './throttle-counters.js';
import { addressKey, countersConcerning, throttleEntries, type ThrottleEntry, type ThrottleScope } from './throttle-listing.js';
import { DEFAULT_DEVICE_SPEC, DEFAULT_THROTTLE_SPECS } from './throttle-defaults.js';
import { createRefusalMemory, type NOT_AT_HAND, type ThrottleCheck } from './throttle-refusals.js';
import { createWindowGroup, type WindowGroup } from './throttle-windows.js';
import { normaliseUsername } from './username.js';

export { addressKey, type ThrottleEntry, type ThrottleScope } from './throttle-listing.js';
export { NOT_AT_HAND, refusedFor, type ThrottleCheck } from './throttle-refusals.js';
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
  /** The same answer without waiting, when it needs no counter read (with Redis); NOT_AT_HAND otherwise. */
  addressRefusalNow(ip: string): ThrottleCheck | undefined | typeof NOT_AT_HAND;
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
  const pointsByWindow = new Map(limiters.map((l) => [`${l.scope}:${l.durationSec}`, l.points]));
  /** Refusals Redis gave, believed for a moment without asking again. Only with Redis. */
  const refusals = createRefusalMemory(redis !== undefined);
  const memory = { refusals, now: opts.now ?? Date.now, shared: redis !== undefined };
  const account = createWindowGroup(limiters.filter((l) => l.scope !== 'device'), memory);
  const address = createWindowGroup(limiters.filter((l) => l.scope === 'ip'), memory);
  const device = createWindowGroup(limiters.filter((l) => l.scope === 'device'), memory);

  // Usernames are keys, in the users file's one spelling (NFKC, lower case): `Alice` and `ａｌｉｃｅ`
  // share a budget. Each scope has its own key prefix, so no username can collide with an address.
  function keysOf(ip: string, username: string): string[] {
    const a = addressKey(ip);
    const u = normaliseUsername(username);
    return account.windows.map((l) => (l.scope === 'ip' ? a : l.scope === 'user' ? u : `${u}|${a}`));
  }

  /** The same key in every window of the group. */
  const everyWindow = (group: WindowGroup, key: string): string[] => group.windows.map(() => key);

  return {
    take: (ip, username) => account.take(keysOf(ip, username)),
    takeAddress: (ip) => address.take(everyWindow(address, addressKey(ip))),
    takeDevice: (deviceId) => device.take(everyWindow(device, deviceId)),
    check: (ip, username) => account.check(keysOf(ip, username)),
    addressRefusal: (ip) => address.knownRefusal(addressKey(ip)),
    addressRefusalNow: (ip) => address.knownRefusalNow(addressKey(ip)),

    async deviceSuccess(deviceId) {
      await Promise.all(device.windows.map((l) => device.end(l, deviceId)));
    },

    async recordSuccess(ip, username) {
      const keys = keysOf(ip, username);
      await Promise.all(account.windows.map((l, i) => (l.scope === 'user+ip' ? account.end(l, keys[i]!) : l.giveBack(keys[i]!))));
    },

    async list() {
      return throttleEntries(await store.counters(), pointsByWindow);
    },

    async clear(by) {
      const matches = countersConcerning(by);
      // What this process remembers of Redis's refusals goes at once; other replicas forget within a second.
      refusals.clear();
      const removed = await store.remove(matches);
      return new Set(removed.map((c) => `${c.scope}\n${c.key}`)).size;
    },
  };
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
