/**
 * The refusal floor: the least time a refused password check takes, so that refusing an unknown
 * username, a disabled account, or a wrong password for an account of any hash scheme takes the
 * same time, and the clock does not tell which usernames exist or how their hashes were made.
 *
 * Every computation is timed per cost class (`argon2id m=19456 t=2 p=1`, `pbkdf2_sha256 i=600000`,
 * `bcrypt cost=12`): the last WINDOW durations of each are kept, and the floor is the 90th percentile
 * of the slowest class among those present (the users file's hashes and the dummy, as last given
 * to `setPresent`; every class seen when it was never called). The 90th percentile rather than the
 * median: a fast refusal is then held to a value the slowest class itself reaches nine times in ten,
 * so the slowest class's refusals sit on the same value most of the time instead of spreading around it.
 *
 * Pure bookkeeping, no clock and no timers: passwords.ts measures and waits.
 */

/** Durations kept per cost class: enough for a steady percentile, few enough to follow a change of load. */
export const WINDOW = 32;
const PERCENTILE = 0.9;

export class RefusalFloor {
  readonly #samples = new Map<string, number[]>();
  #present: ReadonlySet<string> | undefined;
  #cached: number | undefined;

  /** One measured computation of `costKey`, in milliseconds. */
  record(costKey: string, ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) return;
    let ring = this.#samples.get(costKey);
    if (ring === undefined) {
      ring = [];
      this.#samples.set(costKey, ring);
    }
    ring.push(ms);
    if (ring.length > WINDOW) ring.shift();
    this.#cached = undefined;
  }

  /** The cost classes the floor is taken over from now on; the others' durations are forgotten. */
  setPresent(costKeys: Iterable<string>): void {
    const present = new Set(costKeys);
    for (const key of [...this.#samples.keys()]) if (!present.has(key)) this.#samples.delete(key);
    this.#present = present;
    this.#cached = undefined;
  }

  /** How many durations of `costKey` are kept. */
  samples(costKey: string): number {
    return this.#samples.get(costKey)?.length ?? 0;
  }

  /** The floor per cost class (for the start-up log and the bench), in milliseconds. */
  perClass(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [key, ring] of this.#samples) if (this.#counts(key)) out[key] = percentile(ring, PERCENTILE);
    return out;
  }

  /** The least time a refusal takes, in milliseconds; 0 while nothing has been measured. */
  get ms(): number {
    if (this.#cached === undefined) {
      let floor = 0;
      for (const [key, ring] of this.#samples) {
        if (this.#counts(key)) floor = Math.max(floor, percentile(ring, PERCENTILE));
      }
      this.#cached = floor;
    }
    return this.#cached;
  }

  #counts(key: string): boolean {
    return this.#present === undefined || this.#present.has(key);
  }
}

function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] ?? 0;
}
