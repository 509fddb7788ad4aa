import { describe, expect, it } from 'vitest';
import { CONFIG_KEYS, isSecretPath, knownKeysAt } from '../../src/config/keys.js';

describe('CONFIG_KEYS: the keys the environment can set, read from the schema', () => {
  it('lists every leaf key outside lists, in schema order, with how its text is converted', () => {
    expect(CONFIG_KEYS.map(({ path, kind }) => `${path}:${kind}`)).toEqual([
      'server.address:text',
      'server.port:number',
      'server.public_url:text',
      'server.trusted_proxies:list',
      'server.client_ip_header:text',
      'server.shutdown_grace:text',
      'server.proxy_secret:text',
      'session.secret:text',
      'session.cookie_name:text',
      'session.domain:text',
      'session.ttl:text',
      'session.inactivity:text',
      'session.remember_me:text',
      'session.redis.url:text',
      'session.redis.sentinels:list',
      'session.redis.name:text',
      'session.redis.password:text',
      'session.redis.sentinel_password:text',
      'session.redis.tls.enabled:boolean',
      'session.redis.tls.ca_file:text',
      'data_dir:text',
      'users.file:text',
      'users.min_password_length:number',
      'users.argon2.memory_cost:number',
      'users.argon2.time_cost:number',
      'users.argon2.parallelism:number',
      'headers.user:text',
      'headers.role:text',
      'headers.groups:text',
      'headers.email:text',
      'headers.name:text',
      'headers.auth:text',
      'log.level:text',
      'login.rate_limit:text',
      'login.account_rate_limit:text',
      'login.account_address_rate_limit:text',
      'login.device_ttl:text',
      'login.device_rate_limit:text',
      'login.passkey_rate_limit:text',
      'admin.subjects:list',
      'secrets.encryption_key:text',
      'two_factor.required_for_enrolled:boolean',
      'two_factor.enrol_on_sign_in:boolean',
      'two_factor.issuer:text',
      'metrics.address:text',
      'metrics.port:number',
      'tokens.header:text',
      'tokens.basic_account_password:boolean',
      'tokens.basic_cache_ttl:text',
      'access.default_policy:text',
      'access.networks:text',
      'oidc.auto_launch:boolean',
      'oidc.password_login:boolean',
      'oidc.start_rate_limit:text',
    ]);
  });
});

describe('knownKeysAt', () => {
  it.each([
    ['', ['server', 'session', 'data_dir', 'users', 'headers', 'log', 'login', 'admin', 'secrets', 'two_factor', 'metrics', 'tokens', 'access', 'oidc']],
    ['session.redis', ['url', 'url_file', 'sentinels', 'name', 'password', 'password_file', 'sentinel_password', 'sentinel_password_file', 'tls']],
    ['access.rules', ['hosts', 'paths', 'methods', 'networks', 'subjects', 'policy', 'viewer_write']],
    ['oidc.providers.claims', ['username', 'email', 'name', 'groups', 'role']],
  ])('%j holds %j', (path, keys) => {
    expect(knownKeysAt(path)).toEqual(keys);
  });

  it('names a secret together with its _file form', () => {
    expect(knownKeysAt('oidc.providers')).toEqual(expect.arrayContaining(['client_secret', 'client_secret_file']));
  });

  it.each(['data_dir', 'access.networks', 'server.port', 'nothing'])('%j is not a mapping of known keys', (path) => {
    expect(knownKeysAt(path)).toBeUndefined();
  });
});

describe('isSecretPath', () => {
  it.each([
    ['session.secret', true],
    ['session.redis.url', true],
    ['session.redis.sentinel_password', true],
    ['oidc.providers.client_secret', true],
    ['oidc.providers.client_id', false],
    ['session.cookie_name', false],
  ])('%s: %s', (path, secret) => {
    expect(isSecretPath(path)).toBe(secret);
  });
});
