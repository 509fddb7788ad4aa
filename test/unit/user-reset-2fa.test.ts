/** `postern user reset-2fa NAME` and the FACTORS column of `postern user list`. */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseUsersFile } from '../../src/auth/users-file-parse.js';
import { writeUsersFileAtomic } from '../../src/auth/users-file-writer.js';
import { userCommand } from '../../src/cli/user-commands.js';
import { buildUsers, fastHasher } from '../support/app-fixture.js';
import { testAuthenticator } from '../support/factors.js';

let dir: string;
let usersFile: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'postern-reset-2fa-'));
  usersFile = join(dir, 'users.yml');
  await writeUsersFileAtomic(
    usersFile,
    await buildUsers({ alice: { password: 'alice-password', factors: testAuthenticator('alice', { recovery: true }).factors }, bob: { password: 'bob-password' } }),
  );
});
afterEach(() => rm(dir, { recursive: true, force: true }));

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const [stdout, stderr] = [new PassThrough(), new PassThrough()];
  let out = '';
  let err = '';
  stdout.on('data', (c: Buffer) => (out += c.toString()));
  stderr.on('data', (c: Buffer) => (err += c.toString()));
  const stdin = new PassThrough();
  stdin.end();
  const code = await userCommand(args, { stdin, stdout, stderr }, { usersFile, hasher: fastHasher });
  return { code, out, err };
}

describe('postern user list', () => {
  it('shows who has which second factor', async () => {
    const r = await run(['list']);
    expect(r.code).toBe(0);
    expect(r.out).toBe(
      ['USERNAME  ROLE  GROUPS  EMAIL  DISABLED  FACTORS', 'alice     user  -       -      no        totp,recovery:10/10', 'bob       user  -       -      no        -', ''].join('\n'),
    );
  });
});

describe('postern user reset-2fa', () => {
  it('removes every second factor of the user and says which, leaving the rest of the file', async () => {
    const r = await run(['reset-2fa', 'Alice']);
    expect(r).toEqual({ code: 0, out: '', err: "second factors of 'alice' removed (totp, recovery:10/10); their next sign-in asks for the password only\n" });
    const { users, problems } = parseUsersFile(await readFile(usersFile, 'utf8'));
    expect(problems).toEqual([]);
    expect(users.get('alice')?.factors).toBeUndefined();
    expect(users.get('alice')?.password).toMatch(/^\$argon2id\$/);
    expect(users.has('bob')).toBe(true);
  });

  it('says so when there is nothing to remove, and fails for an unknown user', async () => {
    expect(await run(['reset-2fa', 'bob'])).toEqual({ code: 0, out: '', err: "user 'bob' has no second factor; nothing was changed\n" });
    const unknown = await run(['reset-2fa', 'nobody']);
    expect(unknown.code).toBe(1);
    expect(unknown.err).toContain("user 'nobody' not found");
  });

  it('has its help, and is listed in the user help', async () => {
    expect((await run(['reset-2fa', '--help'])).out).toContain('Usage: postern user reset-2fa NAME');
    expect((await run(['--help'])).out).toContain("reset-2fa NAME remove a user's second factors");
  });
});
