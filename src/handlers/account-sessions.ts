import { endSession } from '../http/session-data.js';
import { sessionHandle } from '../store/session-store.js';
import { formField, type AccountDeps, type AccountPage } from './account.js';

/** A session handle as the page posts it: 64 hex digits (store/session-store.ts sessionHandle). */
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
      // MERGE: use src/sessions/manage.ts
      const mine = HANDLE.test(handle) ? await deps.store.listByUser(who.identity.user) : [];
      const target = mine.find((s) => sessionHandle(s.id) === handle);
      const log = { user: who.identity.user, client: ctx.state.facts.clientIp };
      if (!target) {
        deps.logger.info({ event: 'account.session.not_found', ...log }, 'end session refused: not a session of this user');
        return page.render(ctx, who, 404, { flash: { kind: 'error', text: 'That session is not one of yours, or has already ended. Nothing was ended.' } });
      }
      await deps.store.destroy(target.id);
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
      // MERGE: use src/sessions/manage.ts
      const others = (await deps.store.listByUser(who.identity.user)).filter((s) => s.id !== who.sessionId);
      for (const s of others) await deps.store.destroy(s.id);
      deps.logger.info({ event: 'account.session.ended_others', user: who.identity.user, client: ctx.state.facts.clientIp, count: others.length }, 'other sessions ended on the account page');
      page.done(ctx, 'others');
    }),
  };
}
