/**
 * A group of fixed windows asked as one (login-throttle.ts decides which windows and which keys an
 * attempt concerns; this module, how they are asked):
 * - take: one point from every window, atomically per window; a refusal gives every point back and
 *   names the scope of the window that refused longest.
 * - check: the same answer without taking anything.
 * - A refusal Redis gave is believed for a moment without asking again (throttle-refusals.ts);
 *   what memory answered during an outage is not remembered.
 */
import { isLive, type FixedWindow } from './throttle-counters.js';
import { NOT_AT_HAND, refusedFor, type RefusalMemory, type ThrottleCheck } from './throttle-refusals.js';

/** What every group of one throttle shares. */
export interface WindowMemory {
  readonly refusals: RefusalMemory;
  readonly now: () => number;
  /** Redis holds the counters: a refusal can be known without asking (it is remembered). */
  readonly shared: boolean;
}

export interface WindowGroup {
  readonly windows: readonly FixedWindow[];
  /** One point from each window, each window's key given (`keys[i]` for `windows[i]`); a refusal keeps none of them. */
  take(keys: readonly string[]): Promise<ThrottleCheck>;
  /** What take would get now, without taking anything. */
  check(keys: readonly string[]): Promise<ThrottleCheck>;
  /**
   * A refusal for `key` in every window, when one is known without asking Redis (a refusal it gave
   * less than a second ago; without Redis, the counters in memory). Undefined: not known to be refused.
   */
  knownRefusal(key: string): Promise<ThrottleCheck | undefined>;
  /**
   * The same answer without waiting, when it needs no counter read (with Redis: from the refusals
   * remembered); NOT_AT_HAND without Redis, whose memory counters are read asynchronously.
   */
  knownRefusalNow(key: string): ThrottleCheck | undefined | typeof NOT_AT_HAND;
  /** Ends the counter of `key` in one of the windows, and forgets its remembered refusal. */
  end(window: FixedWindow, key: string): Promise<void>;
}

export function createWindowGroup(windows: readonly FixedWindow[], memory: WindowMemory): WindowGroup {
  const { refusals, now } = memory;

  async function take(keys: readonly string[]): Promise<ThrottleCheck> {
    const started = now();
    const remembered = refusals.refusal(windows, keys, started);
    if (remembered) return remembered;
    const taken = await Promise.all(windows.map((l, i) => l.take(keys[i]!)));
    let retryMs = 0;
    let scope: string | undefined;
    taken.forEach((t, i) => {
      if (t.granted) return;
      if (scope === undefined || t.msLeft > retryMs) [retryMs, scope] = [Math.max(retryMs, t.msLeft), windows[i]!.scope];
      // Only what Redis said: memory's answers during an outage are not worth remembering.
      if (!t.fromMemory) refusals.remember(windows[i]!, keys[i]!, t.msLeft, started);
    });
    if (taken.every((t) => t.granted)) return { allowed: true };
    // A refused attempt counts nowhere: every window gets its point back. Otherwise one address
    // hammering its own full window would go on filling the per-user window and lock the owner out.
    await Promise.all(windows.map((l, i) => l.giveBack(keys[i]!)));
    return refusedFor(retryMs, scope);
  }

  async function check(keys: readonly string[]): Promise<ThrottleCheck> {
    const started = now();
    const remembered = refusals.refusal(windows, keys, started);
    if (remembered) return remembered;
    const counts = await Promise.all(windows.map((l, i) => l.peek(keys[i]!)));
    let retryMs = 0;
    let blocked = false;
    let scope: string | undefined;
    counts.forEach((c, i) => {
      const l = windows[i]!;
      if (c === null || !isLive(c) || c.consumed < l.points) return;
      if (!blocked || c.msLeft > retryMs) scope = l.scope;
      blocked = true;
      retryMs = Math.max(retryMs, c.msLeft);
      if (!c.fromMemory) refusals.remember(l, keys[i]!, c.msLeft, started);
    });
    return blocked ? refusedFor(retryMs, scope) : { allowed: true };
  }

  async function knownRefusal(key: string): Promise<ThrottleCheck | undefined> {
    if (memory.shared) return rememberedRefusal(key);
    const at = now();
    let retryMs = 0;
    let scope: string | undefined;
    for (const l of windows) {
      let ms = 0;
      const count = await l.peek(key);
      if (count !== null && isLive(count) && count.consumed >= l.points) ms = count.msLeft;
      if (ms > retryMs) [retryMs, scope] = [ms, l.scope];
    }
    return retryMs > 0 ? refusedFor(retryMs, scope) : undefined;
  }

  /** With Redis: the longest refusal remembered for `key` in any window. */
  function rememberedRefusal(key: string): ThrottleCheck | undefined {
    const at = now();
    let retryMs = 0;
    let scope: string | undefined;
    for (const l of windows) {
      const ms = refusals.msLeft(l, key, at);
      if (ms > retryMs) [retryMs, scope] = [ms, l.scope];
    }
    return retryMs > 0 ? refusedFor(retryMs, scope) : undefined;
  }

  function end(window: FixedWindow, key: string): Promise<void> {
    refusals.forget(window, key);
    return window.clear(key);
  }

  const knownRefusalNow = (key: string): ThrottleCheck | undefined | typeof NOT_AT_HAND => (memory.shared ? rememberedRefusal(key) : NOT_AT_HAND);

  return { windows, take, check, knownRefusal, knownRefusalNow, end };
}
