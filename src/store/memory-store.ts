import { StoreUnavailableError, type SessionData, type SessionStore } from './session-store.js';

export interface MemorySessionStoreOptions {
  /** Clock for TTLs and `expires`. Default `Date.now`. */
  readonly now?: () => number;
  /** How often expired entries are dropped. Default 60 000 ms. */
  readonly sweepIntervalMs?: number;
  /** Most sessions held; when full, the one closest to expiry makes room. Default 100 000. */
  readonly maxEntries?: number;
}

interface Entry {
  /** The session as JSON: the same round trip as Redis, and a copy no caller can reach. */
  readonly json: string;
  /** Epoch ms: the earlier of "set + ttl" and the session's `expires`. */
  readonly deadline: number;
}

/**
 * Sessions in this process only: for a single instance or tests. Lost on restart and
 * not shared between replicas; use RedisSessionStore for those.
 */
export class MemorySessionStore implements SessionStore {
  readonly #entries = new Map<string, Entry>();
  readonly #now: () => number;
  readonly #maxEntries: number;
  #sweeper: NodeJS.Timeout | undefined;

  constructor(opts: MemorySessionStoreOptions = {}) {
    const sweepIntervalMs = opts.sweepIntervalMs ?? 60_000;
    const maxEntries = opts.maxEntries ?? 100_000;
    if (!(Number.isFinite(sweepIntervalMs) && sweepIntervalMs > 0)) {
      throw new RangeError(`sweepIntervalMs must be a positive number, got ${sweepIntervalMs}`);
    }
    if (!(Number.isSafeInteger(maxEntries) && maxEntries > 0)) {
      throw new RangeError(`maxEntries must be a positive integer, got ${maxEntries}`);
    }
    this.#now = opts.now ?? Date.now;
    this.#maxEntries = maxEntries;
    this.#sweeper = setInterval(() => this.#sweep(), sweepIntervalMs);
    // The sweep is housekeeping: it must never keep the process alive.
    this.#sweeper.unref();
  }

  /** Entries held, including expired ones the next sweep will drop. */
  get size(): number {
    return this.#entries.size;
  }

  async get(id: string): Promise<SessionData | undefined> {
    this.#assertOpen();
    const entry = this.#entries.get(id);
    if (entry === undefined) return undefined;
    if (entry.deadline <= this.#now()) {
      this.#entries.delete(id);
      return undefined;
    }
    return JSON.parse(entry.json) as SessionData;
  }

  async set(id: string, data: SessionData, ttlMs: number): Promise<void> {
    this.#assertOpen();
    if (!Number.isFinite(ttlMs)) throw new RangeError(`ttlMs must be a finite number, got ${ttlMs}`);
    const now = this.#now();
    const deadline = Math.min(now + ttlMs, data.expires);
    if (!(deadline > now)) {
      this.#entries.delete(id);
      return;
    }
    const json = JSON.stringify(data);
    if (!this.#entries.has(id) && this.#entries.size >= this.#maxEntries) this.#evictOne();
    this.#entries.set(id, { json, deadline });
  }

  async destroy(id: string): Promise<void> {
    this.#assertOpen();
    this.#entries.delete(id);
  }

  async ping(): Promise<boolean> {
    return this.#sweeper !== undefined;
  }

  async close(): Promise<void> {
    clearInterval(this.#sweeper);
    this.#sweeper = undefined;
    this.#entries.clear();
  }

  #assertOpen(): void {
    if (this.#sweeper === undefined) throw new StoreUnavailableError('memory session store is closed');
  }

  #sweep(): void {
    const now = this.#now();
    for (const [id, entry] of this.#entries) {
      if (entry.deadline <= now) this.#entries.delete(id);
    }
  }

  // O(n), but only when full; an expired entry always has the earliest deadline, so it
  // goes first. Every sign-in already costs a password hash or an OIDC round trip,
  // which dwarfs one pass over the map.
  #evictOne(): void {
    let victim: string | undefined;
    let earliest = Infinity;
    for (const [id, entry] of this.#entries) {
      if (entry.deadline < earliest) {
        earliest = entry.deadline;
        victim = id;
      }
    }
    if (victim !== undefined) this.#entries.delete(victim);
  }
}
