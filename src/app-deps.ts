/**
 * What buildApp (app.ts) is given, and what its handlers share: AppDeps, built in main.ts (or a
 * test), and appShared(), the pieces built once from it that several handlers take (our own URLs,
 * the redirect policy, the form token, how a session names its subject).
 */
import type { CompiledAccess } from './access/rules.js';
import { createPasswordFingerprint } from './auth/identity.js';
import type { LoginThrottle } from './auth/login-throttle.js';
import type { PasswordHasher } from './auth/passwords.js';
import type { RequestLimit } from './auth/request-limit.js';
import type { UserDirectory } from './auth/user.js';
import type { Config } from './config/types.js';
import type { ReadinessCheck } from './handlers/health.js';
import type { ClientIpResolver } from './http/client-ip.js';
import { createCsrf } from './http/csrf.js';
import type { Logger } from './log/logger.js';
import { noMetrics, type Metrics } from './metrics/metrics.js';
import type { BindingStore } from './oidc/bindings.js';
import { admissionFingerprint } from './oidc/claims.js';
import type { OidcProviders } from './oidc/providers.js';
import type { DeviceStore } from './store/device-store.js';
import type { PasskeyCounterStore } from './store/passkey-counter-store.js';
import type { SessionStore } from './store/session-store.js';
import type { SingleUseGuard } from './store/single-use-guard.js';
import { MemoryTokenUseStore, type TokenUseStore } from './tokens/last-use.js';

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

/** The pieces several handlers share, built once per app. */
export function appShared(deps: AppDeps) {
  const { config } = deps;
  const publicUrl = config.server.public_url;
  const allowHttp = publicUrl.startsWith('http:');
  const urls = { login: `${publicUrl}/login`, logout: `${publicUrl}/logout`, home: `${publicUrl}/`, account: `${publicUrl}/account`, admin: `${publicUrl}/admin`, secondFactor: `${publicUrl}/login/2fa` };
  const subject = {
    users: deps.users,
    now: deps.now,
    rules: {
      inactivity: config.session.inactivity,
      passwordFingerprint: createPasswordFingerprint(deps.secret),
      oidcProviders: new Map(config.oidc?.providers.map((p) => [p.id, admissionFingerprint(p)])),
    },
  };
  return {
    publicUrl,
    allowHttp,
    urls,
    redirectPolicy: { domain: config.session.domain, allowHttp },
    csrf: createCsrf(deps.secret, `${config.session.cookie_name}_csrf`),
    /** How a session names its subject (SubjectDeps): spread into every handler that reads the visitor. */
    subject,
    tokenUses: deps.tokenUses ?? new MemoryTokenUseStore(),
    metrics: deps.metrics ?? noMetrics,
  };
}

export type AppShared = ReturnType<typeof appShared>;
