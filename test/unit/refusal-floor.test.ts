import { describe, expect, it } from 'vitest';
import { RefusalFloor, WINDOW } from '../../src/auth/refusal-floor.js';

describe('RefusalFloor', () => {
  it('is 0 until something has been measured', () => {
    expect(new RefusalFloor().ms).toBe(0);
  });

  it('is the 90th percentile of the slowest class', () => {
    const floor = new RefusalFloor();
    for (let ms = 1; ms <= 10; ms++) floor.record('argon2id', ms); // p90 = 9
    for (let ms = 101; ms <= 110; ms++) floor.record('pbkdf2', ms); // p90 = 109
    expect(floor.ms).toBe(109);
    expect(floor.perClass()).toEqual({ argon2id: 9, pbkdf2: 109 });
  });

  it('follows the load: only the last WINDOW durations of a class count', () => {
    const floor = new RefusalFloor();
    for (let i = 0; i < WINDOW; i++) floor.record('pbkdf2', 500);
    for (let i = 0; i < WINDOW; i++) floor.record('pbkdf2', 100);
    expect(floor.ms).toBe(100);
    expect(floor.samples('pbkdf2')).toBe(WINDOW);
  });

  it('counts only the classes present, once they have been named', () => {
    const floor = new RefusalFloor();
    floor.record('argon2id', 10);
    floor.record('pbkdf2', 100);
    floor.setPresent(['argon2id', 'bcrypt']);
    expect(floor.ms).toBe(10);
    expect(floor.samples('pbkdf2')).toBe(0); // forgotten
    // A check of a hash that has just left the users file still runs, but does not raise the floor.
    floor.record('pbkdf2', 100);
    expect(floor.ms).toBe(10);
    floor.record('bcrypt', 60);
    expect(floor.ms).toBe(60);
  });

  it('ignores a duration that is not a number of milliseconds', () => {
    const floor = new RefusalFloor();
    floor.record('argon2id', Number.NaN);
    floor.record('argon2id', -1);
    floor.record('argon2id', Number.POSITIVE_INFINITY);
    expect(floor.samples('argon2id')).toBe(0);
    expect(floor.ms).toBe(0);
  });
});
