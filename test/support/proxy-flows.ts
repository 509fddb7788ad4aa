import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestClient, parseForm } from './http-client.js';
import { startProxy, startStack, type Stack } from './stack.js';
import type { ExamplePorts } from './examples.js';
import { join } from 'node:path';
import { editUsersFile } from '../../src/auth/users-file-writer.js';
import { generateToken } from '../../src/tokens/app-password.js';
import { runCli } from './cli.js';

export interface RunningProxy {
  stop(): Promise<void>;
}

export interface ProxyFlowSpec {
  /** The example's postern.yml, relative to examples/. */
  readonly posternYml: string;
  /** Starts the real proxy (or the Traefik double) from the example file on ports.proxy. */
  start(ports: ExamplePorts): Promise<RunningProxy>;
  /** What the browser gets for an anonymous POST: nginx's error_page makes it 302; Traefik and Caddy pass our 303. */
  readonly anonymousPostStatus: number;
  /** What the proxy answers when Postern is down. */
  readonly posternDownStatus: number;
  /** The example removes Postern's session cookie towards the app (nginx, Caddy; Traefik cannot without a plugin). */
  readonly stripsSessionCookie: boolean;
  /** What an app password from an address over its sign-in limit gets: 429 with Retry-After, or 401 where the proxy turns any other status into a 500 (nginx). */
  readonly throttledTokenStatus: 401 | 429;
}

const USERS = {
  alice: { password: 'correct horse battery', role: 'admin', groups: ['family', 'admins'], email: 'alice@example.com', name: 'Alice Liddell' },
  vera: { password: 'viewer password one', role: 'viewer', name: 'Vera Viewer' },
};
const NVR = 'http://nvr.example.com';
const ADMIN = 'http://admin.example.com';
const APP = 'http://app.example.com';
const AUTH = 'http://auth.example.com';
const SHARE = 'http://share.example.com';
/** Every identity header the examples protect, as a client would forge it (dash and underscore spellings). */
const IDENTITY = ['Remote-User', 'Remote-Role', 'Remote-Groups', 'Remote-Email', 'Remote-Name', 'Remote-Auth'];
const SPOOFED: Record<string, string> = {
  ...Object.fromEntries(IDENTITY.flatMap((h) => [[h, 'admin'], [h.replace('-', '_'), 'admin']])),
  'X-Forwarded-User': 'admin',
};

/** No part of what the app received carries an app password. */
function expectNoToken(headers: Record<string, unknown>) {
  expect(JSON.stringify(headers)).not.toMatch(/pst_/);
}

/**
 * The eight flows of the wiring issue (and the forbidden page), run against one proxy started from its published example.
 * Every request goes to the proxy's port; host names travel in the Host header.
 */
export function describeProxyFlows(name: string, spec: ProxyFlowSpec): void {
  describe(`${name} in front of Postern, from the published example`, () => {
    let stack: Stack;
    let proxy: RunningProxy;
    const browser = () => new TestClient(stack.ports.proxy);

    async function signIn(client: TestClient, rd: string, user: keyof typeof USERS = 'alice') {
      const start = await client.get(rd);
      expect(start.status).toBe(302);
      const login = start.header('location')!;
      const reply = await client.submitForm(login, { username: user, password: USERS[user].password });
      expect(reply.status).toBe(303);
      expect(reply.header('location')).toBe(rd);
      return reply;
    }

    function seenBy(path: string) {
      return stack.app.seen.filter((r) => r.url === path);
    }

    beforeAll(async () => {
      stack = await startStack(spec.posternYml, USERS);
      proxy = await startProxy(stack, (ports) => spec.start(ports));
    });
    afterAll(async () => {
      await proxy?.stop();
      await stack?.close();
    });

    it('1. sends an anonymous browser to the login page with rd = the original URL', async () => {
      const reply = await browser().get(`${APP}/photos/1?size=large`);
      expect(reply.status).toBe(302);
      expect(reply.header('location')).toBe(`${AUTH}/login?rd=${encodeURIComponent(`${APP}/photos/1?size=large`)}`);
      expect(seenBy('/photos/1?size=large')).toHaveLength(0);
      const page = await browser().get(reply.header('location')!);
      expect(page.status).toBe(200);
      expect(page.body).toContain('Sign in to continue to <strong>app.example.com</strong>.');
    });

    it('2. signs in through the form and lands on the original URL, where the app sees who it is', async () => {
      const client = browser();
      await signIn(client, `${APP}/welcome`);
      const page = await client.get(`${APP}/welcome`);
      expect(page.status).toBe(200);
      expect(page.body).toContain('Hello alice');
      const seen = seenBy('/welcome').at(-1)!;
      expect(seen.headers['remote-user']).toBe('alice');
      expect(seen.headers['remote-role']).toBe('admin');
      expect(seen.headers['remote-groups']).toBe('family,admins');
      expect(seen.headers['remote-email']).toBe('alice@example.com');
      expect(seen.headers['remote-name']).toBe('Alice Liddell');
    });

    it('3. never lets a client-sent identity reach the app, signed in or not', async () => {
      const anonymous = await browser().get(`${SHARE}/share/album-1`, SPOOFED);
      expect(anonymous.status).toBe(200);
      const shared = seenBy('/share/album-1').at(-1)!;
      for (const h of IDENTITY) {
        expect(shared.headers[h.toLowerCase()] ?? '', h).toBe('');
        expect(shared.headers[h.toLowerCase().replace('-', '_')], h).toBeUndefined();
      }
      expect(shared.headers['x-forwarded-user'] ?? '').toBe('');

      const client = browser();
      await signIn(client, `${APP}/mine`);
      const page = await client.get(`${APP}/mine`, SPOOFED);
      expect(page.status).toBe(200);
      const seen = seenBy('/mine').at(-1)!;
      expect(seen.headers['remote-user']).toBe('alice');
      expect(seen.headers['remote-groups']).toBe('family,admins');
      expect(seen.headers['remote-email']).toBe('alice@example.com');
      expect(seen.headers['remote-name']).toBe('Alice Liddell');
      expect(seen.headers['remote-auth']).toBe('session');
      for (const h of IDENTITY) expect(seen.headers[h.toLowerCase().replace('-', '_')], h).toBeUndefined();
      expect(seen.headers['x-forwarded-user'] ?? '').toBe('');
    });

    it('10. lets an app password in however presented, and the app never sees it', async () => {
      const { token, id, hash } = generateToken();
      await editUsersFile(join(stack.postern.dir, 'data', 'users.yml'), (file) =>
        file.addAppPassword('alice', { id, name: 'phone', hash, created: Date.now(), readOnly: false }),
      );
      const basic = `Basic ${Buffer.from(`alice:${token}`).toString('base64')}`;
      const ways: Array<[string, Record<string, string>]> = [
        ['bearer', { authorization: `Bearer ${token}` }],
        ['basic', { authorization: basic }],
        ['header', { 'x-postern-token': token }],
      ];
      // The users file is reloaded on change (fs.watch, else a 1 s poll).
      for (let i = 0; i < 50 && (await browser().request(`${APP}/token-ready`, { headers: ways[0]![1] })).status !== 200; i++) await new Promise((r) => setTimeout(r, 100));
      for (const [how, headers] of ways) {
        const reply = await browser().request(`${APP}/api/by-${how}`, { headers: { accept: 'application/json', ...headers, ...SPOOFED } });
        expect(reply.status, how).toBe(200);
        const seen = seenBy(`/api/by-${how}`).at(-1)!;
        expect(seen.headers['remote-user'], how).toBe('alice');
        expect(seen.headers['remote-auth'], how).toBe('token');
        expect(seen.headers['authorization'] ?? '', how).toBe('');
        expect(seen.headers['x-postern-token'], how).toBeUndefined();
        expectNoToken(seen.headers);
      }
      const bad = await browser().request(`${APP}/api/bad-token`, { headers: { accept: 'text/html', authorization: `Bearer ${token.slice(0, -2)}zz` } });
      expect(bad.status).toBe(401);
      expect(bad.header('location')).toBeUndefined();
      expect(seenBy('/api/bad-token')).toHaveLength(0);
      // The use was recorded in Redis, where `postern token list` finds it (never the secret).
      const listed = await runCli(['--config', stack.postern.configFile, 'token', 'list', '--user', 'alice']);
      expect(listed.code).toBe(0);
      expect(listed.stdout).toMatch(new RegExp(`^${id}\\s+alice\\s+phone\\s.*\\s\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ$`, 'm'));
      expect(listed.stdout).not.toContain(token.slice(13));
      // On a public path the token is not checked, and still not passed on.
      expect((await browser().request(`${SHARE}/share/with-token`, { headers: { 'x-postern-token': token, authorization: `Bearer ${token}` } })).status).toBe(200);
      expectNoToken(seenBy('/share/with-token').at(-1)!.headers);
    });

    it(`11. passes a signed-in browser's own Authorization to the app${spec.stripsSessionCookie ? ', and never the session cookie' : ''}`, async () => {
      const client = browser();
      await signIn(client, `${APP}/own-auth`);
      await client.jar.setCookie('theme=dark; Domain=example.com; Path=/', APP);
      const page = await client.request(`${APP}/own-auth`, { headers: { authorization: 'Bearer immich-session-token' } });
      expect(page.status).toBe(200);
      const seen = seenBy('/own-auth').at(-1)!;
      expect(seen.headers['remote-user']).toBe('alice');
      expect(seen.headers['authorization']).toBe('Bearer immich-session-token');
      expect(seen.headers['cookie']).toContain('theme=dark');
      if (spec.stripsSessionCookie) expect(seen.headers['cookie']).not.toContain('postern_session');
      // A long one too: apps' JWTs run to several KB, and Postern echoes the value in its reply.
      const jwt = `Bearer eyJ${'a'.repeat(6000)}`;
      const long = await client.request(`${APP}/own-long-auth`, { headers: { authorization: jwt } });
      expect(long.status).toBe(200);
      expect(seenBy('/own-long-auth').at(-1)!.headers['authorization']).toBe(jwt);
    });

    it('4. answers an anonymous XHR or JSON client with 401 and no redirect', async () => {
      const clients: Array<Record<string, string>> = [{ accept: 'application/json' }, { accept: 'text/html', 'x-requested-with': 'XMLHttpRequest' }];
      for (const headers of clients) {
        const reply = await browser().request(`${APP}/api/items`, { headers });
        expect(reply.status).toBe(401);
        expect(reply.header('location')).toBeUndefined();
      }
      expect(seenBy('/api/items')).toHaveLength(0);
    });

    it(`5. redirects an anonymous POST to the login page with ${spec.anonymousPostStatus}`, async () => {
      const reply = await browser().request(`${APP}/upload`, { method: 'POST', headers: { accept: 'text/html' }, body: 'x=1' });
      expect(reply.status).toBe(spec.anonymousPostStatus);
      expect(reply.header('location')).toBe(`${AUTH}/login?rd=${encodeURIComponent(`${APP}/upload`)}`);
      expect(seenBy('/upload')).toHaveLength(0);
    });

    it('6. after logout the next request is sent to the login page again', async () => {
      const client = browser();
      await signIn(client, `${APP}/before-logout`);
      expect((await client.get(`${APP}/before-logout`)).status).toBe(200);
      const home = await client.get(`${AUTH}/`);
      expect(home.body).toContain('<dd>alice</dd>');
      const out = await client.submitForm(`${AUTH}/`, {});
      expect(out.status).toBe(303);
      const after = await client.get(`${APP}/after-logout`);
      expect(after.status).toBe(302);
      expect(after.header('location')).toMatch(/^http:\/\/auth\.example\.com\/login\?rd=/);
      expect(seenBy('/after-logout')).toHaveLength(0);
    });

    it('7. on the share-only host, share paths pass without sign-in and everything else is 403', async () => {
      expect((await browser().get(`${SHARE}/share/abc`)).status).toBe(200);
      expect(seenBy('/share/abc')).toHaveLength(1);
      for (const path of ['/', '/admin', '/share/../admin', '/share/%2e%2e/admin', '/SHARE/abc', '/share%2fabc']) {
        const reply = await browser().get(`${SHARE}${path}`);
        expect(reply.status, path).toBe(403);
      }
      expect(stack.app.seen.filter((r) => r.url.includes('admin'))).toHaveLength(0);
      const client = browser();
      await signIn(client, `${APP}/x`);
      expect((await client.get(`${SHARE}/admin`)).status).toBe(403);
    });

    it('8. when Postern is down, the proxy answers an error and the app is never reached', async () => {
      const client = browser();
      await signIn(client, `${APP}/while-up`);
      await stack.postern.stop();
      try {
        for (const url of [`${APP}/while-down`, `${SHARE}/share/while-down`]) {
          const reply = await client.get(url);
          expect(reply.status).toBe(spec.posternDownStatus);
        }
        expect(stack.app.seen.filter((r) => r.url.includes('while-down'))).toHaveLength(0);
      } finally {
        await stack.postern.start();
      }
    });

    it('9. shows a signed-in user who is not allowed Postern\'s page: who, why in words, switch user, home', async () => {
      const client = browser();
      await signIn(client, `${NVR}/live`, 'vera');
      expect((await client.get(`${NVR}/live`)).status).toBe(200);

      const write = await client.request(`${NVR}/settings`, { method: 'POST', headers: { accept: 'text/html' }, body: 'x=1' });
      expect(write.status).toBe(403);
      expect(write.header('content-type')).toBe('text/html; charset=utf-8');
      expect(write.body).toContain('You are signed in as <strong>Vera Viewer</strong> (vera), role <strong>viewer</strong>.');
      expect(write.body).toContain('not change anything there (a POST request was refused)');
      expect(write.body).toContain('<a href="http://auth.example.com/">');

      const admin = await client.get(`${ADMIN}/panel`);
      expect(admin.status).toBe(403);
      expect(admin.body).toContain('your account is not one of them');
      const api = await client.request(`${ADMIN}/api`, { headers: { accept: 'application/json' } });
      expect(api.status).toBe(403);
      expect(api.body).not.toContain('<html');
      expect(stack.app.seen.filter((r) => r.url === '/settings' || r.url === '/panel' || r.url === '/api')).toHaveLength(0);

      // "Sign in as someone else": ends the session and goes back to the page, which asks for a sign-in.
      const form = parseForm(admin.body);
      expect(form.action).toBe('http://auth.example.com/forbidden');
      const out = await client.request(form.action, { method: 'POST', body: new URLSearchParams(form.fields), headers: { accept: 'text/html' } });
      expect(out.status).toBe(303);
      expect(out.header('location')).toBe(`${ADMIN}/panel`);
      const again = await client.get(`${ADMIN}/panel`);
      expect(again.status).toBe(302);
      expect(again.header('location')).toBe(`${AUTH}/login?rd=${encodeURIComponent(`${ADMIN}/panel`)}`);
    });

    it(`12. refuses app passwords from an address over its sign-in limit with ${spec.throttledTokenStatus}, never a redirect, until the operator clears it`, async () => {
      const { token, id, hash } = generateToken();
      await editUsersFile(join(stack.postern.dir, 'data', 'users.yml'), (file) =>
        file.addAppPassword('alice', { id, name: 'laptop', hash, created: Date.now(), readOnly: false }),
      );
      const withToken = (value: string) => ({ headers: { accept: 'application/json', authorization: `Bearer ${value}` } });
      for (let i = 0; i < 50 && (await browser().request(`${APP}/throttle-ready`, withToken(token))).status !== 200; i++) await new Promise((r) => setTimeout(r, 100));
      // Every request reaches Postern from the proxy's client, 127.0.0.1: its limit is 10 failures a minute.
      const guesses: number[] = [];
      for (let i = 0; i < 12; i++) guesses.push((await browser().request(`${APP}/api/guess`, withToken(generateToken().token))).status);
      expect(new Set(guesses)).toEqual(new Set(spec.throttledTokenStatus === 401 ? [401] : [401, 429]));
      const refused = await browser().request(`${APP}/api/throttled`, withToken(token));
      expect(refused.status).toBe(spec.throttledTokenStatus);
      expect(refused.header('location')).toBeUndefined();
      if (spec.throttledTokenStatus === 429) expect(Number(refused.header('retry-after'))).toBeGreaterThan(0);
      expect(seenBy('/api/guess')).toHaveLength(0);
      expect(seenBy('/api/throttled')).toHaveLength(0);

      const cleared = await runCli(['--config', stack.postern.configFile, 'throttle', 'clear', '--ip', '127.0.0.1']);
      expect(cleared.code).toBe(0);
      // Within a moment: on a loaded machine a slow Redis reply is answered from this process's copy of the counters.
      let after = 0;
      for (let i = 0; i < 30 && (after = (await browser().request(`${APP}/api/throttled`, withToken(token))).status) !== 200; i++) await new Promise((r) => setTimeout(r, 100));
      expect(after).toBe(200);
    });
  });
}
