import { Counter, Gauge, type Registry } from 'prom-client';
import { HASH_REFUSAL_REASONS, type HashLimiterReading, type ScrapeSources } from './labels.js';

/** A counter that mirrors a running total kept elsewhere: at each scrape it is advanced by what was added since. */
export function mirror<L extends string>(counter: Counter<L>, read: () => number, labels: Partial<Record<L, string>> = {}): () => void {
  let reported = 0;
  return () => {
    const total = read();
    if (total > reported) counter.inc(labels, total - reported);
    reported = total;
  };
}

/**
 * The metrics of things that have a current state, read at each scrape (`collect()`) rather than
 * pushed on every change: OIDC provider availability and the hash limiter. `sources()` gives what
 * main.ts has handed over so far (see Metrics.readAtScrape).
 */
export function registerScrapeTimeMetrics(register: Registry, sources: () => ScrapeSources): void {
  new Gauge({
    name: 'postern_oidc_provider_up',
    help: '1 when the OIDC provider answered discovery, 0 while it has not, by provider id.',
    labelNames: ['provider'] as const,
    registers: [register],
    collect() {
      this.reset();
      for (const provider of sources().oidcProviders?.() ?? []) this.set({ provider: provider.id }, provider.ready ? 1 : 0);
    },
  });
  /** A gauge that reads one number of the hash limiter at each scrape. */
  const limiterGauge = (name: string, help: string, read: (limiter: HashLimiterReading) => number): void => {
    new Gauge({
      name,
      help,
      registers: [register],
      collect() {
        const limiter = sources().hashLimiter;
        if (limiter) this.set(read(limiter));
      },
    });
  };
  limiterGauge('postern_hash_running', 'Password hashes computing now.', (l) => l.running);
  limiterGauge('postern_hash_queue_length', 'Password checks waiting for a hashing slot now.', (l) => l.queued);
  // The limiter keeps running totals; at each scrape these counters are advanced to them.
  const sync = (): void => mirrors.forEach((advance) => advance());
  const slots = new Counter({
    name: 'postern_hash_slots_total',
    help: 'Hashing slots granted, at once or after a wait (divide postern_hash_wait_seconds_total by it for the mean wait).',
    registers: [register],
    collect: sync,
  });
  const wait = new Counter({
    name: 'postern_hash_wait_seconds_total',
    help: 'Time password checks spent waiting for a hashing slot, summed.',
    registers: [register],
    collect: sync,
  });
  const refusals = new Counter({
    name: 'postern_hash_refusals_total',
    help: 'Password checks refused by the hash limiter (answered 503), by reason (queue_full, timeout).',
    labelNames: ['reason'] as const,
    registers: [register],
    collect: sync,
  });
  const totals = (read: (t: HashLimiterReading['totals']) => number) => () => {
    const limiter = sources().hashLimiter;
    return limiter ? read(limiter.totals) : 0;
  };
  const mirrors = [
    mirror(slots, totals((t) => t.granted)),
    mirror(wait, totals((t) => t.waitedMs / 1000)),
    ...HASH_REFUSAL_REASONS.map((reason) => mirror(refusals, totals((t) => t.refused[reason]), { reason })),
  ];
  for (const reason of HASH_REFUSAL_REASONS) refusals.labels(reason).inc(0);
}
