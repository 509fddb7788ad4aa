import { describe, expect, it } from 'vitest';
import { addPendingLogin, holderFields, isEmptyHolder, parsePendingLogins, takePendingLogin, type PendingLogin } from '../../src/oidc/pending.js';
import { sessionForKoa } from '../../src/http/session.js';
import { parseSessionData } from '../../src/store/session-store.js';

const local = { user: 'alice', via: 'local', created: 1_000, expires: 9_000, seen: 2_000, pwv: 'abc' };
const holder = { user: '', via: 'anonymous', created: 1_000, expires: 9_000, seen: 1_000 };

/** As a store hands it back: parsed JSON, so `__proto__` is an own key, not the prototype. */
function stored(json: string): unknown {
  return JSON.parse(json);
}

describe('parseSessionData and sessionForKoa: what counts as a session Postern wrote (anything else is a signed-out visitor)', () => {
  it.each([
    ['a password session', local],
    ['an OIDC session with extra fields', { ...local, idp: 'corp', adm: 'f00', iss: 'https://idp', sub: '42', id_token: 'x.y.z', groups: ['a'], role: 'admin' }],
    ['an anonymous holder with sign-ins in flight', { ...holder, oidc_pending: [{ provider: 'corp', state: 's', nonce: 'n', verifier: 'v', created: 1_000 }] }],
    ['the origin fields', { ...local, ip: '192.0.2.1', ua: 'Firefox 128 on Linux' }],
    ["koa-session's browser-session marker `_session`", { ...local, _session: true }],
    ["koa-session's expiry fields `_expire` and `_maxAge`", { ...local, _expire: 9_000, _maxAge: 8_000 }],
  ])('keeps %s, unchanged', (_what, value) => {
    expect(parseSessionData(value)).toEqual(value);
  });

  it.each([
    ['undefined', undefined],
    ['null', null],
    ['a string', 'alice'],
    ['a number', 42],
    ['an array', [local]],
    ['an empty object', {}],
    ['no user', { ...local, user: undefined }],
    ['a numeric user', { ...local, user: 7 }],
    ['no via', { ...local, via: undefined }],
    ['created as text', { ...local, created: '1000' }],
    ['expires missing', { ...local, expires: undefined }],
    ['expires not finite', { ...local, expires: Infinity }],
    ['seen NaN', { ...local, seen: NaN }],
    ['a numeric password fingerprint', { ...local, pwv: 12 }],
  ])('refuses %s', (_what, value) => {
    expect(parseSessionData(value)).toBeUndefined();
  });

  it.each([
    ['__proto__ (would replace the prototype)', stored(`{"user":"alice","via":"local","created":1,"expires":9,"seen":1,"__proto__":{"isAdmin":true}}`)],
    ['constructor', { ...local, constructor: 'x' }],
    ['toString', { ...local, toString: 'x' }],
    ['hasOwnProperty', { ...local, hasOwnProperty: 1 }],
    ["koa-session's toJSON", { ...local, toJSON: 'x' }],
    ["koa-session's regenerate", { ...local, regenerate: 1 }],
    ["koa-session's maxAge", { ...local, maxAge: 1000 }],
    ["koa-session's isNew", { ...local, isNew: false }],
    ["koa-session's length", { ...local, length: 0 }],
    ["koa-session's save", { ...local, save: null }],
  ])('sessionForKoa (what koa-session may hold) refuses a stored key named %s', (_what, value) => {
    expect(parseSessionData(value)).toBeDefined();
    expect(sessionForKoa(value)).toBeUndefined();
  });

  it('sessionForKoa applies parseSessionData first, and keeps what both accept', () => {
    expect(sessionForKoa({ ...local, seen: 'yesterday' })).toBeUndefined();
    expect(sessionForKoa({ ...local, _session: true })).toEqual({ ...local, _session: true });
  });
});

describe('sign-ins in flight (oidc/pending.ts) as the session holds them', () => {
  const now = 100 * 60_000;
  const pending = (state: string, created = now): PendingLogin => ({ provider: 'corp', state, nonce: 'n', verifier: 'v', created });

  it.each([
    ['not a list', 'not a list', []],
    ['a list with a bad record', [pending('a'), { ...pending('b'), state: 7 }, null, 'x'], [pending('a')]],
    ['a record with a numeric rd', [{ ...pending('a'), rd: 12 }], []],
  ])('parsePendingLogins keeps only well-formed records: %s', (_what, value, expected) => {
    expect(parsePendingLogins(value)).toEqual(expected);
  });

  it('keeps the three newest, dropping expired ones', () => {
    const list = [pending('old', now - 11 * 60_000), pending('a'), pending('b'), pending('c')];
    expect(addPendingLogin(list, pending('d'), now).map((p) => p.state)).toEqual(['b', 'c', 'd']);
  });

  it('takes the named record out once, and reports an unknown state', () => {
    const first = takePendingLogin([pending('a'), pending('b')], 'corp', 'a', now);
    expect(first.taken).toEqual({ status: 'found', pending: pending('a') });
    expect(first.rest).toEqual([pending('b')]);
    expect(takePendingLogin(first.rest, 'corp', 'a', now).taken).toEqual({ status: 'unknown' });
    expect(takePendingLogin([pending('a', now - 11 * 60_000)], 'corp', 'a', now).taken.status).toBe('expired');
  });

  it('makes a visitor who is not signed in an anonymous holder, and leaves a signed-in session alone', () => {
    expect(holderFields(undefined, now)).toEqual({ user: '', via: 'anonymous', created: now, seen: now, expires: now + 15 * 60_000 });
    expect(holderFields(holder, now)).toEqual({ seen: now, expires: now + 15 * 60_000 });
    expect(holderFields(local, now)).toEqual({});
    expect(isEmptyHolder(holder, [])).toBe(true);
    expect(isEmptyHolder(holder, [pending('a')])).toBe(false);
    expect(isEmptyHolder(local, [])).toBe(false);
    expect(isEmptyHolder(undefined, [])).toBe(false);
  });
});
