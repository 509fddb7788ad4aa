/**
 * `postern user list`: the users as the file holds them now, one row each, sorted by username, with
 * their second factors. Only reads; refuses a file with problems (exit 1) and says how to start one
 * that does not exist yet.
 */
import { byUsername, type User } from '../auth/user.js';
import { parseUsersFile } from '../auth/users-file-parse.js';
import { describeFactors } from '../factors/factors.js';
import { CliError, type CliIO } from './io.js';
import { argumentsOrUsage, printable, usageError } from './user-args.js';
import { problemReport, readUsersText } from './user-file.js';
import { LIST_USAGE } from './user-help.js';

export async function listCommand(args: string[], io: CliIO, usersFile: string): Promise<number> {
  const positionals = argumentsOrUsage('list', args, LIST_USAGE, io);
  if (positionals === undefined) return 0;
  if (positionals.length > 0) throw usageError('list', `unexpected argument '${printable(positionals[0] ?? '')}'`);

  const text = await readUsersText(usersFile);
  if (text === undefined) {
    throw new CliError(
      `postern: users file ${usersFile} does not exist; create it with 'postern user add NAME --generate'`,
      1,
    );
  }
  const { users, problems } = parseUsersFile(text, usersFile);
  if (problems.length > 0) throw new CliError(problemReport(usersFile, problems, 'fix them by hand'), 1);
  if (users.size === 0) {
    io.stderr.write(`no users in ${usersFile}; add one with 'postern user add NAME --generate'\n`);
    return 0;
  }
  io.stdout.write(table([...users.values()].sort(byUsername)));
  return 0;
}

function table(users: readonly User[]): string {
  const rows = [
    ['USERNAME', 'ROLE', 'GROUPS', 'EMAIL', 'DISABLED', 'FACTORS'],
    ...users.map((u) => [
      u.username,
      u.role,
      u.groups.length > 0 ? u.groups.join(',') : '-',
      u.email !== '' ? u.email : '-',
      u.disabled ? 'yes' : 'no',
      describeFactors(u.factors).join(',') || '-',
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
