/**
 * The first start of the built CLI (`postern serve`) in an empty directory, as a new user meets it:
 * the users file and the session secret are created 0600, the admin password is printed once in a
 * banner and works, and a restart reuses both files without printing anything secret again.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { TestClient } from '../support/http-client.js';
import { startPostern, type PosternProcess } from '../support/postern-process.js';

const CONFIG = `
server: { public_url: "http://auth.example.com", trusted_proxies: [loopback] }
session: { domain: example.com }
users: { argon2: { memory_cost: 8192, time_cost: 1, parallelism: 1 } }
`;
const LOGIN_URL = 'http://auth.example.com/login';
const BANNER_RULE = /^=+$/;

/** Permission bits only: 0o600 for a file only its owner may read and write. */
function modeOf(path: string): number {
  return statSync(path).mode & 0o777;
}

/** The lines strictly between the two `====` rules of the banner, and the rules' positions. */
function banner(lines: readonly string[]): { start: number; end: number; body: string[] } {
  const rules = lines.flatMap((l, i) => (BANNER_RULE.test(l) ? [i] : []));
  expect(rules, 'exactly two ==== lines').toHaveLength(2);
  const [start, end] = rules as [number, number];
  return { start, end, body: lines.slice(start + 1, end) };
}

describe('first start with no users file', () => {
  let postern: PosternProcess;
  let usersFile: string;
  let secretFile: string;
  let password: string;
  let usersText: string;
  let secretText: string;

  beforeAll(async () => {
    postern = await startPostern(CONFIG);
    usersFile = join(postern.dir, 'data', 'users.yml');
    secretFile = join(postern.dir, 'data', 'session.secret');
    const line = postern.output.map((l) => /^ password:\s+(\S+)$/.exec(l)).find((m) => m !== null);
    if (!line) throw new Error(`no password line in the output:\n${postern.output.join('\n')}`);
    password = line[1]!;
    usersText = readFileSync(usersFile, 'utf8');
    secretText = readFileSync(secretFile, 'utf8');
  });

  afterAll(async () => {
    await postern?.cleanup();
  });

  it('creates <data_dir>/users.yml with mode 0600 holding one user, admin, with role admin', () => {
    expect(modeOf(usersFile)).toBe(0o600);
    const doc = parse(usersText) as { users: Record<string, { password: string; role: string }> };
    expect(Object.keys(doc)).toEqual(['users']);
    expect(Object.keys(doc.users)).toEqual(['admin']);
    expect(doc.users.admin!.role).toBe('admin');
    expect(doc.users.admin!.password).toMatch(/^\$argon2id\$v=19\$/);
    // The file holds a hash, never the password itself.
    expect(usersText).not.toContain(password);
  });

  it('prints the generated password exactly once, between the ==== lines', () => {
    const { start, end, body } = banner(postern.output);
    expect(body).toContain(` password:      ${password}`);
    expect(body.some((l) => l.includes(usersFile))).toBe(true);
    expect(body.some((l) => l.includes('admin'))).toBe(true);
    const withPassword = postern.output.flatMap((l, i) => (l.includes(password) ? [i] : []));
    expect(withPassword).toHaveLength(1);
    expect(withPassword[0]).toBeGreaterThan(start);
    expect(withPassword[0]).toBeLessThan(end);
    expect(password.length).toBeGreaterThanOrEqual(16);
  });

  it('the printed password signs in as admin on the running server', async () => {
    const browser = new TestClient(postern.port);
    const reply = await browser.submitForm(LOGIN_URL, { username: 'admin', password });
    expect(reply.status).toBe(303);
    expect(reply.header('location')).toBe('http://auth.example.com/');
    const home = await browser.get('http://auth.example.com/');
    expect(home.status).toBe(200);
    expect(home.body).toContain('admin');
  });

  it('a wrong password is refused (and the attempt is not logged)', async () => {
    const attempt = 'not-the-password-9f3k2';
    const reply = await new TestClient(postern.port).submitForm(LOGIN_URL, { username: 'admin', password: attempt });
    expect(reply.status).toBe(401);
    expect(postern.output.join('\n')).not.toContain(attempt);
  });

  it('creates <data_dir>/session.secret with mode 0600', () => {
    expect(modeOf(secretFile)).toBe(0o600);
    expect(secretText.trim().length).toBeGreaterThanOrEqual(32);
    // The secret is not something to print either.
    expect(postern.output.join('\n')).not.toContain(secretText.trim());
  });

  it('warns in the log that sessions are kept in memory', () => {
    const warnings = postern.logLines().filter((l) => l.level === 40 && typeof l.msg === 'string' && /sessions are kept in memory/.test(l.msg));
    expect(warnings).toHaveLength(1);
  });

  it('no JSON log line contains the password: it appears only in the banner', () => {
    const logLines = postern.output.filter((l) => l.startsWith('{'));
    expect(logLines.length).toBeGreaterThan(0);
    for (const l of logLines) expect(l).not.toContain(password);
    expect(postern.logLines().some((l) => l.event === 'login.success' && l.user === 'admin')).toBe(true);
  });

  describe('after a restart', () => {
    let before: number;

    beforeAll(async () => {
      await postern.stop();
      before = postern.output.length;
      await postern.start();
    });

    it('prints no password and no banner again', () => {
      const after = postern.output.slice(before);
      expect(after.some((l) => l.includes('"event":"listening"'))).toBe(true);
      expect(after.filter((l) => BANNER_RULE.test(l))).toEqual([]);
      expect(after.filter((l) => /password/i.test(l) && !l.startsWith('{'))).toEqual([]);
      expect(postern.output.filter((l) => l.includes(password))).toHaveLength(1);
    });

    it('keeps the same users file, still 0600', () => {
      expect(readFileSync(usersFile, 'utf8')).toBe(usersText);
      expect(modeOf(usersFile)).toBe(0o600);
    });

    it('reuses the same session secret file, still 0600', () => {
      expect(readFileSync(secretFile, 'utf8')).toBe(secretText);
      expect(modeOf(secretFile)).toBe(0o600);
    });

    it('the generated password still signs in', async () => {
      const reply = await new TestClient(postern.port).submitForm(LOGIN_URL, { username: 'admin', password });
      expect(reply.status).toBe(303);
    });
  });
});
