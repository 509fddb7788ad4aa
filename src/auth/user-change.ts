/** What a change to a user was, for whoever must act on it (the CLI's `postern user`, the admin page). */
export type UserChange = 'added' | 'password' | 'disabled' | 'enabled' | 'removed';

/**
 * Whether a change ends the user's sessions and device trusts in the shared store: a new password,
 * a disabled or a removed user, so that enabling or adding the user again later brings neither back.
 */
export function endsAccess(change: UserChange): boolean {
  return change === 'password' || change === 'disabled' || change === 'removed';
}
