import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { ConfigError } from '../../src/config/errors.js';
import type { RedisSettings } from '../../src/config/types.js';
import { describeRedisTarget, redisOptions, redisTargetFromConfig, type RedisTarget } from '../../src/store/redis-client.js';

const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const NONE: RedisSettings = {
  url: undefined,
  sentinels: undefined,
  name: undefined,
  password: undefined,
  sentinel_password: undefined,
  tls: { enabled: false, ca_file: undefined },
};
const SENTINELS = [
  { host: '10.0.0.1', port: 26379 },
  { host: '::1', port: 26380 },
];

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'postern-redis-client-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('redisTargetFromConfig', () => {
  test('no url and no sentinels: sessions stay in memory', () => {
    expect(redisTargetFromConfig(NONE)).toBeUndefined();
  });

  test('a rediss:// url with a CA bundle carries the bundle text', () => {
    const caFile = join(dir, 'ca.pem');
    writeFileSync(caFile, PEM);

    expect(redisTargetFromConfig({ ...NONE, url: 'rediss://r:6380', tls: { enabled: false, ca_file: caFile } })).toEqual({ url: 'rediss://r:6380', ca: PEM });
  });

  test('sentinels with TLS and passwords', () => {
    const settings = { ...NONE, sentinels: SENTINELS, name: 'mymaster', password: 'p1', sentinel_password: 'p2', tls: { enabled: true, ca_file: undefined } };

    expect(redisTargetFromConfig(settings)).toEqual({ sentinels: SENTINELS, name: 'mymaster', password: 'p1', sentinelPassword: 'p2', tls: {} });
  });

  test('an unreadable CA file is a config problem naming the key and the file', () => {
    const missing = join(dir, 'missing.pem');
    const settings = { ...NONE, url: 'rediss://r:6380', tls: { enabled: false, ca_file: missing } };

    expect(() => redisTargetFromConfig(settings)).toThrow(ConfigError);
    expect(() => redisTargetFromConfig(settings)).toThrow(`session.redis.tls.ca_file cannot be read: '${missing}' (ENOENT)`);
  });

  test('a CA file without a certificate is refused before any connection', () => {
    const caFile = join(dir, 'ca.pem');
    writeFileSync(caFile, 'not a certificate');

    expect(() => redisTargetFromConfig({ ...NONE, url: 'rediss://r:6380', tls: { enabled: false, ca_file: caFile } })).toThrow(
      `session.redis.tls.ca_file must be a PEM file of CA certificates: '${caFile}' has none`,
    );
  });
});

describe('redisOptions', () => {
  const failFast = {
    commandTimeout: 150,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    enableReadyCheck: true,
  };

  test('a url keeps the fail-fast settings and adds TLS only for a CA bundle', () => {
    expect(redisOptions({ url: 'redis://r:6379' })).toMatchObject(failFast);
    expect(redisOptions({ url: 'redis://r:6379' }).tls).toBeUndefined();
    expect(redisOptions({ url: 'rediss://r:6380', ca: PEM }).tls).toEqual({ ca: PEM });
  });

  test('sentinels keep the same fail-fast settings and retry forever, the primary and the Sentinels alike', () => {
    const options = redisOptions({ sentinels: SENTINELS, name: 'mymaster', sentinelPassword: 'p2' }, { commandTimeoutMs: 300 });

    expect(options).toMatchObject({ ...failFast, commandTimeout: 300, name: 'mymaster', role: 'master', sentinelPassword: 'p2', sentinels: SENTINELS });
    expect(options.tls).toBeUndefined();
    expect(options.enableTLSForSentinelMode).toBeUndefined();
    for (const attempt of [1, 10, 1000]) {
      expect(options.retryStrategy!(attempt)).toBeLessThanOrEqual(1000);
      expect(options.sentinelRetryStrategy!(attempt)).toBeLessThanOrEqual(1000);
    }
  });

  test('sentinels with TLS use it to the Sentinels and to the primary, with the CA bundle', () => {
    const options = redisOptions({ sentinels: SENTINELS, name: 'm', tls: { ca: PEM } });

    expect(options).toMatchObject({ tls: { ca: PEM }, sentinelTLS: { ca: PEM }, enableTLSForSentinelMode: true });
  });

  test('a demoted primary (READONLY) makes the client reconnect through the Sentinels', () => {
    const options = redisOptions({ sentinels: SENTINELS, name: 'm' });

    expect(options.reconnectOnError!(new Error("READONLY You can't write against a read only replica."))).toBe(true);
    expect(options.reconnectOnError!(new Error('WRONGTYPE Operation against a key'))).toBe(false);
  });
});

describe('describeRedisTarget', () => {
  test('says where, never a password', () => {
    const url: RedisTarget = { url: 'redis://:hunter2@redis.internal:6379/0' };
    const sentinels: RedisTarget = { sentinels: SENTINELS, name: 'mymaster', password: 'hunter2', sentinelPassword: 'hunter3' };

    expect(describeRedisTarget(url)).toEqual({ redis: 'redis://redis.internal:6379' });
    expect(describeRedisTarget(sentinels)).toEqual({ sentinels: ['10.0.0.1:26379', '[::1]:26380'], name: 'mymaster' });
    expect(JSON.stringify([describeRedisTarget(url), describeRedisTarget(sentinels)])).not.toMatch(/hunter/);
  });
});
