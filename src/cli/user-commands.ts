/**
 * `postern user add|passwd|remove|list`: edits the users file in place of a text editor.
 * Every change reads the file fresh, refuses to touch a file that has problems, changes one user,
 * and writes atomically; the running server picks the change up by itself.
 * Exit codes: 0 done, 1 runtime failure (user exists, not found, file has problems), 2 usage error.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { generatePassword, type PasswordHasher } from '../auth/passwords.js';
import type { User } from '../auth/user.js';
import { parseUsersFile, serialiseUsers, writeUsersFileAtomic } from '../auth/users-file.js';
import { hasControlChars, normaliseUsername, validateUsername } from '../auth/username.js';
import { CliError, type CliIO, readNewPassword, reportFailure } from './io.js';

export interface UserCommandDeps {
  /** Path of the users file (config `users.file`). */
  readonly usersFile: string;
  readonly hasher: PasswordHasher;
}

const USAGE = `Usage: postern user <command> [options]

Manage the users file. The running server applies changes without a restart.

Commands:
  add NAME       add a user
  passwd NAME    set a user's password
  remove NAME    remove a user
  list           show all users (never their password hashes)

Run 'postern user <command> --help' for a command's options.
`;

const ADD_USAGE = `Usage: postern user add NAME (--password-stdin | --generate) [options]

Add a user to the users file.

Options:
  --password-stdin   read the password from standard input (asked twice on a terminal)
  --generate         generate a password and print it once on standard output
  --role ROLE        role (default: user)
  --groups A,B       comma-separated groups (default: none)
  --email EMAIL      email address (default: empty)
  --name NAME        display name (default: empty)
  -h, --help         show this help
`;

const PASSWD_USAGE = `Usage: postern user passwd NAME (--password-stdin | --generate)

Set a user's password. Other fields and other users are left as they are.

Options:
  --password-stdin   read the password from standard input (asked twice on a terminal)
  --generate         generate a password and print it once on standard output
  -h, --help         show this help
`;

const REMOVE_USAGE = `Usage: postern user remove NAME

Remove a user from the users file. Their existing sessions end at the next check.

Options:
  -h, --help   show this help
`;

const LIST_USAGE = `Usage: postern user list

Show username, role, groups, email and whether the user is disabled.

Options:
  -h, --help   show this help
`;

export async function userCommand(args: string[], io: CliIO, deps: UserCommandDeps): Promise<number> {
  const [sub, ...rest] = args;
  try {
    switch (sub) {
      case 'add':
        return await addCommand(rest, io, deps);
      case 'passwd':
        return await passwdCommand(rest, io, deps);
      case 'remove':
        return await removeCommand(rest, io, deps);
      case 'list':
        return await listCommand(rest, io, deps);
      case '--help':
      case '-h':
      case 'help':
        io.stdout.write(USAGE);
        return 0;
      case undefined:
        throw usageError('user', 'missing command (add, passwd, remove or list)');
      default:
        throw usageError('user', `unknown command '${printable(sub)}'; expected add, passwd, remove or list`);
    }
  } catch (err) {
    return reportFailure(io, err);
  }
}

async function addCommand(args: string[], io: CliIO, deps: UserCommandDeps): Promise<number> {
  const { values, positionals } = parse('add', args, {
    role: { type: 'string' },
    groups: { type: 'string' },
    email: { type: 'string' },
    name: { type: 'string' },
    'password-stdin': { type: 'boolean' },
    generate: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help === true) {
    io.stdout.write(ADD_USAGE);
    return 0;
  }
  const username = usernameArgument('add', positionals);
  const generate = passwordSource('add', values);
  const role = identityValue('add', '--role', values.role ?? 'user');
  if (role === '') throw usageError('add', '--role must not be empty');
  const email = identityValue('add', '--email', values.email ?? '');
  const name = identityValue('add', '--name', values.name ?? '');
  const groups = groupsArgument(values.groups);

  // Checked before asking for a password, and again on the fresh read just before writing.
  const before = await loadForChange(deps.usersFile);
  if (before.has(username)) throw alreadyExists(username);

  const password = generate ? generatePassword() : await readNewPassword(io);
  const hash = await deps.hasher.hash(password);

  await change(deps.usersFile, (users) => {
    if (users.has(username)) throw alreadyExists(username);
    users.set(username, { username, password: hash, role, groups, email, name, disabled: false });
  });
  io.stderr.write(`user '${username}' added to ${deps.usersFile} (role ${role})\n`);
  if (generate) showGenerated(io, username, password);
  return 0;
}

async function passwdCommand(args: string[], io: CliIO, deps: UserCommandDeps): Promise<number> {
  const { values, positionals } = parse('passwd', args, {
    'password-stdin': { type: 'boolean' },
    generate: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help === true) {
    io.stdout.write(PASSWD_USAGE);
    return 0;
  }
  const username = usernameArgument('passwd', positionals);
  const generate = passwordSource('passwd', values);

  const before = await loadForChange(deps.usersFile);
  if (!before.has(username)) throw notFound(username, deps.usersFile);

  const password = generate ? generatePassword() : await readNewPassword(io);
  const hash = await deps.hasher.hash(password);

  await change(deps.usersFile, (users) => {
    const user = users.get(username);
    if (user === undefined) throw notFound(username, deps.usersFile);
    users.set(username, { ...user, password: hash });
  });
  io.stderr.write(`password changed for user '${username}'\n`);
  if (generate) showGenerated(io, username, password);
  return 0;
}

async function removeCommand(args: string[], io: CliIO, deps: UserCommandDeps): Promise<number> {
  const { values, positionals } = parse('remove', args, { help: { type: 'boolean', short: 'h' } });
  if (values.help === true) {
    io.stdout.write(REMOVE_USAGE);
    return 0;
  }
  const username = usernameArgument('remove', positionals);
  await change(deps.usersFile, (users) => {
    if (!users.delete(username)) throw notFound(username, deps.usersFile);
  });
  io.stderr.write(`user '${username}' removed from ${deps.usersFile}\n`);
  return 0;
}

async function listCommand(args: string[], io: CliIO, deps: UserCommandDeps): Promise<number> {
  const { values, positionals } = parse('list', args, { help: { type: 'boolean', short: 'h' } });
  if (values.help === true) {
    io.stdout.write(LIST_USAGE);
    return 0;
  }
  if (positionals.length > 0) throw usageError('list', `unexpected argument '${printable(positionals[0] ?? '')}'`);

  const text = await readUsersText(deps.usersFile);
  if (text === undefined) {
    throw new CliError(
      `postern: users file ${deps.usersFile} does not exist; create it with 'postern user add NAME --generate'`,
      1,
    );
  }
  const { users, problems } = parseUsersFile(text, deps.usersFile);
  if (problems.length > 0) throw new CliError(problemReport(deps.usersFile, problems, 'fix them by hand'), 1);
  if (users.size === 0) {
    io.stderr.write(`no users in ${deps.usersFile}; add one with 'postern user add NAME --generate'\n`);
    return 0;
  }
  io.stdout.write(table(sortedUsers(users.values())));
  return 0;
}

// --- reading and writing ---------------------------------------------------------------------

/** The file's text, or undefined when it does not exist yet. */
async function readUsersText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CliError(`postern: cannot read users file ${path}: ${(err as Error).message}`, 1);
  }
}

/** The users as they are on disk now; refuses a file with problems, since rewriting it would lose data. */
async function loadForChange(path: string): Promise<Map<string, User>> {
  const text = await readUsersText(path);
  if (text === undefined) return new Map();
  const { users, problems } = parseUsersFile(text, path);
  if (problems.length > 0) {
    throw new CliError(problemReport(path, problems, 'fix them by hand, then run this command again'), 1);
  }
  return users;
}

/**
 * Reads the file fresh, applies `edit` to its users, and writes the result atomically. The new text
 * is parsed back first: the CLI never writes a file the server would refuse.
 */
async function change(path: string, edit: (users: Map<string, User>) => void): Promise<void> {
  const users = await loadForChange(path);
  edit(users);
  const check = parseUsersFile(serialiseUsers(users.values()), path);
  if (check.problems.length > 0) {
    throw new CliError(problemReport(path, check.problems, 'nothing was written'), 1);
  }
  await writeUsersFileAtomic(path, users.values());
}

// --- arguments -------------------------------------------------------------------------------

type OptionSpec = Record<string, { type: 'string' | 'boolean'; short?: string }>;

function parse<T extends OptionSpec>(command: string, args: string[], options: T) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw usageError(command, (err as Error).message);
  }
}

function usernameArgument(command: string, positionals: string[]): string {
  if (positionals.length === 0) throw usageError(command, 'missing NAME');
  if (positionals.length > 1) throw usageError(command, `unexpected argument '${printable(positionals[1] ?? '')}'`);
  const raw = positionals[0] ?? '';
  const problem = validateUsername(raw);
  if (problem !== undefined) throw usageError(command, `username ${JSON.stringify(raw)} ${problem}`);
  return normaliseUsername(raw);
}

/** True for --generate, false for --password-stdin; exactly one must be given. */
function passwordSource(command: string, values: { 'password-stdin'?: unknown; generate?: unknown }): boolean {
  const stdin = values['password-stdin'] === true;
  const generate = values.generate === true;
  if (stdin === generate) {
    throw usageError(command, stdin ? 'give only one of --password-stdin and --generate' : 'choose --password-stdin or --generate');
  }
  return generate;
}

function identityValue(command: string, option: string, value: string): string {
  // These values become response headers: a CR or LF would forge one.
  if (hasControlChars(value)) throw usageError(command, `${option} contains a control character`);
  return value;
}

function groupsArgument(value: string | undefined): string[] {
  if (value === undefined) return [];
  const groups = value
    .split(',')
    .map((g) => g.trim())
    .filter((g) => g !== '');
  for (const g of groups) identityValue('add', '--groups', g);
  return [...new Set(groups)];
}

// --- messages --------------------------------------------------------------------------------

function usageError(command: string, message: string): CliError {
  const full = command === 'user' ? 'postern user' : `postern user ${command}`;
  return new CliError(`${full}: ${message}; see '${full} --help'`, 2);
}

function alreadyExists(username: string): CliError {
  return new CliError(
    `postern: user '${username}' already exists; use 'postern user passwd ${username}' to change the password`,
    1,
  );
}

function notFound(username: string, path: string): CliError {
  return new CliError(
    `postern: user '${username}' not found in ${path}; use 'postern user list' to see the users, or 'postern user add ${username}' to create it`,
    1,
  );
}

function problemReport(path: string, problems: readonly string[], advice: string): string {
  const count = `${problems.length} problem${problems.length === 1 ? '' : 's'}`;
  return `postern: users file ${path} has ${count}; ${advice}:\n${problems.map((p) => `  - ${p}`).join('\n')}`;
}

function showGenerated(io: CliIO, username: string, password: string): void {
  io.stderr.write(`generated password for '${username}' (shown once, store it now):\n`);
  io.stdout.write(`${password}\n`);
}

/** An argument echoed back in a message, with any control character escaped. */
function printable(s: string): string {
  return hasControlChars(s) ? JSON.stringify(s).slice(1, -1) : s;
}

function sortedUsers(users: Iterable<User>): User[] {
  return [...users].sort((a, b) => (a.username < b.username ? -1 : a.username > b.username ? 1 : 0));
}

function table(users: readonly User[]): string {
  const rows = [
    ['USERNAME', 'ROLE', 'GROUPS', 'EMAIL', 'DISABLED'],
    ...users.map((u) => [
      u.username,
      u.role,
      u.groups.length > 0 ? u.groups.join(',') : '-',
      u.email !== '' ? u.email : '-',
      u.disabled ? 'yes' : 'no',
    ]),
  ];
  const width = (s: string): number => [...s].length;
  const widths = rows[0]!.map((_, col) => Math.max(...rows.map((r) => width(r[col] ?? ''))));
  return rows
    .map((r) =>
      r
        .map((cell, col) => (col === r.length - 1 ? cell : cell + ' '.repeat((widths[col] ?? 0) - width(cell))))
        .join('  '),
    )
    .join('\n')
    .concat('\n');
}
