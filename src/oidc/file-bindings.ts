/**
 * Bindings in a file (`<data_dir>/oidc-bindings.jsonl`) when no Redis is configured: one JSON object
 * per line, `#` lines are comments. Every change takes the file's lock (proper-lockfile, shared with
 * `postern oidc bindings` run beside the server), re-reads the file, and replaces it atomically
 * (util/atomic-file.ts): a reader sees the old file or the new one, never half of either.
 * A line that cannot be read stops everything with the path and the line number; the file is never
 * emptied or rewritten past it.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import lockfile from 'proper-lockfile';
import { writeFileAtomic } from '../util/atomic-file.js';
import { byUser, decodeBinding, encodeBinding, BindingsCorruptError, type Binding, type BindingStore, type Subject } from './bindings.js';

export const BINDINGS_FILE = 'oidc-bindings.jsonl';

const HEADER =
  '# Postern: which provider subject (issuer and sub) owns each username signed in through OIDC.\n' +
  "# One JSON object per line. Change it with 'postern oidc bindings list|remove', not by hand.\n";

export class FileBindingStore implements BindingStore {
  readonly #path: string;

  /** No I/O until the first call; open() also checks the file. */
  constructor(path: string) {
    this.#path = path;
  }

  /** Opens (and checks) the file; a missing file is an empty one, created at the first binding. */
  static async open(path: string): Promise<FileBindingStore> {
    const store = new FileBindingStore(path);
    await store.#read();
    return store;
  }

  get path(): string {
    return this.#path;
  }

  async bind(user: string, subject: Subject, now: number): Promise<Binding> {
    return this.#change((bindings) => {
      const existing = bindings.get(user);
      if (existing) return { result: existing, changed: false };
      const binding: Binding = { user, iss: subject.iss, sub: subject.sub, provider: subject.provider, created: now };
      bindings.set(user, binding);
      return { result: binding, changed: true };
    });
  }

  async list(): Promise<Binding[]> {
    return [...(await this.#read()).values()].sort(byUser);
  }

  async remove(user: string): Promise<Binding | undefined> {
    return this.#change((bindings) => {
      const existing = bindings.get(user);
      if (existing) bindings.delete(user);
      return { result: existing, changed: existing !== undefined };
    });
  }

  async close(): Promise<void> {}

  async #read(): Promise<Map<string, Binding>> {
    let text: string;
    try {
      text = await readFile(this.#path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
      throw err;
    }
    return parseBindingsFile(text, this.#path);
  }

  async #change<T>(edit: (bindings: Map<string, Binding>) => { result: T; changed: boolean }): Promise<T> {
    await mkdir(dirname(this.#path), { recursive: true, mode: 0o700 });
    const release = await lockfile.lock(this.#path, { realpath: false, stale: 10_000, retries: { retries: 100, minTimeout: 10, maxTimeout: 100 } });
    try {
      const bindings = await this.#read();
      const { result, changed } = edit(bindings);
      if (changed) await writeFileAtomic(this.#path, HEADER + [...bindings.values()].sort(byUser).map((b) => `${encodeBinding(b)}\n`).join(''), { exclusive: false });
      return result;
    } finally {
      await release();
    }
  }
}

/** The bindings in `text`; throws BindingsCorruptError naming `path` and the first bad line. */
export function parseBindingsFile(text: string, path: string): Map<string, Binding> {
  const bindings = new Map<string, Binding>();
  const firstLine = new Map<string, number>();
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const at = `${path} line ${index + 1}`;
    let binding: Binding;
    try {
      binding = decodeBinding(line);
    } catch (err) {
      throw new BindingsCorruptError(`${at} ${(err as Error).message}: fix or remove that line (Postern does not start with a bindings file it cannot read)`);
    }
    const first = firstLine.get(binding.user);
    if (first !== undefined) {
      throw new BindingsCorruptError(`${at} binds '${binding.user}' a second time (first at line ${first}): keep one of the two lines`);
    }
    firstLine.set(binding.user, index + 1);
    bindings.set(binding.user, binding);
  });
  return bindings;
}
