import type { Config } from '../config/types.js';
import { revokeSessionsOfUser } from './sessions-command.js';
import { revokeUser } from './throttle-command.js';
import { endsAccess, type UserChange } from '../auth/user-change.js';

/**
 * What follows from a change to a user, once the users file has it: a new password, a disabled or a
 * removed user ends that user's sessions and device trusts in the shared store (Redis), so that
 * enabling or adding the user again later brings neither back. Without Redis both live in the
 * server's memory, where verify and sign-in refuse them anyway once the user is gone or disabled or
 * has another password.
 */
export async function afterUserChange(config: Config, username: string, change: UserChange): Promise<void> {
  if (!endsAccess(change)) return;
  await revokeSessionsOfUser(config, username);
  await revokeUser(config, username);
}
