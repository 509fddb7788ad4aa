/**
 * What a reload of the users file ends: a user disabled, removed or given another password in the
 * file (by hand, by a tool, by `postern user` or the admin page) loses their sessions and device
 * trusts, as the CLI and the admin page end them (password-change.ts endUserSessions), so that
 * re-enabling the user, adding the name back or putting the old hash back brings none of them back.
 * Verify and sign-in already refuse them from the reload on (session-subject.ts); this makes it for good.
 *
 * - Once per transition, per process: the users file calls back once per loaded edit, with the
 *   users before and after it (users-file.ts). Every replica does it on its own reload, and so do
 *   the CLI and the admin page where they made the change: ending what is already ended ends
 *   nothing (idempotent), so the repetition is harmless.
 * - A new password ends only the sessions that do not carry its fingerprint: the session the
 *   account page re-stamped, or a sign-in on a replica that reloaded first, stands. Device trusts
 *   end all, as after a password change on the account page (the store does not know which
 *   password a device proved; a device trusted a moment ago goes back to the ordinary limits).
 * - A store that fails is logged with what to do; the sessions stay refused while the file says so.
 */
import type { Logger } from '../log/logger.js';
import type { SessionStore } from '../store/session-store.js';
import { endUserSessions } from './password-change.js';
import type { User } from './user.js';
import { accessEndedFor } from './user-change.js';
import type { UsersFileChange } from './users-file.js';

export interface EndAccessDeps {
  readonly sessions: Pick<SessionStore, 'listByUser' | 'destroy'>;
  /** Ends every device trust of a (normalised) username. */
  readonly devices: { revokeUser(username: string): Promise<number> };
  /** SessionRules.passwordFingerprint: what a user's sessions carry. */
  readonly passwordFingerprint: (user: User) => string;
  readonly logger: Pick<Logger, 'info' | 'error'>;
}

const WORDS = { disabled: 'is disabled in the users file', removed: 'is no longer in the users file', password: 'has another password in the users file' } as const;

/** The step to run after each reload of the users file. Never rejects: failures are logged. */
export function endAccessOnReload(deps: EndAccessDeps): (change: UsersFileChange) => Promise<void> {
  return async ({ previous, next }) => {
    for (const { username, change } of accessEndedFor(previous, next, deps.passwordFingerprint)) {
      const renewed = change === 'password' ? next.get(username) : undefined;
      try {
        const ended = await endUserSessions(deps, username, renewed ? { keepFingerprint: deps.passwordFingerprint(renewed) } : {});
        deps.logger.info(
          { event: 'users.access_ended', user: username, change, endedSessions: ended.endedSessions, endedDevices: ended.endedDevices },
          `${username} ${WORDS[change]}: their sessions and device trusts ended`,
        );
      } catch (err) {
        deps.logger.error(
          { event: 'users.access_end_failed', user: username, change, reason: err instanceof Error ? err.message : String(err) },
          `${username} ${WORDS[change]}, but the session store could not end their sessions (they stay refused while the file says so). ` +
            `Once the store is back, run 'postern sessions revoke --user ${username}' and 'postern throttle clear --user ${username}'`,
        );
      }
    }
  };
}
