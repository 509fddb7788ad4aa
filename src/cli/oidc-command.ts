import { parseArgs } from 'node:util';
import type { Redis } from 'ioredis';
import { normaliseUsername } from '../auth/username.js';
import type { Config } from '../config/types.js';
import { createLogger } from '../log/logger.js';
import type { Binding } from '../oidc/bindings.js';
import { openBindingStore } from '../oidc/open-bindings.js';
import { createRedisClient, redisTargetFromConfig, type RedisTarget } from '../store/redis-client.js';
import type { CliIO } from './io.js';

const HELP = `Usage: postern oidc bindings list [--json]
       postern oidc bindings remove USERNAME

The first sign-in through a provider binds its username to that provider's subject (issuer and
sub); any other subject claiming the same username is refused. 'remove' releases a username: the
next subject that signs in with it binds it. Bindings are kept in Redis when session.redis.url is
set, else in <data_dir>/oidc-bindings.jsonl.
`;

/** `postern oidc bindings list|remove`: reads and changes the same store the running servers use. */
export async function oidcCommand(args: string[], io: CliIO, config: Config): Promise<number> {
  const [group, sub, ...rest] = args;
  if (group !== 'bindings' || sub === undefined || args.includes('--help')) {
    io.stdout.write(HELP);
    return args.includes('--help') ? 0 : 2;
  }
  if (sub !== 'list' && sub !== 'remove') {
    io.stderr.write(`unknown oidc bindings command '${sub}'\n\n${HELP}`);
    return 2;
  }
  const { values, positionals } = parseArgs({ args: rest, options: { json: { type: 'boolean' } }, allowPositionals: true, strict: true });
  if (sub === 'remove' && positionals.length !== 1) {
    io.stderr.write(`oidc bindings remove needs exactly one USERNAME\n\n${HELP}`);
    return 2;
  }
  const target = redisTargetFromConfig(config.session.redis);
  const redis = target ? await connect(target) : undefined;
  try {
    const store = await openBindingStore(config.data_dir, redis, createLogger('silent'));
    if (sub === 'list') {
      const bindings = await store.list();
      if (values.json) io.stdout.write(`${JSON.stringify(bindings.map(asJson), null, 2)}\n`);
      else io.stdout.write(table(bindings));
      return 0;
    }
    const user = normaliseUsername(positionals[0]!);
    const removed = await store.remove(user);
    if (!removed) {
      io.stderr.write(`No username '${user}' is bound; nothing was changed. 'postern oidc bindings list' shows the bound usernames.\n`);
      return 2;
    }
    io.stdout.write(`Released '${user}' (was bound to subject ${removed.sub} at ${removed.iss}, provider ${removed.provider}). The next subject that signs in as '${user}' binds it.\n`);
    return 0;
  } finally {
    redis?.disconnect();
  }
}

function asJson(b: Binding) {
  return { user: b.user, provider: b.provider, issuer: b.iss, subject: b.sub, bound: new Date(b.created).toISOString() };
}

function table(bindings: readonly Binding[]): string {
  if (bindings.length === 0) return 'No username is bound to a provider subject yet.\n';
  const rows = [['USER', 'PROVIDER', 'ISSUER', 'SUBJECT', 'BOUND'], ...bindings.map((b) => Object.values(asJson(b)))];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((row) => `${row.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()}\n`).join('');
}

async function connect(target: RedisTarget): Promise<Redis> {
  const redis = createRedisClient(target, { commandTimeoutMs: 2000 });
  const ready = await Promise.race([
    new Promise<boolean>((resolve) => redis.once('ready', () => resolve(true))),
    new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 3000).unref()),
  ]);
  if (!ready) {
    redis.disconnect();
    throw new Error('cannot reach Redis (session.redis) within 3 s; nothing was changed');
  }
  return redis;
}
