/**
 * The configured OpenID Connect providers and their discovered metadata.
 *
 * Discovery runs in the background: a provider that is down when Postern starts does not stop it.
 * Each failed attempt is retried after a delay that doubles from `backoff.initialMs` up to
 * `backoff.maxMs` (1 s → 60 s by default); until one succeeds the provider is "not ready": its
 * readiness check fails, its button says so and its start URL answers 503. Once discovered, the
 * metadata is kept for the life of the process (openid-client refetches the signing keys itself
 * when a token names an unknown key).
 *
 * Everything that touches the world comes in through the options: `fetch` for every request to
 * the providers, `scheduler` for the retry timers.
 */
import * as client from 'openid-client';
import type { OidcProviderSettings, OidcSection } from '../config/types.js';
import type { Logger } from '../log/logger.js';

/** Runs `run` after `delayMs`; returns a function that cancels it. */
export interface Scheduler {
  schedule(run: () => void, delayMs: number): () => void;
}

/** Timers that never keep the process alive. */
export const timerScheduler: Scheduler = {
  schedule(run, delayMs) {
    const timer = setTimeout(run, delayMs);
    timer.unref();
    return () => clearTimeout(timer);
  },
};

export interface DiscoveryBackoff {
  readonly initialMs: number;
  readonly maxMs: number;
}

export const DEFAULT_BACKOFF: DiscoveryBackoff = { initialMs: 1000, maxMs: 60_000 };

export interface OidcProvidersOptions {
  /** `server.public_url`: redirect URIs are `<public_url>/oidc/<id>/callback`. */
  readonly publicUrl: string;
  readonly logger: Logger;
  readonly scheduler?: Scheduler;
  readonly backoff?: DiscoveryBackoff;
  /** Replaces `fetch` for every request to the providers (discovery, token, userinfo, keys). */
  readonly fetch?: client.CustomFetch;
  /** Per-request timeout in seconds. Default 10. */
  readonly timeoutSec?: number;
}

/** One configured provider: its settings and, once discovery succeeded, its openid-client Configuration. */
export interface OidcProvider {
  readonly id: string;
  readonly settings: OidcProviderSettings;
  /** `<public_url>/oidc/<id>/callback`: register this at the provider. */
  readonly redirectUri: string;
  /** How people are told which provider this is when it fails: the issuer's host. */
  readonly displayName: string;
  /** The discovered configuration; undefined while the provider has not answered discovery. */
  readonly configuration: client.Configuration | undefined;
  readonly ready: boolean;
  /** Why the provider is not ready (for logs), undefined when it is. */
  readonly problem: string | undefined;
}

/** Discovery's outcome so far; only OidcProviders writes it. */
interface DiscoveryState {
  configuration: client.Configuration | undefined;
  problem: string;
  /** Failed at least once: later failures log at debug only. */
  failing: boolean;
}

function createProvider(settings: OidcProviderSettings, publicUrl: string, state: DiscoveryState): OidcProvider {
  return {
    id: settings.id,
    settings,
    redirectUri: `${publicUrl}/oidc/${settings.id}/callback`,
    displayName: new URL(settings.issuer_url).host,
    get configuration() {
      return state.configuration;
    },
    get ready() {
      return state.configuration !== undefined;
    },
    get problem() {
      return state.configuration === undefined ? state.problem : undefined;
    },
  };
}

export class OidcProviders {
  readonly autoLaunch: boolean;
  readonly passwordLogin: boolean;
  /** Provider ids, for the cheap "is this session's provider still configured?" check on every verify. */
  readonly ids: ReadonlySet<string>;
  readonly #providers: ReadonlyMap<string, OidcProvider>;
  readonly #states = new Map<string, DiscoveryState>();
  readonly #opts: OidcProvidersOptions;
  readonly #backoff: DiscoveryBackoff;
  readonly #scheduler: Scheduler;
  readonly #cancels = new Set<() => void>();
  #closed = false;

  constructor(section: OidcSection, opts: OidcProvidersOptions) {
    this.autoLaunch = section.auto_launch;
    this.passwordLogin = section.password_login;
    this.#providers = new Map(
      section.providers.map((settings) => {
        const state: DiscoveryState = { configuration: undefined, problem: 'discovery has not finished yet', failing: false };
        this.#states.set(settings.id, state);
        return [settings.id, createProvider(settings, opts.publicUrl, state)];
      }),
    );
    this.ids = new Set(this.#providers.keys());
    this.#opts = opts;
    this.#backoff = opts.backoff ?? DEFAULT_BACKOFF;
    this.#scheduler = opts.scheduler ?? timerScheduler;
  }

  list(): readonly OidcProvider[] {
    return [...this.#providers.values()];
  }

  get(id: string): OidcProvider | undefined {
    return this.#providers.get(id);
  }

  /**
   * Starts discovery for every provider. Resolves once each has answered or failed once, so a
   * caller may wait for it; a provider that failed keeps retrying in the background.
   */
  async start(): Promise<void> {
    await Promise.all(this.list().map((provider) => this.#attempt(provider, this.#backoff.initialMs)));
  }

  /** Stops the background retries. */
  close(): void {
    this.#closed = true;
    for (const cancel of this.#cancels) cancel();
    this.#cancels.clear();
  }

  /**
   * Where to send the browser to end its session at the provider too, or undefined when the
   * provider is gone, not ready, or advertises no `end_session_endpoint` (local-only logout).
   */
  endSessionUrl(providerId: string, idToken: string | undefined, postLogoutRedirectUri: string): string | undefined {
    const configuration = this.#providers.get(providerId)?.configuration;
    if (!configuration || !configuration.serverMetadata().end_session_endpoint) return undefined;
    const params: Record<string, string> = { post_logout_redirect_uri: postLogoutRedirectUri };
    if (idToken) params.id_token_hint = idToken;
    return client.buildEndSessionUrl(configuration, params).href;
  }

  /** The origins of the ready providers' `end_session_endpoint`s: where a sign-out form may end up. */
  endSessionOrigins(): string[] {
    const origins = new Set<string>();
    for (const state of this.#states.values()) {
      const endpoint = state.configuration?.serverMetadata().end_session_endpoint;
      if (endpoint) origins.add(new URL(endpoint).origin);
    }
    return [...origins];
  }

  async #attempt(provider: OidcProvider, nextDelayMs: number): Promise<void> {
    if (this.#closed) return;
    const { logger } = this.#opts;
    const state = this.#states.get(provider.id)!;
    try {
      const configuration = await discover(provider.settings, this.#opts);
      if (this.#closed) return;
      state.configuration = configuration;
      logger.info({ event: 'oidc.discovery', provider: provider.id, issuer: provider.settings.issuer_url }, `OIDC provider ${provider.id} is ready`);
    } catch (err) {
      if (this.#closed) return;
      state.problem = describeError(err);
      const fields = { event: 'oidc.discovery.failure', provider: provider.id, issuer: provider.settings.issuer_url, reason: state.problem, retryInMs: nextDelayMs };
      // One warning when it starts failing; the retries that follow stay at debug so the log stays readable.
      const wasFailing = state.failing;
      state.failing = true;
      if (wasFailing) logger.debug(fields, `OIDC provider ${provider.id} is still not reachable`);
      else logger.warn(fields, `OIDC provider ${provider.id} is not reachable; its sign-in button is disabled and discovery is retried in the background`);
      const cancel = this.#scheduler.schedule(() => {
        this.#cancels.delete(cancel);
        void this.#attempt(provider, Math.min(nextDelayMs * 2, this.#backoff.maxMs));
      }, nextDelayMs);
      this.#cancels.add(cancel);
    }
  }
}

async function discover(settings: OidcProviderSettings, opts: OidcProvidersOptions): Promise<client.Configuration> {
  const issuer = new URL(settings.issuer_url);
  const secret = settings.client_secret;
  const auth =
    settings.token_endpoint_auth_method === 'client_secret_post'
      ? client.ClientSecretPost(secret)
      : settings.token_endpoint_auth_method === 'client_secret_basic'
        ? client.ClientSecretBasic(secret)
        : client.None();
  // The schema allows http only for a loopback issuer or an http-only (development) Postern.
  const execute = issuer.protocol === 'http:' ? [client.allowInsecureRequests] : [];
  const options: client.DiscoveryRequestOptions = { execute, timeout: opts.timeoutSec ?? 10 };
  if (opts.fetch) options[client.customFetch] = opts.fetch;
  const configuration = await client.discovery(issuer, settings.client_id, undefined, auth, options);
  const metadata = configuration.serverMetadata();
  if (!metadata.authorization_endpoint || !metadata.token_endpoint) {
    throw new Error('the discovery document names no authorization_endpoint or token_endpoint');
  }
  return configuration;
}

/**
 * A one-line technical reason for the log. Never the error's `cause` as a whole: openid-client
 * attaches the response parameters or body there, which can hold codes and tokens.
 */
export function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err).slice(0, 200);
  const { code, error, error_description: description } = err as { code?: unknown; error?: unknown; error_description?: unknown };
  const cause = err.cause instanceof Error ? `: ${err.cause.message}` : '';
  const oauthError = typeof error === 'string' ? ` (error=${error}${typeof description === 'string' ? `, error_description=${description}` : ''})` : '';
  return `${typeof code === 'string' ? `${code}: ` : ''}${err.message}${cause}${oauthError}`.slice(0, 300);
}
