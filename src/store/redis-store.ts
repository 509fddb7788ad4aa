import type { Redis } from 'ioredis';
import { StoreUnavailableError, type SessionData, type SessionStore, type StoredSession } from './session-store.js';

export interface RedisSessionStoreOptions {
  /** Prepended to every session id to make the Redis key. Default `postern:session:`. */
  readonly prefix?: string;
  /** Clock for the `expires` check. Default `Date.now`. */
  readonly now?: () => number;
}

export const DEFAULT_SESSION_PREFIX = 'postern:session:';

/**
 * Writes a session and records it in its user's index, in one step: a sorted set
 * `<prefix>by-user:<user>` of session ids scored by their deadline (epoch ms). Members past their
 * deadline are dropped on every write, and the index key itself expires with its last member, so
 * the index never outgrows the sessions it lists. Session ids are base64url (no ':'), so an index
 * key never collides with a session key.
 *
 * KEYS: session key, index key. ARGV: value, px, deadline, id, now.
 */
const SET_AND_INDEX = `
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[5])
local last = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
if last[2] then redis.call('PEXPIREAT', KEYS[2], last[2]) end
return 1
`;

/** How many index keys one SCAN step asks for (listAll only). */
const SCAN_COUNT = 500;

/**
 * Sessions as Redis strings: `SET <prefix><id> <json> PX <ttl>`, plus one index per user
 * (see SET_AND_INDEX) for listing and revoking a user's sessions.
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
  readonly #indexPrefix: string;
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
    this.#indexPrefix = `${this.#prefix}by-user:`;
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
    const px = this.#px(data, ttlMs);
    if (!(px > 0)) return this.destroy(id);
    const value = JSON.stringify(data);
    try {
      // An anonymous holder (a sign-in at a provider in flight) belongs to nobody: not indexed.
      if (data.user === '') await this.#redis.set(this.#prefix + id, value, 'PX', px);
      else await this.#redis.eval(SET_AND_INDEX, 2, this.#prefix + id, this.#indexPrefix + data.user, value, px, this.#now() + px, id, this.#now());
    } catch (err) {
      throw unavailable('SET', err, id);
    }
  }

  async setIfExists(id: string, data: SessionData, ttlMs: number): Promise<boolean> {
    const px = this.#px(data, ttlMs);
    if (!(px > 0)) {
      await this.destroy(id);
      return false;
    }
    try {
      // XX: only if the key is still there. The index entry made by set() stays valid: it
      // is scored by the deadline, which a write after a read does not move past `expires`.
      return (await this.#redis.set(this.#prefix + id, JSON.stringify(data), 'PX', px, 'XX')) === 'OK';
    } catch (err) {
      throw unavailable('SET XX', err, id);
    }
  }

  async destroy(id: string): Promise<void> {
    try {
      // The index entry goes at the next listing or write of that user: one round trip here, and no read of the session.
      await this.#redis.del(this.#prefix + id);
    } catch (err) {
      throw unavailable('DEL', err, id);
    }
  }

  async listByUser(user: string): Promise<StoredSession[]> {
    const index = this.#indexPrefix + user;
    let ids: string[];
    try {
      ids = await this.#redis.zrangebyscore(index, `(${this.#now()}`, '+inf');
    } catch (err) {
      throw unavailable('ZRANGEBYSCORE', err, '');
    }
    if (ids.length === 0) return [];
    let values: Array<string | null>;
    try {
      values = await this.#redis.mget(ids.map((id) => this.#prefix + id));
    } catch (err) {
      throw unavailable('MGET', err, '');
    }
    const found: StoredSession[] = [];
    const gone: string[] = [];
    ids.forEach((id, i) => {
      const data = values[i] == null ? undefined : decodeSession(values[i]);
      if (data !== undefined && data.user === user && data.expires > this.#now()) found.push({ id, data });
      else if (values[i] == null) gone.push(id);
    });
    // Housekeeping of destroyed sessions; a failure here changes nothing that was asked for.
    if (gone.length > 0) await this.#redis.zrem(index, ...gone).catch(() => undefined);
    return found.sort((x, y) => x.data.created - y.data.created);
  }

  async listAll(): Promise<StoredSession[]> {
    const users = new Set<string>();
    const pattern = `${escapeGlob(this.#indexPrefix)}*`;
    let cursor = '0';
    try {
      do {
        const [next, keys] = await this.#redis.scan(cursor, 'MATCH', pattern, 'COUNT', SCAN_COUNT);
        for (const key of keys) users.add(key.slice(this.#indexPrefix.length));
        cursor = next;
      } while (cursor !== '0');
    } catch (err) {
      throw unavailable('SCAN', err, '');
    }
    const found: StoredSession[] = [];
    for (const user of [...users].sort()) found.push(...(await this.listByUser(user)));
    return found;
  }

  /** Never keep a session past its `expires`: that would only waste memory. */
  #px(data: SessionData, ttlMs: number): number {
    if (!Number.isFinite(ttlMs)) throw new RangeError(`ttlMs must be a finite number, got ${ttlMs}`);
    return Math.floor(Math.min(ttlMs, data.expires - this.#now()));
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

/** A literal string as a SCAN MATCH pattern. */
function escapeGlob(text: string): string {
  return text.replace(/[\\*?[\]]/g, '\\$&');
}

function unavailable(op: string, err: unknown, id: string): StoreUnavailableError {
  let reason = err instanceof Error ? err.message : String(err);
  // ioredis messages do not carry arguments today; make sure they never will here.
  if (id !== '') reason = reason.split(id).join('[session id]');
  // No `cause`: ioredis reply errors carry the command's arguments (key and value).
  return new StoreUnavailableError(`session store unavailable: redis ${op} failed: ${reason}`);
}
