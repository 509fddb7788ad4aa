/**
 * The users file as the server sees it: the last valid version on disk, following edits without a
 * restart; an invalid edit is reported and ignored. Reading is users-file-parse.ts, writing is
 * users-file-writer.ts (one lock for every writer).
 */
import { type FSWatcher, type StatsListener, unwatchFile, watch, watchFile } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { User, UserDirectory } from './user.js';
import { parseUsersFile } from './users-file-parse.js';
import { normaliseUsername } from './username.js';

// The names this module has always offered, for the code and tests that import them from here.
export { parseUsersFile, type UsersFileResult } from './users-file-parse.js';
export { createInitialUsersFile, serialiseUsers, writeUsersFileAtomic } from './users-file-writer.js';

/** One loaded edit of the users file: the users in force before it and after it, keyed by normalised username. */
export interface UsersFileChange {
  readonly previous: ReadonlyMap<string, User>;
  readonly next: ReadonlyMap<string, User>;
}

export interface UsersFileOptions {
  /**
   * Called once for each edit that was loaded (a second sighting of the same text is no edit), with
   * the number of users now in force and what they were before.
   */
  onReload?: (count: number, change: UsersFileChange) => void;
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
    const previous = this.#users;
    this.#users = users;
    this.#list = Object.freeze([...users.values()]);
    this.#opts.onReload?.(users.size, { previous, next: users });
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
