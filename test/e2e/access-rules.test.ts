import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCaddy } from '../support/caddy.js';
import { HOME_CLIENT, readExample, readExampleTree, substitute, type ExamplePorts } from '../support/examples.js';
import { TestClient } from '../support/http-client.js';
import { startNginx } from '../support/nginx.js';
import { startProxy, startStack, type Stack } from '../support/stack.js';
import { startTraefikDouble } from '../support/traefik-double.js';
import { traefikConfigFromExample } from '../support/traefik-example.js';

const USERS = {
  alice: { password: 'alice password 1', role: 'admin' },
  victor: { password: 'victor password 1', role: 'viewer', groups: ['family'] },
};

const proxies = {
  nginx: {
    posternYml: 'nginx/postern.yml',
    async start(ports: ExamplePorts) {
      const nginx = await startNginx('include postern.conf;', ports.proxy, readExampleTree('nginx', ports));
      return () => nginx.stop();
    },
  },
  caddy: {
    posternYml: 'caddy/postern.yml',
    async start(ports: ExamplePorts) {
      const caddy = await startCaddy(substitute(readExample('caddy/Caddyfile'), ports), ports.proxy);
      return () => caddy.stop();
    },
  },
  'the Traefik double': {
    posternYml: 'traefik/postern.yml',
    async start(ports: ExamplePorts) {
      const config = traefikConfigFromExample(substitute(readExample('traefik/traefik.yml'), ports), substitute(readExample('traefik/dynamic.yml'), ports));
      const traefik = await startTraefikDouble(config, { port: ports.proxy });
      return () => traefik.close();
    },
  },
};

describe.each(Object.entries(proxies))('the example access rules through %s', (_name, proxy) => {
  let stack: Stack;
  let stop: () => Promise<void>;

  beforeAll(async () => {
    stack = await startStack(proxy.posternYml, USERS);
    stop = await startProxy(stack, (ports) => proxy.start(ports));
  });
  afterAll(async () => {
    await stop?.();
    await stack?.close();
  });

  async function signedIn(user: keyof typeof USERS): Promise<TestClient> {
    const client = new TestClient(stack.ports.proxy);
    const reply = await client.submitForm('http://auth.example.com/login', { username: user, password: USERS[user].password });
    expect(reply.status).toBe(303);
    return client;
  }

  it('lets a viewer watch the NVR (GET, HEAD) but refuses a POST with 403 before it reaches the app', async () => {
    const victor = await signedIn('victor');
    const watch = await victor.get('http://nvr.example.com/live/1');
    expect(watch.status).toBe(200);
    expect(stack.app.seen.filter((r) => r.url === '/live/1').at(-1)?.headers['remote-role']).toBe('viewer');
    expect((await victor.request('http://nvr.example.com/live/1', { method: 'HEAD' })).status).toBe(200);
    const change = await victor.request('http://nvr.example.com/settings', { method: 'POST', headers: { accept: 'text/html' }, body: 'motion=off' });
    expect(change.status).toBe(403);
    expect(stack.app.seen.filter((r) => r.url === '/settings')).toHaveLength(0);
  });

  it('lets an admin change NVR settings', async () => {
    const alice = await signedIn('alice');
    const change = await alice.request('http://nvr.example.com/settings', { method: 'POST', headers: { accept: 'text/html' }, body: 'motion=on' });
    expect(change.status).toBe(200);
  });

  it('keeps the admin host to role admin: 403 for a viewer, 200 for an admin, a sign-in redirect for a stranger', async () => {
    expect((await (await signedIn('victor')).get('http://admin.example.com/')).status).toBe(403);
    expect((await (await signedIn('alice')).get('http://admin.example.com/')).status).toBe(200);
    const stranger = await new TestClient(stack.ports.proxy).get('http://admin.example.com/');
    expect(stranger.status).toBe(302);
  });

  it('lets a phone on the home network use the app without signing in, with empty identity headers', async () => {
    const phone = new TestClient(stack.ports.proxy, HOME_CLIENT);
    const reply = await phone.get('http://app.example.com/from-home');
    expect(reply.status).toBe(200);
    const seen = stack.app.seen.filter((r) => r.url === '/from-home').at(-1)!;
    expect(seen.headers['remote-user'] ?? '').toBe('');
    // The bypass is for the app only: the NVR still asks for a sign-in.
    expect((await phone.get('http://nvr.example.com/')).status).toBe(302);
  });

  it('does not give the home-network bypass to an outsider who claims a home address in X-Forwarded-For', async () => {
    const outsider = new TestClient(stack.ports.proxy, '127.0.0.3');
    for (const claim of [HOME_CLIENT, `${HOME_CLIENT}, 127.0.0.1`, `for=${HOME_CLIENT}`]) {
      const reply = await outsider.get('http://app.example.com/spoofed', { 'x-forwarded-for': claim, 'x-real-ip': HOME_CLIENT, forwarded: `for=${HOME_CLIENT}` });
      expect(reply.status).toBe(302);
    }
    expect(stack.app.seen.filter((r) => r.url === '/spoofed')).toHaveLength(0);
  });
});
