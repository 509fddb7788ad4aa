/**
 * Postern's Prometheus metrics: one private registry, every metric defined here, and small typed
 * recording functions. Callers never branch on whether metrics are on: with `metrics.port` unset
 * they get `noMetrics`, whose functions do nothing.
 *
 * Every label takes its values from a closed list written in this file (or from config: OIDC
 * provider ids), so the number of series is bounded: never a user name, host, path or address.
 *
 * Hot-path cost: verify records one counter increment and one histogram observation on label
 * children bound at start-up. Things that have a current state (OIDC providers, the hash limiter)
 * are read at scrape time by `collect()` callbacks instead of being pushed on every change.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ProxyFlavour } from '../http/original-request.js';

export const VERIFY_FLAVOURS = ['nginx', 'traefik', 'caddy'] as const satisfies readonly ProxyFlavour[];
/** allow: 200; redirect: sent to sign in (302/303, or nginx's 401 with Location); unauthorized: 401 for an API client; forbid: 403 by the access rules; error: no decision (store down, untrusted or unusable proxy request). */
export const VERIFY_OUTCOMES = ['allow', 'redirect', 'unauthorized', 'forbid', 'error'] as const;
/** How the request proved who it is: a session cookie, nothing (anonymous), and later a token or Basic credentials. */
export const VERIFY_METHODS = ['session', 'none', 'token', 'basic'] as const;
export const SIGN_IN_METHODS = ['password', 'oidc'] as const;
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

export interface Metrics {
  /** False for `noMetrics`: verify then skips reading the clock. */
  readonly enabled: boolean;
  /** The registry to serve; undefined when metrics are off. */
  readonly registry: Registry | undefined;
  /** One verify answer: how it ended, how the request identified itself, and how long it took. */
  verify(flavour: ProxyFlavour, outcome: VerifyOutcome, method: VerifyMethod, seconds: number): void;
  signIn(method: SignInMethod, outcome: SignInOutcome): void;
  throttleRefusal(scope: ThrottleRefusalScope): void;
  /** The session store's backend failed an operation (counted below the read cache, so cache hits are not). */
  sessionStoreError(operation: StoreOperation): void;
  redisStatus(status: 'up' | 'down'): void;
  /** Things read at each scrape, given once they exist (main.ts builds them after the metrics). */
  readAtScrape(sources: ScrapeSources): void;
}

const noop = (): void => undefined;

/** Metrics off: every recording function does nothing. */
export const noMetrics: Metrics = Object.freeze({
  enabled: false,
  registry: undefined,
  verify: noop,
  signIn: noop,
  throttleRefusal: noop,
  sessionStoreError: noop,
  redisStatus: noop,
  readAtScrape: noop,
});

/** Verify answers in well under a millisecond from the cache; the top buckets catch a slow Redis (150 ms command timeout). */
export const VERIFY_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

export interface MetricsOptions {
  /** A Redis is configured: `postern_redis_up` is exported (absent with the in-memory store). */
  readonly redis: boolean;
}

type Children<K extends string, T> = Record<K, T>;

function byLabel<K extends string, T>(values: readonly K[], make: (value: K) => T): Children<K, T> {
  return Object.fromEntries(values.map((value) => [value, make(value)])) as Children<K, T>;
}

/** A counter that mirrors a running total kept elsewhere: at each scrape it is advanced by what was added since. */
function mirror<L extends string>(counter: Counter<L>, read: () => number, labels: Partial<Record<L, string>> = {}): () => void {
  let reported = 0;
  return () => {
    const total = read();
    if (total > reported) counter.inc(labels, total - reported);
    reported = total;
  };
}

export function createMetrics(opts: MetricsOptions): Metrics {
  const register = new Registry();
  collectDefaultMetrics({ register });
  let sources: ScrapeSources = {};

  // Verify counts in a plain array (a few ns per answer; a labelled prom-client inc costs a hundred times more), copied into the counter at each scrape.
  const verifyCounts = new Float64Array(VERIFY_FLAVOURS.length * VERIFY_OUTCOMES.length * VERIFY_METHODS.length);
  const decisionMirrors: Array<() => void> = [];
  const decisions = new Counter({
    name: 'postern_verify_decisions_total',
    help: 'Verify answers, by proxy flavour, outcome and how the request identified itself.',
    labelNames: ['flavour', 'outcome', 'method'] as const,
    registers: [register],
    collect: () => decisionMirrors.forEach((sync) => sync()),
  });
  const duration = new Histogram({
    name: 'postern_verify_duration_seconds',
    help: 'Time from the verify request being routed to its answer being written, by proxy flavour.',
    labelNames: ['flavour'] as const,
    buckets: VERIFY_BUCKETS,
    registers: [register],
  });
  const signIns = new Counter({
    name: 'postern_sign_ins_total',
    help: 'Sign-in attempts, by method (password, oidc) and outcome.',
    labelNames: ['method', 'outcome'] as const,
    registers: [register],
  });
  const throttled = new Counter({
    name: 'postern_throttle_refusals_total',
    help: 'Requests refused by a rate limit, by scope (ip, user, user+ip, device, oidc_start).',
    labelNames: ['scope'] as const,
    registers: [register],
  });
  const storeErrors = new Counter({
    name: 'postern_session_store_errors_total',
    help: 'Session store operations that failed at the backend, by operation.',
    labelNames: ['operation'] as const,
    registers: [register],
  });
  const redisUp = opts.redis
    ? new Gauge({ name: 'postern_redis_up', help: '1 while the connection to the configured Redis is ready, 0 while it is not.', registers: [register] })
    : undefined;
  new Gauge({
    name: 'postern_oidc_provider_up',
    help: '1 when the OIDC provider answered discovery, 0 while it has not, by provider id.',
    labelNames: ['provider'] as const,
    registers: [register],
    collect() {
      this.reset();
      for (const provider of sources.oidcProviders?.() ?? []) this.set({ provider: provider.id }, provider.ready ? 1 : 0);
    },
  });
  new Gauge({
    name: 'postern_hash_running',
    help: 'Password hashes computing now.',
    registers: [register],
    collect() {
      if (sources.hashLimiter) this.set(sources.hashLimiter.running);
    },
  });
  new Gauge({
    name: 'postern_hash_queue_length',
    help: 'Password checks waiting for a hashing slot now.',
    registers: [register],
    collect() {
      if (sources.hashLimiter) this.set(sources.hashLimiter.queued);
    },
  });
  // The limiter keeps running totals; at each scrape these counters are advanced to them.
  const syncHash = (): void => syncHashCounters();
  const hashSlots = new Counter({
    name: 'postern_hash_slots_total',
    help: 'Hashing slots granted, at once or after a wait (divide postern_hash_wait_seconds_total by it for the mean wait).',
    registers: [register],
    collect: syncHash,
  });
  const hashWait = new Counter({
    name: 'postern_hash_wait_seconds_total',
    help: 'Time password checks spent waiting for a hashing slot, summed.',
    registers: [register],
    collect: syncHash,
  });
  const hashRefusals = new Counter({
    name: 'postern_hash_refusals_total',
    help: 'Password checks refused by the hash limiter (answered 503), by reason (queue_full, timeout).',
    labelNames: ['reason'] as const,
    registers: [register],
    collect: syncHash,
  });
  const totals = (read: (t: HashLimiterReading['totals']) => number) => () => (sources.hashLimiter ? read(sources.hashLimiter.totals) : 0);
  const hashMirrors = [
    mirror(hashSlots, totals((t) => t.granted)),
    mirror(hashWait, totals((t) => t.waitedMs / 1000)),
    ...HASH_REFUSAL_REASONS.map((reason) => mirror(hashRefusals, totals((t) => t.refused[reason]), { reason })),
  ];
  const syncHashCounters = (): void => hashMirrors.forEach((sync) => sync());
  for (const reason of HASH_REFUSAL_REASONS) hashRefusals.labels(reason).inc(0);

  const slot = byLabel(VERIFY_FLAVOURS, (flavour) =>
    byLabel(VERIFY_OUTCOMES, (outcome) =>
      byLabel(VERIFY_METHODS, (method) => {
        const i = decisionMirrors.length;
        decisionMirrors.push(mirror(decisions, () => verifyCounts[i]!, { flavour, outcome, method }));
        return i;
      }),
    ),
  );
  // Bound once: the hot path does a property lookup, not a label validation.
  const durationChildren = byLabel(VERIFY_FLAVOURS, (flavour) => duration.labels(flavour));
  // Every series a dashboard sums over exists from the start, at 0 (a rate over an absent series is no data, not 0).
  for (const flavour of VERIFY_FLAVOURS) for (const outcome of VERIFY_OUTCOMES) decisions.labels(flavour, outcome, 'none').inc(0);
  for (const method of SIGN_IN_METHODS) for (const outcome of SIGN_IN_OUTCOMES) signIns.labels(method, outcome).inc(0);
  for (const scope of THROTTLE_SCOPES) throttled.labels(scope).inc(0);
  for (const operation of STORE_OPERATIONS) storeErrors.labels(operation).inc(0);
  redisUp?.set(0);

  return {
    enabled: true,
    registry: register,
    verify(flavour, outcome, method, seconds) {
      verifyCounts[slot[flavour][outcome][method]]!++;
      durationChildren[flavour].observe(seconds);
    },
    signIn(method, outcome) {
      signIns.labels(method, outcome).inc();
    },
    throttleRefusal(scope) {
      throttled.labels(scope).inc();
    },
    sessionStoreError(operation) {
      storeErrors.labels(operation).inc();
    },
    redisStatus(status) {
      redisUp?.set(status === 'up' ? 1 : 0);
    },
    readAtScrape(next) {
      sources = { ...sources, ...next };
    },
  };
}
