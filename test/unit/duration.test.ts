import { describe, expect, test } from 'vitest';
import { formatDuration, parseDuration } from '../../src/config/duration.js';

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

describe('parseDuration', () => {
  test.each([
    ['0', 0],
    ['0s', 0],
    ['90s', 90 * SECOND],
    ['30m', 30 * MINUTE],
    ['24h', 24 * HOUR],
    ['2h30m', 2 * HOUR + 30 * MINUTE],
    ['7d', 7 * DAY],
    ['1d12h', DAY + 12 * HOUR],
    ['1h1m1s500ms', HOUR + MINUTE + SECOND + 500],
    ['1500ms', 1500],
    ['720h', 720 * HOUR],
  ])('reads %j as %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  test.each([
    [''],
    ['abc'],
    ['24'],
    ['h'],
    ['-1h'],
    ['+1h'],
    ['1.5h'],
    ['1H'],
    ['1w'],
    [' 1h'],
    ['1h '],
    ['1 h'],
    ['30m2h'],
    ['1h1h'],
    ['1h30'],
    ['00'],
    ['99999999999999999999d'],
  ])('rejects %j', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });
});

describe('formatDuration', () => {
  test.each([
    [0, '0'],
    [500, '500ms'],
    [90 * SECOND, '1m30s'],
    [30 * MINUTE, '30m'],
    [DAY, '24h'],
    [2 * HOUR + 30 * MINUTE, '2h30m'],
    [7 * DAY, '168h'],
    [HOUR + SECOND + 1, '1h1s1ms'],
  ])('writes %d ms as %j', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  test.each([[0], [1], [59_999], [DAY + 1], [8760 * HOUR]])('round-trips %d ms through parseDuration', (ms) => {
    expect(parseDuration(formatDuration(ms))).toBe(ms);
  });

  test.each([[-1], [1.5], [Number.NaN], [Number.POSITIVE_INFINITY]])('throws a RangeError for %d', (ms) => {
    expect(() => formatDuration(ms)).toThrow(RangeError);
  });
});
