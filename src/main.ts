import { createServer, type Server } from 'node:http';
import { availableParallelism } from 'node:os';
import type { AddressInfo } from 'node:net';
import { buildApp } from './app.js';
import { compileAccess } from './access/schema.js';
import { endAccessAtStart, endAccessOnReload } from './auth/end-access-on-reload.js';
import { HashLimiter } from './auth/hash-limiter.js';
import { createPasswordFingerprint } from './auth/identity.js';
import { createLoginThrottle } from './auth/login-throttle.js';
import { createRequestLimit, OIDC_START_LIMIT_PREFIX, PASSKEY_START_LIMIT_PREFIX } from './auth/request-limit.js';
import { createPasswordHasher } from './auth/passwords.js';
import type { LoadedConfig } from './config/load.js';
import { logUndecryptable, usersWithUnreadableFactors } from './factors/factor-check.js';
import { createSecretBox } from './factors/secret-box.js';
import { RedisSingleUseGuard } from './store/single-use-guard-redis.js';
import { createClientIpResolver } from './http/client-ip.js';
import { closeConnectionsWhile, drain, listen } from './http/server-lifecycle.js';
import { compileTrustedProxies } from './http/trusted-proxies.js';
import { createLogger, type Logger } from './log/logger.js';
import { startMetricsListener } from './metrics/listener.js';
import { createMetrics, noMetrics } from './metrics/metrics.js';
import { OidcProviders } from './oidc/providers.js';
import { openBindingStore } from './oidc/open-bindings.js';
import { redisTargetFromConfig } from './store/redis-client.js';
import { RedisDeviceStore } from './store/device-store-redis.js';
import { MemoryDeviceStore } from './store/device-store-memory.js';
import { RedisTokenUseStore } from './tokens/last-use.js';
import { RedisPasskeyCounterStore } from './store/passkey-counter-store-redis.js';
import { OpenResources, openDataDir, openEncryptionKey, openSessionStore, openUsers, waitUntilReady } from './startup-steps.js';
import type { DestinationStream } from 'pino';

export interface RunningServer {
  readonly server: Server;
  readonly port: number;
  readonly logger: Logger;
  /** The metrics listener's port; undefined when metrics are off (metrics.port unset). */
  readonly metricsPort: number | undefined;
  /** From now on `/readyz` answers 503 (the load balancer stops sending traffic); everything else is still served. */
  beginShutdown(): void;
  /**
   * Stops accepting connections, lets the requests in flight finish (at most `drainMs`, default 10 s),
   * then closes the users-file watcher, the OIDC retries and Redis. Implies beginShutdown().
   */
  close(opts?: { drainMs?: number }): Promise<void>;
}

export const DEFAULT_DRAIN_MS = 10_000;

export interface StartOptions {
  /** Where log lines go (stdout by default); tests pass a stream they read. */
  readonly logDestination?: DestinationStream;
  /** Where the one-time admin password banner goes. */
  readonly announce?: (text: string) => void;
  readonly now?: () => number;
}

/**
 * The composition root: builds every dependency from the validated config, builds the app, listens.
 * Nothing imports this file but the CLI.
 */
export async function startServer(loaded: LoadedConfig, opts: StartOptions = {}): Promise<RunningServer> {
  const opened = new OpenResources();
  try {
    return await start(loaded, opts, opened);
  } catch (err) {
    // Whatever opened before the failure must not keep the process alive: the CLI then exits non-zero.
    await opened.closeAll();
    throw err;
  }
}

async function start(loaded: LoadedConfig, opts: StartOptions, opened: OpenResources): Promise<RunningServer> {
  const { config } = loaded;
  const now = opts.now ?? Date.now;
  const logger = createLogger(config.log.level, opts.logDestination);
  const announce = opts.announce ?? ((text: string) => process.stdout.write(text));
  for (const warning of loaded.warnings) logger.warn(warning);
  // Reads session.redis.tls.ca_file: an unreadable one stops the start before anything is written.
  const redisTarget = redisTargetFromConfig(config.session.redis);
  if (loaded.file) logger.info({ file: loaded.file }, 'configuration loaded');

  const secret = await openDataDir(config);

  const metrics = config.metrics.port === undefined ? noMetrics : createMetrics({ redis: redisTarget !== undefined });
  // One core stays free for verify while sign-ins hash (measured: verify p99 12.7 ms → 7.3 ms with 20 sign-ins at once on 2 cores).
  const hashLimiter = new HashLimiter({ concurrency: Math.max(1, availableParallelism() - 1), maxQueue: 64, maxWaitMs: 5000 });
  metrics.readAtScrape({ hashLimiter });
  const hasher = createPasswordHasher({ argon2: config.users.argon2, limiter: hashLimiter });
  // Refusals are held to a margin over the cost of the slowest hash in the users file: time it now and after each reload.
  const calibrate = async (): Promise<void> => {
    const { floorMs, classes } = await hasher.calibrate(users.all().map((u) => u.password));
    logger.info({ event: 'hasher.calibrated', floorMs: Math.round(floorMs), classes }, 'every refused sign-in now takes at least floorMs: a margin over the slowest hash in use');
  };
  const encryptionKey = await openEncryptionKey(config);
  const box = createSecretBox(encryptionKey);
  // Postern starts all the same: those users' app codes are refused (and logged again at each use) until the key is back or reset-2fa runs.
  const checkFactors = (): void => usersWithUnreadableFactors(users.all(), box).forEach((user) => logUndecryptable(logger, user));
  const users = await openUsers(config, hasher, logger, announce, (change) => {
    void calibrate();
    checkFactors();
    void endAccess(change);
  });
  opened.add(() => users.close());
  checkFactors();
  const calibrated = calibrate();

  const { redis, store } = openSessionStore(redisTarget, logger, metrics);
  // Closes the Redis client (QUIT, or a disconnect when Redis is away): its reconnect loop would keep the process alive.
  opened.add(() => store.close());
  const deviceStore = redis ? new RedisDeviceStore(redis) : new MemoryDeviceStore(now);
  // A user disabled, removed or given another password in the users file loses their sessions and device trusts,
  // as through the CLI. Defined before any await: the file's first reload (a timer, then a read) comes after it.
  const endAccessDeps = { sessions: store, devices: { revokeUser: (user: string) => deviceStore.removeUser(user) }, passwordFingerprint: createPasswordFingerprint(secret), logger, users };
  const endAccess = endAccessOnReload(endAccessDeps);

  const throttle = createLoginThrottle(config.login.throttle, {
    redis,
    // Called once per outage.
    onStoreFailure: (err) => logger.error({ reason: err.message }, 'login throttle cannot reach redis; limiting in memory until it is back'),
  });

  const access = compileAccess(config.access, config.session.domain);
  if (access.problems.length > 0) throw new Error(`the access rules have problems:\n${access.problems.map((p) => `  - ${p}`).join('\n')}`);
  for (const warning of access.shadowWarnings) logger.warn(warning);
  // Before listening: the first refusals must already wait as long as the slowest hash (this also builds the dummy hash).
  await calibrated;
  if (redis) await waitUntilReady(store, 2000);
  // The file may have been edited while no server ran: users it marks disabled lose what they still have, before the first request.
  await endAccessAtStart(endAccessDeps, users.all());
  const oidc = config.oidc ? new OidcProviders(config.oidc, { publicUrl: config.server.public_url, logger }) : undefined;
  if (oidc) opened.add(() => oidc.close());
  if (oidc) metrics.readAtScrape({ oidcProviders: () => oidc.list() });
  // Before listening: a bindings file (or Redis hash) that cannot be read stops the start, with where.
  const oidcBindings = config.oidc ? await openBindingStore(config.data_dir, redis, logger) : undefined;
  const oidcStartLimit = config.oidc ? createRequestLimit(config.oidc.start_rate_limit, { redis, keyPrefix: OIDC_START_LIMIT_PREFIX }) : undefined;
  // A moment for discovery, so the first sign-in page has its buttons; a provider that is down keeps retrying in the background.
  if (oidc) await Promise.race([oidc.start(), new Promise((resolve) => setTimeout(resolve, 2000).unref())]);

  let shuttingDown = false;
  const app = buildApp({
    config,
    secret,
    logger,
    users,
    hasher,
    store,
    throttle,
    access,
    resolveClientIp: createClientIpResolver({
      isTrusted: compileTrustedProxies(config.server.trusted_proxies),
      header: config.server.client_ip_header,
      onMalformed: (entry) => logger.debug({ entry: entry.slice(0, 80) }, 'malformed forwarded address; walk stopped'),
    }),
    readiness: [{ name: 'session store', ready: () => store.ping() }],
    shuttingDown: () => shuttingDown,
    now,
    metrics,
    ...(oidc ? { oidc } : {}),
    ...(oidcStartLimit ? { oidcStartLimit } : {}),
    passkeyStartLimit: createRequestLimit(config.login.passkey_rate_limit, { redis, keyPrefix: PASSKEY_START_LIMIT_PREFIX }),
    deviceStore,
    ...(redis
      ? {
          tokenUses: new RedisTokenUseStore(redis),
          singleUse: new RedisSingleUseGuard(redis),
          passkeyCounters: new RedisPasskeyCounterStore(redis),
        }
      : {}),
    encryptionKey,
    ...(oidcBindings ? { oidcBindings } : {}),
  });

  // Its own server and port, never routed through the app: the proxy in front cannot reach it.
  let metricsPort: number | undefined;
  if (metrics.registry && config.metrics.port !== undefined) {
    const listener = await startMetricsListener(metrics.registry, { address: config.metrics.address, port: config.metrics.port }, logger);
    opened.add(() => listener.close());
    metricsPort = listener.port;
  }

  const server = createServer(closeConnectionsWhile(app.callback(), () => shuttingDown));
  // Longer than nginx's and Traefik's upstream keep-alive, so the proxy always closes first.
  server.keepAliveTimeout = 75_000;
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  await listen(server, config.server.port, config.server.address);
  const port = (server.address() as AddressInfo).port;
  logger.info({ event: 'listening', address: config.server.address, port, public_url: config.server.public_url }, `Postern is listening on ${config.server.address}:${port}`);

  let closing: Promise<void> | undefined;
  return {
    server,
    port,
    logger,
    metricsPort,
    beginShutdown() {
      shuttingDown = true;
    },
    close({ drainMs = DEFAULT_DRAIN_MS } = {}) {
      shuttingDown = true;
      closing ??= (async () => {
        const inTime = await drain(server, drainMs);
        if (!inTime) logger.warn({ event: 'shutdown.cut', drain_ms: drainMs }, 'requests still running after the drain time were cut off');
        // After the drain: the requests that finished in it still read and wrote sessions.
        await opened.closeAll();
      })();
      return closing;
    },
  };
}
