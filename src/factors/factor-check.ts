/**
 * Checking a second factor a person typed: an authenticator app code or a recovery code. No Koa.
 *
 * - A TOTP secret that does not open under the configured key (the key changed, or the file came
 *   from another installation) refuses that factor and says so in the log, naming the user and
 *   the key setting; the user is never signed in without it.
 * - A recovery code is spent under the users-file lock (editUsersFile reads the file fresh), so
 *   two requests with one code cannot both succeed; a file that cannot be written refuses the
 *   code rather than accept it unrecorded.
 */
import { editUsersFile } from '../auth/users-file-writer.js';
import type { User } from '../auth/user.js';
import type { Logger } from '../log/logger.js';
import { totpContext } from './factors.js';
import { useRecoveryCode } from './recovery.js';
import { ENCRYPTION_KEY_SETTING, type SecretBox } from './secret-box.js';
import type { Totp } from './totp.js';

export interface FactorCheckDeps {
  readonly box: SecretBox;
  readonly totp: Totp;
  readonly usersFile: string;
  readonly logger: Logger;
  readonly now: () => number;
}

export type FactorAnswer =
  | { readonly ok: true; readonly method: 'otp' | 'recovery' }
  /** Why, for the log only: the person always sees one generic failure. */
  | { readonly ok: false; readonly reason: 'wrong' | 'replayed' | 'unreadable' | 'unrecorded' };

export interface FactorInput {
  readonly code?: string | undefined;
  readonly recovery?: string | undefined;
}

export function createFactorCheck(deps: FactorCheckDeps) {
  /** The user's TOTP secret in clear, or undefined (logged) when it does not open. */
  function totpSecret(user: User): string | undefined {
    const sealed = user.factors?.totp?.secret;
    if (sealed === undefined) return undefined;
    const secret = deps.box.open(sealed, totpContext(user.username));
    if (secret === undefined) logUndecryptable(deps.logger, user.username);
    return secret;
  }

  async function spendRecoveryCode(user: User, typed: string): Promise<FactorAnswer> {
    try {
      const remaining = await editUsersFile(deps.usersFile, (file) => {
        const current = file.users.get(user.username)?.factors;
        const next = current?.recovery && useRecoveryCode(current.recovery, typed, deps.now());
        if (!current || !next) return undefined;
        file.setFactors(user.username, { ...current, recovery: next });
        return next.codes.length;
      });
      if (remaining === undefined) return { ok: false, reason: 'wrong' };
      deps.logger.warn({ event: 'two_factor.recovery_used', user: user.username, remaining }, `${user.username} signed in with a recovery code; ${remaining} left`);
      return { ok: true, method: 'recovery' };
    } catch (err) {
      deps.logger.error({ event: 'two_factor.recovery_unrecorded', user: user.username, reason: (err as Error).message }, 'a recovery code could not be recorded as used (users file not writable?); refused');
      return { ok: false, reason: 'unrecorded' };
    }
  }

  return {
    totpSecret,

    /** Checks the code (or, when given instead, the recovery code) for `user`. Rejects only when the single-use guard's store is down. */
    async check(user: User, input: FactorInput): Promise<FactorAnswer> {
      if (input.code !== undefined && input.code.trim() !== '') {
        const secret = totpSecret(user);
        if (secret === undefined) return { ok: false, reason: user.factors?.totp ? 'unreadable' : 'wrong' };
        const result = await deps.totp.check(user.username, secret, input.code);
        return result === 'accepted' ? { ok: true, method: 'otp' } : { ok: false, reason: result };
      }
      if (input.recovery !== undefined && input.recovery.trim() !== '' && user.factors?.recovery) return spendRecoveryCode(user, input.recovery);
      return { ok: false, reason: 'wrong' };
    },
  };
}

export type FactorCheck = ReturnType<typeof createFactorCheck>;

/** The error line for a secret that does not open: whose, and which setting holds the key. */
export function logUndecryptable(logger: Logger, username: string): void {
  logger.error(
    { event: 'two_factor.undecryptable', user: username, setting: ENCRYPTION_KEY_SETTING },
    `the authenticator app secret of ${username} cannot be decrypted with ${ENCRYPTION_KEY_SETTING}; that factor is refused until the key is restored or 'postern user reset-2fa ${username}' is run`,
  );
}

/** The users whose authenticator app secret does not open under `box`'s key (checked at start and on every reload). */
export function usersWithUnreadableFactors(users: readonly User[], box: SecretBox): string[] {
  return users.filter((u) => u.factors?.totp && box.open(u.factors.totp.secret, totpContext(u.username)) === undefined).map((u) => u.username);
}
