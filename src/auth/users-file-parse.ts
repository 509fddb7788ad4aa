/**
 * Reading the users file: a YAML mapping of username to password hash and identity.
 *
 *   users:
 *     alice:
 *       password: "$argon2id$v=19$m=19456,t=2,p=1$..."   # or pbkdf2_sha256$600000$<salt>$<base64>, or bcrypt $2y$12$...
 *       role: admin                # default 'user'
 *       groups: [family]           # default []
 *       email: alice@example.com   # default ''
 *       name: Alice                # default ''
 *       disabled: false            # default false
 *       session_fingerprint: "..." # written by a sign-in rehash, see carried-fingerprint.ts
 *       app_passwords: [...]       # written by `postern token create`, see tokens/app-password-parse.ts
 *       factors: {...}             # second factors, see factors/factors.ts
 *
 * Parsing collects every problem at once and never throws.
 */
import { parseDocument } from 'yaml';
import { CARRIED_FINGERPRINT_KEY, carriedFingerprintFor, isCarriedFingerprint } from './carried-fingerprint.js';
import { isSupportedHash } from './passwords.js';
import { FACTORS_KEY } from '../factors/factors.js';
import { parseFactors } from '../factors/factors-parse.js';
import { PASSKEYS_KEY } from '../factors/passkey-parse.js';
import { APP_PASSWORDS_KEY, parseAppPasswords } from '../tokens/app-password-parse.js';
import type { User } from './user.js';
import { hasControlChars, normaliseUsername, validateUsername } from './username.js';

export interface UsersFileResult {
  /** Keyed by normalised username. Empty whenever `problems` is not: a file with a problem is not used at all. */
  users: Map<string, User>;
  /** Every problem found, each naming its key path (`users.bob.password ...`). Never contains a hash. */
  problems: string[];
}

export const USER_KEYS = ['password', 'role', 'groups', 'email', 'name', 'disabled', CARRIED_FINGERPRINT_KEY, APP_PASSWORDS_KEY, FACTORS_KEY] as const;
export const DEFAULT_ROLE = 'user';
const MAX_ALIASES = 100;

/** Parses the users file text. Never throws: everything wrong is in `problems`. */
export function parseUsersFile(text: string, source = 'users file'): UsersFileResult {
  const invalid = (problems: string[]): UsersFileResult => ({ users: new Map(), problems });

  let root: unknown;
  try {
    const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
    if (doc.errors.length > 0) {
      // First line only: the rest is an excerpt of the file, which may hold a hash.
      return invalid(doc.errors.map((e) => `${source} is not valid YAML: ${firstLine(e.message)}`));
    }
    // Maps, not objects: a username such as `__proto__` stays an ordinary key.
    root = doc.toJS({ mapAsMap: true, maxAliasCount: MAX_ALIASES });
  } catch (err) {
    return invalid([`${source} is not valid YAML: ${firstLine(errorMessage(err))}`]);
  }

  if (!(root instanceof Map)) return invalid([`${source} must be a mapping with a 'users' key`]);
  const problems: string[] = [];
  for (const key of root.keys()) {
    if (key !== 'users') problems.push(`${displayKey(key)} is not a known key (expected only 'users')`);
  }
  const entries: unknown = root.get('users');
  if (!(entries instanceof Map)) {
    problems.push(`users must be a mapping of username to user (write 'users: {}' for none)`);
    return invalid(problems);
  }

  const users = new Map<string, User>();
  const rawNames = new Map<string, string>(); // normalised -> as written, to name both sides of a clash
  for (const [rawKey, value] of entries as Map<unknown, unknown>) {
    if (typeof rawKey !== 'string') {
      problems.push(`users.${displayKey(rawKey)} must be written as a quoted string to be a username`);
      continue;
    }
    const at = `users.${displayKey(rawKey)}`;
    const nameProblem = validateUsername(rawKey);
    if (nameProblem !== undefined) {
      problems.push(`${at} is not a valid username: it ${nameProblem}`);
      continue;
    }
    const username = normaliseUsername(rawKey);
    const earlier = rawNames.get(username);
    if (earlier !== undefined) {
      problems.push(`users.${displayKey(earlier)} and ${at} are the same user after normalisation`);
      continue;
    }
    rawNames.set(username, rawKey);
    const user = parseUser(username, value, at, problems);
    if (user !== undefined) users.set(username, user);
  }
  // An app password is found by its id alone, and so is a passkey at a passwordless sign-in: two with one id would make the lookup ambiguous.
  uniqueIds(users, APP_PASSWORDS_KEY, (u) => (u.appPasswords ?? []).map((t) => t.id), problems);
  uniqueIds(users, `${FACTORS_KEY}.${PASSKEYS_KEY}`, (u) => (u.factors?.passkeys ?? []).map((p) => p.id), problems);
  return problems.length > 0 ? invalid(problems) : { users, problems };
}

function uniqueIds(users: ReadonlyMap<string, User>, key: string, idsOf: (user: User) => readonly string[], problems: string[]): void {
  const owners = new Map<string, string>();
  for (const user of users.values()) {
    for (const id of idsOf(user)) {
      const other = owners.get(id);
      if (other !== undefined) problems.push(`users.${displayKey(user.username)}.${key}: id ${id} is also used by ${displayKey(other)}; ids must be unique`);
      owners.set(id, user.username);
    }
  }
}

function parseUser(username: string, value: unknown, at: string, problems: string[]): User | undefined {
  if (!(value instanceof Map)) {
    problems.push(`${at} must be a mapping with at least a password`);
    return undefined;
  }
  const entry = value as Map<unknown, unknown>;
  const before = problems.length;
  for (const key of entry.keys()) {
    if (typeof key !== 'string' || !(USER_KEYS as readonly string[]).includes(key)) {
      problems.push(`${at}.${displayKey(key)} is not a known key (${USER_KEYS.join(', ')})`);
    }
  }

  let password = '';
  const rawPassword = entry.get('password');
  if (rawPassword === undefined || rawPassword === null) {
    problems.push(`${at}.password is missing`);
  } else if (typeof rawPassword !== 'string') {
    problems.push(`${at}.password must be a string`);
  } else if (!isSupportedHash(rawPassword)) {
    problems.push(`${at}.password is not a supported hash (argon2id, pbkdf2_sha256 of at least 100000 iterations, or bcrypt $2a$/$2b$/$2y$ of cost 10 to 15)`);
  } else {
    password = rawPassword;
  }

  const text = (key: 'role' | 'email' | 'name', fallback: string): string => {
    const v = entry.get(key);
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'string') {
      problems.push(`${at}.${key} must be a string, got ${describe(v)}`);
      return fallback;
    }
    if (hasControlChars(v)) problems.push(`${at}.${key} contains a control character`);
    return v;
  };
  const role = text('role', DEFAULT_ROLE);
  if (role === '') problems.push(`${at}.role must not be empty (omit it for '${DEFAULT_ROLE}')`);
  const email = text('email', '');
  const name = text('name', '');

  const groups: string[] = [];
  const rawGroups = entry.get('groups');
  if (rawGroups !== undefined && rawGroups !== null) {
    if (!Array.isArray(rawGroups)) {
      problems.push(`${at}.groups must be a list such as [family, admins], got ${describe(rawGroups)}`);
    } else {
      rawGroups.forEach((g: unknown, i) => {
        const gat = `${at}.groups[${i}]`;
        if (typeof g !== 'string') problems.push(`${gat} must be a string, got ${describe(g)}`);
        else if (g === '') problems.push(`${gat} must not be empty`);
        else if (hasControlChars(g)) problems.push(`${gat} contains a control character`);
        // Groups travel comma-separated in one header: a comma would forge a second group.
        else if (g.includes(',')) problems.push(`${gat} contains ',', which separates groups in the groups header`);
        else groups.push(g);
      });
    }
  }

  let disabled = false;
  const rawDisabled = entry.get('disabled');
  if (rawDisabled !== undefined && rawDisabled !== null) {
    if (typeof rawDisabled === 'boolean') disabled = rawDisabled;
    else problems.push(`${at}.disabled must be true or false, got ${describe(rawDisabled)}`);
  }

  let sessionFingerprint: string | undefined;
  const rawCarried = entry.get(CARRIED_FINGERPRINT_KEY);
  if (rawCarried !== undefined && rawCarried !== null) {
    if (typeof rawCarried !== 'string' || !isCarriedFingerprint(rawCarried)) {
      problems.push(`${at}.${CARRIED_FINGERPRINT_KEY} is not one Postern wrote; delete the line (the user's sessions then end)`);
    } else {
      // Written for another hash (the password was replaced since): ignored, so the replacement ends sessions.
      sessionFingerprint = carriedFingerprintFor(rawCarried, password);
    }
  }

  const appPasswords = parseAppPasswords(entry.get(APP_PASSWORDS_KEY), `${at}.${APP_PASSWORDS_KEY}`, problems);
  const factors = parseFactors(entry.get(FACTORS_KEY), `${at}.${FACTORS_KEY}`, problems);

  if (problems.length > before) return undefined;
  const user: User = { username, password, role, groups: Object.freeze(groups), email, name, disabled, ...(factors ? { factors } : {}) };
  const withTokens = appPasswords.length === 0 ? user : { ...user, appPasswords: Object.freeze(appPasswords) };
  return Object.freeze(sessionFingerprint === undefined ? withTokens : { ...withTokens, sessionFingerprint });
}

// A key as it can be shown in a problem: plain when harmless, JSON-quoted otherwise, so a name with
// a newline cannot forge a log line.
function displayKey(key: unknown): string {
  const s = typeof key === 'string' ? key : String(key);
  return /^[\p{L}\p{N}_@.+-]+$/u.test(s) ? s : JSON.stringify(s);
}

function describe(v: unknown): string {
  if (Array.isArray(v)) return 'a list';
  if (v instanceof Map) return 'a mapping';
  return typeof v === 'string' ? 'a string' : `${typeof v} ${String(v)}`;
}

function firstLine(s: string): string {
  return s.split('\n', 1)[0]?.trim() ?? '';
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
