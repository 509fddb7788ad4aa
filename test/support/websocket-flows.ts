import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExamplePorts } from './examples.js';
import { TestClient } from './http-client.js';
import type { RunningProxy } from './proxy-flows.js';
import { startProxy, startStack, type Stack } from './stack.js';
import { openWebSocket } from './websocket.js';

export interface WebSocketFlowSpec {
  /** The example's postern.yml, relative to examples/. */
  readonly posternYml: string;
  /**
   * Whether the example is run with Postern's `server.proxy_secret` set, the proxy being handed the
   * secret as README "Proxy secret" says (`start` gets it); false runs both without one.
   */
  readonly withProxySecret: boolean;
  /** Starts the proxy from its published example. */
  start(ports: ExamplePorts, proxySecret: string | undefined): Promise<RunningProxy>;
}

const PROXY_SECRET = 'a3f0c9e1b7d24c6e8f1a0b9c7d5e3f21';
const USERS = { alice: { password: 'correct horse battery', role: 'admin' } };
const APP = 'http://app.example.com';

/**
 * WebSockets (and the proxy secret, when `withProxySecret`) through one proxy started from its
 * published example: a signed-in browser's WebSocket is upgraded (101) and frames
 * go both ways; an anonymous one is refused before the app; the secret never reaches the app.
 */
export function describeWebSocketFlows(name: string, spec: WebSocketFlowSpec): void {
  const secret = spec.withProxySecret ? PROXY_SECRET : undefined;
  describe(`${name}: WebSockets${secret ? ' and the proxy secret' : ''}, from the published example`, () => {
    let stack: Stack;
    let proxy: RunningProxy;
    let cookie: string;

    beforeAll(async () => {
      stack = await startStack(spec.posternYml, USERS, secret ? { POSTERN_SERVER_PROXY_SECRET: secret } : {});
      proxy = await startProxy(stack, (ports) => spec.start(ports, secret));
      const browser = new TestClient(stack.ports.proxy);
      const start = await browser.get(`${APP}/`);
      expect(start.status).toBe(302);
      const signedIn = await browser.submitForm(start.header('location')!, { username: 'alice', password: USERS.alice.password });
      expect(signedIn.status).toBe(303);
      cookie = await browser.jar.getCookieString(`${APP}/`);
      expect(cookie).toContain('postern_session=');
    });
    afterAll(async () => {
      await proxy?.stop();
      await stack?.close();
    });

    it('upgrades a signed-in browser to a WebSocket (101) and passes a frame each way, the app knowing who it is', async () => {
      const ws = await openWebSocket(stack.ports.proxy, `${APP}/api/socket?live=1`, { cookie });
      expect(ws.kind).toBe('open');
      if (ws.kind !== 'open') return;
      try {
        expect(ws.headers.upgrade?.toLowerCase()).toBe('websocket');
        expect(await ws.receive()).toBe('hello alice');
        ws.send('ping from the browser');
        expect(await ws.receive()).toBe('echo: ping from the browser');
      } finally {
        ws.close();
      }
      const upgrade = stack.app.seen.filter((r) => r.url === '/api/socket?live=1');
      expect(upgrade).toHaveLength(1);
      expect(upgrade[0]!.headers.upgrade).toBe('websocket');
      expect(upgrade[0]!.headers['remote-user']).toBe('alice');
    });

    it('refuses an anonymous WebSocket with 401 before it reaches the app', async () => {
      const ws = await openWebSocket(stack.ports.proxy, `${APP}/api/socket?anonymous=1`);
      expect(ws.kind).toBe('refused');
      expect(ws.status).toBe(401);
      expect(stack.app.seen.filter((r) => r.url === '/api/socket?anonymous=1')).toHaveLength(0);
    });

    it('refuses a WebSocket whose session cookie is not one Postern issued', async () => {
      const ws = await openWebSocket(stack.ports.proxy, `${APP}/api/socket?forged=1`, { cookie: 'postern_session=forged-session-id-0123456789abcdef' });
      expect(ws.status).toBe(401);
      expect(stack.app.seen.filter((r) => r.url === '/api/socket?forged=1')).toHaveLength(0);
    });

    it(`serves plain pages to the signed-in browser as before${secret ? ', and the app never sees the proxy secret' : ''}`, async () => {
      const page = await new TestClient(stack.ports.proxy).request(`${APP}/page`, { headers: { cookie, 'x-postern-proxy-secret': 'client-chosen-value' } });
      expect(page.status).toBe(200);
      expect(page.body).toContain('Hello alice');
      for (const seen of stack.app.seen) expect(JSON.stringify(seen.headers)).not.toContain(PROXY_SECRET);
      expect(stack.postern.output.join('\n')).not.toContain(PROXY_SECRET);
    });
  });
}
