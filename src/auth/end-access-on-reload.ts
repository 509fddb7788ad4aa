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
 * - A removal waits REMOVAL_SETTLE_MS, then the file is read again and only the users still absent
 *   (or back but disabled, or with another password) lose their access: a save read half-way and
 *   cut exactly at an entry boundary parses as valid, with the later users "removed". Disabled
 *   users and new passwords end at once: a truncated file cannot show either.
 * - At start-up (endAccessAtStart), every user the file marks disabled loses what they still have:
 *   the file may have been edited while no server ran. One listByUser per disabled user per start;
 *   idempotent, so replicas starting together do no harm.
 * - A store that fails is logged with what to do; the sessions stay refused while the file says so.
 */
import type { Logger } from '../log/logger.js';
import type { SessionStore } from '../store/session-store.js';
import { endUserSessions } from './password-change.js';
import type { User } from './user.js';
import { type AccessEnded, accessEndedFor, confirmRemovals, disabledUsers } from './user-change.js';
import type { UsersFileChange } from './users-file.js';

/** How long a removal must stand, the file read again, before it ends anything: an in-place save of a small file is over by then. */
export const REMOVAL_SETTLE_MS = 250;

export interface EndAccessDeps {
  readonly sessions: Pick<SessionStore, 'listByUser' | 'destroy'>;
  /** Ends every device trust of a (normalised) username. */
  readonly devices: { revokeUser(username: string): Promise<number> };
  /** SessionRules.passwordFingerprint: what a user's sessions carry. */
  readonly passwordFingerprint: (user: User) => string;
  readonly logger: Pick<Logger, 'info' | 'error'>;
  /** The users file (UsersFile): read again before a removal ends anything. */
  readonly users: { find(username: string): User | undefined; reload(): Promise<boolean> };
  /** How long a removal must stand first; REMOVAL_SETTLE_MS unless a test says otherwise. */
  readonly settleMs?: number;
}

const WORDS = { disabled: 'is disabled in the users file', removed: 'is no longer in the users file', password: 'has another password in the users file' } as const;

/** The step to run after each reload of the users file. Never rejects: failures are logged. */
export function endAccessOnReload(deps: EndAccessDeps): (change: UsersFileChange) => Promise<void> {
  return async ({ previous, next }) => {
    const ended = accessEndedFor(previous, next, deps.passwordFingerprint);
    const removed = ended.filter((e) => e.change === 'removed');
    await endEach(deps, ended.filter((e) => e.change !== 'removed'), (username) => next.get(username), 'always');
    if (removed.length === 0) return;
    await new Promise((resolve) => setTimeout(resolve, deps.settleMs ?? REMOVAL_SETTLE_MS).unref());
    // An unreadable or invalid file leaves the version that removed them in force: they end, as they would have at once.
    await deps.users.reload().catch(() => false);
    const find = (username: string) => deps.users.find(username);
    await endEach(deps, confirmRemovals(removed, previous, find, deps.passwordFingerprint), find, 'always');
  };
}

/**
 * At start-up: ends the sessions and device trusts of every user the users file marks disabled, as
 * a reload would have had the server been running when they were disabled. Logs one line per user
 * who had something to end, nothing for the others. Never rejects: failures are logged.
 */
export function endAccessAtStart(deps: EndAccessDeps, users: readonly User[]): Promise<void> {
  return endEach(deps, disabledUsers(users), () => undefined, 'when-something-ended');
}

/** Ends each user's access (keeping, on a new password, the sessions that carry it: `now` is the user in force) and logs it. */
async function endEach(deps: EndAccessDeps, ended: readonly AccessEnded[], now: (username: string) => User | undefined, log: 'always' | 'when-something-ended'): Promise<void> {
  for (const { username, change } of ended) {
    const renewed = change === 'password' ? now(username) : undefined;
    try {
      const { endedSessions, endedDevices } = await endUserSessions(deps, username, renewed ? { keepFingerprint: deps.passwordFingerprint(renewed) } : {});
      if (log === 'when-something-ended' && endedSessions === 0 && endedDevices === 0) continue;
      deps.logger.info(
        { event: 'users.access_ended', user: username, change, endedSessions, endedDevices },
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
}
