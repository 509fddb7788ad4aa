/**
 * `postern user add|passwd|disable|enable|remove|list|reset-2fa`: edits the users file in place of a text editor
 * (`list` is user-list.ts, `reset-2fa` user-reset-2fa.ts; the file read outside the lock, user-file.ts).
 * Every change goes through editUsersFile (one lock, a fresh read, an edit that keeps comments and
 * order, an atomic write) and refuses to touch a file that has problems; the running server picks
 * the change up by itself.
 * Exit codes: 0 done, 1 runtime failure (user exists, not found, file has problems), 2 usage error
 * (including a password under the minimum, and disable/enable of an unknown, disabled or enabled user).
 */
import { generatePassword, type PasswordHasher } from '../auth/passwords.js';
import type { User } from '../auth/user.js';
import { editUsersFile, type UsersFileEditor } from '../auth/users-file-writer.js';
import type { UserChange } from '../auth/user-change.js';
import { CliError, type CliIO, readNewPassword, reportFailure } from './io.js';
import { argumentsOrUsage, groupsArgument, identityValue, parse, passwordSource, printable, usageError, usernameArgument } from './user-args.js';
import { asCliError, currentUsers } from './user-file.js';
import { ADD_USAGE, DISABLE_USAGE, ENABLE_USAGE, PASSWD_USAGE, REMOVE_USAGE, USER_USAGE } from './user-help.js';
import { listCommand } from './user-list.js';
import { reset2faCommand } from './user-reset-2fa.js';

/** What a command changed about a user, for whoever must act on it (ending sessions, device trusts). */
export type { UserChange } from '../auth/user-change.js';

export interface UserCommandDeps {
  /** Path of the users file (config `users.file`). */
  readonly usersFile: string;
  readonly hasher: PasswordHasher;
  /** Config `users.min_password_length`: a shorter password needs --force. Default 12. */
  readonly minPasswordLength?: number;
  /**
   * Called after a change was written. A rejection is reported (exit 1) but does not undo the change.
   * The seam for ending a user's sessions and device trusts on `password`, `disabled` and `removed`.
   */
  readonly onUserChanged?: (username: string, change: UserChange) => void | Promise<void>;
}

/** The default of users.min_password_length. */
export const DEFAULT_MIN_PASSWORD_LENGTH = 12;

const COMMANDS = 'add, passwd, disable, enable, remove, list or reset-2fa';

export async function userCommand(args: string[], io: CliIO, deps: UserCommandDeps): Promise<number> {
  const [sub, ...rest] = args;
  try {
    switch (sub) {
      case 'add':
        return await addCommand(rest, io, deps);
      case 'passwd':
        return await passwdCommand(rest, io, deps);
      case 'disable':
        return await setDisabledCommand(true, rest, io, deps);
      case 'enable':
        return await setDisabledCommand(false, rest, io, deps);
      case 'remove':
        return await removeCommand(rest, io, deps);
      case 'list':
        return await listCommand(rest, io, deps.usersFile);
      case 'reset-2fa':
        return await reset2faCommand(rest, io, deps.usersFile);
      case '--help':
      case '-h':
      case 'help':
        io.stdout.write(USER_USAGE);
        return 0;
      case undefined:
        throw usageError('user', `missing command (${COMMANDS})`);
      default:
        throw usageError('user', `unknown command '${printable(sub)}'; expected ${COMMANDS}`);
    }
  } catch (err) {
    return reportFailure(io, asCliError(err));
  }
}

const PASSWORD_OPTIONS = {
  'password-stdin': { type: 'boolean' },
  generate: { type: 'boolean' },
  force: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

async function addCommand(args: string[], io: CliIO, deps: UserCommandDeps): Promise<number> {
  const { values, positionals } = parse('add', args, {
    ...PASSWORD_OPTIONS,
    role: { type: 'string' },
    groups: { type: 'string' },
    email: { type: 'string' },
    name: { type: 'string' },
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

  // Checked before asking for a password, and again under the lock just before writing.
  const before = await currentUsers(deps.usersFile);
  if (before.has(username)) throw alreadyExists(username);

  const password = await newPassword('add', generate, values.force === true, io, deps);
  const hash = await deps.hasher.hash(password);

  await editUsersFile(deps.usersFile, (file) => {
    if (file.users.has(username)) throw alreadyExists(username);
    file.add({ username, password: hash, role, groups, email, name, disabled: false });
  });
  io.stderr.write(`user '${username}' added to ${deps.usersFile} (role ${role})\n`);
  if (generate) showGenerated(io, username, password);
  await notify(deps, username, 'added');
  return 0;
}

async function passwdCommand(args: string[], io: CliIO, deps: UserCommandDeps): Promise<number> {
  const { values, positionals } = parse('passwd', args, PASSWORD_OPTIONS);
  if (values.help === true) {
    io.stdout.write(PASSWD_USAGE);
    return 0;
  }
  const username = usernameArgument('passwd', positionals);
  const generate = passwordSource('passwd', values);

  const before = await currentUsers(deps.usersFile);
  if (!before.has(username)) throw notFound(username, deps.usersFile);

  const password = await newPassword('passwd', generate, values.force === true, io, deps);
  const hash = await deps.hasher.hash(password);

  await editUsersFile(deps.usersFile, (file) => {
    if (!file.users.has(username)) throw notFound(username, deps.usersFile);
    file.update(username, { password: hash });
  });
  io.stderr.write(`password changed for user '${username}'\n`);
  if (generate) showGenerated(io, username, password);
  await notify(deps, username, 'password');
  return 0;
}

async function setDisabledCommand(disabled: boolean, args: string[], io: CliIO, deps: UserCommandDeps): Promise<number> {
  const command = disabled ? 'disable' : 'enable';
  const positionals = argumentsOrUsage(command, args, disabled ? DISABLE_USAGE : ENABLE_USAGE, io);
  if (positionals === undefined) return 0;
  const username = usernameArgument(command, positionals);
  await editUsersFile(deps.usersFile, (file) => {
    const user = existingUser(command, file, username, deps.usersFile);
    if (user.disabled === disabled) {
      throw new CliError(`postern user ${command}: user '${username}' is already ${command}d; nothing was changed`, 2);
    }
    file.update(username, { disabled });
  });
  io.stderr.write(
    disabled
      ? `user '${username}' disabled: they cannot sign in, and their sessions end at their next request\n`
      : `user '${username}' enabled: they can sign in again\n`,
  );
  await notify(deps, username, disabled ? 'disabled' : 'enabled');
  return 0;
}

async function removeCommand(args: string[], io: CliIO, deps: UserCommandDeps): Promise<number> {
  const positionals = argumentsOrUsage('remove', args, REMOVE_USAGE, io);
  if (positionals === undefined) return 0;
  const username = usernameArgument('remove', positionals);
  await editUsersFile(deps.usersFile, (file) => {
    if (!file.users.has(username)) throw notFound(username, deps.usersFile);
    file.remove(username);
  });
  io.stderr.write(`user '${username}' removed from ${deps.usersFile}\n`);
  await notify(deps, username, 'removed');
  return 0;
}

// --- checks, passwords, follow-ups -------------------------------------------------------------

function existingUser(command: string, file: UsersFileEditor, username: string, path: string): User {
  const user = file.users.get(username);
  if (user === undefined) {
    throw new CliError(`postern user ${command}: user '${username}' not found in ${path}; see 'postern user list'`, 2);
  }
  return user;
}

/** The new password: generated, or read and held to users.min_password_length unless --force. */
async function newPassword(command: string, generate: boolean, force: boolean, io: CliIO, deps: UserCommandDeps): Promise<string> {
  if (generate) return generatePassword();
  const password = await readNewPassword(io);
  const min = deps.minPasswordLength ?? DEFAULT_MIN_PASSWORD_LENGTH;
  const length = [...password].length;
  if (!force && length < min) {
    throw new CliError(
      `postern user ${command}: the password has ${length} character${length === 1 ? '' : 's'}, fewer than ` +
        `users.min_password_length (${min}); nothing was changed. Choose a longer one, use --generate, ` +
        'or add --force to import it as it is',
      2,
    );
  }
  return password;
}

async function notify(deps: UserCommandDeps, username: string, change: UserChange): Promise<void> {
  if (deps.onUserChanged === undefined) return;
  try {
    await deps.onUserChanged(username, change);
  } catch (err) {
    throw new CliError(
      `postern: the users file was changed (${change} '${username}'), but what follows from it failed: ${(err as Error).message}`,
      1,
    );
  }
}

// --- messages --------------------------------------------------------------------------------

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

function showGenerated(io: CliIO, username: string, password: string): void {
  io.stderr.write(`generated password for '${username}' (shown once, store it now):\n`);
  io.stdout.write(`${password}\n`);
}
