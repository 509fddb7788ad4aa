import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { describeIssues, formatPath, nearest, show } from '../../src/config/messages.js';
import { configSchema } from '../../src/config/schema.js';
import { problemsOf as problemsOfThrown } from '../support/config-problems.js';

const problemsOf = (raw: unknown, env: NodeJS.ProcessEnv = {}): string[] => problemsOfThrown(() => parseConfig(raw, env));

describe('"did you mean" for a misspelt key at any depth', () => {
  it.each([
    [{ sever: {} }, "unknown key 'sever' (did you mean 'server'?)"],
    [{ server: { trusted_proxy: ['loopback'] } }, "unknown key 'server.trusted_proxy' (did you mean 'trusted_proxies'?)"],
    [{ server: { publicurl: 'https://a.example.com' } }, "unknown key 'server.publicurl' (did you mean 'public_url'?)"],
    [{ session: { redis: { ulr: 'redis://r' } } }, "unknown key 'session.redis.ulr' (did you mean 'url'?)"],
    [{ session: { redis: { url_fiel: 'f' } } }, "unknown key 'session.redis.url_fiel' (did you mean 'url_file'?)"],
    [{ users: { argon2: { memory: 19456 } } }, "unknown key 'users.argon2.memory' (did you mean 'memory_cost'?)"],
    [{ login: { account_rate_limits: 'off' } }, "unknown key 'login.account_rate_limits' (did you mean 'account_rate_limit'?)"],
    // Inside lists of mappings: access rules and OIDC providers, and a mapping within a provider.
    [
      { access: { rules: [{ policy: 'deny' }, { host: ['a.example.com'], policy: 'deny' }] } },
      "unknown key 'access.rules[1].host' (did you mean 'hosts'?)",
    ],
    [{ access: { rules: [{ metods: ['GET'], policy: 'deny' }] } }, "unknown key 'access.rules[0].metods' (did you mean 'methods'?)"],
    [{ access: { default_polcy: 'deny' } }, "unknown key 'access.default_polcy' (did you mean 'default_policy'?)"],
    [
      { oidc: { providers: [{ id: 'kc', issuer_url: 'https://kc.example.com', client_id: 'p', client_secret: 's', scopes: 'openid' }] } },
      "unknown key 'oidc.providers[0].scopes' (did you mean 'scope'?)",
    ],
    [
      { oidc: { providers: [{ id: 'kc', issuer_url: 'https://kc.example.com', client_id: 'p', client_secret_flie: 's' }] } },
      "unknown key 'oidc.providers[0].client_secret_flie' (did you mean 'client_secret_file'?)",
    ],
    [
      { oidc: { providers: [{ id: 'kc', issuer_url: 'https://kc.example.com', client_id: 'p', claims: { usrname: 'sub' } }] } },
      "unknown key 'oidc.providers[0].claims.usrname' (did you mean 'username'?)",
    ],
  ])('%j', (raw, problem) => {
    expect(problemsOf(raw)).toEqual([problem]);
  });

  it('a key far from every known one gets no guess', () => {
    expect(problemsOf({ server: { something_else: 1 } })).toEqual(["unknown key 'server.something_else'"]);
  });
});

describe('nearest', () => {
  const server = ['address', 'port', 'public_url', 'trusted_proxies', 'client_ip_header'];
  it.each([
    ['trusted_proxy', server, 'trusted_proxies'],
    ['TRUSTED_PROXIES', server, 'trusted_proxies'],
    ['prot', server, 'port'],
    ['adress', server, 'address'],
    ['client_ip', server, 'client_ip_header'],
    ['port_number', server, 'port'],
    // Short words: two edits at most, or everything would be a guess.
    ['xy', server, undefined],
    ['proxies', server, undefined],
    ['ip', server, undefined],
    ['x', [], undefined],
  ])('%s among %j: %s', (word, candidates, guess) => {
    expect(nearest(word, candidates)).toBe(guess);
  });
});

describe('describeIssues', () => {
  it('one message per key, with the value seen and the variable it came from, never a secret', () => {
    const input = { server: { port: 'x', trusted_proxies: ['nope'] }, session: { secret: 'short' } };
    const result = configSchema.safeParse(input, { error: () => 'has an invalid value' });
    expect(result.success).toBe(false);
    const messages = describeIssues(result.error!.issues, input, new Map([['server.port', 'POSTERN_SERVER_PORT']]), (path) => path === 'session.secret');
    expect(messages).toEqual([
      "server.port must be an integer between 0 and 65535, got 'x' (from POSTERN_SERVER_PORT)",
      "server.trusted_proxies[0] must be an address, a CIDR or one of loopback, private, docker, got 'nope'",
    ]);
  });

  it('a secret value is shown as <hidden>', () => {
    expect(problemsOf({ session: { secret: 'short' } })).toEqual(["session.secret must be a string of at least 32 characters, got <hidden>"]);
  });
});

describe('show and formatPath', () => {
  it.each([
    ['text', false, "'text'"],
    [42, false, "'42'"],
    ['a\nb', false, "'a\\u000ab'"],
    ['x'.repeat(61), false, `'${'x'.repeat(60)}…'`],
    ['hunter2', true, '<hidden>'],
  ])('show(%j, secret %s) is %s', (value, secret, shown) => {
    expect(show(value, secret)).toBe(shown);
  });

  it.each([
    [[], ''],
    [['server', 'trusted_proxies', 2], 'server.trusted_proxies[2]'],
    [['oidc', 'providers', 0, 'claims', 'role'], 'oidc.providers[0].claims.role'],
  ])('formatPath(%j) is %j', (path, text) => {
    expect(formatPath(path)).toBe(text);
  });
});
