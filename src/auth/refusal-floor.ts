/**
 * The refusal floor: the least time a refused password check takes, so that refusing an unknown
 * username, a disabled account, or a wrong password for an account of any hash scheme takes the
 * same time, and the clock does not tell which usernames exist or how their hashes were made.
 *
 * The floor is set by calibrate(): MARGIN times the median time of the slowest cost class in use
 * (`argon2id m=19456 t=2 p=1`, `pbkdf2_sha256 i=600000`, `bcrypt cost=12`, the dummy's class
 * included), measured at start and again when the users file is reloaded. Between calibrations it
 * only rises: a check that took longer than the floor (the machine got busier) raises it to MARGIN
 * times that check's time, never above MAX_RAISE times the calibrated floor. A fast check never
 * lowers it, so the floor does not move with each sample and every kind of refusal waits for the
 * same figure, and the margin leaves room for the slowest class's own time to grow under load
 * before it shows through. Each raise is at least MARGIN times the floor before it, so between two
 * calibrations it rises at most RAISES_MAX times (1.5^4 > 4): the refusals that can show a check
 * slower than the floor are that few.
 *
 * Every refusal, the slowest class's own included, is held by holdMs() to `started + floor`: a
 * check that raised the floor is held to the raised one, like those after it.
 *
 * Pure bookkeeping, no clock and no timers: refusal-timing.ts measures and waits.
 */

/** The floor over the slowest class's calibrated time: room for its own checks to slow down under load. */
export const MARGIN = 1.5;
/**
 * How far slow checks may raise the floor, over what calibrate() set: a stall (swap, a paused VM)
 * must not make every later refusal take seconds. A check slower than that shows through.
 */
export const MAX_RAISE = 4;
/** The most raises between two calibrations: the least n with MARGIN^n >= MAX_RAISE. */
export const RAISES_MAX = Math.ceil(Math.log(MAX_RAISE) / Math.log(MARGIN));

export class RefusalFloor {
  #classes: Readonly<Record<string, number>> = {};
  #calibrated = 0;
  #ms = 0;

  /**
   * Sets the floor from fresh timings of each cost class in use (the keys given), in milliseconds:
   * MARGIN times the slowest class's median. Replaces what was there, raises included: the classes
   * or the load may have changed. A class given no usable timing (the hasher was busy) keeps its
   * median from the last calibration; one never timed is left out.
   */
  calibrate(timings: Readonly<Record<string, readonly number[]>>): void {
    const classes: Record<string, number> = {};
    for (const [key, values] of Object.entries(timings)) {
      const usable = values.filter((ms) => Number.isFinite(ms) && ms >= 0);
      const last = this.#classes[key];
      if (usable.length > 0) classes[key] = median(usable);
      else if (last !== undefined) classes[key] = last;
    }
    this.#classes = Object.freeze(classes);
    this.#calibrated = MARGIN * Math.max(0, ...Object.values(classes));
    this.#ms = this.#calibrated;
  }

  /** One measured check of any class, in milliseconds: raises the floor when it took longer. */
  observe(ms: number): void {
    if (!Number.isFinite(ms) || ms <= this.#ms) return;
    this.#ms = Math.max(this.#ms, Math.min(MARGIN * ms, MAX_RAISE * this.#calibrated));
  }

  /** The least time a refusal takes, in milliseconds; 0 until calibrated. */
  get ms(): number {
    return this.#ms;
  }

  /** The median time of each class at the last calibration (for the start-up log and the bench). */
  perClass(): Readonly<Record<string, number>> {
    return this.#classes;
  }

  /** How much longer a refusal whose check started at `started` must wait at `now` (same clock, ms). */
  holdMs(started: number, now: number): number {
    return Math.max(0, started + this.#ms - now);
  }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
