import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, expectTypeOf, test, vi } from 'vitest';
import { loadConfig, parseConfig, type LoadOptions } from '../../src/config/load.js';
import { CONFIG_KEYS } from '../../src/config/keys.js';
import { SECRET_KEYS } from '../../src/config/schema.js';
import type { ClientIpHeader } from '../../src/http/client-ip.js';
import { problemsOf } from '../support/config-problems.js';

const HOUR = 3_600_000;
const SECRET = 'correct-horse-battery-staple-0123456789';
const REDIS_URL = 'redis://:hunter2-redis-password@redis.internal:6379/0';

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'postern-config-'));
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function write(name: string, content: string): string {
  const file = join(dir, name);
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(file, content);
  return file;
}

/** loadConfig isolated from the machine: no argv, no environment, the temp dir as cwd. */
function load(opts: LoadOptions = {}) {
  return loadConfig({ argv: [], env: {}, cwd: dir, ...opts });
}


describe('defaults', () => {
  test('with no file anywhere, every key has its default and paths resolve against cwd', () => {
    const loaded = load();

    expect(loaded.file).toBeUndefined();
    expect(loaded.warnings).toEqual([]);
    expect(loaded.config).toEqual({
      server: {
        address: '0.0.0.0',
        port: 9190,
        public_url: 'http://localhost:9190',
        trusted_proxies: ['loopback'],
        client_ip_header: undefined,
        shutdown_grace: 5000,
        proxy_secret: undefined,
      },
      session: {
        secret: undefined,
        cookie_name: 'postern_session',
        domain: 'localhost',
        ttl: 24 * HOUR,
        inactivity: 0,
        remember_me: 720 * HOUR,
        redis: { url: undefined, sentinels: undefined, name: undefined, password: undefined, sentinel_password: undefined, tls: { enabled: false, ca_file: undefined } },
      },
      data_dir: join(dir, 'data'),
      users: {
        file: join(dir, 'data', 'users.yml'),
        min_password_length: 12,
        argon2: { memory_cost: 19456, time_cost: 2, parallelism: 1 },
      },
      headers: {
        user: 'Remote-User',
        role: 'Remote-Role',
        groups: 'Remote-Groups',
        email: 'Remote-Email',
        name: 'Remote-Name',
        auth: 'Remote-Auth',
      },
      log: { level: 'info' },
      login: {
        throttle: {
          perIp: [{ points: 10, durationSec: 60 }, { points: 50, durationSec: 3600 }],
          perUser: [{ points: 20, durationSec: 60 }, { points: 100, durationSec: 3600 }],
          perUserIp: [{ points: 5, durationSec: 60 }, { points: 20, durationSec: 3600 }],
          perDevice: [{ points: 5, durationSec: 60 }, { points: 20, durationSec: 3600 }],
        },
        device_ttl: 90 * 24 * HOUR,
        passkey_rate_limit: [{ points: 30, durationSec: 60 }, { points: 300, durationSec: 3600 }],
      },
      admin: { subjects: ['role:admin'] },
      secrets: {},
      two_factor: { required_for_enrolled: true, enrol_on_sign_in: false, issuer: 'Postern' },
      metrics: { address: '127.0.0.1', port: undefined },
      tokens: { header: 'X-Postern-Token', basic_account_password: false, basic_cache_ttl: 5 * 60_000 },
      access: undefined,
    });
  });

  test('tokens.header must not be one of the identity headers', () => {
    expect(problemsOf(() => parseConfig({ tokens: { header: 'remote-user' } }))).toEqual([expect.stringMatching(/^tokens\.header.*must differ from headers\.user/)]);
  });

  test('tokens: the app password header and Basic account passwords', () => {
    const { tokens } = parseConfig({ tokens: { header: 'X-App-Token', basic_account_password: true, basic_cache_ttl: '2m' } }).config;
    expect(tokens).toEqual({ header: 'X-App-Token', basic_account_password: true, basic_cache_ttl: 120_000 });
    expect(problemsOf(() => parseConfig({ tokens: { header: 'Authorization', basic_cache_ttl: '2h', basic_account_password: 'yes' } }))).toEqual([
      expect.stringContaining('tokens.header'),
      expect.stringContaining('tokens.basic_account_password'),
      expect.stringContaining('tokens.basic_cache_ttl'),
    ]);
  });

  test('an empty file and empty sections mean all defaults', () => {
    write('postern.yml', '# nothing yet\nsession:\nserver:\n  port:\n');

    expect(load().config).toEqual(parseConfig({}, {}, dir).config);
  });

  test('the returned config is deeply frozen', () => {
    const { config } = parseConfig({});

    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.server)).toBe(true);
    expect(Object.isFrozen(config.server.trusted_proxies)).toBe(true);
    expect(Object.isFrozen(config.session.redis)).toBe(true);
    expect(Object.isFrozen(config.users.argon2)).toBe(true);
    expect(() => {
      (config.server as { port: number }).port = 1;
    }).toThrow(TypeError);
  });

  test('freezing one result does not freeze the defaults of the next', () => {
    parseConfig({});

    expect(parseConfig({ server: { trusted_proxies: ['10.0.0.0/8'] } }).config.server.trusted_proxies).toEqual([
      '10.0.0.0/8',
    ]);
    expect(parseConfig({}).config.server.trusted_proxies).toEqual(['loopback']);
  });

  test('the Config type is the schema output: each key has the type its consumer takes, without a cast', () => {
    const { config } = parseConfig({ server: { client_ip_header: 'X-Real-IP' }, access: { networks: { home: ['10.0.0.0/8'] } } });

    expectTypeOf(config.server.client_ip_header).toEqualTypeOf<ClientIpHeader>();
    expectTypeOf(config.log.level).toEqualTypeOf<'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'>();
    expectTypeOf(config.users.file).toEqualTypeOf<string>();
    expectTypeOf(config.session.domain).toEqualTypeOf<string>();
    expectTypeOf(config.server.trusted_proxies).toEqualTypeOf<readonly string[]>();
    expect(config.server.client_ip_header).toBe('x-real-ip');
    expect(config.access?.networks).toEqual({ home: ['10.0.0.0/8'] });
  });

  test('parseConfig reads no process.env unless given it', () => {
    vi.stubEnv('POSTERN_SERVER_PORT', '1234');
    try {
      expect(parseConfig({}).config.server.port).toBe(9190);
      expect(parseConfig({}, { POSTERN_SERVER_PORT: '1234' }).config.server.port).toBe(1234);
    } finally {
      vi.unstubAllEnvs();
    }
  });
});

describe('finding the config file', () => {
  test('--config FILE is used and reported as an absolute path', () => {
    write('conf/a.yml', 'server: { port: 1001 }\n');
    write('postern.yml', 'server: { port: 1003 }\n');

    const loaded = load({ argv: ['serve', '--config', 'conf/a.yml'], env: { POSTERN_CONFIG: join(dir, 'postern.yml') } });

    expect(loaded.file).toBe(join(dir, 'conf', 'a.yml'));
    expect(loaded.config.server.port).toBe(1001);
  });

  test('--config=FILE is used', () => {
    const file = write('b.yml', 'server: { port: 1002 }\n');

    const loaded = load({ argv: [`--config=${file}`] });

    expect(loaded.file).toBe(file);
    expect(loaded.config.server.port).toBe(1002);
  });

  test('POSTERN_CONFIG is used when there is no --config, and is not an unknown-variable warning', () => {
    write('c.yml', 'server: { port: 1003 }\n');
    write('postern.yml', 'server: { port: 1004 }\n');

    const loaded = load({ env: { POSTERN_CONFIG: 'c.yml' } });

    expect(loaded.file).toBe(join(dir, 'c.yml'));
    expect(loaded.config.server.port).toBe(1003);
    expect(loaded.warnings).toEqual([]);
  });

  test('./postern.yml in cwd is used when nothing names a file', () => {
    write('postern.yml', 'server: { port: 1004 }\n');

    const loaded = load();

    expect(loaded.file).toBe(join(dir, 'postern.yml'));
    expect(loaded.config.server.port).toBe(1004);
  });

  test('a file named by --config that does not exist is an error saying so', () => {
    expect(problemsOf(() => load({ argv: ['--config', 'missing.yml'] }))).toEqual([
      `config file '${join(dir, 'missing.yml')}' (from --config) does not exist`,
    ]);
  });

  test('a file named by POSTERN_CONFIG that does not exist is an error saying so', () => {
    expect(problemsOf(() => load({ env: { POSTERN_CONFIG: '/nonexistent/postern.yml' } }))).toEqual([
      `config file '/nonexistent/postern.yml' (from POSTERN_CONFIG) does not exist`,
    ]);
  });

  test('--config without a path is an error', () => {
    expect(problemsOf(() => load({ argv: ['--config'] }))).toEqual(['--config needs a file path']);
  });

  test('YAML syntax errors are reported as file:line:col without quoting the source line', () => {
    const file = write('postern.yml', `session:\n  secret: ${SECRET}\n  secret: ${SECRET}\nserver: [1\n`);

    const problems = problemsOf(() => load());

    expect(problems).toEqual([
      `${file}:3:3: Map keys must be unique`,
      `${file}:5:1: Flow sequence in block collection must be sufficiently indented and end with a ]`,
    ]);
  });

  test('YAML warnings are returned as warnings with file:line:col', () => {
    const file = write('postern.yml', 'server:\n  address: !host localhost\n');

    const loaded = load();

    expect(loaded.warnings).toEqual([`${file}:2:12: Unresolved tag: !host`]);
    expect(loaded.config.server.address).toBe('localhost');
  });

  test('a file that is not a mapping is an error', () => {
    const file = write('postern.yml', '- server\n');

    expect(problemsOf(() => load())).toEqual([`'${file}' must be a mapping of sections, got a list`]);
  });
});

describe('reporting problems', () => {
  test('a file with four problems reports all four at once, each with its path and the value seen', () => {
    write(
      'postern.yml',
      [
        'server:',
        '  port: abc',
        '  trusted_proxies: [loopback, 10.0.0.0/8, foo]',
        'session:',
        '  ttl: 0s',
        'log:',
        '  level: loud',
        '',
      ].join('\n'),
    );

    expect(problemsOf(() => load())).toEqual([
      "server.port must be an integer between 0 and 65535, got 'abc'",
      "server.trusted_proxies[2] must be an address, a CIDR or one of loopback, private, docker, got 'foo'",
      "session.ttl must be between 1h and 720h, got '0s'",
      "log.level must be one of fatal, error, warn, info, debug, trace, silent, got 'loud'",
    ]);
  });

  test('an unknown key is reported with the nearest known key as a suggestion', () => {
    expect(
      problemsOf(() => parseConfig({ sesion: {}, session: { cokie_name: 'x' }, server: { colour: 'blue' } })),
    ).toEqual([
      "unknown key 'server.colour'",
      "unknown key 'session.cokie_name' (did you mean 'cookie_name'?)",
      "unknown key 'sesion' (did you mean 'session'?)",
    ]);
  });

  test('an unknown key next to a secret suggests its _file form', () => {
    expect(problemsOf(() => parseConfig({ session: { secret_fil: '/run/secrets/s' } }))).toEqual([
      "unknown key 'session.secret_fil' (did you mean 'secret_file'?)",
    ]);
  });

  test('values are cut to 60 characters and control characters are escaped', () => {
    const long = 'x'.repeat(100);

    expect(problemsOf(() => parseConfig({ server: { address: long }, session: { cookie_name: 'a\nb' } }))).toEqual([
      `server.address must be an IP address or a hostname, got '${'x'.repeat(60)}…'`,
      "session.cookie_name must be a cookie name made of letters, digits, '_' and '-', got 'a\\u000ab'",
    ]);
  });

  test('a section that is not a mapping names the kind of value, not the value', () => {
    expect(problemsOf(() => parseConfig({ session: { redis: REDIS_URL }, users: [1] }))).toEqual([
      'session.redis must be a mapping, got a string',
      'users must be a mapping, got a list',
    ]);
  });

  test('durations reject bare numbers other than 0 and values out of range', () => {
    expect(
      problemsOf(() => parseConfig({ session: { ttl: 3600, inactivity: '30s', remember_me: '9000h' } })),
    ).toEqual([
      "session.ttl must be a duration such as '24h', '30m' or '2h30m', between 1h and 720h, got '3600'",
      "session.inactivity must be 0 (off) or between 1m and 720h, got '30s'",
      "session.remember_me must be 0 (off) or between 1h and 8760h, got '9000h'",
    ]);
  });

  test('durations come out in milliseconds and 0 turns inactivity and remember_me off', () => {
    const { session } = parseConfig({ session: { ttl: '2h30m', inactivity: 0, remember_me: '0' } }).config;

    expect(session.ttl).toBe(2.5 * HOUR);
    expect(session.inactivity).toBe(0);
    expect(session.remember_me).toBe(0);
  });

  test('server.shutdown_grace: 0 (off) or 1s..5m, in milliseconds, from YAML or the environment', () => {
    expect(parseConfig({ server: { shutdown_grace: '1s' } }).config.server.shutdown_grace).toBe(1000);
    expect(parseConfig({ server: { shutdown_grace: 0 } }).config.server.shutdown_grace).toBe(0);
    expect(parseConfig({}, { POSTERN_SERVER_SHUTDOWN_GRACE: '30s' }).config.server.shutdown_grace).toBe(30_000);
    expect(problemsOf(() => parseConfig({ server: { shutdown_grace: '10m' } }))).toEqual(["server.shutdown_grace must be 0 (off) or between 1s and 5m, got '10m'"]);
    expect(problemsOf(() => parseConfig({ server: { shutdown_grace: 5 } }))).toEqual([
      "server.shutdown_grace must be 0 (off) or a duration such as '24h', '30m' or '2h30m', between 1s and 5m, got '5'",
    ]);
  });

  test('login.device_ttl is a duration (0: device trust off) and login.device_rate_limit needs a window', () => {
    const { login } = parseConfig({ login: { device_ttl: '30d', device_rate_limit: '3/minute;10/day' } }).config;
    expect(login.device_ttl).toBe(30 * 24 * HOUR);
    expect(login.throttle.perDevice).toEqual([
      { points: 3, durationSec: 60 },
      { points: 10, durationSec: 86_400 },
    ]);
    expect(parseConfig({ login: { device_ttl: 0 } }).config.login.device_ttl).toBe(0);
    expect(problemsOf(() => parseConfig({ login: { device_ttl: '30m', device_rate_limit: 'off' } }))).toEqual([
      "login.device_ttl must be 0 (off) or between 1h and 8760h, got '30m'",
      'login.device_rate_limit must have at least one window, such as "5/minute;20/hour" (to turn device trust off, set login.device_ttl to 0), got \'off\'',
    ]);
  });

  test('argon2 parameters are checked against their ranges', () => {
    expect(
      problemsOf(() => parseConfig({ users: { argon2: { memory_cost: 1024, time_cost: 1.5, parallelism: 17 } } })),
    ).toEqual([
      "users.argon2.memory_cost must be an integer between 8192 and 1048576, got '1024'",
      "users.argon2.time_cost must be an integer between 1 and 10, got '1.5'",
      "users.argon2.parallelism must be an integer between 1 and 16, got '17'",
    ]);
  });

  test('identity header names must be HTTP tokens, distinct ignoring case, and not a header HTTP or the proxy uses', () => {
    expect(problemsOf(() => parseConfig({ headers: { role: 'remote-user', name: 'X Name' } }))).toEqual([
      "headers.name must be an HTTP header name (letters, digits and !#$%&'*+-.^_`|~), got 'X Name'",
      "headers.role must differ from headers.user, got 'remote-user'",
    ]);
    expect(problemsOf(() => parseConfig({ headers: { user: 'Cookie', email: 'content-length', name: 'X-Forwarded-For' } }))).toEqual([
      "headers.user must not be a header that HTTP, the proxy or verify itself uses (pick a name such as Remote-User), got 'Cookie'",
      "headers.email must not be a header that HTTP, the proxy or verify itself uses (pick a name such as Remote-User), got 'content-length'",
      "headers.name must not be a header that HTTP, the proxy or verify itself uses (pick a name such as Remote-User), got 'X-Forwarded-For'",
    ]);
    expect(problemsOf(() => parseConfig({ headers: { role: 'remote-user' } }))).toEqual([
      "headers.role must differ from headers.user, got 'remote-user'",
    ]);
  });
});

describe('secrets', () => {
  test('SECRET_KEYS lists the session secret, the Redis URL and passwords, the OIDC client secrets, the proxy secret and the encryption key', () => {
    expect([...SECRET_KEYS]).toEqual([
      'session.secret',
      'session.redis.url',
      'session.redis.password',
      'session.redis.sentinel_password',
      'oidc.providers.client_secret',
      'server.proxy_secret',
      'secrets.encryption_key',
    ]);
  });

  test('server.proxy_secret is read from the YAML, from POSTERN_SERVER_PROXY_SECRET, or from proxy_secret_file', () => {
    const proxySecret = 'f3a9c1d07b2e4a6c8e0f1a2b3c4d5e6f';
    write('proxy.secret', `${proxySecret}\n`);
    const file = write('postern.yml', 'server:\n  proxy_secret_file: proxy.secret\n');
    expect(load({ argv: ['--config', file] }).config.server.proxy_secret).toBe(proxySecret);
    expect(parseConfig({}, { POSTERN_SERVER_PROXY_SECRET: proxySecret }).config.server.proxy_secret).toBe(proxySecret);
    expect(parseConfig({ server: { proxy_secret: proxySecret } }).config.server.proxy_secret).toBe(proxySecret);
  });

  test.each([['short-secret'], ['sixteen chars ok?'], ['a"quoted"secret-value'], ["it's-a-secret-value"], ['$dollar-secret-value'], ['back\\slash-secret-value']])(
    'server.proxy_secret %j is refused with a hidden value and a way to make a good one',
    (value) => {
      const problems = problemsOf(() => parseConfig({ server: { proxy_secret: value } }));
      expect(problems).toEqual([
        "server.proxy_secret must be 16 to 1024 visible ASCII characters without quotes, '$' or '\\' (openssl rand -hex 32 makes one), got <hidden>",
      ]);
    },
  );

  test('a secret value never appears in an error message', () => {
    const shortSecret = 'short-but-secret';
    const badRedis = 'http://:hunter2-redis-password@redis.internal';

    const problems = problemsOf(() =>
      parseConfig({ session: { secret: shortSecret, redis: { url: badRedis } } }, { POSTERN_SERVER_PORT: 'x' }),
    );

    expect(problems).toEqual([
      "server.port must be an integer between 0 and 65535, got 'x' (from POSTERN_SERVER_PORT)",
      'session.secret must be a string of at least 32 characters, got <hidden>',
      'session.redis.url must be a redis:// or rediss:// URL, got <hidden>',
    ]);
    expect(problems.join('\n')).not.toContain(shortSecret);
    expect(problems.join('\n')).not.toContain('hunter2');
  });

  test('session.redis.url: the path is a database number, or absent', () => {
    for (const url of ['redis://redis:6379', 'redis://redis:6379/', 'redis://redis:6379/3', 'rediss://:pw@redis.internal/0']) {
      expect(parseConfig({ session: { redis: { url } } }).config.session.redis.url).toBe(url);
    }
    for (const url of ['redis://redis:6379/abc', 'redis://redis:6379/0/1']) {
      expect(problemsOf(() => parseConfig({ session: { redis: { url } } }))).toEqual(['session.redis.url must be a redis:// or rediss:// URL, got <hidden>']);
    }
  });

  test('a secret given through the environment is hidden too', () => {
    expect(problemsOf(() => parseConfig({}, { POSTERN_SESSION_REDIS_URL: 'mysql://root:hunter2@db' }))).toEqual([
      'session.redis.url must be a redis:// or rediss:// URL, got <hidden> (from POSTERN_SESSION_REDIS_URL)',
    ]);
  });

  test('secret_file in YAML reads the file relative to the config file, trailing newline trimmed', () => {
    write('conf/secrets/session', `${SECRET}\n`);
    write('conf/secrets/redis', `${REDIS_URL}\r\n`);
    const file = write(
      'conf/postern.yml',
      'session:\n  secret_file: secrets/session\n  redis:\n    url_file: secrets/redis\n',
    );

    const { session } = load({ argv: ['--config', file] }).config;

    expect(session.secret).toBe(SECRET);
    expect(session.redis.url).toBe(REDIS_URL);
  });

  test('POSTERN_SESSION_SECRET_FILE reads the file and replaces a secret from the YAML', () => {
    const secretFile = write('session.secret', SECRET);
    write('postern.yml', `session:\n  secret: ${'y'.repeat(40)}\n`);

    const { session } = load({ env: { POSTERN_SESSION_SECRET_FILE: secretFile } }).config;

    expect(session.secret).toBe(SECRET);
  });

  test('POSTERN_SESSION_SECRET replaces a secret_file from the YAML without reading it', () => {
    const { session } = parseConfig(
      { session: { secret_file: '/nonexistent/secret' } },
      { POSTERN_SESSION_SECRET: SECRET },
    ).config;

    expect(session.secret).toBe(SECRET);
  });

  test('both secret and secret_file is an error', () => {
    expect(problemsOf(() => parseConfig({ session: { secret: SECRET, secret_file: '/run/secrets/s' } }))).toEqual([
      'session.secret and session.secret_file are both set; set only one',
    ]);
  });

  test('both POSTERN_SESSION_SECRET and POSTERN_SESSION_SECRET_FILE is an error', () => {
    expect(
      problemsOf(() =>
        parseConfig({}, { POSTERN_SESSION_SECRET: SECRET, POSTERN_SESSION_SECRET_FILE: '/run/secrets/s' }),
      ),
    ).toEqual(['POSTERN_SESSION_SECRET and POSTERN_SESSION_SECRET_FILE are both set; set only one']);
  });

  test('an unreadable secret file is an error naming the key and the path', () => {
    const unreadable = write('unreadable', SECRET);
    chmodSync(unreadable, 0o000);
    const problems = problemsOf(() =>
      parseConfig(
        { session: { secret_file: 'missing', redis: { url_file: unreadable } } },
        { POSTERN_SERVER_PORT: '80' },
        dir,
      ),
    );

    // root ignores file permissions; the missing file is checked everywhere.
    expect(problems[0]).toBe(`session.secret_file cannot be read: '${join(dir, 'missing')}' (ENOENT)`);
    if (process.getuid?.() !== 0) {
      expect(problems[1]).toBe(`session.redis.url_file cannot be read: '${unreadable}' (EACCES)`);
    }
  });

  test('an unreadable secret file named by the environment names the variable', () => {
    expect(problemsOf(() => parseConfig({}, { POSTERN_SESSION_SECRET_FILE: 'nope' }, dir))).toEqual([
      `POSTERN_SESSION_SECRET_FILE cannot be read: '${join(dir, 'nope')}' (ENOENT)`,
    ]);
  });
});

describe('${VAR} expansion', () => {
  test('expands variables in string values, and $${VAR} is a literal ${VAR}', () => {
    const { config } = parseConfig(
      {
        session: { secret: '${SESSION_SECRET}', cookie_name: '${PREFIX}_session' },
        server: { public_url: 'https://${HOST}/auth', trusted_proxies: ['${PROXY}', 'loopback'] },
        data_dir: '/srv/$${NAME}/$$HOME',
      },
      { SESSION_SECRET: SECRET, PREFIX: 'app', HOST: 'auth.example.com', PROXY: '10.1.2.3' },
    );

    expect(config.session.secret).toBe(SECRET);
    expect(config.session.cookie_name).toBe('app_session');
    expect(config.server.public_url).toBe('https://auth.example.com/auth');
    expect(config.server.trusted_proxies).toEqual(['10.1.2.3', 'loopback']);
    expect(config.data_dir).toBe('/srv/${NAME}/$$HOME');
  });

  test('a value that is a reference converts like an environment value: numbers and comma lists', () => {
    const { server } = parseConfig(
      { server: { port: '${PORT}', trusted_proxies: '${PROXIES}' } },
      { PORT: '8080', PROXIES: '10.0.0.0/8, loopback' },
    ).config;

    expect(server.port).toBe(8080);
    expect(server.trusted_proxies).toEqual(['10.0.0.0/8', 'loopback']);
  });

  test('a reference to an unset variable is reported once, without a second problem for the key', () => {
    expect(
      problemsOf(() => parseConfig({ session: { secret: '${SESSION_SECRET}' }, server: { port: '${PORT}' } }, {})),
    ).toEqual([
      'session.secret references ${SESSION_SECRET}, which is not set',
      'server.port references ${PORT}, which is not set',
    ]);
  });

  test('a ${ that does not start a reference is an error explaining the escape', () => {
    expect(problemsOf(() => parseConfig({ session: { secret: 'abc${ not a var' } }))).toEqual([
      "session.secret has a '${' that does not start a ${VAR} reference (write '$${' for a literal '${')",
    ]);
  });

  test('variables are expanded in values only, never in keys or the YAML source', () => {
    write('postern.yml', 'server:\n  ${KEY}: 1\n  address: "${ADDR}"\n');

    expect(problemsOf(() => load({ env: { KEY: 'port', ADDR: 'a\nb' } }))).toEqual([
      "server.address must be an IP address or a hostname, got 'a\\u000ab'",
      "unknown key 'server.${KEY}'",
    ]);
  });
});

describe('environment overrides', () => {
  test('POSTERN_SESSION_REDIS_URL and POSTERN_SESSION_COOKIE_NAME override the file', () => {
    write('postern.yml', 'session:\n  cookie_name: from_file\n  redis:\n    url: redis://file:6379\n');

    const { session } = load({
      env: { POSTERN_SESSION_REDIS_URL: REDIS_URL, POSTERN_SESSION_COOKIE_NAME: 'from_env' },
    }).config;

    expect(session.redis.url).toBe(REDIS_URL);
    expect(session.cookie_name).toBe('from_env');
  });

  test('numbers are parsed and lists are comma-separated', () => {
    const { config } = parseConfig(
      {},
      {
        POSTERN_SERVER_PORT: '8080',
        POSTERN_USERS_ARGON2_MEMORY_COST: '65536',
        POSTERN_SERVER_TRUSTED_PROXIES: '10.0.0.0/8, 192.168.1.1,docker',
        POSTERN_SESSION_TTL: '12h',
      },
    );

    expect(config.server.port).toBe(8080);
    expect(config.users.argon2.memory_cost).toBe(65536);
    expect(config.server.trusted_proxies).toEqual(['10.0.0.0/8', '192.168.1.1', 'docker']);
    expect(config.session.ttl).toBe(12 * HOUR);
  });

  test('an empty list variable means an empty list', () => {
    expect(parseConfig({}, { POSTERN_SERVER_TRUSTED_PROXIES: '' }).config.server.trusted_proxies).toEqual([]);
  });

  test('a bad value from the environment names the variable', () => {
    expect(problemsOf(() => parseConfig({}, { POSTERN_SERVER_TRUSTED_PROXIES: 'loopback,foo' }))).toEqual([
      "server.trusted_proxies[1] must be an address, a CIDR or one of loopback, private, docker, got 'foo' (from POSTERN_SERVER_TRUSTED_PROXIES)",
    ]);
  });

  test('a POSTERN_ variable matching no key is a warning with a suggestion, not an error', () => {
    const { warnings } = parseConfig({}, { POSTERN_SESION_TTL: '1h', POSTERN_WHATEVER: 'x', HOME: '/root' });

    expect(warnings).toEqual([
      'POSTERN_SESION_TTL is set but matches no config key (did you mean POSTERN_SESSION_TTL?)',
      'POSTERN_WHATEVER is set but matches no config key',
    ]);
  });

  test('every key has an environment name, including keys containing _', () => {
    expect(CONFIG_KEYS.map((key) => key.path)).toContain('session.cookie_name');
    expect(parseConfig({}, { POSTERN_DATA_DIR: '/var/lib/postern' }).config.data_dir).toBe('/var/lib/postern');
    expect(parseConfig({}, { POSTERN_SERVER_CLIENT_IP_HEADER: 'X-Real-IP' }).config.server.client_ip_header).toBe(
      'x-real-ip',
    );
  });
});

describe('paths', () => {
  test('relative data_dir, users.file and *_file resolve against the directory of the config file', () => {
    write('etc/secret', SECRET);
    const file = write(
      'etc/postern.yml',
      'data_dir: ../var/data\nusers:\n  file: people.yml\nsession:\n  secret_file: ./secret\n',
    );

    const { config } = load({ argv: ['--config', file] });

    expect(config.data_dir).toBe(join(dir, 'var', 'data'));
    expect(config.users.file).toBe(join(dir, 'etc', 'people.yml'));
    expect(config.session.secret).toBe(SECRET);
  });

  test('users.file defaults to users.yml inside data_dir', () => {
    const file = write('etc/postern.yml', 'data_dir: state\n');

    expect(load({ argv: ['--config', file] }).config.users.file).toBe(join(dir, 'etc', 'state', 'users.yml'));
  });

  test('absolute paths stay as they are', () => {
    expect(parseConfig({ data_dir: '/srv/postern' }, {}, dir).config.data_dir).toBe('/srv/postern');
  });
});

describe('server and session values', () => {
  test('public_url loses its trailing slash and keeps a path prefix', () => {
    expect(parseConfig({ server: { public_url: 'https://Auth.Example.com/' } }).config.server.public_url).toBe(
      'https://auth.example.com',
    );
    expect(parseConfig({ server: { public_url: 'https://example.com/auth/' } }).config.server.public_url).toBe(
      'https://example.com/auth',
    );
  });

  test('public_url must be an absolute http(s) URL without query or fragment', () => {
    const expected = "must be an absolute http(s) URL without credentials, query or fragment, such as 'https://auth.example.com'";
    for (const url of ['auth.example.com', 'ftp://example.com', 'https://example.com/?a=1', 'https://example.com/#x']) {
      expect(problemsOf(() => parseConfig({ server: { public_url: url } }))).toEqual([
        `server.public_url ${expected}, got '${url}'`,
      ]);
    }
  });

  test('session.domain defaults to the lower-cased host of public_url', () => {
    expect(parseConfig({ server: { public_url: 'https://Auth.Example.COM:8443/x' } }).config.session.domain).toBe(
      'auth.example.com',
    );
  });

  test('session.domain is lower-cased and loses one leading dot', () => {
    const config = { server: { public_url: 'https://auth.example.com' }, session: { domain: '.Example.com' } };

    expect(parseConfig(config).config.session.domain).toBe('example.com');
  });

  test('session.domain must be a hostname covering the host of public_url', () => {
    expect(problemsOf(() => parseConfig({ session: { domain: 'https://example.com:443' } }))).toEqual([
      "session.domain must be a hostname such as 'example.com' (no scheme, port or path), got 'https://example.com:443'",
    ]);
    expect(
      problemsOf(() =>
        parseConfig({ server: { public_url: 'https://auth.example.com' }, session: { domain: 'example.org' } }),
      ),
    ).toEqual([
      "session.domain must be the host of server.public_url ('auth.example.com') or a parent domain of it, got 'example.org'",
    ]);
  });

  test('a session.domain not covering public_url is reported together with problems elsewhere', () => {
    expect(
      problemsOf(() =>
        parseConfig({
          server: { port: -1, public_url: 'https://auth.example.com' },
          session: { domain: 'example.org', ttl: '1m', colour: 'blue' },
          extra: true,
        }),
      ),
    ).toEqual([
      "server.port must be an integer between 0 and 65535, got '-1'",
      "session.ttl must be between 1h and 720h, got '1m'",
      "unknown key 'session.colour'",
      "unknown key 'extra'",
      "session.domain must be the host of server.public_url ('auth.example.com') or a parent domain of it, got 'example.org'",
    ]);
  });

  test('session.domain is not compared with a public_url that is itself wrong', () => {
    expect(
      problemsOf(() => parseConfig({ server: { public_url: 'auth.example.com' }, session: { domain: 'example.org' } })),
    ).toEqual([
      "server.public_url must be an absolute http(s) URL without credentials, query or fragment, such as 'https://auth.example.com', got 'auth.example.com'",
    ]);
  });

  test('trusted_proxies accepts addresses, CIDRs and names, and names the index of a bad item', () => {
    const good = ['loopback', 'private', 'docker', '10.0.0.1', '10.0.0.0/8', '::1', 'fd00::/8', '0.0.0.0/0'];

    expect(parseConfig({ server: { trusted_proxies: good } }).config.server.trusted_proxies).toEqual(good);
    expect(
      problemsOf(() => parseConfig({ server: { trusted_proxies: ['loopback', '10.0.0.0/33', 'foo', 7, '::1/129'] } })),
    ).toEqual([
      "server.trusted_proxies[1] must be an address, a CIDR or one of loopback, private, docker, got '10.0.0.0/33'",
      "server.trusted_proxies[2] must be an address, a CIDR or one of loopback, private, docker, got 'foo'",
      "server.trusted_proxies[3] must be an address, a CIDR or one of loopback, private, docker, got '7'",
      "server.trusted_proxies[4] must be an address, a CIDR or one of loopback, private, docker, got '::1/129'",
    ]);
    expect(problemsOf(() => parseConfig({ server: { trusted_proxies: 'loopback' } }))).toEqual([
      "server.trusted_proxies must be a list, got 'loopback'",
    ]);
  });

  test('client_ip_header is lower-cased and must be one of the supported headers', () => {
    expect(parseConfig({ server: { client_ip_header: 'CF-Connecting-IP' } }).config.server.client_ip_header).toBe(
      'cf-connecting-ip',
    );
    expect(problemsOf(() => parseConfig({ server: { client_ip_header: 'X-Client-IP' } }))).toEqual([
      "server.client_ip_header must be one of x-real-ip, cf-connecting-ip, x-forwarded-for, forwarded, got 'X-Client-IP'",
    ]);
  });

  test('port 0 is allowed and means any free port', () => {
    expect(parseConfig({ server: { port: 0 } }).config.server.port).toBe(0);
  });
});
