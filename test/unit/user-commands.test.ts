import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createPasswordHasher, isSupportedHash, type PasswordHasher } from '../../src/auth/passwords.js';
import type { User } from '../../src/auth/user.js';
import { parseUsersFile } from '../../src/auth/users-file-parse.js';
import { writeUsersFileAtomic } from '../../src/auth/users-file-writer.js';
import { hashPasswordCommand } from '../../src/cli/hash-password.js';
import type { CliIO } from '../../src/cli/io.js';
import { readPassword } from '../../src/cli/io.js';
import { type UserChange, type UserCommandDeps, userCommand } from '../../src/cli/user-commands.js';

const FAST = { memory_cost: 8192, time_cost: 1, parallelism: 1 };

let hasher: PasswordHasher;
let dir: string;
let usersFile: string;

beforeAll(() => {
  hasher = createPasswordHasher({ argon2: FAST });
});

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'postern-cli-'));
  usersFile = join(dir, 'users.yml');
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Terminal {
  io: CliIO;
  stdin: PassThrough;
  out: () => string;
  err: () => string;
}

/** In-memory streams. `input` is piped stdin (ended); without it stdin stays open for a TTY test. */
function terminal(input?: string, opts: { tty?: boolean } = {}): Terminal & { rawModes: boolean[] } {
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c: Buffer) => (out += c.toString()));
  stderr.on('data', (c: Buffer) => (err += c.toString()));
  const rawModes: boolean[] = [];
  const tty = opts.tty === true;
  if (!tty) stdin.end(input ?? '');
  const io: CliIO = {
    stdin: Object.assign(stdin, tty ? { isTTY: true, setRawMode: (b: boolean) => rawModes.push(b) } : {}),
    stdout,
    stderr,
  };
  return { io, stdin, out: () => out, err: () => err, rawModes };
}

async function run(
  args: string[],
  input?: string,
  deps: Partial<UserCommandDeps> = {},
): Promise<{ code: number; out: string; err: string }> {
  const t = terminal(input);
  const code = await userCommand(args, t.io, { usersFile, hasher, ...deps });
  return { code, out: t.out(), err: t.err() };
}

async function usersOnDisk(): Promise<Map<string, User>> {
  const { users, problems } = parseUsersFile(await readFile(usersFile, 'utf8'));
  expect(problems).toEqual([]);
  return users;
}

async function seed(...users: Array<Partial<User> & { username: string; plain: string }>): Promise<void> {
  const full: User[] = [];
  for (const { plain, ...u } of users) {
    full.push({ password: await hasher.hash(plain), role: 'user', groups: [], email: '', name: '', disabled: false, ...u });
  }
  await writeUsersFileAtomic(usersFile, full);
}

describe('user add', () => {
  it('adds a user with the password from stdin, creating the file 0600', async () => {
    const r = await run(['add', 'Alice', '--password-stdin'], 's3cret passphrase\n');
    expect(r).toMatchObject({ code: 0, out: '' });
    expect(r.err).toContain("user 'alice' added");
    expect((await stat(usersFile)).mode & 0o777).toBe(0o600);
    const alice = (await usersOnDisk()).get('alice')!;
    expect(alice).toMatchObject({ role: 'user', groups: [], email: '', name: '', disabled: false });
    // One trailing newline is stripped, nothing else.
    expect(await hasher.verify(alice.password, 's3cret passphrase')).toBe(true);
  });

  it('stores role, groups, email and name', async () => {
    const r = await run(
      ['add', 'carol', '--role', 'admin', '--groups', 'family, admins,,family', '--email', 'c@example.com', '--name', 'Carol C', '--password-stdin'],
      'carol-password',
    );
    expect(r.code).toBe(0);
    expect((await usersOnDisk()).get('carol')).toMatchObject({
      role: 'admin',
      groups: ['family', 'admins'],
      email: 'c@example.com',
      name: 'Carol C',
    });
  });

  it('with --generate prints the generated password once on stdout, and it verifies', async () => {
    const r = await run(['add', 'bob', '--generate']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^[A-Za-z0-9_-]{24}\n$/);
    expect(r.err).toContain('shown once');
    expect(r.err).not.toContain(r.out.trim());
    const bob = (await usersOnDisk()).get('bob')!;
    expect(await hasher.verify(bob.password, r.out.trim())).toBe(true);
  });

  it('keeps the other users unchanged', async () => {
    await seed({ username: 'alice', plain: 'a', role: 'admin', groups: ['family'], email: 'a@example.com' });
    const before = (await usersOnDisk()).get('alice');
    expect((await run(['add', 'bob', '--password-stdin'], 'bob-password')).code).toBe(0);
    const after = await usersOnDisk();
    expect(after.get('alice')).toEqual(before);
    expect([...after.keys()]).toEqual(['alice', 'bob']);
  });

  it('refuses an existing user (any spelling) with exit 1 and points to passwd', async () => {
    await seed({ username: 'alice', plain: 'a' });
    const text = await readFile(usersFile, 'utf8');
    const r = await run(['add', 'ALICE', '--password-stdin'], 'other');
    expect(r.code).toBe(1);
    expect(r.err).toBe(
      "postern: user 'alice' already exists; use 'postern user passwd alice' to change the password\n",
    );
    expect(await readFile(usersFile, 'utf8')).toBe(text);
  });

  it('refuses an empty password from stdin with exit 1 and writes nothing', async () => {
    const r = await run(['add', 'bob', '--password-stdin'], '\n');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/empty; nothing was changed/);
    await expect(stat(usersFile)).rejects.toThrow(/ENOENT/);
  });

  it('refuses a password over 1024 bytes with exit 1', async () => {
    const r = await run(['add', 'bob', '--password-stdin'], 'x'.repeat(1025));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/longer than 1024 bytes/);
  });

  it('refuses to write when the file has problems, and shows them', async () => {
    const broken = 'users:\n  eve:\n    password: plain\n';
    await writeFile(usersFile, broken);
    const r = await run(['add', 'bob', '--generate']);
    expect(r.code).toBe(1);
    expect(r.out).toBe(''); // no password was generated for nothing
    expect(r.err).toContain('has 1 problem; fix them by hand');
    expect(r.err).toContain('  - users.eve.password is not a supported hash');
    expect(await readFile(usersFile, 'utf8')).toBe(broken);
  });

  it.each([
    [['add'], /missing NAME/],
    [['add', 'bob'], /choose --password-stdin or --generate/],
    [['add', 'bob', '--generate', '--password-stdin'], /only one of/],
    [['add', 'bob', 'extra', '--generate'], /unexpected argument 'extra'/],
    [['add', 'bo b', '--generate'], /username "bo b" contains whitespace/],
    [['add', 'bob', '--generate', '--colour'], /Unknown option '--colour'/],
    [['add', 'bob', '--generate', '--role'], /argument missing/],
    [['add', 'bob', '--generate', '--role', ''], /--role must not be empty/],
    [['add', 'bob', '--generate', '--email', 'a@b\r\nX-Admin: 1'], /--email contains a control character/],
    [['frobnicate'], /unknown command 'frobnicate'/],
    [[], /missing command/],
  ])('exits 2 with a one-line hint for %j', async (args, message) => {
    const r = await run(args);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
    expect(r.err).toMatch(/; see 'postern user( \w+)? --help'\n$/);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(r.out).toBe('');
  });
});

describe('user passwd', () => {
  it('changes only the password of that user', async () => {
    await seed(
      { username: 'alice', plain: 'old', role: 'admin', groups: ['family'], email: 'a@example.com', name: 'Alice' },
      { username: 'bob', plain: 'bob' },
    );
    const before = await usersOnDisk();
    const r = await run(['passwd', 'Alice', '--password-stdin'], 'new one, longer\r\n');
    expect(r.code).toBe(0);
    expect(r.err).toContain("password changed for user 'alice'");
    const after = await usersOnDisk();
    const alice = after.get('alice')!;
    expect(await hasher.verify(alice.password, 'new one, longer')).toBe(true);
    expect(await hasher.verify(alice.password, 'old')).toBe(false);
    expect({ ...alice, password: '' }).toEqual({ ...before.get('alice')!, password: '' });
    expect(after.get('bob')).toEqual(before.get('bob'));
  });

  it('with --generate prints the new password', async () => {
    await seed({ username: 'alice', plain: 'old' });
    const r = await run(['passwd', 'alice', '--generate']);
    expect(r.code).toBe(0);
    expect(await hasher.verify((await usersOnDisk()).get('alice')!.password, r.out.trim())).toBe(true);
  });

  it('exits 1 for an unknown user and says how to add one', async () => {
    await seed({ username: 'alice', plain: 'a' });
    const r = await run(['passwd', 'bob', '--password-stdin'], 'pw');
    expect(r.code).toBe(1);
    expect(r.err).toContain("user 'bob' not found");
    expect(r.err).toContain("'postern user add bob'");
  });

  it('exits 2 without a password source', async () => {
    expect((await run(['passwd', 'alice'])).code).toBe(2);
  });
});

describe('user remove', () => {
  it('removes the user and keeps the others', async () => {
    await seed({ username: 'alice', plain: 'a' }, { username: 'bob', plain: 'b', groups: ['x'] });
    const bob = (await usersOnDisk()).get('bob');
    const r = await run(['remove', 'ALICE']);
    expect(r.code).toBe(0);
    expect(r.err).toContain("user 'alice' removed");
    const after = await usersOnDisk();
    expect([...after.keys()]).toEqual(['bob']);
    expect(after.get('bob')).toEqual(bob);
  });

  it('exits 1 for an unknown user', async () => {
    await seed({ username: 'alice', plain: 'a' });
    const r = await run(['remove', 'bob']);
    expect(r.code).toBe(1);
    expect(r.err).toContain("user 'bob' not found");
  });

  it('exits 2 without a name', async () => {
    expect((await run(['remove'])).code).toBe(2);
  });
});

describe('the minimum password length (users.min_password_length)', () => {
  it.each([
    ['add', 'bob'],
    ['passwd', 'alice'],
  ])('user %s refuses a password under the minimum with exit 2 and leaves the file alone', async (command, name) => {
    await seed({ username: 'alice', plain: 'alice-password' });
    const text = await readFile(usersFile, 'utf8');
    const r = await run([command, name, '--password-stdin'], 'eleven-char\n');
    expect(r).toEqual({
      code: 2,
      out: '',
      err:
        `postern user ${command}: the password has 11 characters, fewer than users.min_password_length (12); ` +
        'nothing was changed. Choose a longer one, use --generate, or add --force to import it as it is\n',
    });
    expect(await readFile(usersFile, 'utf8')).toBe(text);
  });

  it('counts characters, not bytes: twelve accented letters are enough', async () => {
    expect((await run(['add', 'bob', '--password-stdin'], 'éééééééééééé')).code).toBe(0);
    expect((await run(['add', 'carol', '--password-stdin'], 'ééééééééééé')).code).toBe(2);
  });

  it('--force accepts a short password (an import)', async () => {
    const r = await run(['add', 'bob', '--password-stdin', '--force'], 'abc');
    expect(r.code).toBe(0);
    expect(await hasher.verify((await usersOnDisk()).get('bob')!.password, 'abc')).toBe(true);
  });

  it('follows the configured minimum', async () => {
    expect((await run(['add', 'bob', '--password-stdin'], 'fifteen-chars!!', { minPasswordLength: 16 })).code).toBe(2);
    expect((await run(['add', 'bob', '--password-stdin'], 'sixteen-chars!!!', { minPasswordLength: 16 })).code).toBe(0);
  });

  it('a generated password (24 characters) passes', async () => {
    const r = await run(['add', 'bob', '--generate'], undefined, { minPasswordLength: 24 });
    expect(r.code).toBe(0);
    expect(r.out.trim()).toHaveLength(24);
  });
});

describe('user disable and enable', () => {
  it('disable sets disabled: true and changes nothing else; enable undoes it', async () => {
    await seed({ username: 'alice', plain: 'alice-password', role: 'admin', groups: ['family'] }, { username: 'bob', plain: 'bob-password' });
    const before = await usersOnDisk();

    const off = await run(['disable', 'ALICE']);
    expect(off).toEqual({ code: 0, out: '', err: "user 'alice' disabled: they cannot sign in, and their sessions end at their next request\n" });
    const disabled = await usersOnDisk();
    expect(disabled.get('alice')).toEqual({ ...before.get('alice')!, disabled: true });
    expect(disabled.get('bob')).toEqual(before.get('bob'));

    const on = await run(['enable', 'alice']);
    expect(on).toEqual({ code: 0, out: '', err: "user 'alice' enabled: they can sign in again\n" });
    expect(await usersOnDisk()).toEqual(before);
  });

  it.each([
    [['disable', 'bob'], "postern user disable: user 'bob' not found in USERS; see 'postern user list'\n"],
    [['enable', 'bob'], "postern user enable: user 'bob' not found in USERS; see 'postern user list'\n"],
    [['enable', 'alice'], "postern user enable: user 'alice' is already enabled; nothing was changed\n"],
    [['disable', 'carol'], "postern user disable: user 'carol' is already disabled; nothing was changed\n"],
  ])('%j exits 2 with a clear message and leaves the file alone', async (args, message) => {
    await seed({ username: 'alice', plain: 'alice-password' }, { username: 'carol', plain: 'carol-password', disabled: true });
    const text = await readFile(usersFile, 'utf8');
    const r = await run(args);
    expect(r).toEqual({ code: 2, out: '', err: message.replace('USERS', usersFile) });
    expect(await readFile(usersFile, 'utf8')).toBe(text);
  });

  it.each([[['disable']], [['enable', 'a', 'b']], [['disable', 'alice', '--now']]])('%j is a usage error (exit 2)', async (args) => {
    const r = await run(args);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(new RegExp(`; see 'postern user ${args[0]} --help'\n$`));
  });
});

describe('onUserChanged: what follows a change (ending sessions and device trusts)', () => {
  it('is told about each change after it was written', async () => {
    const seen: Array<[string, UserChange, boolean]> = [];
    const onUserChanged = async (username: string, change: UserChange) => {
      const onDisk = parseUsersFile(await readFile(usersFile, 'utf8')).users.get(username);
      seen.push([username, change, onDisk !== undefined]);
    };
    const deps = { onUserChanged };
    expect((await run(['add', 'bob', '--generate'], undefined, deps)).code).toBe(0);
    expect((await run(['passwd', 'bob', '--generate'], undefined, deps)).code).toBe(0);
    expect((await run(['disable', 'bob'], undefined, deps)).code).toBe(0);
    expect((await run(['enable', 'bob'], undefined, deps)).code).toBe(0);
    expect((await run(['remove', 'bob'], undefined, deps)).code).toBe(0);
    expect(seen).toEqual([
      ['bob', 'added', true],
      ['bob', 'password', true],
      ['bob', 'disabled', true],
      ['bob', 'enabled', true],
      ['bob', 'removed', false],
    ]);
  });

  it('is not called when nothing was changed', async () => {
    let calls = 0;
    await run(['disable', 'nobody'], undefined, { onUserChanged: () => void calls++ });
    expect(calls).toBe(0);
  });

  it('a failure is reported with exit 1; the change stays written', async () => {
    await seed({ username: 'alice', plain: 'alice-password' });
    const r = await run(['disable', 'alice'], undefined, {
      onUserChanged: () => Promise.reject(new Error('Redis is unreachable')),
    });
    expect(r.code).toBe(1);
    expect(r.err.split('\n')).toEqual([
      "user 'alice' disabled: they cannot sign in, and their sessions end at their next request",
      "postern: the users file was changed (disabled 'alice'), but what follows from it failed: Redis is unreachable",
      '',
    ]);
    expect((await usersOnDisk()).get('alice')?.disabled).toBe(true);
  });
});

describe('the file as a person wrote it', () => {
  const HAND_WRITTEN = (hash: string) => `# Our household.
users:
  # The admin account; do not remove.
  zoe:
    password: "${hash}"
    role: admin   # full access
    groups: [family]
  alice:
    password: "${hash}"
`;

  it('keeps comments and the order of users and keys through add, passwd, disable and remove', async () => {
    const hash = await hasher.hash('zoe-password');
    await writeFile(usersFile, HAND_WRITTEN(hash), { mode: 0o600 });
    expect((await run(['add', 'bob', '--password-stdin'], 'bob-password')).code).toBe(0);
    expect((await run(['passwd', 'alice', '--generate'])).code).toBe(0);
    expect((await run(['disable', 'zoe'])).code).toBe(0);
    expect((await run(['remove', 'bob'])).code).toBe(0);
    const text = await readFile(usersFile, 'utf8');
    const alice = (await usersOnDisk()).get('alice')!;
    expect(text).toBe(`# Our household.
users:
  # The admin account; do not remove.
  zoe:
    password: "${hash}"
    role: admin # full access
    groups: [family]
    disabled: true
  alice:
    password: "${alice.password}"
`);
  });
});

describe('user list', () => {
  it('prints a table of users without any hash', async () => {
    await seed(
      { username: 'bob', plain: 'b' },
      { username: 'alice', plain: 'a', role: 'admin', groups: ['family', 'admins'], email: 'a@example.com', disabled: true },
    );
    const r = await run(['list']);
    expect(r.code).toBe(0);
    expect(r.out).toBe(
      [
        'USERNAME  ROLE   GROUPS         EMAIL          DISABLED  FACTORS',
        'alice     admin  family,admins  a@example.com  yes       -',
        'bob       user   -              -              no        -',
        '',
      ].join('\n'),
    );
    expect(r.out).not.toMatch(/argon2|pbkdf2/);
  });

  it('exits 1 when there is no users file, saying how to create one', async () => {
    const r = await run(['list']);
    expect(r.code).toBe(1);
    expect(r.err).toContain("postern user add NAME --generate");
  });

  it('exits 1 and lists the problems of a broken file', async () => {
    await writeFile(usersFile, 'users:\n  bob:\n    password: x\n    role: "a\\nb"\n');
    const r = await run(['list']);
    expect(r.code).toBe(1);
    expect(r.err).toContain('has 2 problems');
    expect(r.err).toContain('users.bob.role contains a control character');
  });
});

describe('help', () => {
  it.each([[['--help']], [['add', '--help']], [['passwd', '-h']], [['disable', '--help']], [['enable', '-h']], [['remove', '--help']], [['list', '--help']]])(
    '%j prints usage on stdout and exits 0',
    async (args) => {
      const r = await run(args);
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/^Usage: postern user/);
    },
  );
});

describe('password prompt on a terminal', () => {
  it('asks twice without echo, honours backspace, and restores the terminal', async () => {
    const t = terminal(undefined, { tty: true });
    const result = userCommand(['add', 'dave', '--password-stdin'], t.io, { usersFile, hasher });
    t.stdin.write('long-password');
    t.stdin.write('x\u007f1\r'); // typo, backspace
    t.stdin.write('long-password1\r');
    expect(await result).toBe(0);
    expect(t.err()).toContain('New password: ');
    expect(t.err()).toContain('Repeat the password: ');
    expect(t.err()).not.toContain('password1');
    expect(t.rawModes).toEqual([true, false, true, false]);
    expect(await hasher.verify((await usersOnDisk()).get('dave')!.password, 'long-password1')).toBe(true);
  });

  it('exits 1 and writes nothing when the two entries differ', async () => {
    const t = terminal(undefined, { tty: true });
    const result = userCommand(['add', 'dave', '--password-stdin'], t.io, { usersFile, hasher });
    t.stdin.write('one\rtwo\r'); // typed ahead: the second line goes to the second prompt
    expect(await result).toBe(1);
    expect(t.err()).toContain('do not match; nothing was changed');
    await expect(stat(usersFile)).rejects.toThrow(/ENOENT/);
  });

  it('treats Ctrl-C as cancel', async () => {
    const t = terminal(undefined, { tty: true });
    const result = userCommand(['add', 'dave', '--password-stdin'], t.io, { usersFile, hasher });
    t.stdin.write('abc\u0003');
    expect(await result).toBe(1);
    expect(t.err()).toContain('cancelled');
    expect(t.rawModes).toEqual([true, false]);
  });

  it('reads piped input whole, stripping exactly one trailing newline', async () => {
    expect(await readPassword(terminal('a b\n\n').io, '')).toBe('a b\n');
    expect(await readPassword(terminal('plain').io, '')).toBe('plain');
  });
});

describe('hash-password', () => {
  it('prints an argon2id hash of the password on stdin', async () => {
    const t = terminal('hunter2\n');
    expect(await hashPasswordCommand([], t.io, { hasher })).toBe(0);
    const hash = t.out().trim();
    expect(hash).toMatch(/^\$argon2id\$/);
    expect(await hasher.verify(hash, 'hunter2')).toBe(true);
  });

  it('prints a Frigate pbkdf2 hash with --algorithm pbkdf2-sha256', async () => {
    const t = terminal('hunter2');
    expect(await hashPasswordCommand(['--algorithm', 'pbkdf2-sha256'], t.io, { hasher })).toBe(0);
    const hash = t.out().trim();
    expect(hash).toMatch(/^pbkdf2_sha256\$600000\$[0-9a-f]{32}\$/);
    expect(isSupportedHash(hash)).toBe(true);
    expect(await hasher.verify(hash, 'hunter2')).toBe(true);
  });

  it.each([[['--algorithm', 'md5']], [['extra']], [['--nope']]])('exits 2 for %j', async (args) => {
    const t = terminal('pw');
    expect(await hashPasswordCommand(args, t.io, { hasher })).toBe(2);
    expect(t.err()).toMatch(/see 'postern hash-password --help'\n$/);
  });

  it('prints usage with --help', async () => {
    const t = terminal();
    expect(await hashPasswordCommand(['--help'], t.io, { hasher })).toBe(0);
    expect(t.out()).toMatch(/^Usage: postern hash-password/);
  });
});
