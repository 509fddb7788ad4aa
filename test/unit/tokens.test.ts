import { describe, expect, it } from 'vitest';
import { createCredentialReader } from '../../src/http/credentials.js';
import { generateToken, hashSecret, parseToken, secretMatches, TOKEN_LENGTH } from '../../src/tokens/app-password.js';
import { parseAppPasswords } from '../../src/tokens/app-password-parse.js';
import { decideTokenScope } from '../../src/tokens/scope.js';
import { createUseRecorder, MemoryTokenUseStore } from '../../src/tokens/last-use.js';

describe('app password format', () => {
  it('is pst_<8 base62>_<43 base62> (256 bits), and only the SHA-256 of the secret is kept', () => {
    const { token, id, hash } = generateToken();
    expect(token).toMatch(/^pst_[0-9A-Za-z]{8}_[0-9A-Za-z]{43}$/);
    expect(token).toHaveLength(TOKEN_LENGTH);
    const parsed = parseToken(token)!;
    expect(parsed.id).toBe(id);
    expect(hash).toBe(hashSecret(parsed.secret));
    expect(hash).not.toContain(parsed.secret);
    expect(secretMatches(parsed.secret, hash)).toBe(true);
    expect(secretMatches(`${parsed.secret.slice(0, -1)}x`, hash)).toBe(false);
    expect(secretMatches(parsed.secret, 'not a hash')).toBe(false);
  });

  it('never repeats', () => {
    const ids = new Set(Array.from({ length: 200 }, () => generateToken().token));
    expect(ids.size).toBe(200);
  });

  it.each([
    ['pst_short_x'],
    [`pst_ABCDEFG_${'a'.repeat(44)}`],
    [`pst_ABCDEFGH-${'a'.repeat(43)}`],
    [`pst_ABCDEFGH_${'a'.repeat(42)}!`],
    [`pst_${'a'.repeat(10_000)}`],
    [''],
  ])('rejects %j', (value) => {
    expect(parseToken(value)).toBeUndefined();
  });
});

describe('decideTokenScope', () => {
  const now = 1_000_000;
  it.each([
    [{ readOnly: false }, 'photos.example.com', 'POST', 'in-scope'],
    [{ readOnly: false, expires: now }, 'photos.example.com', 'GET', 'expired'],
    [{ readOnly: false, expires: now + 1 }, 'photos.example.com', 'GET', 'in-scope'],
    [{ readOnly: false, hosts: ['photos.example.com'] }, 'photos.example.com', 'GET', 'in-scope'],
    [{ readOnly: false, hosts: ['photos.example.com'] }, 'nvr.example.com', 'GET', 'out-of-scope'],
    [{ readOnly: false, hosts: ['*.example.com'] }, 'nvr.example.com', 'GET', 'in-scope'],
    [{ readOnly: false, hosts: ['*.example.com'] }, 'example.com', 'GET', 'out-of-scope'],
    [{ readOnly: true }, 'nvr.example.com', 'GET', 'in-scope'],
    [{ readOnly: true }, 'nvr.example.com', 'HEAD', 'in-scope'],
    [{ readOnly: true }, 'nvr.example.com', 'OPTIONS', 'in-scope'],
    [{ readOnly: true }, 'nvr.example.com', 'POST', 'out-of-scope'],
    [{ readOnly: true }, 'nvr.example.com', 'DELETE', 'out-of-scope'],
  ] as const)('%j on %s %s → %s', (token, host, method, kind) => {
    expect(decideTokenScope(token, { host, method }, now).kind).toBe(kind);
  });
});

describe('readCredentials (http/credentials.ts)', () => {
  const { token } = generateToken();
  const read = createCredentialReader({ tokenHeader: 'X-Postern-Token', accountPasswords: false });
  const readWithAccounts = createCredentialReader({ tokenHeader: 'X-Postern-Token', accountPasswords: true });
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const headersOf = (raw: string[]) => {
    const h: Record<string, string> = {};
    for (let i = 0; i < raw.length; i += 2) h[raw[i]!.toLowerCase()] ??= raw[i + 1]!;
    return h;
  };
  const of = (raw: string[], reader = read) => reader(headersOf(raw), raw);

  it.each([
    ['Bearer pst_ token', ['Authorization', `Bearer ${token}`], 'token', undefined],
    ['lower-case bearer scheme', ['Authorization', `bearer ${token}`], 'token', undefined],
    ['Basic with a pst_ password', ['Authorization', `Basic ${b64(`alice:${token}`)}`], 'token', undefined],
    ['the token header', ['X-Postern-Token', token], 'token', undefined],
    ["an app's own bearer token", ['Authorization', 'Bearer eyJhbGciOi'], 'none', 'Bearer eyJhbGciOi'],
    ["an app's own Basic pair", ['Authorization', `Basic ${b64('me:secret')}`], 'none', `Basic ${b64('me:secret')}`],
    ['a malformed pst_ bearer', ['Authorization', 'Bearer pst_nope'], 'malformed', undefined],
    ['an empty token header', ['X-Postern-Token', ''], 'malformed', undefined],
    ['two Authorization headers, one ours', ['Authorization', 'Bearer theirs', 'Authorization', `Bearer ${token}`], 'malformed', undefined],
    ['two Authorization headers, none ours', ['Authorization', 'Bearer a', 'Authorization', 'Bearer b'], 'none', 'Bearer a'],
    ['the token header and an app bearer', ['X-Postern-Token', token, 'Authorization', 'Bearer theirs'], 'token', 'Bearer theirs'],
    ['the token header and a Bearer token', ['X-Postern-Token', token, 'Authorization', `Bearer ${token}`], 'malformed', undefined],
    ['nothing', [], 'none', undefined],
  ])('%s → %s, the app gets %j', (_what, raw, kind, forward) => {
    const { credential, forwardAuthorization } = of(raw);
    expect(credential.kind).toBe(kind);
    expect(forwardAuthorization).toBe(forward);
  });

  it('reads a Basic pair as an account password only with tokens.basic_account_password', () => {
    const raw = ['Authorization', `Basic ${b64('alice:correct horse')}`];
    expect(of(raw).credential.kind).toBe('none');
    expect(of(raw, readWithAccounts).credential).toEqual({ kind: 'account', username: 'alice', password: 'correct horse', source: 'alice:correct horse' });
    expect(of(raw, readWithAccounts).forwardAuthorization).toBeUndefined();
  });

  it('names the text a credential was read from (the key it is remembered by): the token, or the decoded pair, never padding', () => {
    const source = (raw: string[], reader = read) => {
      const c = of(raw, reader).credential;
      return c.kind === 'token' || c.kind === 'account' ? c.source : undefined;
    };
    expect(source(['Authorization', `Bearer ${' '.repeat(1000)}${token}`])).toBe(token);
    expect(source(['X-Postern-Token', ` ${token} `])).toBe(token);
    expect(source(['Authorization', `Basic ${b64(`alice:${token}`)}`])).toBe(`alice:${token}`);
    expect(source(['Authorization', `Basic ${b64('alice:correct horse')}`], readWithAccounts)).toBe('alice:correct horse');
  });

  it('keeps the Basic username of a token, to check it names the owner', () => {
    const c = of(['Authorization', `Basic ${b64(`bob:${token}`)}`]).credential;
    expect(c.kind === 'token' && c.presented === 'basic' && c.basicUser).toBe('bob');
  });
});

describe('app_passwords in the users file', () => {
  const entry = (over: Record<string, unknown>) => new Map(Object.entries({ id: 'Abcd1234', name: 'phone', hash: 'a'.repeat(64), created: '2026-12-02T03:00:00Z', ...over }));

  it('reads a valid entry', () => {
    const problems: string[] = [];
    const [t] = parseAppPasswords([entry({ hosts: ['photos.example.com'], read_only: true, expires: '2027-01-01T00:00:00Z' })], 'users.alice.app_passwords', problems);
    expect(problems).toEqual([]);
    expect(t).toEqual({ id: 'Abcd1234', name: 'phone', hash: 'a'.repeat(64), created: Date.parse('2026-12-02T03:00:00Z'), expires: Date.parse('2027-01-01T00:00:00Z'), hosts: ['photos.example.com'], readOnly: true });
  });

  it('names the key of every problem, never quoting a hash', () => {
    const problems: string[] = [];
    parseAppPasswords([entry({ id: 'short', hash: 'zz', created: 'yesterday', hosts: ['Bad Host'], read_only: 'yes', colour: 'red' })], 'users.alice.app_passwords', problems);
    expect(problems).toEqual([
      'users.alice.app_passwords[0]."colour" is not a known key (id, name, hash, created, expires, hosts, read_only)',
      'users.alice.app_passwords[0].id must be 8 letters or digits',
      "users.alice.app_passwords[0].hash must be the 64 hex digits 'postern token create' wrote",
      'users.alice.app_passwords[0].created must be a date and time such as "2026-12-02T03:00:00Z"',
      'users.alice.app_passwords[0].hosts[0] must be a lower-case host name such as photos.example.com',
      'users.alice.app_passwords[0].read_only must be true or false',
    ]);
  });
});

describe('last use', () => {
  it('is written at most once a minute per token', async () => {
    const store = new MemoryTokenUseStore();
    let now = 1_000_000;
    let writes = 0;
    const counting = { record: (id: string, at: number) => ((writes += 1), store.record(id, at)), lastUse: store.lastUse.bind(store) };
    const used = createUseRecorder(counting, () => now, () => undefined);
    used('A');
    now += 30_000;
    used('A');
    used('B');
    expect(writes).toBe(2);
    now += 31_000;
    used('A');
    expect(writes).toBe(3);
    expect(await store.lastUse(['A', 'B', 'C'])).toEqual(new Map([['A', 1_061_000], ['B', 1_030_000]]));
  });
});
