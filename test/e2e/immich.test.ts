import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readNginxAppExample } from '../support/examples.js';
import { TestClient } from '../support/http-client.js';
import { startNginx, type NginxProcess } from '../support/nginx.js';
import { runCli } from '../support/cli.js';
import { basic } from '../support/app-passwords.js';
import { startProxy, startStack, type Stack } from '../support/stack.js';
import { openWebSocket } from '../support/websocket.js';

const USERS = { alice: { password: 'correct horse battery', role: 'user', email: 'alice@example.com', name: 'Alice Liddell' } };
const PHOTOS = 'http://photos.example.com';
const SHARE = 'http://share.example.com';
/** What Immich's mobile app sends as its own session (it moved it out of Authorization in #6840). */
const IMMICH_SESSION = { 'x-immich-user-token': 'immich-session-0123456789' };



describe('Immich behind nginx and Postern, from examples/immich', () => {
  let stack: Stack;
  let nginx: NginxProcess;
  let phoneToken: string;
  let frameToken: string;
  const client = () => new TestClient(stack.ports.proxy);
  const seenAt = (url: string) => stack.app.seen.filter((r) => r.url === url);

  /** `postern token create`, as README "Apps and devices" says; returns the printed app password. */
  async function createToken(...args: string[]): Promise<string> {
    const created = await runCli(['--config', stack.postern.configFile, 'token', 'create', '--user', 'alice', ...args]);
    expect(created.code, created.stderr).toBe(0);
    const token = /pst_\S+/.exec(created.stdout)?.[0];
    expect(token).toBeDefined();
    return token!;
  }

  beforeAll(async () => {
    stack = await startStack('immich/postern.yml', USERS);
    nginx = await startProxy(stack, (ports) => startNginx('include immich.conf;', ports.proxy, readNginxAppExample('immich', ports)));
    phoneToken = await createToken('--name', 'immich phone', '--hosts', 'photos.example.com');
    frameToken = await createToken('--name', 'photo frame', '--hosts', 'photos.example.com', '--read-only');
    // Postern reloads the users file on change (fs.watch, else a 1 s poll).
    for (let i = 0; i < 50 && (await client().request(`${PHOTOS}/api/server/ping?ready`, { headers: { 'x-postern-token': frameToken } })).status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
  }, 30_000);
  afterAll(async () => {
    await nginx?.stop();
    await stack?.close();
  });

  it('sends an anonymous browser to sign in, answers an anonymous API call 401, and Immich sees neither', async () => {
    const page = await client().get(`${PHOTOS}/photos`);
    expect(page.status).toBe(302);
    expect(page.header('location')).toMatch(/^http:\/\/auth\.example\.com\//);
    const api = await client().request(`${PHOTOS}/api/users/me`, { headers: { accept: 'application/json', ...IMMICH_SESSION } });
    expect(api.status).toBe(401);
    expect(api.header('location')).toBeUndefined();
    expect(seenAt('/photos')).toHaveLength(0);
    expect(seenAt('/api/users/me')).toHaveLength(0);
  });

  it('lets the mobile app in with its app password in X-Postern-Token (custom proxy header); Immich gets its own token, not ours', async () => {
    const reply = await client().request(`${PHOTOS}/api/users/me?via=header`, {
      headers: { accept: 'application/json', 'x-postern-token': phoneToken, ...IMMICH_SESSION, 'remote-user': 'admin' },
    });
    expect(reply.status).toBe(200);
    const seen = seenAt('/api/users/me?via=header')[0]!.headers;
    expect(seen['remote-user']).toBe('alice');
    expect(seen['remote-email']).toBe('alice@example.com');
    expect(seen['remote-auth']).toBe('token');
    expect(seen['x-immich-user-token']).toBe(IMMICH_SESSION['x-immich-user-token']);
    expect(seen['x-postern-token']).toBeUndefined();
    expect(seen.authorization).toBeUndefined();
    expect(JSON.stringify(seen)).not.toContain('pst_');
  });

  it('lets the mobile app in with its app password in the server URL (Authorization: Basic); Immich never sees the Basic pair', async () => {
    const reply = await client().request(`${PHOTOS}/api/users/me?via=url`, {
      headers: { accept: 'application/json', authorization: basic('alice', phoneToken), ...IMMICH_SESSION },
    });
    expect(reply.status).toBe(200);
    const seen = seenAt('/api/users/me?via=url')[0]!.headers;
    expect(seen['remote-user']).toBe('alice');
    expect(seen['remote-auth']).toBe('token');
    expect(seen.authorization).toBeUndefined();
    expect(seen['x-immich-user-token']).toBe(IMMICH_SESSION['x-immich-user-token']);
    expect(JSON.stringify(seen)).not.toContain('pst_');
  });

  it('refuses a wrong app password with 401 and no redirect, and a Basic pair naming another user', async () => {
    const wrong = await client().request(`${PHOTOS}/api/users/me?wrong`, { headers: { accept: 'application/json', 'x-postern-token': `${phoneToken.slice(0, -3)}zzz` } });
    expect(wrong.status).toBe(401);
    expect(wrong.header('location')).toBeUndefined();
    const otherUser = await client().request(`${PHOTOS}/api/users/me?other`, { headers: { accept: 'application/json', authorization: basic('bob', phoneToken) } });
    expect(otherUser.status).toBe(401);
    expect(seenAt('/api/users/me?wrong')).toHaveLength(0);
    expect(seenAt('/api/users/me?other')).toHaveLength(0);
  });

  it('lets a read-only app password (a photo frame) look but not upload: POST gets 403 before Immich', async () => {
    const look = await client().request(`${PHOTOS}/api/assets/1/thumbnail`, { headers: { accept: 'image/*', 'x-postern-token': frameToken } });
    expect(look.status).toBe(200);
    const upload = await client().request(`${PHOTOS}/api/assets?frame`, { method: 'POST', body: 'photo', headers: { accept: 'application/json', 'x-postern-token': frameToken } });
    expect(upload.status).toBe(403);
    expect(stack.app.seen.filter((r) => r.url === '/api/assets?frame')).toHaveLength(0);
  });

  it('signs a browser in; Immich gets its identity and its own cookie, never postern_session', async () => {
    const browser = client();
    const start = await browser.get(`${PHOTOS}/photos`);
    const signedIn = await browser.submitForm(start.header('location')!, { username: 'alice', password: USERS.alice.password });
    expect(signedIn.status).toBe(303);
    const cookie = `${await browser.jar.getCookieString(`${PHOTOS}/`)}; immich_access_token=web-session`;
    const page = await browser.request(`${PHOTOS}/photos?browser`, { headers: { accept: 'text/html', cookie } });
    expect(page.status).toBe(200);
    const seen = seenAt('/photos?browser')[0]!.headers;
    expect(seen['remote-user']).toBe('alice');
    expect(seen['remote-auth']).toBe('session');
    expect(seen.cookie).toBe('immich_access_token=web-session');

    // Immich's live updates: socket.io over a WebSocket at /api/socket.io.
    const ws = await openWebSocket(stack.ports.proxy, `${PHOTOS}/api/socket.io/?EIO=4&transport=websocket&browser`, { cookie });
    expect(ws.kind).toBe('open');
    if (ws.kind !== 'open') return;
    try {
      expect(await ws.receive()).toBe('hello alice');
      ws.send('40');
      expect(await ws.receive()).toBe('echo: 40');
    } finally {
      ws.close();
    }
    expect(seenAt('/api/socket.io/?EIO=4&transport=websocket&browser')[0]!.headers.cookie).toBe('immich_access_token=web-session');
  });

  it("upgrades the mobile app's socket.io WebSocket with its app password, header or Basic, and refuses an anonymous one", async () => {
    for (const [how, headers] of [
      ['header', { 'x-postern-token': phoneToken, ...IMMICH_SESSION }],
      ['url', { authorization: basic('alice', phoneToken), ...IMMICH_SESSION }],
    ] as const) {
      const path = `/api/socket.io/?EIO=4&transport=websocket&${how}`;
      const ws = await openWebSocket(stack.ports.proxy, `${PHOTOS}${path}`, headers);
      expect(ws.kind, how).toBe('open');
      if (ws.kind === 'open') {
        expect(await ws.receive()).toBe('hello alice');
        ws.close();
      }
      const seen = seenAt(path)[0]!.headers;
      expect(seen['x-immich-user-token']).toBe(IMMICH_SESSION['x-immich-user-token']);
      expect(JSON.stringify(seen)).not.toContain('pst_');
    }
    const anonymous = await openWebSocket(stack.ports.proxy, `${PHOTOS}/api/socket.io/?EIO=4&transport=websocket&anonymous`, IMMICH_SESSION);
    expect(anonymous.kind).toBe('refused');
    expect(anonymous.status).toBe(401);
    expect(seenAt('/api/socket.io/?EIO=4&transport=websocket&anonymous')).toHaveLength(0);
  });

  it('serves shared links on the share host without a sign-in, and nothing else there', async () => {
    for (const path of ['/share/AbCdEf123', '/s/holiday-2026', '/_app/immutable/start.js', '/api/shared-links/me?key=AbCdEf123', '/api/assets/42/thumbnail?key=AbCdEf123', '/api/server/ping']) {
      const reply = await client().get(`${SHARE}${path}`);
      expect(reply.status, path).toBe(200);
      expect(seenAt(path), path).toHaveLength(1);
      expect(seenAt(path)[0]!.headers['remote-user'] ?? '', path).toBe('');
    }
    for (const path of ['/photos', '/api/users/me', '/api/admin/users']) {
      const reply = await client().get(`${SHARE}${path}?closed`);
      expect(reply.status, path).toBe(403);
      expect(seenAt(`${path}?closed`), path).toHaveLength(0);
    }
    // The library's app password does not open the share host's closed paths either.
    expect((await client().request(`${SHARE}/api/users/me?token`, { headers: { 'x-postern-token': phoneToken } })).status).toBe(403);
  });
});
