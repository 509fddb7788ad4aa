import { describe, expect, it } from 'vitest';
import { identityOf } from '../../src/auth/identity.js';
import type { User, UserDirectory } from '../../src/auth/user.js';
import type { SessionData } from '../../src/store/session-store.js';

const now = 1_700_000_000_000;
const alice: User = { username: 'alice', password: 'hash-1', role: 'admin', groups: ['family'], email: 'alice@example.com', name: 'Alice', disabled: false };
const directory = (...users: User[]): UserDirectory => ({ find: (name) => users.find((u) => u.username === name), all: () => users });
const rules = { inactivity: 0, passwordFingerprint: (u: User) => `fp:${u.password}`, oidcProviders: new Map([['idp', 'rules-1']]) };
const local: SessionData = { user: 'alice', via: 'local', created: now, expires: now + 60_000, seen: now, pwv: 'fp:hash-1' };
const oidc: SessionData = { user: 'bob', via: 'oidc:idp', idp: 'idp', adm: 'rules-1', created: now, expires: now + 60_000, seen: now, role: 'user', groups: ['x'], email: 'bob@example.com', name: 'Bob' };

describe('identityOf', () => {
  it('gives the same identity object for a user until the users file replaces that user', () => {
    const users = directory(alice);
    const first = identityOf(local, users, rules, now);
    expect(first).toEqual({ user: 'alice', role: 'admin', groups: ['family'], email: 'alice@example.com', name: 'Alice', via: 'local', twoFactor: false });
    expect(identityOf({ ...local }, users, rules, now)).toBe(first);
    const edited = identityOf(local, directory({ ...alice, role: 'user' }), rules, now);
    expect(edited).not.toBe(first);
    expect(edited?.role).toBe('user');
  });

  it('gives the same identity object for one read of an OIDC session, and none once a local user takes the name', () => {
    const first = identityOf(oidc, directory(alice), rules, now);
    expect(first).toEqual({ user: 'bob', role: 'user', groups: ['x'], email: 'bob@example.com', name: 'Bob', via: 'oidc:idp', twoFactor: false });
    expect(identityOf(oidc, directory(alice), rules, now)).toBe(first);
    expect(identityOf(oidc, directory(alice, { ...alice, username: 'bob' }), rules, now)).toBeUndefined();
  });

  it('says whether the session was signed in with two factors: one object per user for each answer', () => {
    const users = directory(alice);
    const two = identityOf({ ...local, amr: ['pwd', 'otp'] }, users, rules, now);
    expect(two?.twoFactor).toBe(true);
    expect(identityOf({ ...local, amr: ['pwd', 'otp'] }, users, rules, now)).toBe(two);
    expect(identityOf({ ...local, amr: ['pwd'] }, users, rules, now)).toBe(identityOf(local, users, rules, now));
    expect(identityOf({ ...oidc, amr: ['oidc', 'mfa'] }, users, rules, now)?.twoFactor).toBe(true);
  });

  it('refuses a session past its expiry even when its identity was built before', () => {
    expect(identityOf(local, directory(alice), rules, now)).toBeDefined();
    expect(identityOf(local, directory(alice), rules, now + 60_000)).toBeUndefined();
  });
});
