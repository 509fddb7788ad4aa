import { Redis } from 'ioredis';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './free-port.js';
import { startRedis, type RedisProcess } from './redis-server.js';
import { redisTlsArgs, type TestCa } from './test-ca.js';

/**
 * A Sentinel-managed Redis owned by one test: a primary, a replica of it and three Sentinels
 * (quorum 2), each a real redis-server on its own loopback port and temp dir. Failover is quick:
 * the primary counts as down after `down-after-milliseconds` 1000.
 */
export interface SentinelGroup {
  readonly name: string;
  readonly primary: RedisProcess;
  readonly replica: RedisProcess;
  readonly sentinels: readonly RedisProcess[];
  /** `127.0.0.1:<port>` of each Sentinel (its TLS port with `tls`), for `session.redis.sentinels`. */
  readonly sentinelAddresses: readonly string[];
  /** The port Sentinel currently names as the primary (asks the first Sentinel that answers). */
  primaryPort(): Promise<number | undefined>;
  /** Resolves once the replica has acknowledged every write made on the primary so far. */
  waitForReplication(): Promise<void>;
  stop(): Promise<void>;
}

export const GROUP_NAME = 'postern-test';
const SETTLE_DEADLINE_MS = 20_000;

/**
 * With `tls`, every process also listens with TLS on a second port and they speak TLS to each other
 * (replication, Sentinel to Redis, Sentinel to Sentinel), announcing their TLS ports; the plain
 * ports stay for the test's own commands.
 */
export interface SentinelGroupOptions {
  readonly tls?: TestCa;
  /** `requirepass` (and `masterauth`) of the primary and replica, `auth-pass` for the Sentinels. */
  readonly password?: string;
  /** `requirepass` of the Sentinels (which also use it with each other). */
  readonly sentinelPassword?: string;
}

export async function startSentinelGroup(opts: SentinelGroupOptions = {}): Promise<SentinelGroup> {
  const started: RedisProcess[] = [];
  const auth = opts.password === undefined ? [] : ['--requirepass', opts.password, '--masterauth', opts.password];
  const onRedis = (port: number, args: readonly string[]) => command(port, args, opts.password);
  const onSentinel = (port: number, args: readonly string[]) => command(port, args, opts.sentinelPassword);
  const tls = async (announce: (port: number) => string[]): Promise<{ port?: number; args: string[] }> => {
    if (!opts.tls) return { args: [] };
    const port = await freePort();
    return { port, args: [...redisTlsArgs(opts.tls, port), '--tls-replication', 'yes', ...announce(port)] };
  };
  try {
    const primaryTls = await tls(() => []);
    const primary = await startRedis({ args: () => [...primaryTls.args, ...auth] });
    started.push(primary);
    const primaryPort = primaryTls.port ?? primary.port;
    const replicaTls = await tls((port) => ['--replica-announce-port', String(port)]);
    const replica = await startRedis({ args: () => ['--replicaof', '127.0.0.1', String(primaryPort), ...replicaTls.args, ...auth] });
    started.push(replica);
    await until('the replica to finish its first sync', async () => String(await onRedis(replica.port, ['INFO', 'replication'])).includes('master_link_status:up'));

    const sentinelConf = [
      `sentinel monitor ${GROUP_NAME} 127.0.0.1 ${primaryPort} 2`,
      `sentinel down-after-milliseconds ${GROUP_NAME} 1000`,
      `sentinel failover-timeout ${GROUP_NAME} 5000`,
      `sentinel parallel-syncs ${GROUP_NAME} 1`,
      ...(opts.password === undefined ? [] : [`sentinel auth-pass ${GROUP_NAME} ${opts.password}`]),
      ...(opts.sentinelPassword === undefined ? [] : [`requirepass ${opts.sentinelPassword}`]),
      '',
    ].join('\n');
    const sentinels: RedisProcess[] = [];
    const sentinelAddresses: string[] = [];
    for (let i = 0; i < 3; i++) {
      const sentinelTls = await tls(() => []);
      const announce = sentinelTls.port === undefined ? '' : `sentinel announce-port ${sentinelTls.port}\n`;
      const sentinel = await startRedis({ sentinelConf: sentinelConf + announce, args: () => sentinelTls.args });
      started.push(sentinel);
      sentinels.push(sentinel);
      sentinelAddresses.push(`127.0.0.1:${sentinelTls.port ?? sentinel.port}`);
    }
    // A failover needs a majority that knows the replica and each other (hello messages every 2 s).
    await until('the Sentinels to know the replica and each other', async () => {
      for (const sentinel of sentinels) {
        const peers = (await onSentinel(sentinel.port, ['SENTINEL', 'SENTINELS', GROUP_NAME])) as unknown[];
        const replicas = (await onSentinel(sentinel.port, ['SENTINEL', 'REPLICAS', GROUP_NAME])) as unknown[];
        if (peers.length !== 2 || replicas.length !== 1) return false;
      }
      return true;
    });

    return {
      name: GROUP_NAME,
      primary,
      replica,
      sentinels,
      sentinelAddresses,
      async primaryPort() {
        for (const sentinel of sentinels) {
          try {
            const [, port] = (await onSentinel(sentinel.port, ['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', GROUP_NAME])) as [string, string];
            return Number(port);
          } catch {
            // this one is down: ask the next
          }
        }
        return undefined;
      },
      async waitForReplication() {
        const acked = (await onRedis(primary.port, ['WAIT', '1', '5000'])) as number;
        if (acked < 1) throw new Error('the replica did not acknowledge the writes within 5 s');
      },
      async stop() {
        await Promise.all(started.map((p) => p.stop()));
      },
    };
  } catch (err) {
    await Promise.all(started.map((p) => p.stop()));
    throw err;
  }
}

/** One command on a short-lived connection; rejects when nothing answers within a second. */
export async function command(port: number, args: readonly string[], password?: string): Promise<unknown> {
  const client = new Redis({ host: '127.0.0.1', port, ...(password === undefined ? {} : { password }), lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1000, commandTimeout: 1000 });
  client.on('error', () => {});
  try {
    await client.connect();
    return await client.call(args[0]!, ...args.slice(1));
  } finally {
    client.disconnect();
  }
}

async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + SETTLE_DEADLINE_MS;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what} after ${SETTLE_DEADLINE_MS} ms`);
    await sleep(100);
  }
}
