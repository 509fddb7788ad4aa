import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOAD_BALANCER, readExampleTree } from '../support/examples.js';
import { TestClient } from '../support/http-client.js';
import { startNginx, type NginxProcess } from '../support/nginx.js';
import { CLI, startPostern, type PosternProcess } from '../support/postern-process.js';
import { startProxy, startStack, type Stack } from '../support/stack.js';
import { waitFor } from '../support/wait.js';
import { readFileSync } from 'node:fs';

const run = promisify(execFile);
const LOGIN = 'http://auth.example.com/login';
const PASSWORD = 'correct horse battery';
// A small per-address budget so the test reaches it quickly; the per-user limits stay out of the way.
const ENV = { POSTERN_LOGIN_RATE_LIMIT: '3/minute', POSTERN_LOGIN_ACCOUNT_RATE_LIMIT: '100/minute', POSTERN_LOGIN_ACCOUNT_ADDRESS_RATE_LIMIT: '100/minute' };

let stack: Stack;
let nginx: NginxProcess;

beforeAll(async () => {
  stack = await startStack('nginx/postern.yml', { alice: { password: PASSWORD } }, ENV);
  nginx = await startProxy(stack, (ports) => startNginx('include postern.conf;', ports.proxy, readExampleTree('nginx', ports)));
});
afterAll(async () => {
  await nginx?.stop();
  await stack?.close();
});

async function fail(client: TestClient, headers: Record<string, string> = {}) {
  const page = await client.get(LOGIN, headers);
  const csrf = /name="csrf" value="([^"]+)"/.exec(page.body)![1]!;
  return client.request(LOGIN, { method: 'POST', headers: { accept: 'text/html', ...headers }, body: new URLSearchParams({ csrf, username: 'alice', password: 'wrong' }) });
}

function cli(args: string[]) {
  return run(process.execPath, [CLI, '--config', stack.postern.configFile, ...args], { env: { PATH: process.env.PATH, ...ENV } });
}

describe('login throttling through nginx, keyed on the real client address', () => {
  it('limits a client that rotates X-Forwarded-For, answers 429 with Retry-After, and says when to try again', async () => {
    const client = new TestClient(stack.ports.proxy);
    for (let i = 0; i < 3; i++) expect((await fail(client, { 'x-forwarded-for': `198.51.100.${i + 1}` })).status).toBe(401);
    const blocked = await fail(client, { 'x-forwarded-for': '198.51.100.99' });
    expect(blocked.status).toBe(429);
    expect(Number(blocked.header('retry-after'))).toBeGreaterThan(0);
    expect(Number(blocked.header('retry-after'))).toBeLessThanOrEqual(60);
    expect(blocked.body).toMatch(/Try again in \d+ (seconds?|minute)\./);
    // Even the right password waits: the check comes before any hashing.
    const right = await client.submitForm(LOGIN, { username: 'alice', password: PASSWORD });
    expect(right.status).toBe(429);
    const audit = stack.postern.logLines().filter((l) => l.event === 'login.failure');
    expect(new Set(audit.map((l) => l.client))).toEqual(new Set(['127.0.0.1']));
  });

  it('keys a visitor behind the load balancer on the visitor, not the balancer and not a spoofed entry', async () => {
    // The test client plays the load balancer: it connects from its address and appends the visitor.
    const balancer = new TestClient(stack.ports.proxy, LOAD_BALANCER);
    const reply = await fail(balancer, { 'x-forwarded-for': '6.6.6.6, 198.51.100.23' });
    expect(reply.status).toBe(401);
    // Log lines reach the pipe a moment after the reply.
    const failureFrom = (client: string) => () => stack.postern.logLines().some((l) => l.event === 'login.failure' && l.client === client);
    await waitFor(failureFrom('198.51.100.23'), { what: 'a failure keyed on the visitor' });
    // The same header from anyone else is ignored: nginx keys that client on its own address.
    const other = new TestClient(stack.ports.proxy, '127.0.0.3');
    await fail(other, { 'x-forwarded-for': '6.6.6.6, 198.51.100.23' });
    await waitFor(failureFrom('127.0.0.3'), { what: 'a failure keyed on the other client' });
    expect(stack.postern.output.join('\n')).not.toContain('6.6.6.6');
  });

  it('keeps the limit across a Postern restart and shares it with a second Postern on the same Redis', async () => {
    await stack.postern.stop();
    await stack.postern.start();
    const client = new TestClient(stack.ports.proxy);
    expect((await fail(client)).status).toBe(429);

    let second: PosternProcess | undefined;
    try {
      second = await startPostern(readFileSync(stack.postern.configFile, 'utf8'), {
        env: { ...ENV, POSTERN_DATA_DIR: `${stack.postern.dir}/data`, POSTERN_USERS_ARGON2_MEMORY_COST: '8192', POSTERN_USERS_ARGON2_TIME_COST: '1' },
      });
      const direct = new TestClient(second.port);
      const reply = await fail(direct, { 'x-forwarded-for': '127.0.0.1' });
      expect(reply.status).toBe(429);
    } finally {
      await second?.cleanup();
    }
  });

  it('lists and clears the counters with the CLI, after which the owner signs in', async () => {
    const list = await cli(['throttle', 'list']);
    expect(list.stdout).toMatch(/^ip\s+127\.0\.0\.1\s+\d+\s+\d+s$/m);
    const clear = await cli(['throttle', 'clear', '--ip', '127.0.0.1']);
    expect(clear.stdout).toMatch(/^Cleared \d+ counters?\.$/m);
    const client = new TestClient(stack.ports.proxy);
    expect((await client.submitForm(LOGIN, { username: 'alice', password: PASSWORD })).status).toBe(303);
  });

  it('keeps limiting in memory while Redis is down, and says so once in the log', async () => {
    const client = new TestClient(stack.ports.proxy);
    for (let i = 0; i < 3; i++) expect((await fail(client)).status).toBe(401);
    // A valid form token, fetched while Redis is up (the token itself needs no Redis).
    const csrf = /name="csrf" value="([^"]+)"/.exec((await client.get(LOGIN)).body)![1]!;
    await stack.redis.stop();
    try {
      for (let i = 0; i < 2; i++) {
        const reply = await client.request(LOGIN, { method: 'POST', headers: { accept: 'text/html' }, body: new URLSearchParams({ csrf, username: 'alice', password: 'wrong' }) });
        expect(reply.status).toBe(429);
      }
      const saying = () => stack.postern.output.filter((l) => l.includes('login throttle cannot reach redis'));
      // The log line may reach the pipe a moment after the reply.
      await waitFor(() => saying().length > 0, { what: 'the throttle to log the Redis failure' });
      expect(saying()).toHaveLength(1);
    } finally {
      await stack.redis.start();
    }
  });
});
