import Router from '@koa/router';
import { bodyParser } from '@koa/bodyparser';
import type Koa from 'koa';
import { appShared, type AppDeps } from './app-deps.js';
import { accountHandlers } from './app-account.js';
import { signInHandlers, ssoHandlers, trustedDevices } from './app-sign-in.js';
import { verifyAndForbidden } from './app-verify.js';
import { createLogoutHandlers } from './handlers/logout.js';
import { createVerifyHandler } from './handlers/verify.js';
import { createReadyz, healthz } from './handlers/health.js';
import { errorHandler } from './http/error-handler.js';
import { KoaWithExactRoutes } from './http/exact-routes.js';
import { requestFacts } from './http/request-context.js';
import { pageSecurityHeaders } from './http/security-headers.js';
import { cookieDomainFor, sessionMiddleware } from './http/session.js';

export type { AppDeps } from './app-deps.js';

/** Builds the whole HTTP surface without listening: tests drive `app.callback()`. */
export function buildApp(deps: AppDeps): Koa {
  const { config, oidc } = deps;
  if (config.oidc && !oidc) throw new Error('config.oidc is set but deps.oidc is missing: build OidcProviders in the composition root');
  const app = new KoaWithExactRoutes();
  app.silent = true;

  const shared = appShared(deps);
  const { publicUrl, allowHttp } = shared;

  // The middleware the routes pick from.
  const session = sessionMiddleware(app, deps.store, {
    cookieName: config.session.cookie_name,
    cookieDomain: cookieDomainFor(config.session.domain),
    inactivity: config.session.inactivity,
    now: deps.now,
  });
  const pages = pageSecurityHeaders(config.session.domain, allowHttp);
  // The home page's sign-out form may end at a provider's end-session endpoint (Chromium applies form-action to that redirect).
  const homePage = oidc ? pageSecurityHeaders(config.session.domain, allowHttp, () => oidc.endSessionOrigins()) : pages;
  const form = bodyParser({ enableTypes: ['form'], formLimit: '16kb', encoding: 'utf-8' });

  // The handlers, built from deps (app-*.ts).
  const logout = createLogoutHandlers({ csrf: shared.csrf, redirectPolicy: shared.redirectPolicy, logger: deps.logger, loginUrl: shared.urls.login, ...(oidc ? { oidc } : {}) });
  const { verifyDeps, forbidden } = verifyAndForbidden(deps, shared, logout);
  // Single sign-on's page shows the passkey button too; the passkey handlers come with the sign-in handlers below.
  const sso = ssoHandlers(deps, shared, () => passkey.signInButton());
  const devices = trustedDevices(deps, shared);
  const { login, passkey, factors } = signInHandlers(deps, shared, sso, devices);
  const mine = accountHandlers(deps, shared, devices, (user) => [...factors.accountLinks(user), passkey.accountLink(user)]);
  const readyz = createReadyz({
    required: deps.readiness,
    degradable: (oidc?.list() ?? []).map((p) => ({ name: `oidc provider ${p.id}`, ready: async () => p.ready })),
    shuttingDown: deps.shuttingDown ?? (() => false),
  });

  // The whole HTTP surface, on one screen.
  // Verify is the hot path: answered from the request listener ahead of Koa's context (and so of
  // the router), it reads the session cookie itself (no koa-session, no page middleware) and never sets a cookie.
  app.exactGet('/verify/nginx', createVerifyHandler('nginx', verifyDeps));
  app.exactGet('/verify/traefik', createVerifyHandler('traefik', verifyDeps));
  app.exactGet('/verify/caddy', createVerifyHandler('caddy', verifyDeps));
  const router = new Router();
  router.get('/healthz', healthz);
  router.get('/readyz', readyz);
  router.get('/login', pages, session, sso ? sso.show : login.show);
  router.post('/login', pages, login.addressGate, form, session, sso && !oidc?.passwordLogin ? sso.passwordLoginOff : login.submit);
  router.get('/logout', pages, session, logout.viaGet);
  router.post('/logout', pages, form, session, logout.viaPost);
  router.get('/', homePage, session, mine.home);
  // The account page (homePage headers: its sign-out form may end at a provider). Every change is a POST with the CSRF token.
  router.get('/account', homePage, session, mine.account.show);
  router.post('/account/password', homePage, form, session, mine.passwordChange);
  router.post('/account/sessions/end', homePage, form, session, mine.sessions.endOne);
  router.post('/account/sessions/end-others', homePage, form, session, mine.sessions.endOthers);
  router.post('/account/app-passwords', homePage, form, session, mine.appPasswords.create);
  router.post('/account/app-passwords/revoke', homePage, form, session, mine.appPasswords.revoke);
  factors.routes(router, { page: pages, form, session });
  passkey.routes(router, { page: pages, form, session });
  // The admin page, for admin.subjects; every change is a POST with the CSRF token.
  router.get('/admin', pages, session, mine.admin.show);
  router.post('/admin/:action', pages, form, session, mine.admin.act);
  router.get('/forbidden', forbidden.show);
  router.post('/forbidden', homePage, form, session, forbidden.switchUser);
  if (sso) {
    router.get('/oidc/:id/start', pages, session, sso.start);
    router.get('/oidc/:id/callback', pages, session, sso.callback);
  }

  app.use(errorHandler(deps.logger));
  app.use(app.exactRoutes());
  app.use(requestFacts({ resolveClientIp: deps.resolveClientIp, publicUrlIsHttps: publicUrl.startsWith('https:') }));
  // 405, not the router's 501, for a method no route knows (PROPFIND, M-SEARCH): the request is wrong, Postern is not failing.
  app.use(async (ctx, next) => {
    await next();
    if (ctx.status === 501) ctx.status = 405;
  });
  app.use(router.routes());
  app.use(router.allowedMethods());
  return app;
}
