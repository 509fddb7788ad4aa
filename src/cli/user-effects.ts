import type { Config } from '../config/types.js';
import { revokeUser } from './throttle-command.js';
import type { UserChange } from './user-commands.js';

/**
 * What follows from a change to a user, once the users file has it: a new password, a disabled or a
 * removed user ends that user's device trusts in the shared store (Redis). Without Redis the
 * devices live in the server's memory, where a device is refused anyway once its user is gone or
 * disabled or has another password.
 */
export async function afterUserChange(config: Config, username: string, change: UserChange): Promise<void> {
  if (change !== 'password' && change !== 'disabled' && change !== 'removed') return;
  await revokeUser(config, username);
}
