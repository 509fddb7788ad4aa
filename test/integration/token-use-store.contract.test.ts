/** One contract, both stores of an app password's last use: memory, and a real redis-server. */
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisClient, waitUntilReachable } from '../../src/store/redis-client.js';
import { MemoryTokenUseStore, RedisTokenUseStore, type TokenUseStore } from '../../src/tokens/last-use.js';
import { startRedis, type RedisProcess } from '../support/redis-server.js';

let redis: RedisProcess;
let client: Redis;

beforeAll(async () => {
  redis = await startRedis();
  client = createRedisClient(redis.url);
  await waitUntilReachable(client, 5_000);
});
afterAll(async () => {
  client.disconnect();
  await redis.stop();
});

const implementations: Array<[string, () => TokenUseStore]> = [
  ['memory', () => new MemoryTokenUseStore()],
  ['redis', () => new RedisTokenUseStore(client, `postern:test-token-used:${Math.random().toString(36).slice(2)}:`)],
];

describe.each(implementations)('TokenUseStore (%s)', (_name, make) => {
  it('answers the last recorded use of each id that has one', async () => {
    const store = make();
    await store.record('Aaaaaaa1', 1_000);
    await store.record('Bbbbbbb2', 2_000);
    await store.record('Aaaaaaa1', 3_000);
    expect(await store.lastUse(['Aaaaaaa1', 'Bbbbbbb2', 'Ccccccc3'])).toEqual(new Map([['Aaaaaaa1', 3_000], ['Bbbbbbb2', 2_000]]));
  });

  it('answers an empty map for no ids', async () => {
    expect(await make().lastUse([])).toEqual(new Map());
  });
});
