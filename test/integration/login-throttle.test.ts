import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createLoginThrottle,
  DEFAULT_THROTTLE_CONFIG,
  DEFAULT_THROTTLE_SPECS,
  type LoginThrottle,
  NOT_AT_HAND,
  type ThrottleConfig,
} from '../../src/auth/login-throttle.js';
import { parseRateLimit, type RateWindow } from '../../src/auth/rate-limit-spec.js';
import { createRedisClient } from '../../src/store/redis-client.js';
import { startRedis, type RedisProcess } from '../support/redis-server.js';
import { waitFor } from '../support/wait.js';

function windows(spec: string): RateWindow[] {
  const parsed = parseRateLimit(spec);
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.windows;
}

function config(perIp: string, perUser: string, perUserIp: string): ThrottleConfig {
  return { perIp: windows(perIp), perUser: windows(perUser), perUserIp: windows(perUserIp) };
}

async function fail(throttle: LoginThrottle, times: number, ip: string, user: string): Promise<void> {
  for (let i = 0; i < times; i++) await throttle.take(ip, user);
}

async function connected(url: string): Promise<Redis> {
  const redis = createRedisClient(url, { commandTimeoutMs: 1_000 });
  await waitFor(() => redis.status === 'ready', { what: 'redis client ready' });
  return redis;
}

const ALICE_IP = '192.0.2.10';
const OTHER_IP = '198.51.100.20';

/** Each call gives a throttle on fresh counters, with the store under test. */
type Factory = (cfg: ThrottleConfig) => LoginThrottle;

/** One suite, run against each store: the same behaviour in memory and in Redis. */
function describeThrottleContract(name: string, setup: () => Factory) {
  describe(`${name}: contract`, () => {
    let make: Factory;
    beforeAll(() => {
      make = setup();
    });

    it('allows until the window is full, then refuses with a sane Retry-After', async () => {
      const throttle = make(config('10/minute', '10/minute', '3/minute'));
      for (let i = 0; i < 3; i++) {
        expect(await throttle.check(ALICE_IP, 'alice')).toEqual({ allowed: true });
        await throttle.take(ALICE_IP, 'alice');
      }
      const refused = await throttle.check(ALICE_IP, 'alice');
      expect(refused.allowed).toBe(false);
      if (refused.allowed) return;
      expect(refused.retryAfterSec).toBeGreaterThanOrEqual(59);
      expect(refused.retryAfterSec).toBeLessThanOrEqual(60);
      // Another user from the same address, and the same user elsewhere, are not this counter.
      expect(await throttle.check(ALICE_IP, 'bob')).toEqual({ allowed: true });
      expect(await throttle.check(OTHER_IP, 'alice')).toEqual({ allowed: true });
    });

    it('addressRefusal never refuses an address whose window is not full', async () => {
      const throttle = make(config('3/minute', '10/minute', '1/minute'));
      await fail(throttle, 2, ALICE_IP, 'alice');
      expect((await throttle.check(ALICE_IP, 'alice')).allowed).toBe(false);
      expect(await throttle.addressRefusal(ALICE_IP)).toBeUndefined();
    });

    it('check only reads: checking many times uses no budget', async () => {
      const throttle = make(config('1/minute', '1/minute', '1/minute'));
      for (let i = 0; i < 20; i++) expect(await throttle.check(ALICE_IP, 'alice')).toEqual({ allowed: true });
      expect(await throttle.list()).toEqual([]);
    });

    it('Retry-After is the longest of the full windows', async () => {
      const throttle = make(config('off', 'off', '2/minute;2/hour'));
      await fail(throttle, 2, ALICE_IP, 'alice');
      const refused = await throttle.check(ALICE_IP, 'alice');
      expect(refused).toMatchObject({ allowed: false });
      if (!refused.allowed) expect(refused.retryAfterSec).toBeGreaterThan(3500);
    });

    it('forgets failures when their window ends', async () => {
      const throttle = make(config('off', 'off', '2/second'));
      await fail(throttle, 2, ALICE_IP, 'alice');
      expect(await throttle.check(ALICE_IP, 'alice')).toEqual({ allowed: false, retryAfterSec: 1, scope: expect.any(String) });
      await sleep(1_100);
      expect(await throttle.check(ALICE_IP, 'alice')).toEqual({ allowed: true });
    });

    it('a success clears the username-and-address counter, not the address counter', async () => {
      const throttle = make(config('4/minute', '10/minute', '2/minute'));
      await fail(throttle, 1, ALICE_IP, 'alice');
      // The right password, on the attempt that fills the pair's window.
      expect(await throttle.take(ALICE_IP, 'alice')).toEqual({ allowed: true });
      expect((await throttle.check(ALICE_IP, 'alice')).allowed).toBe(false);
      await throttle.recordSuccess(ALICE_IP, 'alice');
      expect(await throttle.check(ALICE_IP, 'alice')).toEqual({ allowed: true });
      await fail(throttle, 1, ALICE_IP, 'alice');
      expect(await throttle.check(ALICE_IP, 'alice')).toEqual({ allowed: true });
      // The address still counts alice's two failures: two more under any name fill it.
      await fail(throttle, 2, ALICE_IP, 'carol');
      expect((await throttle.check(ALICE_IP, 'alice')).allowed).toBe(false);
      expect((await throttle.check(ALICE_IP, 'dave')).allowed).toBe(false);
      expect(await throttle.check(OTHER_IP, 'alice')).toEqual({ allowed: true });
    });

    it('a success does not clear the per-user counter', async () => {
      const throttle = make(config('10/minute', '3/minute', '10/minute'));
      await fail(throttle, 2, OTHER_IP, 'alice');
      await throttle.take(ALICE_IP, 'alice');
      await throttle.recordSuccess(ALICE_IP, 'alice');
      await throttle.take(ALICE_IP, 'alice');
      expect((await throttle.check('203.0.113.99', 'alice')).allowed).toBe(false);
    });

    it('a rotating username from one address is still limited per address', async () => {
      const throttle = make(config('5/minute', '5/minute', '5/minute'));
      for (let i = 0; i < 5; i++) {
        expect((await throttle.check(ALICE_IP, `user${i}`)).allowed).toBe(true);
        await throttle.take(ALICE_IP, `user${i}`);
      }
      expect((await throttle.check(ALICE_IP, 'user-never-tried')).allowed).toBe(false);
      expect((await throttle.check(OTHER_IP, 'user-never-tried')).allowed).toBe(true);
    });

    it('many addresses guessing one username are limited per user', async () => {
      const throttle = make(config('5/minute', '4/minute', '5/minute'));
      for (let i = 1; i <= 4; i++) await throttle.take(`203.0.113.${i}`, 'alice');
      expect((await throttle.check('203.0.113.200', 'alice')).allowed).toBe(false);
      expect((await throttle.check('203.0.113.200', 'bob')).allowed).toBe(true);
    });

    it('counts usernames in their normal form (NFKC, lower case)', async () => {
      const throttle = make(config('off', '3/minute', 'off'));
      await throttle.take(ALICE_IP, 'Alice');
      await throttle.take(ALICE_IP, 'ALICE');
      await throttle.take(ALICE_IP, 'ａｌｉｃｅ'); // full-width
      expect((await throttle.check(OTHER_IP, 'alice')).allowed).toBe(false);
    });

    it('counts IPv6 addresses per /64', async () => {
      const throttle = make(config('3/minute', 'off', 'off'));
      await throttle.take('2001:db8:1:2::1', 'a');
      await throttle.take('2001:db8:1:2:ffff::7', 'b');
      await throttle.take('2001:DB8:1:2:0:0:0:9', 'c');
      expect((await throttle.check('2001:db8:1:2:abcd::1', 'd')).allowed).toBe(false);
      expect((await throttle.check('2001:db8:1:3::1', 'd')).allowed).toBe(true);
      expect(await throttle.list()).toEqual([{ scope: 'ip', key: '2001:db8:1:2::/64', failures: 3, blockedForSec: 60 }]);
    });

    it('a username cannot pose as an address, nor as another pair', async () => {
      const scopes = make(config('2/minute', '2/minute', 'off'));
      await fail(scopes, 2, ALICE_IP, OTHER_IP);
      expect((await scopes.check(ALICE_IP, 'bob')).allowed).toBe(false);
      expect(await scopes.check(OTHER_IP, 'bob')).toEqual({ allowed: true });

      const pairs = make(config('off', 'off', '2/minute'));
      await fail(pairs, 2, OTHER_IP, `bob|${ALICE_IP}`);
      expect(await pairs.check(ALICE_IP, 'bob')).toEqual({ allowed: true });
      expect((await pairs.check(OTHER_IP, `bob|${ALICE_IP}`)).allowed).toBe(false);
    });

    it('lists every counter with its failures and how long it blocks', async () => {
      const throttle = make(config('10/minute;50/hour', '20/minute;100/hour', '2/minute'));
      await fail(throttle, 2, ALICE_IP, 'alice');
      await throttle.take(OTHER_IP, 'Bob');
      const rows = await throttle.list();
      expect(rows).toEqual([
        { scope: 'ip', key: ALICE_IP, failures: 2, blockedForSec: 0 },
        { scope: 'ip', key: OTHER_IP, failures: 1, blockedForSec: 0 },
        { scope: 'user', key: 'alice', failures: 2, blockedForSec: 0 },
        { scope: 'user', key: 'bob', failures: 1, blockedForSec: 0 },
        { scope: 'user+ip', key: `alice|${ALICE_IP}`, failures: 2, blockedForSec: expect.any(Number) },
        { scope: 'user+ip', key: `bob|${OTHER_IP}`, failures: 1, blockedForSec: 0 },
      ]);
      const blocked = rows.find((r) => r.scope === 'user+ip' && r.key.startsWith('alice'))!;
      expect(blocked.blockedForSec).toBeGreaterThanOrEqual(59);
      expect(blocked.blockedForSec).toBeLessThanOrEqual(60);
    });

    it('clears by user: the user counter and every pair with that user', async () => {
      const throttle = make(config('2/minute', '2/minute', '2/minute'));
      await fail(throttle, 2, ALICE_IP, 'alice');
      await fail(throttle, 2, OTHER_IP, 'bob');
      expect(await throttle.clear({ user: 'ALICE' })).toBe(2);
      expect((await throttle.list()).map((r) => `${r.scope} ${r.key}`)).toEqual([
        `ip ${ALICE_IP}`,
        `ip ${OTHER_IP}`,
        'user bob',
        `user+ip bob|${OTHER_IP}`,
      ]);
      // ALICE_IP is still full: the address counter was not the user's.
      expect((await throttle.check(ALICE_IP, 'alice')).allowed).toBe(false);
      expect((await throttle.check('203.0.113.1', 'alice')).allowed).toBe(true);
    });

    it('clears by address: the address counter and every pair from it', async () => {
      const throttle = make(config('2/minute', '2/minute', '2/minute'));
      await fail(throttle, 2, ALICE_IP, 'alice');
      await fail(throttle, 2, OTHER_IP, 'bob');
      expect(await throttle.clear({ ip: `::ffff:${ALICE_IP}` })).toBe(2);
      expect((await throttle.list()).map((r) => `${r.scope} ${r.key}`)).toEqual([
        `ip ${OTHER_IP}`,
        'user alice',
        'user bob',
        `user+ip bob|${OTHER_IP}`,
      ]);
      expect((await throttle.check(ALICE_IP, 'carol')).allowed).toBe(true);
    });

    it('clears by user and address (either), or everything', async () => {
      const throttle = make(config('2/minute', '2/minute', '2/minute'));
      await fail(throttle, 2, ALICE_IP, 'alice');
      await fail(throttle, 2, OTHER_IP, 'bob');
      await fail(throttle, 1, '203.0.113.1', 'carol');
      expect(await throttle.clear({ user: 'alice', ip: OTHER_IP })).toBe(4);
      expect((await throttle.list()).map((r) => `${r.scope} ${r.key}`)).toEqual([
        `ip ${ALICE_IP}`,
        'ip 203.0.113.1',
        'user bob',
        'user carol',
        'user+ip carol|203.0.113.1',
      ]);
      expect(await throttle.clear({})).toBe(5);
      expect(await throttle.list()).toEqual([]);
      expect(await throttle.check(ALICE_IP, 'alice')).toEqual({ allowed: true });
    });

    it('clearing what is not there clears nothing', async () => {
      const throttle = make(config('2/minute', '2/minute', '2/minute'));
      await fail(throttle, 1, ALICE_IP, 'alice');
      expect(await throttle.clear({ user: 'nobody' })).toBe(0);
      expect(await throttle.clear({ ip: 'not an address' })).toBe(0);
      expect(await throttle.list()).toHaveLength(3);
    });

    it('of N concurrent attempts against a limit of L, at most L get through; the refused keep no points', async () => {
      const throttle = make(config('5/minute', '20/minute', '50/minute'));
      const answers = await Promise.all(Array.from({ length: 40 }, () => throttle.take(ALICE_IP, 'alice')));
      expect(answers.filter((a) => a.allowed)).toHaveLength(5);
      // The refusal names a window that refused: the address's 5 a minute, or, while 40 attempts hold
      // their points at once before the refused give theirs back, the username's 20.
      for (const refused of answers.filter((a) => !a.allowed)) expect(refused).toEqual({ allowed: false, retryAfterSec: expect.any(Number), scope: expect.stringMatching(/^(ip|user)$/) });
      // The 35 refused attempts gave back what they took: alice's own window holds the five that ran.
      expect(await throttle.list()).toEqual([
        { scope: 'ip', key: ALICE_IP, failures: 5, blockedForSec: expect.any(Number) },
        { scope: 'user', key: 'alice', failures: 5, blockedForSec: 0 },
        { scope: 'user+ip', key: `alice|${ALICE_IP}`, failures: 5, blockedForSec: 0 },
      ]);
    });

    it('an address hammering its full window does not fill the per-user window (no owner lock-out from one address)', async () => {
      const throttle = make(config('off', '10/minute', '3/minute'));
      for (let i = 0; i < 30; i++) await throttle.take(ALICE_IP, 'alice');
      expect(await throttle.check(OTHER_IP, 'alice')).toEqual({ allowed: true });
      expect(await throttle.list()).toContainEqual({ scope: 'user', key: 'alice', failures: 3, blockedForSec: 0 });
    });

    it('a success gives the address and username windows back its own point', async () => {
      const throttle = make(config('3/minute', '3/minute', '3/minute'));
      await throttle.take(ALICE_IP, 'alice');
      await throttle.recordSuccess(ALICE_IP, 'alice');
      await fail(throttle, 2, ALICE_IP, 'bob');
      // Two failures from the address, not three: the success does not count as one.
      expect(await throttle.check(ALICE_IP, 'carol')).toEqual({ allowed: true });
      expect(await throttle.list()).toContainEqual({ scope: 'ip', key: ALICE_IP, failures: 2, blockedForSec: 0 });
    });

    it('with every scope off, nothing is ever refused', async () => {
      const throttle = make(config('off', '', 'off'));
      await fail(throttle, 50, ALICE_IP, 'alice');
      expect(await throttle.check(ALICE_IP, 'alice')).toEqual({ allowed: true });
    });
  });
}

describe('defaults', () => {
  it('are the documented specs', () => {
    expect(DEFAULT_THROTTLE_CONFIG).toEqual(
      config(DEFAULT_THROTTLE_SPECS.perIp, DEFAULT_THROTTLE_SPECS.perUser, DEFAULT_THROTTLE_SPECS.perUserIp),
    );
  });

  it('one address can never fill the per-user window, even across a window boundary', () => {
    const { perUser, perUserIp } = DEFAULT_THROTTLE_CONFIG;
    for (const userWindow of perUser) {
      const pair = perUserIp.find((w) => w.durationSec === userWindow.durationSec);
      expect(pair).toBeDefined();
      expect(2 * pair!.points).toBeLessThan(userWindow.points);
    }
  });

  it('the owner, from a clean address, still signs in while one address attacks', async () => {
    const throttle = createLoginThrottle(DEFAULT_THROTTLE_CONFIG, {});
    const attacker = '203.0.113.66';
    for (let i = 0; i < 200; i++) {
      if ((await throttle.check(attacker, 'alice')).allowed) await throttle.take(attacker, 'alice');
    }
    expect((await throttle.check(attacker, 'alice')).allowed).toBe(false);
    expect(await throttle.check(ALICE_IP, 'alice')).toEqual({ allowed: true });
  });

  it('refuses a config whose windows would share a counter', () => {
    const twice = [
      { points: 5, durationSec: 60 },
      { points: 9, durationSec: 60 },
    ];
    expect(() => createLoginThrottle({ perIp: [], perUser: twice, perUserIp: [] }, {})).toThrow('throttle user: more than one window of 60s');
    expect(() => createLoginThrottle({ perIp: [{ points: 0, durationSec: 60 }], perUser: [], perUserIp: [] }, {})).toThrow(
      'throttle ip: points must be a positive integer, got 0',
    );
  });
});

describeThrottleContract('memory', () => (cfg) => createLoginThrottle(cfg, {}));

describe('memory', () => {
  it('knows from its own counters that an address is refused, with the time left', async () => {
    const throttle = createLoginThrottle(config('2/minute', 'off', 'off'), {});
    expect(await throttle.addressRefusal(ALICE_IP)).toBeUndefined();
    await fail(throttle, 2, ALICE_IP, 'alice');
    expect(await throttle.addressRefusal(ALICE_IP)).toEqual(await throttle.check(ALICE_IP, 'anyone'));
    expect(await throttle.addressRefusal(OTHER_IP)).toBeUndefined();
  });

  it('cannot say without waiting: its counters are read asynchronously', async () => {
    const throttle = createLoginThrottle(config('2/minute', 'off', 'off'), {});
    await fail(throttle, 2, ALICE_IP, 'alice');
    expect(throttle.addressRefusalNow(ALICE_IP)).toBe(NOT_AT_HAND);
  });
});

describe('redis', () => {
  let server: RedisProcess;
  let redis: Redis;
  let n = 0;
  beforeAll(async () => {
    server = await startRedis();
    redis = await connected(server.url);
  });
  afterAll(async () => {
    redis?.disconnect();
    await server?.stop();
  });

  describeThrottleContract('redis', () => (cfg) => createLoginThrottle(cfg, { redis, keyPrefix: `test${++n}:throttle` }));

  it('keeps counters under the prefix, per scope and window, with a TTL', async () => {
    const throttle = createLoginThrottle(config('5/minute', '5/hour', '5/day'), { redis, keyPrefix: 'layout' });
    await throttle.take(ALICE_IP, 'Alice');
    // The counters, and the index of them that `throttle list` reads (the library does not list its keys).
    expect((await redis.keys('layout:*')).sort()).toEqual([
      'layout:index',
      `layout:ip:60:${ALICE_IP}`,
      'layout:user+ip:86400:alice|192.0.2.10',
      'layout:user:3600:alice',
    ]);
    expect(await redis.pttl('layout:index')).toBeGreaterThan(86_000_000);
    const ttl = await redis.pttl('layout:user+ip:86400:alice|192.0.2.10');
    expect(ttl).toBeGreaterThan(86_000_000);
    expect(ttl).toBeLessThanOrEqual(86_400_000);
  });

  it('uses postern:throttle as the default prefix, and list ignores other keys', async () => {
    await redis.set('postern:throttle:junk', '1', 'EX', 60);
    await redis.set('postern:throttle:nope:60:x', '1', 'EX', 60);
    const throttle = createLoginThrottle(config('5/minute', 'off', 'off'), { redis });
    await throttle.take(ALICE_IP, 'alice');
    expect(await redis.get(`postern:throttle:ip:60:${ALICE_IP}`)).toBe('1');
    expect(await throttle.list()).toEqual([{ scope: 'ip', key: ALICE_IP, failures: 1, blockedForSec: 0 }]);
    expect(await throttle.clear({})).toBe(1);
    expect(await redis.exists('postern:throttle:junk')).toBe(1);
  });

  it('an attempt refused by a window gives every window its point back, in Redis too', async () => {
    const throttle = createLoginThrottle(config('3/minute;50/hour', '20/minute;100/hour', '2/minute;20/hour'), { redis, keyPrefix: 'giveBack' });
    await fail(throttle, 2, ALICE_IP, 'alice');
    expect((await throttle.take(ALICE_IP, 'alice')).allowed).toBe(false);
    expect(await redis.get(`giveBack:ip:3600:${ALICE_IP}`)).toBe('2');
    expect(await redis.get(`giveBack:user+ip:60:alice|${ALICE_IP}`)).toBe('2');
  });

  it('shares limits between two instances on one Redis (two replicas, or a restart)', async () => {
    const cfg = config('10/minute', '10/minute', '5/minute');
    let clock = Date.now();
    const now = () => clock;
    const replicaA = createLoginThrottle(cfg, { redis, keyPrefix: 'shared', now });
    const replicaB = createLoginThrottle(cfg, { redis, keyPrefix: 'shared', now });
    await fail(replicaA, 2, ALICE_IP, 'alice');
    await fail(replicaB, 2, ALICE_IP, 'alice');
    // The fifth attempt, with the right password, fills the pair's window.
    expect(await replicaB.take(ALICE_IP, 'alice')).toEqual({ allowed: true });
    expect((await replicaA.check(ALICE_IP, 'alice')).allowed).toBe(false);
    expect((await replicaB.check(ALICE_IP, 'alice')).allowed).toBe(false);
    // A success on one replica clears the pair for both: at once there, within a second on the other.
    await replicaB.recordSuccess(ALICE_IP, 'alice');
    expect(await replicaB.check(ALICE_IP, 'alice')).toEqual({ allowed: true });
    clock += 1_000;
    expect(await replicaA.check(ALICE_IP, 'alice')).toEqual({ allowed: true });
    // A new instance (a restart) sees the counters too.
    const restarted = createLoginThrottle(cfg, { redis, keyPrefix: 'shared' });
    expect(await restarted.list()).toContainEqual({ scope: 'user', key: 'alice', failures: 4, blockedForSec: 0 });
    // And what the CLI clears from its own process is gone for the server's.
    expect(await restarted.clear({ user: 'alice' })).toBe(1);
    expect(await replicaA.list()).toEqual([{ scope: 'ip', key: ALICE_IP, failures: 4, blockedForSec: 0 }]);
  });

  it('answers a refusal Redis gave less than a second ago without asking Redis again', async () => {
    let clock = Date.now();
    const throttle = createLoginThrottle(config('2/minute', 'off', 'off'), { redis, keyPrefix: 'remembered', now: () => clock });
    await fail(throttle, 2, ALICE_IP, 'alice');
    // Every command Redis ran, less the INFO that asks.
    const commands = async () => Number(/total_commands_processed:(\d+)/.exec(await redis.info('stats'))?.[1] ?? 0);
    let asked = 0;
    const evals = async () => (await commands()) - asked++;
    const first = await throttle.check(ALICE_IP, 'alice');
    expect(first.allowed).toBe(false);
    const before = await evals();
    // Any username from the refused address: the address window is what is full.
    expect(await throttle.check(ALICE_IP, 'mallory')).toEqual(first);
    expect(await evals()).toBe(before);
    clock += 1_000;
    expect((await throttle.check(ALICE_IP, 'alice')).allowed).toBe(false);
    expect(await evals()).toBeGreaterThan(before);
    expect(await throttle.check(OTHER_IP, 'alice')).toEqual({ allowed: true });
  });

  it('knows an address is refused without asking Redis only while it remembers Redis saying so', async () => {
    let clock = Date.now();
    const throttle = createLoginThrottle(config('2/minute', 'off', 'off'), { redis, keyPrefix: 'gate', now: () => clock });
    await fail(throttle, 2, ALICE_IP, 'alice');
    // Full in Redis, but this replica has not been told yet: check() decides.
    expect(await throttle.addressRefusal(ALICE_IP)).toBeUndefined();
    const refused = await throttle.check(ALICE_IP, 'alice');
    expect(refused.allowed).toBe(false);
    expect(await throttle.addressRefusal(ALICE_IP)).toEqual(refused);
    expect(await throttle.addressRefusal(OTHER_IP)).toBeUndefined();
    // The same answers without waiting: with Redis they need no counter read.
    expect(throttle.addressRefusalNow(ALICE_IP)).toEqual(refused);
    expect(throttle.addressRefusalNow(OTHER_IP)).toBeUndefined();
    clock += 1_000;
    expect(await throttle.addressRefusal(ALICE_IP)).toBeUndefined();
    expect(throttle.addressRefusalNow(ALICE_IP)).toBeUndefined();
  });

  it('sees `postern throttle clear` run elsewhere within a second', async () => {
    let clock = Date.now();
    const cfg = config('2/minute', 'off', 'off');
    const server = createLoginThrottle(cfg, { redis, keyPrefix: 'cleared', now: () => clock });
    await fail(server, 2, ALICE_IP, 'alice');
    expect((await server.check(ALICE_IP, 'alice')).allowed).toBe(false);
    const cli = createLoginThrottle(cfg, { redis, keyPrefix: 'cleared' });
    expect(await cli.clear({ ip: ALICE_IP })).toBe(1);
    clock += 999;
    expect((await server.check(ALICE_IP, 'alice')).allowed).toBe(false);
    clock += 1;
    expect(await server.check(ALICE_IP, 'alice')).toEqual({ allowed: true });
  });
});

describe('redis outage', () => {
  let server: RedisProcess;
  let redis: Redis;
  beforeAll(async () => {
    server = await startRedis();
    redis = await connected(server.url);
  });
  afterAll(async () => {
    redis?.disconnect();
    await server?.stop();
  });

  it('keeps limiting from memory while Redis is down, says so, and returns to Redis after', async () => {
    const failures: Error[] = [];
    const cfg = config('20/minute', '20/minute', '3/minute');
    const throttle = createLoginThrottle(cfg, { redis, onStoreFailure: (err) => failures.push(err) });

    // Two failures while Redis is up, one short of the limit.
    await fail(throttle, 2, ALICE_IP, 'alice');
    expect(await throttle.check(ALICE_IP, 'alice')).toEqual({ allowed: true });
    expect(failures).toEqual([]);

    await server.stop();
    await waitFor(() => redis.status !== 'ready', { what: 'the client to notice the outage' });

    // A store failure is not "unlimited": memory remembers the two failures Redis held.
    expect(await throttle.check(ALICE_IP, 'alice')).toEqual({ allowed: true });
    expect(failures.length).toBe(1);
    expect(failures[0]).toBeInstanceOf(Error);
    expect(failures[0]!.message).toContain('rate-limit store failed during a check');
    // Said once per outage, not once per operation.
    expect(await throttle.take(ALICE_IP, 'alice')).toEqual({ allowed: true });
    expect(failures.length).toBe(1);
    const refused = await throttle.check(ALICE_IP, 'alice');
    expect(refused.allowed).toBe(false);
    if (!refused.allowed) expect(refused.retryAfterSec).toBeGreaterThan(0);
    // list and clear are for the CLI: they report the outage instead of an empty answer.
    await expect(throttle.list()).rejects.toThrow();

    // A fresh instance (a replica that knows nothing) still limits from its own memory.
    const fresh = createLoginThrottle(cfg, { redis, onStoreFailure: (err) => failures.push(err) });
    await fail(fresh, 3, OTHER_IP, 'bob');
    expect((await fresh.check(OTHER_IP, 'bob')).allowed).toBe(false);

    await server.start();
    await waitFor(() => redis.status === 'ready', { what: 'the client to reconnect', timeoutMs: 10_000 });
    const before = failures.length;
    // The restarted Redis kept nothing (no persistence in tests); counting is back in Redis.
    expect(await throttle.check(ALICE_IP, 'alice')).toEqual({ allowed: true });
    await fail(throttle, 3, ALICE_IP, 'alice');
    expect((await throttle.check(ALICE_IP, 'alice')).allowed).toBe(false);
    expect(await redis.get(`postern:throttle:user+ip:60:alice|${ALICE_IP}`)).toBe('3');
    expect(failures.length).toBe(before);

    // A later outage is said again.
    await server.stop();
    await waitFor(() => redis.status !== 'ready', { what: 'the client to notice the second outage' });
    expect(await throttle.take('203.0.113.7', 'carol')).toEqual({ allowed: true });
    expect(await throttle.take('203.0.113.8', 'dave')).toEqual({ allowed: true });
    expect(failures.length).toBe(before + 1);
    await server.start();
    await waitFor(() => redis.status === 'ready', { what: 'the client to reconnect', timeoutMs: 10_000 });
  });

  it('a stalled Redis (connected, silent) is an outage too, bounded by the command timeout', async () => {
    await waitFor(() => redis.status === 'ready', { what: 'redis up' });
    const fast = createRedisClient(server.url, { commandTimeoutMs: 150 });
    await waitFor(() => fast.status === 'ready', { what: 'fast client ready' });
    const failures: Error[] = [];
    const throttle = createLoginThrottle(config('off', 'off', '2/minute'), {
      redis: fast,
      keyPrefix: 'stalled',
      onStoreFailure: (err) => failures.push(err),
    });
    await throttle.take(ALICE_IP, 'alice');
    server.pause();
    try {
      const started = performance.now();
      await throttle.take(ALICE_IP, 'alice');
      expect((await throttle.check(ALICE_IP, 'alice')).allowed).toBe(false);
      expect(performance.now() - started).toBeLessThan(2_000);
      expect(failures.length).toBe(1);
    } finally {
      server.resume();
      fast.disconnect();
    }
  });

  it('without onStoreFailure, an outage is still limited and nothing throws', async () => {
    await waitFor(() => redis.status === 'ready', { what: 'redis up' });
    const throttle = createLoginThrottle(config('off', 'off', '2/minute'), { redis, keyPrefix: 'quiet' });
    await server.stop();
    await waitFor(() => redis.status !== 'ready', { what: 'the client to notice the outage' });
    await fail(throttle, 2, ALICE_IP, 'alice');
    expect((await throttle.check(ALICE_IP, 'alice')).allowed).toBe(false);
    await throttle.recordSuccess(ALICE_IP, 'alice');
    expect(await throttle.check(ALICE_IP, 'alice')).toEqual({ allowed: true });
    await server.start();
  });
});
