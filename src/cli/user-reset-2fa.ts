/**
 * `postern user reset-2fa NAME`: the admin's way back in for someone who lost their authenticator
 * app and recovery codes (or whose factor no longer decrypts). Removes every second factor of the
 * user through editUsersFile; their next password sign-in asks for none. Says what it removed.
 */
import { editUsersFile } from '../auth/users-file-writer.js';
import { describeFactors } from '../factors/factors.js';
import { CliError, type CliIO } from './io.js';
import { parse, usernameArgument } from './user-args.js';

export const RESET_2FA_USAGE = `Usage: postern user reset-2fa NAME

Remove every second factor of a user (authenticator app, recovery codes, passkeys). Their next
password sign-in asks for none; they can add a factor again on their account page.

Options:
  -h, --help   show this help
`;

export async function reset2faCommand(args: string[], io: CliIO, usersFile: string): Promise<number> {
  const { values, positionals } = parse('reset-2fa', args, { help: { type: 'boolean', short: 'h' } });
  if (values.help === true) {
    io.stdout.write(RESET_2FA_USAGE);
    return 0;
  }
  const username = usernameArgument('reset-2fa', positionals);
  const removed = await editUsersFile(usersFile, (file) => {
    const user = file.users.get(username);
    if (!user) throw new CliError(`postern user reset-2fa: user '${username}' not found in ${usersFile}; see 'postern user list'`, 1);
    const had = describeFactors(user.factors);
    if (had.length > 0) file.setFactors(username, undefined);
    return had;
  });
  io.stderr.write(
    removed.length > 0
      ? `second factors of '${username}' removed (${removed.join(', ')}); their next sign-in asks for the password only\n`
      : `user '${username}' has no second factor; nothing was changed\n`,
  );
  return 0;
}
