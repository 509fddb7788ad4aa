/**
 * Writing a file whole or not at all: a temp file in the same directory (mode 0600), fsync, rename
 * (or link, for create-only), then fsync the directory. A reader sees the old file or the new one,
 * never half of either.
 */
import { randomBytes } from 'node:crypto';
import { type Stats, constants as fsConstants } from 'node:fs';
import { copyFile, link, mkdir, open, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** rename(2) onto a file that is itself a mount point (a single-file bind mount) fails with one of these. */
const CANNOT_REPLACE = new Set(['EBUSY', 'EXDEV', 'EPERM']);

/**
 * Writes `text` to `path` atomically. Returns false when `exclusive` and `path` already exists;
 * nothing is written then. Creates the parent directory (0700) when missing. `path` must be the
 * real file, not a symlink to it: the rename replaces whatever name it is given.
 */
export async function writeFileAtomic(path: string, text: string, opts: { exclusive: boolean }): Promise<boolean> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const existing = await stat(path).catch((err: unknown) => {
    if (errnoOf(err) === 'ENOENT') return undefined;
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
      await rename(tmp, path).catch((err: unknown) => {
        throw explainRenameFailure(err, path);
      });
    }
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  await syncDirectory(dir);
  return true;
}

/**
 * A rename that cannot replace `path` because it is a mount point of its own (Docker's
 * `-v ./users.yml:/data/users.yml`) gets a message that says what to do; other errors pass as they are.
 */
export function explainRenameFailure(err: unknown, path: string): unknown {
  const code = errnoOf(err);
  if (code === undefined || !CANNOT_REPLACE.has(code)) return err;
  return Object.assign(
    new Error(
      `cannot replace ${path} (${code}): it looks like a single file mounted on its own (a single-file bind mount), ` +
        'which cannot be replaced atomically. Mount the directory that holds it instead ' +
        `(for example -v ./data:/data with users.file: /data/${basename(path)})`,
      { cause: err },
    ),
    { code },
  );
}

/** The `code` of a Node.js system error (ENOENT, EROFS, ...), or undefined. */
export function errnoOf(err: unknown): string | undefined {
  const code = err instanceof Error ? (err as NodeJS.ErrnoException).code : undefined;
  return typeof code === 'string' ? code : undefined;
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
    if (errnoOf(err) === 'EEXIST') return false;
    // Filesystems without hard links: O_EXCL copy, still never overwrites.
    try {
      await copyFile(tmp, path, fsConstants.COPYFILE_EXCL);
      return true;
    } catch (copyErr) {
      if (errnoOf(copyErr) === 'EEXIST') return false;
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
