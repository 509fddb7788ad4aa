import Router from '@koa/router';
import { bodyParser } from '@koa/bodyparser';
import Koa from 'koa';
import { join } from 'node:path';
import { compileSubjects, type CompiledAccess } from './access/rules.js';
import { createDeviceTrust } from './auth/device-trust.js';
import { createPasswordFingerprint } from './auth/identity.js';
import type { LoginThrottle } from './auth/login-throttle.js';
import type { PasswordHasher } from './auth/passwords.js';
import { createRequestLimit, OIDC_START_LIMIT_PREFIX, PASSKEY_START_LIMIT_PREFIX, type RequestLimit } from './auth/request-limit.js';
import type { UserDirectory } from './auth/user.js';
import type { Config } from './config/types.js';
import { createAccountPage } from './handlers/account.js';
import { createPasswordChange } from './handlers/account-password.js';
import { createSessionEnders } from './handlers/account-sessions.js';
import { createAppPasswordHandlers } from './handlers/account-tokens.js';
import { createForbiddenHandlers, type RefusalView } from './handlers/forbidden.js';
import { createAdminHandlers } from './handlers/admin.js';
import { createHomeHandler } from './handlers/home.js';
import { createRehasher } from './auth/rehash.js';
import { createLoginHandlers } from './handlers/login.js';
import { createLogoutHandlers } from './handlers/logout.js';
import { createSsoHandlers } from './handlers/oidc.js';
import { createVerifyHandler } from './handlers/verify.js';
import { createReadyz, healthz, type ReadinessCheck } from './handlers/health.js';
import type { ClientIpResolver } from './http/client-ip.js';
import { createCsrf } from './http/csrf.js';
import { errorHandler } from './http/error-handler.js';
import { KoaWithExactRoutes } from './http/exact-routes.js';
import { requestFacts } from './http/request-context.js';
import { pageSecurityHeaders } from './http/security-headers.js';
import { cookieDomainFor, sessionMiddleware } from './http/session.js';
import type { Logger } from './log/logger.js';
import { noMetrics, type Metrics } from './metrics/metrics.js';
import type { BindingStore } from './oidc/bindings.js';
import { admissionFingerprint } from './oidc/claims.js';
import { BINDINGS_FILE, FileBindingStore } from './oidc/file-bindings.js';
import type { OidcProviders } from './oidc/providers.js';
import type { DeviceStore } from './store/device-store.js';
import { MemoryDeviceStore } from './store/device-store-memory.js';
import type { SessionStore } from './store/session-store.js';
import { MemoryTokenUseStore, type TokenUseStore } from './tokens/last-use.js';
import { createPasskeyHandlers } from './handlers/passkeys.js';
import { MemoryPasskeyCounterStore, type PasskeyCounterStore } from './store/passkey-counter-store.js';
import { createSecretBox } from './factors/secret-box.js';
import { createSecondFactors } from './handlers/two-factor-routes.js';
import { MemorySingleUseGuard } from './store/single-use-guard-memory.js';
import type { SingleUseGuard } from './store/single-use-guard.js';
import { createVerifyCredentials } from './tokens/verify-credentials.js';

/** Everything the app touches in the world, built in main.ts (or a test) and passed in. */
export interface AppDeps {
  readonly config: Config;
  /** The session secret, resolved by main.ts (config, file, or generated). */
  readonly secret: string;
  readonly logger: Logger;
  readonly users: UserDirectory;
  readonly hasher: PasswordHasher;
  readonly store: SessionStore;
  readonly throttle: LoginThrottle;
  readonly access: CompiledAccess;
  readonly resolveClientIp: ClientIpResolver;
  /** What verify needs (the session store): any one failing makes /readyz 503. */
  readonly readiness: readonly ReadinessCheck[];
  /** True once the process is shutting down: /readyz answers 503 from then on. Never, when not given. */
  readonly shuttingDown?: () => boolean;
  readonly now: () => number;
  /** The OIDC providers of `config.oidc`, discovering in the background; required when that section is present. */
  readonly oidc?: OidcProviders;
  /** Counts `/oidc/<id>/start` per client address (oidc.start_rate_limit); in this process's memory when not given. */
  readonly oidcStartLimit?: RequestLimit;
  /** Counts `/login/passkey/options` per client address (login.passkey_rate_limit); in this process's memory when not given. */
  readonly passkeyStartLimit?: RequestLimit;
  /** Where verify records its answers (metrics.port); nothing is recorded when not given. */
  readonly metrics?: Metrics;
  /** Trusted devices (login.device_ttl); in this process's memory when not given. */
  readonly deviceStore?: DeviceStore;
  /** Which provider subject owns each username; a file in `data_dir` when not given. */
  readonly oidcBindings?: BindingStore;
  /** When each app password was last used (`postern token list`); in this process's memory when not given. */
  readonly tokenUses?: TokenUseStore;
  /** Seals second-factor secrets (secrets.encryption_key, resolved by main.ts); the session secret when not given (tests). */
  readonly encryptionKey?: string;
  /** TOTP codes and WebAuthn challenges used once across replicas; in this process's memory when not given. */
  readonly singleUse?: SingleUseGuard;
  /** Passkey signature counters; in this process's memory when not given. */
  readonly passkeyCounters?: PasskeyCounterStore;
}

/** Builds the whole HTTP surface without listening: tests drive `app.callback()`. */
export function buildApp(deps: AppDeps): Koa {
  const { config, oidc } = deps;
  if (config.oidc && !oidc) throw new Error('config.oidc is set but deps.oidc is missing: build OidcProviders in the composition root');
  const app = new KoaWithExactRoutes();
  app.silent = true;

  const publicUrl = config.server.public_url;
  const allowHttp = publicUrl.startsWith('http:');
  const urls = { login: `${publicUrl}/login`, logout: `${publicUrl}/logout`, home: `${publicUrl}/`, account: `${publicUrl}/account`, admin: `${publicUrl}/admin`, secondFactor: `${publicUrl}/login/2fa` };
  const redirectPolicy = { domain: config.session.domain, allowHttp };
  const csrf = createCsrf(deps.secret, `${config.session.cookie_name}_csrf`);
  const subject = {
    users: deps.users,
    now: deps.now,
    rules: {
      inactivity: config.session.inactivity,
      passwordFingerprint: createPasswordFingerprint(deps.secret),
      oidcProviders: new Map(config.oidc?.providers.map((p) => [p.id, admissionFingerprint(p)])),
    },
  };

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

  const tokenUses = deps.tokenUses ?? new MemoryTokenUseStore();
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
  const logout = createLogoutHandlers({ csrf, redirectPolicy, logger: deps.logger, loginUrl: urls.login, ...(oidc ? { oidc } : {}) });
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
  const sso = oidc
    ? createSsoHandlers({
        ...subject,
        oidc,
        csrf,
        redirectPolicy,
        logger: deps.logger,
        publicUrl,
        urls,
        bindings: deps.oidcBindings ?? new FileBindingStore(join(config.data_dir, BINDINGS_FILE)),
        rememberMe: config.session.remember_me,
        metrics: deps.metrics ?? noMetrics,
        startLimit: deps.oidcStartLimit ?? createRequestLimit(config.oidc?.start_rate_limit ?? [], { keyPrefix: OIDC_START_LIMIT_PREFIX }),
      })
    : undefined;
  const devices =
    config.login.device_ttl > 0
      ? {
          trust: createDeviceTrust({
            store: deps.deviceStore ?? new MemoryDeviceStore(deps.now),
            secret: deps.secret,
            users: deps.users,
            passwordFingerprint: subject.rules.passwordFingerprint,
            ttlMs: config.login.device_ttl,
            now: deps.now,
            onStoreFailure: (err) => deps.logger.warn({ reason: err.message }, 'device trust store failed; the ordinary sign-in limits apply'),
          }),
          cookie: { name: `${config.session.cookie_name}_device`, path: new URL(urls.login).pathname, maxAgeMs: config.login.device_ttl },
        }
      : undefined;
  const guard = deps.singleUse ?? new MemorySingleUseGuard(deps.now);
  const passkey = createPasskeyHandlers({
    ...subject,
    config,
    secret: deps.secret,
    logger: deps.logger,
    hasher: deps.hasher,
    throttle: deps.throttle,
    csrf,
    redirectPolicy,
    counters: deps.passkeyCounters ?? new MemoryPasskeyCounterStore(),
    guard,
    metrics: deps.metrics ?? noMetrics,
    urls,
    startLimit: deps.passkeyStartLimit ?? createRequestLimit(config.login.passkey_rate_limit, { keyPrefix: PASSKEY_START_LIMIT_PREFIX }),
    renderLogin: (...args) => login.render(...args),
    secondStep: () => factors.step,
    change: () => factors.change,
  });
  const factors = createSecondFactors({
    ...subject,
    config,
    csrf,
    throttle: deps.throttle,
    hasher: deps.hasher,
    logger: deps.logger,
    redirectPolicy,
    box: createSecretBox(deps.encryptionKey ?? deps.secret),
    guard,
    publicUrl,
    alternatives: passkey.secondStepButton,
    metrics: deps.metrics ?? noMetrics,
  });
  const login = createLoginHandlers({
    ...subject,
    hasher: deps.hasher,
    throttle: deps.throttle,
    csrf,
    redirectPolicy,
    logger: deps.logger,
    urls,
    ttl: config.session.ttl,
    rememberMe: config.session.remember_me,
    ...(sso ? { sso: sso.pageModel } : {}),
    ...(devices ? { devices } : {}),
    passkey: passkey.signInButton,
    metrics: deps.metrics ?? noMetrics,
    secondStep: factors.secondStep,
    // Upgrade on sign-in: an imported or older hash is replaced by argon2id at the configured parameters.
    rehasher: createRehasher({
      usersFile: config.users.file,
      hasher: deps.hasher,
      needsRehash: (hash) => deps.hasher.needsRehash(hash),
      passwordFingerprint: subject.rules.passwordFingerprint,
      logger: deps.logger,
      now: deps.now,
    }),
  });
  const readyz = createReadyz({
    required: deps.readiness,
    degradable: (oidc?.list() ?? []).map((p) => ({ name: `oidc provider ${p.id}`, ready: async () => p.ready })),
    shuttingDown: deps.shuttingDown ?? (() => false),
  });
  const adminSubjects = compileSubjects(config.admin.subjects);
  const home = createHomeHandler({ ...subject, csrf, urls, adminSubjects });
  const accountDeps = {
    ...subject,
    csrf,
    logger: deps.logger,
    urls,
    store: deps.store,
    hasher: deps.hasher,
    throttle: deps.throttle,
    usersFile: config.users.file,
    minPasswordLength: config.users.min_password_length,
    domain: config.session.domain,
    tokenUses,
    ...(devices ? { devices: devices.trust } : {}),
    secondFactors: (user: string) => [...factors.accountLinks(user), passkey.accountLink(user)],
  };
  const account = createAccountPage(accountDeps);
  const accountSessions = createSessionEnders(accountDeps, account);
  const appPasswords = createAppPasswordHandlers(accountDeps, account);
  const admin = createAdminHandlers({ ...accountDeps, subjects: adminSubjects });

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
  router.get('/', homePage, session, home);
  // The account page (homePage headers: its sign-out form may end at a provider). Every change is a POST with the CSRF token.
  router.get('/account', homePage, session, account.show);
  router.post('/account/password', homePage, form, session, createPasswordChange(accountDeps, account));
  router.post('/account/sessions/end', homePage, form, session, accountSessions.endOne);
  router.post('/account/sessions/end-others', homePage, form, session, accountSessions.endOthers);
  router.post('/account/app-passwords', homePage, form, session, appPasswords.create);
  router.post('/account/app-passwords/revoke', homePage, form, session, appPasswords.revoke);
  factors.routes(router, { page: pages, form, session });
  passkey.routes(router, { page: pages, form, session });
  // The admin page, for admin.subjects; every change is a POST with the CSRF token.
  router.get('/admin', pages, session, admin.show);
  router.post('/admin/:action', pages, form, session, admin.act);
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
