/**
 * The seam between the admin page and second factors (factors/factors.ts): what a user has, in
 * words for the page, and the reset (the same as `postern user reset-2fa`).
 */
import type { User } from '../auth/user.js';
import type { UsersFileEditor } from '../auth/users-file-writer.js';
import { describeFactors } from '../factors/factors.js';

/** The second factors `user` has enrolled, in words for the page (`totp`, `passkeys:2`, `recovery:7/10`); empty for none. */
export function factorsOf(user: User): readonly string[] {
  return describeFactors(user.factors);
}

/** Removes every second factor of `username`, under the users-file lock (the caller's editUsersFile). */
export function resetFactors(file: UsersFileEditor, username: string): void {
  file.setFactors(username, undefined);
}
