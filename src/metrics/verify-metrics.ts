import { Counter, Histogram, type Registry } from 'prom-client';
import type { ProxyFlavour } from '../http/original-request.js';
import { VERIFY_FLAVOURS, VERIFY_METHODS, VERIFY_OUTCOMES, type VerifyMethod, type VerifyOutcome } from './labels.js';
import { mirror } from './scrape-time.js';

/** Verify answers in well under a millisecond from the cache; the top buckets catch a slow Redis (150 ms command timeout). */
export const VERIFY_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

function byLabel<K extends string, T>(values: readonly K[], make: (value: K) => T): Record<K, T> {
  return Object.fromEntries(values.map((value) => [value, make(value)])) as Record<K, T>;
}

/**
 * `postern_verify_decisions_total` and `postern_verify_duration_seconds`, and the function verify
 * calls once per answer. The counts go to a plain array (a few ns; a labelled prom-client inc costs
 * about a hundred times more) and are copied into the counter at each scrape; the histogram's
 * children are bound once, so an observation does no label validation.
 */
export function createVerifyRecorder(register: Registry): (flavour: ProxyFlavour, outcome: VerifyOutcome, method: VerifyMethod, seconds: number) => void {
  const counts = new Float64Array(VERIFY_FLAVOURS.length * VERIFY_OUTCOMES.length * VERIFY_METHODS.length);
  const mirrors: Array<() => void> = [];
  const decisions = new Counter({
    name: 'postern_verify_decisions_total',
    help: 'Verify answers, by proxy flavour, outcome and how the request identified itself.',
    labelNames: ['flavour', 'outcome', 'method'] as const,
    registers: [register],
    collect: () => mirrors.forEach((sync) => sync()),
  });
  const duration = new Histogram({
    name: 'postern_verify_duration_seconds',
    help: 'Time from the verify request being routed to its answer being written, by proxy flavour.',
    labelNames: ['flavour'] as const,
    buckets: VERIFY_BUCKETS,
    registers: [register],
  });
  const slot = byLabel(VERIFY_FLAVOURS, (flavour) =>
    byLabel(VERIFY_OUTCOMES, (outcome) =>
      byLabel(VERIFY_METHODS, (method) => {
        const i = mirrors.length;
        mirrors.push(mirror(decisions, () => counts[i]!, { flavour, outcome, method }));
        return i;
      }),
    ),
  );
  const durations = byLabel(VERIFY_FLAVOURS, (flavour) => duration.labels(flavour));
  // Every series a dashboard sums over exists from the start, at 0 (a rate over an absent series is no data, not 0).
  for (const flavour of VERIFY_FLAVOURS) for (const outcome of VERIFY_OUTCOMES) decisions.labels(flavour, outcome, 'none').inc(0);

  return (flavour, outcome, method, seconds) => {
    counts[slot[flavour][outcome][method]]!++;
    durations[flavour].observe(seconds);
  };
}
