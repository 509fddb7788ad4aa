/**
 * Adding, replacing and removing the authenticator app (the account page links here):
 *
 *   GET|POST /account/2fa/totp          the QR code and the key; one valid code turns it on
 *   POST     /account/2fa/totp/remove   remove it (password or a code again)
 *
 * The new secret waits in the session, sealed, until a valid code confirms it; then it is sealed
 * for the users file, and recovery codes are made if the user had none (shown once). Confirming a
 * new app's code counts as using it: the session gains `otp`. Who may change what: factor-change.ts.
 */
import QRCode from 'qrcode';
import type { Context } from 'koa';
import type { LoginThrottle } from '../auth/login-throttle.js';
import { validateRedirect, type RedirectPolicy } from '../auth/redirect.js';
import type { User } from '../auth/user.js';
import { hasSecondFactor, totpContext } from '../factors/factors.js';
import { generateRecoveryCodes } from '../factors/recovery.js';
import { enrolmentContext, ENROLMENT_KEY, parsePendingEnrolment } from '../factors/second-step.js';
import type { SecretBox } from '../factors/secret-box.js';
import type { Totp } from '../factors/totp.js';
import type { Csrf } from '../http/csrf.js';
import { formField } from '../http/form-field.js';
import { sessionField, setSessionField } from '../http/session-data.js';
import type { Logger } from '../log/logger.js';
import { messagePage } from '../views/message-page.js';
import { qrSvg, recoveryCodesPage, totpEnrolPage } from '../views/two-factor-enrol-page.js';
import { withRd, type FactorChange } from './factor-change.js';
import { retryInWords } from './throttle-refusal.js';

export interface TotpPagesDeps {
  readonly now: () => number;
  readonly csrf: Csrf;
  readonly throttle: LoginThrottle;
  readonly totp: Totp;
  readonly box: SecretBox;
  readonly logger: Logger;
  readonly redirectPolicy: RedirectPolicy;
  readonly change: FactorChange;
  readonly urls: { readonly account: string; readonly enrolTotp: string; readonly removeTotp: string };
}

export function createTotpPages(deps: TotpPagesDeps) {
  const { html, signedIn, saveFactors, reauthenticate, steppedUp, csrfRefused } = deps.change;

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

  return {
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

  };
}
