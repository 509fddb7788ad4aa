import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BindingsCorruptError, checkBinding, type BindingStore, type Subject } from '../../src/oidc/bindings.js';
import { SignInRefused } from '../../src/oidc/errors.js';
import { BINDINGS_FILE, FileBindingStore } from '../../src/oidc/file-bindings.js';
import { BINDINGS_KEY, RedisBindingStore } from '../../src/oidc/redis-bindings.js';
import { createRedisClient } from '../../src/store/redis-client.js';
import { startRedis, type RedisProcess } from '../support/redis-server.js';

const A: Subject = { iss: 'https://a.example.com', sub: 'a-123', provider: 'a' };
const B: Subject = { iss: 'https://b.example.com', sub: 'b-456', provider: 'b' };
const A_OTHER: Subject = { iss: 'https://a.example.com', sub: 'a-999', provider: 'a' };
const NOW = 1_700_000_000_000;

interface StoreUnderTest {
  readonly store: BindingStore;
  /** A second, independent store over the same data (another process, another replica). */
  reopen(): Promise<BindingStore>;
}

/** What every BindingStore owes its callers, whatever the backend. */
function describeBindingStoreContract(name: string, make: () => Promise<StoreUnderTest>): void {
  describe(`${name} honours the BindingStore contract`, () => {
    let t: StoreUnderTest;
    beforeEach(async () => {
      t = await make();
    });
    afterEach(async () => {
      await t.store.close();
    });

    it('binds a free username to the first subject that claims it', async () => {
      expect(await t.store.bind('alice', A, NOW)).toEqual({ user: 'alice', ...A, created: NOW });
      expect(await t.store.list()).toEqual([{ user: 'alice', ...A, created: NOW }]);
    });

    it('answers a later claim with the binding in force, unchanged', async () => {
      await t.store.bind('alice', A, NOW);
      expect(await t.store.bind('alice', B, NOW + 1)).toEqual({ user: 'alice', ...A, created: NOW });
      expect(await t.store.bind('alice', A, NOW + 2)).toEqual({ user: 'alice', ...A, created: NOW });
    });

    it('lets exactly one of many concurrent claims win, and every claimant sees the winner', async () => {
      const subjects = Array.from({ length: 12 }, (_, i) => ({ iss: 'https://c.example.com', sub: `s${i}`, provider: 'c' }));
      const other = await t.reopen();
      try {
        const results = await Promise.all(subjects.map((s, i) => (i % 2 === 0 ? t.store : other).bind('carol', s, NOW + i)));
        const winners = new Set(results.map((r) => r.sub));
        expect(winners.size).toBe(1);
        expect((await t.store.list()).filter((b) => b.user === 'carol')).toEqual([results[0]]);
      } finally {
        await other.close();
      }
    });

    it('lists every binding ordered by username, as another store over the same data sees them', async () => {
      await t.store.bind('zoe', B, NOW);
      await t.store.bind('alice', A, NOW);
      await t.store.bind('bob', A_OTHER, NOW);
      const other = await t.reopen();
      try {
        expect((await other.list()).map((b) => b.user)).toEqual(['alice', 'bob', 'zoe']);
      } finally {
        await other.close();
      }
    });

    it('removes a binding, after which the next subject binds the name', async () => {
      await t.store.bind('alice', A, NOW);
      expect(await t.store.remove('alice')).toEqual({ user: 'alice', ...A, created: NOW });
      expect(await t.store.remove('alice')).toBeUndefined();
      expect(await t.store.bind('alice', B, NOW + 5)).toEqual({ user: 'alice', ...B, created: NOW + 5 });
    });

    it('keeps names apart that differ only in ways the username rules already normalised away', async () => {
      await t.store.bind('élodie', A, NOW);
      expect((await t.store.bind('élodie', B, NOW)).sub).toBe(A.sub);
      expect((await t.store.bind('elodie', B, NOW)).sub).toBe(B.sub);
    });
  });
}

describe('the binding decision', () => {
  const binding = { user: 'alice', ...A, created: NOW };
  it.each([
    ['the same issuer and sub', A, true],
    ['the same issuer and sub through another provider entry', { ...A, provider: 'a-strict' }, true],
    ['another sub at the same issuer', A_OTHER, false],
    ['the same sub at another issuer', { ...B, sub: A.sub }, false],
  ])('%s: %s', (_name, subject, allowed) => {
    if (allowed) expect(() => checkBinding(binding, 'alice', subject)).not.toThrow();
    else expect(() => checkBinding(binding, 'alice', subject)).toThrow(SignInRefused);
  });
});

let redis: RedisProcess;
let client: Redis;
const clients: Redis[] = [];
beforeAll(async () => {
  redis = await startRedis();
  client = await connected(redis.url);
});

/** A fail-fast client (as Postern builds it), once it is ready for commands. */
async function connected(url: string): Promise<Redis> {
  const c = createRedisClient(url, { commandTimeoutMs: 2000 });
  clients.push(c);
  if (c.status !== 'ready') await new Promise((resolve) => c.once('ready', resolve));
  return c;
}
afterAll(async () => {
  for (const c of clients) c.disconnect();
  await redis?.stop();
});

describeBindingStoreContract('RedisBindingStore', async () => {
  await client.del(BINDINGS_KEY);
  return {
    store: new RedisBindingStore(client),
    async reopen() {
      return new RedisBindingStore(await connected(redis.url));
    },
  };
});

describe('RedisBindingStore', () => {
  it('keeps bindings without a TTL', async () => {
    await client.del(BINDINGS_KEY);
    await new RedisBindingStore(client).bind('alice', A, NOW);
    expect(await client.ttl(BINDINGS_KEY)).toBe(-1);
  });

  it('refuses a stored value it cannot read, naming the field, and lets remove clear it', async () => {
    await client.del(BINDINGS_KEY);
    await client.hset(BINDINGS_KEY, 'alice', '{"user":"alice"');
    const store = new RedisBindingStore(client);
    await expect(store.check()).rejects.toThrow(new BindingsCorruptError(`redis hash ${BINDINGS_KEY} field 'alice' is not JSON: fix it, or remove it with 'postern oidc bindings remove alice'`));
    await expect(store.bind('alice', A, NOW)).rejects.toThrow(BindingsCorruptError);
    expect(await store.remove('alice')).toMatchObject({ user: 'alice' });
    expect((await store.bind('alice', A, NOW)).sub).toBe(A.sub);
  });
});

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'postern-bindings-'));
  dirs.push(dir);
  return dir;
}

describeBindingStoreContract('FileBindingStore', async () => {
  const path = join(tempDir(), 'data', BINDINGS_FILE);
  return { store: await FileBindingStore.open(path), reopen: () => FileBindingStore.open(path) };
});

describe('FileBindingStore', () => {
  it('writes the whole file, mode 0600, with no temp file left behind', async () => {
    const dir = tempDir();
    const path = join(dir, BINDINGS_FILE);
    const store = await FileBindingStore.open(path);
    expect(readdirSync(dir)).toEqual([]);
    await store.bind('alice', A, NOW);
    await store.bind('bob', B, NOW);
    expect(readdirSync(dir)).toEqual([BINDINGS_FILE]);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const lines = readFileSync(path, 'utf8').split('\n').filter((l) => l.startsWith('{'));
    expect(lines).toEqual([
      `{"user":"alice","iss":"${A.iss}","sub":"${A.sub}","provider":"a","created":${NOW}}`,
      `{"user":"bob","iss":"${B.iss}","sub":"${B.sub}","provider":"b","created":${NOW}}`,
    ]);
  });

  it.each([
    ['a truncated line', '{"user":"bob","iss":"x"', 'line 3 is not JSON'],
    ['a line without sub', '{"user":"bob","iss":"x","provider":"p","created":1}', "line 3 has no 'sub' text"],
    ['a second line for one username', `{"user":"alice","iss":"x","sub":"y","provider":"p","created":1}`, "line 3 binds 'alice' a second time (first at line 2)"],
  ])('refuses to open a file with %s, naming the path and the line, and leaves it as it was', async (_name, bad, message) => {
    const path = join(tempDir(), BINDINGS_FILE);
    const text = `# comment\n{"user":"alice","iss":"${A.iss}","sub":"${A.sub}","provider":"a","created":${NOW}}\n${bad}\n`;
    writeFileSync(path, text);
    await expect(FileBindingStore.open(path)).rejects.toThrow(`${path} ${message}`);
    await expect(FileBindingStore.open(path)).rejects.toBeInstanceOf(BindingsCorruptError);
    expect(readFileSync(path, 'utf8')).toBe(text);
  });
});
