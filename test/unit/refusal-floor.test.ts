import { describe, expect, it } from 'vitest';
import { MARGIN, MAX_RAISE, RAISES_MAX, RefusalFloor } from '../../src/auth/refusal-floor.js';

type Step = { readonly calibrate: Record<string, number[]> } | { readonly observe: number };

function floorAfter(steps: readonly Step[]): RefusalFloor {
  const floor = new RefusalFloor();
  for (const step of steps) {
    if ('calibrate' in step) floor.calibrate(step.calibrate);
    else floor.observe(step.observe);
  }
  return floor;
}

const calibrated = { calibrate: { 'argon2id m=8192 t=1 p=1': [12, 10, 30], 'pbkdf2_sha256 i=600000': [100, 400, 90] } };
/** MARGIN × the slowest class's median (100 ms). */
const FLOOR = MARGIN * 100;

describe('RefusalFloor decisions', () => {
  it.each<[string, Step[], number]>([
    ['is 0 until calibrated, and a check before that raises nothing', [{ observe: 50 }], 0],
    ['is MARGIN times the median of the slowest class (one stalled run does not count)', [calibrated], FLOOR],
    ['is not lowered by fast checks', [calibrated, { observe: 10 }, { observe: 0 }], FLOOR],
    ['is not raised by a check within it', [calibrated, { observe: FLOOR }], FLOOR],
    ['is raised to MARGIN times a check that took longer (the machine got busier)', [calibrated, { observe: 200 }], MARGIN * 200],
    ['keeps a raise when checks get fast again', [calibrated, { observe: 200 }, { observe: 90 }, { observe: 100 }], MARGIN * 200],
    ['is raised to at most MAX_RAISE times the calibrated floor (a stall does not make every refusal take seconds)', [calibrated, { observe: 60_000 }], MAX_RAISE * FLOOR],
    ['is replaced by the next calibration, raises included, even when lower', [calibrated, { observe: 200 }, { calibrate: { pbkdf2: [80] } }], MARGIN * 80],
    ['forgets a class the next calibration does not name (its hash left the users file)', [calibrated, { calibrate: { argon2id: [10] } }], MARGIN * 10],
    ['keeps the last time of a class the next calibration could not time (hasher busy)', [calibrated, { calibrate: { argon2id: [10], 'pbkdf2_sha256 i=600000': [] } }], FLOOR],
    ['leaves out a class never timed', [{ calibrate: { argon2id: [10], pbkdf2: [] } }], MARGIN * 10],
    ['ignores durations that are not milliseconds', [{ calibrate: { a: [Number.NaN, -1, Number.POSITIVE_INFINITY, 10] } }, { observe: Number.POSITIVE_INFINITY }, { observe: Number.NaN }], MARGIN * 10],
  ])('%s', (_what, steps, expected) => {
    expect(floorAfter(steps).ms).toBe(expected);
  });

  it(`rises at most RAISES_MAX (${RAISES_MAX}) times between calibrations, however the checks slow down`, () => {
    const floor = floorAfter([calibrated]);
    let raises = 0;
    for (let i = 0; i < 100; i++) {
      const before = floor.ms;
      floor.observe(before + 0.001); // just slower than the floor, each time
      if (floor.ms > before) raises++;
    }
    expect(raises).toBe(RAISES_MAX);
    expect(floor.ms).toBe(MAX_RAISE * FLOOR);
  });

  it('reports each class by its median at the last calibration', () => {
    const floor = floorAfter([calibrated, { observe: 500 }]);
    expect(floor.perClass()).toEqual({ 'argon2id m=8192 t=1 p=1': 12, 'pbkdf2_sha256 i=600000': 100 });
  });

  describe('holdMs: how much longer a refusal waits, on the clock its check started by', () => {
    it.each<[string, Step[], number, number, number]>([
      ['nothing computed (an unusable hash): the whole floor', [calibrated], 1000, 1000, FLOOR],
      ['a fast check (unknown user, argon2id): the rest of the floor', [calibrated, { observe: 10 }], 1000, 1010, FLOOR - 10],
      ['the slowest class within the floor: the rest of it, like the others', [calibrated, { observe: 120 }], 1000, 1120, FLOOR - 120],
      ['the slowest class past the floor: held to the floor its check raised', [calibrated, { observe: 200 }], 1000, 1200, MARGIN * 200 - 200],
      ['once the floor has passed: nothing', [calibrated], 1000, 1000 + FLOOR + 5, 0],
      ['not calibrated: nothing', [], 1000, 1010, 0],
    ])('%s', (_what, steps, started, now, expected) => {
      expect(floorAfter(steps).holdMs(started, now)).toBe(expected);
    });
  });
});
