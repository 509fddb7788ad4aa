import { describe, expect, it } from 'vitest';
import { compileSubjects } from '../../src/access/rules.js';
import type { SessionData } from '../../src/store/session-store.js';
import { adminAccess, adminNeedsStepUp, lastAdminRefusal, type UserAfter } from '../../src/admin/permission.js';
import type { Identity } from '../../src/auth/identity.js';
import type { User } from '../../src/auth/user.js';

const ROLE_ADMIN = compileSubjects(['role:admin']);
const OPS = compileSubjects(['group:ops', 'user:root']);

function who(user: string, role: string, groups: string[] = [], via = 'local'): Identity {
  return { user, role, groups, email: '', name: '', via };
}

describe('adminAccess: who may use /admin', () => {
  it.each([
    ['nobody signed in', undefined, ROLE_ADMIN, 'anonymous'],
    ['a user with role admin', who('alice', 'admin'), ROLE_ADMIN, 'admin'],
    ['a user with role user', who('bob', 'user'), ROLE_ADMIN, 'forbidden'],
    ['a viewer', who('vera', 'viewer'), ROLE_ADMIN, 'forbidden'],
    ['a role that only contains "admin"', who('eve', 'admins'), ROLE_ADMIN, 'forbidden'],
    ['a single sign-on user mapped to role admin', who('sso', 'admin', [], 'oidc:corp'), ROLE_ADMIN, 'admin'],
    ['a member of a listed group', who('carol', 'user', ['family', 'ops']), OPS, 'admin'],
    ['a listed user', who('root', 'user'), OPS, 'admin'],
    ['role admin where only group:ops and user:root are listed', who('alice', 'admin'), OPS, 'forbidden'],
    ['anyone, when admin.subjects is empty', who('alice', 'admin'), compileSubjects([]), 'forbidden'],
  ])('%s → %s', (_what, identity, subjects, kind) => {
    expect(adminAccess(identity, subjects).kind).toBe(kind);
  });

  it('needs a second factor when the admin has one and this session did not use it', () => {
    const withTotp: User = { ...user('alice', 'admin'), factors: { totp: { secret: 'v1:x', created: 0 } } };
    const session = (amr?: string[]): SessionData => ({ user: 'alice', via: 'local', created: 0, expires: 1, seen: 0, ...(amr ? { amr } : {}) });
    expect(adminNeedsStepUp(undefined, undefined)).toBe(false);
    expect(adminNeedsStepUp(session(['pwd']), user('alice', 'admin'))).toBe(false);
    expect(adminNeedsStepUp(session(['pwd']), withTotp)).toBe(true);
    expect(adminNeedsStepUp(session(), withTotp)).toBe(true);
    expect(adminNeedsStepUp(session(['pwd', 'otp']), withTotp)).toBe(false);
    expect(adminNeedsStepUp(session(['oidc', 'mfa']), withTotp)).toBe(false);
  });
});

function user(username: string, role: string, opts: { groups?: string[]; disabled?: boolean } = {}): User {
  return { username, password: 'x', role, groups: opts.groups ?? [], email: '', name: '', disabled: opts.disabled ?? false };
}

function file(...users: User[]): ReadonlyMap<string, User> {
  return new Map(users.map((u) => [u.username, u]));
}

const asUser: UserAfter = { role: 'user', groups: [], disabled: false };
const disabledAdmin: UserAfter = { role: 'admin', groups: [], disabled: true };

describe('lastAdminRefusal: the last enabled administrator of the users file stays one', () => {
  it.each([
    ['removing the only admin', file(user('alice', 'admin'), user('bob', 'user')), 'alice', undefined, true],
    ['disabling the only admin', file(user('alice', 'admin'), user('bob', 'user')), 'alice', disabledAdmin, true],
    ['demoting the only admin', file(user('alice', 'admin'), user('bob', 'user')), 'alice', asUser, true],
    ['keeping role admin with new groups', file(user('alice', 'admin')), 'alice', { role: 'admin', groups: ['family'], disabled: false }, false],
    ['removing one of two admins', file(user('alice', 'admin'), user('root', 'admin')), 'alice', undefined, false],
    ['removing an admin when the other admin is disabled', file(user('alice', 'admin'), user('root', 'admin', { disabled: true })), 'alice', undefined, true],
    ['removing a disabled admin', file(user('alice', 'admin'), user('root', 'admin', { disabled: true })), 'root', undefined, false],
    ['removing a user who is not an admin', file(user('alice', 'admin'), user('bob', 'user')), 'bob', undefined, false],
    ['removing a user who is not in the file', file(user('alice', 'admin')), 'ghost', undefined, false],
    ['any change in a file with no admin at all (admins only through single sign-on)', file(user('bob', 'user')), 'bob', undefined, false],
  ])('%s → refused: %s', (_what, users, username, after, refused) => {
    const refusal = lastAdminRefusal(users, username, after, ROLE_ADMIN);
    expect(refusal !== undefined).toBe(refused);
    if (refused) expect(refusal).toBe(`${username} is the last administrator (the only enabled user matching admin.subjects): make someone else an administrator first; nothing was changed`);
  });

  it('counts administrators by admin.subjects, not by the word "admin"', () => {
    const users = file(user('carol', 'user', { groups: ['ops'] }), user('alice', 'admin'));
    expect(lastAdminRefusal(users, 'carol', { role: 'user', groups: [], disabled: false }, OPS)).toBeDefined();
    expect(lastAdminRefusal(users, 'alice', undefined, OPS)).toBeUndefined();
    // Moving the last one from the group to being named as a user keeps an administrator.
    expect(lastAdminRefusal(file(user('root', 'user', { groups: ['ops'] })), 'root', { role: 'user', groups: [], disabled: false }, OPS)).toBeUndefined();
  });
});
