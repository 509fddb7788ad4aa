/**
 * A date and time in the users file (`created`, `expires`, `at`), written by Postern as ISO 8601:
 * epoch ms, or undefined with a problem naming `at` (missing only when `required`).
 */
export function parseIsoTime(v: unknown, at: string, problems: string[], required: boolean): number | undefined {
  if (v === undefined || v === null) {
    if (required) problems.push(`${at} is missing`);
    return undefined;
  }
  const ms = typeof v === 'string' && /^\d{4}-\d\d-\d\dT/.test(v) ? Date.parse(v) : Number.NaN;
  if (Number.isNaN(ms)) {
    problems.push(`${at} must be a date and time such as "2026-12-02T03:00:00Z"`);
    return undefined;
  }
  return ms;
}
