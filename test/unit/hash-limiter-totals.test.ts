import { describe, expect, it } from 'vitest';
import { HashBusyError, HashLimiter } from '../../src/auth/hash-limiter.js';

/** A task that runs until `finish()` is called. */
function gate() {
  let finish!: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));
  return { task: () => done, finish };
}

describe('HashLimiter.totals (read by the metrics at scrape time)', () => {
  it('counts slots granted at once and after a wait, the time waited, and refusals by reason', async () => {
    const limiter = new HashLimiter({ concurrency: 1, maxQueue: 1, maxWaitMs: 60_000 });
    const first = gate();
    const running = limiter.run(first.task);
    const waiting = limiter.run(async () => undefined);
    await expect(limiter.run(async () => undefined)).rejects.toEqual(new HashBusyError('queue_full'));
    expect(limiter.queued).toBe(1);
    expect(limiter.totals).toEqual({ granted: 1, waitedMs: 0, refused: { queue_full: 1, timeout: 0 } });

    await new Promise((resolve) => setTimeout(resolve, 30));
    first.finish();
    await Promise.all([running, waiting]);

    const totals = limiter.totals;
    expect(totals.granted).toBe(2);
    expect(totals.waitedMs).toBeGreaterThanOrEqual(25);
    expect(totals.refused).toEqual({ queue_full: 1, timeout: 0 });
  });

  it('counts a caller that waited too long as a timeout refusal', async () => {
    const limiter = new HashLimiter({ concurrency: 1, maxQueue: 4, maxWaitMs: 20 });
    const first = gate();
    const running = limiter.run(first.task);

    await expect(limiter.run(async () => undefined)).rejects.toEqual(new HashBusyError('timeout'));
    first.finish();
    await running;

    expect(limiter.totals.refused).toEqual({ queue_full: 0, timeout: 1 });
    expect(limiter.totals.granted).toBe(1);
  });

  it('returns a copy: changing it changes nothing in the limiter', () => {
    const limiter = new HashLimiter({ concurrency: 1, maxQueue: 1, maxWaitMs: 10 });
    (limiter.totals.refused as { timeout: number }).timeout = 99;

    expect(limiter.totals.refused.timeout).toBe(0);
  });
});
