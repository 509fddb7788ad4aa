import { readFileSync } from 'node:fs';
// Required, not imported: importing a CommonJS package into an ES module makes Node 20 first scan
// its source for export names (cjs-module-lexer), ioredis's index and its Redis.js, about 25 ms of
// every CLI command that reads Redis (`npm run bench` P13). TypeScript emits this as createRequire.
import ioredis = require('ioredis');
import Redis = ioredis.Redis;
type RedisOptions = ioredis.RedisOptions;
import { ConfigError } from '../config/errors.js';
import type { RedisSettings } from '../config/types.js';

export type RedisStatus = 'up' | 'down';

/** One Redis at a URL, or the primary of a Sentinel master group. `ca` is a PEM bundle's text. */
export type RedisTarget =
  | { readonly url: string; readonly ca?: string }
  | {
      readonly sentinels: readonly { readonly host: string; readonly port: number }[];
      readonly name: string;
      readonly password?: string;
      readonly sentinelPassword?: string;
      /** TLS to the Sentinels and the primary; absent means plain TCP. */
      readonly tls?: { readonly ca?: string };
    };

/**
 * The target `session.redis` names, with its CA bundle read now; undefined when sessions stay in
 * memory. An unreadable `tls.ca_file` is a ConfigError naming the key (the CLI exits non-zero).
 */
export function redisTargetFromConfig(
  settings: RedisSettings,
  readFile: (path: string) => string = (path) => readFileSync(path, 'utf8'),
): RedisTarget | undefined {
  let ca: string | undefined;
  if (settings.tls.ca_file !== undefined) {
    try {
      ca = readFile(settings.tls.ca_file);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? String(error);
      throw new ConfigError([`session.redis.tls.ca_file cannot be read: '${settings.tls.ca_file}' (${code})`]);
    }
    if (!ca.includes('-----BEGIN CERTIFICATE-----')) {
      throw new ConfigError([`session.redis.tls.ca_file must be a PEM file of CA certificates: '${settings.tls.ca_file}' has none`]);
    }
  }
  if (settings.url !== undefined) return { url: settings.url, ...(ca !== undefined ? { ca } : {}) };
  if (settings.sentinels === undefined || settings.name === undefined) return undefined;
  return {
    sentinels: settings.sentinels,
    name: settings.name,
    ...(settings.password !== undefined ? { password: settings.password } : {}),
    ...(settings.sentinel_password !== undefined ? { sentinelPassword: settings.sentinel_password } : {}),
    ...(settings.tls.enabled ? { tls: ca !== undefined ? { ca } : {} } : {}),
  };
}

/** What a log line may say about the target: addresses and the group name, never a password. */
export function describeRedisTarget(target: RedisTarget): Record<string, unknown> {
  if ('url' in target) {
    const url = new URL(target.url);
    return { redis: `${url.protocol}//${url.host}` };
  }
  return { sentinels: target.sentinels.map(({ host, port }) => (host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`)), name: target.name };
}

export interface RedisClientOptions {
  /**
   * Longest wait for any one reply before the command fails. Verify fails closed on it,
   * so it bounds how long a stalled Redis can hold a request. Default 150 ms.
   */
  readonly commandTimeoutMs?: number;
  /**
   * Called once per transition: `up` when the connection is ready, `down` when it is lost
   * or cannot be made. Never given the URL (it may carry a password).
   */
  readonly onStatus?: (status: RedisStatus, err?: Error) => void;
}

export const DEFAULT_COMMAND_TIMEOUT_MS = 150;
const CONNECT_TIMEOUT_MS = 1_000;
/** A socket that answers nothing for this long is dead (half-open): drop it and reconnect. */
const SOCKET_TIMEOUT_MS = 2_000;
const MAX_RECONNECT_DELAY_MS = 1_000;

/**
 * ioredis options for `target` (the URL form still goes to ioredis as a URL). Exported for its
 * table test: the fail-fast settings must be the same whichever way Redis is found.
 */
export function redisOptions(target: RedisTarget, opts: RedisClientOptions = {}): RedisOptions {
  const common: RedisOptions = {
    commandTimeout: opts.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
    connectTimeout: CONNECT_TIMEOUT_MS,
    socketTimeout: SOCKET_TIMEOUT_MS,
    // Commands sent while disconnected reject at once instead of waiting for a reconnect.
    enableOfflineQueue: false,
    // Commands in flight when the connection drops reject at the drop, not after retries.
    maxRetriesPerRequest: 0,
    // A command the caller already saw fail must not run later: a replayed SET could
    // bring back a session that a logout in between destroyed.
    autoResendUnfulfilledCommands: false,
    // Returning a number means "never give up": the client comes back with Redis.
    retryStrategy: (times) => Math.min(50 * times, MAX_RECONNECT_DELAY_MS),
    lazyConnect: false,
    enableReadyCheck: true,
  };
  if ('url' in target) return target.ca === undefined ? common : { ...common, tls: { ca: target.ca } };
  const tls = target.tls === undefined ? undefined : target.tls.ca === undefined ? {} : { ca: target.tls.ca };
  return {
    ...common,
    sentinels: target.sentinels.map(({ host, port }) => ({ host, port })),
    name: target.name,
    // Each (re)connect asks the Sentinels for the current primary and checks its role, so after a
    // failover the client lands on the promoted replica by itself.
    role: 'master',
    ...(target.password !== undefined ? { password: target.password } : {}),
    ...(target.sentinelPassword !== undefined ? { sentinelPassword: target.sentinelPassword } : {}),
    // No Sentinel answering is retried forever, like a lost primary, at most a second apart.
    sentinelRetryStrategy: (times) => Math.min(50 * times, MAX_RECONNECT_DELAY_MS),
    // A stalled Sentinel must not hold the search for the primary longer than a dead one.
    sentinelCommandTimeout: CONNECT_TIMEOUT_MS,
    // A primary that was demoted but still answers refuses writes with READONLY: drop it and ask the
    // Sentinels again (the failed command is not resent). Preferred over ioredis's failoverDetector,
    // whose extra Sentinel connections have no error listener and print to the console.
    reconnectOnError: (err) => err.message.startsWith('READONLY'),
    ...(tls !== undefined ? { tls, sentinelTLS: tls, enableTLSForSentinelMode: true } : {}),
  };
}

/**
 * An ioredis client that fails fast while Redis is away and reconnects by itself when it
 * returns. Fail fast: no offline queue, no retry of a failed command, a per-command
 * timeout. Recover: reconnect forever, backing off to one attempt a second. With Sentinels,
 * every reconnect asks them for the current primary, which is how a failover is followed.
 */
export function createRedisClient(target: string | RedisTarget, opts: RedisClientOptions = {}): Redis {
  const resolved: RedisTarget = typeof target === 'string' ? { url: target } : target;
  const options = redisOptions(resolved, opts);
  const redis = 'url' in resolved ? new Redis(resolved.url, options) : new Redis(options);

  let status: RedisStatus | undefined;
  const report = (next: RedisStatus, err?: Error): void => {
    if (status === next) return;
    status = next;
    opts.onStatus?.(next, err);
  };
  redis.on('ready', () => report('up'));
  // Without an 'error' listener ioredis prints every failed reconnect to the console.
  redis.on('error', (err: Error) => report('down', err));
  // 'reconnecting' follows every unplanned loss of the connection, and never quit()/disconnect().
  redis.on('reconnecting', () => report('down'));
  return redis;
}

/**
 * For one-shot commands (the CLI): waits until the client answers PING, up to `timeoutMs`. The
 * client has no offline queue, so a command sent before the connection is ready would fail at once.
 */
export async function waitUntilReachable(redis: Redis, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  // A new client is still connecting: wait for it to be ready (or to fail) before the first PING,
  // instead of a PING that fails at once and 50 ms of sleep on every CLI command.
  if (redis.status !== 'ready') {
    await new Promise<void>((resolve) => {
      const settle = (): void => {
        clearTimeout(timer);
        redis.off('ready', settle).off('error', settle);
        resolve();
      };
      const timer = setTimeout(settle, timeoutMs);
      redis.once('ready', settle).once('error', settle);
    });
  }
  for (;;) {
    try {
      await redis.ping();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`cannot reach Redis (session.redis): ${(err as Error).message}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

/**
 * The Redis `session.redis` names, for a one-shot CLI command: a fail-fast client (2 s per command)
 * that has answered PING within 3 s. Rejects (the client closed) when Redis cannot be reached.
 */
export async function connectForCommand(target: RedisTarget): Promise<Redis> {
  const redis = createRedisClient(target, { commandTimeoutMs: 2_000 });
  try {
    await waitUntilReachable(redis, 3_000);
  } catch (err) {
    redis.disconnect();
    throw err;
  }
  return redis;
}
