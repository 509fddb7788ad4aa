/**
 * How a password check is timed and a refusal held (the contract is in passwords.ts's opening
 * comment): each computation is timed inside its hashing slot and may raise the refusal floor
 * (refusal-floor.ts); a refusal then waits, outside the slot, until the floor has passed since its
 * computation started; calibrate() times each cost class in use afresh and sets the floor.
 * passwords.ts decides what is a refusal; this module only measures and waits.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { RefusalFloor } from './refusal-floor.js';

/** What calibrate() measured: the floor and each hash class's median time, in ms. */
export interface Calibration {
  readonly floorMs: number;
  readonly classes: Readonly<Record<string, number>>;
}

/** Timings per hash class taken by calibrate(); the floor is over their median. */
export const CALIBRATION_RUNS = 3;

/** Where the hasher reads the time and waits (performance.now() and a timer, unless a test passes its own). */
export interface RefusalClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

const realClock: RefusalClock = { now: () => performance.now(), sleep: (ms) => sleep(ms) };

/** A check against one stored hash: its cost class and the computation. */
export interface TimedCheck {
  readonly costKey: string;
  readonly matches: (password: string) => Promise<boolean>;
}

export interface RefusalTimingOptions {
  /** Runs a computation in a hashing slot (the HashLimiter's, when there is one). */
  readonly limited: <T>(fn: () => Promise<T>) => Promise<T>;
  readonly clock?: RefusalClock | undefined;
  /** The refusal floor refusals are held to; a new one unless given. */
  readonly floor?: RefusalFloor | undefined;
}

export function createRefusalTiming(opts: RefusalTimingOptions) {
  const { limited } = opts;
  const clock = opts.clock ?? realClock;
  const floor = opts.floor ?? new RefusalFloor();

  /**
   * One timed computation in a limiter slot; returns its result, when it started and how long it
   * took (clock.now()). Every computation, right or wrong password, may raise the floor.
   */
  const timed = async (check: TimedCheck, password: string): Promise<{ ok: boolean; started: number; ms: number }> => {
    let started = 0;
    let ms = 0;
    const ok = await limited(async () => {
      started = clock.now();
      const result = await check.matches(password);
      ms = clock.now() - started;
      floor.observe(ms);
      return result;
    });
    return { ok, started, ms };
  };

  /**
   * The one way a refusal ends: waits, outside the limiter, until the floor has passed since
   * `started`. After timed(), so a check that raised the floor is held to the raised value too.
   */
  const hold = async (started: number): Promise<void> => {
    const wait = floor.holdMs(started, clock.now());
    if (wait > 0) await clock.sleep(wait);
  };

  return {
    timed,
    hold,

    /** A refusal with nothing to compute: it waits like one, from now. */
    holdFromNow: (): Promise<void> => hold(clock.now()),

    /**
     * Times each class (its check made by `classes`' value) CALIBRATION_RUNS times against a random
     * password from `probe` and sets the floor over the slowest. A class that is busy or failing now
     * keeps its last calibrated time.
     */
    async calibrate(classes: ReadonlyMap<string, () => Promise<TimedCheck>>, probe: () => string): Promise<Calibration> {
      const timings: Record<string, number[]> = {};
      for (const [key, check] of classes) {
        const runs: number[] = (timings[key] = []);
        for (let run = 0; run < CALIBRATION_RUNS; run++) {
          try {
            // A random password: the answer is false, and only the time is kept.
            runs.push((await timed(await check(), probe())).ms);
          } catch {
            break; // busy or failing now: the class keeps its last calibrated time
          }
        }
      }
      floor.calibrate(timings);
      return { floorMs: floor.ms, classes: floor.perClass() };
    },
  };
}
