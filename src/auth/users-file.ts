/**
 * The users file: a YAML mapping of username to password hash and identity, mode 0600.
 *
 *   users:
 *     alice:
 *       password: "$argon2id$v=19$m=19456,t=2,p=1$..."   # or pbkdf2_sha256$600000$<salt>$<base64>
 *       role: admin                # default 'user'
 *       groups: [family]           # default []
 *       email: alice@example.com   # default ''
 *       name: Alice                # default ''
 *       disabled: false            # default false
 *
 * Parsing collects every problem at once. UsersFile serves the last valid version and follows
 * edits without a restart; an invalid edit is reported and ignored.
 */
import { randomBytes } from 'node:crypto';
import {
  type FSWatcher,
  type Stats,
  type StatsListener,
  constants as fsConstants,
  unwatchFile,
  watch,
  watchFile,
} from 'node:fs';
import { copyFile, link, lstat, mkdir, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Document, isScalar, parseDocument, Scalar, visit } from 'yaml';
import { generatePassword, isSupportedHash, type PasswordHasher } from './passwords.js';
import type { User, UserDirectory } from './user.js';
import { hasControlChars, normaliseUsername, validateUsername } from './username.js';

export interface UsersFileResult {
  /** Keyed by normalised username. Empty whenever `problems` is not: a file with a problem is not used at all. */
  users: Map<string, User>;
  /** Every problem found, each naming its key path (`users.bob.password ...`). Never contains a hash. */
  problems: string[];
}

const USER_KEYS = ['password', 'role', 'groups', 'email', 'name', 'disabled'] as const;
const DEFAULT_ROLE = 'user';
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
  return problems.length > 0 ? invalid(problems) : { users, problems };
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

  if (problems.length > before) return undefined;
  return Object.freeze({ username, password, role, groups: Object.freeze(groups), email, name, disabled });
}

/** The users file text for `users`, sorted by username so that a rewrite changes only what changed. */
export function serialiseUsers(users: Iterable<User>): string {
  const sorted = [...users].sort((a, b) => (a.username < b.username ? -1 : a.username > b.username ? 1 : 0));
  const entries = new Map<string, Record<string, unknown>>();
  for (const u of sorted) {
    if (entries.has(u.username)) throw new Error(`user '${u.username}' appears twice; refusing to write`);
    entries.set(u.username, {
      password: u.password,
      role: u.role,
      groups: [...u.groups],
      email: u.email,
      name: u.name,
      disabled: u.disabled,
    });
  }
  const doc = new Document({ users: entries });
  visit(doc, {
    Seq(_key, node) {
      node.flow = true; // groups: [family, admins]
    },
    Pair(_key, pair) {
      // Quoted like the documented example, so a hand-written entry copied from it stays valid.
      if (isScalar(pair.key) && pair.key.value === 'password' && isScalar(pair.value)) {
        pair.value.type = Scalar.QUOTE_DOUBLE;
      }
    },
  });
  doc.commentBefore =
    ' Postern users. Edit by hand or with `postern user ...`; changes apply without a restart.\n' +
    ' Keep this file mode 0600: it holds password hashes.';
  return doc.toString({ flowCollectionPadding: false });
}

/**
 * Replaces the users file atomically: a temp file in the same directory (mode 0600), fsync, rename,
 * then fsync the directory. A reader sees the old file or the new one, never half of either.
 * Creates the parent directory (0700) when missing.
 */
export async function writeUsersFileAtomic(path: string, users: Iterable<User>): Promise<void> {
  await writeFileAtomic(path, serialiseUsers(users), { exclusive: false });
}

/** Returns false when `exclusive` and `path` already exists; nothing is written then. */
async function writeFileAtomic(path: string, text: string, opts: { exclusive: boolean }): Promise<boolean> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const existing = await stat(path).catch((err: unknown) => {
    if (isErrno(err, 'ENOENT')) return undefined;
    throw err;
  });
  const tmp = join(dir, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const fh = await open(tmp, 'wx', 0o600);
  try {
    try {
      await fh.chmod(0o600); // open's mode passes through the umask; state it outright
      await keepOwner(fh, existing);
      await fh.writeFile(text, 'utf8');
      await fh.sync();
    } finally {
      await fh.close();
    }
    if (opts.exclusive) {
      if (!(await linkExclusive(tmp, path))) {
        await unlink(tmp);
        return false;
      }
      await unlink(tmp);
    } else {
      await rename(tmp, path);
    }
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  await syncDirectory(dir);
  return true;
}

// When root runs the CLI on a file owned by the service account, the new file must stay readable by
// the service. Only root may chown; for anyone else the file already has the caller's owner.
async function keepOwner(fh: Awaited<ReturnType<typeof open>>, existing: Stats | undefined): Promise<void> {
  if (existing === undefined || process.getuid === undefined || process.getgid === undefined) return;
  if (existing.uid === process.getuid() && existing.gid === process.getgid()) return;
  await fh.chown(existing.uid, existing.gid).catch(() => undefined);
}

// link(2) fails with EEXIST instead of replacing: creation without a check-then-write race.
async function linkExclusive(tmp: string, path: string): Promise<boolean> {
  try {
    await link(tmp, path);
    return true;
  } catch (err) {
    if (isErrno(err, 'EEXIST')) return false;
    // Filesystems without hard links: O_EXCL copy, still never overwrites.
    try {
      await copyFile(tmp, path, fsConstants.COPYFILE_EXCL);
      return true;
    } catch (copyErr) {
      if (isErrno(copyErr, 'EEXIST')) return false;
      throw copyErr;
    }
  }
}

async function syncDirectory(dir: string): Promise<void> {
  // Makes the rename durable. Not possible on every platform; the data itself is already synced.
  try {
    const fh = await open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    /* best effort */
  }
}

export interface UsersFileOptions {
  /** Called after an edit was loaded, with the number of users now in force. */
  onReload?: (count: number) => void;
  /** Called when an edit could not be loaded; the previous users stay in force. */
  onProblem?: (problems: string[]) => void;
  /** Follow edits to the file (default true). */
  watch?: boolean;
}

const DEBOUNCE_MS = 50;
const POLL_MS = 1000;
/** Longer input cannot be a valid username; not worth normalising. */
const MAX_LOOKUP_LENGTH = 256;

/** The users file as a UserDirectory: always the last valid version on disk. */
export class UsersFile implements UserDirectory {
  readonly #path: string;
  readonly #opts: UsersFileOptions;
  #users: Map<string, User>;
  #list: readonly User[];
  #lastText: string;
  #lastOk = true;
  #queue: Promise<unknown> = Promise.resolve();
  #watcher: FSWatcher | undefined;
  #poll: StatsListener | undefined;
  #debounce: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  private constructor(path: string, opts: UsersFileOptions, text: string, users: Map<string, User>) {
    this.#path = path;
    this.#opts = opts;
    this.#lastText = text;
    this.#users = users;
    this.#list = Object.freeze([...users.values()]);
  }

  /**
   * Loads `path` and, unless `watch: false`, follows it. Throws when the file cannot be read or has
   * any problem, listing them all: the server must not start with a broken users file.
   */
  static async open(path: string, opts: UsersFileOptions = {}): Promise<UsersFile> {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      const hint = isErrno(err, 'ENOENT') ? "; create it with 'postern user add NAME --generate'" : '';
      throw new Error(`cannot read users file ${path}: ${errorMessage(err)}${hint}`, { cause: err });
    }
    const { users, problems } = parseUsersFile(text, path);
    if (problems.length > 0) {
      throw new Error(`users file ${path} has ${countOf(problems.length, 'problem')}:\n${bullets(problems)}`);
    }
    const file = new UsersFile(path, opts, text, users);
    if (opts.watch ?? true) file.#watch();
    return file;
  }

  find(username: string): User | undefined {
    if (username.length > MAX_LOOKUP_LENGTH) return undefined;
    // A stored key is its own normal form (normalising is idempotent), so a session's username, already
    // normal, is found without normalising it again on every verify.
    return this.#users.get(username) ?? this.#users.get(normaliseUsername(username));
  }

  all(): readonly User[] {
    return this.#list;
  }

  /**
   * Re-reads the file. Resolves true when the users now in force match the file, false when the
   * file could not be used (reported through onProblem). Concurrent calls run one after another.
   */
  reload(): Promise<boolean> {
    const result = this.#queue.then(() => this.#reload());
    this.#queue = result.catch(() => undefined);
    return result;
  }

  /** Stops following the file. */
  close(): void {
    this.#closed = true;
    if (this.#debounce !== undefined) clearTimeout(this.#debounce);
    this.#debounce = undefined;
    this.#watcher?.close();
    this.#watcher = undefined;
    if (this.#poll !== undefined) unwatchFile(this.#path, this.#poll);
    this.#poll = undefined;
  }

  async #reload(): Promise<boolean> {
    let text: string;
    try {
      text = await readFile(this.#path, 'utf8');
    } catch (err) {
      // Between an editor's delete and write the file may briefly not exist; the next event reloads.
      this.#opts.onProblem?.([`cannot read users file ${this.#path}: ${errorMessage(err)}`]);
      return false;
    }
    // fs.watch and the poll both report one edit: the second sighting changes nothing and says nothing.
    if (text === this.#lastText) return this.#lastOk;
    this.#lastText = text;
    const { users, problems } = parseUsersFile(text, this.#path);
    if (problems.length > 0) {
      this.#lastOk = false;
      this.#opts.onProblem?.(problems);
      return false;
    }
    this.#lastOk = true;
    this.#users = users;
    this.#list = Object.freeze([...users.values()]);
    this.#opts.onReload?.(users.size);
    return true;
  }

  #watch(): void {
    const name = basename(this.#path);
    // The directory, not the file: an atomic rename replaces the file's inode, and a watch on the old
    // inode would go quiet after the first edit.
    try {
      this.#watcher = watch(dirname(this.#path), { persistent: false }, (_event, filename) => {
        if (filename === null || filename === name) this.#schedule();
      });
      this.#watcher.on('error', () => {
        this.#watcher?.close();
        this.#watcher = undefined; // polling carries on
      });
    } catch {
      // e.g. the inotify watch limit is reached: polling carries on alone.
    }
    // Fallback for filesystems where fs.watch sees nothing (network mounts, some container volumes).
    this.#poll = (curr, prev) => {
      if (curr.mtimeMs !== prev.mtimeMs || curr.ino !== prev.ino || curr.size !== prev.size) this.#schedule();
    };
    watchFile(this.#path, { interval: POLL_MS, persistent: false }, this.#poll);
  }

  #schedule(): void {
    if (this.#closed) return;
    if (this.#debounce !== undefined) clearTimeout(this.#debounce);
    this.#debounce = setTimeout(() => {
      this.#debounce = undefined;
      if (this.#closed) return;
      // A throwing onReload/onProblem callback must not become an unhandled rejection.
      this.reload().catch(() => undefined);
    }, DEBOUNCE_MS);
    this.#debounce.unref();
  }
}

/**
 * When `path` does not exist, creates it with one user `admin` (role admin, groups [admins]) and a
 * generated 24-character password, returned so main.ts can print it once. Returns undefined when the
 * file exists; never overwrites, even when two processes race.
 */
export async function createInitialUsersFile(
  path: string,
  hasher: PasswordHasher,
): Promise<{ username: 'admin'; password: string } | undefined> {
  // lstat: a dangling symlink counts as existing, and opening it later gives a clear error.
  const exists = await lstat(path).then(
    () => true,
    (err: unknown) => {
      if (isErrno(err, 'ENOENT')) return false;
      throw err;
    },
  );
  if (exists) return undefined;
  const password = generatePassword();
  const admin: User = {
    username: 'admin',
    password: await hasher.hash(password),
    role: 'admin',
    groups: ['admins'],
    email: '',
    name: '',
    disabled: false,
  };
  const created = await writeFileAtomic(path, serialiseUsers([admin]), { exclusive: true });
  return created ? { username: 'admin', password } : undefined;
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

function isErrno(err: unknown, code: string): boolean {
  return err instanceof Error && (err as NodeJS.ErrnoException).code === code;
}

function countOf(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

function bullets(lines: readonly string[]): string {
  return lines.map((l) => `  - ${l}`).join('\n');
}
