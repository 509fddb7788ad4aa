/**
 * The leaf builders and checks every section of the configuration schema (config/schema.ts) shares.
 * Each builder takes the one message said for every way the value can be wrong.
 */
import { z } from 'zod';
import { parseRateLimit } from '../auth/rate-limit-spec.js';
import { parseDuration } from './duration.js';

export const MAPPING = 'must be a mapping';

export function integer(min: number, max: number) {
  const error = `must be an integer between ${min} and ${max}`;
  return z.number({ error }).int({ error }).min(min, { error }).max(max, { error });
}

export function text(error: string, valid: (value: string) => boolean = (value) => value.length > 0) {
  return z.string({ error }).refine(valid, { error });
}

/** A duration between `min` and `max`; with `off`, 0 is also allowed and means "disabled". */
export function duration(min: string, max: string, { off = false } = {}) {
  const minMs = parseDuration(min)!;
  const maxMs = parseDuration(max)!;
  const range = off ? `must be 0 (off) or between ${min} and ${max}` : `must be between ${min} and ${max}`;
  const examples = "a duration such as '24h', '30m' or '2h30m'";
  const syntax = `must be ${off ? `0 (off) or ${examples}` : examples}, between ${min} and ${max}`;
  return z.union([z.string(), z.number()], { error: syntax }).transform((value, ctx) => {
    // A bare number is only 0: '3600' could mean seconds or milliseconds, so it needs a unit.
    const ms = typeof value === 'number' ? (value === 0 ? 0 : undefined) : parseDuration(value);
    if (ms === undefined) {
      ctx.addIssue({ code: 'custom', message: syntax, input: value });
      return z.NEVER;
    }
    if (!(off && ms === 0) && (ms < minMs || ms > maxMs)) {
      ctx.addIssue({ code: 'custom', message: range, input: value });
      return z.NEVER;
    }
    return ms;
  });
}

const HOSTNAME = /^(?=.{1,253}$)[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*$/i;

export function isHostname(value: string): boolean {
  return HOSTNAME.test(value);
}

export const HTTP_TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** A rate limit in the notation `"5/minute;20/hour"`; `off` (or '') disables it. */
export function rateLimit(fallback: string) {
  return z
    .string({ error: 'must be a rate limit such as "5/minute;20/hour", or off' })
    .default(fallback)
    .transform((value, ctx) => {
      const parsed = parseRateLimit(value);
      if (parsed.ok) return parsed.windows;
      ctx.addIssue({ code: 'custom', message: parsed.error, input: value });
      return z.NEVER;
    });
}
