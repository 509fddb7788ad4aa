import { describe, expect, it } from 'vitest';
import { parseRateLimit } from '../../src/auth/rate-limit-spec.js';

const SHAPE = 'must look like "5/minute;20/hour" (units: second, minute, hour, day)';

describe('parseRateLimit', () => {
  it.each([
    ['1/second', [{ points: 1, durationSec: 1 }]],
    ['5/minute', [{ points: 5, durationSec: 60 }]],
    ['20/hour', [{ points: 20, durationSec: 3600 }]],
    ['100/day', [{ points: 100, durationSec: 86_400 }]],
    [
      '1/second;5/minute;20/hour',
      [
        { points: 1, durationSec: 1 },
        { points: 5, durationSec: 60 },
        { points: 20, durationSec: 3600 },
      ],
    ],
    [
      ' 5 / minute ; 20/hour ',
      [
        { points: 5, durationSec: 60 },
        { points: 20, durationSec: 3600 },
      ],
    ],
    ['1000000/day', [{ points: 1_000_000, durationSec: 86_400 }]],
  ])('%j', (text, windows) => {
    expect(parseRateLimit(text)).toEqual({ ok: true, windows });
  });

  it.each(['', '   ', 'off', 'OFF', ' off '])('%j disables the limit', (text) => {
    expect(parseRateLimit(text)).toEqual({ ok: true, windows: [] });
  });

  it.each([
    ['5/minutes', `${SHAPE}, got '5/minutes'`],
    ['5/Minute', `${SHAPE}, got '5/Minute'`],
    ['5/min', `${SHAPE}, got '5/min'`],
    ['5/week', `${SHAPE}, got '5/week'`],
    ['5', `${SHAPE}, got '5'`],
    ['5/', `${SHAPE}, got '5/'`],
    ['minute', `${SHAPE}, got 'minute'`],
    ['5/minute/hour', `${SHAPE}, got '5/minute/hour'`],
    ['5 per minute', `${SHAPE}, got '5 per minute'`],
    ['5/minute;20/hours', `${SHAPE}, got '20/hours'`],
    ['5/minute;', `${SHAPE}, got ''`],
    ['5/minute;;20/hour', `${SHAPE}, got ''`],
    ['5/minute,20/hour', `${SHAPE}, got '5/minute,20/hour'`],
    ['5/toString', `${SHAPE}, got '5/toString'`],
    ['on', `${SHAPE}, got 'on'`],
    ['0/hour', "count must be a positive integer, got '0/hour'"],
    ['-1/hour', "count must be a positive integer, got '-1/hour'"],
    ['1.5/hour', "count must be a positive integer, got '1.5/hour'"],
    ['05/hour', "count must be a positive integer, got '05/hour'"],
    ['1e3/hour', "count must be a positive integer, got '1e3/hour'"],
    ['/hour', "count must be a positive integer, got '/hour'"],
    ['x/hour', "count must be a positive integer, got 'x/hour'"],
    ['99999999999999999999/hour', "count must be a positive integer, got '99999999999999999999/hour'"],
    ['5/minute;10/minute', "has more than one window per minute, got '5/minute;10/minute'"],
  ])('%j is refused', (text, error) => {
    expect(parseRateLimit(text)).toEqual({ ok: false, error });
  });
});
