/**
 * Bindings in Redis when it is configured: one hash, `postern:oidc:bindings`, username → JSON, with
 * no TTL. HSETNX makes the first claim win across every replica; nothing scans the keyspace.
 */
import type { Redis } from 'ioredis';
import { byUser, decodeBinding, encodeBinding, BindingsCorruptError, type Binding, type BindingStore, type Subject } from './bindings.js';

export const BINDINGS_KEY = 'postern:oidc:bindings';

export class RedisBindingStore implements BindingStore {
  readonly #redis: Redis;
  readonly #key: string;

  /** The client stays the caller's (it is the one the session store uses): close() leaves it open. */
  constructor(redis: Redis, opts: { key?: string } = {}) {
    this.#redis = redis;
    this.#key = opts.key ?? BINDINGS_KEY;
  }

  async bind(user: string, subject: Subject, now: number): Promise<Binding> {
    const binding: Binding = { user, iss: subject.iss, sub: subject.sub, provider: subject.provider, created: now };
    if ((await this.#redis.hsetnx(this.#key, user, encodeBinding(binding))) === 1) return binding;
    const stored = await this.#redis.hget(this.#key, user);
    // Removed between the two commands: try once more rather than answer with nothing.
    if (stored === null) return this.bind(user, subject, now);
    return this.#decode(user, stored);
  }

  async list(): Promise<Binding[]> {
    const all = await this.#redis.hgetall(this.#key);
    return Object.entries(all)
      .map(([user, value]) => this.#decode(user, value))
      .sort(byUser);
  }

  async remove(user: string): Promise<Binding | undefined> {
    const stored = await this.#redis.hget(this.#key, user);
    if (stored === null) return undefined;
    await this.#redis.hdel(this.#key, user);
    // A corrupt value is removed all the same: that is how an operator repairs it.
    try {
      return decodeBinding(stored);
    } catch {
      return { user, iss: '?', sub: '?', provider: '?', created: 0 };
    }
  }

  async close(): Promise<void> {}

  /** Checks every stored binding (at start-up): a value that cannot be read stops Postern. */
  async check(): Promise<void> {
    await this.list();
  }

  #decode(user: string, value: string): Binding {
    let binding: Binding;
    try {
      binding = decodeBinding(value);
    } catch (err) {
      throw new BindingsCorruptError(`redis hash ${this.#key} field '${user}' ${(err as Error).message}: fix it, or remove it with 'postern oidc bindings remove ${user}'`);
    }
    if (binding.user !== user) throw new BindingsCorruptError(`redis hash ${this.#key} field '${user}' holds the binding of '${binding.user}'`);
    return binding;
  }
}
