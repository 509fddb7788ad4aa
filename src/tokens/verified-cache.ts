/**
 * Verified credentials, remembered for a moment: the exact text a client presented (an app password,
 * or a decoded Basic pair; Credential.source in http/credentials.ts) → what it was verified as, so a client that
 * sends the same value on every request pays the SHA-256 / HMAC and the lookups once per window.
 *
 * Bounds, so that it changes nothing a person can observe:
 * - every entry is dropped at the end of its window (ttlMs, at most the session read cache's 500 ms),
 *   and all of them whenever the users directory hands out a new list (a users-file reload: a revoked
 *   token, a disabled user, a changed password), so revocation keeps the 1 s bound on every replica;
 * - only successes are stored: a failure always takes the full path (the throttle counts it);
 * - at most maxEntries values (oldest evicted first).
 * The keys are secret-bearing strings (a Basic pair holds the account password): never log them, never
 * hand them out, and let go of them when their window ends even if no request comes to clear them.
 */
export interface VerifiedCacheOptions {
  readonly ttlMs: number;
  readonly maxEntries: number;
  readonly now: () => number;
  /** An object that changes whenever the users file is reloaded (UserDirectory.all()). */
  readonly generation: () => unknown;
}

export interface VerifiedCache<T> {
  get(presented: string): T | undefined;
  set(presented: string, value: T): void;
}

export function createVerifiedCache<T>(opts: VerifiedCacheOptions): VerifiedCache<T> {
  let entries = new Map<string, T>();
  let generation: unknown;
  // One window for every entry: cleared wholesale at its end, so nothing outlives ttlMs after its window opened.
  let windowEnds = -Infinity;
  let release: NodeJS.Timeout | undefined;

  function current(): Map<string, T> {
    const now = opts.now();
    const gen = opts.generation();
    if (now >= windowEnds || gen !== generation) {
      if (entries.size > 0) entries = new Map();
      generation = gen;
      windowEnds = now + opts.ttlMs;
    }
    return entries;
  }

  return {
    get: (presented) => current().get(presented),
    set(presented, value) {
      const map = current();
      if (map.size >= opts.maxEntries) map.delete(map.keys().next().value!);
      map.set(presented, value);
      release ??= setTimeout(() => {
        release = undefined;
        entries = new Map();
      }, opts.ttlMs).unref();
    },
  };
}
