import { createServer, type Server } from 'node:http';
import { availableParallelism } from 'node:os';
import { mkdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { buildApp } from './app.js';
import { compileAccess } from './access/schema.js';
import { HashLimiter } from './auth/hash-limiter.js';
import { createLoginThrottle } from './auth/login-throttle.js';
import { createRequestLimit, OIDC_START_LIMIT_PREFIX } from './auth/request-limit.js';
import { createPasswordHasher } from './auth/passwords.js';
import { createInitialUsersFile, UsersFile } from './auth/users-file.js';
import type { LoadedConfig } from './config/load.js';
import { loadOrCreateSessionSecret } from './config/session-secret.js';
import { createClientIpResolver } from './http/client-ip.js';
import { compileTrustedProxies } from './http/trusted-proxies.js';
import { createLogger, type Logger } from './log/logger.js';
import { OidcProviders } from './oidc/providers.js';
import { MemorySessionStore } from './store/memory-store.js';
import { createRedisClient } from './store/redis-client.js';
import { RedisSessionStore } from './store/redis-store.js';
import { RedisDeviceStore } from './store/device-store-redis.js';
import { RedisTokenUseStore } from './tokens/last-use.js';
import { CachedSessionStore } from './store/cached-store.js';
import type { SessionStore } from './store/session-store.js';
import type { DestinationStream } from 'pino';
import type { Redis } from 'ioredis';

/** Gives a configured Redis a moment to connect, so the first requests do not fail; starts anyway (fail closed) if it does not. */
async function waitUntilReady(store: SessionStore, deadlineMs: number): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (Date.now() < deadline) {
    if (await store.ping()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export interface RunningServer {
  readonly server: Server;
  readonly port: number;
  readonly logger: Logger;
  close(): Promise<void>;
}

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
  const { config } = loaded;
  const now = opts.now ?? Date.now;
  const logger = createLogger(config.log.level, opts.logDestination);
  const announce = opts.announce ?? ((text: string) => process.stdout.write(text));
  for (const warning of loaded.warnings) logger.warn(warning);
  if (loaded.file) logger.info({ file: loaded.file }, 'configuration loaded');

  await mkdir(config.data_dir, { recursive: true, mode: 0o700 });
  const secret = config.session.secret ?? (await loadOrCreateSessionSecret(config.data_dir)).secret;

  const hasher = createPasswordHasher({
    argon2: config.users.argon2,
    // One core stays free for verify while sign-ins hash (measured: verify p99 12.7 ms → 7.3 ms with 20 sign-ins at once on 2 cores).
    limiter: new HashLimiter({ concurrency: Math.max(1, availableParallelism() - 1), maxQueue: 64, maxWaitMs: 5000 }),
  });
  const initial = await createInitialUsersFile(config.users.file, hasher);
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
  const users = await UsersFile.open(config.users.file, {
    onReload: (count) => {
      logger.info({ event: 'users.reload', count }, 'users file reloaded');
      void calibrate();
    },
    onProblem: (problems) => logger.error({ event: 'users.invalid', problems }, 'users file has problems; the previous users stay in force until it is fixed'),
  });

  // Refusals are held to the cost of the slowest hash in the users file: time it now and after each reload.
  const calibrate = async (): Promise<void> => {
    const { floorMs, classes } = await hasher.calibrate(users.all().map((u) => u.password));
    logger.info({ event: 'hasher.calibrated', floorMs: Math.round(floorMs), classes }, 'every refused sign-in now takes as long as the slowest hash in use');
  };
  const calibrated = calibrate();

  let redis: Redis | undefined;
  let store: SessionStore;
  if (config.session.redis.url) {
    redis = createRedisClient(config.session.redis.url, {
      onStatus: (status, err) =>
        status === 'up' ? logger.info('redis is reachable') : logger.error({ reason: err?.message }, 'redis is unreachable: verify fails closed until it is back'),
    });
    const client = redis;
    // Verify asks the store on every request: a 500 ms read cache keeps that off Redis while any
    // replica's logout is still seen everywhere within half a second.
    store = new CachedSessionStore(new RedisSessionStore(client), { backendUp: () => client.status === 'ready' });
  } else {
    store = new MemorySessionStore();
    logger.warn('sessions are kept in memory: they are lost on restart and not shared between instances. Set session.redis.url for production.');
  }

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
  const oidc = config.oidc ? new OidcProviders(config.oidc, { publicUrl: config.server.public_url, logger }) : undefined;
  const oidcStartLimit = config.oidc ? createRequestLimit(config.oidc.start_rate_limit, { redis, keyPrefix: OIDC_START_LIMIT_PREFIX }) : undefined;
  // A moment for discovery, so the first sign-in page has its buttons; a provider that is down keeps retrying in the background.
  if (oidc) await Promise.race([oidc.start(), new Promise((resolve) => setTimeout(resolve, 2000).unref())]);

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
    now,
    ...(oidc ? { oidc } : {}),
    ...(oidcStartLimit ? { oidcStartLimit } : {}),
    ...(redis ? { deviceStore: new RedisDeviceStore(redis), tokenUses: new RedisTokenUseStore(redis) } : {}),
  });

  const server = createServer(app.callback());
  // Longer than nginx's and Traefik's upstream keep-alive, so the proxy always closes first.
  server.keepAliveTimeout = 75_000;
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.server.port, config.server.address, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  logger.info({ event: 'listening', address: config.server.address, port, public_url: config.server.public_url }, `Postern is listening on ${config.server.address}:${port}`);

  return {
    server,
    port,
    logger,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      users.close();
      oidc?.close();
      await store.close();
    },
  };
}
