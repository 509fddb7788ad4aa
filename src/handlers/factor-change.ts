/**
 * What every second-factor page of `/account/2fa/...` checks before it changes anything, and how
 * it saves: one module, so the enrolment and recovery pages (two-factor-enrol.ts,
 * two-factor-recovery.ts) cannot differ on who may change a factor.
 *
 * - Signed-in local users only. A user who has a factor must be in a two-factor session to change
 *   any (else: the step-up page first, and back).
 * - Removing or replacing asks for the password or a code again, counted in the sign-in throttle.
 * - A users file that cannot be written gets a page naming who can make the change, and how.
 */
import type { Context } from 'koa';
import type { Identity } from '../auth/identity.js';
import type { LoginThrottle } from '../auth/login-throttle.js';
import type { PasswordHasher } from '../auth/passwords.js';
import { currentIdentity, type SubjectDeps } from '../auth/session-subject.js';
import type { User } from '../auth/user.js';
import { cannotWriteUsersFile } from '../auth/users-file-lock.js';
import { editUsersFile } from '../auth/users-file-writer.js';
import type { FactorCheck } from '../factors/factor-check.js';
import { hasSecondFactor, type UserFactors } from '../factors/factors.js';
import { ENROLMENT_KEY } from '../factors/second-step.js';
import { withMethod } from '../factors/session-methods.js';
import type { Csrf } from '../http/csrf.js';
import { formField } from '../http/form-field.js';
import { currentSession, restartSession, setSessionField } from '../http/session-data.js';
import type { Logger } from '../log/logger.js';
import { usersFileReadOnlyPage } from '../views/account-page.js';
import { messagePage } from '../views/message-page.js';
import { retryInWords } from './throttle-refusal.js';

export interface FactorChangeDeps extends SubjectDeps {
  readonly csrf: Csrf;
  readonly throttle: LoginThrottle;
  readonly hasher: PasswordHasher;
  readonly check: FactorCheck;
  readonly usersFile: string;
  readonly logger: Logger;
  readonly urls: { readonly login: string; readonly secondFactor: string; readonly account: string };
}

export interface Signed {
  readonly identity: Identity;
  readonly user: User;
}

export const withRd = (url: string, rd: string | undefined): string => (rd ? `${url}?rd=${encodeURIComponent(rd)}` : url);

export function createFactorChange(deps: FactorChangeDeps) {
  const html = (ctx: Context, status: number, body: string): void => {
    ctx.status = status;
    ctx.type = 'html';
    ctx.body = body;
  };
  const post = (ctx: Context): boolean => ctx.method === 'POST';

  /**
   * The signed-in local user allowed to change factors here, or undefined with the answer given:
   * the sign-in page, a refusal for a provider's account, or the step-up page when the user has a
   * factor and this session did not use one.
   */
  function signedIn(ctx: Context, self: string): Signed | undefined {
    const identity = currentIdentity(ctx, deps);
    const user = identity?.via === 'local' ? deps.users.find(identity.user) : undefined;
    if (!identity) ctx.redirect(withRd(deps.urls.login, self));
    else if (!user) html(ctx, 403, messagePage('Not here', 'Second factors are kept for accounts Postern holds; yours comes from single sign-on, whose own settings hold them.', { href: deps.urls.account, text: 'Back to your account' }));
    else if (hasSecondFactor(user.factors) && !identity.twoFactor) ctx.redirect(withRd(deps.urls.secondFactor, self));
    else return { identity, user };
    if (post(ctx) && ctx.status === 302) ctx.status = 303;
    return undefined;
  }

  /** Writes the user's factors; false (with a page saying who can) when the users file cannot be written. */
  async function saveFactors(ctx: Context, user: User, change: (current: UserFactors | undefined) => UserFactors | undefined): Promise<boolean> {
    try {
      await editUsersFile(deps.usersFile, (file) => {
        const current = file.users.get(user.username);
        if (!current) throw new Error(`user '${user.username}' is no longer in the users file`);
        file.setFactors(user.username, change(current.factors));
      });
      return true;
    } catch (err) {
      deps.logger.error({ event: 'two_factor.write_failed', user: user.username, reason: (err as Error).message }, 'could not write the users file');
      const command = `postern user reset-2fa ${user.username}`;
      html(
        ctx,
        503,
        cannotWriteUsersFile(err)
          ? usersFileReadOnlyPage({ what: 'a change to your second factors', command, back: deps.urls.account })
          : messagePage('Cannot save', `The users file cannot be changed right now; nothing was saved. An administrator can reset second factors with '${command}'.`, { href: deps.urls.account, text: 'Back to your account' }),
      );
      return false;
    }
  }

  /** "The password or a factor again": true when one of them is right; counted in the sign-in throttle. */
  async function reauthenticate(ctx: Context, user: User): Promise<{ ok: true } | { ok: false; error: string; status: number }> {
    const { clientIp } = ctx.state.facts;
    const gate = await deps.throttle.take(clientIp, user.username);
    if (!gate.allowed) {
      ctx.set('Retry-After', String(gate.retryAfterSec));
      return { ok: false, status: 429, error: `Too many failed attempts. Try again in ${retryInWords(gate.retryAfterSec)}.` };
    }
    const password = formField(ctx.request.body, 'password');
    const code = formField(ctx.request.body, 'code');
    const ok = password ? await deps.hasher.verify(user.password, password) : code ? (await deps.check.check(user, { code })).ok : false;
    if (!ok) {
      deps.logger.info({ event: 'two_factor.reauth_failure', user: user.username, client: clientIp }, 'password or code refused before a factor change');
      return { ok: false, status: 401, error: 'That password or code is not right.' };
    }
    await deps.throttle.recordSuccess(clientIp, user.username);
    return { ok: true };
  }

  /** The session after a factor was used here: same session, fresh id, `otp` among its methods, the enrolment gone. */
  async function steppedUp(ctx: Context): Promise<void> {
    const session = currentSession(ctx);
    if (!session) return;
    setSessionField(ctx, ENROLMENT_KEY, undefined);
    const now = deps.now();
    await restartSession(ctx, { seen: now, amr: withMethod(session.amr ?? ['pwd'], 'otp') }, now);
  }

  const csrfRefused = (ctx: Context): boolean => {
    if (deps.csrf.verify(ctx, formField(ctx.request.body, 'csrf'))) return false;
    html(ctx, 403, messagePage('Form expired', 'This form has expired. Open the page again.', { href: deps.urls.account, text: 'Back to your account' }));
    return true;
  };

  return { html, signedIn, saveFactors, reauthenticate, steppedUp, csrfRefused };
}

export type FactorChange = ReturnType<typeof createFactorChange>;
