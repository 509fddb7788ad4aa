/**
 * Usernames: one normal form for lookups, storage and the Remote-User header, and the
 * rules a username must follow. The users file, the login handler and the CLI all go through here.
 */

export const MAX_USERNAME_LENGTH = 64;

/**
 * NFKC, then lower-case, so `ＡＬＩＣＥ` (full-width), `Alice` and `alice` are one user.
 *
 * `toLowerCase()`, not `toLocaleLowerCase()`: the locale variant depends on the server's
 * locale (Turkish lower-cases `I` to dotless `ı`), so the same file would map a name to
 * different users on different machines. The locale-independent mapping is stable everywhere.
 * NFKC then lower-case is idempotent for every code point, so normalising a stored key again is a no-op.
 */
export function normaliseUsername(input: string): string {
  return input.normalize('NFKC').toLowerCase();
}

// C0 controls (incl. TAB, LF, CR), DEL, C1 controls, LINE SEPARATOR and PARAGRAPH SEPARATOR.
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/u;

/** True when `s` holds a character that could split or forge a header or a log line. */
export function hasControlChars(s: string): boolean {
  return CONTROL_CHARS.test(s);
}

// Invisible formatting characters (bidi overrides, zero-width joiners, soft hyphen): two names that
// look identical on screen must not be two different users.
const FORMAT_CHARS = /\p{Cf}/u;
const WHITESPACE = /\s/u;

/**
 * Checks a username as typed (before normalisation). Returns what is wrong, phrased to follow the
 * name ("username 'bo b' contains whitespace"), or undefined when the name is acceptable.
 */
export function validateUsername(raw: string): string | undefined {
  if (hasControlChars(raw)) return 'contains a control character';
  const name = normaliseUsername(raw);
  if (name.length === 0) return 'is empty';
  // Counted in code points, as a person would count characters.
  const length = [...name].length;
  if (length > MAX_USERNAME_LENGTH) {
    return `is ${length} characters long after normalisation; the limit is ${MAX_USERNAME_LENGTH}`;
  }
  if (hasControlChars(name)) return 'contains a control character';
  if (WHITESPACE.test(name)) return 'contains whitespace';
  if (FORMAT_CHARS.test(name)) return 'contains an invisible formatting character';
  for (const ch of [',', ':', '/']) {
    // ',' separates groups in headers, ':' separates Basic credentials, '/' appears in paths and keys.
    if (name.includes(ch)) return `contains '${ch}', which is not allowed in a username`;
  }
  return undefined;
}
