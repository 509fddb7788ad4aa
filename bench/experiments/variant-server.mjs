// An EXPERIMENT, not Postern: the composition of dist/main.js rebuilt from the compiled modules, with
// one change at a time, to measure what a change to src/ would buy before anyone makes it.
//
//   node bench/experiments/variant-server.mjs VARIANT PORT   (cwd: a Postern dir made by the bench)
//
// VARIANT
//   baseline       as dist/main.js builds it (buildApp, createRedisClient)
//   autopipeline   the same, with ioredis enableAutoPipelining (one socket write per event-loop turn)
//   cache          the same, with the session store behind a 500 ms in-process read cache (revocation
//                  seen within 0.5 s by every replica; never past the session's own `expires`)
//   cache+pipeline both
// Environment: HASH_CONCURRENCY (default max(2, cores), as dist/main.js) bounds concurrent password hashes.
import http from 'node:http';
import { availableParallelism } from 'node:os';
import { Redis } from 'ioredis';
import { buildApp } from '../../dist/app.js';
import { compileAccess } from '../../dist/access/schema.js';
import { HashLimiter } from '../../dist/auth/hash-limiter.js';
import { createLoginThrottle } from '../../dist/auth/login-throttle.js';
import { createPasswordHasher } from '../../dist/auth/passwords.js';
import { UsersFile } from '../../dist/auth/users-file.js';
import { loadConfig } from '../../dist/config/load.js';
import { loadOrCreateSessionSecret } from '../../dist/config/session-secret.js';
import { createClientIpResolver } from '../../dist/http/client-ip.js';
import { compileTrustedProxies } from '../../dist/http/trusted-proxies.js';
import { createLogger } from '../../dist/log/logger.js';
import { createRedisClient } from '../../dist/store/redis-client.js';
import { RedisSessionStore } from '../../dist/store/redis-store.js';

const [variant, portArg] = process.argv.slice(2);
const VARIANTS = ['baseline', 'autopipeline', 'cache', 'cache+pipeline'];
if (!VARIANTS.includes(variant)) throw new Error(`variant must be one of ${VARIANTS.join(', ')}`);
const pipelined = variant === 'autopipeline' || variant === 'cache+pipeline';
const cached = variant.startsWith('cache');
const CACHE_MS = 500;

/** A read cache in front of a SessionStore: an entry (or the in-flight read) lives CACHE_MS. */
class CachedStore {
  #inner;
  #entries = new Map();
  constructor(inner) {
    this.#inner = inner;
  }
  get(id) {
    const now = Date.now();
    let e = this.#entries.get(id);
    if (!e || e.until <= now) {
      if (this.#entries.size >= 100_000) this.#entries.clear();
      e = { until: now + CACHE_MS, read: this.#inner.get(id) };
      e.read.catch(() => this.#entries.delete(id));
      this.#entries.set(id, e);
    }
    return e.read.then((data) => (data && data.expires > Date.now() ? data : undefined));
  }
  set(id, data, ttl) {
    this.#entries.delete(id);
    return this.#inner.set(id, data, ttl);
  }
  destroy(id) {
    this.#entries.delete(id);
    return this.#inner.destroy(id);
  }
  ping() {
    return this.#inner.ping();
  }
  close() {
    return this.#inner.close();
  }
}

const { config } = loadConfig({ argv: ['--config', 'postern.yml'] });
const logger = createLogger(config.log.level);
const secret = config.session.secret ?? (await loadOrCreateSessionSecret(config.data_dir)).secret;
const users = await UsersFile.open(config.users.file, {});
// The client dist/store/redis-client.js makes, or the same options plus auto-pipelining.
const redis = pipelined
  ? new Redis(config.session.redis.url, {
      commandTimeout: 150,
      connectTimeout: 1000,
      socketTimeout: 2000,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      retryStrategy: (times) => Math.min(50 * times, 1000),
      enableReadyCheck: true,
      enableAutoPipelining: true,
    })
  : createRedisClient(config.session.redis.url);
const redisStore = new RedisSessionStore(redis);
const store = cached ? new CachedStore(redisStore) : redisStore;
const access = compileAccess(config.access, config.session.domain);
const resolveClientIp = createClientIpResolver({ isTrusted: compileTrustedProxies(config.server.trusted_proxies), header: config.server.client_ip_header });
const publicUrl = config.server.public_url;
const deps = {
  config,
  secret,
  logger,
  users,
  // As dist/main.js builds it; HASH_CONCURRENCY overrides the number of hashes run at once.
  hasher: createPasswordHasher({
    argon2: config.users.argon2,
    limiter: new HashLimiter({ concurrency: Number(process.env.HASH_CONCURRENCY) || Math.max(2, availableParallelism()), maxQueue: 64, maxWaitMs: 5000 }),
  }),
  store,
  throttle: createLoginThrottle(config.login.throttle, { redis }),
  access,
  resolveClientIp,
  readiness: [{ name: 'session store', ready: () => store.ping() }],
  now: Date.now,
};

const app = buildApp(deps);

const server = http.createServer(app.callback());
server.keepAliveTimeout = 75_000;
server.listen(Number(portArg), '127.0.0.1');
const stop = () => {
  server.close();
  server.closeAllConnections();
  users.close();
  redis.disconnect();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
