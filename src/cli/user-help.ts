/** The help texts of `postern user ...`. */

export const USER_USAGE = `Usage: postern user <command> [options]

Manage the users file. The running server applies changes without a restart.

Commands:
  add NAME       add a user
  passwd NAME    set a user's password
  disable NAME   stop a user from signing in (ends their sessions); nothing else changes
  enable NAME    let a disabled user sign in again
  remove NAME    remove a user
  list           show all users (never their password hashes) and their second factors
  reset-2fa NAME remove a user's second factors (a lost authenticator app)

Run 'postern user <command> --help' for a command's options.
`;

const PASSWORD_OPTIONS = `  --password-stdin   read the password from standard input (asked twice on a terminal)
  --generate         generate a password and print it once on standard output
  --force            accept a password shorter than users.min_password_length (for imports)`;

export const ADD_USAGE = `Usage: postern user add NAME (--password-stdin | --generate) [options]

Add a user to the users file. A password must have at least users.min_password_length
characters (default 12); a generated one has 24.

Options:
${PASSWORD_OPTIONS}
  --role ROLE        role (default: user)
  --groups A,B       comma-separated groups (default: none)
  --email EMAIL      email address (default: empty)
  --name NAME        display name (default: empty)
  -h, --help         show this help
`;

export const PASSWD_USAGE = `Usage: postern user passwd NAME (--password-stdin | --generate) [--force]

Set a user's password; their existing sessions end. Other fields and other users are left as
they are.

Options:
${PASSWORD_OPTIONS}
  -h, --help         show this help
`;

export const DISABLE_USAGE = `Usage: postern user disable NAME

Stop a user from signing in. Their existing sessions end at the next check; their password and
other fields are kept, so 'postern user enable NAME' undoes it.

Options:
  -h, --help   show this help
`;

export const ENABLE_USAGE = `Usage: postern user enable NAME

Let a disabled user sign in again with the password they had.

Options:
  -h, --help   show this help
`;

export const REMOVE_USAGE = `Usage: postern user remove NAME

Remove a user from the users file. Their existing sessions end at the next check.

Options:
  -h, --help   show this help
`;

export const LIST_USAGE = `Usage: postern user list

Show username, role, groups, email, whether the user is disabled, and their second factors
(totp, passkeys:N, recovery:unused/all).

Options:
  -h, --help   show this help
`;
