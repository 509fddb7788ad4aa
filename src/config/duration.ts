/**
 * Durations as people write them in the config: one or more `<integer><unit>` parts, largest unit
 * first, each unit at most once (`7d`, `24h`, `2h30m`, `90s`, `1500ms`), or a bare `0`.
 * Values are milliseconds.
 */

const UNITS = [
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1_000],
  ['ms', 1],
] as const;

const PART = /(\d+)(ms|d|h|m|s)/y;

/** Milliseconds for `text`, or undefined when it is not a duration (empty, negative, decimal, unknown unit, units out of order). */
export function parseDuration(text: string): number | undefined {
  if (text === '0') return 0;
  let total = 0;
  let lastUnit = -1;
  PART.lastIndex = 0;
  while (PART.lastIndex < text.length) {
    const match = PART.exec(text);
    if (match === null) return undefined;
    const unit = UNITS.findIndex(([name]) => name === match[2]);
    // Units strictly decreasing: '30m2h' and '1h1h' are more likely typos than intent.
    if (unit <= lastUnit) return undefined;
    lastUnit = unit;
    total += Number(match[1]) * UNITS[unit]![1];
  }
  if (lastUnit === -1 || !Number.isSafeInteger(total)) return undefined;
  return total;
}

/**
 * The shortest text `parseDuration` reads back as `ms`, with hours as the largest unit so that it
 * reads like the config limits (`720h`, not `30d`). 0 is '0'.
 */
export function formatDuration(ms: number): string {
  if (!Number.isSafeInteger(ms) || ms < 0) {
    throw new RangeError(`formatDuration needs a non-negative integer of milliseconds, got ${ms}`);
  }
  if (ms === 0) return '0';
  let rest = ms;
  let text = '';
  for (const [name, size] of UNITS) {
    if (name === 'd') continue;
    const count = Math.floor(rest / size);
    if (count > 0) text += `${count}${name}`;
    rest -= count * size;
  }
  return text;
}
