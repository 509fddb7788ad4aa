import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeUsersFileAtomic } from '../../src/auth/users-file.js';
import { buildUsers } from '../support/app-fixture.js';
import { readExample } from '../support/examples.js';
import { CLI } from '../support/postern-process.js';

const run = promisify(execFile);
let dir: string;

async function postern(args: string[]) {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, '--config', join(dir, 'postern.yml'), ...args], { env: { PATH: process.env.PATH } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'postern-access-cli-'));
  // The published example, as is: access explain reads the same rules the proxies are tested with.
  writeFileSync(join(dir, 'postern.yml'), readExample('nginx/postern.yml'));
  await writeUsersFileAtomic(join(dir, 'data', 'users.yml'), await buildUsers({ victor: { password: 'x', role: 'viewer', groups: ['family'] } }));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('postern access explain', () => {
  it('shows the canonical target, the matching rule and the decision for a share link', async () => {
    const out = await postern(['access', 'explain', 'https://share.example.com/share/album-1?key=abc']);
    expect(out.code).toBe(0);
    expect(out.stdout).toBe(
      [
        'target:   GET share.example.com/share/album-1',
        'as:       not signed in, from 203.0.113.1',
        'rule:     access.rules[0]: hosts=[share.example.com] paths=[/share/**,/api/shared-links/**,/_app/**] policy=bypass',
        'decision: allow (no sign-in needed; identity headers empty)',
        '',
      ].join('\n'),
    );
  });

  it('judges /share/../admin as /admin on the share host: forbidden', async () => {
    const out = await postern(['access', 'explain', 'https://share.example.com/share/%2e%2e/admin']);
    expect(out.stdout).toContain('target:   GET share.example.com/admin\n');
    expect(out.stdout).toContain('rule:     access.rules[1]: hosts=[share.example.com] policy=deny\n');
    expect(out.stdout).toMatch(/^decision: forbidden \(403\)/m);
  });

  it('refuses an ambiguous path before any rule', async () => {
    const out = await postern(['access', 'explain', 'https://share.example.com/share%2fadmin']);
    expect(out.stdout).toMatch(/^target:   refused: /m);
    expect(out.stdout).toMatch(/^decision: forbidden \(403\)/m);
  });

  it('decides as a user from the users file, with a method and an address', async () => {
    const post = await postern(['access', 'explain', 'https://nvr.example.com/settings', '--user', 'victor', '--method', 'post']);
    expect(post.stdout).toContain('as:       victor (role viewer, groups family), one factor, from 203.0.113.1\n');
    expect(post.stdout).toMatch(/^decision: forbidden \(403\)/m);
    const home = await postern(['access', 'explain', 'https://app.example.com/', '--ip', '192.168.1.20']);
    expect(home.stdout).toContain('policy=bypass');
  });

  it('says a two_factor rule asks a one-factor session for a second factor, and lets a two-factor one through (--two-factor)', async () => {
    const file = join(dir, 'two-factor.yml');
    writeFileSync(file, `${readExample('nginx/postern.yml').replace('hosts: [nvr.example.com]\n      subjects: ["role:admin", "role:viewer"]\n      policy: authenticated', 'hosts: [nvr.example.com]\n      subjects: ["role:admin", "role:viewer"]\n      policy: two_factor')}`);
    const explain = async (...extra: string[]) =>
      (await run(process.execPath, [CLI, '--config', file, 'access', 'explain', 'https://nvr.example.com/live', '--user', 'victor', ...extra], { env: { PATH: process.env.PATH } })).stdout;
    const one = await explain();
    expect(one).toContain('policy=two_factor');
    expect(one).toContain('decision: second factor required (sent to /login/2fa)\n');
    const two = await explain('--two-factor');
    expect(two).toContain('as:       victor (role viewer, groups family), two factors, from 203.0.113.1\n');
    expect(two).toContain('decision: allow\n');
  });

  it('exits 2 with the usage for a URL that is not absolute', async () => {
    const out = await postern(['access', 'explain', '/relative']);
    expect(out.code).toBe(2);
    expect(out.stderr).toContain("access explain needs an absolute http(s) URL, got '/relative'");
  });
});

describe('postern config check', () => {
  it('warns about a rule that can never match, and still exits 0', async () => {
    const file = join(dir, 'shadowed.yml');
    writeFileSync(
      file,
      'session: { domain: localhost }\naccess:\n  rules:\n    - policy: authenticated\n    - hosts: [app.localhost]\n      policy: bypass\n',
    );
    const { stdout, stderr } = await run(process.execPath, [CLI, '--config', file, 'config', 'check'], { env: { PATH: process.env.PATH } });
    expect(stdout).toContain('configuration is valid');
    expect(stderr).toContain('warning: access.rules[1] can never match: access.rules[0] matches everything it would');
  });
});
