/**
 * The label values of Postern's metrics, each a closed list (OIDC provider ids come from the config),
 * so the number of series is bounded; and what the scrape-time metrics read.
 */
import type { ProxyFlavour } from '../http/original-request.js';

export const VERIFY_FLAVOURS = ['nginx', 'traefik', 'caddy'] as const satisfies readonly ProxyFlavour[];
/** allow: 200; redirect: sent to sign in (302/303, or nginx's 401 with Location); unauthorized: 401 for an API client; forbid: 403 by the access rules; error: no decision (store down, untrusted or unusable proxy request). */
export const VERIFY_OUTCOMES = ['allow', 'redirect', 'unauthorized', 'forbid', 'error'] as const;
/** How the request proved who it is: a session cookie, nothing (anonymous), and later a token or Basic credentials. */
export const VERIFY_METHODS = ['session', 'none', 'token', 'basic'] as const;
/** `second_factor`: the code (or recovery code) asked for after a right password, or at a step-up. */
export const SIGN_IN_METHODS = ['password', 'oidc', 'passkey', 'second_factor'] as const;
/** success; failure: wrong credentials, or refused by the provider or the admission rules; throttled; rejected: a stale form or a malformed request; error: Postern or a provider could not answer (busy hasher, store down, provider not ready). */
export const SIGN_IN_OUTCOMES = ['success', 'failure', 'throttled', 'rejected', 'error'] as const;
/** The login throttle's scopes (per address, per username, per username and address, per trusted device), and OIDC sign-ins started per address. */
export const THROTTLE_SCOPES = ['ip', 'user', 'user+ip', 'device', 'oidc_start'] as const;
export const STORE_OPERATIONS = ['get', 'set', 'destroy', 'list'] as const;
export const HASH_REFUSAL_REASONS = ['queue_full', 'timeout'] as const;

export type VerifyOutcome = (typeof VERIFY_OUTCOMES)[number];
export type VerifyMethod = (typeof VERIFY_METHODS)[number];
export type SignInMethod = (typeof SIGN_IN_METHODS)[number];
export type SignInOutcome = (typeof SIGN_IN_OUTCOMES)[number];
export type ThrottleRefusalScope = (typeof THROTTLE_SCOPES)[number];
export type StoreOperation = (typeof STORE_OPERATIONS)[number];

/** What the hash limiter tells about itself (src/auth/hash-limiter.ts `HashLimiter.totals`). */
export interface HashLimiterReading {
  readonly running: number;
  readonly queued: number;
  readonly totals: {
    /** Slots granted since start (at once or after a wait). */
    readonly granted: number;
    /** Milliseconds spent waiting for those slots, summed. */
    readonly waitedMs: number;
    readonly refused: { readonly queue_full: number; readonly timeout: number };
  };
}

/** Read at scrape time. */
export interface ScrapeSources {
  /** The configured OIDC providers (OidcProviders.list()). */
  readonly oidcProviders?: () => readonly { readonly id: string; readonly ready: boolean }[];
  readonly hashLimiter?: HashLimiterReading;
}
