/**
 * Postern's Prometheus metrics: one private registry (with prom-client's default process metrics)
 * and small typed recording functions. Callers never branch on whether metrics are on: with
 * `metrics.port` unset they get `noMetrics`, whose functions do nothing.
 *
 * Every label takes its values from a closed list in labels.ts (or from config: OIDC provider ids),
 * so the number of series is bounded: never a user name, host, path or address.
 *
 * Verify's metrics (hot path) are in verify-metrics.ts; the ones read at scrape time by `collect()`
 * callbacks (OIDC providers, the hash limiter) in scrape-time.ts; the rest are here.
 */
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { ProxyFlavour } from '../http/original-request.js';
import {
  SIGN_IN_METHODS,
  SIGN_IN_OUTCOMES,
  STORE_OPERATIONS,
  THROTTLE_SCOPES,
  type ScrapeSources,
  type SignInMethod,
  type SignInOutcome,
  type StoreOperation,
  type ThrottleRefusalScope,
  type VerifyMethod,
  type VerifyOutcome,
} from './labels.js';
import { registerScrapeTimeMetrics } from './scrape-time.js';
import { createVerifyRecorder } from './verify-metrics.js';

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

export interface MetricsOptions {
  /** A Redis is configured: `postern_redis_up` is exported (absent with the in-memory store). */
  readonly redis: boolean;
}

export function createMetrics(opts: MetricsOptions): Metrics {
  const register = new Registry();
  collectDefaultMetrics({ register });
  let sources: ScrapeSources = {};

  const verify = createVerifyRecorder(register);
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
  registerScrapeTimeMetrics(register, () => sources);

  // Every series a dashboard sums over exists from the start, at 0 (a rate over an absent series is no data, not 0).
  for (const method of SIGN_IN_METHODS) for (const outcome of SIGN_IN_OUTCOMES) signIns.labels(method, outcome).inc(0);
  for (const scope of THROTTLE_SCOPES) throttled.labels(scope).inc(0);
  for (const operation of STORE_OPERATIONS) storeErrors.labels(operation).inc(0);
  redisUp?.set(0);

  return {
    enabled: true,
    registry: register,
    verify,
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
