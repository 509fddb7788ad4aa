import { parseArgs } from 'node:util';
import { explain } from '../access/decide.js';
import { compileAccess } from '../access/schema.js';
import { canonicaliseTarget } from '../access/target.js';
import { UsersFile } from '../auth/users-file.js';
import type { Config } from '../config/types.js';
import type { CliIO } from './io.js';

const HELP = `Usage: postern access explain URL [--method M] [--user U] [--two-factor] [--ip A]

Shows how Postern canonicalises URL, which access rule matches, and the decision.
  --method M   the request method (default GET)
  --user U     decide as this user from the users file (default: not signed in)
  --two-factor decide as if U's session was signed in with a second factor (default: one factor)
  --ip A       the client address (default 203.0.113.1, outside any private network)
`;

/** `postern access explain`: the decision function, run on the command line. */
export async function accessCommand(args: string[], io: CliIO, config: Config): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== 'explain' || args.includes('--help')) {
    io.stdout.write(HELP);
    return args.includes('--help') ? 0 : 2;
  }
  const { values, positionals } = parseArgs({
    args: rest,
    options: { method: { type: 'string' }, user: { type: 'string' }, 'two-factor': { type: 'boolean' }, ip: { type: 'string' } },
    allowPositionals: true,
    strict: true,
  });
  const raw = positionals[0];
  const match = raw ? /^https?:\/\/([^/?#]+)(.*)$/i.exec(raw) : null;
  if (!raw || !match) {
    io.stderr.write(`access explain needs an absolute http(s) URL, got '${raw ?? ''}'\n\n${HELP}`);
    return 2;
  }
  let subject;
  if (values.user) {
    const users = await UsersFile.open(config.users.file, { watch: false });
    const user = users.find(values.user);
    users.close();
    if (!user) {
      io.stderr.write(`user '${values.user}' is not in ${config.users.file}\n`);
      return 1;
    }
    subject = user.disabled ? undefined : { user: user.username, role: user.role, groups: user.groups, twoFactor: values['two-factor'] === true };
  }
  const access = compileAccess(config.access, config.session.domain);
  const target = canonicaliseTarget({ host: match[1]!, rawPath: match[2] || '/', method: (values.method ?? 'GET').toUpperCase() });
  const result = explain(target, subject, values.ip ?? '203.0.113.1', access);
  const outcome =
    result.decision.kind === 'allow'
      ? result.decision.anonymous
        ? 'allow (no sign-in needed; identity headers empty)'
        : 'allow'
      : result.decision.kind === 'login'
        ? 'sign-in required'
        : result.decision.kind === 'step-up'
          ? 'second factor required (sent to /login/2fa)'
          : `forbidden (403): ${result.decision.reason}`;
  io.stdout.write(
    [
      `target:   ${target.ok ? `${target.method} ${target.host}${target.path}` : `refused: ${target.reason}`}`,
      `as:       ${subject ? `${subject.user} (role ${subject.role}${subject.groups.length ? `, groups ${subject.groups.join(',')}` : ''}), ${subject.twoFactor ? 'two factors' : 'one factor'}` : 'not signed in'}, from ${values.ip ?? '203.0.113.1'}`,
      `rule:     ${result.rule === 'default' ? `none matched: ${result.text}` : `access.${result.text}`}`,
      `decision: ${outcome}`,
      '',
    ].join('\n'),
  );
  return 0;
}
