/**
 * The login throttle's memory of the refusals Redis gave (login-throttle.ts): which window was full
 * for which key, and until when. Only with Redis; without it the counters are in memory already.
 */
import type { FixedWindow } from './throttle-counters.js';

/** A refusal names the scope of the window that refused longest (`ip`, `user`, `user+ip`, `device`), when known. */
/** What a throttle answers without waiting when only a counter read can tell (LoginThrottle.addressRefusalNow). */
export const NOT_AT_HAND: unique symbol = Symbol('not at hand');

export type ThrottleCheck = { allowed: true } | { allowed: false; retryAfterSec: number; scope?: string };

/**
 * How long a full window that Redis reported is believed without asking again: an address that keeps
 * trying while refused costs no Redis round trip, and `postern throttle clear` (or a window ending)
 * is seen by every replica within this time. Redis is the only place a window can be emptied early.
 */
const REFUSAL_MEMORY_MS = 1_000;
const REFUSAL_MEMORY_MAX = 10_000;

export interface RefusalMemory {
  /** How long a refusal Redis gave for this window and key less than REFUSAL_MEMORY_MS ago still runs; 0 when none. */
  msLeft(l: FixedWindow, key: string, at: number): number;
  /** A remembered refusal for one of these windows (each with its key), still running. */
  refusal(ls: readonly FixedWindow[], keys: readonly string[], at: number): ThrottleCheck | undefined;
  /** Redis said this window is full for this key for another `msLeft`. */
  remember(l: FixedWindow, key: string, msLeft: number, at: number): void;
  forget(l: FixedWindow, key: string): void;
  /** Forgets everything: other replicas forget within REFUSAL_MEMORY_MS. */
  clear(): void;
}

/** With `enabled` false (no Redis), nothing is remembered and nothing is found. */
export function createRefusalMemory(enabled: boolean): RefusalMemory {
  /** Window and key → when the window Redis reported full ends, and when it said so. */
  const refusals = new Map<string, { readonly until: number; readonly seen: number }>();
  const refusalId = (l: FixedWindow, key: string) => `${l.scope}:${l.durationSec}:${key}`;

  function msLeft(l: FixedWindow, key: string, at: number): number {
    const r = refusals.get(refusalId(l, key));
    return r !== undefined && at - r.seen < REFUSAL_MEMORY_MS && r.until > at ? r.until - at : 0;
  }

  function refusal(ls: readonly FixedWindow[], keys: readonly string[], at: number): ThrottleCheck | undefined {
    if (!enabled) return undefined;
    let retryMs = 0;
    let scope: string | undefined;
    for (let i = 0; i < ls.length; i++) {
      const ms = msLeft(ls[i]!, keys[i]!, at);
      if (ms > retryMs) [retryMs, scope] = [ms, ls[i]!.scope];
    }
    return retryMs > 0 ? refusedFor(retryMs, scope) : undefined;
  }

  function remember(l: FixedWindow, key: string, left: number, at: number): void {
    if (!enabled || left <= 0) return;
    if (refusals.size >= REFUSAL_MEMORY_MAX) {
      for (const [k, r] of refusals) if (at - r.seen >= REFUSAL_MEMORY_MS) refusals.delete(k);
      if (refusals.size >= REFUSAL_MEMORY_MAX) refusals.clear();
    }
    refusals.set(refusalId(l, key), { until: at + left, seen: at });
  }

  return {
    msLeft,
    refusal,
    remember,
    forget: (l, key) => void refusals.delete(refusalId(l, key)),
    clear: () => refusals.clear(),
  };
}

/** A refusal whose window ends in `retryMs`: Retry-After in whole seconds, at least 1. */
export function refusedFor(retryMs: number, scope?: string): ThrottleCheck {
  return { allowed: false, retryAfterSec: Math.max(1, Math.ceil(retryMs / 1000)), ...(scope === undefined ? {} : { scope }) };
}
