/**
 * One admin command carried out, with what follows from it: the one domain call of POST /admin/<action>.
 *
 * - Users-file changes go through admin/users.ts (lock, fresh read, last-administrator rule); a
 *   password reset through auth/password-change.ts, as the account page's change; app passwords
 *   through tokens/manage.ts, as `postern token`.
 * - A new password, a disabled or a removed user ends that user's sessions and device trusts in the
 *   stores this server shares with every replica (auth/user-change.ts endsAccess, and
 *   auth/password-change.ts endUserSessions), as the CLI's `postern user` does; in memory (no Redis)
 *   they end in this process, the only one there is.
 * - Sessions and throttle counters are the stores the CLI's `postern sessions` and `postern throttle`
 *   reach (sessions/manage.ts, the login throttle's list and clear).
 *
 * Every replica sees the change within 1 s: it re-reads the users file on change (fs.watch, polled
 * every second as a fallback), and reads sessions through a 500 ms cache.
 */
import type { SessionRules } from '../auth/identity.js';
import type { LoginThrottle } from '../auth/login-throttle.js';
import { changePassword, endUserSessions, PasswordChangedMeanwhileError, type PasswordChangeDeps } from '../auth/password-change.js';
import { generatePassword } from '../auth/passwords.js';
import type { UserDirectory } from '../auth/user.js';
import { endsAccess } from '../auth/user-change.js';
import { revokeSession, revokeSessionsOf, sessionRow } from '../sessions/manage.js';
import type { SessionStore } from '../store/session-store.js';
import { revokeAppPassword } from '../tokens/manage.js';
import type { AdminCommand } from './input.js';
import { AdminRefusal, changeUser, writing, type UsersFileDeps } from './users.js';

export interface AdminActionDeps extends UsersFileDeps, Pick<PasswordChangeDeps, 'devices'> {
  readonly users: UserDirectory;
  readonly store: SessionStore;
  readonly throttle: Pick<LoginThrottle, 'clear'>;
  readonly rules: SessionRules;
}

export interface AdminOutcome {
  readonly notice: string;
  /** A password Postern generated, for `username`: shown once on the page, never logged. */
  readonly generated?: { readonly username: string; readonly password: string };
  /** Audit log fields: what was changed, never a secret. */
  readonly audit: Readonly<Record<string, unknown>>;
}

const plural = (n: number, noun: string): string => `${n} ${noun}${n === 1 ? '' : 's'}`;

/** A new, generated password for `username`, replacing the hash this page shows; their sessions and device trusts end. */
async function resetPassword(deps: AdminActionDeps, username: string): Promise<AdminOutcome> {
  const current = deps.users.find(username);
  if (current === undefined) throw new AdminRefusal(404, `There is no user ${username}; nothing was changed.`);
  const password = generatePassword();
  const deviceDeps = deps.devices ? { devices: deps.devices } : {};
  try {
    const done = await writing(deps.usersFile, () =>
      changePassword({ usersFile: deps.usersFile, hasher: deps.hasher, passwordFingerprint: deps.rules.passwordFingerprint, sessions: deps.store, ...deviceDeps }, { username, password, checkedHash: current.password }),
    );
    return { notice: `New password for ${username}; their sessions have ended.`, generated: { username, password }, audit: { user: username, sessions: done.endedSessions, devices: done.endedDevices } };
  } catch (err) {
    if (err instanceof PasswordChangedMeanwhileError) throw new AdminRefusal(409, `The password of ${username} was changed meanwhile (or the user removed); nothing was changed. Look again and retry.`);
    throw err;
  }
}

export async function runAdminCommand(deps: AdminActionDeps, command: AdminCommand): Promise<AdminOutcome> {
  switch (command.action) {
    case 'reset-password':
      return resetPassword(deps, command.username);
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
      const devices = (await deps.devices?.revokeUser(command.by.user)) ?? 0;
      return { notice: `Cleared ${plural(cleared, 'counter')} of ${command.by.user}, and ended the trust of ${plural(devices, 'device')}.`, audit: { user: command.by.user, counters: cleared, devices } };
    }
    case 'revoke-token': {
      const owner = await writing(deps.usersFile, () => revokeAppPassword(deps.usersFile, command.id));
      if (owner === undefined) throw new AdminRefusal(404, `There is no app password ${command.id}; nothing was changed.`);
      return { notice: `Revoked the app password ${command.id} of ${owner}.`, audit: { user: owner, token: command.id } };
    }
    default: {
      const outcome = await changeUser(deps, command);
      const ended = outcome.change !== undefined && endsAccess(outcome.change) ? await endUserSessions({ sessions: deps.store, ...(deps.devices ? { devices: deps.devices } : {}) }, outcome.username) : undefined;
      return {
        notice: outcome.notice,
        ...(outcome.generated === undefined ? {} : { generated: { username: outcome.username, password: outcome.generated } }),
        audit: { user: outcome.username, ...outcome.audit, ...(ended ? { sessions: ended.endedSessions, devices: ended.endedDevices } : {}) },
      };
    }
  }
}
