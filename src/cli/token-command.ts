/**
 * `postern token create|list|revoke`: app passwords in the users file. Bad input (unknown user, an
 * expiry in the past, a host outside session.domain) is a usage error (exit 2) and leaves the file untouched.
 */
import { parseArgs } from 'node:util';
import { editUsersFile } from '../auth/users-file-writer.js';
import { normaliseUsername } from '../auth/username.js';
import { parseDuration } from '../config/duration.js';
import { isWithinDomain } from '../net/domain.js';
import { createRedisClient, waitUntilReachable } from '../store/redis-client.js';
import { generateToken, type AppPassword } from '../tokens/app-password.js';
import { RedisTokenUseStore } from '../tokens/last-use.js';
import { parseUsersFile } from '../auth/users-file-parse.js';
import { readFile } from 'node:fs/promises';
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

const HOST = /^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/;

function usage(message: string): CliError {
  return new CliError(`postern: ${message}; nothing was changed`, 2);
}

function parseExpiry(text: string, now: number): number {
  const duration = parseDuration(text);
  if (duration !== undefined) {
    if (duration <= 0) throw usage(`--expires ${text} is not in the future`);
    return now + duration;
  }
  const at = /^\d{4}-\d\d-\d\d/.test(text) ? Date.parse(text) : Number.NaN;
  if (Number.isNaN(at)) throw usage(`--expires must be a duration such as 90d or a date such as 2027-01-31, got '${text}'`);
  if (at <= now) throw usage(`--expires ${text} is in the past`);
  return at;
}

function parseHosts(text: string, domain: string): string[] {
  const hosts = text.split(',').map((h) => h.trim().toLowerCase()).filter((h) => h !== '');
  if (hosts.length === 0) throw usage('--hosts needs at least one host name');
  for (const host of hosts) {
    if (!HOST.test(host)) throw usage(`--hosts: '${host}' is not a host name`);
    const bare = host.startsWith('*.') ? host.slice(2) : host;
    if (!isWithinDomain(bare, domain)) throw usage(`--hosts: ${host} is outside session.domain (${domain}); Postern protects only hosts within it`);
  }
  return hosts;
}

async function create(rest: string[], io: CliIO, deps: TokenCommandDeps): Promise<number> {
  const { values } = parseArgs({
    args: rest,
    options: { user: { type: 'string' }, name: { type: 'string' }, expires: { type: 'string' }, hosts: { type: 'string' }, 'read-only': { type: 'boolean' } },
    strict: true,
  });
  if (!values.user) throw usage('token create needs --user USERNAME');
  if (!values.name || /[\p{Cc}]/u.test(values.name)) throw usage('token create needs --name NAME (what the token is for, such as "immich phone")');
  const now = deps.now();
  const expires = values.expires === undefined ? undefined : parseExpiry(values.expires, now);
  const hosts = values.hosts === undefined ? undefined : parseHosts(values.hosts, deps.domain);
  const username = normaliseUsername(values.user);
  const { token, id, hash } = generateToken();
  const entry: AppPassword = {
    id,
    name: values.name,
    hash,
    created: now,
    readOnly: values['read-only'] === true,
    ...(expires === undefined ? {} : { expires }),
    ...(hosts === undefined ? {} : { hosts }),
  };
  await editUsersFile(deps.usersFile, (file) => {
    if (!file.users.has(username)) throw usage(`no user '${values.user}' in ${deps.usersFile}`);
    file.addAppPassword(username, entry);
  });
  io.stderr.write(`App password ${id} created for ${username}. It is shown only now; store it in the app:\n`);
  io.stdout.write(`${token}\n`);
  return 0;
}

async function readTokens(usersFile: string): Promise<Array<{ user: string; token: AppPassword }>> {
  const { users, problems } = parseUsersFile(await readFile(usersFile, 'utf8'), usersFile);
  if (problems.length > 0) throw new CliError(`postern: users file ${usersFile} has problems:\n${problems.map((p) => `  - ${p}`).join('\n')}`, 1);
  return [...users.values()].flatMap((u) => (u.appPasswords ?? []).map((token) => ({ user: u.username, token })));
}

const iso = (ms: number | undefined) => (ms === undefined ? '-' : `${new Date(ms).toISOString().slice(0, 19)}Z`);
const cell = (s: string) => s.replace(/[\p{Cc}\p{Cf}\s]/gu, '_');

async function lastUses(ids: string[], redisUrl: string | undefined): Promise<Map<string, number> | undefined> {
  if (!redisUrl || ids.length === 0) return undefined;
  const redis = createRedisClient(redisUrl, { commandTimeoutMs: 2_000 });
  try {
    await waitUntilReachable(redis, 3_000);
    return await new RedisTokenUseStore(redis).lastUse(ids);
  } finally {
    redis.disconnect();
  }
}

async function list(rest: string[], io: CliIO, deps: TokenCommandDeps): Promise<number> {
  const { values } = parseArgs({ args: rest, options: { user: { type: 'string' } }, strict: true });
  const user = values.user === undefined ? undefined : normaliseUsername(values.user);
  const rows = (await readTokens(deps.usersFile)).filter((r) => user === undefined || r.user === user);
  const uses = await lastUses(rows.map((r) => r.token.id), deps.redisUrl);
  const table = [
    ['ID', 'USER', 'NAME', 'CREATED', 'EXPIRES', 'HOSTS', 'ACCESS', 'LAST USED'],
    ...rows.map(({ user: u, token: t }) => [
      t.id,
      u,
      cell(t.name),
      iso(t.created),
      iso(t.expires),
      t.hosts?.join(',') ?? '*',
      t.readOnly ? 'read-only' : 'read-write',
      uses === undefined ? 'unknown' : iso(uses.get(t.id)),
    ]),
  ];
  const widths = table[0]!.map((_, i) => Math.max(...table.map((r) => r[i]!.length)));
  io.stdout.write(table.map((r) => `${r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()}\n`).join(''));
  if (uses === undefined && rows.length > 0) io.stderr.write('LAST USED is kept in Redis (session.redis.url); without it, only the running server knows.\n');
  return 0;
}

async function revoke(rest: string[], io: CliIO, deps: TokenCommandDeps): Promise<number> {
  const { positionals } = parseArgs({ args: rest, options: {}, allowPositionals: true, strict: true });
  const [id] = positionals;
  if (id === undefined || positionals.length !== 1) throw usage('token revoke takes one ID (the ID column of `postern token list`)');
  const owner = await editUsersFile(deps.usersFile, (file) => {
    for (const u of file.users.values()) {
      if (u.appPasswords?.some((t) => t.id === id)) {
        file.removeAppPassword(u.username, id);
        return u.username;
      }
    }
    throw usage(`no app password has the ID '${cell(id)}' (see \`postern token list\`)`);
  });
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
