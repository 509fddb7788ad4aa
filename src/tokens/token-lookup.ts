/**
 * Finds an app password by its id in O(1): an index built once per loaded users file (the
 * directory hands out a new `all()` list after every reload, which rebuilds the index on the next
 * lookup), never a scan per request. A revoked token is gone from the next index: within the users
 * file's reload time (fs.watch, else a 1 s poll) on every replica.
 */
import type { User, UserDirectory } from '../auth/user.js';
import type { AppPassword } from './app-password.js';

export interface TokenHolder {
  readonly user: User;
  readonly token: AppPassword;
}

export function createTokenLookup(users: UserDirectory): (id: string) => TokenHolder | undefined {
  let list: readonly User[] | undefined;
  let index = new Map<string, TokenHolder>();
  return (id) => {
    const current = users.all();
    if (current !== list) {
      index = new Map();
      for (const user of current) for (const token of user.appPasswords ?? []) index.set(token.id, { user, token });
      list = current;
    }
    return index.get(id);
  };
}
