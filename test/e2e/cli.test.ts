/**
 * The built CLI (`node dist/cli/main.js`) run as a user runs it: user management against the users
 * file of a running server (which follows the file without a restart), hash-password, config check,
 * serve with a broken config, and help.
 */
import { mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { TestClient, type Reply } from '../support/http-client.js';
import { type CliResult, runCli } from '../support/cli.js';
import { startPostern, type PosternProcess } from '../support/postern-process.js';
import { askVerify } from '../support/verify-client.js';
import { waitFor } from '../support/wait.js';

const CONFIG = `
server: { public_url: "http://auth.example.com", trusted_proxies: [loopback] }
session: { domain: example.com }
users: { argon2: { memory_cost: 8192, time_cost: 1, parallelism: 1 } }
`;
const LOGIN_URL = 'http://auth.example.com/login';
const PROTECTED_URL = 'https://photos.example.com/';
const ARGON2ID = /^\$argon2id\$v=19\$[mtp=\d,]+\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/;

/** Signs in with a fresh browser; returns the browser (holding the session cookie) and the form reply. */
async function signIn(port: number, username: string, password: string): Promise<{ browser: TestClient; reply: Reply }> {
  const browser = new TestClient(port);
  const reply = await browser.submitForm(LOGIN_URL, { username, password });
  return { browser, reply };
}

describe('user management against the users file of a running server', () => {
  let postern: PosternProcess;
  let proxy: TestClient;

  /** Runs a CLI command with the running server's config file. */
  const cli = (args: readonly string[], stdin?: string) => runCli(['--config', postern.configFile, ...args], { stdin, cwd: postern.dir });
  const usersFile = () => join(postern.dir, 'data', 'users.yml');
  const reloads = () => postern.logLines().filter((l) => l.event === 'users.reload').length;

  /**
   * Runs `change`, then waits until the server has reloaded the users file. Waiting on the log, not
   * on sign-in attempts: failed attempts would feed the login throttle.
   */
  async function andReload<T>(change: () => Promise<T> | T): Promise<T> {
    const before = reloads();
    const result = await change();
    // A command that failed changed nothing: say why now rather than time out waiting for a reload.
    const cliResult = result as Partial<CliResult> | undefined;
    if (cliResult?.code !== undefined && cliResult.code !== 0) throw new Error(`postern exited with ${cliResult.code}: ${cliResult.stderr}`);
    await waitFor(() => reloads() > before, { what: 'the server to reload the users file' });
    return result;
  }

  /** Adds `username` with `password` through the CLI and waits for the server to load it. */
  async function addUser(username: string, password: string, extra: readonly string[] = []): Promise<void> {
    const result = await andReload(() => cli(['user', 'add', username, '--password-stdin', ...extra], `${password}\n`));
    expect(result).toMatchObject({ code: 0, stdout: '' });
  }

  /** The verify answer for `browser`'s cookies, as nginx would ask it. */
  const verify = (browser: TestClient) => askVerify(proxy, browser, 'nginx', PROTECTED_URL);

  beforeAll(async () => {
    postern = await startPostern(CONFIG);
    proxy = new TestClient(postern.port);
  });

  afterAll(async () => {
    await postern?.cleanup();
  });

  it('user add --password-stdin: the new user signs in without a restart and verify names them', async () => {
    const result = await andReload(() =>
      cli(['user', 'add', 'bob', '--role', 'viewer', '--email', 'bob@example.com', '--password-stdin'], 'bob-password-1\n'),
    );
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(`user 'bob' added to ${usersFile()} (role viewer)\n`);
    // Rewritten, still readable by its owner only: it holds password hashes.
    expect(statSync(usersFile()).mode & 0o777).toBe(0o600);

    const { browser, reply } = await signIn(postern.port, 'bob', 'bob-password-1');
    expect(reply.status).toBe(303);

    const answer = await verify(browser);
    expect(answer.status).toBe(200);
    expect(answer.header('remote-user')).toBe('bob');
    expect(answer.header('remote-role')).toBe('viewer');
    expect(answer.header('remote-email')).toBe('bob@example.com');
    expect(answer.header('remote-groups')).toBe('');
  });

  it('user passwd --password-stdin: revokes the old session, refuses the old password, accepts the new one', async () => {
    await addUser('dave', 'dave-old-password');
    const { browser: old, reply } = await signIn(postern.port, 'dave', 'dave-old-password');
    expect(reply.status).toBe(303);
    expect((await verify(old)).status).toBe(200);

    const result = await cli(['user', 'passwd', 'dave', '--password-stdin'], 'dave-new-password\n');
    expect(result).toEqual({ code: 0, signal: null, stdout: '', stderr: "password changed for user 'dave'\n" });

    await waitFor(async () => (await verify(old)).status === 401, { what: "dave's old session to be revoked" });
    expect((await signIn(postern.port, 'dave', 'dave-old-password')).reply.status).toBe(401);
    const fresh = await signIn(postern.port, 'dave', 'dave-new-password');
    expect(fresh.reply.status).toBe(303);
    const answer = await verify(fresh.browser);
    expect(answer.status).toBe(200);
    expect(answer.header('remote-user')).toBe('dave');
  });

  it('user remove: revokes the session and sign-in fails', async () => {
    await addUser('erin', 'erin-password');
    const { browser, reply } = await signIn(postern.port, 'erin', 'erin-password');
    expect(reply.status).toBe(303);
    expect((await verify(browser)).status).toBe(200);

    const result = await cli(['user', 'remove', 'erin']);
    expect(result).toEqual({ code: 0, signal: null, stdout: '', stderr: `user 'erin' removed from ${usersFile()}\n` });

    await waitFor(async () => (await verify(browser)).status === 401, { what: "erin's session to be revoked" });
    expect((await signIn(postern.port, 'erin', 'erin-password')).reply.status).toBe(401);
    // Removing again: the user is gone.
    const again = await cli(['user', 'remove', 'erin']);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("user 'erin' not found");
  });

  it('user disable: ends the session and refuses sign-in; user enable: the same password signs in again', async () => {
    await addUser('fiona', 'fiona-password');
    const { browser, reply } = await signIn(postern.port, 'fiona', 'fiona-password');
    expect(reply.status).toBe(303);
    expect((await verify(browser)).status).toBe(200);

    const off = await andReload(() => cli(['user', 'disable', 'fiona']));
    expect(off).toEqual({
      code: 0,
      signal: null,
      stdout: '',
      stderr: "user 'fiona' disabled: they cannot sign in, and their sessions end at their next request\n",
    });
    expect((await verify(browser)).status).toBe(401);
    expect((await signIn(postern.port, 'fiona', 'fiona-password')).reply.status).toBe(401);

    const on = await andReload(() => cli(['user', 'enable', 'fiona']));
    expect(on).toEqual({ code: 0, signal: null, stdout: '', stderr: "user 'fiona' enabled: they can sign in again\n" });
    const again = await signIn(postern.port, 'fiona', 'fiona-password');
    expect(again.reply.status).toBe(303);
    expect((await verify(again.browser)).header('remote-user')).toBe('fiona');
  });

  it('user add of an existing user exits 1 naming the user and leaves the file alone', async () => {
    const before = readFileSync(usersFile(), 'utf8');
    const result = await cli(['user', 'add', 'admin', '--password-stdin'], 'whatever-password\n');
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe("postern: user 'admin' already exists; use 'postern user passwd admin' to change the password\n");
    // Usernames match case-insensitively: ADMIN is admin.
    const upper = await cli(['user', 'add', 'ADMIN', '--generate']);
    expect(upper.code).toBe(1);
    expect(upper.stdout).toBe('');
    expect(upper.stderr).toContain("user 'admin' already exists");
    expect(readFileSync(usersFile(), 'utf8')).toBe(before);
  });

  // Independent of each other and of the server: run side by side (each CLI start costs ~300 ms).
  it.concurrent.for([
    { cmd: 'user add', stderr: "postern user add: missing NAME; see 'postern user add --help'\n" },
    { cmd: 'user add frank', stderr: "postern user add: choose --password-stdin or --generate; see 'postern user add --help'\n" },
    {
      cmd: 'user add frank --password-stdin --generate',
      stderr: "postern user add: give only one of --password-stdin and --generate; see 'postern user add --help'\n",
    },
    { cmd: 'user add frank --generate --colour red', stderr: /^postern user add: .*'--colour'.*; see 'postern user add --help'\n$/ },
    { cmd: 'user passwd', stderr: "postern user passwd: missing NAME; see 'postern user passwd --help'\n" },
    { cmd: 'user', stderr: "postern user: missing command (add, passwd, disable, enable, remove, list or reset-2fa); see 'postern user --help'\n" },
    {
      cmd: 'user rename bob',
      stderr: "postern user: unknown command 'rename'; expected add, passwd, disable, enable, remove, list or reset-2fa; see 'postern user --help'\n",
    },
    { cmd: 'user disable', stderr: "postern user disable: missing NAME; see 'postern user disable --help'\n" },
    { cmd: 'user enable nobody', stderr: /^postern user enable: user 'nobody' not found in .*users\.yml; see 'postern user list'\n$/ },
    { cmd: 'user enable admin', stderr: "postern user enable: user 'admin' is already enabled; nothing was changed\n" },
    {
      cmd: 'user add frank --password-stdin',
      stdin: 'abc\n',
      stderr:
        'postern user add: the password has 3 characters, fewer than users.min_password_length (12); nothing was changed. ' +
        'Choose a longer one, use --generate, or add --force to import it as it is\n',
    },
    {
      cmd: 'user passwd admin --password-stdin',
      stdin: 'eleven-char\n',
      stderr:
        'postern user passwd: the password has 11 characters, fewer than users.min_password_length (12); nothing was changed. ' +
        'Choose a longer one, use --generate, or add --force to import it as it is\n',
    },
    { cmd: 'user list extra', stderr: "postern user list: unexpected argument 'extra'; see 'postern user list --help'\n" },
    {
      cmd: 'hash-password --algorithm md5',
      stderr: "postern hash-password: unknown --algorithm 'md5'; expected argon2id or pbkdf2-sha256; see 'postern hash-password --help'\n",
    },
    { cmd: 'frobnicate', stderr: /^unknown command 'frobnicate'\n\nUsage: postern \[--config FILE\] <command>\n/ },
  ] as Array<{ cmd: string; stderr: string | RegExp; stdin?: string }>)('bad usage exits 2: postern $cmd', async ({ cmd, stderr, stdin }, { expect }) => {
    const before = readFileSync(usersFile(), 'utf8');
    const result = await cli(cmd.split(' '), stdin ?? 'some-password\n');
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    if (typeof stderr === 'string') expect(result.stderr).toBe(stderr);
    else expect(result.stderr).toMatch(stderr);
    expect(readFileSync(usersFile(), 'utf8')).toBe(before);
  });

  it('user add with an empty password on stdin exits 1 and adds nobody', async () => {
    const result = await cli(['user', 'add', 'gina', '--password-stdin'], '\n');
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('postern: the password on standard input is empty; nothing was changed (pipe one in, or use --generate)\n');
    expect(parse(readFileSync(usersFile(), 'utf8')).users).not.toHaveProperty('gina');
  });

  it('user list prints the users and never a hash', async () => {
    await addUser('henry', 'henry-password', ['--role', 'editor', '--groups', 'family,photos', '--email', 'henry@example.com']);
    const result = await cli(['user', 'list']);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    const rows = result.stdout.trimEnd().split('\n').map((r) => r.split(/\s{2,}/));
    expect(rows[0]).toEqual(['USERNAME', 'ROLE', 'GROUPS', 'EMAIL', 'DISABLED', 'FACTORS']);
    expect(rows).toContainEqual(['admin', 'admin', 'admins', '-', 'no', '-']);
    expect(rows).toContainEqual(['henry', 'editor', 'family,photos', 'henry@example.com', 'no', '-']);
    const names = rows.slice(1).map((r) => r[0]);
    expect(names).toEqual([...names].sort());
    expect(result.stdout).not.toContain('$argon2');
    expect(result.stdout).not.toContain('pbkdf2');
    expect(result.stdout).not.toContain('password');
  });

  it('user add --generate prints the password once on stdout, and it signs in', async () => {
    const result = await andReload(() => cli(['user', 'add', 'carol', '--generate']));
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^\S{16,}\n$/);
    const password = result.stdout.trim();
    expect(result.stderr).toBe(`user 'carol' added to ${usersFile()} (role user)\ngenerated password for 'carol' (shown once, store it now):\n`);
    expect(readFileSync(usersFile(), 'utf8')).not.toContain(password);
    expect(postern.output.join('\n')).not.toContain(password);

    const { browser, reply } = await signIn(postern.port, 'carol', password);
    expect(reply.status).toBe(303);
    const answer = await verify(browser);
    expect(answer.status).toBe(200);
    expect(answer.header('remote-user')).toBe('carol');
    expect(answer.header('remote-role')).toBe('user');
  });

  it('hash-password prints an argon2id hash and a pbkdf2-sha256 hash; both sign in from the users file', async () => {
    const argon = await cli(['hash-password'], 'argon-password\n');
    expect(argon.code).toBe(0);
    expect(argon.stderr).toBe('');
    expect(argon.stdout).toMatch(/\n$/);
    const argonHash = argon.stdout.trimEnd();
    expect(argonHash).toMatch(ARGON2ID);
    // The configured cost, whatever order the parameters are written in.
    expect(argonHash.split('$')[3]!.split(',').sort()).toEqual(['m=8192', 'p=1', 't=1']);

    const pbkdf2 = await cli(['hash-password', '--algorithm', 'pbkdf2-sha256'], 'pbkdf2-password\n');
    expect(pbkdf2.code).toBe(0);
    expect(pbkdf2.stderr).toBe('');
    const pbkdf2Hash = pbkdf2.stdout.trimEnd();
    expect(pbkdf2.stdout).toBe(`${pbkdf2Hash}\n`);
    expect(pbkdf2Hash).toMatch(/^pbkdf2_sha256\$600000\$[^$\s]+\$[A-Za-z0-9+/]+={0,2}$/);

    // Pasted into the users file by hand (an editor's write: temp file, then rename).
    await andReload(() => {
      const doc = parse(readFileSync(usersFile(), 'utf8')) as { users: Record<string, unknown> };
      doc.users.ingrid = { password: argonHash, role: 'viewer' };
      doc.users.jack = { password: pbkdf2Hash, role: 'viewer' };
      const tmp = `${usersFile()}.edit`;
      writeFileSync(tmp, stringify(doc), { mode: 0o600 });
      renameSync(tmp, usersFile());
    });
    expect(postern.logLines().filter((l) => l.event === 'users.invalid')).toEqual([]);

    expect((await signIn(postern.port, 'ingrid', 'argon-password')).reply.status).toBe(303);
    const jack = await signIn(postern.port, 'jack', 'pbkdf2-password');
    expect(jack.reply.status).toBe(303);
    expect((await verify(jack.browser)).header('remote-user')).toBe('jack');
  });

  it('the server logged no password and no hash', () => {
    const log = postern.output.join('\n');
    for (const secret of ['bob-password-1', 'fiona-password', 'dave-old-password', 'dave-new-password', 'erin-password', 'henry-password', 'argon-password', 'pbkdf2-password']) {
      expect(log).not.toContain(secret);
    }
    expect(log).not.toContain('$argon2id$');
    expect(log).not.toContain('pbkdf2_sha256$');
  });
});

// Each test has its own files: they run side by side.
describe.concurrent('config check', () => {
  let dir: string;
  const write = (name: string, text: string): string => {
    const file = join(dir, name);
    writeFileSync(file, text);
    return file;
  };

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'postern-cli-'));
  });

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('a valid file exits 0 and says it is valid', async ({ expect }) => {
    const file = write('valid.yml', CONFIG);
    const result = await runCli(['--config', file, 'config', 'check'], { cwd: dir });
    expect(result).toEqual({ code: 0, signal: null, stdout: `configuration is valid (${file})\n`, stderr: '' });
    // --config after the command works the same.
    expect(await runCli(['config', 'check', '--config', file], { cwd: dir })).toEqual(result);
  });

  it('no file at all is valid (embedded defaults)', async ({ expect }) => {
    const empty = mkdtempSync(join(dir, 'empty-'));
    const result = await runCli(['config', 'check'], { cwd: empty });
    expect(result).toEqual({ code: 0, signal: null, stdout: 'configuration is valid (no file: embedded defaults)\n', stderr: '' });
  });

  it('a file with three problems exits 2 and prints all three with their key paths', async ({ expect }) => {
    const secret = 'a-valid-session-secret-0123456789-abcdefgh';
    const file = write(
      'three.yml',
      `server: { port: abc, public_url: "http://auth.example.com" }\nsession: { ttl: 0s, domain: example.com, secret: "${secret}" }\nsesion: { domain: example.com }\n`,
    );
    const result = await runCli(['--config', file, 'config', 'check'], { cwd: dir });
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines[0]).toBe('The configuration has 3 problems:');
    const problems = lines.slice(1);
    expect(problems).toHaveLength(3);
    for (const p of problems) expect(p).toMatch(/^ {2}- /);
    expect(problems.filter((p) => p.includes('server.port') && p.includes("'abc'"))).toHaveLength(1);
    expect(problems.filter((p) => p.includes('session.ttl') && p.includes("'0s'"))).toHaveLength(1);
    expect(problems.filter((p) => p.includes("'sesion'"))).toHaveLength(1);
    expect(result.stderr).not.toContain(secret);
  });

  it('never prints a secret value, even one that is wrong', async ({ expect }) => {
    const file = write('secret.yml', 'session: { secret: short, domain: example.com }\nserver: { public_url: "http://auth.example.com" }\n');
    const result = await runCli(['--config', file, 'config', 'check'], { cwd: dir });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^The configuration has 1 problem:\n {2}- session\.secret .*\n$/);
    expect(result.stdout + result.stderr).not.toContain('short');

    // The same through the environment.
    const fromEnv = await runCli(['--config', write('plain.yml', CONFIG), 'config', 'check'], { cwd: dir, env: { POSTERN_SESSION_SECRET: 'short' } });
    expect(fromEnv.code).toBe(2);
    expect(fromEnv.stderr).toContain('session.secret');
    expect(fromEnv.stdout + fromEnv.stderr).not.toContain('short');
  });

  it('a missing --config file exits 2 naming it', async ({ expect }) => {
    const file = join(dir, 'nope.yml');
    const result = await runCli(['--config', file, 'config', 'check'], { cwd: dir });
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(file);
  });

  it('serve with an invalid config exits 2 with the problems on stderr, without listening', async ({ expect }) => {
    const file = write('serve-bad.yml', 'session: { ttl: 0s }\nsesion: {}\n');
    const result = await runCli(['--config', file, 'serve'], { cwd: dir, env: { POSTERN_SERVER_ADDRESS: '127.0.0.1', POSTERN_SERVER_PORT: '0' }, timeoutMs: 10_000 });
    expect(result.code).toBe(2);
    expect(result.signal).toBe(null);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^The configuration has 2 problems:\n/);
    expect(result.stderr).toContain('session.ttl');
    expect(result.stderr).toContain("'sesion'");
  });

  // These commands import the config loader only when they run (cli/main.ts): the problems are still all named, before any Redis is tried.
  it.for(['sessions list', 'throttle list', 'token list'])('%s with an invalid config exits 2 with the problems on stderr, without reaching Redis', async (command, { expect }) => {
    const file = write(`${command.replace(' ', '-')}-bad.yml`, 'session: { ttl: 0s, redis: { url: "redis://127.0.0.1:1/0" } }\nsesion: {}\n');
    const result = await runCli(['--config', file, ...command.split(' ')], { cwd: dir });
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^The configuration has 2 problems:\n/);
    expect(result.stderr).toContain('session.ttl');
    expect(result.stderr).toContain("'sesion'");
    expect(result.stderr).not.toContain('Redis');
  });

  it('serve with an invalid users file exits 1 naming the problem, without listening', async ({ expect }) => {
    const users = write('broken-users.yml', 'users:\n  kim: { password: not-a-hash }\n');
    const file = write('serve-bad-users.yml', `server: { public_url: "http://auth.example.com" }\nusers: { file: ${JSON.stringify(users)} }\n`);
    const result = await runCli(['--config', file, 'serve'], { cwd: dir, env: { POSTERN_SERVER_ADDRESS: '127.0.0.1', POSTERN_SERVER_PORT: '0' } });
    expect(result.code).toBe(1);
    expect(result.signal).toBe(null);
    expect(result.stdout).not.toContain('"event":"listening"');
    expect(result.stderr).toBe(`postern: users file ${users} has 1 problem:\n  - users.kim.password is not a supported hash (argon2id, pbkdf2_sha256 of at least 100000 iterations, or bcrypt $2a$/$2b$/$2y$ of cost 10 to 15)\n`);
  });
});

describe.concurrent('help', () => {
  // An empty directory: no ./postern.yml is picked up.
  let cwd: string;
  beforeAll(() => {
    cwd = mkdtempSync(join(tmpdir(), 'postern-help-'));
  });
  afterAll(() => {
    rmSync(cwd, { recursive: true, force: true });
  });

  it('--help prints the top-level usage and exits 0', async ({ expect }) => {
    const result = await runCli(['--help'], { cwd });
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/^Usage: postern \[--config FILE\] <command>\n/);
    for (const command of ['serve', 'hash-password', 'user add|passwd|disable|enable|remove|list', 'config check']) expect(result.stdout).toContain(command);
    expect(await runCli(['help'], { cwd })).toEqual(result);
  });

  it('user --help prints the user usage and exits 0', async ({ expect }) => {
    const result = await runCli(['user', '--help'], { cwd });
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/^Usage: postern user <command> \[options\]\n/);
    for (const command of ['add NAME', 'passwd NAME', 'disable NAME', 'enable NAME', 'remove NAME', 'list']) expect(result.stdout).toContain(command);
  });

  it('config --help prints the config usage and exits 0', async ({ expect }) => {
    const result = await runCli(['config', '--help'], { cwd });
    expect(result.stdout).toMatch(/^Usage: postern \[--config FILE\] config check\n/);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
  });

  it('help works even when ./postern.yml has problems: it is how one finds out what to fix', async ({ expect }) => {
    const broken = mkdtempSync(join(cwd, 'broken-'));
    writeFileSync(join(broken, 'postern.yml'), 'session: { ttl: 0s }\n');
    for (const command of [['--help'], ['user', '--help'], ['user', 'add', '--help'], ['hash-password', '--help']]) {
      const result = await runCli(command, { cwd: broken });
      expect.soft(result, `postern ${command.join(' ')}`).toMatchObject({ code: 0, stderr: '', stdout: expect.stringMatching(/^Usage: postern /) });
    }
  });

  it.for(['user add', 'user passwd', 'user disable', 'user enable', 'user remove', 'user list', 'hash-password'])("%s --help prints that command's usage and exits 0", async (command, { expect }) => {
    const result = await runCli([...command.split(' '), '--help'], { cwd });
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout.startsWith(`Usage: postern ${command}`)).toBe(true);
  });
});
