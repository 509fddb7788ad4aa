import type { AccessSection } from '../access/schema.js';
import type { ThrottleConfig } from '../auth/login-throttle.js';

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
  /** The validated `access` section, compiled by access/schema.ts; undefined when absent. */
  readonly access: AccessSection | undefined;
}
