/**
 * The change-password form of the account page, read once: the current password and the new one
 * (typed twice), or what is wrong with them in words the person can act on. Pure; the handler counts
 * a wrong current password in the sign-in throttle, which this module knows nothing about.
 */
import { MAX_PASSWORD_BYTES } from '../auth/passwords.js';
import { isTypeable, rawFieldsAreUtf8 } from '../http/login-form.js';

export const PASSWORD_FIELDS = ['current', 'password', 'confirm'] as const;

export type PasswordForm =
  | { readonly ok: true; readonly current: string; readonly password: string }
  | { readonly ok: false; readonly problem: 'missing' | 'malformed' | 'mismatch' | 'too short' | 'too long' | 'unchanged'; readonly message: string };

export function readPasswordForm(body: unknown, rawBody: unknown, minLength: number): PasswordForm {
  const values = PASSWORD_FIELDS.map((name) => (body as Record<string, unknown> | undefined)?.[name]);
  if (values.some((v) => v !== undefined && typeof v !== 'string')) return malformed();
  if (typeof rawBody === 'string' && !rawFieldsAreUtf8(rawBody, PASSWORD_FIELDS)) return malformed();
  const [current = '', password = '', confirm = ''] = values as Array<string | undefined>;
  if (!current || !password || !confirm) return refused('missing', 'Enter your current password, and the new one twice.');
  if (![current, password, confirm].every(isTypeable)) return malformed();
  if ([current, password].some((p) => Buffer.byteLength(p) > MAX_PASSWORD_BYTES)) return refused('too long', `Passwords are limited to ${MAX_PASSWORD_BYTES} bytes.`);
  if (password !== confirm) return refused('mismatch', 'The new password and its repetition differ. Type the new password twice.');
  const length = [...password].length;
  if (length < minLength) return refused('too short', `The new password has ${length} character${length === 1 ? '' : 's'}; it needs at least ${minLength}.`);
  if (password === current) return refused('unchanged', 'The new password is the current one. Choose a different one.');
  return { ok: true, current, password };
}

function refused(problem: Exclude<PasswordForm, { ok: true }>['problem'], message: string): PasswordForm {
  return { ok: false, problem, message };
}

function malformed(): PasswordForm {
  return refused('malformed', 'A password holds characters that cannot be typed into one. Type them again.');
}
