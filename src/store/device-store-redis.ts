import type { Redis } from 'ioredis';
import type { DeviceRecord, DeviceStore } from './device-store.js';

export const DEFAULT_DEVICE_PREFIX = 'postern:device';

/**
 * Devices in Redis, shared by every replica and by the CLI: `<prefix>:id:<id>` holds the record
 * (expiring with it), `<prefix>:user:<user>` the set of a user's device ids (expiring with the newest).
 * Every command rejects while Redis is down; the caller decides what that means.
 */
export class RedisDeviceStore implements DeviceStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string = DEFAULT_DEVICE_PREFIX,
    private readonly now: () => number = Date.now,
  ) {}

  private idKey(id: string): string {
    return `${this.prefix}:id:${id}`;
  }

  private userKey(user: string): string {
    return `${this.prefix}:user:${user}`;
  }

  async add(id: string, record: DeviceRecord): Promise<void> {
    const ttl = Math.ceil(record.expires - this.now());
    if (ttl <= 0) return;
    const userKey = this.userKey(record.user);
    const reply = await this.redis
      .multi()
      .set(this.idKey(id), JSON.stringify({ user: record.user, expires: record.expires }), 'PX', ttl)
      .sadd(userKey, id)
      // Every device gets the same lifetime, so the newest one outlives the others.
      .pexpire(userKey, ttl)
      .exec();
    const failed = reply?.find(([err]) => err);
    if (!reply || failed) throw failed?.[0] ?? new Error('device store: transaction aborted');
  }

  async get(id: string): Promise<DeviceRecord | undefined> {
    const raw = await this.redis.get(this.idKey(id));
    if (raw === null) return undefined;
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      return undefined;
    }
    const { user, expires } = (parsed ?? {}) as Record<string, unknown>;
    if (typeof user !== 'string' || typeof expires !== 'number' || expires <= this.now()) return undefined;
    return { user, expires };
  }

  async remove(id: string): Promise<void> {
    const record = await this.get(id);
    await this.redis.del(this.idKey(id));
    if (record) await this.redis.srem(this.userKey(record.user), id);
  }

  async removeUser(user: string): Promise<number> {
    // Read and drop the set in one transaction: a device trusted a moment later starts a new set.
    const reply = await this.redis.multi().smembers(this.userKey(user)).del(this.userKey(user)).exec();
    const failed = reply?.find(([err]) => err);
    if (!reply || failed) throw failed?.[0] ?? new Error('device store: transaction aborted');
    const ids = reply[0]![1] as string[];
    let removed = 0;
    for (let i = 0; i < ids.length; i += 500) removed += await this.redis.del(...ids.slice(i, i + 500).map((id) => this.idKey(id)));
    return removed;
  }
}
