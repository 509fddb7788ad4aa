import { parseArgs } from 'node:util';
import type { Config } from '../config/types.js';
import { connectForCommand, redisTargetFromConfig } from '../store/redis-client.js';
import { RedisSessionStore } from '../store/redis-store.js';
import type { SessionStore, StoredSession } from '../store/session-store.js';
import { listSessions, revokeSessionsOf, sessionByHandle, sessionRow, type SessionRow } from '../sessions/manage.js';
import { CliError, reportFailure, type CliIO } from './io.js';

const HELP = `Usage: postern sessions list [--user USERNAME] [--json]
       postern sessions revoke (--user USERNAME | --id ID | --all)

Lists or ends the sessions kept in Redis (session.redis.url): password and single sign-on
sessions alike. ID is the ID column of \`sessions list\`; any prefix of it that names exactly
one session will do. Every replica refuses a revoked session within 1 second.

A user disabled or removed at an OIDC provider keeps their Postern session until it expires:
Postern cannot learn of it. End it with \`postern sessions revoke --user USERNAME\`.
`;

const COLUMNS: ReadonlyArray<readonly [string, keyof SessionRow]> = [
  ['ID', 'id'],
  ['USER', 'user'],
  ['METHOD', 'method'],
  ['CREATED', 'created'],
  ['LAST SEEN', 'last_seen'],
  ['ADDRESS', 'address'],
  ['AGENT', 'agent'],
];

/** A terminal cell: no control or invisible characters, which could rewrite what the operator sees. */
function cell(text: string): string {
  return text.replace(/[\p{Cc}\p{Cf}\u2028\u2029]/gu, '?');
}

export function formatTable(rows: readonly SessionRow[]): string {
  const cells = [COLUMNS.map(([title]) => title), ...rows.map((row) => COLUMNS.map(([, key]) => cell(row[key])))];
  const widths = COLUMNS.map((_, i) => Math.max(...cells.map((line) => line[i]!.length)));
  return cells.map((line) => `${line.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()}\n`).join('');
}

/**
 * The one session whose handle starts with `prefix`. Unknown and ambiguous prefixes are usage
 * errors (exit 2), so that a revoke never ends a session nobody named.
 */
export function sessionByHandlePrefix(sessions: readonly StoredSession[], prefix: string): StoredSession {
  const match = sessionByHandle(sessions, prefix);
  if (match.ok) return match.session;
  const wanted = match.prefix;
  if (match.problem === 'not a handle') throw new CliError(`postern: '${cell(prefix)}' is not a session ID (the ID column of \`postern sessions list\`); nothing was revoked`, 2);
  if (match.problem === 'none') throw new CliError(`postern: no session has an ID starting with '${wanted}'; nothing was revoked (see \`postern sessions list\`)`, 2);
  throw new CliError(`postern: ${match.count} sessions have an ID starting with '${wanted}'; nothing was revoked. Give more of the ID, or use --user`, 2);
}

interface Options {
  readonly user: string | undefined;
  readonly id: string | undefined;
  readonly all: boolean;
  readonly json: boolean;
}

function parse(sub: 'list' | 'revoke', rest: string[]): Options {
  let values;
  try {
    ({ values } = parseArgs({
      args: rest,
      options: { user: { type: 'string' }, id: { type: 'string' }, all: { type: 'boolean' }, json: { type: 'boolean' } },
      strict: true,
    }));
  } catch (err) {
    throw new CliError(`postern: ${(err as Error).message}\n\n${HELP}`, 2);
  }
  const options = { user: values.user, id: values.id, all: values.all === true, json: values.json === true };
  if (options.user === '') throw new CliError('postern: --user needs a username; nothing was done', 2);
  if (sub === 'list') {
    if (options.id !== undefined || options.all) throw new CliError(`postern: sessions list takes only --user and --json\n\n${HELP}`, 2);
    return options;
  }
  if (options.json) throw new CliError(`postern: sessions revoke does not take --json\n\n${HELP}`, 2);
  const filters = [options.user !== undefined, options.id !== undefined, options.all].filter(Boolean).length;
  if (filters !== 1) {
    throw new CliError(`postern: sessions revoke needs exactly one of --user USERNAME, --id ID or --all; nothing was revoked\n\n${HELP}`, 2);
  }
  return options;
}

async function list(store: SessionStore, options: Options, io: CliIO): Promise<number> {
  const sessions = options.user !== undefined ? await listSessions(store, options.user) : await listSessions(store);
  const rows = sessions.map(sessionRow);
  if (options.json) {
    io.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    return 0;
  }
  io.stdout.write(formatTable(rows));
  return 0;
}

async function revoke(store: SessionStore, options: Options, io: CliIO): Promise<number> {
  let doomed: StoredSession[];
  if (options.user !== undefined) doomed = await revokeSessionsOf(store, options.user);
  else {
    doomed = options.id !== undefined ? [sessionByHandlePrefix(await store.listAll(), options.id)] : await store.listAll();
    for (const session of doomed) await store.destroy(session.id);
  }
  const count = `${doomed.length} session${doomed.length === 1 ? '' : 's'}`;
  if (options.id !== undefined) io.stdout.write(`Revoked session ${sessionRow(doomed[0]!).id} of ${cell(doomed[0]!.data.user)}.`);
  else if (options.user !== undefined) io.stdout.write(doomed.length === 0 ? `${cell(options.user)} has no sessions; nothing to revoke.` : `Revoked ${count} of ${cell(options.user)}.`);
  else io.stdout.write(`Revoked ${count}.`);
  io.stdout.write(doomed.length === 0 ? '\n' : ` Every replica refuses ${doomed.length === 1 ? 'it' : 'them'} within 1 second.\n`);
  return 0;
}

/** `postern sessions list|revoke`: reads the Redis the running servers share. */
export async function sessionsCommand(args: string[], io: CliIO, config: Config): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === undefined || args.includes('--help') || args.includes('-h')) {
    io.stdout.write(HELP);
    return sub === undefined ? 2 : 0;
  }
  if (sub !== 'list' && sub !== 'revoke') {
    io.stderr.write(`unknown sessions command '${sub}'\n\n${HELP}`);
    return 2;
  }
  let store: RedisSessionStore | undefined;
  try {
    const options = parse(sub, rest);
    const target = redisTargetFromConfig(config.session.redis);
    if (!target) {
      throw new CliError(
        sub === 'list'
          ? 'postern: sessions live in the memory of the running server (session.redis.url is not set), so they cannot be listed from the command line'
          : 'postern: sessions live in the memory of the running server (session.redis.url is not set), so they cannot be revoked from the command line; restarting Postern ends them all',
        1,
      );
    }
    store = new RedisSessionStore(await connectForCommand(target));
    return sub === 'list' ? await list(store, options, io) : await revoke(store, options, io);
  } catch (err) {
    return reportFailure(io, err);
  } finally {
    await store?.close();
  }
}
