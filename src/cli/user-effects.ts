import { endUserSessions } from '../auth/password-change.js';
import { endsAccess } from '../auth/user-change.js';
import { normaliseUsername } from '../auth/username.js';
import type { Config } from '../config/types.js';
import { RedisDeviceStore } from '../store/device-store-redis.js';
import { connectForCommand, redisTargetFromConfig } from '../store/redis-client.js';
import { RedisSessionStore } from '../store/redis-store.js';
import type { UserChange } from './user-commands.js';

/**
 * What follows from a change to a user, once the users file has it: a new password, a disabled or a
 * removed user ends that user's sessions and device trusts in the shared store (Redis), so that
 * enabling or adding the user again later brings neither back. The same step as a password change
 * on the account page (auth/password-change.ts endUserSessions), without a session to keep. Without
 * Redis both live in the server's memory, and the server ends them itself when it reloads the file
 * (auth/end-access-on-reload.ts, which also does it again in every replica, harmlessly).
 */
export async function afterUserChange(config: Config, username: string, change: UserChange): Promise<void> {
  if (!endsAccess(change)) return;
  const target = redisTargetFromConfig(config.session.redis);
  if (!target) return;
  const redis = await connectForCommand(target);
  const sessions = new RedisSessionStore(redis);
  const devices = new RedisDeviceStore(redis);
  try {
    await endUserSessions({ sessions, devices: { revokeUser: (user) => devices.removeUser(normaliseUsername(user)) } }, normaliseUsername(username));
  } finally {
    await sessions.close();
  }
}
