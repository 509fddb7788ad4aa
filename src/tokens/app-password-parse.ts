/**
 * The `app_passwords:` list of a user in the users file (users-file-parse.ts calls this):
 *
 *   app_passwords:
 *     - id: Xk3b9QaZ                     # 8 base62 characters, unique across the file
 *       name: immich phone
 *       hash: "<sha256 hex of the secret>"
 *       created: "2026-12-02T03:00:00.000Z"
 *       expires: "2027-03-02T03:00:00.000Z"   # optional
 *       hosts: [photos.example.com]           # optional: default every host the user may reach
 *       read_only: true                       # optional: default false
 *
 * Every problem names its key path; a hash is never quoted back.
 */
import { hasControlChars } from '../auth/username.js';
import { parseIsoTime } from '../util/iso-time.js';
import { type AppPassword, isSecretHash, isTokenId } from './app-password.js';

export const APP_PASSWORDS_KEY = 'app_passwords';
export const APP_PASSWORD_KEYS = ['id', 'name', 'hash', 'created', 'expires', 'hosts', 'read_only'] as const;
const HOST = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/;

/** Parses the list at `at` (`users.alice.app_passwords`); problems go to `problems`. */
export function parseAppPasswords(raw: unknown, at: string, problems: string[]): AppPassword[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) {
    problems.push(`${at} must be a list of app passwords (written by 'postern token create')`);
    return [];
  }
  const out: AppPassword[] = [];
  raw.forEach((entry: unknown, i) => {
    const parsed = parseEntry(entry, `${at}[${i}]`, problems);
    if (parsed) out.push(parsed);
  });
  return out;
}

function parseEntry(value: unknown, at: string, problems: string[]): AppPassword | undefined {
  if (!(value instanceof Map)) {
    problems.push(`${at} must be a mapping with id, name, hash and created`);
    return undefined;
  }
  const entry = value as Map<unknown, unknown>;
  const before = problems.length;
  for (const key of entry.keys()) {
    if (typeof key !== 'string' || !(APP_PASSWORD_KEYS as readonly string[]).includes(key)) {
      problems.push(`${at}.${JSON.stringify(String(key))} is not a known key (${APP_PASSWORD_KEYS.join(', ')})`);
    }
  }
  const id = entry.get('id');
  if (typeof id !== 'string' || !isTokenId(id)) problems.push(`${at}.id must be 8 letters or digits`);
  const name = entry.get('name');
  if (typeof name !== 'string' || name === '' || hasControlChars(name)) problems.push(`${at}.name must be a non-empty string without control characters`);
  const hash = entry.get('hash');
  if (typeof hash !== 'string' || !isSecretHash(hash)) problems.push(`${at}.hash must be the 64 hex digits 'postern token create' wrote`);
  const created = parseIsoTime(entry.get('created'), `${at}.created`, problems, true);
  const expires = parseIsoTime(entry.get('expires'), `${at}.expires`, problems, false);

  let hosts: string[] | undefined;
  const rawHosts = entry.get('hosts');
  if (rawHosts !== undefined && rawHosts !== null) {
    if (!Array.isArray(rawHosts) || rawHosts.length === 0) problems.push(`${at}.hosts must be a non-empty list of host names (omit it for every host)`);
    else {
      hosts = [];
      rawHosts.forEach((h: unknown, j) => {
        if (typeof h !== 'string' || !HOST.test(h)) problems.push(`${at}.hosts[${j}] must be a lower-case host name such as photos.example.com`);
        else hosts!.push(h);
      });
    }
  }
  const rawReadOnly = entry.get('read_only');
  if (rawReadOnly !== undefined && rawReadOnly !== null && typeof rawReadOnly !== 'boolean') problems.push(`${at}.read_only must be true or false`);

  if (problems.length > before) return undefined;
  const token: AppPassword = {
    id: id as string,
    name: name as string,
    hash: hash as string,
    created: created!,
    readOnly: rawReadOnly === true,
    ...(expires === undefined ? {} : { expires }),
    ...(hosts === undefined ? {} : { hosts: Object.freeze(hosts) }),
  };
  return Object.freeze(token);
}
