/**
 * The second-factor pages of `/account` (the account page links here):
 *
 *   GET|POST /account/2fa/totp          add (or replace) an authenticator app: QR code + one valid code
 *   POST     /account/2fa/totp/remove   remove it (password or a code again)
 *   GET|POST /account/2fa/recovery      see how many recovery codes are left; make new ones (password or a code again)
 *
 * - Signed-in local users only. A user who has a factor must be in a two-factor session to change
 *   any (else: the step-up page first, and back here).
 * - The new secret waits in the session, sealed, until a valid code confirms it; then it is sealed
 *   for the users file, and recovery codes are made if the user had none (shown once).
 * - Confirming a new app's code counts as using it: the session gains `otp`.
 */
import QRCode from 'qrcode';
import type { Context } from 'koa';
import type { PasswordHasher } from '../auth/passwords.js';
import type { LoginThrottle } from '../auth/login-throttle.js';
import { validateRedirect, type RedirectPolicy } from '../auth/redirect.js';
import { currentIdentity, type SubjectDeps } from '../auth/session-subject.js';
import type { User } from '../auth/user.js';
import { cannotWriteUsersFile } from '../auth/users-file-lock.js';
import { editUsersFile } from '../auth/users-file-writer.js';
import type { FactorCheck } from '../factors/factor-check.js';
import { hasSecondFactor, totpContext, type UserFactors } from '../factors/factors.js';
import { generateRecoveryCodes } from '../factors/recovery.js';
import { enrolmentContext, ENROLMENT_KEY, parsePendingEnrolment } from '../factors/second-step.js';
import type { SecretBox } from '../factors/secret-box.js';
import { withMethod } from '../factors/session-methods.js';
import type { Totp } from '../factors/totp.js';
import type { Csrf } from '../http/csrf.js';
import { formField } from '../http/form-field.js';
import { currentSession, pendingLogins, sessionField, setSessionField, startSession } from '../http/session-data.js';
import type { Identity } from '../auth/identity.js';
import type { Logger } from '../log/logger.js';
import { usersFileReadOnlyPage } from '../views/account-page.js';
import { messagePage } from '../views/message-page.js';
import { qrSvg, recoveryCodesPage, recoveryStatusPage, totpEnrolPage } from '../views/two-factor-enrol-page.js';
import { retryInWords } from './login.js';

export interface FactorPagesDeps extends SubjectDeps {
  readonly csrf: Csrf;
  readonly throttle: LoginThrottle;
  readonly hasher: PasswordHasher;
  readonly check: FactorCheck;
  readonly totp: Totp;
  readonly box: SecretBox;
  readonly usersFile: string;
  readonly logger: Logger;
  readonly redirectPolicy: RedirectPolicy;
  readonly urls: { readonly login: string; readonly secondFactor: string; readonly account: string; readonly enrolTotp: string; readonly removeTotp: string; readonly recovery: string };
}

export interface Signed {
  readonly identity: Identity;
  readonly user: User;
}

const withRd = (url: string, rd: string | undefined): string => (rd ? `${url}?rd=${encodeURIComponent(rd)}` : url);

export function createFactorPages(deps: FactorPagesDeps) {
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

  /** The pending secret in clear, made (and kept in the session, sealed) when there is none yet. */
  function pendingSecret(ctx: Context, user: User, create: boolean): string | undefined {
    const now = deps.now();
    const pending = parsePendingEnrolment(sessionField(ctx, ENROLMENT_KEY), user.username, now);
    const secret = pending && deps.box.open(pending.secret, enrolmentContext(user.username));
    if (secret !== undefined || !create) return secret;
    const fresh = deps.totp.newSecret();
    setSessionField(ctx, ENROLMENT_KEY, { user: user.username, secret: deps.box.seal(fresh, enrolmentContext(user.username)), created: now });
    return fresh;
  }

  async function renderEnrol(ctx: Context, status: number, user: User, secret: string, rd: string | undefined, error?: string): Promise<void> {
    const svg = await QRCode.toString(deps.totp.uri(user.username, secret), { type: 'svg', margin: 1, errorCorrectionLevel: 'M' });
    const page = totpEnrolPage({ action: deps.urls.enrolTotp, removeAction: deps.urls.removeTotp, csrf: deps.csrf.token(ctx, ctx.state.facts.https), rd, username: user.username, qr: qrSvg(svg), secret, error, replacing: user.factors?.totp !== undefined });
    html(ctx, status, page);
  }

  function renderRecovery(ctx: Context, status: number, user: User, error?: string): void {
    const recovery = user.factors?.recovery;
    html(ctx, status, recoveryStatusPage({ action: deps.urls.recovery, csrf: deps.csrf.token(ctx, ctx.state.facts.https), remaining: recovery?.codes.length ?? 0, used: (recovery?.used ?? []).map((u) => new Date(u.at).toISOString()), error, totp: user.factors?.totp !== undefined }));
  }

  /** The session after a factor was used here: same session, fresh id, `otp` among its methods, the enrolment gone. */
  async function steppedUp(ctx: Context): Promise<void> {
    const session = currentSession(ctx);
    if (!session) return;
    const { [ENROLMENT_KEY]: _done, ...rest } = session;
    const now = deps.now();
    await startSession(ctx, { ...rest, seen: now, amr: withMethod(session.amr ?? ['pwd'], 'otp') }, session.rem === 1 ? Math.max(1, session.expires - now) : 'session', pendingLogins(ctx));
  }

  const csrfRefused = (ctx: Context): boolean => {
    if (deps.csrf.verify(ctx, formField(ctx.request.body, 'csrf'))) return false;
    html(ctx, 403, messagePage('Form expired', 'This form has expired. Open the page again.', { href: deps.urls.account, text: 'Back to your account' }));
    return true;
  };

  return {
    /**
     * PASSKEYS SEAM: the passkeys page (handlers/passkey-account.ts) keeps the same rules for a
     * factor change: who may change factors here, and "the password or a factor again".
     */
    signedIn,
    reauthenticate,

    async showTotp(ctx: Context): Promise<void> {
      const rd = validateRedirect(typeof ctx.query.rd === 'string' ? ctx.query.rd : undefined, deps.redirectPolicy);
      const who = signedIn(ctx, withRd(deps.urls.enrolTotp, rd));
      if (!who) return;
      await renderEnrol(ctx, 200, who.user, pendingSecret(ctx, who.user, true)!, rd);
    },

    async enableTotp(ctx: Context): Promise<void> {
      const rd = validateRedirect(formField(ctx.request.body, 'rd'), deps.redirectPolicy);
      const who = signedIn(ctx, withRd(deps.urls.enrolTotp, rd));
      if (!who || csrfRefused(ctx)) return;
      const { user } = who;
      const secret = pendingSecret(ctx, user, false);
      if (secret === undefined) {
        ctx.status = 303;
        return ctx.redirect(withRd(deps.urls.enrolTotp, rd));
      }
      const gate = await deps.throttle.take(ctx.state.facts.clientIp, user.username);
      if (!gate.allowed) {
        ctx.set('Retry-After', String(gate.retryAfterSec));
        return renderEnrol(ctx, 429, user, secret, rd, `Too many failed attempts. Try again in ${retryInWords(gate.retryAfterSec)}.`);
      }
      const result = await deps.totp.check(user.username, secret, formField(ctx.request.body, 'code') ?? '');
      if (result !== 'accepted') return renderEnrol(ctx, 400, user, secret, rd, 'That code is not right. Check the time on your phone and type the code the app shows now.');
      await deps.throttle.recordSuccess(ctx.state.facts.clientIp, user.username);
      const now = deps.now();
      const recovery = user.factors?.recovery ? undefined : generateRecoveryCodes(now);
      const saved = await saveFactors(ctx, user, (current) => ({ ...current, totp: { secret: deps.box.seal(secret, totpContext(user.username)), created: now }, ...(recovery ? { recovery: recovery.stored } : {}) }));
      if (!saved) return;
      deps.logger.info({ event: 'two_factor.totp_enrolled', user: user.username, client: ctx.state.facts.clientIp }, 'authenticator app added');
      await steppedUp(ctx);
      const next = { href: rd ?? deps.urls.account, text: rd ? `Continue to ${new URL(rd).host}` : 'Back to your account' };
      if (recovery) return html(ctx, 200, recoveryCodesPage({ codes: recovery.shown, next }));
      ctx.status = 303;
      ctx.redirect(next.href);
    },

    async removeTotp(ctx: Context): Promise<void> {
      const who = signedIn(ctx, deps.urls.account);
      if (!who || csrfRefused(ctx)) return;
      const { user } = who;
      const auth = await reauthenticate(ctx, user);
      if (!auth.ok) return html(ctx, auth.status, messagePage('Not removed', auth.error, { href: deps.urls.account, text: 'Back to your account' }));
      // Recovery codes stand in for a factor: with none left, they go too.
      const saved = await saveFactors(ctx, user, (current) => {
        const { totp: _removed, ...rest } = current ?? {};
        return hasSecondFactor(rest) ? rest : { ...(rest.passkeys ? { passkeys: rest.passkeys } : {}) };
      });
      if (!saved) return;
      deps.logger.warn({ event: 'two_factor.totp_removed', user: user.username, client: ctx.state.facts.clientIp }, 'authenticator app removed');
      ctx.status = 303;
      ctx.redirect(deps.urls.account);
    },

    async showRecovery(ctx: Context): Promise<void> {
      const who = signedIn(ctx, deps.urls.recovery);
      if (who) renderRecovery(ctx, 200, who.user);
    },

    async regenerateRecovery(ctx: Context): Promise<void> {
      const who = signedIn(ctx, deps.urls.recovery);
      if (!who || csrfRefused(ctx)) return;
      const { user } = who;
      const auth = await reauthenticate(ctx, user);
      if (!auth.ok) return renderRecovery(ctx, auth.status, user, auth.error);
      const fresh = generateRecoveryCodes(deps.now());
      if (!(await saveFactors(ctx, user, (current) => ({ ...current, recovery: fresh.stored })))) return;
      deps.logger.warn({ event: 'two_factor.recovery_regenerated', user: user.username, client: ctx.state.facts.clientIp }, 'new recovery codes made; the old ones no longer work');
      html(ctx, 200, recoveryCodesPage({ codes: fresh.shown, next: { href: deps.urls.account, text: 'Back to your account' } }));
    },
  };
}
