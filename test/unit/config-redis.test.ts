import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { problemsOf } from '../support/config-problems.js';

// session.redis: one Redis by URL, or a Sentinel master group; TLS by rediss:// or tls.enabled.

const SENTINEL_PASSWORD = 'hunter2-sentinel-password';

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'postern-config-redis-'));
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});


const redisOf = (redis: unknown, env: NodeJS.ProcessEnv = {}) => parseConfig({ session: { redis } }, env, dir).config.session.redis;

describe('session.redis with Sentinels', () => {
  test('sentinels become host and port (default port 26379), with the master group name', () => {
    const redis = redisOf({ sentinels: ['10.0.0.1:26380', 'sentinel-b', '[::1]:5000'], name: 'mymaster' });

    expect(redis.sentinels).toEqual([
      { host: '10.0.0.1', port: 26380 },
      { host: 'sentinel-b', port: 26379 },
      { host: '::1', port: 5000 },
    ]);
    expect(redis.name).toBe('mymaster');
    expect(redis.url).toBeUndefined();
    expect(redis.tls).toEqual({ enabled: false, ca_file: undefined });
  });

  test('the environment gives sentinels comma-separated', () => {
    const redis = redisOf({}, { POSTERN_SESSION_REDIS_SENTINELS: 'a:1, b:2', POSTERN_SESSION_REDIS_NAME: 'm' });

    expect(redis.sentinels).toEqual([
      { host: 'a', port: 1 },
      { host: 'b', port: 2 },
    ]);
  });

  test('url and sentinels together are refused, naming both keys', () => {
    expect(problemsOf(() => redisOf({ url: 'redis://r:6379', sentinels: ['s:26379'], name: 'm' }))).toEqual([
      "session.redis.sentinels and session.redis.url are both set; set only one (url for one Redis, sentinels for a Sentinel-managed one), got '[\"s:26379\"]'",
    ]);
  });

  test('sentinels without a name are refused at session.redis.name', () => {
    expect(problemsOf(() => redisOf({ sentinels: ['s:26379'] }))).toEqual([
      'session.redis.name must be set with session.redis.sentinels (the master group name the Sentinels monitor)',
    ]);
  });

  test('name and the passwords without sentinels are refused, each at its key, passwords hidden', () => {
    const problems = problemsOf(() => redisOf({ name: 'm', password: 'p', sentinel_password: SENTINEL_PASSWORD }));

    expect(problems).toEqual([
      "session.redis.name is only used with session.redis.sentinels, which is not set, got 'm'",
      'session.redis.password is only used with session.redis.sentinels, which is not set, got <hidden>',
      'session.redis.sentinel_password is only used with session.redis.sentinels, which is not set, got <hidden>',
    ]);
  });

  test('a malformed sentinel address names its index', () => {
    for (const bad of ['s:0', 's:70000', 'a b:1', '::1:26379', '']) {
      expect(problemsOf(() => redisOf({ sentinels: ['ok:1', bad], name: 'm' }))).toEqual([
        `session.redis.sentinels[1] must be a list of sentinel addresses 'host:port' (port 1..65535, default 26379), got '${bad}'`,
      ]);
    }
    expect(problemsOf(() => redisOf({ sentinels: [], name: 'm' }))).toEqual([
      "session.redis.sentinels must be a list of sentinel addresses 'host:port' (port 1..65535, default 26379), got '[]'",
    ]);
  });

  test('sentinel_password_file reads the password from a file; the value never appears in a message', () => {
    writeFileSync(join(dir, 'sentinel.pass'), `${SENTINEL_PASSWORD}\n`);

    const redis = redisOf({ sentinels: ['s:1'], name: 'm', sentinel_password_file: 'sentinel.pass' });

    expect(redis.sentinel_password).toBe(SENTINEL_PASSWORD);
  });
});

describe('session.redis TLS', () => {
  test('tls.ca_file is resolved against the config directory', () => {
    const redis = redisOf({ url: 'rediss://r:6380', tls: { ca_file: 'ca.pem' } });

    expect(redis.tls).toEqual({ enabled: false, ca_file: join(dir, 'ca.pem') });
  });

  test('tls.enabled with sentinels turns TLS on for them and the primary', () => {
    expect(redisOf({ sentinels: ['s:1'], name: 'm', tls: { enabled: true } }).tls.enabled).toBe(true);
  });

  test('tls.ca_file without TLS is refused: it would be silently unused', () => {
    expect(problemsOf(() => redisOf({ url: 'redis://r:6379', tls: { ca_file: 'ca.pem' } }))).toEqual([
      "session.redis.tls.ca_file is set but TLS is off: use a 'rediss://' session.redis.url, or session.redis.tls.enabled with sentinels, got 'ca.pem'",
    ]);
  });

  test('tls.enabled with a url is refused: the URL scheme says it', () => {
    expect(problemsOf(() => redisOf({ url: 'redis://r:6379', tls: { enabled: true } }))).toEqual([
      "session.redis.tls.enabled is for session.redis.sentinels; with session.redis.url, TLS is a 'rediss://' URL, got 'true'",
    ]);
  });

  test('unknown keys under tls get a suggestion', () => {
    expect(problemsOf(() => redisOf({ url: 'rediss://r:6380', tls: { ca_flie: 'x' } }))).toEqual([
      "unknown key 'session.redis.tls.ca_flie' (did you mean 'ca_file'?)",
    ]);
  });
});
