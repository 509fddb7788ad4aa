import type { AccessSection } from '../access/schema.js';
import type { ThrottleConfig } from '../auth/login-throttle.js';
import type { RateWindow } from '../auth/rate-limit-spec.js';

/**
 * The validated, frozen configuration every module receives. Durations are milliseconds.
 * The YAML keys keep their snake_case names so that an error message, the docs and the code
 * all speak of the same `session.remember_me`.
 */
export interface Config {
  readonly server: {
    readonly address: string;
    readonly port: number;
    /** Origin (and optional path prefix) where people reach the login page, without a trailing slash. */
    readonly public_url: string;
    /** Addresses, CIDRs or the names `loopback`, `private`, `docker`. */
    readonly trusted_proxies: readonly string[];
    /** Extra single-address header honoured from trusted peers (`x-real-ip`, `cf-connecting-ip`), or `forwarded`. */
    readonly client_ip_header: string | undefined;
  };
  readonly session: {
    /** Undefined until main.ts generates or reads `<data_dir>/session.secret`. */
    readonly secret: string | undefined;
    readonly cookie_name: string;
    /** Cookie Domain and protected domain; defaults to the host of public_url. */
    readonly domain: string;
    readonly ttl: number;
    readonly inactivity: number;
    readonly remember_me: number;
    readonly redis: { readonly url: string | undefined };
  };
  readonly data_dir: string;
  readonly users: {
    readonly file: string;
    readonly argon2: {
      readonly memory_cost: number;
      readonly time_cost: number;
      readonly parallelism: number;
    };
  };
  readonly headers: {
    readonly user: string;
    readonly role: string;
    readonly groups: string;
    readonly email: string;
    readonly name: string;
  };
  readonly log: { readonly level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent' };
  readonly login: {
    /** Failed sign-in windows per client address, per username, and per username-and-address. */
    readonly throttle: ThrottleConfig;
  };
  /** The Prometheus listener; `port` undefined means metrics are off. */
  readonly metrics: { readonly address: string; readonly port: number | undefined };
  /** The validated `access` section, compiled by access/schema.ts; undefined when absent. */
  readonly access: AccessSection | undefined;
  /** Single sign-on; undefined when the `oidc` section is absent. */
  readonly oidc: OidcSection | undefined;
}

export interface OidcSection {
  /** Go straight to the only provider from /login (validated: one provider, password login off). */
  readonly auto_launch: boolean;
  readonly password_login: boolean;
  readonly providers: readonly OidcProviderSettings[];
  /** Sign-ins started per client address: each keeps a record in the session store for 15 minutes. */
  readonly start_rate_limit: readonly RateWindow[];
}

export interface OidcProviderSettings {
  /** `[a-z0-9-]+`, unique: the path segment in `/oidc/<id>/...` and `via: 'oidc:<id>'` in sessions. */
  readonly id: string;
  readonly button_text: string;
  readonly issuer_url: string;
  readonly client_id: string;
  readonly client_secret: string | undefined;
  readonly scope: string;
  /** Filled from the secret when not configured: `client_secret_basic` with one, `none` without. */
  readonly token_endpoint_auth_method: 'client_secret_basic' | 'client_secret_post' | 'none';
  /** Claim names; `role` undefined means everyone gets `default_role`. */
  readonly claims: {
    readonly username: string;
    readonly email: string;
    readonly name: string;
    readonly groups: string;
    readonly role: string | undefined;
  };
  readonly default_role: string;
  readonly allowed_groups: readonly string[];
  /** Lower-cased: exact addresses, or `@domain` suffixes. */
  readonly allowed_emails: readonly string[];
  readonly require_verified_email: boolean;
  readonly link_local_users: 'none' | 'email';
}
