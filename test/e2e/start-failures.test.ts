/**
 * A start that fails ends the process (issue #18, item 1): whatever else was already open (a Redis
 * client reconnecting, the users-file watcher, an OIDC provider's retry timer), `postern serve`
 * exits non-zero within 5 s with one line on stderr saying what went wrong and what to do. Before
 * the fix, with `session.redis.url` set, a port already in use printed `listen EADDRINUSE` and the
 * process kept running, serving nothing.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it, type ExpectStatic } from 'vitest';
import { stringify } from 'yaml';
import { freePort } from '../support/free-port.js';
import { runToExit, type ExitedProcess } from '../support/postern-process.js';
import { startRedis, type RedisProcess } from '../support/redis-server.js';

const EXIT_WITHIN_MS = 5_000;
/**
 * On a loaded two-core machine starting Node alone can take seconds, so the 5 s are counted from the
 * moment the process says why it cannot start (the bug was a process that never exited after that);
 * the whole run is bounded by runToExit's timeout.
 */
function expectPromptExit(run: ExitedProcess, expect: ExpectStatic): void {
  expect(run.msAfterStderr).toBeDefined();
  expect(run.msAfterStderr!).toBeLessThan(EXIT_WITHIN_MS);
}

let redis: RedisProcess;
let root: string;
let taken: net.Server;
let takenPort: number;
/** Nothing listens here: a provider or a Redis that is down. */
let nothingPort: number;

beforeAll(async () => {
  redis = await startRedis();
  root = mkdtempSync(join(tmpdir(), 'postern-start-'));
  // A port held by another program for the whole file.
  takenPort = await freePort();
  taken = net.createServer();
  await new Promise<void>((resolve) => taken.listen(takenPort, '127.0.0.1', resolve));
  nothingPort = await freePort();
});
afterAll(async () => {
  await new Promise((resolve) => taken?.close(resolve));
  await redis?.stop();
  rmSync(root, { recursive: true, force: true });
});

type Extra = 'memory' | 'redis' | 'redis down' | 'redis+oidc';
type Section = Record<string, unknown>;

/**
 * The config for a variant: memory sessions, a running Redis, a Redis that is down (the client keeps
 * reconnecting), or Redis plus an OIDC provider that is down (its retry timer runs); `change` adjusts
 * the sections a test is about.
 */
function config(extra: Extra, change: { session?: Section; users?: Section } = {}): string {
  const doc: Record<string, unknown> = {
    server: { public_url: 'http://auth.example.com', address: '127.0.0.1' },
    session: { domain: 'example.com', ...(extra === 'memory' ? {} : { redis: { url: extra === 'redis down' ? `redis://127.0.0.1:${nothingPort}/0` : redis.url } }), ...change.session },
    users: { argon2: { memory_cost: 8192, time_cost: 1, parallelism: 1 }, ...change.users },
  };
  if (extra === 'redis+oidc') {
    doc.oidc = { providers: [{ id: 'home', issuer_url: `http://127.0.0.1:${nothingPort}`, client_id: 'postern', client_secret: 'client-secret-0123456789' }] };
  }
  return stringify(doc);
}

let dirCount = 0;
/** A directory of its own with `config` as postern.yml (and `prepare` run in it), then `postern serve` there. */
async function serveIn(text: string, opts: { port?: number; prepare?: (dir: string) => void } = {}) {
  const dir = join(root, `run-${++dirCount}`);
  mkdirSync(dir);
  opts.prepare?.(dir);
  writeFileSync(join(dir, 'postern.yml'), text);
  const port = opts.port ?? (await freePort());
  const result = await runToExit(['--config', join(dir, 'postern.yml'), 'serve'], { cwd: dir, env: { POSTERN_SERVER_PORT: String(port) }, timeoutMs: 20_000 });
  return { ...result, dir, port };
}

// One after another: a process start is what is timed, and ten at once on two cores would time the machine.
describe.for<Extra>(['memory', 'redis', 'redis down', 'redis+oidc'])('postern serve that cannot start (%s)', (extra) => {
  it('a port already in use: exit 1 within 5 s, one line naming the address and server.port', async ({ expect }) => {
    const run = await serveIn(config(extra), { port: takenPort });
    expect(run.code).toBe(1);
    expect(run.signal).toBe(null);
    expectPromptExit(run, expect);
    expect(run.stderr).toBe(
      `postern: cannot listen on 127.0.0.1:${takenPort}: the port is already in use by another process; stop that process, or set server.port (POSTERN_SERVER_PORT) to a free port\n`,
    );
    expect(run.stdout).not.toContain('"event":"listening"');
  });

  // The other failures come before anything is opened; with Redis configured they must end the process all the same.
  if (extra === 'redis down' || extra === 'redis+oidc') return;

  it('a users file that cannot be read (a directory): exit 1 within 5 s, one line naming the file and users.file', async ({ expect }) => {
    const run = await serveIn(config(extra, { users: { file: './users-dir' } }), { prepare: (dir) => mkdirSync(join(dir, 'users-dir')) });
    expect(run.code).toBe(1);
    expectPromptExit(run, expect);
    expect(run.stderr).toBe(
      `postern: cannot read users file ${join(run.dir, 'users-dir')}: EISDIR: illegal operation on a directory, read; make users.file a file the user running Postern can read\n`,
    );
  });

  it('a session secret file that cannot be read (<data_dir>/session.secret is a directory): exit 1 within 5 s, one line', async ({ expect }) => {
    const run = await serveIn(config(extra), { prepare: (dir) => mkdirSync(join(dir, 'data', 'session.secret'), { recursive: true }) });
    expect(run.code).toBe(1);
    expectPromptExit(run, expect);
    expect(run.stderr).toBe(
      `postern: cannot read the session secret ${join(run.dir, 'data', 'session.secret')} (EISDIR); make it a file the user running Postern can read, or set session.secret\n`,
    );
  });

  it('a session.secret_file that cannot be read: exit 2 within 5 s, one line naming the key and the file', async ({ expect }) => {
    const run = await serveIn(config(extra, { session: { secret_file: './missing-secret' } }));
    expect(run.code).toBe(2);
    expectPromptExit(run, expect);
    expect(run.stderr).toBe(`postern: cannot start: the configuration has a problem: session.secret_file cannot be read: '${join(run.dir, 'missing-secret')}' (ENOENT)\n`);
  });
});

describe('postern serve with a malformed Redis URL', () => {
  it.for(['redis://127.0.0.1:6379/abc', 'redis://[::1', 'http://127.0.0.1:6379'])('%s: exit 2 within 5 s, one line naming session.redis.url, never its value', async (url, { expect }) => {
    const run = await serveIn(config('memory', { session: { redis: { url } } }));
    expect(run.code).toBe(2);
    expectPromptExit(run, expect);
    expect(run.stderr).toBe('postern: cannot start: the configuration has a problem: session.redis.url must be a redis:// or rediss:// URL, got <hidden>\n');
  });
});
