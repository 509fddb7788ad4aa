/**
 * The users file as a YAML document: the edits every writer makes to it (users-file-writer.ts holds
 * the lock, the fresh read and the atomic write around them), and the text of a new file.
 *
 * - An edit changes nodes of the document (yaml's Document API), it does not re-serialise a map:
 *   comments, key order, quoting and the rest of the file are kept.
 * - Hashes are never folded (lineWidth 0); a new password or fingerprint is double-quoted like the
 *   documented example.
 * - No I/O here: text in, text out.
 */
import { type Document, isMap, isScalar, parseDocument, Scalar, YAMLMap, YAMLSeq } from 'yaml';
import { CARRIED_FINGERPRINT_KEY } from './carried-fingerprint.js';
import { FACTORS_KEY, type UserFactors } from '../factors/factors.js';
import { factorsDocument } from '../factors/factors-yaml.js';
import type { AppPassword } from '../tokens/app-password.js';
import { APP_PASSWORDS_KEY } from '../tokens/app-password-parse.js';
import { byUsername, type User } from './user.js';
import { normaliseUsername } from './username.js';

/** The fields of a user a writer may change. `sessionFingerprint: null` removes it. */
export interface UserChanges {
  readonly password?: string;
  readonly role?: string;
  readonly groups?: readonly string[];
  readonly email?: string;
  readonly name?: string;
  readonly disabled?: boolean;
  readonly sessionFingerprint?: string | null;
}

/** What an edit sees and does, under the lock. */
export interface UsersFileEditor {
  /** The users as the file holds them now, keyed by normalised username. */
  readonly users: ReadonlyMap<string, User>;
  /** Appends a new user after the others. The caller checks that the name is free. */
  add(user: Omit<User, 'sessionFingerprint'>): void;
  /**
   * Changes fields of an existing user in place, keeping their comments and order. A new password
   * drops the user's `session_fingerprint` (the new hash ends their sessions) unless `changes`
   * carries one.
   */
  update(username: string, changes: UserChanges): void;
  /** Removes an existing user. */
  remove(username: string): void;
  /** Appends an app password to an existing user's `app_passwords` list (tokens/app-password-parse.ts). */
  addAppPassword(username: string, token: AppPassword): void;
  /** Removes the app password `id` from an existing user's list (the list goes when it empties). */
  removeAppPassword(username: string, id: string): void;
  /** Replaces an existing user's `factors` (factors/factors.ts) with `factors`; undefined or none left removes the key. */
  setFactors(username: string, factors: UserFactors | undefined): void;
}

/** The users file text for `users`, sorted by username, in the layout every writer keeps. */
export function serialiseUsers(users: Iterable<User>): string {
  const sorted = [...users].sort(byUsername);
  const editor = new DocumentEditor(undefined, new Map());
  const seen = new Set<string>();
  for (const u of sorted) {
    if (seen.has(u.username)) throw new Error(`user '${u.username}' appears twice; refusing to write`);
    seen.add(u.username);
    editor.add(u); // without a session fingerprint: only a rehash writes one, bound to the hash it replaced
  }
  return editor.text();
}

const NEW_FILE =
  '# Postern users. Edit by hand or with `postern user ...`; changes apply without a restart.\n' +
  '# Keep this file mode 0600: it holds password hashes.\n' +
  'users: {}\n';

// lineWidth 0: a hash is one line, never folded. No padding: `groups: [family, admins]`.
const stringify = (doc: Document): string => doc.toString({ lineWidth: 0, flowCollectionPadding: false });

const YAML_KEYS = {
  password: 'password',
  role: 'role',
  groups: 'groups',
  email: 'email',
  name: 'name',
  disabled: 'disabled',
  sessionFingerprint: CARRIED_FINGERPRINT_KEY,
} as const satisfies Record<keyof UserChanges, string>;

/**
 * The users file `text` (a new file's when undefined) open for edits; `users` is what the file holds,
 * as parsed. `changed` says whether any edit was made, `text()` gives the document as it is now.
 */
export class DocumentEditor implements UsersFileEditor {
  changed = false;
  readonly #doc: Document;
  readonly #rawKeys = new Map<string, unknown>(); // normalised username -> the key as written

  constructor(
    text: string | undefined,
    readonly users: ReadonlyMap<string, User>,
  ) {
    this.#doc = parseDocument(text ?? NEW_FILE);
    for (const pair of this.#usersMap().items) {
      const key = isScalar(pair.key) ? pair.key.value : pair.key;
      if (typeof key === 'string') this.#rawKeys.set(normaliseUsername(key), key);
    }
  }

  text(): string {
    return stringify(this.#doc);
  }

  add(user: Omit<User, 'sessionFingerprint'>): void {
    if (this.#rawKeys.has(user.username)) throw new Error(`user '${user.username}' already exists`);
    const map = this.#usersMap();
    map.flow = false; // `users: {}` of a new file becomes a block mapping
    const entry = new YAMLMap();
    map.add(this.#doc.createPair(user.username, entry));
    this.#rawKeys.set(user.username, user.username);
    this.#set(entry, {
      password: user.password,
      role: user.role,
      groups: user.groups,
      email: user.email,
      name: user.name,
      disabled: user.disabled,
    });
    if (user.factors) this.setFactors(user.username, user.factors);
  }

  update(username: string, changes: UserChanges): void {
    const entry = this.#entry(username);
    const carried = changes.password !== undefined && changes.sessionFingerprint === undefined ? { sessionFingerprint: null } : {};
    this.#set(entry, { ...changes, ...carried });
  }

  remove(username: string): void {
    this.#usersMap().delete(this.#rawKey(username));
    this.#rawKeys.delete(username);
    this.changed = true;
  }

  addAppPassword(username: string, token: AppPassword): void {
    const entry = this.#entry(username);
    const existing: unknown = entry.get(APP_PASSWORDS_KEY, true);
    const list = existing instanceof YAMLSeq ? existing : new YAMLSeq();
    if (list !== existing) entry.set(APP_PASSWORDS_KEY, list);
    const item = new YAMLMap();
    item.set('id', token.id);
    item.set('name', token.name);
    const hash = new Scalar(token.hash);
    hash.type = Scalar.QUOTE_DOUBLE;
    item.set('hash', hash);
    item.set('created', new Date(token.created).toISOString());
    if (token.expires !== undefined) item.set('expires', new Date(token.expires).toISOString());
    if (token.hosts !== undefined) {
      const hosts = this.#doc.createNode([...token.hosts]) as YAMLSeq;
      hosts.flow = true;
      item.set('hosts', hosts);
    }
    if (token.readOnly) item.set('read_only', true);
    list.add(item);
    this.changed = true;
  }

  removeAppPassword(username: string, id: string): void {
    const entry = this.#entry(username);
    const list: unknown = entry.get(APP_PASSWORDS_KEY, true);
    if (!(list instanceof YAMLSeq)) throw new Error(`user '${username}' has no app passwords`);
    const index = list.items.findIndex((item) => isMap(item) && item.get('id') === id);
    if (index < 0) throw new Error(`user '${username}' has no app password ${id}`);
    list.items.splice(index, 1);
    if (list.items.length === 0) entry.delete(APP_PASSWORDS_KEY);
    this.changed = true;
  }

  setFactors(username: string, factors: UserFactors | undefined): void {
    const entry = this.#entry(username);
    const document = factorsDocument(factors);
    if (document === undefined) entry.delete(FACTORS_KEY);
    else entry.set(FACTORS_KEY, this.#doc.createNode(document));
    this.changed = true;
  }

  #set(entry: YAMLMap, changes: UserChanges): void {
    for (const [field, value] of Object.entries(changes) as Array<[keyof UserChanges, unknown]>) {
      if (value === undefined) continue;
      const key = YAML_KEYS[field];
      if (value === null) {
        entry.delete(key);
        continue;
      }
      const node = entry.get(key, true);
      if (Array.isArray(value)) {
        const seq = this.#doc.createNode(value) as YAMLSeq;
        seq.flow = true; // groups: [family, admins]
        entry.set(key, seq);
      } else if (isScalar(node)) {
        node.value = value; // keeps the node's comment and quoting
      } else {
        const scalar = new Scalar(value);
        // Quoted like the documented example, so a hand-written entry copied from it stays valid.
        if (field === 'password' || field === 'sessionFingerprint') scalar.type = Scalar.QUOTE_DOUBLE;
        entry.set(key, scalar);
      }
    }
    this.changed = true;
  }

  #usersMap(): YAMLMap {
    const map = this.#doc.get('users', true);
    // parseUsersFile accepted the file, so this holds; a bug otherwise, not bad input.
    if (!isMap(map)) throw new Error("the users file has no 'users' mapping");
    return map;
  }

  #rawKey(username: string): unknown {
    const key = this.#rawKeys.get(username);
    if (key === undefined) throw new Error(`user '${username}' does not exist`);
    return key;
  }

  #entry(username: string): YAMLMap {
    const entry = this.#usersMap().get(this.#rawKey(username), true);
    if (!isMap(entry)) throw new Error(`user '${username}' is not a mapping`);
    return entry;
  }
}
