import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Problems, applyEnvironment, expandVariables, fromText, readSecretFiles, toPlain, type Mapping } from '../../src/config/expand.js';

function expand(input: Mapping, env: NodeJS.ProcessEnv) {
  const problems = new Problems();
  expandVariables(input, [], env, problems);
  return { input, problems: problems.list };
}

function override(input: Mapping, env: NodeJS.ProcessEnv) {
  const problems = new Problems();
  const warnings: string[] = [];
  const fromEnv = applyEnvironment(input, env, problems, warnings);
  return { input, problems: problems.list, warnings, fromEnv: Object.fromEntries(fromEnv) };
}

describe('expandVariables: ${VAR} in string values', () => {
  it('replaces references, keeps $${ literal, and converts a whole reference to the type of its key', () => {
    const env = { HOST: 'auth.example.com', PORT: '9000', PROXIES: '10.0.0.0/8, loopback', FLAG: 'true' };
    expect(
      expand(
        {
          server: { public_url: 'https://${HOST}/x', port: '${PORT}', trusted_proxies: '${PROXIES}', address: '$${HOST}' },
          oidc: { auto_launch: '${FLAG}', providers: [{ client_id: 'id-${PORT}' }] },
        },
        env,
      ),
    ).toEqual({
      input: {
        server: { public_url: 'https://auth.example.com/x', port: 9000, trusted_proxies: ['10.0.0.0/8', 'loopback'], address: '${HOST}' },
        oidc: { auto_launch: true, providers: [{ client_id: 'id-9000' }] },
      },
      problems: [],
    });
  });

  it('a list item stays text', () => {
    expect(expand({ server: { trusted_proxies: ['${A}'] } }, { A: '1.2.3.4, 5.6.7.8' }).input).toEqual({ server: { trusted_proxies: ['1.2.3.4, 5.6.7.8'] } });
  });

  it.each([
    ['${MISSING}', 'server.address references ${MISSING}, which is not set'],
    ['a${', "server.address has a '${' that does not start a ${VAR} reference (write '$${' for a literal '${')"],
    ['${1X}', "server.address has a '${' that does not start a ${VAR} reference (write '$${' for a literal '${')"],
  ])('%j is a problem: %s', (value, problem) => {
    expect(expand({ server: { address: value } }, {}).problems).toEqual([problem]);
  });
});

describe('applyEnvironment: POSTERN_* over the file', () => {
  it('sets each key by its name, typed, and says which variable set which key', () => {
    expect(override({ server: { port: 1 } }, { POSTERN_SERVER_PORT: '9000', POSTERN_SESSION_REDIS_URL: 'redis://r', POSTERN_SERVER_TRUSTED_PROXIES: '' })).toEqual({
      input: { server: { port: 9000, trusted_proxies: [] }, session: { redis: { url: 'redis://r' } } },
      problems: [],
      warnings: [],
      fromEnv: { 'server.port': 'POSTERN_SERVER_PORT', 'server.trusted_proxies': 'POSTERN_SERVER_TRUSTED_PROXIES', 'session.redis.url': 'POSTERN_SESSION_REDIS_URL' },
    });
  });

  it('a secret from the environment replaces both forms in the file; giving both forms is a problem', () => {
    expect(override({ session: { secret_file: 'a' } }, { POSTERN_SESSION_SECRET: 's' }).input).toEqual({ session: { secret: 's' } });
    expect(override({}, { POSTERN_SESSION_SECRET: 's', POSTERN_SESSION_SECRET_FILE: 'f' }).problems).toEqual([
      'POSTERN_SESSION_SECRET and POSTERN_SESSION_SECRET_FILE are both set; set only one',
    ]);
  });

  it.each([
    ['POSTERN_SESION_TTL', 'POSTERN_SESSION_TTL'],
    ['POSTERN_SERVER_TRUSTED_PROXY', 'POSTERN_SERVER_TRUSTED_PROXIES'],
    ['POSTERN_CONFG', 'POSTERN_CONFIG'],
  ])('an unknown %s is a warning suggesting %s', (name, guess) => {
    expect(override({}, { [name]: 'x' }).warnings).toEqual([`${name} is set but matches no config key (did you mean ${guess}?)`]);
  });

  it('an unknown name far from every key is a warning without a suggestion; POSTERN_CONFIG is not a key but no warning', () => {
    expect(override({}, { POSTERN_SOMETHING_ELSE_ENTIRELY: 'x', POSTERN_CONFIG: 'postern.yml' }).warnings).toEqual([
      'POSTERN_SOMETHING_ELSE_ENTIRELY is set but matches no config key',
    ]);
  });
});

describe('readSecretFiles: <secret>_file', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'postern-expand-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads each file relative to baseDir, trailing newline removed, in lists too', () => {
    writeFileSync(join(dir, 'secret'), 'session-secret\r\n');
    writeFileSync(join(dir, 'client'), 'client-secret\n');
    const input: Mapping = { session: { secret_file: 'secret' }, oidc: { providers: [{ id: 'a' }, { id: 'b', client_secret_file: 'client' }] } };
    const problems = new Problems();
    readSecretFiles(input, dir, problems, new Map());
    expect(problems.list).toEqual([]);
    expect(input).toEqual({ session: { secret: 'session-secret' }, oidc: { providers: [{ id: 'a' }, { id: 'b', client_secret: 'client-secret' }] } });
  });

  it('names the key, or the variable that named the file, when it cannot be read', () => {
    const problems = new Problems();
    readSecretFiles({ session: { secret_file: 'nope' }, oidc: { providers: [{ client_secret_file: 'nope' }] } }, dir, problems, new Map([['session.secret_file', 'POSTERN_SESSION_SECRET_FILE']]));
    expect(problems.list).toEqual([
      `POSTERN_SESSION_SECRET_FILE cannot be read: '${join(dir, 'nope')}' (ENOENT)`,
      `oidc.providers[0].client_secret_file cannot be read: '${join(dir, 'nope')}' (ENOENT)`,
    ]);
    expect(problems.covers('oidc.providers[0].client_secret')).toBe(true);
    expect(problems.covers('oidc.providers[1].client_secret')).toBe(false);
  });

  it('both forms is a problem, and nothing is read', () => {
    const problems = new Problems();
    readSecretFiles({ session: { secret: 'x', secret_file: 'nope' } }, dir, problems, new Map());
    expect(problems.list).toEqual(['session.secret and session.secret_file are both set; set only one']);
  });
});

describe('fromText and toPlain', () => {
  it.each([
    ['9000', 'number', 9000],
    ['90x', 'number', '90x'],
    ['true', 'boolean', true],
    ['yes', 'boolean', 'yes'],
    [' a, ,b ', 'list', ['a', 'b']],
    ['a,b', 'text', 'a,b'],
  ] as const)('%j as %s is %j', (text, kind, value) => {
    expect(fromText(text, kind)).toEqual(value);
  });

  it('copies, drops empty values so that defaults apply, and keeps __proto__ an ordinary key', () => {
    const raw = JSON.parse('{"session": {"secret": null, "ttl": "1h"}, "__proto__": {"x": 1}, "list": [null, 1]}') as unknown;
    const plain = toPlain(raw) as Mapping;
    expect(plain).toEqual({ session: { ttl: '1h' }, ['__proto__']: { x: 1 }, list: [null, 1] });
    expect(Object.keys(plain)).toContain('__proto__');
    expect(plain.session).not.toBe((raw as Mapping).session);
  });
});
