import type { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import { createRedisClient } from '../../src/store/redis-client.js';
import { startRedis, type RedisProcess } from './redis-server.js';
import { waitFor } from './wait.js';

/**
 * A real redis-server and a client built as Postern builds its own, started before the enclosing
 * describe's tests and stopped after them. `onReady` receives both once the client is ready.
 */
export function useRedis(onReady: (started: { server: RedisProcess; redis: Redis }) => void): void {
  let server: RedisProcess | undefined;
  let redis: Redis | undefined;
  beforeAll(async () => {
    server = await startRedis();
    const client = createRedisClient(server.url, { commandTimeoutMs: 1_000 });
    redis = client;
    await waitFor(() => client.status === 'ready', { what: 'redis client ready' });
    onReady({ server, redis: client });
  });
  afterAll(async () => {
    redis?.disconnect();
    await server?.stop();
  });
}
