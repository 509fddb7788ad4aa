// P11: verify with 1 000 000 sessions in Redis ÷ with 1 000, and Redis's memory at 1 M.
// P13: listing one user's 10 sessions among the 1 M: the store call the admin page and
// `postern sessions list --user` make (RedisSessionStore.listByUser), and the CLI as a process.
//
// Two fresh Redis servers: each gets the real sessions (from sign-ins, copied with their TTL and the
// bench user's index), then copies of one real session's value under new random ids, 10 per user
// (`scale-u<n>`), each with its entry in the user's index, written the way the store writes them
// (SET … PX, ZADD to `postern:session:by-user:<user>` scored by the deadline, PEXPIREAT on the index),
// pipelined. One fresh Postern per Redis; P2's requests alternate between them.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { CLI } from './postern.mjs';
import { comparePosterns, summarise } from './sides.mjs';
import { startBenchRedis, verifyHeaders } from './stack.mjs';

const PREFIX = 'postern:session:';
const INDEX = `${PREFIX}by-user:`;
export const SESSIONS_PER_USER = 10;
const USER_PREFIX = 'scale-u';

/** Copies the real sessions (`ids`) and the index of `user` from one Redis to another. */
async function copyRealSessions(from, to, ids, user) {
  const pipe = to.pipeline();
  for (const id of ids) {
    const [value, pttl] = await Promise.all([from.get(PREFIX + id), from.pttl(PREFIX + id)]);
    if (value === null) throw new Error('a signed-in session is missing from Redis');
    pipe.set(PREFIX + id, value, 'PX', pttl);
  }
  // [member, score, …] as ZRANGE … WITHSCORES answers; ZADD wants score, member.
  const index = await from.zrange(INDEX + user, 0, -1, 'WITHSCORES');
  for (let i = 0; i < index.length; i += 2) pipe.zadd(INDEX + user, index[i + 1], index[i]);
  const expiry = await from.pexpiretime(INDEX + user);
  if (expiry > 0) pipe.pexpireat(INDEX + user, expiry);
  await exec(pipe);
}

async function exec(pipe) {
  const res = await pipe.exec();
  const failed = res.find(([err]) => err);
  if (failed) throw new Error(`a pipelined Redis command failed: ${failed[0].message}`);
}

const newId = () => randomBytes(32).toString('base64url');
const scaleUser = (k) => `${USER_PREFIX}${Math.floor(k / SESSIONS_PER_USER)}`;

/**
 * `count` copies of `template` (a session value), the k-th for user `userOf(k)` under id `idOf(k)`,
 * as the store writes them.
 */
async function fill(redis, template, pttl, count, userOf = scaleUser, idOf = newId) {
  const base = JSON.parse(template);
  const deadline = Date.now() + pttl;
  for (let done = 0; done < count; ) {
    const pipe = redis.pipeline();
    const n = Math.min(10_000, count - done);
    for (let k = done; k < done + n; k++) {
      const user = userOf(k);
      const id = idOf(k);
      pipe.set(PREFIX + id, JSON.stringify({ ...base, user }), 'PX', pttl);
      pipe.zadd(INDEX + user, deadline, id);
      if (k % SESSIONS_PER_USER === SESSIONS_PER_USER - 1 || k === count - 1) pipe.pexpireat(INDEX + user, deadline);
    }
    await exec(pipe);
    done += n;
  }
}

async function usedMemory(redis) {
  const info = await redis.info('memory');
  return { bytes: Number(/used_memory:(\d+)/.exec(info)[1]), human: /used_memory_human:(\S+)/.exec(info)[1] };
}

/**
 * A Redis with the real sessions, the `shared` copies of a real session (the signed-in `user`'s, under
 * the same ids in both Redis servers: what the load asks for) and `copies` more for `scale-u<n>` users;
 * resolves { redis, seconds, memory, keys }.
 */
async function redisWith(stack, sessions, user, shared, copies, log) {
  const redis = await startBenchRedis();
  await copyRealSessions(stack.redis.client, redis.client, sessions, user);
  const template = await stack.redis.client.get(PREFIX + sessions[0]);
  const pttl = await stack.redis.client.pttl(PREFIX + sessions[0]);
  const t0 = performance.now();
  await fill(redis.client, template, pttl, shared.length, () => user, (k) => shared[k]);
  await fill(redis.client, template, pttl, copies);
  const seconds = (performance.now() - t0) / 1000;
  const memory = await usedMemory(redis.client);
  const keys = await redis.client.dbsize();
  log(`  redis with ${(sessions.length + shared.length + copies).toLocaleString('en-US')} sessions: filled in ${seconds.toFixed(1)} s, ${keys.toLocaleString('en-US')} keys, used_memory ${memory.human}`);
  return { redis, seconds, memory, keys };
}

/**
 * P11 (and the 1 M Redis for P13). `large`: sessions in the large Redis (1 M; 100 k quick),
 * `small`: in the small one (1 000). The load asks about all `small` sessions of the small Redis,
 * which the large one holds too (the real ones and copies of one under the same ids): verify reads
 * each session from Redis at most once per 500 ms (its read cache), so the more distinct sessions the
 * load uses, the more of it reaches Redis. Leaves the large Redis running: the caller runs P13 on it
 * and stops it. Resolves { figure, details, large, scaleUsers }.
 */
export async function measureSessionCount({ stack, sessions, user, small, large, groups, ...run }) {
  const { log } = run;
  log(`P11: two Redis servers, ${small.toLocaleString('en-US')} and ${large.toLocaleString('en-US')} sessions (the load asks about ${small.toLocaleString('en-US')} of them; the rest ${SESSIONS_PER_USER} per user, with the per-user index), a fresh Postern on each`);
  const shared = Array.from({ length: small - sessions.length }, newId);
  const requests = [...sessions, ...shared].map((id) => ({ method: 'GET', path: '/verify/nginx', headers: verifyHeaders(id) }));
  const few = await redisWith(stack, sessions, user, shared, 0, log);
  const many = await redisWith(stack, sessions, user, shared, large - small, log);
  const env = (r) => ({ POSTERN_SESSION_REDIS_URL: r.redis.url });
  try {
    const { figure, runs } = await comparePosterns({
      ...run,
      label: 'P11 sessions',
      sides: {
        [`${small} sessions`]: { prepared: stack.prepared, options: { label: 'postern-p11-few', env: env(few) } },
        [`${large} sessions`]: { prepared: stack.prepared, options: { label: 'postern-p11-many', env: env(many) } },
      },
      requests,
      groups: { ...groups, 'redis (small)': [few.redis.pid], 'redis (large)': [many.redis.pid] },
    });
    const fig = { ...figure, small, large, usedMemory: many.memory, usedMemorySmall: few.memory, keys: many.keys, fillSeconds: many.seconds };
    return { figure: fig, details: runs, large: many.redis, scaleUsers: Math.floor((large - small) / SESSIONS_PER_USER) };
  } catch (err) {
    await many.redis.stop();
    throw err;
  } finally {
    await few.redis.stop();
  }
}

/**
 * P13 on the large Redis: RedisSessionStore.listByUser (from dist/, with the client Postern builds)
 * for `samples` users with SESSIONS_PER_USER sessions each, and `postern sessions list --user` as a
 * process (beside it `postern --version`: the process start-up alone).
 */
export async function measureListByUser({ stack, redis, usersInRedis, samples, processRuns, log }) {
  const { createRedisClient } = await import('../../dist/store/redis-client.js');
  const { RedisSessionStore } = await import('../../dist/store/redis-store.js');
  const client = createRedisClient(redis.url, { commandTimeoutMs: 5000 });
  if (client.status !== 'ready') await new Promise((resolve, reject) => client.once('ready', resolve).once('error', reject));
  const store = new RedisSessionStore(client);
  const pick = (i) => `${USER_PREFIX}${Math.floor(((i * 7919) % usersInRedis))}`;
  const inProcess = [];
  try {
    await store.listByUser(pick(0)); // connection and code paths warm
    for (let i = 1; i <= samples; i++) {
      const t0 = performance.now();
      const found = await store.listByUser(pick(i));
      inProcess.push(performance.now() - t0);
      if (found.length !== SESSIONS_PER_USER) throw new Error(`P13: listByUser found ${found.length} sessions, expected ${SESSIONS_PER_USER}`);
    }
  } finally {
    client.disconnect();
  }
  const env = { PATH: process.env.PATH, POSTERN_SESSION_REDIS_URL: redis.url };
  const timed = (args, check) => {
    const t0 = performance.now();
    const out = execFileSync(process.execPath, [CLI, ...args], { cwd: stack.prepared.dir, env, encoding: 'utf8' });
    const ms = performance.now() - t0;
    check(out);
    return ms;
  };
  const cli = [];
  const version = [];
  for (let i = 0; i < processRuns; i++) {
    cli.push(
      timed(['--config', stack.prepared.configFile, 'sessions', 'list', '--user', pick(1000 + i)], (out) => {
        const rows = out.trim().split('\n').length - 1;
        if (rows !== SESSIONS_PER_USER) throw new Error(`P13: sessions list printed ${rows} sessions, expected ${SESSIONS_PER_USER}`);
      }),
    );
    version.push(timed(['--version'], () => undefined));
  }
  const figure = { ...summarise(inProcess), cliMs: summarise(cli), versionMs: summarise(version), sessionsPerUser: SESSIONS_PER_USER };
  log(`P13: listByUser ${figure.median.toFixed(2)} ms (${figure.min.toFixed(2)}–${figure.max.toFixed(2)}); \`postern sessions list --user\` ${figure.cliMs.median.toFixed(0)} ms as a process, \`postern --version\` ${figure.versionMs.median.toFixed(0)} ms`);
  return figure;
}
