import { ASK_STORE, type SessionData, type SessionStore, type StoredSession } from './session-store.js';

export interface CachedSessionStoreOptions {
  /**
   * How long a read is reused. Bounds revocation: a logout on another replica, which deletes the
   * entry in the shared store, is seen here at most this long afterwards. Default 500 ms.
   */
  readonly ttlMs?: number;
  /** Entries kept at most; the oldest go first. Default 50 000. */
  readonly maxEntries?: number;
  /** False while the backend is known to be down: then nothing is served from the cache (fail closed). */
  readonly backendUp: () => boolean;
  readonly now?: () => number;
}

interface Entry {
  readonly until: number;
  readonly read: Promise<SessionData | undefined>;
  /** Set when `read` has fulfilled, with its value: what readNow answers from. */
  settled: boolean;
  value: SessionData | undefined;
}

/** A session past its own `expires` is no session, whatever the cache or the store's TTL says. */
function unexpired(data: SessionData | undefined, now: number): SessionData | undefined {
  return data !== undefined && data.expires > now ? data : undefined;
}

/**
 * A short read cache in front of the shared store, for the verify path: one store read per session
 * per `ttlMs` instead of one per request, and concurrent reads of one id share a single round trip.
 * It never extends a session: every answer is checked against the session's own `expires`.
 */
export class CachedSessionStore implements SessionStore {
  readonly #inner: SessionStore;
  readonly #entries = new Map<string, Entry>();
  readonly #ttlMs: number;
  readonly #maxEntries: number;
  readonly #backendUp: () => boolean;
  readonly #now: () => number;

  constructor(inner: SessionStore, opts: CachedSessionStoreOptions) {
    this.#inner = inner;
    this.#ttlMs = opts.ttlMs ?? 500;
    this.#maxEntries = opts.maxEntries ?? 50_000;
    this.#backendUp = opts.backendUp;
    this.#now = opts.now ?? Date.now;
  }

  async get(id: string): Promise<SessionData | undefined> {
    if (!this.#backendUp()) {
      this.#entries.delete(id);
      return this.#inner.get(id);
    }
    const now = this.#now();
    let entry = this.#entries.get(id);
    if (entry === undefined || entry.until <= now) {
      if (entry !== undefined) this.#entries.delete(id);
      else if (this.#entries.size >= this.#maxEntries) this.#evictOldest();
      const read = this.#inner.get(id);
      const fresh: Entry = { until: now + this.#ttlMs, read, settled: false, value: undefined };
      entry = fresh;
      this.#entries.set(id, fresh);
      read.then(
        (value) => {
          fresh.value = value;
          fresh.settled = true;
        },
        // A failed read is not remembered: the next request asks the store again.
        () => {
          if (this.#entries.get(id) === fresh) this.#entries.delete(id);
        },
      );
    }
    return unexpired(await entry.read, this.#now());
  }

  /** A read that has come back and is still fresh, while the backend is up; else ASK_STORE. */
  readNow(id: string): SessionData | undefined | typeof ASK_STORE {
    if (!this.#backendUp()) return ASK_STORE;
    const entry = this.#entries.get(id);
    if (entry === undefined || !entry.settled) return ASK_STORE;
    const now = this.#now();
    return entry.until <= now ? ASK_STORE : unexpired(entry.value, now);
  }

  async set(id: string, data: SessionData, ttlMs: number): Promise<void> {
    this.#entries.delete(id);
    await this.#inner.set(id, data, ttlMs);
  }

  async setIfExists(id: string, data: SessionData, ttlMs: number): Promise<boolean> {
    this.#entries.delete(id);
    return this.#inner.setIfExists(id, data, ttlMs);
  }

  async destroy(id: string): Promise<void> {
    this.#entries.delete(id);
    await this.#inner.destroy(id);
  }

  /** Straight from the store: a listing is for an operator, and must show what the store holds now. */
  listByUser(user: string): Promise<StoredSession[]> {
    return this.#inner.listByUser(user);
  }

  listAll(): Promise<StoredSession[]> {
    return this.#inner.listAll();
  }

  ping(): Promise<boolean> {
    return this.#inner.ping();
  }

  async close(): Promise<void> {
    this.#entries.clear();
    await this.#inner.close();
  }

  #evictOldest(): void {
    // Maps iterate in insertion order, and an expired entry is re-inserted on refresh: the first is the oldest.
    const first = this.#entries.keys().next();
    if (!first.done) this.#entries.delete(first.value);
  }
}
