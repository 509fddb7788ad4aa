import { Redis } from 'ioredis';

export type RedisStatus = 'up' | 'down';

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
 * An ioredis client that fails fast while Redis is away and reconnects by itself when it
 * returns. Fail fast: no offline queue, no retry of a failed command, a per-command
 * timeout. Recover: reconnect forever, backing off to one attempt a second.
 */
export function createRedisClient(url: string, opts: RedisClientOptions = {}): Redis {
  const redis = new Redis(url, {
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
  });

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
  for (;;) {
    try {
      await redis.ping();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`cannot reach Redis (session.redis.url): ${(err as Error).message}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}
