import { formField } from '../http/form-field.js';
import { endSession } from '../http/session-data.js';
import { revokeSession, revokeSessionsOf } from '../sessions/manage.js';
import type { AccountDeps, AccountPage } from './account.js';

/** A session handle as the page posts it: all 64 hex digits (store/session-store.ts sessionHandle), never a prefix. */
const HANDLE = /^[0-9a-f]{64}$/;

/**
 * POST /account/sessions/end and /account/sessions/end-others. Only the visitor's own sessions are
 * ever looked at (the store's per-user index): a handle of anyone else's session is "not found",
 * and nothing ends.
 */
export function createSessionEnders(deps: AccountDeps, page: AccountPage) {
  return {
    endOne: page.form(async (ctx, who) => {
      const handle = formField(ctx.request.body, 'session') ?? '';
      const match = HANDLE.test(handle) ? await revokeSession(deps.store, handle, { user: who.identity.user }) : undefined;
      const log = { user: who.identity.user, client: ctx.state.facts.clientIp };
      if (!match?.ok) {
        deps.logger.info({ event: 'account.session.not_found', ...log }, 'end session refused: not a session of this user');
        return page.render(ctx, who, 404, { flash: { kind: 'error', text: 'That session is not one of yours, or has already ended. Nothing was ended.' } });
      }
      const target = match.session;
      deps.logger.info({ event: 'account.session.ended', ...log, this: target.id === who.sessionId }, 'session ended on the account page');
      if (target.id === who.sessionId) {
        // Ending this device's own session is signing out.
        endSession(ctx);
        ctx.status = 303;
        ctx.redirect(deps.urls.login);
        return;
      }
      page.done(ctx, 'session');
    }),

    endOthers: page.form(async (ctx, who) => {
      const others = await revokeSessionsOf(deps.store, who.identity.user, { keep: who.sessionId });
      deps.logger.info({ event: 'account.session.ended_others', user: who.identity.user, client: ctx.state.facts.clientIp, count: others.length }, 'other sessions ended on the account page');
      page.done(ctx, 'others');
    }),
  };
}
