import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOAD_BALANCER, readExampleTree } from '../support/examples.js';
import { TestClient, type Reply } from '../support/http-client.js';
import { startNginx, type NginxProcess } from '../support/nginx.js';
import { CLI } from '../support/postern-process.js';
import { startProxy, startStack, type Stack } from '../support/stack.js';

/**
 * Issue 11, through the real nginx example: after a storm of wrong guesses for alice from many
 * addresses, alice got 429 from the browser she had signed in with minutes before. Her earlier
 * browser now signs in at once while a new browser is still refused; her cookie is worth nothing
 * for anyone else's name.
 */

const run = promisify(execFile);
const LOGIN = 'http://auth.example.com/login';
const PASSWORDS = { alice: 'alice-password-1', bob: 'bob-password-1', carol: 'carol-password-1', dave: 'dave-password-1' } as const;
// A small per-user window so a storm fills it quickly; the per-address windows stay out of the way.
const ENV = { POSTERN_LOGIN_RATE_LIMIT: '100/minute', POSTERN_LOGIN_ACCOUNT_RATE_LIMIT: '5/minute', POSTERN_LOGIN_ACCOUNT_ADDRESS_RATE_LIMIT: '100/minute' };

let stack: Stack;
let nginx: NginxProcess;
/** Alice's browser, trusted in the first test. */
let alicesBrowser: TestClient;

beforeAll(async () => {
  stack = await startStack('nginx/postern.yml', { alice: { password: PASSWORDS.alice }, bob: { password: PASSWORDS.bob }, carol: { password: PASSWORDS.carol }, dave: { password: PASSWORDS.dave } }, ENV);
  nginx = await startProxy(stack, (ports) => startNginx('include postern.conf;', ports.proxy, readExampleTree('nginx', ports)));
});
afterAll(async () => {
  await nginx?.stop();
  await stack?.close();
});

function signIn(browser: TestClient, username: keyof typeof PASSWORDS): Promise<Reply> {
  return browser.submitForm(LOGIN, { username, password: PASSWORDS[username] });
}

/** Wrong guesses for `username` from many visitors behind the trusted load balancer, until the per-user window is full. */
async function storm(username: string): Promise<void> {
  const balancer = new TestClient(stack.ports.proxy, LOAD_BALANCER);
  for (let i = 1; i <= 5; i++) {
    const reply = await balancer.submitForm(LOGIN, { username, password: `guess-${i}` }).catch(() => undefined);
    expect(reply?.status).toBe(401);
  }
  // The same client, with a fresh X-Forwarded-For each time, as a botnet would be.
  const page = await balancer.get(LOGIN);
  const csrf = /name="csrf" value="([^"]+)"/.exec(page.body)![1]!;
  for (let i = 1; i <= 3; i++) {
    const reply = await balancer.request(LOGIN, {
      method: 'POST',
      headers: { accept: 'text/html', 'x-forwarded-for': `203.0.113.${i}` },
      body: new URLSearchParams({ csrf, username, password: `more-${i}` }),
    });
    expect(reply.status).toBe(429);
  }
}

/** The owner's browser: signed in earlier, signed out since, holding its device cookie. */
async function earlierBrowser(username: keyof typeof PASSWORDS, from: string): Promise<TestClient> {
  const browser = new TestClient(stack.ports.proxy, from);
  const reply = await signIn(browser, username);
  expect(reply.status).toBe(303);
  expect((reply.headers['set-cookie'] as string[]).some((c) => /^postern_session_device=[^;]+; path=\/login;/.test(c))).toBe(true);
  expect((await browser.get('http://auth.example.com/logout')).status).toBe(303);
  return browser;
}

describe('trusted devices through nginx', () => {
  it("the owner's earlier browser signs in at once during a storm, while a new browser is refused", async () => {
    const owner = await earlierBrowser('alice', '127.0.0.2');
    alicesBrowser = owner;
    await storm('alice');

    const stranger = await signIn(new TestClient(stack.ports.proxy, '127.0.0.3'), 'alice');
    expect(stranger.status).toBe(429);
    expect(Number(stranger.header('retry-after'))).toBeGreaterThan(0);

    const reply = await signIn(owner, 'alice');
    expect(reply.status).toBe(303);
    // Signed in for real: the protected app lets her through nginx.
    expect((await owner.get('http://app.example.com/')).status).toBe(200);
  });

  it("a device cookie stolen and used for another username gives nothing", async () => {
    await storm('bob');
    const cookie = /postern_session_device=[^;]+/.exec(await alicesBrowser.jar.getCookieString(LOGIN))![0];
    const thief = new TestClient(stack.ports.proxy, '127.0.0.6');
    await thief.jar.setCookie(`${cookie}; Path=/login`, LOGIN);
    expect((await signIn(thief, 'bob')).status).toBe(429);
    // Even with bob's right password: the cookie is alice's, and bob's window is full.
    expect((await thief.submitForm(LOGIN, { username: 'bob', password: PASSWORDS.bob })).status).toBe(429);
  });

  it('postern throttle clear --user ends the device trust of that user', async () => {
    const owner = await earlierBrowser('carol', '127.0.0.7');
    const cleared = await run(process.execPath, [CLI, '--config', stack.postern.configFile, 'throttle', 'clear', '--user', 'carol'], { env: { PATH: process.env.PATH, ...ENV } });
    expect(cleared.stdout).toMatch(/^Ended the trust of 1 device of carol\.$/m);
    await storm('carol');
    expect((await signIn(owner, 'carol')).status).toBe(429);
  });

  it('postern user disable ends the sessions and device trusts of that user: enabling the user again brings neither back', async () => {
    const owner = await earlierBrowser('dave', '127.0.0.8');
    const signedIn = new TestClient(stack.ports.proxy, '127.0.0.9');
    expect((await signIn(signedIn, 'dave')).status).toBe(303);
    expect((await signedIn.get('http://app.example.com/')).status).toBe(200);

    const cli = (...args: string[]) => run(process.execPath, [CLI, '--config', stack.postern.configFile, 'user', ...args], { env: { PATH: process.env.PATH, ...ENV } });
    await cli('disable', 'dave');
    await cli('enable', 'dave');

    // Every replica sees a revocation within one second (the read cache).
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const after = await signedIn.get('http://app.example.com/');
    expect(after.status).toBe(302);
    expect(after.headers.location).toMatch(/^http:\/\/auth\.example\.com\/login\?rd=/);
    await storm('dave');
    expect((await signIn(owner, 'dave')).status).toBe(429);
  });
});
