import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adaptCaddyfile, startCaddy, type CaddyProcess } from '../support/caddy.js';
import { readExample, substitute, type ExamplePorts } from '../support/examples.js';
import { freePort } from '../support/free-port.js';
import { TestClient } from '../support/http-client.js';
import { startProxy, startStack, type Stack } from '../support/stack.js';
import { waitFor } from '../support/wait.js';

const HOSTS = ['auth.example.com', 'app.example.com', 'share.example.com', 'nvr.example.com', 'admin.example.com'];

interface AdaptedServer {
  listen: string[];
  routes: Array<{ match?: Array<{ host?: string[] }> }>;
  automatic_https?: { disable?: boolean; disable_redirects?: boolean };
}

describe('examples/caddy/Caddyfile.tls, as published', () => {
  it('adapts: one server on :443 for all five hosts, automatic HTTPS (and its http→https redirect) left on', () => {
    const adapted = adaptCaddyfile(readExample('caddy/Caddyfile.tls'));
    if (!adapted.ok) throw new Error(adapted.output);
    const servers = Object.values((adapted.json as { apps: { http: { servers: Record<string, AdaptedServer> } } }).apps.http.servers);
    expect(servers).toHaveLength(1);
    const server = servers[0]!;
    expect(server.listen).toEqual([':443']);
    expect(server.automatic_https).toBeUndefined();
    expect(server.routes.flatMap((r) => r.match?.flatMap((m) => m.host ?? []) ?? []).sort()).toEqual([...HOSTS].sort());
    expect(JSON.stringify(adapted.json)).toContain('"uri":"/verify/caddy?"');
  });
});

/**
 * The test copy: the published file with its addresses substituted and Caddy's own local CA instead
 * of Let's Encrypt (`local_certs`, nothing installed in the system trust store), on free ports.
 * Automatic HTTPS itself stays on: certificates, and the redirect of plain http.
 */
function testCopy(ports: ExamplePorts & { proxyTls: number }): string {
  const text = substitute(readExample('caddy/Caddyfile.tls'), ports);
  const local = `\tlocal_certs\n\tskip_install_trust\n\thttp_port ${ports.proxy}\n\thttps_port ${ports.proxyTls}\n\tdefault_bind 127.0.0.1\n`;
  if (!text.includes('\temail admin@example.com\n')) throw new Error('Caddyfile.tls no longer has the email line the test copy is anchored on');
  return text.replace('\temail admin@example.com\n', `\temail admin@example.com\n${local}`);
}

describe('Caddy over HTTPS, from the test copy of Caddyfile.tls', () => {
  let stack: Stack;
  let caddy: CaddyProcess;
  let tls: { port: number; ca: string };
  const browser = () => new TestClient(stack.ports.proxy, undefined, tls);

  beforeAll(async () => {
    stack = await startStack('caddy/postern.yml', { alice: { password: 'correct horse battery', role: 'admin' } }, { POSTERN_SERVER_PUBLIC_URL: 'https://auth.example.com' });
    caddy = await startProxy(stack, async (ports) => {
      const proxyTls = await freePort();
      const started = await startCaddy(testCopy({ ...ports, proxyTls }), ports.proxy);
      tls = { port: proxyTls, ca: '' };
      return started;
    });
    // Caddy makes its local CA and the five certificates in the background after it starts.
    const root = join(caddy.dir, 'data/caddy/pki/authorities/local/root.crt');
    await waitFor(async () => {
      try {
        tls = { port: tls.port, ca: readFileSync(root, 'utf8') };
        return (await browser().get('https://auth.example.com/healthz')).status === 200;
      } catch {
        return false;
      }
    }, { timeoutMs: 20_000, intervalMs: 200, what: 'Caddy serving https://auth.example.com with its local CA' });
  }, 60_000);

  afterAll(async () => {
    await caddy?.stop();
    await stack?.close();
  });

  it('redirects plain http to https by itself', async () => {
    const reply = await browser().get('http://app.example.com/photos?x=1');
    expect(reply.status).toBe(308);
    expect(reply.header('location')).toBe('https://app.example.com/photos?x=1');
    expect(stack.app.seen).toHaveLength(0);
  });

  it('a sign-in started on http:// ends on the https:// app, with a Secure session cookie', async () => {
    const client = browser();
    const plain = await client.get('http://app.example.com/photos');
    const start = await client.get(plain.header('location')!);
    expect(start.status).toBe(302);
    expect(start.header('location')).toBe(`https://auth.example.com/login?rd=${encodeURIComponent('https://app.example.com/photos')}`);
    const reply = await client.submitForm(start.header('location')!, { username: 'alice', password: 'correct horse battery' });
    expect(reply.status).toBe(303);
    expect(reply.header('location')).toBe('https://app.example.com/photos');
    expect(([] as string[]).concat(reply.headers['set-cookie'] ?? []).find((c) => c.startsWith('postern_session='))).toMatch(/; secure/i);
    const page = await client.get('https://app.example.com/photos');
    expect(page.status).toBe(200);
    expect(page.body).toContain('Hello alice');
  });
});
