/**
 * The seam between the admin page and second factors (TOTP, passkeys: issue 14, another helper's
 * work). Until factors are kept in the users file, every user has none: the page shows "—" and no
 * "reset second factors" button, and a reset is refused as having nothing to reset.
 */
import type { User } from '../auth/user.js';
import type { UsersFileEditor } from '../auth/users-file-writer.js';

/** The second factors `user` has enrolled, in words for the page ("totp", "passkey: laptop"). None yet. */
export function factorsOf(_user: User): readonly string[] {
  return [];
}

/** Removes every second factor of `username`, under the users-file lock. Nothing to remove yet. */
export function resetFactors(_file: UsersFileEditor, _username: string): void {
  // The factors work removes the user's enrolled factors here (and what follows: their device trusts).
}
