import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeUsersFileAtomic } from '../../src/auth/users-file-writer.js';
import { parseUsersFile } from '../../src/auth/users-file-parse.js';
import { tokenCommand, type TokenCommandDeps } from '../../src/cli/token-command.js';
import { hashSecret, parseToken } from '../../src/tokens/app-password.js';

const NOW = Date.parse('2026-12-02T03:00:00Z');
let dir: string;
let deps: TokenCommandDeps;

async function run(...args: string[]) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await tokenCommand(args, { stdin: new PassThrough(), stdout, stderr }, deps);
  return { code, stdout: out, stderr: err };
}

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'postern-token-cli-'));
  deps = { usersFile: join(dir, 'users.yml'), domain: 'example.com', redisUrl: undefined, now: () => NOW };
  await writeUsersFileAtomic(deps.usersFile, [
    { username: 'alice', password: `$argon2id$v=19$m=19456,t=2,p=1$${'c2FsdHNhbHRzYWx0c2FsdA'}$${'A'.repeat(43)}`, role: 'user', groups: [], email: '', name: '', disabled: false },
  ]);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('postern token create', () => {
  it('prints the token once and stores only its SHA-256, with the limits asked for', async () => {
    const r = await run('create', '--user', 'alice', '--name', 'immich phone', '--expires', '90d', '--hosts', 'photos.example.com', '--read-only');
    expect(r.code).toBe(0);
    const token = r.stdout.trim();
    const parsed = parseToken(token)!;
    expect(parsed).toBeDefined();
    const text = readFileSync(deps.usersFile, 'utf8');
    expect(text).not.toContain(parsed.secret);
    const [t] = parseUsersFile(text).users.get('alice')!.appPasswords!;
    expect(t).toEqual({ id: parsed.id, name: 'immich phone', hash: hashSecret(parsed.secret), created: NOW, expires: NOW + 90 * 86_400_000, hosts: ['photos.example.com'], readOnly: true });
  });

  it.each([
    [['--user', 'nobody', '--name', 'x'], /no user 'nobody'/],
    [['--user', 'alice', '--name', 'x', '--expires', '2020-01-01'], /in the past/],
    [['--user', 'alice', '--name', 'x', '--expires', 'soon'], /--expires must be a duration/],
    [['--user', 'alice', '--name', 'x', '--hosts', 'evil.test'], /outside session\.domain \(example\.com\)/],
    [['--user', 'alice'], /needs --name/],
    [['--user', 'alice', '--name', 'x', '--colour', 'red'], /Unknown option/],
  ])('refuses %j with a clear error, exit 2, and leaves the users file untouched', async (args, message) => {
    const before = readFileSync(deps.usersFile, 'utf8');
    const r = await run('create', ...args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe('');
    expect(readFileSync(deps.usersFile, 'utf8')).toBe(before);
  });
});

describe('postern token list and revoke', () => {
  it('lists tokens without their secret, and revoke removes one by ID', async () => {
    const token = (await run('create', '--user', 'alice', '--name', 'backup script')).stdout.trim();
    const { id, secret } = parseToken(token)!;
    const listed = await run('list', '--user', 'alice');
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(new RegExp(`^${id}\\s+alice\\s+backup_script\\s+2026-12-02T03:00:00Z\\s+-\\s+\\*\\s+read-write\\s+unknown$`, 'm'));
    expect(listed.stdout).not.toContain(secret);
    expect(listed.stdout).not.toContain(hashSecret(secret));

    const revoked = await run('revoke', id);
    expect(revoked.code).toBe(0);
    expect(parseUsersFile(readFileSync(deps.usersFile, 'utf8')).users.get('alice')!.appPasswords).toBeUndefined();
    const again = await run('revoke', id);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/no app password has the ID/);
  });
});
