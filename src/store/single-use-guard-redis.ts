import type { Redis } from 'ioredis';
import type { SingleUseGuard } from './single-use-guard.js';

export const DEFAULT_GUARD_PREFIX = 'postern:once';

/** Claims in Redis, shared by every replica: `SET <prefix>:<key> 1 PX <ttl> NX` is one atomic claim. */
export class RedisSingleUseGuard implements SingleUseGuard {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string = DEFAULT_GUARD_PREFIX,
  ) {}

  async claim(key: string, ttlMs: number): Promise<boolean> {
    const reply = await this.redis.set(`${this.prefix}:${key}`, '1', 'PX', Math.max(1, Math.ceil(ttlMs)), 'NX');
    return reply === 'OK';
  }
}
