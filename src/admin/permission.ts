/**
 * Who may use the admin page, and which changes would leave nobody able to: pure decisions, no I/O.
 *
 * - `adminAccess`: nobody signed in → `anonymous` (the sign-in page, as for `/`); signed in but not
 *   one of `admin.subjects` → `forbidden` (a 403 page, logged); otherwise `admin`. Local and single
 *   sign-on identities alike: subjects match the username, role and groups the session stands for.
 * - `lastAdminRefusal`: an "administrator" here is an ENABLED user of the users file who matches
 *   `admin.subjects` (single sign-on users are not in the file and are not counted: they may be gone
 *   tomorrow). A change (remove, disable, a new role or groups) is refused when the file has at least
 *   one administrator before it and none after it. A file that already has none (administrators
 *   only through single sign-on) refuses nothing.
 */
import type { Identity } from '../auth/identity.js';
import type { User } from '../auth/user.js';
import { subjectMatches, type SubjectMatcher } from '../access/rules.js';
import { hasSecondFactor } from '../factors/factors.js';
import { isTwoFactor } from '../factors/session-methods.js';
import type { SessionData } from '../store/session-store.js';

export type AdminAccess = { readonly kind: 'anonymous' } | { readonly kind: 'forbidden' } | { readonly kind: 'admin'; readonly admin: Identity };

export function adminAccess(identity: Identity | undefined, subjects: SubjectMatcher): AdminAccess {
  if (identity === undefined) return { kind: 'anonymous' };
  return subjectMatches(subjects, identity) ? { kind: 'admin', admin: identity } : { kind: 'forbidden' };
}

/**
 * "With a second factor when the user has one" (issue 15): true when this session must prove a
 * second factor before it may use the admin page: the admin has one, and this session did not use it.
 */
export function adminNeedsStepUp(session: SessionData | undefined, user: User | undefined): boolean {
  return user !== undefined && hasSecondFactor(user.factors) && !(session !== undefined && isTwoFactor(session));
}

/** What a change leaves of one user: its role, groups and whether it is disabled; undefined when removed. */
export type UserAfter = Pick<User, 'role' | 'groups' | 'disabled'> | undefined;

function counts(user: Pick<User, 'username' | 'role' | 'groups' | 'disabled'>, subjects: SubjectMatcher): boolean {
  return !user.disabled && subjectMatches(subjects, { user: user.username, role: user.role, groups: user.groups });
}

/**
 * Why changing `username` to `after` must be refused, or undefined when it may go ahead. `users` is
 * the file as read under the lock, keyed by normalised username.
 */
export function lastAdminRefusal(users: ReadonlyMap<string, User>, username: string, after: UserAfter, subjects: SubjectMatcher): string | undefined {
  const before = users.get(username);
  if (before === undefined || !counts(before, subjects)) return undefined;
  if (after !== undefined && counts({ username, ...after }, subjects)) return undefined;
  for (const other of users.values()) if (other.username !== username && counts(other, subjects)) return undefined;
  return `${username} is the last administrator (the only enabled user matching admin.subjects): make someone else an administrator first; nothing was changed`;
}
