import { setTimeout as sleep } from 'node:timers/promises';

export interface WaitForOptions {
  /** Give up after this long. Default 5000 ms. */
  readonly timeoutMs?: number;
  /** Pause between attempts. Default 25 ms. */
  readonly intervalMs?: number;
  /** Ends the timeout message: `timed out waiting for <what>`. */
  readonly what?: string;
}

/**
 * Calls `fn` until it returns (or resolves to) a truthy value and returns that value.
 * An attempt that throws counts as "not yet"; the last such error becomes the `cause`
 * of the timeout error, so a test that never converges still says why.
 */
export async function waitFor<T>(
  fn: () => Promise<T | undefined | false> | T | undefined | false,
  opts: WaitForOptions = {},
): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 5_000;
  const intervalMs = opts.intervalMs ?? 25;
  const what = opts.what ?? 'condition';
  const deadline = performance.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await fn();
      if (value) return value;
    } catch (err) {
      lastError = err;
    }
    if (performance.now() >= deadline) {
      throw new Error('timed out waiting for ' + what, lastError === undefined ? undefined : { cause: lastError });
    }
    await sleep(intervalMs);
  }
}
