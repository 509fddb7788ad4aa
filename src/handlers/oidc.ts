import { providerMethods } from '../factors/session-methods.js';
import type { Context } from 'koa';
import { noMetrics, type Metrics } from '../metrics/metrics.js';
import { OIDC_VIA_PREFIX } from '../auth/identity.js';
import { validateRedirect, type RedirectPolicy } from '../auth/redirect.js';
import type { RequestLimit } from '../auth/request-limit.js';
import { currentIdentity, type SubjectDeps } from '../auth/session-subject.js';
import type { Csrf } from '../http/csrf.js';
import { HttpError } from '../http/errors.js';
import { currentSession, endSession, pendingLogins, setPendingLogins, startSession } from '../http/session-data.js';
import { sessionOrigin } from '../http/session-origin.js';
import type { Logger } from '../log/logger.js';
import { checkBinding, type BindingStore, type Subject } from '../oidc/bindings.js';
import { admissionFingerprint, admit, chooseAccount, mapClaims, sessionGroups, shownEmail, type Account, type ProviderIdentity } from '../oidc/claims.js';
import { SignInRefused } from '../oidc/errors.js';
import { authorizationRequest, redeemCallback, unreachableMessage } from '../oidc/flow.js';
import { describeError } from '../oidc/providers.js';
import { addPendingLogin, holderFields, isEmptyHolder, livePendingLogins, takePendingLogin } from '../oidc/pending.js';
import type { OidcProvider, OidcProviders } from '../oidc/providers.js';
import type { SessionData } from '../store/session-store.js';
import { loginPage, type LoginPageModel } from '../views/login-page.js';
import { messagePage } from '../views/message-page.js';
import { retryInWords } from './login.js';

export interface SsoDeps extends SubjectDeps {
  readonly oidc: OidcProviders;
  readonly csrf: Csrf;
  readonly redirectPolicy: RedirectPolicy;
  readonly logger: Logger;
  /** `server.public_url`, without a trailing slash. */
  readonly publicUrl: string;
  readonly urls: { readonly login: string; readonly home: string };
  /** Which provider subject owns each username (oidc/bindings.ts). */
  readonly bindings: BindingStore;
  /** 0 hides the "remember me" checkbox of the password form. */
  readonly rememberMe: number;
  /** Sign-ins started per client address (oidc.start_rate_limit). */
  readonly startLimit: RequestLimit;
  /** Sign-ins and start refusals are counted here (metrics.port); nothing when not given. */
  readonly metrics?: Pick<Metrics, 'signIn' | 'throttleRefusal'>;
}

function queryValue(ctx: Context, name: string): string | undefined {
  const value = ctx.query[name];
  return typeof value === 'string' ? value : undefined;
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
    });
  }

  function provider(ctx: Context): OidcProvider {
    const found = oidc.get(String(ctx.params.id));
    if (!found) throw new HttpError(404, 'There is no such sign-in provider.');
    return found;
  }

  /** Replaces the session with the signed-in one, under a fresh id (as handlers/login.ts does). */
  async function signIn(ctx: Context, p: OidcProvider, identity: ProviderIdentity, account: Account, idToken: string, amrClaim: unknown, now: number): Promise<void> {
    const keep = livePendingLogins(pendingLogins(ctx), now);
    const amr = providerMethods(p.settings.two_factor, amrClaim);
    const base = { created: now, expires: now + p.settings.session_ttl, seen: now, idp: p.id, adm: admissionFingerprint(p.settings), iss: identity.iss, sub: identity.sub, id_token: idToken, amr };
    const data: SessionData =
      account.kind === 'local'
        ? { ...base, user: account.user.username, via: 'local', pwv: deps.rules.passwordFingerprint(account.user) }
        : {
            ...base,
            user: identity.user,
            via: `${OIDC_VIA_PREFIX}${p.id}`,
            role: identity.role,
            groups: sessionGroups(p.settings, identity),
            email: shownEmail(p.settings, identity),
            name: identity.name,
          };
    // Other tabs' sign-ins in flight stay valid: they belong to this same browser.
    await startSession(ctx, { ...data, ...sessionOrigin(ctx) }, 'session', keep);
  }

  /** A provider identity signs in only as a username that is free or already its own; the first sign-in binds it. */
  async function bindUsername(p: OidcProvider, identity: ProviderIdentity, now: number): Promise<void> {
    const subject: Subject = { iss: identity.iss, sub: identity.sub, provider: p.id };
    let binding;
    try {
      binding = await deps.bindings.bind(identity.user, subject, now);
    } catch (err) {
      throw new SignInRefused(503, 'Signing in is unavailable right now. Try again in a minute.', `username bindings: ${describeError(err)}`, 'warn');
    }
    checkBinding(binding, identity.user, subject);
  }

  return {
    pageModel,

    /** GET /login: the buttons, then the password form unless it is turned off; `auto_launch` goes straight to the one provider. */
    async show(ctx: Context): Promise<void> {
      const rd = validateRedirect(queryValue(ctx, 'rd'), deps.redirectPolicy);
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
      const body = ctx.request.body as Record<string, unknown> | undefined;
      const rd = validateRedirect(typeof body?.rd === 'string' ? body.rd : undefined, deps.redirectPolicy);
      logger.info({ event: 'login.failure', client: ctx.state.facts.clientIp, reason: 'password login is turned off' }, 'password sign-in refused');
      metrics.signIn('password', 'rejected');
      render(ctx, 403, rd, 'Signing in with a password is turned off here. Use single sign-on.');
    },

    /** GET /oidc/<id>/start?rd=…: 302 to the provider, with state, nonce and PKCE kept in this browser's session. */
    async start(ctx: Context): Promise<void> {
      const p = provider(ctx);
      const rd = validateRedirect(queryValue(ctx, 'rd'), deps.redirectPolicy);
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

    /** GET /oidc/<id>/callback: redeem the code, map and check the identity, sign in, 303 to rd. */
    async callback(ctx: Context): Promise<void> {
      const p = provider(ctx);
      const now = deps.now();
      const client = ctx.state.facts.clientIp;
      // Taken out first: whatever happens next, this state cannot be used again.
      const { taken, rest } = takePendingLogin(pendingLogins(ctx), p.id, queryValue(ctx, 'state'), now);
      setPendingLogins(ctx, rest);
      const rd = taken.status === 'unknown' ? undefined : taken.pending.rd;
      try {
        if (taken.status === 'unknown') {
          const reason = queryValue(ctx, 'state') === undefined ? 'callback without state' : 'no sign-in in flight with this state in this browser (replayed, expired long ago, or started in another browser)';
          throw new SignInRefused(400, 'This sign-in link has expired or was already used. Please sign in again.', reason, 'warn');
        }
        if (taken.status === 'expired') {
          const age = Math.round((now - taken.pending.created) / 1000);
          throw new SignInRefused(400, 'This sign-in took too long and has expired. Please sign in again.', `sign-in in flight for ${age}s, longer than 10 minutes`);
        }
        const configuration = p.configuration;
        if (!configuration) throw new SignInRefused(502, unreachableMessage(p), 'provider not ready at callback', 'warn');
        const result = await redeemCallback(p, configuration, taken.pending, ctx.querystring);
        const identity = mapClaims(p.settings, result.claims);
        admit(p.settings, identity);
        const account = chooseAccount(p.settings, identity, deps.users);
        if (account.kind === 'provider') await bindUsername(p, identity, now);
        await signIn(ctx, p, identity, account, result.idToken, result.claims.amr, now);
        const user = account.kind === 'local' ? account.user.username : identity.user;
        metrics.signIn('oidc', 'success');
        logger.info({ event: 'oidc.login.success', provider: p.id, user, sub: identity.sub, linked: account.kind === 'local', client }, 'signed in through OIDC');
        ctx.status = 303;
        ctx.redirect(rd ?? deps.urls.home);
      } catch (err) {
        if (!(err instanceof SignInRefused)) throw err;
        metrics.signIn('oidc', err.status >= 500 ? 'error' : 'failure');
        // No session is created: an anonymous holder with nothing left in flight is deleted; a signed-in session stays as it was.
        if (isEmptyHolder(currentSession(ctx), pendingLogins(ctx))) endSession(ctx);
        logger[err.level]({ event: 'oidc.login.failure', provider: p.id, client, status: err.status, reason: err.reason }, 'OIDC sign-in failed');
        render(ctx, err.status, rd, err.userMessage);
      }
    },

  };
}
