import type { Redis } from 'ioredis';
import { StoreUnavailableError, type SessionData, type SessionStore } from './session-store.js';

export interface RedisSessionStoreOptions {
  /** Prepended to every session id to make the Redis key. Default `postern:session:`. */
  readonly prefix?: string;
  /** Clock for the `expires` check. Default `Date.now`. */
  readonly now?: () => number;
}

export const DEFAULT_SESSION_PREFIX = 'postern:session:';

/**
 * Sessions as Redis strings: `SET <prefix><id> <json> PX <ttl>`.
 *
 * The client must come from createRedisClient (checked here): a bounded command timeout
 * and no offline queue are what make a Redis outage a quick StoreUnavailableError
 * instead of a hung request. The store owns the client: close() ends it.
 *
 * A session id is a bearer secret: it never appears in an error message.
 */
export class RedisSessionStore implements SessionStore {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #now: () => number;

  constructor(redis: Redis, opts: RedisSessionStoreOptions = {}) {
    const { commandTimeout, enableOfflineQueue } = redis.options;
    if (typeof commandTimeout !== 'number' || !(commandTimeout > 0) || enableOfflineQueue !== false) {
      throw new TypeError(
        'RedisSessionStore needs a client that fails fast (commandTimeout > 0, enableOfflineQueue: false): ' +
          'build it with createRedisClient()',
      );
    }
    this.#redis = redis;
    this.#prefix = opts.prefix ?? DEFAULT_SESSION_PREFIX;
    this.#now = opts.now ?? Date.now;
  }

  async get(id: string): Promise<SessionData | undefined> {
    let raw: string | null;
    try {
      raw = await this.#redis.get(this.#prefix + id);
    } catch (err) {
      throw unavailable('GET', err, id);
    }
    if (raw === null) return undefined;
    const data = decodeSession(raw);
    // The TTL is only an upper bound on storage; `expires` decides validity.
    if (data === undefined || data.expires <= this.#now()) return undefined;
    return data;
  }

  async set(id: string, data: SessionData, ttlMs: number): Promise<void> {
    if (!Number.isFinite(ttlMs)) throw new RangeError(`ttlMs must be a finite number, got ${ttlMs}`);
    // Never keep a session past its `expires`: that would only waste memory.
    const px = Math.floor(Math.min(ttlMs, data.expires - this.#now()));
    if (!(px > 0)) return this.destroy(id);
    const value = JSON.stringify(data);
    try {
      await this.#redis.set(this.#prefix + id, value, 'PX', px);
    } catch (err) {
      throw unavailable('SET', err, id);
    }
  }

  async destroy(id: string): Promise<void> {
    try {
      await this.#redis.del(this.#prefix + id);
    } catch (err) {
      throw unavailable('DEL', err, id);
    }
  }

  /** PING within the client's command timeout; false on any failure. */
  async ping(): Promise<boolean> {
    try {
      return (await this.#redis.ping()) === 'PONG';
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    if (this.#redis.status === 'end') return;
    try {
      await this.#redis.quit();
    } catch {
      // Redis is away (QUIT cannot be queued without an offline queue) or slow to answer:
      // drop the socket and stop reconnecting.
      this.#redis.disconnect();
    }
  }
}

/** Parses a stored value; anything that is not a well-formed session counts as absent. */
function decodeSession(raw: string): SessionData | undefined {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const v = value as Record<string, unknown>;
  if (
    typeof v.user !== 'string' ||
    typeof v.via !== 'string' ||
    !Number.isFinite(v.created) ||
    !Number.isFinite(v.expires) ||
    !Number.isFinite(v.seen) ||
    (v.pwv !== undefined && typeof v.pwv !== 'string')
  ) {
    return undefined;
  }
  return v as SessionData;
}

function unavailable(op: string, err: unknown, id: string): StoreUnavailableError {
  let reason = err instanceof Error ? err.message : String(err);
  // ioredis messages do not carry arguments today; make sure they never will here.
  if (id !== '') reason = reason.split(id).join('[session id]');
  // No `cause`: ioredis reply errors carry the command's arguments (key and value).
  return new StoreUnavailableError(`session store unavailable: redis ${op} failed: ${reason}`);
}
