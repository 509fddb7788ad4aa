import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { createLoginThrottle } from '../../src/auth/login-throttle.js';
import type { PasswordHasher } from '../../src/auth/passwords.js';
import { fastHasher, startApp, type AppFixture } from '../support/app-fixture.js';
import { TestClient } from '../support/http-client.js';
import type { RedisProcess } from '../support/redis-server.js';
import { useRedis } from '../support/use-redis.js';
import { waitFor } from '../support/wait.js';

/**
 * Regression test for issue 11: 40 wrong passwords sent at once were all evaluated (40 x 401) with a
 * per-username-and-address limit of 5, because the throttle read its counters before hashing and
 * wrote them after. N concurrent attempts against a limit of L must evaluate at most L passwords.
 */

const LOGIN = 'http://auth.example.com/login';
const L = 5;
const N = 40;
const CONFIG = {
  server: { public_url: 'http://auth.example.com', trusted_proxies: ['loopback'] },
  session: { domain: 'example.com' },
  login: { rate_limit: '50/minute', account_rate_limit: '100/minute', account_address_rate_limit: `${L}/minute` },
};
const USERS = { alice: { password: 'correct horse battery' } };

/** The real hasher, counting the passwords it is asked to evaluate. */
function countingHasher(): { hasher: PasswordHasher; evaluated: () => number } {
  let n = 0;
  const hasher: PasswordHasher = {
    ...fastHasher,
    hash: (password, algorithm) => fastHasher.hash(password, algorithm),
    verify: (hash, password) => {
      n++;
      return fastHasher.verify(hash, password);
    },
    verifyDummy: (password) => {
      n++;
      return fastHasher.verifyDummy(password);
    },
  };
  return { hasher, evaluated: () => n };
}

async function storm(app: AppFixture, address: string): Promise<{ statuses: number[]; retryAfter: Array<string | undefined> }> {
  const browser = new TestClient(app.port);
  const page = await browser.get(LOGIN);
  const csrf = /name="csrf" value="([^"]+)"/.exec(page.body)![1]!;
  const replies = await Promise.all(
    Array.from({ length: N }, () =>
      browser.request(LOGIN, {
        method: 'POST',
        headers: { accept: 'text/html', 'x-forwarded-for': address },
        body: new URLSearchParams({ csrf, username: 'alice', password: 'wrong guess' }),
      }),
    ),
  );
  return { statuses: replies.map((r) => r.status), retryAfter: replies.filter((r) => r.status === 429).map((r) => r.header('retry-after')) };
}

function expectAtMostL(result: { statuses: number[]; retryAfter: Array<string | undefined> }, evaluated: number): void {
  const unauthorized = result.statuses.filter((s) => s === 401).length;
  const throttled = result.statuses.filter((s) => s === 429).length;
  expect(unauthorized).toBeLessThanOrEqual(L);
  expect(unauthorized).toBeGreaterThan(0);
  expect(unauthorized + throttled).toBe(N);
  expect(evaluated).toBe(unauthorized);
  for (const retryAfter of result.retryAfter) {
    expect(Number(retryAfter)).toBeGreaterThan(0);
    expect(Number(retryAfter)).toBeLessThanOrEqual(60);
  }
}

describe(`${N} parallel wrong passwords from one address against a limit of ${L}`, () => {
  it('in memory (no Redis configured): at most L evaluated, the rest 429 with Retry-After', async () => {
    const counting = countingHasher();
    const app = await startApp(CONFIG, USERS, { extraDeps: () => ({ hasher: counting.hasher }) });
    try {
      expectAtMostL(await storm(app, '198.51.100.1'), counting.evaluated());
    } finally {
      await app.close();
    }
  });

  describe('with Redis', () => {
    let server: RedisProcess;
    let redis: Redis;
    useRedis((started) => ({ server, redis } = started));

    async function appOnRedis(keyPrefix: string) {
      const counting = countingHasher();
      const app = await startApp(CONFIG, USERS, {
        extraDeps: (base) => ({ hasher: counting.hasher, throttle: createLoginThrottle(base.config.login.throttle, { redis, keyPrefix }) }),
      });
      return { app, counting };
    }

    it('counted in Redis: at most L evaluated, the rest 429 with Retry-After', async () => {
      const { app, counting } = await appOnRedis('storm');
      try {
        expectAtMostL(await storm(app, '198.51.100.2'), counting.evaluated());
        expect(await redis.get('storm:user+ip:60:alice|198.51.100.2')).toBe(String(L));
      } finally {
        await app.close();
      }
    });

    it('while Redis is down (the memory fallback): still at most L evaluated', async () => {
      const { app, counting } = await appOnRedis('stormDown');
      await server.stop();
      try {
        await waitFor(() => redis.status !== 'ready', { what: 'the client to notice the outage' });
        expectAtMostL(await storm(app, '198.51.100.3'), counting.evaluated());
      } finally {
        await server.start();
        await app.close();
      }
    });
  });
});
