import { ASK_STORE, parseSessionData, StoreUnavailableError, type SessionData, type SessionStore, type StoredSession } from './session-store.js';

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
  /** The session's user, for the per-user index ('' for an anonymous holder, which is not indexed). */
  readonly user: string;
}

/**
 * Sessions in this process only: for a single instance or tests. Lost on restart and
 * not shared between replicas; use RedisSessionStore for those.
 */
export class MemorySessionStore implements SessionStore {
  readonly #entries = new Map<string, Entry>();
  /** user → ids of that user's sessions: listing one user never walks every session. */
  readonly #byUser = new Map<string, Set<string>>();
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
    return this.#read(id);
  }

  /** Always at hand while open; a closed store is left to get(), which says so. */
  readNow(id: string): SessionData | undefined | typeof ASK_STORE {
    return this.#sweeper === undefined ? ASK_STORE : this.#read(id);
  }

  #read(id: string): SessionData | undefined {
    const entry = this.#live(id);
    return entry === undefined ? undefined : parseSessionData(JSON.parse(entry.json));
  }

  async set(id: string, data: SessionData, ttlMs: number): Promise<void> {
    this.#write(id, data, ttlMs, false);
  }

  async setIfExists(id: string, data: SessionData, ttlMs: number): Promise<boolean> {
    return this.#write(id, data, ttlMs, true);
  }

  async destroy(id: string): Promise<void> {
    this.#assertOpen();
    this.#delete(id);
  }

  async listByUser(user: string): Promise<StoredSession[]> {
    this.#assertOpen();
    return this.#listOf(user);
  }

  async listAll(): Promise<StoredSession[]> {
    this.#assertOpen();
    return [...this.#byUser.keys()].flatMap((user) => this.#listOf(user));
  }

  async ping(): Promise<boolean> {
    return this.#sweeper !== undefined;
  }

  async close(): Promise<void> {
    clearInterval(this.#sweeper);
    this.#sweeper = undefined;
    this.#entries.clear();
    this.#byUser.clear();
  }

  /** The entry under `id` if it is still live; an expired one is dropped on the way. */
  #live(id: string): Entry | undefined {
    const entry = this.#entries.get(id);
    if (entry === undefined) return undefined;
    if (entry.deadline <= this.#now()) {
      this.#delete(id);
      return undefined;
    }
    return entry;
  }

  /** Synchronous from check to write: `onlyIfPresent` is a compare-and-set, as Redis's `SET ... XX` is. */
  #write(id: string, data: SessionData, ttlMs: number, onlyIfPresent: boolean): boolean {
    this.#assertOpen();
    if (!Number.isFinite(ttlMs)) throw new RangeError(`ttlMs must be a finite number, got ${ttlMs}`);
    if (onlyIfPresent && this.#live(id) === undefined) return false;
    const now = this.#now();
    const deadline = Math.min(now + ttlMs, data.expires);
    if (!(deadline > now)) {
      this.#delete(id);
      return false;
    }
    const json = JSON.stringify(data);
    const previous = this.#entries.get(id);
    if (previous === undefined && this.#entries.size >= this.#maxEntries) this.#evictOne();
    if (previous !== undefined && previous.user !== data.user) this.#unindex(id, previous.user);
    this.#entries.set(id, { json, deadline, user: data.user });
    if (data.user !== '') {
      let ids = this.#byUser.get(data.user);
      if (ids === undefined) this.#byUser.set(data.user, (ids = new Set()));
      ids.add(id);
    }
    return true;
  }

  #listOf(user: string): StoredSession[] {
    const found: StoredSession[] = [];
    for (const id of this.#byUser.get(user) ?? []) {
      const entry = this.#live(id);
      const data = entry === undefined ? undefined : parseSessionData(JSON.parse(entry.json));
      if (data !== undefined) found.push({ id, data });
    }
    return found.sort((x, y) => x.data.created - y.data.created);
  }

  #delete(id: string): void {
    const entry = this.#entries.get(id);
    if (entry === undefined) return;
    this.#entries.delete(id);
    this.#unindex(id, entry.user);
  }

  #unindex(id: string, user: string): void {
    const ids = this.#byUser.get(user);
    if (ids === undefined) return;
    ids.delete(id);
    if (ids.size === 0) this.#byUser.delete(user);
  }

  #assertOpen(): void {
    if (this.#sweeper === undefined) throw new StoreUnavailableError('memory session store is closed');
  }

  #sweep(): void {
    const now = this.#now();
    for (const [id, entry] of this.#entries) {
      if (entry.deadline <= now) this.#delete(id);
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
    if (victim !== undefined) this.#delete(victim);
  }
}
