/**
 * The start-up steps of the composition root (main.ts) that open something: the data directory and
 * its generated secrets, the users file, the session store; and the list of what is open, closed
 * newest first when a later step fails or at shutdown.
 */
import { join } from 'node:path';
import { mkdir } from 'node:fs/promises';
import type { Redis } from 'ioredis';
import type { PasswordHasher } from './auth/passwords.js';
import { createInitialUsersFile, UsersFile, type UsersFileChange } from './auth/users-file.js';
import type { Config } from './config/types.js';
import { loadOrCreateSessionSecret } from './config/session-secret.js';
import { loadOrCreateGeneratedSecret } from './config/generated-secret.js';
import { ENCRYPTION_KEY_FILE, ENCRYPTION_KEY_SETTING } from './factors/secret-box.js';
import type { Logger } from './log/logger.js';
import type { Metrics } from './metrics/metrics.js';
import { observedStore } from './metrics/observed-store.js';
import { MemorySessionStore } from './store/memory-store.js';
import { createRedisClient, describeRedisTarget, type RedisTarget } from './store/redis-client.js';
import { RedisSessionStore } from './store/redis-store.js';
import { CachedSessionStore } from './store/cached-store.js';
import type { SessionStore } from './store/session-store.js';

/**
 * What start-up has opened so far (Redis client, file watcher, retry timers), closed newest first:
 * when a later step fails, so that the failure ends the process instead of leaving it running idle,
 * and at shutdown.
 */
export class OpenResources {
  readonly #closers: Array<() => unknown> = [];

  add(close: () => unknown): void {
    this.#closers.push(close);
  }

  async closeAll(): Promise<void> {
    for (const close of this.#closers.splice(0).reverse()) {
      try {
        await close();
      } catch {
        // Closing is best effort: one that fails must not keep the others open.
      }
    }
  }
}

function errnoOf(err: unknown): string | undefined {
  const code = (err as NodeJS.ErrnoException | undefined)?.code ?? ((err as Error | undefined)?.cause as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Runs one start-up step; a file-system failure (EACCES, EISDIR...) gets `explain`'s one line: what, and what to do. */
async function step<T>(run: () => Promise<T>, explain: (code: string, err: Error) => string): Promise<T> {
  try {
    return await run();
  } catch (err) {
    const code = errnoOf(err);
    if (code === undefined) throw err;
    throw new Error(explain(code, err as Error), { cause: err });
  }
}

/** Creates `data_dir`; the session secret from the config, else read (or generated once) from `<data_dir>/session.secret`. */
export async function openDataDir(config: Config): Promise<string> {
  await step(
    () => mkdir(config.data_dir, { recursive: true, mode: 0o700 }),
    (code) => `cannot create data_dir ${config.data_dir} (${code}); create it, or set data_dir to a directory the user running Postern can write`,
  );
  if (config.session.secret !== undefined) return config.session.secret;
  const { secret } = await step(
    () => loadOrCreateSessionSecret(config.data_dir),
    (code) => `cannot read the session secret ${join(config.data_dir, 'session.secret')} (${code}); make it a file the user running Postern can read, or set session.secret`,
  );
  return secret;
}

/** The key that seals second-factor secrets: secrets.encryption_key, else read (or generated once) from `<data_dir>/encryption.key`. */
export async function openEncryptionKey(config: Config): Promise<string> {
  if (config.secrets.encryption_key !== undefined) return config.secrets.encryption_key;
  const { secret } = await step(
    () => loadOrCreateGeneratedSecret(config.data_dir, ENCRYPTION_KEY_FILE, ENCRYPTION_KEY_SETTING),
    (code) => `cannot read the encryption key ${join(config.data_dir, ENCRYPTION_KEY_FILE)} (${code}); make it a file the user running Postern can read, or set ${ENCRYPTION_KEY_SETTING}`,
  );
  return secret;
}

/** Opens the users file (watched from then on), first creating it with one admin when it does not exist. */
export async function openUsers(config: Config, hasher: PasswordHasher, logger: Logger, announce: (text: string) => void, onReload: (change: UsersFileChange) => void): Promise<UsersFile> {
  const usersFileProblem = (code: string, err: Error) =>
    `${err.message.startsWith('cannot read users file') ? err.message : `cannot use users file ${config.users.file} (${code})`}; make users.file a file the user running Postern can read`;
  const initial = await step(() => createInitialUsersFile(config.users.file, hasher), usersFileProblem);
  if (initial) {
    announce(
      [
        '',
        '================================================================',
        ` Postern created ${config.users.file}`,
        ` with one user: ${initial.username}`,
        ` password:      ${initial.password}`,
        ' This password is shown only once. Sign in and change it with:',
        `   npx postern user passwd ${initial.username} --password-stdin`,
        '================================================================',
        '',
      ].join('\n'),
    );
  }
  return step(
    () =>
      UsersFile.open(config.users.file, {
        onReload: (count, change) => {
          logger.info({ event: 'users.reload', count }, 'users file reloaded');
          onReload(change);
        },
        onProblem: (problems) => logger.error({ event: 'users.invalid', problems }, 'users file has problems; the previous users stay in force until it is fixed'),
      }),
    usersFileProblem,
  );
}

/** The session store: Redis behind a short read cache when `session.redis.url` is set, else memory. */
export function openSessionStore(target: RedisTarget | undefined, logger: Logger, metrics: Metrics): { redis: Redis | undefined; store: SessionStore } {
  if (!target) {
    logger.warn('sessions are kept in memory: they are lost on restart and not shared between instances. Set session.redis.url (or session.redis.sentinels) for production.');
    return { redis: undefined, store: new MemorySessionStore() };
  }
  // Which Redis or Sentinels were tried (never a password), so an operator can tell a typo from an outage.
  const where = describeRedisTarget(target);
  const redis = createRedisClient(target, {
    onStatus: (status, err) => {
      metrics.redisStatus(status);
      if (status === 'up') logger.info(where, 'redis is reachable');
      else logger.error({ ...where, reason: err?.message }, 'redis is unreachable: verify fails closed until it is back');
    },
  });
  // Counted below the cache: postern_session_store_errors_total is what Redis failed, not what the cache served.
  const backend = metrics.enabled ? observedStore(new RedisSessionStore(redis), metrics) : new RedisSessionStore(redis);
  // Verify asks the store on every request: a 500 ms read cache keeps that off Redis while any
  // replica's logout is still seen everywhere within half a second.
  return { redis, store: new CachedSessionStore(backend, { backendUp: () => redis.status === 'ready' }) };
}

/** Gives a configured Redis a moment to connect, so the first requests do not fail; starts anyway (fail closed) if it does not. */
export async function waitUntilReady(store: SessionStore, deadlineMs: number): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (Date.now() < deadline) {
    if (await store.ping()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
