import type { Context } from 'koa';
import { validateRedirect, type RedirectPolicy } from '../auth/redirect.js';
import type { Csrf } from '../http/csrf.js';
import { HttpError } from '../http/errors.js';
import type { Logger } from '../log/logger.js';
import type { OidcProviders } from '../oidc/providers.js';

export interface LogoutDeps {
  readonly csrf: Csrf;
  readonly redirectPolicy: RedirectPolicy;
  readonly logger: Logger;
  readonly loginUrl: string;
  /** Present when OIDC providers are configured: a session opened through one may also end there. */
  readonly oidc?: Pick<OidcProviders, 'endSessionUrl'>;
}

/**
 * Ends the session: the store entry is deleted and the cookie cleared.
 *
 * GET is allowed too (the one state change on GET): a sign-out link in an app cannot carry our CSRF
 * token, and ending the Postern session is the harmless direction. GET never goes on to the
 * provider: any page could embed it, and signing someone out of their identity provider (every app
 * that uses it) needs their intent. That takes POST with the CSRF token, the home page's button.
 */
export function createLogoutHandlers(deps: LogoutDeps) {
  async function end(ctx: Context, rd: string | undefined, atProvider: boolean): Promise<void> {
    const data = ctx.session && !ctx.session.isNew ? ctx.session : undefined;
    const { user, idp, id_token: idToken } = data ?? {};
    ctx.session = null;
    const target = validateRedirect(rd, deps.redirectPolicy) ?? deps.loginUrl;
    // A session opened through a provider, signed out with intent: on to its end_session_endpoint,
    // which comes back to `target`. Without one (or with the provider gone or down) the sign-out is local only.
    const providerLogout =
      atProvider && typeof idp === 'string' && deps.oidc
        ? deps.oidc.endSessionUrl(idp, typeof idToken === 'string' ? idToken : undefined, target)
        : undefined;
    if (typeof user === 'string' && user !== '') {
      deps.logger.info({ event: 'logout', user, client: ctx.state.facts.clientIp, ...(typeof idp === 'string' ? { provider: idp, at_provider: providerLogout !== undefined } : {}) }, 'signed out');
    }
    ctx.status = 303;
    ctx.redirect(providerLogout ?? target);
  }
  return {
    async viaGet(ctx: Context): Promise<void> {
      await end(ctx, typeof ctx.query.rd === 'string' ? ctx.query.rd : undefined, false);
    },
    async viaPost(ctx: Context): Promise<void> {
      const body = ctx.request.body as Record<string, unknown> | undefined;
      if (!deps.csrf.verify(ctx, body?.csrf)) throw new HttpError(403, 'This sign-out form has expired. Reload the page and try again.');
      await end(ctx, typeof body?.rd === 'string' ? body.rd : undefined, true);
    },
    /** For another form that has checked its own CSRF token (the forbidden page's "sign in as someone else"): as POST, at the provider too. */
    async withIntent(ctx: Context, rd: string | undefined): Promise<void> {
      await end(ctx, rd, true);
    },
  };
}
