/**
 * Every kind of refusal goes through one hold in passwords.ts, the slowest scheme's own included;
 * a successful check goes through none. The hashes are real, the clock and the sleeper are the
 * test's: the hasher reads the clock when a check starts (or would start) and when it ends, then
 * once more to hold a refusal; the readings are scripted per row, so the waits asked for are exact.
 */
import bcrypt from 'bcrypt';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Argon2Params, createPasswordHasher, type PasswordHasher, type RefusalClock } from '../../src/auth/passwords.js';
import { MARGIN, RefusalFloor } from '../../src/auth/refusal-floor.js';

const FAST: Argon2Params = { memory_cost: 8192, time_cost: 1, parallelism: 1 };
const RIGHT = 'the right one';
/** Calibrated over a 100 ms PBKDF2 class. */
const FLOOR = MARGIN * 100;

const hashes = { argon2id: '', pbkdf2: '', bcrypt: '' };
beforeAll(async () => {
  const hasher = createPasswordHasher({ argon2: FAST });
  hashes.argon2id = await hasher.hash(RIGHT);
  hashes.pbkdf2 = await hasher.hash(RIGHT, 'pbkdf2-sha256');
  hashes.bcrypt = await bcrypt.hash(RIGHT, 10);
});

function scriptedClock(readings: number[]): { clock: RefusalClock; sleeps: number[]; unread: () => number } {
  const sleeps: number[] = [];
  const clock: RefusalClock = {
    now() {
      const t = readings.shift();
      if (t === undefined) throw new Error('the clock was read more often than scripted');
      return t;
    },
    async sleep(ms) {
      sleeps.push(ms);
    },
  };
  return { clock, sleeps, unread: () => readings.length };
}

type Call = (hasher: PasswordHasher) => Promise<boolean>;

describe('every refusal is held to the floor by the same code, a sign-in is not', () => {
  it.each<[string, Call, number[], number[], number]>([
    ['an unknown or disabled user (the dummy check)', (h) => h.verifyDummy('guess'), [0, 10, 10], [FLOOR - 10], FLOOR],
    ['a wrong argon2id password', (h) => h.verify(hashes.argon2id, 'guess'), [0, 10, 12], [FLOOR - 12], FLOOR],
    ['a wrong bcrypt password', (h) => h.verify(hashes.bcrypt, 'guess'), [0, 60, 60], [FLOOR - 60], FLOOR],
    ['a wrong PBKDF2 password, within the floor', (h) => h.verify(hashes.pbkdf2, 'guess'), [0, 100, 100], [FLOOR - 100], FLOOR],
    ['a wrong PBKDF2 password slower than the floor: held to the floor it raised', (h) => h.verify(hashes.pbkdf2, 'guess'), [0, 200, 200], [MARGIN * 200 - 200], MARGIN * 200],
    ['an unusable hash: nothing computed, the whole floor', (h) => h.verify('not a hash', 'guess'), [5, 5], [FLOOR], FLOOR],
    ['a right password: not held', (h) => h.verify(hashes.argon2id, RIGHT), [0, 10], [], FLOOR],
    ['a right password slower than the floor: not held, but the floor rises for the next refusal', (h) => h.verify(hashes.pbkdf2, RIGHT), [0, 200], [], MARGIN * 200],
  ])('%s', async (_what, call, readings, waits, floorAfter) => {
    const floor = new RefusalFloor();
    floor.calibrate({ 'pbkdf2_sha256 i=600000': [100] });
    const { clock, sleeps, unread } = scriptedClock(readings);
    const hasher = createPasswordHasher({ argon2: FAST, clock, floor });
    const ok = await call(hasher);
    expect(ok).toBe(waits.length === 0);
    expect(sleeps).toEqual(waits);
    expect(floor.ms).toBe(floorAfter);
    expect(unread()).toBe(0);
  });
});
