import { COOKIE_NAME } from './http.mjs';
// Everything the benchmark measures against, started on free loopback ports:
//   redis-server → Postern (built CLI, the nginx example's postern.yml) → nginx (the nginx example)
//   the floor (bench/floor-server.mjs)                                  → nginx (the same example)
// Each nginx also serves the protected "app": a small static file.
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { childPids } from './cpu.mjs';
import { signIn } from './http.mjs';
import { startNginx } from './nginx.mjs';
import { preparePosternDir, startPostern } from './postern.mjs';
import { Redis } from 'ioredis';
import { stopChild } from '../../test/support/child.js';
import { freePort } from '../../test/support/free-port.js';
import { startRedis } from '../../test/support/redis-server.js';
import { makeTempDir, spawnLogged, waitForChild } from './proc.mjs';

export const BENCH_USER = { name: 'bench', password: 'correct horse battery staple' };

/** Hosts as the example writes them; the harness sends them to loopback in the Host header. */
export const APP_HOST = 'app.example.com';
export const PORTAL_HOST = 'auth.example.com';

/** Headers nginx's /_postern location sends for a GET / on app.example.com (examples/nginx/snippets). */
export function verifyHeaders(sessionId) {
  return {
    host: APP_HOST,
    'x-original-url': `http://${APP_HOST}/`,
    'x-original-method': 'GET',
    'x-forwarded-method': 'GET',
    'x-forwarded-proto': 'http',
    'x-forwarded-host': APP_HOST,
    'x-forwarded-uri': '/',
    'x-forwarded-for': '127.0.0.1',
    'user-agent': 'postern-bench',
    accept: '*/*',
    cookie: `${COOKIE_NAME}=${sessionId}`,
  };
}

/** test/support/redis-server.js's Redis, with a client for the bench's own writes and INFO. */
export async function startBenchRedis() {
  const server = await startRedis();
  const client = new Redis({ host: '127.0.0.1', port: server.port, lazyConnect: true, maxRetriesPerRequest: 1 });
  await client.connect();
  return {
    port: server.port,
    url: server.url,
    pid: server.pid,
    client,
    async stop() {
      client.disconnect();
      await server.stop();
    },
  };
}

export async function startFloor() {
  const dir = makeTempDir('postern-bench-floor-');
  const port = await freePort();
  const logFile = path.join(dir, 'floor.log');
  const child = spawnLogged(process.execPath, [path.join(import.meta.dirname, '..', 'floor-server.mjs'), String(port)], { cwd: dir, logFile });
  await waitForChild(port, 'floor', child, 10_000, logFile);
  return { port, pid: child.pid, stop: () => stopChild(child) };
}

/**
 * Starts the whole stack. `posternNodeArgs` go to Postern's node (e.g. --cpu-prof). `withNginx`:
 * false for the profiling run, which drives /verify/nginx directly. `nginxWorkers`: nginx's
 * worker_processes (`auto`, as packaged nginx.conf files have it); `withNginx1` adds a second pair
 * with worker_processes 1, as the test harness runs it.
 */
export async function startStack({ log = () => undefined, posternNodeArgs = [], withNginx = true, withFloor = true, nginxWorkers = 'auto', withNginx1 = false } = {}) {
  const stack = {};
  log('starting redis-server');
  stack.redis = await startBenchRedis();
  log('writing postern.yml (examples/nginx/postern.yml, addresses substituted, log.level warn) and the users file (argon2id, default parameters)');
  stack.prepared = preparePosternDir({ redisPort: stack.redis.port, logLevel: 'warn', users: [BENCH_USER] });
  log('starting Postern');
  stack.postern = await startPostern(stack.prepared, { nodeArgs: posternNodeArgs });
  if (withFloor) {
    log('starting the floor');
    stack.floor = await startFloor();
  }
  if (withNginx) {
    log(`starting nginx (examples/nginx/postern.conf + snippets) in front of Postern and in front of the floor, worker_processes ${nginxWorkers}${withNginx1 ? ' and 1' : ''}`);
    stack.nginxPostern = await startNginx(stack.postern.port, 'postern', { workers: nginxWorkers });
    if (withFloor) stack.nginxFloor = await startNginx(stack.floor.port, 'floor', { workers: nginxWorkers });
    if (withNginx1) {
      stack.nginx1Postern = await startNginx(stack.postern.port, 'postern-w1', { workers: 1 });
      if (withFloor) stack.nginx1Floor = await startNginx(stack.floor.port, 'floor-w1', { workers: 1 });
    }
  }
  return stack;
}

/** Real sessions, made by signing in through the login form (through nginx's portal host when present). */
export async function createSessions(stack, count, concurrency = 4) {
  const port = stack.nginxPostern?.port ?? stack.postern.port;
  const host = PORTAL_HOST;
  const sessions = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        next++;
        // 503: the hash limiter's queue waited too long (a busy shared machine); try that one again.
        for (let attempt = 1; ; attempt++) {
          try {
            sessions.push(await signIn({ port, host, username: BENCH_USER.name, password: BENCH_USER.password }));
            break;
          } catch (err) {
            if (attempt >= 5 || !/answered 503/.test(err.message)) throw err;
            await sleep(1000);
          }
        }
      }
    }),
  );
  return sessions;
}

/** pids per process group, for CPU accounting. */
export function processGroups(stack) {
  const groups = { postern: [stack.postern.pid], redis: [stack.redis.pid] };
  if (stack.floor) groups.floor = [stack.floor.pid];
  if (stack.nginxPostern) groups['nginx→postern'] = [stack.nginxPostern.pid, ...childPids(stack.nginxPostern.pid)];
  if (stack.nginxFloor) groups['nginx→floor'] = [stack.nginxFloor.pid, ...childPids(stack.nginxFloor.pid)];
  if (stack.nginx1Postern) groups['nginx(1)→postern'] = [stack.nginx1Postern.pid, ...childPids(stack.nginx1Postern.pid)];
  if (stack.nginx1Floor) groups['nginx(1)→floor'] = [stack.nginx1Floor.pid, ...childPids(stack.nginx1Floor.pid)];
  return groups;
}
