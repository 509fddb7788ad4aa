import { pbkdf2Sync } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createPasswordHasher, type PasswordHasher } from '../../src/auth/passwords.js';
import type { User } from '../../src/auth/user.js';
import { carryFingerprint } from '../../src/auth/carried-fingerprint.js';
import { UsersFile } from '../../src/auth/users-file.js';
import { parseUsersFile } from '../../src/auth/users-file-parse.js';
import { createInitialUsersFile, serialiseUsers, writeUsersFileAtomic } from '../../src/auth/users-file-writer.js';
import { hasControlChars, normaliseUsername, validateUsername } from '../../src/auth/username.js';

const FAST = { memory_cost: 8192, time_cost: 1, parallelism: 1 };

let hasher: PasswordHasher;
let argonHash: string; // of 'secret'
let dir: string;

beforeAll(async () => {
  hasher = createPasswordHasher({ argon2: FAST });
  argonHash = await hasher.hash('secret');
});

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'postern-users-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function user(username: string, extra: Partial<User> = {}): User {
  return { username, password: argonHash, role: 'user', groups: [], email: '', name: '', disabled: false, ...extra };
}

function yamlUsers(body: string): string {
  return `users:\n${body}`;
}

/** Polls `check` until it returns a truthy value; fails after `timeoutMs`. */
async function eventually<T>(check: () => T | undefined | false, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const modeOf = async (path: string): Promise<number> => (await stat(path)).mode & 0o777;

describe('usernames', () => {
  it('normalises full-width and upper-case letters to one lower-case name', () => {
    expect(normaliseUsername('ＡＬＩＣＥ')).toBe('alice');
    expect(normaliseUsername('Alice')).toBe('alice');
    expect(normaliseUsername('alice')).toBe('alice');
  });

  it('lower-cases without the server locale: I becomes i, never a dotless ı', () => {
    expect(normaliseUsername('IGOR')).toBe('igor');
  });

  it.each([
    ['NUL', '\u0000'],
    ['TAB', 'a\tb'],
    ['LF', 'a\nb'],
    ['CR', 'a\rb'],
    ['DEL', 'a\u007fb'],
    ['C1 (NEL)', 'a\u0085b'],
    ['LINE SEPARATOR', 'a\u2028b'],
    ['PARAGRAPH SEPARATOR', 'a\u2029b'],
  ])('detects %s as a control character', (_label, s) => {
    expect(hasControlChars(s)).toBe(true);
  });

  it('finds no control character in ordinary text', () => {
    expect(hasControlChars('Zoë O’Brien <zoe@example.com>')).toBe(false);
  });

  it.each([
    ['', /empty/],
    ['a'.repeat(65), /65 characters.*limit is 64/],
    ['bo b', /whitespace/],
    ['bob\u00a0smith', /whitespace/],
    ['a,b', /','/],
    ['a:b', /':'/],
    ['a/b', /'\/'/],
    ['bob\n', /control character/],
    ['ad\u202emin', /invisible/],
  ])('rejects the username %j', (raw, message) => {
    expect(validateUsername(raw)).toMatch(message);
  });

  it('accepts ordinary usernames up to 64 characters', () => {
    expect(validateUsername('alice')).toBeUndefined();
    expect(validateUsername('first.last@example.com')).toBeUndefined();
    expect(validateUsername('Zoë')).toBeUndefined();
    expect(validateUsername('x'.repeat(64))).toBeUndefined();
  });
});

describe('parseUsersFile', () => {
  it('loads a user with every field, and fills defaults for the rest', () => {
    const { users, problems } = parseUsersFile(
      yamlUsers(
        `  alice:\n    password: "${argonHash}"\n    role: admin\n    groups: [family, admins]\n` +
          `    email: alice@example.com\n    name: Alice Liddell\n    disabled: true\n` +
          `  bob:\n    password: "${argonHash}"\n`,
      ),
    );
    expect(problems).toEqual([]);
    expect(users.get('alice')).toEqual({
      username: 'alice',
      password: argonHash,
      role: 'admin',
      groups: ['family', 'admins'],
      email: 'alice@example.com',
      name: 'Alice Liddell',
      disabled: true,
    });
    expect(users.get('bob')).toEqual(user('bob'));
  });

  it('loads a Frigate-style pbkdf2 users file, and its passwords verify', async () => {
    const salt = 'f3b2a1c0d9e8f7a6b5c4d3e2f1a0b9c8';
    const key = pbkdf2Sync('frigate-pw', salt, 600_000, 32, 'sha256').toString('base64');
    const { users, problems } = parseUsersFile(yamlUsers(`  admin:\n    password: pbkdf2_sha256$600000$${salt}$${key}\n    role: admin\n`));
    expect(problems).toEqual([]);
    const admin = users.get('admin');
    expect(admin?.role).toBe('admin');
    expect(await hasher.verify(admin!.password, 'frigate-pw')).toBe(true);
    expect(await hasher.verify(admin!.password, 'wrong')).toBe(false);
  });

  it('keys users by normalised name', () => {
    const { users, problems } = parseUsersFile(yamlUsers(`  ＡＬＩＣＥ:\n    password: "${argonHash}"\n`));
    expect(problems).toEqual([]);
    expect([...users.keys()]).toEqual(['alice']);
  });

  it('reports an unsupported hash without printing it', () => {
    const { users, problems } = parseUsersFile(yamlUsers(`  bob:\n    password: plaintext-oops\n`));
    expect(users.size).toBe(0);
    expect(problems).toEqual(['users.bob.password is not a supported hash (argon2id, pbkdf2_sha256 of at least 100000 iterations, or bcrypt $2a$/$2b$/$2y$ of cost 10 to 15)']);
  });

  it('reports two spellings of one user', () => {
    const { problems } = parseUsersFile(
      yamlUsers(`  Bob:\n    password: "${argonHash}"\n  bob:\n    password: "${argonHash}"\n`),
    );
    expect(problems).toEqual(['users.Bob and users.bob are the same user after normalisation']);
  });

  it('reports control characters in every identity value', () => {
    const { problems } = parseUsersFile(
      yamlUsers(
        `  eve:\n    password: "${argonHash}"\n    email: "eve@example.com\\r\\nX-Admin: yes"\n` +
          `    role: "admin\\n"\n    name: "Eve\\u2028"\n    groups: ["ok", "bad\\u0085"]\n`,
      ),
    );
    expect(problems).toEqual([
      'users.eve.role contains a control character',
      'users.eve.email contains a control character',
      'users.eve.name contains a control character',
      'users.eve.groups[1] contains a control character',
    ]);
  });

  it('reports a control character in a username, quoted so it cannot break a log line', () => {
    const { problems } = parseUsersFile(yamlUsers(`  "mal\\nlory":\n    password: "${argonHash}"\n`));
    expect(problems).toEqual(['users."mal\\nlory" is not a valid username: it contains a control character']);
  });

  it('reports every problem in the file at once', () => {
    const { users, problems } = parseUsersFile(
      yamlUsers(
        `  good:\n    password: "${argonHash}"\n` +
          `  carol:\n    passwd: "${argonHash}"\n` +
          `  dave:\n    password: "${argonHash}"\n    groups: "admins"\n    disabled: "yes"\n` +
          `  erin:\n    password: "${argonHash}"\n    groups: ["a,b"]\n    role: ""\n    name: 42\n`,
      ) + 'extra: 1\n',
    );
    expect(users.size).toBe(0); // one problem anywhere and the file is not used at all
    expect(problems).toEqual([
      "extra is not a known key (expected only 'users')",
      'users.carol.passwd is not a known key (password, role, groups, email, name, disabled, session_fingerprint, app_passwords, factors)',
      'users.carol.password is missing',
      'users.dave.groups must be a list such as [family, admins], got a string',
      'users.dave.disabled must be true or false, got a string',
      "users.erin.role must not be empty (omit it for 'user')",
      'users.erin.name must be a string, got number 42',
      "users.erin.groups[0] contains ',', which separates groups in the groups header",
    ]);
  });

  it('reports YAML syntax errors with their line, without echoing the file', () => {
    const { problems } = parseUsersFile(`users:\n  alice:\n    password: "${argonHash}\n`, '/etc/postern/users.yml');
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^\/etc\/postern\/users\.yml is not valid YAML: .*line \d+/);
    expect(problems[0]).not.toContain(argonHash);
  });

  it('reports a duplicated key as YAML error', () => {
    const { problems } = parseUsersFile(yamlUsers(`  bob:\n    password: "${argonHash}"\n  bob:\n    password: "${argonHash}"\n`));
    expect(problems[0]).toMatch(/Map keys must be unique/);
  });

  it('refuses an empty file and an empty users key, but accepts an explicit empty mapping', () => {
    expect(parseUsersFile('').problems).toEqual(["users file must be a mapping with a 'users' key"]);
    expect(parseUsersFile('users:\n').problems).toEqual([
      "users must be a mapping of username to user (write 'users: {}' for none)",
    ]);
    expect(parseUsersFile('users: {}\n')).toEqual({ users: new Map(), problems: [] });
  });

  it('reads session_fingerprint only for the hash it was written with (see carried-fingerprint.ts)', () => {
    const carried = carryFingerprint('sessions-carry-this', argonHash);
    const entry = (hash: string, value: string) => yamlUsers(`  bob:\n    password: "${hash}"\n    session_fingerprint: "${value}"\n`);
    expect(parseUsersFile(entry(argonHash, carried)).users.get('bob')?.sessionFingerprint).toBe('sessions-carry-this');
    // The password was replaced since (by hand, say): the line no longer counts, so the replacement ends sessions.
    const other = parseUsersFile(entry(`pbkdf2_sha256$100000$salt$${Buffer.alloc(32).toString('base64')}`, carried));
    expect(other.problems).toEqual([]);
    expect(other.users.get('bob')?.sessionFingerprint).toBeUndefined();
    expect(parseUsersFile(entry(argonHash, 'made-up')).problems).toEqual([
      "users.bob.session_fingerprint is not one Postern wrote; delete the line (the user's sessions then end)",
    ]);
  });

  it('treats __proto__ as an ordinary username', () => {
    const { users, problems } = parseUsersFile(yamlUsers(`  __proto__:\n    password: "${argonHash}"\n`));
    expect(problems).toEqual([]);
    expect(users.get('__proto__')?.username).toBe('__proto__');
  });
});

describe('serialiseUsers', () => {
  it('writes users sorted by name, and reads back the same users', () => {
    const users = [
      user('zoë', { name: 'Zoë "Z" O’Brien: #1', email: 'zoe@example.com', groups: ['a b', 'true'] }),
      user('123', { role: 'yes', name: 'null', disabled: true }),
      user('alice', { role: 'admin', groups: ['family'] }),
    ];
    const text = serialiseUsers(users);
    expect(text.indexOf('  "123":')).toBeLessThan(text.indexOf('  alice:'));
    expect(text.indexOf('  alice:')).toBeLessThan(text.indexOf('  zoë:'));
    const parsed = parseUsersFile(text);
    expect(parsed.problems).toEqual([]);
    expect([...parsed.users.values()]).toEqual([users[1], users[2], users[0]]);
  });

  it('writes an empty users mapping that reads back as valid', () => {
    expect(parseUsersFile(serialiseUsers([])).problems).toEqual([]);
  });
});

describe('writeUsersFileAtomic', () => {
  it('creates the parent directory (0700) and the file (0600)', async () => {
    const path = join(dir, 'nested', 'users.yml');
    await writeUsersFileAtomic(path, [user('alice')]);
    expect(await modeOf(join(dir, 'nested'))).toBe(0o700);
    expect(await modeOf(path)).toBe(0o600);
    expect(parseUsersFile(await readFile(path, 'utf8')).users.has('alice')).toBe(true);
  });

  it('replaces a file that was 0644 with one that is 0600, and leaves no temp file behind', async () => {
    const path = join(dir, 'users.yml');
    await writeFile(path, 'users: {}\n');
    await chmod(path, 0o644);
    await writeUsersFileAtomic(path, [user('alice')]);
    expect(await modeOf(path)).toBe(0o600);
    expect(await readdir(dir)).toEqual(['users.yml']);
  });

  it('keeps the other users when one is changed', async () => {
    const path = join(dir, 'users.yml');
    const carol = user('carol', { role: 'admin', groups: ['family'], email: 'c@example.com', name: 'Carol' });
    await writeUsersFileAtomic(path, [user('alice'), carol]);
    const before = parseUsersFile(await readFile(path, 'utf8')).users;
    before.set('alice', { ...before.get('alice')!, disabled: true });
    await writeUsersFileAtomic(path, before.values());
    const after = parseUsersFile(await readFile(path, 'utf8')).users;
    expect(after.get('carol')).toEqual(carol);
    expect(after.get('alice')?.disabled).toBe(true);
  });
});

describe('UsersFile', () => {
  let file: UsersFile | undefined;
  afterEach(() => file?.close());

  it('finds users by any spelling that normalises to their name', async () => {
    const path = join(dir, 'users.yml');
    await writeUsersFileAtomic(path, [user('alice'), user('bob')]);
    file = await UsersFile.open(path, { watch: false });
    expect(file.find('ＡＬＩＣＥ')?.username).toBe('alice');
    expect(file.find('Bob')?.username).toBe('bob');
    expect(file.find('carol')).toBeUndefined();
    expect(file.find('a'.repeat(10_000))).toBeUndefined();
    expect(file.all().map((u) => u.username)).toEqual(['alice', 'bob']);
  });

  it('refuses to open a file with problems, listing them all', async () => {
    const path = join(dir, 'users.yml');
    await writeFile(path, yamlUsers(`  bob:\n    password: nope\n  eve:\n    password: "${argonHash}"\n    email: "a\\nb"\n`));
    await expect(UsersFile.open(path, { watch: false })).rejects.toThrow(
      /has 2 problems:\n {2}- users\.bob\.password is not a supported hash.*\n {2}- users\.eve\.email contains a control character/,
    );
  });

  it('refuses to open a missing file, saying how to create one', async () => {
    await expect(UsersFile.open(join(dir, 'none.yml'), { watch: false })).rejects.toThrow(/postern user add/);
  });

  it('picks up an atomic rewrite without a restart', async () => {
    const path = join(dir, 'users.yml');
    await writeUsersFileAtomic(path, [user('alice')]);
    const reloads: number[] = [];
    file = await UsersFile.open(path, { onReload: (n) => reloads.push(n) });
    await writeUsersFileAtomic(path, [user('alice'), user('bob')]);
    await eventually(() => file!.find('bob'));
    expect(file.all()).toHaveLength(2);
    expect(reloads.at(-1)).toBe(2);
  });

  it('picks up an edit in place (as an editor saving over the file)', async () => {
    const path = join(dir, 'users.yml');
    await writeUsersFileAtomic(path, [user('alice')]);
    file = await UsersFile.open(path, {});
    await writeFile(path, serialiseUsers([user('alice', { role: 'admin' })]));
    await eventually(() => file!.find('alice')?.role === 'admin');
  });

  it('keeps the previous users when an edit is invalid, and reports the problems', async () => {
    const path = join(dir, 'users.yml');
    await writeUsersFileAtomic(path, [user('alice')]);
    const reported: string[][] = [];
    file = await UsersFile.open(path, { onProblem: (p) => reported.push(p) });
    await writeFile(path, yamlUsers(`  alice:\n    password: "${argonHash}"\n  bob:\n    password: plain\n`));
    await eventually(() => reported.length > 0);
    expect(reported[0]).toEqual(['users.bob.password is not a supported hash (argon2id, pbkdf2_sha256 of at least 100000 iterations, or bcrypt $2a$/$2b$/$2y$ of cost 10 to 15)']);
    expect(file.find('alice')).toBeDefined();
    expect(file.find('bob')).toBeUndefined();

    // Fixing the file brings the edit in.
    await writeUsersFileAtomic(path, [user('alice'), user('bob')]);
    await eventually(() => file!.find('bob'));
  });

  it('tells onReload, once per loaded edit, the users in force before it and after it', async () => {
    const path = join(dir, 'users.yml');
    await writeUsersFileAtomic(path, [user('alice'), user('bob')]);
    const changes: Array<{ count: number; before: string[]; after: string[]; bobWas: boolean | undefined; bobIs: boolean | undefined }> = [];
    file = await UsersFile.open(path, {
      watch: false,
      onReload: (count, { previous, next }) =>
        changes.push({ count, before: [...previous.keys()], after: [...next.keys()], bobWas: previous.get('bob')?.disabled, bobIs: next.get('bob')?.disabled }),
    });
    await writeUsersFileAtomic(path, [user('alice'), user('bob', { disabled: true })]);
    expect(await file.reload()).toBe(true);
    expect(await file.reload()).toBe(true); // the same text again: no edit
    await writeFile(path, 'users: [');
    expect(await file.reload()).toBe(false); // an invalid edit is not loaded
    await writeUsersFileAtomic(path, [user('bob', { disabled: true })]);
    expect(await file.reload()).toBe(true);

    expect(changes).toEqual([
      { count: 2, before: ['alice', 'bob'], after: ['alice', 'bob'], bobWas: false, bobIs: true },
      // Compared with the last version in force, not with the broken one.
      { count: 1, before: ['alice', 'bob'], after: ['bob'], bobWas: true, bobIs: true },
    ]);
  });

  it('reload() says whether the file on disk is in force', async () => {
    const path = join(dir, 'users.yml');
    await writeUsersFileAtomic(path, [user('alice')]);
    const problems: string[][] = [];
    file = await UsersFile.open(path, { watch: false, onProblem: (p) => problems.push(p) });
    await writeFile(path, 'users: [');
    expect(await file.reload()).toBe(false);
    expect(await file.reload()).toBe(false);
    expect(problems).toHaveLength(1); // the same broken text is reported once
    await rm(path);
    expect(await file.reload()).toBe(false);
    expect(file.find('alice')).toBeDefined();
    await writeUsersFileAtomic(path, [user('carol')]);
    expect(await file.reload()).toBe(true);
    expect(file.all().map((u) => u.username)).toEqual(['carol']);
  });
});

describe('createInitialUsersFile', () => {
  it('writes a 0600 file with one admin whose generated password verifies', async () => {
    const path = join(dir, 'data', 'users.yml');
    const created = await createInitialUsersFile(path, hasher);
    expect(created?.username).toBe('admin');
    expect(created?.password).toMatch(/^[A-Za-z0-9_-]{24}$/);
    expect(await modeOf(path)).toBe(0o600);
    const { users, problems } = parseUsersFile(await readFile(path, 'utf8'));
    expect(problems).toEqual([]);
    const admin = users.get('admin')!;
    expect(admin).toMatchObject({ role: 'admin', groups: ['admins'], disabled: false });
    expect(await hasher.verify(admin.password, created!.password)).toBe(true);
    expect(await readdir(join(dir, 'data'))).toEqual(['users.yml']);
  });

  it('never overwrites an existing file', async () => {
    const path = join(dir, 'users.yml');
    await writeFile(path, 'users: {}\n', { mode: 0o600 });
    expect(await createInitialUsersFile(path, hasher)).toBeUndefined();
    expect(await readFile(path, 'utf8')).toBe('users: {}\n');
  });

  it('creates the file once when two processes race', async () => {
    const path = join(dir, 'users.yml');
    await mkdir(dir, { recursive: true });
    const results = await Promise.all([createInitialUsersFile(path, hasher), createInitialUsersFile(path, hasher)]);
    const winners = results.filter((r) => r !== undefined);
    expect(winners).toHaveLength(1);
    const admin = parseUsersFile(await readFile(path, 'utf8')).users.get('admin')!;
    expect(await hasher.verify(admin.password, winners[0]!.password)).toBe(true);
    expect(await readdir(dir)).toEqual(['users.yml']);
  });
});
