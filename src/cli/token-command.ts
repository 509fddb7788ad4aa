/**
 * `postern token create|list|revoke`: app passwords in the users file. Bad input (unknown user, an
 * expiry in the past, a host outside session.domain) is a usage error (exit 2) and leaves the file untouched.
 */
import { parseArgs } from 'node:util';
import { readFile } from 'node:fs/promises';
import type { User } from '../auth/user.js';
import { parseUsersFile } from '../auth/users-file-parse.js';
import { normaliseUsername } from '../auth/username.js';
import { createRedisClient, waitUntilReachable } from '../store/redis-client.js';
import { RedisTokenUseStore } from '../tokens/last-use.js';
import {
  createAppPassword,
  listAppPasswords,
  NoSuchUserError,
  parseTokenExpiry,
  parseTokenHosts,
  parseTokenName,
  revokeAppPassword,
  type AppPasswordRow,
  type Parsed,
} from '../tokens/manage.js';
import { CliError, reportFailure, type CliIO } from './io.js';

const HELP = `Usage: postern token create --user USERNAME --name NAME [--expires 90d|2027-01-31] [--hosts a.example.com,b.example.com] [--read-only]
       postern token list [--user USERNAME]
       postern token revoke ID

App passwords let clients that cannot sign in through a browser (mobile apps, integrations,
scripts) in as USERNAME. Present one as \`Authorization: Bearer pst_…\`, as the password of
\`Authorization: Basic\` (with USERNAME), or in the X-Postern-Token header (tokens.header).
The token is printed once by \`create\`: only its hash is stored, in the users file.
--hosts limits it to those hosts (within session.domain; *.example.com for names under one),
--read-only to GET, HEAD and OPTIONS. The owner's access rules apply as well.
`;

export interface TokenCommandDeps {
  readonly usersFile: string;
  readonly domain: string;
  readonly redisUrl: string | undefined;
  readonly now: () => number;
}

function usage(message: string): CliError {
  return new CliError(`postern: ${message}; nothing was changed`, 2);
}

/** The value of a parsed option, or a usage error naming the option. */
function option<T>(name: string, parsed: Parsed<T>): T {
  if (!parsed.ok) throw usage(`${name} ${parsed.error}`);
  return parsed.value;
}

async function create(rest: string[], io: CliIO, deps: TokenCommandDeps): Promise<number> {
  const { values } = parseArgs({
    args: rest,
    options: { user: { type: 'string' }, name: { type: 'string' }, expires: { type: 'string' }, hosts: { type: 'string' }, 'read-only': { type: 'boolean' } },
    strict: true,
  });
  if (!values.user) throw usage('token create needs --user USERNAME');
  if (values.name === undefined) throw usage('token create needs --name NAME (what the token is for, such as "immich phone")');
  const name = option('--name', parseTokenName(values.name));
  const now = deps.now();
  const expires = values.expires === undefined ? undefined : option('--expires', parseTokenExpiry(values.expires, now));
  const hosts = values.hosts === undefined ? undefined : option('--hosts:', parseTokenHosts(values.hosts, deps.domain));
  const created = await createAppPassword(deps.usersFile, values.user, { name, readOnly: values['read-only'] === true, expires, hosts }, now).catch((err: unknown) => {
    throw err instanceof NoSuchUserError ? usage(`no user '${values.user}' in ${deps.usersFile}`) : err;
  });
  io.stderr.write(`App password ${created.entry.id} created for ${normaliseUsername(values.user)}. It is shown only now; store it in the app:\n`);
  io.stdout.write(`${created.token}\n`);
  return 0;
}

async function readUsers(usersFile: string): Promise<User[]> {
  const { users, problems } = parseUsersFile(await readFile(usersFile, 'utf8'), usersFile);
  if (problems.length > 0) throw new CliError(`postern: users file ${usersFile} has problems:\n${problems.map((p) => `  - ${p}`).join('\n')}`, 1);
  return [...users.values()];
}

const iso = (ms: number | undefined) => (ms === undefined ? '-' : `${new Date(ms).toISOString().slice(0, 19)}Z`);
const cell = (s: string) => s.replace(/[\p{Cc}\p{Cf}\s]/gu, '_');

/** The rows with their last use from Redis; undefined uses when there is no Redis (only the running server knows). */
async function rowsWithUses(users: User[], redisUrl: string | undefined): Promise<{ rows: AppPasswordRow[]; known: boolean }> {
  if (!redisUrl || !users.some((u) => (u.appPasswords?.length ?? 0) > 0)) return { rows: await listAppPasswords(users), known: false };
  const redis = createRedisClient(redisUrl, { commandTimeoutMs: 2_000 });
  try {
    await waitUntilReachable(redis, 3_000);
    return { rows: await listAppPasswords(users, new RedisTokenUseStore(redis)), known: true };
  } finally {
    redis.disconnect();
  }
}

async function list(rest: string[], io: CliIO, deps: TokenCommandDeps): Promise<number> {
  const { values } = parseArgs({ args: rest, options: { user: { type: 'string' } }, strict: true });
  const user = values.user === undefined ? undefined : normaliseUsername(values.user);
  const { rows, known } = await rowsWithUses((await readUsers(deps.usersFile)).filter((u) => user === undefined || u.username === user), deps.redisUrl);
  const table = [
    ['ID', 'USER', 'NAME', 'CREATED', 'EXPIRES', 'HOSTS', 'ACCESS', 'LAST USED'],
    ...rows.map(({ user: u, token: t, lastUse }) => [
      t.id,
      u,
      cell(t.name),
      iso(t.created),
      iso(t.expires),
      t.hosts?.join(',') ?? '*',
      t.readOnly ? 'read-only' : 'read-write',
      known ? iso(lastUse) : 'unknown',
    ]),
  ];
  const widths = table[0]!.map((_, i) => Math.max(...table.map((r) => r[i]!.length)));
  io.stdout.write(table.map((r) => `${r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()}\n`).join(''));
  if (!known && rows.length > 0) io.stderr.write('LAST USED is kept in Redis (session.redis.url); without it, only the running server knows.\n');
  return 0;
}

async function revoke(rest: string[], io: CliIO, deps: TokenCommandDeps): Promise<number> {
  const { positionals } = parseArgs({ args: rest, options: {}, allowPositionals: true, strict: true });
  const [id] = positionals;
  if (id === undefined || positionals.length !== 1) throw usage('token revoke takes one ID (the ID column of `postern token list`)');
  const owner = await revokeAppPassword(deps.usersFile, id);
  if (owner === undefined) throw usage(`no app password has the ID '${cell(id)}' (see \`postern token list\`)`);
  io.stdout.write(`App password ${id} of ${owner} revoked; every replica refuses it once it has reloaded the users file (within about a second).\n`);
  return 0;
}

export async function tokenCommand(args: string[], io: CliIO, deps: TokenCommandDeps): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === undefined || args.includes('--help') || args.includes('-h')) {
    io.stdout.write(HELP);
    return sub === undefined ? 2 : 0;
  }
  try {
    if (sub === 'create') return await create(rest, io, deps);
    if (sub === 'list') return await list(rest, io, deps);
    if (sub === 'revoke') return await revoke(rest, io, deps);
    throw new CliError(`postern: unknown token command '${sub}'\n\n${HELP}`, 2);
  } catch (err) {
    if (err instanceof TypeError && (err as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS')) return reportFailure(io, new CliError(`postern: ${err.message}\n\n${HELP}`, 2));
    return reportFailure(io, err);
  }
}
