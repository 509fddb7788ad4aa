import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IncomingHttpHeaders } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { EXAMPLES_DIR, readNginxAppExample } from '../support/examples.js';
import { TestClient } from '../support/http-client.js';
import { startNginx, type NginxProcess } from '../support/nginx.js';
import { runCli } from '../support/cli.js';
import { basic } from '../support/app-passwords.js';
import { startProxy, startStack, type Stack } from '../support/stack.js';
import { openWebSocket } from '../support/websocket.js';

const USERS = {
  alice: { password: 'correct horse battery', role: 'admin', groups: ['family', 'admins'] },
  vera: { password: 'viewer password one', role: 'viewer', groups: ['family'] },
  homeassistant: { password: 'an unused long password', role: 'viewer' },
};
const NVR = 'http://nvr.example.com';
const FRIGATE_PROXY_SECRET = '5b0f8c1e9d7a4e3f2a6c8b1d0e9f7a6c';

interface FrigateProxyConfig {
  header_map: { user: string; role: string; role_map: { admin: string[] } };
  separator: string;
  default_role: string;
  auth_secret: string;
}
const frigateConfig = parse(readFileSync(join(EXAMPLES_DIR, 'frigate/frigate-config.yml'), 'utf8')) as { auth: { enabled: boolean }; proxy: FrigateProxyConfig };

/**
 * What Frigate's `/auth` (frigate/api/auth.py, proxy mode) makes of the headers it received with the example's
 * config: the secret must match, the user comes from header_map.user, the role from header_map.role through role_map.
 */
function frigateIdentity(headers: IncomingHttpHeaders): { user: string; role: string } | 'refused' {
  const proxy = frigateConfig.proxy;
  const secret = proxy.auth_secret.replace('{FRIGATE_PROXY_SECRET}', FRIGATE_PROXY_SECRET);
  if (headers['x-proxy-secret'] !== secret) return 'refused';
  const user = String(headers[proxy.header_map.user.toLowerCase()] ?? '') || 'viewer';
  const groups = String(headers[proxy.header_map.role.toLowerCase()] ?? '').split(proxy.separator).map((g) => g.trim());
  const role = groups.some((g) => proxy.header_map.role_map.admin.includes(g)) ? 'admin' : proxy.default_role;
  return { user, role };
}

function frigateNginxFiles(ports: Stack['ports']): Record<string, string> {
  const template = readFileSync(join(EXAMPLES_DIR, 'frigate/frigate-proxy-secret.conf.template'), 'utf8');
  if (!template.includes('${FRIGATE_PROXY_SECRET}')) throw new Error('frigate-proxy-secret.conf.template no longer uses ${FRIGATE_PROXY_SECRET}');
  return {
    ...readNginxAppExample('frigate', ports),
    // What envsubst '$FRIGATE_PROXY_SECRET' (or the nginx image's templates) writes at start.
    'frigate-proxy-secret.conf': template.replaceAll('${FRIGATE_PROXY_SECRET}', FRIGATE_PROXY_SECRET),
  };
}


describe('Frigate behind nginx and Postern, from examples/frigate', () => {
  let stack: Stack;
  let nginx: NginxProcess;
  let haToken: string;
  const cookies: Record<string, string> = {};
  const client = () => new TestClient(stack.ports.proxy);
  const seenAt = (url: string) => stack.app.seen.filter((r) => r.url === url);

  async function signIn(user: 'alice' | 'vera'): Promise<string> {
    const browser = client();
    const start = await browser.get(`${NVR}/`);
    expect(start.status).toBe(302);
    const signedIn = await browser.submitForm(start.header('location')!, { username: user, password: USERS[user].password });
    expect(signedIn.status).toBe(303);
    return browser.jar.getCookieString(`${NVR}/`);
  }

  beforeAll(async () => {
    stack = await startStack('frigate/postern.yml', USERS);
    nginx = await startProxy(stack, (ports) => startNginx('include frigate.conf;', ports.proxy, frigateNginxFiles(ports)));
    // README "Apps and devices": a read-only app password of a viewer, for Home Assistant's Frigate integration.
    const created = await runCli(['--config', stack.postern.configFile, 'token', 'create', '--user', 'homeassistant', '--name', 'home assistant', '--hosts', 'nvr.example.com', '--read-only']);
    expect(created.code, created.stderr).toBe(0);
    haToken = /pst_\S+/.exec(created.stdout)![0];
    cookies.alice = await signIn('alice');
    cookies.vera = await signIn('vera');
    // Postern reloads the users file on change (fs.watch, else a 1 s poll).
    for (let i = 0; i < 50 && (await client().request(`${NVR}/api/version?ready`, { headers: { authorization: basic('homeassistant', haToken) } })).status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
  }, 30_000);
  afterAll(async () => {
    await nginx?.stop();
    await stack?.close();
  });

  it('uses no Frigate login and reads the secret from the environment, as the published config says', () => {
    expect(frigateConfig.auth.enabled).toBe(false);
    expect(frigateConfig.proxy.auth_secret).toBe('{FRIGATE_PROXY_SECRET}');
  });

  it('gives Frigate the signed-in admin as an admin, with its proxy secret, whatever the client claimed', async () => {
    const reply = await client().request(`${NVR}/api/config?admin`, {
      headers: { accept: 'application/json', cookie: cookies.alice!, 'remote-user': 'mallory', 'remote-groups': 'admins', 'x-proxy-secret': 'guessed' },
    });
    expect(reply.status).toBe(200);
    const seen = seenAt('/api/config?admin')[0]!.headers;
    expect(frigateIdentity(seen)).toEqual({ user: 'alice', role: 'admin' });
    expect(seen.cookie ?? '').not.toContain('postern_session');
    const save = await client().request(`${NVR}/api/config/save?admin`, { method: 'POST', body: '{}', headers: { accept: 'application/json', cookie: cookies.alice! } });
    expect(save.status).toBe(200);
  });

  it('lets a viewer watch but not change anything: POST gets 403 before Frigate', async () => {
    const watch = await client().request(`${NVR}/api/events?viewer`, { headers: { accept: 'application/json', cookie: cookies.vera!, 'remote-groups': 'admins' } });
    expect(watch.status).toBe(200);
    expect(frigateIdentity(seenAt('/api/events?viewer')[0]!.headers)).toEqual({ user: 'vera', role: 'viewer' });
    const change = await client().request(`${NVR}/api/config/save?viewer`, { method: 'POST', body: '{}', headers: { accept: 'application/json', cookie: cookies.vera! } });
    expect(change.status).toBe(403);
    expect(seenAt('/api/config/save?viewer')).toHaveLength(0);
  });

  it("lets Home Assistant's integration read with its read-only app password in the URL, never writes, and Frigate never sees the password", async () => {
    const read = await client().request(`${NVR}/api/stats?ha`, { headers: { accept: 'application/json', authorization: basic('homeassistant', haToken) } });
    expect(read.status).toBe(200);
    const seen = seenAt('/api/stats?ha')[0]!.headers;
    expect(frigateIdentity(seen)).toEqual({ user: 'homeassistant', role: 'viewer' });
    expect(seen['remote-auth']).toBe('token');
    expect(seen.authorization).toBeUndefined();
    expect(JSON.stringify(seen)).not.toContain('pst_');
    const write = await client().request(`${NVR}/api/events/front/person/create?ha`, { method: 'POST', body: '{}', headers: { accept: 'application/json', authorization: basic('homeassistant', haToken) } });
    expect(write.status).toBe(403);
    expect(seenAt('/api/events/front/person/create?ha')).toHaveLength(0);
  });

  it('refuses anonymous clients: the browser is sent to sign in, an API call and a live view get 401', async () => {
    const page = await client().get(`${NVR}/review`);
    expect(page.status).toBe(302);
    expect(page.header('location')).toMatch(/^http:\/\/auth\.example\.com\//);
    const api = await client().request(`${NVR}/api/events?anonymous`, { headers: { accept: 'application/json' } });
    expect(api.status).toBe(401);
    expect(api.header('location')).toBeUndefined();
    const live = await openWebSocket(stack.ports.proxy, `${NVR}/live/mse/api/ws?src=front&anonymous`);
    expect(live.kind).toBe('refused');
    expect(live.status).toBe(401);
    expect(stack.app.seen.filter((r) => r.url.endsWith('anonymous'))).toHaveLength(0);
  });

  it('upgrades the live view and the event WebSocket for a signed-in viewer and for the app password', async () => {
    for (const [path, headers, user] of [
      ['/live/mse/api/ws?src=front', { cookie: cookies.vera! }, 'vera'],
      ['/ws', { cookie: cookies.alice! }, 'alice'],
      ['/live/jsmpeg/front', { authorization: basic('homeassistant', haToken) }, 'homeassistant'],
    ] as const) {
      const ws = await openWebSocket(stack.ports.proxy, `${NVR}${path}`, headers);
      expect(ws.kind, path).toBe('open');
      if (ws.kind !== 'open') continue;
      try {
        expect(await ws.receive()).toBe(`hello ${user}`);
        ws.send('{"topic":"onConnect"}');
        expect(await ws.receive()).toBe('echo: {"topic":"onConnect"}');
      } finally {
        ws.close();
      }
      const seen = seenAt(path).at(-1)!.headers;
      expect(frigateIdentity(seen), path).not.toBe('refused');
      expect(JSON.stringify(seen)).not.toContain('pst_');
    }
  });
});
