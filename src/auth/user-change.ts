import type { User } from './user.js';

/** What a change to a user was, for whoever must act on it (the CLI's `postern user`, the admin page, a reload of the users file). */
export type UserChange = 'added' | 'password' | 'disabled' | 'enabled' | 'removed';

/** The changes that end a user's sessions and device trusts. */
export type AccessEndingChange = Extract<UserChange, 'password' | 'disabled' | 'removed'>;

/**
 * Whether a change ends the user's sessions and device trusts in the shared store: a new password,
 * a disabled or a removed user, so that enabling or adding the user again later brings neither back.
 */
export function endsAccess(change: UserChange): change is AccessEndingChange {
  return change === 'password' || change === 'disabled' || change === 'removed';
}

/** A user whose access a new version of the users file ended, and why. */
export interface AccessEnded {
  /** The normalised username (the users file's key). */
  readonly username: string;
  readonly change: AccessEndingChange;
}

/**
 * What became of one user from one version of the users file to the next; undefined when nothing
 * that decides access changed (role, groups, email, name, app passwords, factors: those are read
 * afresh on every request). When several things changed at once, the one that ends the most:
 * removed, then disabled, then a new password (by its session fingerprint, so a sign-in rehash,
 * which carries the old fingerprint, is no change), then enabled.
 */
function changeOf(before: User | undefined, after: User | undefined, passwordFingerprint: (user: User) => string): UserChange | undefined {
  if (before === undefined) return after === undefined ? undefined : 'added';
  if (after === undefined) return 'removed';
  if (!before.disabled && after.disabled) return 'disabled';
  if (passwordFingerprint(before) !== passwordFingerprint(after)) return 'password';
  if (before.disabled && !after.disabled) return 'enabled';
  return undefined;
}

/**
 * The users whose access ends from `previous` to `next` (two versions of the users file, keyed by
 * normalised username), by the same rule as the CLI and the admin page (endsAccess): removed
 * (renaming by hand removes the old name), disabled, or given another password. Re-enabling or
 * adding a user ends nothing. Pure: no I/O, no clock.
 */
export function accessEndedFor(previous: ReadonlyMap<string, User>, next: ReadonlyMap<string, User>, passwordFingerprint: (user: User) => string): AccessEnded[] {
  const ended: AccessEnded[] = [];
  for (const [username, before] of previous) {
    const change = changeOf(before, next.get(username), passwordFingerprint);
    if (change !== undefined && endsAccess(change)) ended.push({ username, change });
  }
  return ended;
}

/**
 * The users a version of the users file marks disabled, as if each had just been disabled: at
 * start-up, so that a user disabled by hand while no server ran loses their sessions and device
 * trusts as a reload would have ended them. Pure: no I/O, no clock.
 */
export function disabledUsers(users: Iterable<User>): AccessEnded[] {
  const ended: AccessEnded[] = [];
  for (const user of users) if (user.disabled) ended.push({ username: user.username, change: 'disabled' });
  return ended;
}

/**
 * Of the users one version of the file removed, what ends once the file has settled: each is
 * compared again, from the version before the removal (`previous`) to the users in force now
 * (`now`). Still absent: removed. Back, but disabled or with another password: that. Back as they
 * were: nothing (the removal was a save read half-way, cut at an entry boundary). Pure.
 */
export function confirmRemovals(
  removed: readonly AccessEnded[],
  previous: ReadonlyMap<string, User>,
  now: (username: string) => User | undefined,
  passwordFingerprint: (user: User) => string,
): AccessEnded[] {
  const ended: AccessEnded[] = [];
  for (const { username } of removed) {
    const change = changeOf(previous.get(username), now(username), passwordFingerprint);
    if (change !== undefined && endsAccess(change)) ended.push({ username, change });
  }
  return ended;
}
