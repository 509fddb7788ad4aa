/**
 * Bounded concurrency for password hashing. Each argon2id computation holds `memory_cost` KiB
 * (19 MiB by default) for its whole run, so a burst of logins would otherwise grow memory without
 * limit. At most `concurrency` hashes run; the next `maxQueue` wait in FIFO order for at most
 * `maxWaitMs`; anything beyond that is refused at once with HashBusyError (the HTTP layer answers
 * 503 with Retry-After), which is cheaper for everyone than answering slowly.
 */

export interface HashLimiterOptions {
  /** Hashes running at the same time. main.ts uses max(1, os.availableParallelism() - 1): one core stays free for verify. */
  readonly concurrency: number;
  /** Callers waiting for a slot; one more is refused. main.ts uses 64. */
  readonly maxQueue: number;
  /** Longest wait for a slot before the caller is refused. main.ts uses 5000. */
  readonly maxWaitMs: number;
}

/** The limiter is saturated: not a failure of the hash itself, and not the caller's fault. Retry later. */
export class HashBusyError extends Error {
  override readonly name = 'HashBusyError';
  constructor(
    /** `queue_full`: refused on arrival; `timeout`: waited maxWaitMs without getting a slot. */
    readonly reason: 'queue_full' | 'timeout',
  ) {
    super(
      reason === 'queue_full'
        ? 'too many password checks in progress; try again shortly'
        : 'timed out waiting for a password check slot; try again shortly',
    );
  }
}

interface Waiter {
  readonly start: () => void;
  /** performance.now() when it joined the queue. */
  readonly since: number;
  readonly timer: ReturnType<typeof setTimeout>;
}

export class HashLimiter {
  readonly #concurrency: number;
  readonly #maxQueue: number;
  readonly #maxWaitMs: number;
  #running = 0;
  readonly #queue: Waiter[] = [];
  readonly #totals = { granted: 0, waitedMs: 0, refused: { queue_full: 0, timeout: 0 } };

  constructor(opts: HashLimiterOptions) {
    checkInteger('concurrency', opts.concurrency, 1);
    checkInteger('maxQueue', opts.maxQueue, 0);
    checkInteger('maxWaitMs', opts.maxWaitMs, 0);
    this.#concurrency = opts.concurrency;
    this.#maxQueue = opts.maxQueue;
    this.#maxWaitMs = opts.maxWaitMs;
  }

  /** Hashes running now (for metrics and tests). */
  get running(): number {
    return this.#running;
  }

  /** Callers waiting now (for metrics and tests). */
  get queued(): number {
    return this.#queue.length;
  }

  /** Running totals since start (for metrics): slots granted, milliseconds waited for them, refusals by reason. A copy. */
  get totals(): { granted: number; waitedMs: number; refused: Record<HashBusyError['reason'], number> } {
    const t = this.#totals;
    return { granted: t.granted, waitedMs: t.waitedMs, refused: { ...t.refused } };
  }

  /** Runs `fn` when a slot is free; rejects with HashBusyError when none frees up in time. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    await this.#acquire();
    try {
      return await fn();
    } finally {
      this.#release();
    }
  }

  #acquire(): Promise<void> {
    if (this.#running < this.#concurrency) {
      this.#running++;
      this.#totals.granted++;
      return Promise.resolve();
    }
    if (this.#queue.length >= this.#maxQueue) {
      this.#totals.refused.queue_full++;
      return Promise.reject(new HashBusyError('queue_full'));
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        // The slot is handed over by #release: #running is not decremented in between,
        // so a newcomer cannot overtake the queue.
        start: () => {
          this.#totals.granted++;
          this.#totals.waitedMs += performance.now() - waiter.since;
          resolve();
        },
        since: performance.now(),
        timer: setTimeout(() => {
          const i = this.#queue.indexOf(waiter);
          if (i !== -1) this.#queue.splice(i, 1);
          this.#totals.refused.timeout++;
          reject(new HashBusyError('timeout'));
        }, this.#maxWaitMs),
      };
      this.#queue.push(waiter);
    });
  }

  #release(): void {
    const next = this.#queue.shift();
    if (next === undefined) {
      this.#running--;
      return;
    }
    clearTimeout(next.timer);
    next.start();
  }
}

function checkInteger(key: string, value: number, min: number): void {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new TypeError(`HashLimiter ${key} must be an integer >= ${min}, got ${String(value)}`);
  }
}
