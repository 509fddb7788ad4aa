/**
 * The users file edited from many places at once: 20 `postern user add` processes started together
 * on one file. Each takes the lock, re-reads, adds its user and writes atomically, so every user is
 * there afterwards, the file is valid, and what a person wrote in it (comments) is still there.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPasswordHasher } from '../../src/auth/passwords.js';
import { parseUsersFile } from '../../src/auth/users-file-parse.js';
import { runCli } from '../support/cli.js';

const WRITERS = 20;

describe('20 concurrent postern user add processes on one users file', () => {
  let dir: string;
  let config: string;
  let usersFile: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'postern-concurrent-'));
    usersFile = join(dir, 'users.yml');
    config = join(dir, 'postern.yml');
    writeFileSync(
      config,
      'server: { public_url: "http://auth.example.com" }\n' +
        'users: { file: users.yml, argon2: { memory_cost: 8192, time_cost: 1, parallelism: 1 } }\n',
    );
  });

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('all 20 users are in the file afterwards, the file is valid, and its comments are kept', async () => {
    const hash = await createPasswordHasher({ argon2: { memory_cost: 8192, time_cost: 1, parallelism: 1 } }).hash('owner-password');
    const head = `# Written by hand: keep this comment.\nusers:\n  # The owner.\n  owner:\n    password: "${hash}"\n    role: admin # full access\n`;
    writeFileSync(usersFile, head, { mode: 0o600 });

    const names = Array.from({ length: WRITERS }, (_, i) => `user${String(i).padStart(2, '0')}`);
    // Started together; on two busy cores each process takes seconds to start, so allow for it.
    const results = await Promise.all(
      names.map((name) => runCli(['--config', config, 'user', 'add', name, '--password-stdin'], { stdin: `password-of-${name}\n`, cwd: dir, timeoutMs: 60_000 })),
    );
    for (const [i, result] of results.entries()) {
      expect.soft(result, names[i]).toMatchObject({ code: 0, stdout: '', stderr: `user '${names[i]}' added to ${usersFile} (role user)\n` });
    }

    const text = readFileSync(usersFile, 'utf8');
    const { users, problems } = parseUsersFile(text);
    expect(problems).toEqual([]);
    expect([...users.keys()].sort()).toEqual(['owner', ...names]);
    // What was there first is still there, comments included, in its place.
    expect(text.startsWith(head)).toBe(true);
    // No temp file and no lock left behind.
    expect(readdirSync(dir).sort()).toEqual(['postern.yml', 'users.yml']);
  }, 120_000);
});
