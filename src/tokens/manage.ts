/**
 * App passwords as their owners and operators manage them: create, list, revoke. One module for
 * `postern token` (cli/token-command.ts) and the account page (handlers/account-tokens.ts), so both
 * read the same input the same way and write the users file the same way (editUsersFile, one lock).
 *
 * The parsers take what a person typed (a CLI option, a form field) and answer a value or a reason,
 * worded without the option's name: the caller puts `--expires` or "Expires" in front.
 */
import { editUsersFile } from '../auth/users-file-writer.js';
import type { User } from '../auth/user.js';
import { normaliseUsername } from '../auth/username.js';
import { parseDuration } from '../config/duration.js';
import { isWithinDomain } from '../net/domain.js';
import { generateToken, isTokenId, type AppPassword } from './app-password.js';
import type { TokenUseStore } from './last-use.js';

export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const refused = <T>(error: string): Parsed<T> => ({ ok: false, error });

/** Longest name kept: it is shown in lists and stored in the users file. */
export const MAX_TOKEN_NAME = 100;
/** Most hosts one app password may name. */
export const MAX_TOKEN_HOSTS = 50;

/** What the app password is for ("immich phone"): printable, not empty. */
export function parseTokenName(text: string): Parsed<string> {
  const name = text.trim();
  if (name === '') return refused('must not be empty: say what the app password is for, such as “immich phone”');
  if (/[\p{Cc}\p{Cf}\u2028\u2029]/u.test(name)) return refused('must not hold control or invisible characters');
  if ([...name].length > MAX_TOKEN_NAME) return refused(`must be at most ${MAX_TOKEN_NAME} characters`);
  return ok(name);
}

/** A duration (`90d`) from now, or a date (`2027-01-31`); in the future either way. Epoch ms. */
export function parseTokenExpiry(text: string, now: number): Parsed<number> {
  const duration = parseDuration(text);
  if (duration !== undefined) return duration > 0 ? ok(now + duration) : refused(`${text} is not in the future`);
  const at = /^\d{4}-\d\d-\d\d/.test(text) ? Date.parse(text) : Number.NaN;
  if (Number.isNaN(at)) return refused(`must be a duration such as 90d or a date such as 2027-01-31, got '${printable(text)}'`);
  return at > now ? ok(at) : refused(`${text} is in the past`);
}

const HOST = /^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/;

/** Comma-separated host names within `domain`, `*.name` for every name under one. */
export function parseTokenHosts(text: string, domain: string): Parsed<string[]> {
  const hosts = text
    .split(',')
    .map((h) => h.trim().toLowerCase())
    .filter((h) => h !== '');
  if (hosts.length === 0) return refused('needs at least one host name');
  if (hosts.length > MAX_TOKEN_HOSTS) return refused(`may name at most ${MAX_TOKEN_HOSTS} hosts`);
  for (const host of hosts) {
    if (!HOST.test(host)) return refused(`'${printable(host)}' is not a host name`);
    const bare = host.startsWith('*.') ? host.slice(2) : host;
    if (!isWithinDomain(bare, domain)) return refused(`${host} is outside session.domain (${domain}); Postern protects only hosts within it`);
  }
  return ok(hosts);
}

/** A token id as a person typed it: only ids of the right shape are looked up. */
export function parseTokenId(text: string): Parsed<string> {
  const id = text.trim();
  return isTokenId(id) ? ok(id) : refused(`'${printable(id)}' is not an app password ID`);
}

/** Up to 40 characters of `text`, control characters shown as `?`: for echoing bad input in a message. */
function printable(text: string): string {
  return text.slice(0, 40).replace(/[\p{Cc}\p{Cf}\u2028\u2029]/gu, '?');
}

/** What a new app password is: its name and limits, already parsed. */
export interface AppPasswordSpec {
  readonly name: string;
  readonly expires?: number;
  readonly hosts?: readonly string[];
  readonly readOnly: boolean;
}

/** No such user in the users file (as it is under the lock): nothing was written. */
export class NoSuchUserError extends Error {
  override readonly name = 'NoSuchUserError';
  constructor(readonly username: string) {
    super(`no user '${username}'`);
  }
}

/**
 * Adds an app password to `username`'s entry and returns the token, which exists only in this
 * return value (the file keeps its SHA-256). Rejects with NoSuchUserError, or the file system's
 * error (EROFS, EACCES, ...) when the users file cannot be written.
 */
export async function createAppPassword(usersFile: string, username: string, spec: AppPasswordSpec, now: number): Promise<{ token: string; entry: AppPassword }> {
  const user = normaliseUsername(username);
  const { token, id, hash } = generateToken();
  const entry: AppPassword = {
    id,
    name: spec.name,
    hash,
    created: now,
    readOnly: spec.readOnly,
    ...(spec.expires === undefined ? {} : { expires: spec.expires }),
    ...(spec.hosts === undefined ? {} : { hosts: [...spec.hosts] }),
  };
  await editUsersFile(usersFile, (file) => {
    if (!file.users.has(user)) throw new NoSuchUserError(username);
    file.addAppPassword(user, entry);
  });
  return { token, entry };
}

/**
 * Removes app password `id`. With `owner`, only from that user: someone else's id is "not found",
 * and nothing is removed. Resolves with the owner's username, or undefined when no (such) app
 * password exists.
 */
export async function revokeAppPassword(usersFile: string, id: string, owner?: string): Promise<string | undefined> {
  const only = owner === undefined ? undefined : normaliseUsername(owner);
  return editUsersFile(usersFile, (file) => {
    for (const u of file.users.values()) {
      if (only !== undefined && u.username !== only) continue;
      if (u.appPasswords?.some((t) => t.id === id)) {
        file.removeAppPassword(u.username, id);
        return u.username;
      }
    }
    return undefined;
  });
}

/** One app password with its owner and last use (undefined: none recorded, or unknown). */
export interface AppPasswordRow {
  readonly user: string;
  readonly token: AppPassword;
  readonly lastUse: number | undefined;
}

/** The app passwords of `users`, in file order, with their last use when `uses` is given. */
export async function listAppPasswords(users: Iterable<User>, uses?: TokenUseStore): Promise<AppPasswordRow[]> {
  const rows = [...users].flatMap((u) => (u.appPasswords ?? []).map((token) => ({ user: u.username, token })));
  const seen = uses && rows.length > 0 ? await uses.lastUse(rows.map((r) => r.token.id)) : undefined;
  return rows.map((r) => ({ ...r, lastUse: seen?.get(r.token.id) }));
}
