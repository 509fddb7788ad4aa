import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { compileAccess } from '../../src/access/schema.js';
import { buildApp, type AppDeps } from '../../src/app.js';
import { createLoginThrottle } from '../../src/auth/login-throttle.js';
import { createPasswordHasher, type PasswordHasher } from '../../src/auth/passwords.js';
import { UsersFile, writeUsersFileAtomic } from '../../src/auth/users-file.js';
import type { User } from '../../src/auth/user.js';
import type { UserFactors } from '../../src/factors/factors.js';
import { parseConfig } from '../../src/config/load.js';
import { createClientIpResolver } from '../../src/http/client-ip.js';
import { compileTrustedProxies } from '../../src/http/trusted-proxies.js';
import { createLogger } from '../../src/log/logger.js';
import { MemorySessionStore } from '../../src/store/memory-store.js';
import type { SessionStore } from '../../src/store/session-store.js';

/** Fast hashing parameters: tests check behaviour, not cost. */
export const FAST_ARGON2 = { memory_cost: 8192, time_cost: 1, parallelism: 1 };
export const fastHasher: PasswordHasher = createPasswordHasher({ argon2: FAST_ARGON2 });

export interface TestUser {
  password: string;
  role?: string;
  groups?: string[];
  email?: string;
  name?: string;
  disabled?: boolean;
  /** Second factors as the users file keeps them (test/support/factors.ts makes them). */
  factors?: UserFactors;
}

export interface AppFixture {
  readonly port: number;
  readonly deps: AppDeps;
  readonly usersFile: string;
  /** Parsed pino lines written so far. */
  readonly logs: Array<Record<string, unknown>>;
  /** The raw log text, to grep for secrets. */
  rawLog(): string;
  /** Rewrites the users file (atomically) and waits for the app to see it. */
  setUsers(users: Record<string, TestUser>): Promise<void>;
  close(): Promise<void>;
}

export async function buildUsers(users: Record<string, TestUser>): Promise<User[]> {
  return Promise.all(
    Object.entries(users).map(async ([username, u]) => ({
      username,
      password: await fastHasher.hash(u.password),
      role: u.role ?? 'user',
      groups: u.groups ?? [],
      email: u.email ?? '',
      name: u.name ?? '',
      disabled: u.disabled ?? false,
      ...(u.factors ? { factors: u.factors } : {}),
    })),
  );
}

/**
 * The real app on a loopback port, as main.ts builds it, with an in-memory store (or the one
 * given), fast hashing, and a log captured in memory.
 */
export async function startApp(
  config: Record<string, unknown>,
  users: Record<string, TestUser>,
  opts: {
    store?: SessionStore;
    now?: () => number;
    /** More deps (e.g. `oidc`), built from the fixture's own (parsed config, logger, clock). */
    extraDeps?: (base: AppDeps) => Partial<AppDeps>;
  } = {},
): Promise<AppFixture> {
  const dir = mkdtempSync(join(tmpdir(), 'postern-app-'));
  const usersFile = join(dir, 'users.yml');
  await writeUsersFileAtomic(usersFile, await buildUsers(users));
  writeFileSync(join(dir, '.keep'), '');
  const { config: cfg } = parseConfig({ data_dir: dir, users: { file: usersFile }, ...config }, {}, dir);

  let raw = '';
  const logs: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      raw += chunk.toString();
      for (const line of chunk.toString().split('\n')) if (line) logs.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  const logger = createLogger('debug', sink);
  const directory = await UsersFile.open(usersFile, { watch: false });
  const store = opts.store ?? new MemorySessionStore();
  const base: AppDeps = {
    config: cfg,
    secret: 'test-secret-test-secret-test-secret-0123',
    logger,
    users: directory,
    hasher: fastHasher,
    store,
    throttle: createLoginThrottle(cfg.login.throttle),
    access: compileAccess(cfg.access, cfg.session.domain),
    resolveClientIp: createClientIpResolver({ isTrusted: compileTrustedProxies(cfg.server.trusted_proxies), header: cfg.server.client_ip_header }),
    readiness: [{ name: 'session store', ready: () => store.ping() }],
    now: opts.now ?? Date.now,
  };
  const deps: AppDeps = opts.extraDeps ? { ...base, ...opts.extraDeps(base) } : base;
  const server: Server = createServer(buildApp(deps).callback());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    deps,
    usersFile,
    logs,
    rawLog: () => raw,
    async setUsers(next) {
      await writeUsersFileAtomic(usersFile, await buildUsers(next));
      await directory.reload();
    },
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      directory.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
