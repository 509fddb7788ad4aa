import { describe, expect, it } from 'vitest';
import { createPasswordFingerprint } from '../../src/auth/identity.js';
import type { User } from '../../src/auth/user.js';
import { accessEndedFor, confirmRemovals, disabledUsers, type AccessEnded } from '../../src/auth/user-change.js';

const fingerprint = createPasswordFingerprint('test-secret-test-secret-test-secret-0123');
// Hash-shaped strings: the decision only fingerprints them, it never verifies a password.
const OLD_HASH = '$argon2id$v=19$m=8192,t=1,p=1$b2xkIHNhbHQ$b2xkIGhhc2ggb2xkIGhhc2ggb2xkIGhhc2g';
const NEW_HASH = '$argon2id$v=19$m=8192,t=1,p=1$bmV3IHNhbHQ$bmV3IGhhc2ggbmV3IGhhc2ggbmV3IGhhc2g';
const THIRD_HASH = '$argon2id$v=19$m=8192,t=1,p=1$dGhpcmQ$dGhpcmQgaGFzaCB0aGlyZCBoYXNoIHRoaXJk';

function user(username: string, extra: Partial<User> = {}): User {
  return { username, password: OLD_HASH, role: 'user', groups: ['family'], email: `${username}@example.com`, name: username, disabled: false, ...extra };
}

function keyed(...users: User[]): ReadonlyMap<string, User> {
  return new Map(users.map((u) => [u.username, u]));
}

const alice = user('alice');
/** What a sign-in rehash writes: a new hash, carrying the fingerprint alice's sessions already have. */
const aliceRehashed = user('alice', { password: NEW_HASH, sessionFingerprint: fingerprint(alice) });

describe('accessEndedFor: whose sessions a new version of the users file ends', () => {
  it.each<[string, User[], User[], AccessEnded[]]>([
    ['a user disabled', [alice, user('bob')], [user('alice', { disabled: true }), user('bob')], [{ username: 'alice', change: 'disabled' }]],
    ['a user removed', [alice, user('bob')], [user('bob')], [{ username: 'alice', change: 'removed' }]],
    ['a user renamed (the old name is removed; the new one has no sessions yet)', [alice], [user('alicia')], [{ username: 'alice', change: 'removed' }]],
    ['a disabled user removed', [user('alice', { disabled: true })], [], [{ username: 'alice', change: 'removed' }]],
    ['a new password hash', [alice], [user('alice', { password: NEW_HASH })], [{ username: 'alice', change: 'password' }]],
    ['a new password hash while disabling: disabled ends the most', [alice], [user('alice', { password: NEW_HASH, disabled: true })], [{ username: 'alice', change: 'disabled' }]],
    ['a new password hash while re-enabling', [user('alice', { disabled: true })], [user('alice', { password: NEW_HASH })], [{ username: 'alice', change: 'password' }]],
    ['two users disabled in one edit, each once', [alice, user('bob')], [user('alice', { disabled: true }), user('bob', { disabled: true })], [{ username: 'alice', change: 'disabled' }, { username: 'bob', change: 'disabled' }]],
    ['a user re-enabled', [user('alice', { disabled: true })], [alice], []],
    ['a disabled user still disabled', [user('alice', { disabled: true })], [user('alice', { disabled: true })], []],
    ['a user added (or added back)', [], [alice], []],
    ['nothing changed', [alice], [user('alice')], []],
    ['a role, groups, email and name changed', [alice], [user('alice', { role: 'admin', groups: ['admins'], email: 'a@example.org', name: 'Alice' })], []],
    ['a sign-in rehash: a new hash carrying the old fingerprint', [alice], [aliceRehashed], []],
    ['the hash from before a rehash put back: the fingerprint sessions carry is the same', [aliceRehashed], [alice], []],
    ['another hash after a rehash', [aliceRehashed], [user('alice', { password: THIRD_HASH })], [{ username: 'alice', change: 'password' }]],
  ])('%s', (_case, before, after, ended) => {
    expect(accessEndedFor(keyed(...before), keyed(...after), fingerprint)).toEqual(ended);
  });
});

describe('confirmRemovals: what a removal ends once the users file, read again, has settled', () => {
  const bobRemoved: AccessEnded[] = [{ username: 'bob', change: 'removed' }];
  const before = keyed(alice, user('bob'));
  it.each<[string, User[], AccessEnded[]]>([
    ['still absent: removed', [alice], [{ username: 'bob', change: 'removed' }]],
    ['back as before (the removal was a save read half-way, cut at an entry boundary): nothing', [alice, user('bob')], []],
    ['back with another role: nothing', [alice, user('bob', { role: 'admin' })], []],
    ['back, but disabled: disabled', [alice, user('bob', { disabled: true })], [{ username: 'bob', change: 'disabled' }]],
    ['back with another password: password', [alice, user('bob', { password: NEW_HASH })], [{ username: 'bob', change: 'password' }]],
  ])('%s', (_case, now, ended) => {
    const inForce = keyed(...now);
    expect(confirmRemovals(bobRemoved, before, (name) => inForce.get(name), fingerprint)).toEqual(ended);
  });
});

describe('disabledUsers: whose access start-up ends', () => {
  it('every user the file marks disabled, as if just disabled; nobody else', () => {
    expect(disabledUsers([user('alice', { disabled: true }), user('bob'), user('carol', { disabled: true })])).toEqual([
      { username: 'alice', change: 'disabled' },
      { username: 'carol', change: 'disabled' },
    ]);
  });

  it('nobody when nobody is disabled', () => {
    expect(disabledUsers([alice, user('bob')])).toEqual([]);
  });
});
