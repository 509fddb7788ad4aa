import type { Context } from 'koa';
import { noMetrics, type Metrics } from '../metrics/metrics.js';
import { validateRedirect, type RedirectPolicy } from '../auth/redirect.js';
import type { RequestLimit } from '../auth/request-limit.js';
import { currentIdentity } from '../auth/session-subject.js';
import type { Csrf } from '../http/csrf.js';
import { HttpError } from '../http/errors.js';
import { formField } from '../http/form-field.js';
import { currentSession, pendingLogins, setPendingLogins } from '../http/session-data.js';
import { authorizationRequest, unreachableMessage } from '../oidc/flow.js';
import { addPendingLogin, holderFields } from '../oidc/pending.js';
import type { OidcProvider, OidcProviders } from '../oidc/providers.js';
import { loginPage, type LoginPageModel } from '../views/login-page.js';
import { messagePage } from '../views/message-page.js';
import { retryInWords } from './throttle-refusal.js';
import { createSsoCallback, type SsoCallbackDeps } from './oidc-callback.js';

export interface SsoDeps extends SsoCallbackDeps {
  readonly oidc: OidcProviders;
  readonly csrf: Csrf;
  readonly redirectPolicy: RedirectPolicy;
  /** `server.public_url`, without a trailing slash. */
  readonly publicUrl: string;
  readonly urls: { readonly login: string; readonly home: string };
  /** 0 hides the "remember me" checkbox of the password form. */
  readonly rememberMe: number;
  /** Sign-ins started per client address (oidc.start_rate_limit). */
  readonly startLimit: RequestLimit;
  /** Sign-ins and start refusals are counted here (metrics.port); nothing when not given. */
  readonly metrics?: Pick<Metrics, 'signIn' | 'throttleRefusal'>;
  /** "Sign in with a passkey", as the password form shows it (handlers/passkeys.ts signInButton). */
  readonly passkey?: () => LoginPageModel['passkey'];
}

/**
 * Single sign-on: the sign-in page with one button per provider, `/oidc/<id>/start` (to the
 * provider) and `/oidc/<id>/callback` (back from it). Every failure ends on the sign-in page with
 * a message for the person and a log line with the technical reason, and creates no session.
 */
export function createSsoHandlers(deps: SsoDeps) {
  const { oidc, logger } = deps;
  const metrics = deps.metrics ?? noMetrics;

  function startUrl(provider: OidcProvider, rd: string | undefined): string {
    const url = `${deps.publicUrl}/oidc/${provider.id}/start`;
    return rd === undefined ? url : `${url}?rd=${encodeURIComponent(rd)}`;
  }

  /** The provider buttons (and whether the password form shows) for the sign-in page. */
  function pageModel(rd: string | undefined): NonNullable<LoginPageModel['sso']> {
    return {
      buttons: oidc.list().map((p) => ({ href: startUrl(p, rd), text: p.settings.button_text, ...(p.ready ? {} : { unavailable: unreachableMessage(p) }) })),
      passwordForm: oidc.passwordLogin,
    };
  }

  function render(ctx: Context, status: number, rd: string | undefined, error?: string): void {
    ctx.status = status;
    ctx.type = 'html';
    ctx.body = loginPage({
      destinationHost: rd ? new URL(rd).host : undefined,
      rd,
      csrf: deps.csrf.token(ctx, ctx.state.facts.https),
      username: '',
      error,
      showRememberMe: deps.rememberMe > 0,
      action: deps.urls.login,
      sso: pageModel(rd),
      passkey: deps.passkey?.(),
    });
  }

  function provider(ctx: Context): OidcProvider {
    const found = oidc.get(String(ctx.params.id));
    if (!found) throw new HttpError(404, 'There is no such sign-in provider.');
    return found;
  }

  return {
    pageModel,

    /** GET /login: the buttons, then the password form unless it is turned off; `auto_launch` goes straight to the one provider. */
    async show(ctx: Context): Promise<void> {
      const rd = validateRedirect(formField(ctx.query, 'rd'), deps.redirectPolicy);
      if (currentIdentity(ctx, deps)) {
        ctx.redirect(rd ?? deps.urls.home);
        return;
      }
      const [only] = oidc.list();
      // Only while the provider is ready: otherwise the page explains, instead of a 503 on every visit.
      if (oidc.autoLaunch && only?.ready) {
        ctx.redirect(startUrl(only, rd));
        return;
      }
      render(ctx, 200, rd);
    },

    /** POST /login when `oidc.password_login` is false: the form is not shown, and not accepted either. */
    async passwordLoginOff(ctx: Context): Promise<void> {
      const rd = validateRedirect(formField(ctx.request.body, 'rd'), deps.redirectPolicy);
      logger.info({ event: 'login.failure', client: ctx.state.facts.clientIp, reason: 'password login is turned off' }, 'password sign-in refused');
      metrics.signIn('password', 'rejected');
      render(ctx, 403, rd, 'Signing in with a password is turned off here. Use single sign-on.');
    },

    /** GET /oidc/<id>/start?rd=…: 302 to the provider, with state, nonce and PKCE kept in this browser's session. */
    async start(ctx: Context): Promise<void> {
      const p = provider(ctx);
      const rd = validateRedirect(formField(ctx.query, 'rd'), deps.redirectPolicy);
      const back = rd === undefined ? deps.urls.login : `${deps.urls.login}?rd=${encodeURIComponent(rd)}`;
      // Before anything is kept: every accepted start stores a sign-in in flight for fifteen minutes.
      const gate = await deps.startLimit.take(ctx.state.facts.clientIp);
      if (!gate.allowed) {
        metrics.throttleRefusal('oidc_start');
        logger.warn({ event: 'oidc.start.throttled', provider: p.id, client: ctx.state.facts.clientIp, retryAfter: gate.retryAfterSec }, 'sign-in refused: too many sign-ins started from this address');
        ctx.status = 429;
        ctx.set('Retry-After', String(gate.retryAfterSec));
        ctx.type = 'html';
        ctx.body = messagePage('Too many sign-ins', `Too many sign-ins were started from your address. Try again in ${retryInWords(gate.retryAfterSec)}.`, { href: back, text: 'Back to sign-in' });
        return;
      }
      const configuration = p.configuration;
      if (!configuration) {
        metrics.signIn('oidc', 'error');
        logger.info({ event: 'oidc.start.unavailable', provider: p.id, client: ctx.state.facts.clientIp, reason: p.problem }, 'sign-in refused: provider not ready');
        ctx.status = 503;
        ctx.set('Retry-After', '30');
        ctx.type = 'html';
        ctx.body = messagePage('Temporarily unavailable', unreachableMessage(p), { href: back, text: 'Back to sign-in' });
        return;
      }
      const now = deps.now();
      const { url, pending } = await authorizationRequest(p, configuration, rd, now);
      setPendingLogins(ctx, addPendingLogin(pendingLogins(ctx), pending, now), holderFields(currentSession(ctx), now));
      ctx.redirect(url.href);
    },

    /** GET /oidc/<id>/callback: redeem the code, map and check the identity, sign in, 303 to rd (oidc-callback.ts). */
    callback: createSsoCallback(deps, { provider, render }),
  };
}
