import { MAX_PASSWORD_BYTES } from '../auth/passwords.js';
import { hasControlChars, MAX_USERNAME_LENGTH, normaliseUsername } from '../auth/username.js';

/**
 * The credentials of a sign-in form, read once: the username and password as strings, or why they
 * cannot be credentials at all. Pure; the handler answers 400 and counts a malformed form as a
 * failure for the address.
 *
 * The form parser is lenient where we must not be: a percent-escape that is not UTF-8 (`%FF`, or a
 * lone surrogate written `%ED%A0%80`) comes through as the literal text `%FF`, and raw bytes that are
 * not UTF-8 as U+FFFD. So the raw body is checked too, and such a form is refused, never hashed.
 */

export type Credentials =
  | { readonly ok: true; readonly username: string; readonly password: string }
  | { readonly ok: false; readonly problem: 'missing' | 'malformed' | 'too long'; readonly message: string };

const FIELDS = ['username', 'password'] as const;

/** Half of a surrogate pair without its other half: no character at all (String#isWellFormed, before ES2024 typings). */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export function readCredentials(body: unknown, rawBody: unknown): Credentials {
  const values = FIELDS.map((name) => (body as Record<string, unknown> | undefined)?.[name]);
  if (values.some((v) => v !== undefined && typeof v !== 'string')) return malformed();
  if (typeof rawBody === 'string' && !rawFieldsAreUtf8(rawBody, FIELDS)) return malformed();
  const username = ((values[0] as string | undefined) ?? '').trim();
  const password = (values[1] as string | undefined) ?? '';
  if (!username || !password) return { ok: false, problem: 'missing', message: 'Enter your username and password.' };
  if (![username, password].every(isTypeable)) return malformed();
  if (Buffer.byteLength(password) > MAX_PASSWORD_BYTES) {
    return { ok: false, problem: 'too long', message: `Passwords are limited to ${MAX_PASSWORD_BYTES} bytes.` };
  }
  // No user can have a longer name; refusing it here keeps throttle keys and log lines small.
  if ([...normaliseUsername(username)].length > MAX_USERNAME_LENGTH) {
    return { ok: false, problem: 'too long', message: `Usernames are at most ${MAX_USERNAME_LENGTH} characters.` };
  }
  return { ok: true, username, password };
}

/** U+FFFD: bytes that were not UTF-8; NUL and other controls: never part of a name, never typed into a password box. */
export function isTypeable(text: string): boolean {
  return !LONE_SURROGATE.test(text) && !text.includes('\uFFFD') && !hasControlChars(text);
}

function malformed(): Credentials {
  return { ok: false, problem: 'malformed', message: 'The username or password holds characters that cannot be part of one. Type them again.' };
}

/** Whether every percent-escape of `fields` (the username and password) in an urlencoded body decodes as UTF-8. */
export function rawFieldsAreUtf8(rawBody: string, fields: readonly string[]): boolean {
  for (const pair of rawBody.split('&')) {
    const eq = pair.indexOf('=');
    const name = eq < 0 ? pair : pair.slice(0, eq);
    if (!fields.includes(name)) continue;
    try {
      decodeURIComponent(pair.slice(eq + 1).replace(/\+/g, ' '));
    } catch {
      return false;
    }
  }
  return true;
}
