/**
 * `/oidc/<id>/callback`: back from the provider. The sign-in in flight is taken out of the session
 * first (a state works once); then the code is redeemed, the identity mapped and admitted, a
 * provider username bound on its first sign-in, and the session started under a fresh id. Every
 * refusal (SignInRefused) ends on the sign-in page with a message for the person, a log line with
 * the technical reason, and no session.
 */
import type { Context } from 'koa';
import { OIDC_VIA_PREFIX } from '../auth/identity.js';
import type { SubjectDeps } from '../auth/session-subject.js';
import { providerMethods } from '../factors/session-methods.js';
import { formField } from '../http/form-field.js';
import { currentSession, endSession, pendingLogins, setPendingLogins, startSession } from '../http/session-data.js';
import { sessionOrigin } from '../http/session-origin.js';
import type { Logger } from '../log/logger.js';
import { noMetrics, type Metrics } from '../metrics/metrics.js';
import { checkBinding, type BindingStore, type Subject } from '../oidc/bindings.js';
import { admissionFingerprint, admit, chooseAccount, mapClaims, sessionGroups, shownEmail, type Account, type ProviderIdentity } from '../oidc/claims.js';
import { SignInRefused } from '../oidc/errors.js';
import { redeemCallback, unreachableMessage } from '../oidc/flow.js';
import { isEmptyHolder, takePendingLogin } from '../oidc/pending.js';
import { describeError, type OidcProvider } from '../oidc/providers.js';
import type { SessionData } from '../store/session-store.js';

export interface SsoCallbackDeps extends SubjectDeps {
  readonly logger: Logger;
  readonly urls: { readonly home: string };
  /** Which provider subject owns each username (oidc/bindings.ts). */
  readonly bindings: BindingStore;
  /** Sign-ins are counted here (metrics.port); nothing when not given. */
  readonly metrics?: Pick<Metrics, 'signIn' | 'throttleRefusal'>;
}

/** What the callback shares with the rest of single sign-on (handlers/oidc.ts). */
export interface SsoCallbackParts {
  /** The provider named in the path; a 404 when there is none. */
  provider(ctx: Context): OidcProvider;
  /** The sign-in page with a message. */
  render(ctx: Context, status: number, rd: string | undefined, error?: string): void;
}

export function createSsoCallback(deps: SsoCallbackDeps, parts: SsoCallbackParts): (ctx: Context) => Promise<void> {
  const { logger } = deps;
  const metrics = deps.metrics ?? noMetrics;

  /** Replaces the session with the signed-in one, under a fresh id (as handlers/login.ts does). */
  async function signIn(ctx: Context, p: OidcProvider, identity: ProviderIdentity, account: Account, idToken: string, amrClaim: unknown, now: number): Promise<void> {
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
    // Other tabs' sign-ins in flight stay valid (startSession keeps them): they belong to this same browser.
    await startSession(ctx, { ...data, ...sessionOrigin(ctx) }, 'session', now);
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

  return async function callback(ctx: Context): Promise<void> {
    const p = parts.provider(ctx);
    const now = deps.now();
    const client = ctx.state.facts.clientIp;
    // Taken out first: whatever happens next, this state cannot be used again.
    const { taken, rest } = takePendingLogin(pendingLogins(ctx), p.id, formField(ctx.query, 'state'), now);
    setPendingLogins(ctx, rest);
    const rd = taken.status === 'unknown' ? undefined : taken.pending.rd;
    try {
      if (taken.status === 'unknown') {
        const reason = formField(ctx.query, 'state') === undefined ? 'callback without state' : 'no sign-in in flight with this state in this browser (replayed, expired long ago, or started in another browser)';
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
      await signIn(ctx, p, identity, account, result.idToken, result.amr, now);
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
      parts.render(ctx, err.status, rd, err.userMessage);
    }
  };
}
