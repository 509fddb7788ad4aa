/**
 * File systems the users-file writers meet in containers, made for real in a temp directory:
 * a read-only directory (a Kubernetes Secret) and a single-file bind mount (Docker's
 * `-v ./users.yml:/data/users.yml`). As root they are real mounts (a tmpfs remounted read-only,
 * `mount --bind`), undone by `cleanup`; a read-only directory for anyone else is a directory without
 * write permission. Each returns undefined where it cannot be made (root without CAP_SYS_ADMIN, or
 * a bind mount without root): the test then skips, saying so.
 */
import { execFileSync } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Mounted {
  readonly dir: string;
  cleanup(): Promise<void>;
}

const isRoot = (): boolean => process.getuid?.() === 0;

function mount(args: readonly string[]): boolean {
  try {
    execFileSync('mount', args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** A directory holding `files` (mode 0600) that cannot be written: EROFS as root, EACCES otherwise. */
export async function readOnlyDirectory(files: Record<string, string>): Promise<Mounted | undefined> {
  const dir = await mkdtemp(join(tmpdir(), 'postern-ro-'));
  const write = async () => {
    for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text, { mode: 0o600 });
  };
  if (!isRoot()) {
    await write();
    await chmod(dir, 0o555);
    return {
      dir,
      cleanup: async () => {
        await chmod(dir, 0o755);
        await rm(dir, { recursive: true, force: true });
      },
    };
  }
  if (!mount(['-t', 'tmpfs', '-o', 'size=1m,mode=0755', 'tmpfs', dir])) {
    await rm(dir, { recursive: true, force: true });
    return undefined;
  }
  const cleanup = async () => {
    mount(['-o', 'remount,rw', dir]); // harmless when already rw; umount needs no rw
    execFileSync('umount', [dir], { stdio: 'ignore' });
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await write();
    if (!mount(['-o', 'remount,ro', dir])) throw new Error('cannot remount read-only');
  } catch {
    await cleanup();
    return undefined;
  }
  return { dir, cleanup };
}

/**
 * A directory whose file `name` is a bind mount of another file (holding `text`), so that a rename
 * onto it fails with EBUSY, as in a container started with a single-file volume. Root only.
 */
export async function singleFileBindMount(name: string, text: string): Promise<(Mounted & { file: string }) | undefined> {
  if (!isRoot()) return undefined;
  const dir = await mkdtemp(join(tmpdir(), 'postern-bind-'));
  const source = join(dir, `host-${name}`);
  const file = join(dir, name);
  await writeFile(source, text, { mode: 0o600 });
  await writeFile(file, '', { mode: 0o600 });
  if (!mount(['--bind', source, file])) {
    await rm(dir, { recursive: true, force: true });
    return undefined;
  }
  return {
    dir,
    file,
    cleanup: async () => {
      execFileSync('umount', [file], { stdio: 'ignore' });
      await rm(dir, { recursive: true, force: true });
    },
  };
}
