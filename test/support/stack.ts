import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeUsersFileAtomic } from '../../src/auth/users-file.js';
import { buildUsers, type TestUser } from './app-fixture.js';
import { readExample, substitute, type ExamplePorts } from './examples.js';
import { freePort } from './free-port.js';
import { startPostern, type PosternProcess } from './postern-process.js';
import { startRedis, type RedisProcess } from './redis-server.js';
import { startUpstream, type Upstream } from './upstream.js';
import { tmpdir } from 'node:os';

export interface Stack {
  readonly ports: ExamplePorts;
  readonly redis: RedisProcess;
  readonly app: Upstream;
  readonly postern: PosternProcess;
  close(): Promise<void>;
}

/** Fast hashing for tests, set through the environment so the example file stays as published. */
const FAST_HASH_ENV = { POSTERN_USERS_ARGON2_MEMORY_COST: '8192', POSTERN_USERS_ARGON2_TIME_COST: '1' };

/**
 * Redis, the demo app and the built Postern, started from an example's postern.yml (or a test's
 * edit of one) with only its addresses substituted. The proxy is started by the caller on `ports.proxy`.
 */
export async function startStack(
  examplePosternYml: string | { readonly text: string },
  users: Record<string, TestUser>,
  env: NodeJS.ProcessEnv = {},
  issuer?: string,
): Promise<Stack> {
  const redis = await startRedis();
  const app = await startUpstream();
  const ports: ExamplePorts = { postern: await freePort(), app: app.port, proxy: await freePort(), redis: redis.port, ...(issuer ? { issuer } : {}) };
  const dir = mkdtempSync(join(tmpdir(), 'postern-stack-'));
  mkdirSync(join(dir, 'data'), { mode: 0o700 });
  await writeUsersFileAtomic(join(dir, 'data', 'users.yml'), await buildUsers(users));
  // `{ text }`: an example's postern.yml changed by the test (read with readExample, edited in memory).
  const yml = typeof examplePosternYml === 'string' ? readExample(examplePosternYml) : examplePosternYml.text;
  const postern = await startPostern(substitute(yml, ports), { dir, port: ports.postern, env: { ...FAST_HASH_ENV, ...env } });
  return {
    ports,
    redis,
    app,
    postern,
    async close() {
      await postern.cleanup();
      await app.close();
      await redis.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Starts the proxy on a port picked just before it binds. Another test file may take a port
 * between the moment it is found free and the moment it is bound: then pick again.
 */
export async function startProxy<T>(stack: Stack, start: (ports: ExamplePorts) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    (stack.ports as { proxy: number }).proxy = await freePort();
    try {
      return await start(stack.ports);
    } catch (err) {
      const taken = /EADDRINUSE|Address already in use|bind\(\)|exited before listening/.test(String((err as Error).message));
      if (!taken || attempt >= 4) throw err;
    }
  }
}
