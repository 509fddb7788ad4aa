/**
 * The rate-limit notation of the config file (Frigate's): `"5/minute;20/hour"`, each window a
 * count of failures and a unit. `""` or `off` disables the limit. Pure: the config validator turns
 * an error into `<key path> <error>`.
 */

export interface RateWindow {
  /** Failures allowed within the window. */
  points: number;
  durationSec: number;
}

export type RateLimitParse = { ok: true; windows: RateWindow[] } | { ok: false; error: string };

const UNIT_SECONDS: Readonly<Record<string, number>> = Object.freeze({
  second: 1,
  minute: 60,
  hour: 3600,
  day: 86_400,
});

const COUNT = /^[1-9][0-9]*$/;

export function parseRateLimit(text: string): RateLimitParse {
  const trimmed = text.trim();
  if (trimmed === '' || trimmed.toLowerCase() === 'off') return { ok: true, windows: [] };

  const windows: RateWindow[] = [];
  const seen = new Set<string>();
  for (const raw of trimmed.split(';')) {
    const part = raw.trim();
    const slash = part.indexOf('/');
    const count = slash < 0 ? '' : part.slice(0, slash).trim();
    const unit = slash < 0 ? '' : part.slice(slash + 1).trim();
    if (!Object.hasOwn(UNIT_SECONDS, unit)) {
      return {
        ok: false,
        error: `must look like "5/minute;20/hour" (units: ${Object.keys(UNIT_SECONDS).join(', ')}), got '${part}'`,
      };
    }
    const points = Number(count);
    if (!COUNT.test(count) || !Number.isSafeInteger(points)) {
      return { ok: false, error: `count must be a positive integer, got '${part}'` };
    }
    // Two windows of one unit would share a counter, and only the smaller count could ever apply.
    if (seen.has(unit)) return { ok: false, error: `has more than one window per ${unit}, got '${trimmed}'` };
    seen.add(unit);
    windows.push({ points, durationSec: UNIT_SECONDS[unit]! });
  }
  return { ok: true, windows };
}
