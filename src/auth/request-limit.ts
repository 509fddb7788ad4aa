import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { addressKey, refusedFor, type ThrottleCheck } from './login-throttle.js';
import type { RateWindow } from './rate-limit-spec.js';

/**
 * Counts requests (not failures) per client address in fixed windows, for endpoints that store
 * something for every request they accept: `/oidc/<id>/start` keeps a sign-in in flight in the
 * session store for up to fifteen minutes, `/login/passkey/options` a challenge. IPv6 addresses count per /64, as the login throttle does.
 */
export interface RequestLimit {
  /** Counts one request from `ip`; refused when any window is already full. */
  take(ip: string): Promise<ThrottleCheck>;
}

/** Where the counters of `/oidc/<id>/start` live in Redis. */
export const OIDC_START_LIMIT_PREFIX = 'postern:oidc-start';
/** Where the counters of `/login/passkey/options` (a passwordless passkey sign-in started) live in Redis. */
export const PASSKEY_START_LIMIT_PREFIX = 'postern:passkey-start';

export interface RequestLimitOptions {
  /** Shared counters for every replica; without it, counters live in this process. */
  readonly redis?: Redis;
  readonly keyPrefix: string;
}

export function createRequestLimit(windows: readonly RateWindow[], opts: RequestLimitOptions): RequestLimit {
  const limiters = windows.map((window) => {
    const base = { points: window.points, duration: window.durationSec, keyPrefix: `${opts.keyPrefix}:${window.durationSec}` };
    if (!opts.redis) return new RateLimiterMemory(base);
    // Redis failing, this process's memory counts instead: a limit is never lifted by an outage.
    return new RateLimiterRedis({ ...base, storeClient: opts.redis, useRedisPackage: false, rejectIfRedisNotReady: true, insuranceLimiter: new RateLimiterMemory(base) });
  });
  return {
    async take(ip) {
      const key = addressKey(ip);
      const refusals = await Promise.all(
        limiters.map((limiter) =>
          limiter.consume(key).then(
            () => 0,
            (err: unknown) => {
              if (err instanceof RateLimiterRes) return Math.max(1, err.msBeforeNext);
              throw err;
            },
          ),
        ),
      );
      const retryMs = Math.max(0, ...refusals);
      return retryMs > 0 ? refusedFor(retryMs) : { allowed: true };
    },
  };
}
