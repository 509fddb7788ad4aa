/**
 * Recovery codes (the account page links here):
 *
 *   GET|POST /account/2fa/recovery   how many are left and when they were used; ten new ones (password or a code again)
 *
 * New codes are shown once and end the old ones. Who may change what: factor-change.ts.
 */
import type { Context } from 'koa';
import type { User } from '../auth/user.js';
import { generateRecoveryCodes } from '../factors/recovery.js';
import type { Csrf } from '../http/csrf.js';
import type { Logger } from '../log/logger.js';
import { recoveryCodesPage, recoveryStatusPage } from '../views/two-factor-enrol-page.js';
import type { FactorChange } from './factor-change.js';

export interface RecoveryPagesDeps {
  readonly now: () => number;
  readonly csrf: Csrf;
  readonly logger: Logger;
  readonly change: FactorChange;
  readonly urls: { readonly account: string; readonly recovery: string };
}

export function createRecoveryPages(deps: RecoveryPagesDeps) {
  const { html, signedIn, saveFactors, reauthenticate, csrfRefused } = deps.change;

  function renderRecovery(ctx: Context, status: number, user: User, error?: string): void {
    const recovery = user.factors?.recovery;
    html(ctx, status, recoveryStatusPage({ action: deps.urls.recovery, csrf: deps.csrf.token(ctx, ctx.state.facts.https), remaining: recovery?.codes.length ?? 0, used: (recovery?.used ?? []).map((u) => new Date(u.at).toISOString()), error, totp: user.factors?.totp !== undefined }));
  }

  return {
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
