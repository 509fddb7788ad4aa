/**
 * One admin command carried out, with what follows from it: the one domain call of POST /admin/<action>.
 *
 * - Users-file changes go through admin/users.ts (lock, fresh read, last-administrator rule).
 * - A new password, a disabled or a removed user ends that user's sessions and device trusts in the
 *   stores this server shares with every replica (auth/user-change.ts endsAccess), as the CLI's
 *   `postern user` does; in memory (no Redis) they end in this process, the only one there is.
 * - Sessions and throttle counters are the same stores the CLI's `postern sessions` and
 *   `postern throttle` reach (sessions/manage.ts, the login throttle's list and clear).
 *
 * Every replica sees the change within 1 s: it re-reads the users file on change (fs.watch, polled
 * every second as a fallback), and reads sessions through a 500 ms cache.
 */
import type { LoginThrottle } from '../auth/login-throttle.js';
import { endsAccess } from '../auth/user-change.js';
import { normaliseUsername } from '../auth/username.js';
import { revokeSession, revokeSessionsOf, sessionRow } from '../sessions/manage.js';
import type { DeviceStore } from '../store/device-store.js';
import type { SessionStore } from '../store/session-store.js';
import type { AdminCommand } from './input.js';
import { AdminRefusal, changeUser, revokeAppPassword, type UsersFileDeps } from './users.js';

export interface AdminActionDeps extends UsersFileDeps {
  readonly store: SessionStore;
  readonly throttle: Pick<LoginThrottle, 'clear'>;
  /** Trusted devices; undefined when login.device_ttl is 0. */
  readonly devices: Pick<DeviceStore, 'removeUser'> | undefined;
}

export interface AdminOutcome {
  readonly notice: string;
  /** A password Postern generated, for `username`: shown once on the page, never logged. */
  readonly generated?: { readonly username: string; readonly password: string };
  /** Audit log fields: what was changed, never a secret. */
  readonly audit: Readonly<Record<string, unknown>>;
}

/** Ends every session and device trust of `username`; returns how many of each. */
async function endAccess(deps: AdminActionDeps, username: string): Promise<{ sessions: number; devices: number }> {
  const sessions = (await revokeSessionsOf(deps.store, username)).length;
  const devices = deps.devices ? await deps.devices.removeUser(normaliseUsername(username)) : 0;
  return { sessions, devices };
}

const plural = (n: number, noun: string): string => `${n} ${noun}${n === 1 ? '' : 's'}`;

export async function runAdminCommand(deps: AdminActionDeps, command: AdminCommand): Promise<AdminOutcome> {
  switch (command.action) {
    case 'revoke-sessions': {
      const ended = await revokeSessionsOf(deps.store, command.username);
      return { notice: `Ended ${plural(ended.length, 'session')} of ${command.username}.`, audit: { user: command.username, sessions: ended.length } };
    }
    case 'revoke-session': {
      const match = await revokeSession(deps.store, command.handle);
      if (!match.ok) {
        throw new AdminRefusal(match.problem === 'ambiguous' ? 400 : 404, match.problem === 'ambiguous' ? `${match.count} sessions have an ID starting with ${match.prefix}; nothing was ended.` : `No session has the ID ${match.prefix}; nothing was ended.`);
      }
      const row = sessionRow(match.session);
      return { notice: `Ended session ${row.id} of ${row.user}.`, audit: { user: row.user, session: row.id } };
    }
    case 'clear-throttle': {
      const cleared = await deps.throttle.clear(command.by);
      if ('ip' in command.by) return { notice: `Cleared ${plural(cleared, 'counter')} of ${command.by.ip}.`, audit: { ip: command.by.ip, counters: cleared } };
      // As `postern throttle clear --user`: the user's trusted devices end too (and their own counters with them).
      const devices = deps.devices ? await deps.devices.removeUser(normaliseUsername(command.by.user)) : 0;
      return { notice: `Cleared ${plural(cleared, 'counter')} of ${command.by.user}, and ended the trust of ${plural(devices, 'device')}.`, audit: { user: command.by.user, counters: cleared, devices } };
    }
    case 'revoke-token': {
      const { owner, name } = await revokeAppPassword(deps.usersFile, command.id);
      return { notice: `Revoked the app password ${command.id} (${name}) of ${owner}.`, audit: { user: owner, token: command.id } };
    }
    default: {
      const outcome = await changeUser(deps, command);
      const ended = outcome.change !== undefined && endsAccess(outcome.change) ? await endAccess(deps, outcome.username) : undefined;
      return {
        notice: outcome.notice,
        ...(outcome.generated === undefined ? {} : { generated: { username: outcome.username, password: outcome.generated } }),
        audit: { user: outcome.username, ...outcome.audit, ...(ended ? { sessions: ended.sessions, devices: ended.devices } : {}) },
      };
    }
  }
}
