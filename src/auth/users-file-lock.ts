/**
 * The one lock every writer of the users file takes (proper-lockfile): a `<file>.lock` directory
 * beside the real file, its mtime refreshed while held, taken over when older than 10 s, so a writer
 * that crashed cannot block the others for long. Writers wait their turn with jittered back-off.
 */
import { constants as fsConstants } from 'node:fs';
import { access, lstat, mkdir, realpath } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { errnoOf } from '../util/atomic-file.js';

/** A lock older than this was left by a writer that died; the next writer takes it over. */
const LOCK_STALE_MS = 10_000;
/**
 * About 25 to 50 s of waiting in all before giving up: a write holds the lock for milliseconds, but
 * twenty writers on a loaded two-core machine queue for seconds.
 */
const LOCK_RETRIES = { retries: 60, factor: 1.3, minTimeout: 20, maxTimeout: 500, randomize: true };

/**
 * Runs `fn` with the lock on the file `path` resolves to (its realpath: a symlink is locked and
 * written at its target). `checkLock` throws when the lock was lost meanwhile (its refresh failed):
 * call it just before writing.
 */
export async function withUsersFileLock<T>(path: string, fn: (target: string, checkLock: () => void) => Promise<T>): Promise<T> {
  const target = await resolveTarget(path);
  await mkdir(dirname(target), { recursive: true, mode: 0o700 });
  // Asked first: the lock's retries would otherwise spend half a minute on a read-only directory.
  await checkWritable(path, target);
  // Loaded on the first write: the server and most commands never write the users file.
  const { lock } = await import('proper-lockfile');
  let compromised: Error | undefined;
  let release: () => Promise<void>;
  try {
    release = await lock(target, {
      realpath: false, // resolved above, also for a file that does not exist yet
      stale: LOCK_STALE_MS,
      retries: LOCK_RETRIES,
      onCompromised: (err) => {
        compromised = err; // the default throws from a timer, which would end the server
      },
    });
  } catch (err) {
    throw Object.assign(
      new Error(
        `cannot lock users file ${path} (${target}.lock): ${err instanceof Error ? err.message : String(err)}. ` +
          'Another postern command may be writing it: try again. A lock left by a command that crashed expires after 10 s.',
        { cause: err },
      ),
      { code: errnoOf(err) },
    );
  }
  try {
    return await fn(target, () => {
      if (compromised) throw new Error(`lost the lock on users file ${path}: ${compromised.message}; nothing was written, try again`);
    });
  } finally {
    await release().catch(() => undefined); // already released when compromised
  }
}

/** Errors that mean "the users file cannot be written here" (a read-only mount, a Kubernetes Secret), as opposed to a failure. */
const CANNOT_WRITE = new Set(['EROFS', 'EACCES', 'EPERM', 'EBUSY', 'EXDEV']);

export function cannotWriteUsersFile(err: unknown): boolean {
  const code = errnoOf(err);
  return code !== undefined && CANNOT_WRITE.has(code);
}

/**
 * Rejects, with the file system's code (EROFS, EACCES, ...), when the users file at `path` cannot be
 * written here: a cheap check before slow work whose result could not be saved anyway.
 */
export async function assertUsersFileWritable(path: string): Promise<void> {
  await checkWritable(path, await resolveTarget(path));
}

async function checkWritable(path: string, target: string): Promise<void> {
  await access(dirname(target), fsConstants.W_OK).catch((err: unknown) => {
    throw Object.assign(
      new Error(
        `cannot write users file ${path}: ${dirname(target)} is not writable here (${errnoOf(err) ?? String(err)}). ` +
          'A file mounted read-only (such as a Kubernetes Secret) is changed at its source.',
        { cause: err },
      ),
      { code: errnoOf(err) },
    );
  });
}

/** The real file behind `path`; for a file that does not exist yet, its name in the real directory. */
async function resolveTarget(path: string): Promise<string> {
  try {
    return await realpath(path);
  } catch (err) {
    if (errnoOf(err) !== 'ENOENT') throw err;
  }
  if ((await lstat(path).catch(() => undefined))?.isSymbolicLink()) {
    throw new Error(`users file ${path} is a symlink to a file that does not exist; fix or remove the link`);
  }
  const dir = await realpath(dirname(path)).catch(() => resolve(dirname(path)));
  return join(dir, basename(path));
}
