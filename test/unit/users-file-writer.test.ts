/**
 * editUsersFile, the one way every writer changes the users file: under one lock, on a fresh read,
 * through the YAML document (comments and order kept, nothing folded), written atomically through a
 * symlink to its target; and what it says when the file cannot be replaced.
 */
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createPasswordHasher } from '../../src/auth/passwords.js';
import type { User } from '../../src/auth/user.js';
import { parseUsersFile } from '../../src/auth/users-file-parse.js';
import { editUsersFile, UsersFileProblemsError } from '../../src/auth/users-file-writer.js';
import { type Mounted, readOnlyDirectory, singleFileBindMount } from '../support/mounts.js';

let hash: string;
let dir: string;
let usersFile: string;

beforeAll(async () => {
  hash = await createPasswordHasher({ argon2: { memory_cost: 8192, time_cost: 1, parallelism: 1 } }).hash('a-password');
});

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'postern-writer-'));
  usersFile = join(dir, 'users.yml');
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const newUser = (username: string, extra: Partial<User> = {}): User => ({
  username,
  password: hash,
  role: 'user',
  groups: [],
  email: '',
  name: '',
  disabled: false,
  ...extra,
});

async function usersIn(path: string): Promise<Map<string, User>> {
  const { users, problems } = parseUsersFile(await readFile(path, 'utf8'));
  expect(problems).toEqual([]);
  return users;
}

describe('what an edit keeps', () => {
  it('comments, blank lines between users, key order and quoting, in every user it does not touch', async () => {
    const before = `# Household.
users:
  # Owner.
  zoe:
    role: admin # role before password, as written
    password: '${hash}'
    groups: [family, admins]

  # Guest account.
  alice:
    password: ${hash}
    name: Alice
# end of file
`;
    await writeFile(usersFile, before, { mode: 0o600 });
    await editUsersFile(usersFile, (file) => {
      file.update('alice', { disabled: true });
      file.add(newUser('bob', { email: 'bob@example.com', groups: ['family'] }));
    });
    expect(await readFile(usersFile, 'utf8')).toBe(`# Household.
users:
  # Owner.
  zoe:
    role: admin # role before password, as written
    password: '${hash}'
    groups: [family, admins]

  # Guest account.
  alice:
    password: ${hash}
    name: Alice
    disabled: true
  bob:
    password: "${hash}"
    role: user
    groups: [family]
    email: bob@example.com
    name: ""
    disabled: false

# end of file
`); // the yaml library sets a comment at the end of the document apart with a blank line

  });

  it('never folds a long value: a hash or a long name stays on one line', async () => {
    const name = 'A name with spaces that goes on and on '.repeat(8).trim();
    await editUsersFile(usersFile, (file) => file.add(newUser('alice', { name })));
    const text = await readFile(usersFile, 'utf8');
    expect(text.split('\n')).toContain(`    password: "${hash}"`);
    expect(text.split('\n')).toContain(`    name: ${name}`);
    expect((await usersIn(usersFile)).get('alice')?.name).toBe(name);
  });

  it('finds a user written in another spelling, and keeps that spelling', async () => {
    await writeFile(usersFile, `users:\n  Alice:\n    password: "${hash}"\n`, { mode: 0o600 });
    await editUsersFile(usersFile, (file) => file.update('alice', { role: 'admin' }));
    expect(await readFile(usersFile, 'utf8')).toBe(`users:\n  Alice:\n    password: "${hash}"\n    role: admin\n`);
  });

  it('creates a missing file (0600) with a header saying what it is', async () => {
    await editUsersFile(usersFile, (file) => file.add(newUser('alice')));
    expect((await stat(usersFile)).mode & 0o777).toBe(0o600);
    const text = await readFile(usersFile, 'utf8');
    expect(text).toMatch(/^# Postern users\. .*\n# Keep this file mode 0600: it holds password hashes\.\nusers:\n {2}alice:\n/);
    expect([...(await usersIn(usersFile)).keys()]).toEqual(['alice']);
  });
});

describe('what an edit refuses', () => {
  it('an edit that throws: nothing is written, its error passes through', async () => {
    const before = `users:\n  alice:\n    password: "${hash}"\n`;
    await writeFile(usersFile, before, { mode: 0o600 });
    await expect(
      editUsersFile(usersFile, (file) => {
        file.update('alice', { disabled: true });
        throw new Error('changed my mind');
      }),
    ).rejects.toThrow('changed my mind');
    expect(await readFile(usersFile, 'utf8')).toBe(before);
  });

  it('an edit that would leave a file the server refuses: nothing written (stage edit)', async () => {
    const before = `users:\n  alice:\n    password: "${hash}"\n`;
    await writeFile(usersFile, before, { mode: 0o600 });
    const error = await editUsersFile(usersFile, (file) => file.update('alice', { role: '' })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsersFileProblemsError);
    expect(error).toMatchObject({ stage: 'edit', problems: ["users.alice.role must not be empty (omit it for 'user')"] });
    expect(await readFile(usersFile, 'utf8')).toBe(before);
  });

  it('a file that already has problems: not touched (stage read), never silently repaired', async () => {
    const before = 'users:\n  eve:\n    password: plain\n';
    await writeFile(usersFile, before, { mode: 0o600 });
    let called = false;
    const error = await editUsersFile(usersFile, () => void (called = true)).catch((e: unknown) => e);
    expect(error).toMatchObject({ stage: 'read', problems: ['users.eve.password is not a supported hash (argon2id, pbkdf2_sha256 of at least 100000 iterations, or bcrypt $2a$/$2b$/$2y$ of cost 10 to 15)'] });
    expect(called).toBe(false);
    expect(await readFile(usersFile, 'utf8')).toBe(before);
  });

  it('an edit that changes nothing writes nothing', async () => {
    const before = `users:\n  alice:   { password: "${hash}" }\n`;
    await writeFile(usersFile, before, { mode: 0o600 });
    const mtime = (await stat(usersFile)).mtimeMs;
    expect(await editUsersFile(usersFile, (file) => file.users.size)).toBe(1);
    expect(await readFile(usersFile, 'utf8')).toBe(before);
    expect((await stat(usersFile)).mtimeMs).toBe(mtime);
  });
});

describe('the lock', () => {
  it('serialises writers: 20 edits at once each see the others, none is lost', async () => {
    await Promise.all(Array.from({ length: 20 }, (_, i) => editUsersFile(usersFile, (file) => file.add(newUser(`user${i}`)))));
    expect((await usersIn(usersFile)).size).toBe(20);
    expect(await readdir(dir)).toEqual(['users.yml']);
  });

  it('takes over a lock left by a writer that crashed (older than 10 s)', async () => {
    await writeFile(usersFile, 'users: {}\n', { mode: 0o600 });
    await mkdir(`${usersFile}.lock`);
    const old = new Date(Date.now() - 30_000);
    await utimes(`${usersFile}.lock`, old, old);
    await editUsersFile(usersFile, (file) => file.add(newUser('alice')));
    expect((await usersIn(usersFile)).has('alice')).toBe(true);
    expect(await readdir(dir)).toEqual(['users.yml']);
  });

  it('waits for a lock that is held, then edits the file as the holder left it', async () => {
    await writeFile(usersFile, 'users: {}\n', { mode: 0o600 });
    let releaseFirst!: () => void;
    const held = new Promise<void>((resolve) => (releaseFirst = resolve));
    let firstInside!: () => void;
    const inside = new Promise<void>((resolve) => (firstInside = resolve));
    const first = editUsersFile(usersFile, async (file) => {
      firstInside();
      await held;
      file.add(newUser('first'));
    });
    await inside;
    let secondSaw: string[] | undefined;
    const second = editUsersFile(usersFile, (file) => {
      secondSaw = [...file.users.keys()];
      file.add(newUser('second'));
    });
    await new Promise((r) => setTimeout(r, 200));
    expect(secondSaw).toBeUndefined(); // still waiting
    releaseFirst();
    await Promise.all([first, second]);
    expect(secondSaw).toEqual(['first']);
    expect([...(await usersIn(usersFile)).keys()]).toEqual(['first', 'second']);
  });
});

describe('where the file lives', () => {
  it('a Kubernetes-style symlinked file is written through to its target; the links stay links', async () => {
    // users.yml -> ..data/users.yml, ..data -> ..2026_01_01_00_00_00.000000001 (how a ConfigMap or Secret volume looks).
    const version = join(dir, '..2026_01_01_00_00_00.000000001');
    await mkdir(version);
    await writeFile(join(version, 'users.yml'), `# kept\nusers:\n  alice:\n    password: "${hash}"\n`, { mode: 0o600 });
    await symlink('..2026_01_01_00_00_00.000000001', join(dir, '..data'));
    await symlink('..data/users.yml', usersFile);

    await editUsersFile(usersFile, (file) => file.update('alice', { disabled: true }));

    expect((await lstat(usersFile)).isSymbolicLink()).toBe(true);
    expect(await readlink(usersFile)).toBe('..data/users.yml');
    expect((await lstat(join(dir, '..data'))).isSymbolicLink()).toBe(true);
    expect(await readFile(join(version, 'users.yml'), 'utf8')).toBe(`# kept\nusers:\n  alice:\n    password: "${hash}"\n    disabled: true\n`);
    expect((await readdir(dir)).sort()).toEqual(['..2026_01_01_00_00_00.000000001', '..data', 'users.yml']);
    expect(await readdir(version)).toEqual(['users.yml']);
  });

  it('a symlink to nothing is refused with a clear message', async () => {
    await symlink('missing/users.yml', usersFile);
    await expect(editUsersFile(usersFile, (file) => file.add(newUser('alice')))).rejects.toThrow(
      `users file ${usersFile} is a symlink to a file that does not exist; fix or remove the link`,
    );
  });

  describe('mounts', () => {
    let mounted: Mounted | undefined;
    afterEach(async () => {
      await mounted?.cleanup();
      mounted = undefined;
    });

    it('a single-file bind mount: says to mount the directory instead, and the file is unchanged', async (ctx) => {
      const before = `users:\n  alice:\n    password: "${hash}"\n`;
      const bind = await singleFileBindMount('users.yml', before);
      mounted = bind;
      if (bind === undefined) return ctx.skip('bind mounts need root with mount rights');
      const error = await editUsersFile(bind.file, (file) => file.update('alice', { disabled: true })).catch((e: unknown) => e);
      expect((error as Error).message).toBe(
        `cannot replace ${bind.file} (EBUSY): it looks like a single file mounted on its own (a single-file bind mount), ` +
          'which cannot be replaced atomically. Mount the directory that holds it instead (for example -v ./data:/data with users.file: /data/users.yml)',
      );
      expect(await readFile(bind.file, 'utf8')).toBe(before);
      expect((await readdir(bind.dir)).sort()).toEqual(['host-users.yml', 'users.yml']); // no temp file left
    });

    it('a read-only directory: refused at once with the code, not after the lock retries', async (ctx) => {
      const before = `users:\n  alice:\n    password: "${hash}"\n`;
      mounted = await readOnlyDirectory({ 'users.yml': before });
      if (mounted === undefined) return ctx.skip('cannot make a read-only directory here');
      const file = join(mounted.dir, 'users.yml');
      const started = Date.now();
      const error = await editUsersFile(file, (f) => f.update('alice', { disabled: true })).catch((e: unknown) => e);
      expect(Date.now() - started).toBeLessThan(2000);
      expect(error).toMatchObject({ code: expect.stringMatching(/^(EROFS|EACCES)$/) });
      expect((error as Error).message).toMatch(
        /^cannot write users file .*users\.yml: .* is not writable here \((EROFS|EACCES)\)\. A file mounted read-only \(such as a Kubernetes Secret\) is changed at its source\.$/,
      );
      expect(await readFile(file, 'utf8')).toBe(before);
    });
  });
});

describe('app passwords', () => {
  const token = (id: string) => ({ id, name: `token ${id}`, hash: 'ab'.repeat(32), created: Date.parse('2026-12-02T03:00:00Z'), readOnly: id === 'Bbbbbbb2', hosts: ['photos.example.com'] });

  it('are added under the user and removed by id, keeping the comments around them', async () => {
    await writeFile(usersFile, `users:\n  # The owner.\n  alice:\n    password: '${hash}' # hers\n`);
    await editUsersFile(usersFile, (file) => {
      file.addAppPassword('alice', token('Aaaaaaa1'));
      file.addAppPassword('alice', token('Bbbbbbb2'));
    });
    const text = await readFile(usersFile, 'utf8');
    expect(text).toContain('# The owner.');
    expect(text).toContain('# hers');
    expect(text).toContain(`hash: "${'ab'.repeat(32)}"`);
    expect((await usersIn(usersFile)).get('alice')!.appPasswords!.map((t) => [t.id, t.readOnly, t.hosts])).toEqual([
      ['Aaaaaaa1', false, ['photos.example.com']],
      ['Bbbbbbb2', true, ['photos.example.com']],
    ]);
    await editUsersFile(usersFile, (file) => file.removeAppPassword('alice', 'Aaaaaaa1'));
    expect((await usersIn(usersFile)).get('alice')!.appPasswords!.map((t) => t.id)).toEqual(['Bbbbbbb2']);
    await editUsersFile(usersFile, (file) => file.removeAppPassword('alice', 'Bbbbbbb2'));
    expect(await readFile(usersFile, 'utf8')).not.toContain('app_passwords');
  });

  it('refuses a second app password with an id already in the file: nothing written', async () => {
    await writeFile(usersFile, `users:\n  alice:\n    password: '${hash}'\n  bob:\n    password: '${hash}'\n`);
    await editUsersFile(usersFile, (file) => file.addAppPassword('alice', token('Aaaaaaa1')));
    const before = await readFile(usersFile, 'utf8');
    await expect(editUsersFile(usersFile, (file) => file.addAppPassword('bob', token('Aaaaaaa1')))).rejects.toThrow(/id Aaaaaaa1 is also used by alice/);
    expect(await readFile(usersFile, 'utf8')).toBe(before);
  });
});
