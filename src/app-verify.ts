/**
 * Verify's deps and the page its refusals show (/forbidden), built together: verify renders a
 * refusal with that page, and the page reads the session as verify does.
 */
import type { AppDeps, AppShared } from './app-deps.js';
import { createForbiddenHandlers, type RefusalView } from './handlers/forbidden.js';
import type { createLogoutHandlers } from './handlers/logout.js';
import { noMetrics } from './metrics/metrics.js';
import { createVerifyCredentials } from './tokens/verify-credentials.js';

export function verifyAndForbidden(deps: AppDeps, shared: AppShared, logout: ReturnType<typeof createLogoutHandlers>) {
  const { config, oidc } = deps;
  const { subject, urls, publicUrl, redirectPolicy, tokenUses } = shared;
  const verifyDeps = {
    ...subject,
    store: deps.store,
    cookieName: config.session.cookie_name,
    resolveClientIp: deps.resolveClientIp,
    onBackgroundError: (err: unknown) => deps.logger.warn({ reason: (err as Error).message }, 'could not update a session after verify'),
    access: deps.access,
    headerNames: config.headers,
    loginUrl: urls.login,
    secondFactorUrl: urls.secondFactor,
    logger: deps.logger,
    forbiddenPage: (view: RefusalView) => forbidden.render(view),
    metrics: deps.metrics ?? noMetrics,
    proxySecret: config.server.proxy_secret,
    credentials: createVerifyCredentials({
      ...deps,
      tokens: config.tokens,
      passwordFingerprint: subject.rules.passwordFingerprint,
      uses: tokenUses,
      onUseWriteError: (err: unknown) => deps.logger.warn({ reason: (err as Error).message }, 'could not record an app password use'),
    }),
  };
  const forbidden = createForbiddenHandlers({
    ...verifyDeps,
    secret: deps.secret,
    redirectPolicy,
    urls: { ...urls, forbidden: `${publicUrl}/forbidden` },
    moreFormTargets: () => oidc?.endSessionOrigins() ?? [],
    // "Sign in as someone else" (a POST with its own CSRF token) ends the session as the sign-out button does:
    // at the provider too, for SSO, or the provider would sign the same person straight back in.
    endSession: (ctx, rd) => logout.withIntent(ctx, rd),
  });
  return { verifyDeps, forbidden };
}
