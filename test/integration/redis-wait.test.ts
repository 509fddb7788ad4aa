import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createRedisClient, waitUntilReachable } from '../../src/store/redis-client.js';
import { freePort } from '../support/free-port.js';
import { startRedis, type RedisProcess } from '../support/redis-server.js';

// The CLI's Redis commands (sessions, throttle, token, oidc bindings) wait for Redis with it.
describe('waitUntilReachable', () => {
  let server: RedisProcess;
  beforeAll(async () => {
    server = await startRedis();
  });
  afterAll(async () => {
    await server.stop();
  });

  // It used to PING a client that was still connecting, which fails at once without an offline
  // queue, and try again 50 ms later: a fifth of every `postern sessions list`.
  it('sends one PING, once a new client is connected: no PING that fails, no retry delay', async () => {
    const redis = createRedisClient(server.url, { commandTimeoutMs: 1_000 });
    const ping = vi.spyOn(redis, 'ping');
    try {
      await waitUntilReachable(redis, 3_000);
      expect(redis.status).toBe('ready');
      expect(ping).toHaveBeenCalledTimes(1);
      await expect(ping.mock.results[0]!.value).resolves.toBe('PONG');
    } finally {
      redis.disconnect();
    }
  });

  it('gives up after the timeout when nothing answers, saying so', async () => {
    const redis = createRedisClient(`redis://127.0.0.1:${await freePort()}/0`, { commandTimeoutMs: 1_000 });
    try {
      await expect(waitUntilReachable(redis, 300)).rejects.toThrow(/^cannot reach Redis \(session\.redis\): /);
    } finally {
      redis.disconnect();
    }
  });
});
