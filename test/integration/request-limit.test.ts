import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { parseRateLimit, type RateWindow } from '../../src/auth/rate-limit-spec.js';
import { createRequestLimit } from '../../src/auth/request-limit.js';
import { useRedis } from '../support/use-redis.js';

function windows(spec: string): RateWindow[] {
  const parsed = parseRateLimit(spec);
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.windows;
}

describe('createRequestLimit', () => {
  let redis: Redis;
  useRedis((started) => ({ redis } = started));

  it('counts every request per address in Redis, shared by two replicas, and refuses with the longest wait', async () => {
    const replicaA = createRequestLimit(windows('3/minute;10/hour'), { redis, keyPrefix: 'starts' });
    const replicaB = createRequestLimit(windows('3/minute;10/hour'), { redis, keyPrefix: 'starts' });
    expect(await replicaA.take('192.0.2.1')).toEqual({ allowed: true });
    expect(await replicaB.take('192.0.2.1')).toEqual({ allowed: true });
    expect(await replicaA.take('192.0.2.1')).toEqual({ allowed: true });
    const refused = await replicaB.take('192.0.2.1');
    expect(refused.allowed).toBe(false);
    if (!refused.allowed) expect(refused.retryAfterSec).toBeGreaterThan(55);
    expect(await replicaA.take('192.0.2.2')).toEqual({ allowed: true });
    expect((await redis.keys('starts:*')).sort()).toEqual(['starts:3600:192.0.2.1', 'starts:3600:192.0.2.2', 'starts:60:192.0.2.1', 'starts:60:192.0.2.2']);
  });

  it('counts IPv6 addresses per /64, and in memory without Redis', async () => {
    const limit = createRequestLimit(windows('1/minute'), { keyPrefix: 'mem' });
    expect(await limit.take('2001:db8:1:2::10')).toEqual({ allowed: true });
    expect((await limit.take('2001:db8:1:2:ffff::1')).allowed).toBe(false);
    expect(await limit.take('2001:db8:1:3::10')).toEqual({ allowed: true });
  });

  it('with the limit off, never refuses', async () => {
    const limit = createRequestLimit(windows('off'), { redis, keyPrefix: 'off' });
    for (let i = 0; i < 5; i++) expect(await limit.take('192.0.2.9')).toEqual({ allowed: true });
  });
});
