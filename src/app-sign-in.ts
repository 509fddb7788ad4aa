/**
 * The ways in, built from AppDeps: single sign-on (when providers are configured), trusted devices
 * (login.device_ttl), and the password form, passkeys and second factors, which point at each other.
 */
import { join } from 'node:path';
import type { AppDeps, AppShared } from './app-deps.js';
import { createDeviceTrust } from './auth/device-trust.js';
import { createRehasher } from './auth/rehash.js';
import { createRequestLimit, OIDC_START_LIMIT_PREFIX, PASSKEY_START_LIMIT_PREFIX } from './auth/request-limit.js';
import { createSecretBox } from './factors/secret-box.js';
import type { DeviceCookie } from './handlers/login-admission.js';
import { createLoginHandlers } from './handlers/login.js';
import { createSsoHandlers } from './handlers/oidc.js';
import { createPasskeyHandlers } from './handlers/passkeys.js';
import { createSecondFactors } from './handlers/two-factor-routes.js';
import { BINDINGS_FILE, FileBindingStore } from './oidc/file-bindings.js';
import { MemoryDeviceStore } from './store/device-store-memory.js';
import { MemoryPasskeyCounterStore } from './store/passkey-counter-store.js';
import { MemorySingleUseGuard } from './store/single-use-guard-memory.js';
import type { LoginPageModel } from './views/login-page.js';

/**
 * Single sign-on's pages; undefined when no provider is configured. `passkey`: the passkey sign-in
 * button, which its sign-in page shows as the password form's does.
 */
export function ssoHandlers(deps: AppDeps, shared: AppShared, passkey: () => LoginPageModel['passkey']) {
  const { config, oidc } = deps;
  if (!oidc) return undefined;
  return createSsoHandlers({
    ...shared.subject,
    oidc,
    csrf: shared.csrf,
    redirectPolicy: shared.redirectPolicy,
    logger: deps.logger,
    publicUrl: shared.publicUrl,
    urls: shared.urls,
    bindings: deps.oidcBindings ?? new FileBindingStore(join(config.data_dir, BINDINGS_FILE)),
    rememberMe: config.session.remember_me,
    metrics: shared.metrics,
    startLimit: deps.oidcStartLimit ?? createRequestLimit(config.oidc?.start_rate_limit ?? [], { keyPrefix: OIDC_START_LIMIT_PREFIX }),
    passkey,
  });
}

/** Trusted devices and their cookie; undefined when login.device_ttl is 0. */
export function trustedDevices(deps: AppDeps, shared: AppShared): DeviceCookie | undefined {
  const { config } = deps;
  if (!(config.login.device_ttl > 0)) return undefined;
  return {
    trust: createDeviceTrust({
      store: deps.deviceStore ?? new MemoryDeviceStore(deps.now),
      secret: deps.secret,
      users: deps.users,
      passwordFingerprint: shared.subject.rules.passwordFingerprint,
      ttlMs: config.login.device_ttl,
      now: deps.now,
      onStoreFailure: (err) => deps.logger.warn({ reason: err.message }, 'device trust store failed; the ordinary sign-in limits apply'),
    }),
    cookie: { name: `${config.session.cookie_name}_device`, path: new URL(shared.urls.login).pathname, maxAgeMs: config.login.device_ttl },
  };
}

/**
 * The password form, passkeys and second factors. They point at each other: a passkey refusal shows
 * the sign-in page, a passkey is one answer to the second step, and the form asks for that step.
 */
export function signInHandlers(deps: AppDeps, shared: AppShared, sso: ReturnType<typeof ssoHandlers>, devices: DeviceCookie | undefined) {
  const { config } = deps;
  const { subject, csrf, redirectPolicy, urls, metrics } = shared;
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
    metrics,
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
    publicUrl: shared.publicUrl,
    alternatives: passkey.secondStepButton,
    metrics,
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
    metrics,
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
  return { login, passkey, factors };
}
