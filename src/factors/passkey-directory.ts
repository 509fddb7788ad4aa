/**
 * Whose passkey is this. No Koa. (Adding and removing one is a factor change like any other:
 * handlers/factor-change.ts saveFactors, through editUsersFile.)
 */
import type { User, UserDirectory } from '../auth/user.js';
import type { Passkey } from './passkey-parse.js';

export function passkeysOf(user: User): readonly Passkey[] {
  return user.factors?.passkeys ?? [];
}

/**
 * The user who registered credential `id`, with the passkey, when that user may sign in (not
 * disabled). Credential ids are unique across the users file (users-file-parse.ts checks it).
 * A walk over every user's passkeys: a users file holds a household, not a million accounts.
 */
export function findCredential(users: UserDirectory, id: string): { readonly user: User; readonly passkey: Passkey } | undefined {
  for (const user of users.all()) {
    const passkey = passkeysOf(user).find((p) => p.id === id);
    if (passkey !== undefined) return user.disabled ? undefined : { user, passkey };
  }
  return undefined;
}
