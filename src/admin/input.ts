/**
 * The admin page's forms, read: the one parser of what an admin posts. Each action's fields become
 * a typed command, or one problem in words for the page (nothing is written then). Whether the user
 * exists is asked later, under the users-file lock, of the file as it is then.
 *
 * Roles and groups refuse a comma (groups travel comma-separated in one header: a comma would forge
 * a second group, and a role is read the same way by the apps behind) and any control character (a
 * CR or LF would forge a header). Groups are given one per line.
 */
import { MAX_PASSWORD_BYTES } from '../auth/passwords.js';
import { hasControlChars, normaliseUsername, validateUsername } from '../auth/username.js';
import { formField } from '../http/form-field.js';
import { parseIp } from '../net/cidr.js';
import { parseTokenId } from '../tokens/manage.js';

export type AdminCommand =
  | {
      readonly action: 'add-user';
      readonly username: string;
      readonly role: string;
      readonly groups: readonly string[];
      readonly name: string;
      readonly email: string;
      /** undefined: generate one and show it once. */
      readonly password: string | undefined;
    }
  | { readonly action: 'set-role'; readonly username: string; readonly role: string; readonly groups: readonly string[] }
  | { readonly [A in UserAction]: { readonly action: A; readonly username: string } }[UserAction]
  | { readonly action: 'revoke-session'; readonly handle: string }
  | { readonly action: 'clear-throttle'; readonly by: { readonly user: string } | { readonly ip: string } }
  | { readonly action: 'revoke-token'; readonly id: string };

/** The actions that name one user and nothing else. */
export const USER_ACTIONS = ['disable', 'enable', 'reset-password', 'reset-factors', 'remove', 'revoke-sessions'] as const;
export type UserAction = (typeof USER_ACTIONS)[number];

export const ADMIN_ACTIONS: ReadonlySet<string> = new Set(['add-user', 'set-role', ...USER_ACTIONS, 'revoke-session', 'clear-throttle', 'revoke-token']);

export type ParsedForm = { readonly ok: true; readonly command: AdminCommand } | { readonly ok: false; readonly problem: string };

class Problem extends Error {}

/** A form field as a string ('' when absent or not a string). */
function field(body: unknown, name: string): string {
  return formField(body, name) ?? '';
}

function username(body: unknown): string {
  const raw = field(body, 'user').trim();
  if (raw === '') throw new Problem('Give a username.');
  const problem = validateUsername(raw);
  if (problem !== undefined) throw new Problem(`The username ${printable(raw)} ${problem}.`);
  return normaliseUsername(raw);
}

/** A role or group: not empty, no comma, no control character. */
function label(kind: 'role' | 'group', value: string): string {
  if (hasControlChars(value)) throw new Problem(`The ${kind} ${printable(value)} contains a control character.`);
  if (value.includes(',')) throw new Problem(`The ${kind} ${printable(value)} contains a comma, which separates groups in the identity headers${kind === 'group' ? ': put one group per line' : ''}.`);
  return value;
}

function role(body: unknown): string {
  const value = field(body, 'role').trim();
  if (value === '') throw new Problem('Give a role (user, admin, viewer, or a role of your own).');
  return label('role', value);
}

/** One group per line; blank lines ignored, duplicates dropped. */
function groups(body: unknown): string[] {
  const lines = field(body, 'groups').split(/\r?\n/).map((g) => g.trim()).filter((g) => g !== '');
  return [...new Set(lines.map((g) => label('group', g)))];
}

function plain(body: unknown, name: 'name' | 'email'): string {
  const value = field(body, name).trim();
  if (hasControlChars(value)) throw new Problem(`The ${name} contains a control character.`);
  return value;
}

function password(body: unknown, minLength: number): string | undefined {
  if (field(body, 'password_mode') !== 'set') return undefined;
  const value = field(body, 'password');
  const length = [...value].length;
  if (length < minLength) throw new Problem(`The password has ${length} character${length === 1 ? '' : 's'}, fewer than users.min_password_length (${minLength}). Choose a longer one, or let Postern generate one.`);
  if (Buffer.byteLength(value, 'utf8') > MAX_PASSWORD_BYTES) throw new Problem(`The password is longer than ${MAX_PASSWORD_BYTES} bytes.`);
  return value;
}

function throttleTarget(body: unknown): { user: string } | { ip: string } {
  const ip = field(body, 'ip').trim();
  if (ip === '') return { user: username(body) };
  // An IPv6 counter is kept per /64 and listed as such (auth/login-throttle.ts addressKey).
  if (parseIp(ip) === undefined && !/^[0-9a-f:]+\/64$/i.test(ip)) throw new Problem(`${printable(ip)} is not an IP address.`);
  return { ip };
}

/** `?user=` of GET /admin: the user to show, normalised; undefined when absent or not a username. */
export function selectedUser(query: unknown): string | undefined {
  const raw = field(query, 'user').trim();
  return raw === '' || validateUsername(raw) !== undefined ? undefined : normaliseUsername(raw);
}

/** The command an admin posted to `/admin/<action>`; the action is one of ADMIN_ACTIONS. */
export function parseAdminForm(action: string, body: unknown, rules: { readonly minPasswordLength: number }): ParsedForm {
  try {
    return { ok: true, command: command(action, body, rules) };
  } catch (err) {
    if (err instanceof Problem) return { ok: false, problem: err.message };
    throw err;
  }
}

function command(action: string, body: unknown, rules: { readonly minPasswordLength: number }): AdminCommand {
  switch (action) {
    case 'add-user':
      return { action, username: username(body), role: role(body), groups: groups(body), name: plain(body, 'name'), email: plain(body, 'email'), password: password(body, rules.minPasswordLength) };
    case 'set-role':
      return { action, username: username(body), role: role(body), groups: groups(body) };
    case 'revoke-session': {
      const handle = field(body, 'session').trim().toLowerCase();
      if (!/^[0-9a-f]{8,64}$/.test(handle)) throw new Problem('That is not a session ID (the ID column of the sessions list).');
      return { action, handle };
    }
    case 'clear-throttle':
      return { action, by: throttleTarget(body) };
    case 'revoke-token': {
      const id = parseTokenId(field(body, 'token'));
      if (!id.ok) throw new Problem('That is not an app password ID (the ID column of the app passwords list).');
      return { action, id: id.value };
    }
    case 'remove': {
      const name = username(body);
      // Irreversible (the hash and the app passwords go): the form asks for a tick, not just a click.
      if (field(body, 'confirm') !== 'yes') throw new Problem(`Tick "Yes, remove ${name}" to remove them.`);
      return { action, username: name };
    }
    default:
      if ((USER_ACTIONS as readonly string[]).includes(action)) return { action: action as UserAction, username: username(body) };
      throw new Problem(`There is no admin action ${printable(action)}.`);
  }
}

/** An input echoed back in a message: quoted, control characters escaped. */
function printable(s: string): string {
  return JSON.stringify(s.length > 80 ? `${s.slice(0, 80)}…` : s);
}
